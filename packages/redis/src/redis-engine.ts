import { randomBytes } from 'node:crypto';
import { type Cursor, ErrorCode, HoldfastError } from '@holdfast/protocol';
import {
  type ControlCommand,
  type Engine,
  type Except,
  type PresenceEntry,
  type ReadResult,
  resolveRetention,
  type SessionRecord,
  STREAM_KINDS,
  type StreamHead,
  silentLogger,
  systemClock,
} from '@holdfast/server';
import { clientOptions } from './client-options.js';
import { Control } from './control.js';
import { Handled } from './handled.js';
import { Health } from './health.js';
import { Housekeeping } from './housekeeping.js';
import { type EngineParts, PARTS } from './internal.js';
import { Keys } from './keys.js';
import { Link, type RedisEngineEvents } from './link.js';
import { DEFAULT_REDIS_ENGINE_OPTIONS, type RedisEngineOptions } from './options.js';
import { Rooms } from './rooms.js';
import { Sessions } from './sessions.js';
import { Slots } from './slots.js';
import { StreamStore } from './streams.js';
import { type Listeners, Watches } from './watches.js';

export type { RedisConnectionName, RedisEngineEvents } from './link.js';

import type { RedisEngineStatus } from './status.js';

export type { RedisEngineStatus } from './status.js';

/**
 * The Redis engine: runs Holdfast on many nodes sharing one Redis.
 *
 * - Streams are Redis Streams (one entry per message, id `<offset>-0`) trimmed by count,
 *   bytes and age; an epoch in the stream's meta hash changes when its history is lost.
 * - Every message is appended by one Lua script that also builds the `msg` frame and
 *   publishes it once on the stream's (sharded) pub/sub channel: O(1) Redis commands per
 *   message whatever the audience. Each node subscribes to the channels of the streams its
 *   connections follow and fans out locally.
 * - Sessions, handled client message ids, room membership and per-user connection slots
 *   are shared, with leases renewed by the node that holds the connection, so a node that
 *   dies leaves nothing behind that does not expire.
 *
 * This class is a facade: each method delegates to the module that owns the concept
 * (`link`, `streams`, `watches`, `sessions`, `handled`, `rooms`, `slots`, `housekeeping`;
 * see the package's ARCHITECTURE.md). Create it with {@link createRedisEngine} and pass it
 * to `createServer({ engine })`.
 */
export class RedisEngine implements Engine {
  /** This node's id (owner of the sessions connected here). */
  readonly nodeId: string;
  /** The key layout. */
  readonly keys: Keys;
  /** @internal The modules (reached by the package's own tests through `partsOf`). */
  readonly [PARTS]: EngineParts;
  readonly #link: Link;
  readonly #streams: StreamStore;
  readonly #watches: Watches;
  readonly #control: Control;
  readonly #sessions: Sessions;
  readonly #handled: Handled;
  readonly #rooms: Rooms;
  readonly #slots: Slots;
  readonly #housekeeping: Housekeeping;
  readonly #health: Health;

  constructor(options: RedisEngineOptions = {}) {
    const d = DEFAULT_REDIS_ENGINE_OPTIONS;
    this.nodeId = options.nodeId ?? `n_${randomBytes(8).toString('base64url')}`;
    this.keys = new Keys(options.prefix ?? d.prefix);
    const retention = resolveRetention(options.retention);
    const maxAgeMs = Math.min(...STREAM_KINDS.map((kind) => retention[kind].maxAgeMs));
    const leaseMs = options.sessionLeaseMs ?? d.sessionLeaseMs;
    const slotTtlMs = options.slotTtlMs ?? d.slotTtlMs;
    const idleTtlMs = options.idleStreamTtlMs ?? d.idleStreamTtlMs;
    const health = { ...d.healthCheck, ...options.healthCheck };
    const link = new Link({
      client: clientOptions(options, this.nodeId),
      keys: this.keys,
      clock: options.clock ?? systemClock,
      log: options.logger ?? silentLogger,
      sharded: options.shardedPubSub ?? d.shardedPubSub,
      clusterNodes: options.clusterNodes,
    });
    const streams = new StreamStore(link, retention, idleTtlMs, randomBytes(6).toString('hex'));
    const watches = new Watches(link, streams);
    const sessions = new Sessions(link, this.nodeId, leaseMs);
    const slots = new Slots(link, slotTtlMs);
    const probe = new Health(link, health.timeoutMs);
    const housekeeping = new Housekeeping(link, [
      { name: 'health', everyMs: health.intervalMs, run: () => probe.probe() },
      { name: 'leases', everyMs: Math.max(250, leaseMs / 3), run: () => sessions.renewLeases() },
      { name: 'slots', everyMs: Math.max(250, slotTtlMs / 3), run: () => slots.renew() },
      {
        name: 'streams',
        everyMs: Math.min(60_000, Math.max(1000, maxAgeMs / 2), idleTtlMs / 4),
        run: () => watches.maintain(),
      },
    ]);
    const handled = new Handled(link, this.nodeId, options.handlerClaimMs ?? d.handlerClaimMs, leaseMs);
    const rooms = new Rooms(link);
    this.#link = link;
    this.#streams = streams;
    this.#watches = watches;
    this.#control = new Control(link);
    this.#sessions = sessions;
    this.#handled = handled;
    this.#rooms = rooms;
    this.#slots = slots;
    this.#housekeeping = housekeeping;
    this.#health = probe;
    this[PARTS] = { link, streams, watches, sessions, handled, rooms, slots, housekeeping, health: probe };
  }

  // ------------------------------------------------------------------ lifecycle & health

  /**
   * Listen to an engine event. Returns a function that removes the listener.
   *
   * @example
   * ```ts
   * engine.on('connection', ({ connection, state }) => log.info({ connection, state }, 'redis'));
   * ```
   */
  on<E extends keyof RedisEngineEvents>(event: E, listener: RedisEngineEvents[E]): () => void {
    return this.#link.on(event, listener);
  }

  /** Health figures of this engine (cheap, local). */
  status(): RedisEngineStatus {
    const h = this.#link.health();
    return {
      nodeId: this.nodeId,
      commands: h.commands,
      subscriber: h.subscriber,
      errors: h.errors,
      connectionErrors: h.connectionErrors,
      reconnects: h.reconnects,
      watchedStreams: this.#watches.size,
      leasedSessions: this.#sessions.leasedCount,
      slots: this.#slots.size,
      lastError: h.lastError,
      healthy: this.#link.healthy(),
      partitioned: this.#link.partitioned,
      partitions: this.#health.partitions,
      lastPartitionDetectionMs: this.#health.lastDetectionMs,
    };
  }

  /**
   * Whether this node can serve clients now: both Redis connections up and answering the
   * health probe. The server refuses new connections while false, and closes its clients
   * (retryable) when it turns false, so they resume on a healthy node.
   */
  healthy(): boolean {
    return this.#link.healthy();
  }

  /** Connect both Redis connections, load the scripts, subscribe to control commands. */
  async start(listeners: Listeners): Promise<void> {
    const link = this.#link;
    if (link.state !== 'new') throw new Error('RedisEngine.start() called twice');
    link.state = 'starting';
    this.#watches.deliverTo(listeners);
    await link.connect();
    await this.#control.subscribe(listeners.control);
    if (listeners.health) {
      const health = listeners.health;
      link.on('health', (state) => health(state));
    }
    link.state = 'started';
  }

  /** Unsubscribe and disconnect. Leases and slots held by this node are left to expire. */
  async close(): Promise<void> {
    const link = this.#link;
    if (link.state === 'closed') return;
    link.state = 'closed';
    this.#watches.deliverTo(undefined);
    this.#control.stop();
    this.#watches.stopAll();
    await link.disconnect();
  }

  /**
   * Periodic housekeeping, driven by the server's sweep: renew the leases of sessions
   * connected here and the slots of connections here, and trim watched streams by age.
   * Each task runs at its own pace and never twice at once; failures are reported, not thrown.
   */
  sweep(): void {
    this.#housekeeping.sweep();
  }

  // ------------------------------------------------------------------ streams

  /**
   * Append one message: one EVALSHA that assigns the offset, stores the frame, trims and
   * publishes it to every node watching the stream. `options.open`: a growing message
   * (extension `appends`), its body already ending with `,"open":true`.
   */
  append(
    stream: string,
    body: string,
    except?: Except,
    options?: { open?: boolean },
  ): Promise<{ epoch: string; offset: number }> {
    return this.#link.op('append', () => this.#streams.append(stream, body, except, options?.open === true));
  }

  /**
   * Append one `app` to open message `start` (extension `appends`, docs/PROTOCOL.md §10): one
   * EVALSHA that takes the next offset, builds the frame, moves the message's entry to that
   * position (replacing its snapshot and dropping its parts when `snapshot` is given, ending it
   * with `end`), trims and publishes the frame like `append`, so every node delivers it live in
   * offset order. Rejects with `HoldfastError` `MESSAGE_CLOSED` when the message is not open
   * in the stream's current epoch (or in `epoch`, when given): ended, dropped by retention,
   * or its stream lost its history.
   */
  async appendPart(
    stream: string,
    start: number,
    body: string,
    options: { end?: boolean; snapshot?: string; epoch?: string } = {},
  ): Promise<{ epoch: string; offset: number }> {
    const done = await this.#link.op('appendPart', () =>
      this.#streams.appendPart(stream, start, body, options),
    );
    if (done) return done;
    throw new HoldfastError(
      ErrorCode.MessageClosed,
      `message ${start} of stream ${JSON.stringify(stream)} is not open (ended, dropped by retention, or its epoch changed)`,
    );
  }

  /** Retained open messages of a stream at positions <= `upTo`, in position order (§10.4). */
  openMessages(stream: string, upTo: number): Promise<ReadResult> {
    return this.#link.op('openMessages', () => this.#streams.openMessages(stream, upTo));
  }

  /**
   * Where a rewind starts (§10.5): the position just below the oldest of the newest `count`
   * retained entries whose position was written at or after `since` (ms, the engine's clock);
   * the head when none. `count` in the answer: how many entries are after it.
   */
  rewindPoint(
    stream: string,
    count: number,
    since?: number,
  ): Promise<{ epoch: string; offset: number; count: number }> {
    return this.#link.op('rewindPoint', () => this.#streams.rewindPoint(stream, count, since));
  }

  /** Publish a volatile frame to the stream's channel (never stored). */
  publishVolatile(stream: string, frame: string, except?: Except): Promise<void> {
    return this.#link.op('publishVolatile', () => this.#streams.publishVolatile(stream, frame, except));
  }

  /**
   * Retained entries whose position is > `after`, in position order (a growing message is one
   * entry: its snapshot and pending parts), never older than `maxAgeMs`. When this node just
   * started watching the stream, waits for the subscription first, so that whatever is
   * appended after this read is delivered live.
   */
  read(stream: string, after: number, limit: number): Promise<ReadResult> {
    return this.#link.op('read', () => this.#watches.read(stream, after, limit));
  }

  /** Where a stream stands (creating its epoch if it has none). */
  head(stream: string): Promise<StreamHead> {
    return this.#link.op('head', () => this.#streams.head(stream));
  }

  /** Subscribe to the stream's channel (first local subscriber). */
  watch(stream: string): void {
    this.#watches.watch(stream);
  }

  /** Unsubscribe from the stream's channel (last local subscriber left). */
  unwatch(stream: string): void {
    this.#watches.unwatch(stream);
  }

  // ------------------------------------------------------------------ sessions

  /** Store a new session (ttl 0: connected here, under this node's lease). */
  createSession(record: SessionRecord, ttlMs: number): Promise<void> {
    return this.#link.op('createSession', () => this.#sessions.create(record, ttlMs));
  }

  /** Load a session; undefined when missing or past its expiry. */
  getSession(id: string): Promise<SessionRecord | undefined> {
    return this.#link.op('getSession', () => this.#sessions.get(id));
  }

  /** Record acked cursors (only while the session exists). */
  saveAcks(id: string, cursors: readonly Cursor[]): Promise<void> {
    return this.#link.op('saveAcks', () => this.#sessions.saveAcks(id, cursors));
  }

  /** Record where a subscription starts (a join): its start and acked cursor, in one write. */
  saveStart(id: string, cursor: Cursor): Promise<void> {
    return this.#link.op('saveStart', () => this.#sessions.saveStart(id, cursor));
  }

  /** A connection attached here: this node owns the session's lease. Returns earlier connections. */
  markConnected(id: string): Promise<number> {
    return this.#link.op('markConnected', () => this.#sessions.markConnected(id));
  }

  /**
   * ttl 0: connected here (lease). ttl > 0: disconnected, resumable for ttl; ignored when the
   * session is connected to another node by now (a late close of a replaced connection).
   */
  touchSession(id: string, ttlMs: number): Promise<void> {
    return this.#link.op('touchSession', () => this.#sessions.touchSession(id, ttlMs));
  }

  /**
   * Delete a session, its handled ids and its stream; exactly one caller (on any node) gets
   * the record. A session listed by `expiredSessions` is only deleted if still expired.
   */
  deleteSession(id: string): Promise<SessionRecord | undefined> {
    return this.#link.op('deleteSession', () => this.#sessions.delete(id));
  }

  /**
   * Sessions past their expiry, across the cluster. Each is claimed for a while, so the
   * nodes' sweeps do not all expire the same sessions.
   */
  expiredSessions(now: number): Promise<string[]> {
    return this.#link.op('expiredSessions', () => this.#sessions.expired(now));
  }

  /** Sessions of a user that exist (not past their expiry), across nodes. */
  userSessions(user: string): Promise<string[]> {
    return this.#link.op('userSessions', () => this.#sessions.ofUser(user));
  }

  /** Sessions across nodes (including expired ones no sweep has removed yet). */
  countSessions(): Promise<number> {
    return this.#link.op('countSessions', () => this.#sessions.count());
  }

  // ------------------------------------------------------------------ handled client messages

  /**
   * The stored `res` of a handled client message, or undefined when the caller should run
   * the handler. Claims the id for this node: if another node is running the same message
   * (the client resent it after reconnecting here), waits for that result instead, up to
   * `handlerClaimMs` (after which the other node is presumed dead and the claim taken over).
   */
  getHandled(sessionId: string, messageId: string): Promise<string | undefined> {
    return this.#link.op('getHandled', () => this.#handled.get(sessionId, messageId));
  }

  /** Store a handled message's `res` (the last `keep` per session are kept) and release the claim. */
  putHandled(sessionId: string, messageId: string, res: string, keep: number): Promise<void> {
    return this.#link.op('putHandled', () => this.#handled.put(sessionId, messageId, res, keep));
  }

  // ------------------------------------------------------------------ rooms & presence

  /** Add a session to a room (and the room to the session's record). */
  joinRoom(room: string, sessionId: string, user: string): Promise<{ added: boolean; sessions: number }> {
    return this.#link.op('joinRoom', () => this.#rooms.join(room, sessionId, user));
  }

  /** Remove a session from a room (and the room and its cursor from the session's record). */
  leaveRoom(room: string, sessionId: string, user: string): Promise<{ removed: boolean; sessions: number }> {
    return this.#link.op('leaveRoom', () => this.#rooms.leave(room, sessionId, user));
  }

  /** Mark a member session present in a room through a connection (presence means connected). */
  markPresent(
    room: string,
    sessionId: string,
    user: string,
    connectionId: string,
  ): Promise<{ changed: boolean; sessions: number }> {
    return this.#link.op('markPresent', () => this.#rooms.markPresent(room, sessionId, user, connectionId));
  }

  /** Mark a session absent from a room (with `connectionId`: only while present through it). */
  markAbsent(
    room: string,
    sessionId: string,
    user: string,
    connectionId?: string,
  ): Promise<{ changed: boolean; sessions: number }> {
    return this.#link.op('markAbsent', () => this.#rooms.markAbsent(room, sessionId, user, connectionId));
  }

  /** Present users of a room, across nodes (one HGETALL of the per-user present counts). */
  presence(room: string): Promise<PresenceEntry[]> {
    return this.#link.op('presence', () => this.#rooms.presence(room));
  }

  /** Session ids in a room, across nodes. */
  roomSessions(room: string): Promise<string[]> {
    return this.#link.op('roomSessions', () => this.#rooms.sessions(room));
  }

  /** How many sessions are in a room: one HLEN, whatever the room's size. */
  roomSize(room: string): Promise<number> {
    return this.#link.op('roomSize', () => this.#rooms.size(room));
  }

  /** Publish a presence change on the room stream's channel (nodes watching the room get it). */
  publishPresence(room: string, event: 'join' | 'leave', user: string, sessions: number): Promise<void> {
    return this.#link.op('publishPresence', () => this.#rooms.publishPresence(room, event, user, sessions));
  }

  /** Publish a control command to every node (the one holding the session acts on it). */
  publishControl(command: ControlCommand): Promise<void> {
    return this.#link.op('publishControl', () => this.#control.publish(command));
  }

  // ------------------------------------------------------------------ per-user slots

  /**
   * Take one of the user's `limit` connection slots, atomically across nodes. Slots expire
   * unless their node renews them (every third of `slotTtlMs`), so a dead node's connections
   * stop counting within `slotTtlMs`. With `sessionId`, the slot of that session's earlier
   * connection (replaced, or on a dead node) is taken over: a resume never waits for it.
   */
  acquireUserSlot(user: string, connectionId: string, limit: number, sessionId?: string): Promise<boolean> {
    return this.#link.op('acquireUserSlot', () => this.#slots.acquire(user, connectionId, limit, sessionId));
  }

  /** Give a connection's slot back. */
  releaseUserSlot(user: string, connectionId: string): Promise<void> {
    return this.#link.op('releaseUserSlot', () => this.#slots.release(user, connectionId));
  }

  /** Live connections of a user across nodes. */
  userConnectionCount(user: string): Promise<number> {
    return this.#link.op('userConnectionCount', () => this.#slots.count(user));
  }
}

/**
 * Create a {@link RedisEngine}. Pass it to `createServer({ engine })` on every node; nodes
 * sharing a Redis and a `prefix` form one Holdfast deployment.
 *
 * @example
 * ```ts
 * const engine = createRedisEngine({
 *   url: process.env.REDIS_URL,
 *   prefix: 'chat:',
 *   retention: { maxMessages: 5000, maxAgeMs: 600_000 },
 * });
 * const server = createServer({ protocol: chat, port: 8080, engine });
 * await server.ready();
 * ```
 */
export function createRedisEngine(options: RedisEngineOptions = {}): RedisEngine {
  return new RedisEngine(options);
}
