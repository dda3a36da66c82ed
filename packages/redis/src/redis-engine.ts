import { randomBytes } from 'node:crypto';
import { type Cursor, Streams } from '@holdfast/protocol';
import {
  type Clock,
  type ControlCommand,
  DEFAULT_RETENTION,
  type Engine,
  type Except,
  type Logger,
  type PresenceEntry,
  type ReadResult,
  type RetentionOptions,
  type SessionRecord,
  type StoredMessage,
  type StreamHead,
  silentLogger,
  systemClock,
} from '@holdfast/server';
import { EventEmitter } from 'eventemitter3';
import { createClient, type RedisClientOptions } from 'redis';
import { isUnavailable, RedisEngineError, RedisUnavailableError } from './errors.js';
import { Keys } from './keys.js';
import { backoff, DEFAULT_REDIS_ENGINE_OPTIONS, type RedisEngineOptions } from './options.js';
import {
  decodeControl,
  decodeExcept,
  decodePayload,
  encodeExcept,
  encodePresence,
  encodeVolatile,
} from './payload.js';
import {
  ACQUIRE_SLOT,
  ALL_SCRIPTS,
  APPEND,
  CLAIM_EXPIRED,
  DELETE_SESSION,
  GET_HANDLED,
  JOIN_ROOM,
  LEAVE_ROOM,
  LIVE_MEMBERS,
  PUT_HANDLED,
  READ,
  type Script,
  SESSION_JOIN,
  TOUCH,
  UPDATE_SESSION,
} from './scripts.js';
import { decodeSession, encodeCursor, encodeSession, pairs } from './session-record.js';
import { type HistoryPage, StreamWatch } from './stream-watch.js';

type Listeners = Parameters<Engine['start']>[0];

function makeClient(options: RedisClientOptions) {
  return createClient(options);
}
type Client = ReturnType<typeof makeClient>;

/** Which of the engine's two Redis connections. */
export type RedisConnectionName = 'commands' | 'subscriber';

/** A snapshot of the engine's health, for stats and readiness probes. */
export interface RedisEngineStatus {
  /** This node's id. */
  nodeId: string;
  /** Whether the commands connection is up. */
  commands: 'ready' | 'down';
  /** Whether the pub/sub connection is up. */
  subscriber: 'ready' | 'down';
  /** Operations that failed (each also reaches its caller as an error). */
  errors: number;
  /** Connection errors reported by the Redis clients (one per failed attempt). */
  connectionErrors: number;
  /** Successful reconnections after a connection was lost. */
  reconnects: number;
  /** Streams watched (subscribed) by this node. */
  watchedStreams: number;
  /** Sessions whose lease this node renews (connected here). */
  leasedSessions: number;
  /** Per-user connection slots this node renews. */
  slots: number;
  /** The last error's message, if any. */
  lastError: string | undefined;
}

/** Events of {@link RedisEngine}. */
export interface RedisEngineEvents {
  /** A Redis connection went down or came back. */
  connection: (info: { connection: RedisConnectionName; state: 'ready' | 'down' }) => void;
  /** An operation or a connection failed (the engine keeps running). */
  error: (error: Error, context: { where: string }) => void;
}

interface SlotHolder {
  user: string;
}

/** Records per script call when a batch is renewed (bounds memory and reply sizes). */
const BATCH = 500;
/** Redis keeps a session's keys this long past its expiry, in case no node is left to expire it. */
const BACKSTOP_MS = 86_400_000;
/** A node that listed an expired session has this long to delete it before others retry. */
const EXPIRY_CLAIM_MS = 30_000;
/** Expired sessions listed per call. */
const EXPIRED_LIMIT = 1000;

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
 * Create it with {@link createRedisEngine} and pass it to `createServer({ engine })`.
 */
export class RedisEngine implements Engine {
  /** This node's id (owner of the sessions connected here). */
  readonly nodeId: string;
  /** The key layout. */
  readonly keys: Keys;
  private readonly retention: Required<RetentionOptions>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly leaseMs: number;
  private readonly slotTtlMs: number;
  private readonly claimMs: number;
  private readonly idleTtlMs: number;
  private readonly sharded: boolean;
  private readonly cmd: Client;
  private readonly sub: Client;
  private readonly emitter = new EventEmitter<RedisEngineEvents>();
  private listeners: Listeners | undefined;
  private readonly watches = new Map<string, StreamWatch>();
  private readonly byChannel = new Map<string, StreamWatch>();
  /** Sessions connected to this node: their lease is renewed here. */
  private readonly leased = new Set<string>();
  /** Connection id -> slot held by this node. */
  private readonly slots = new Map<string, SlotHolder>();
  /** Session ids listed by `expiredSessions` (-> when): their deletion right after is conditional. */
  private readonly claimedExpired = new Map<string, number>();
  private readonly epochBase = randomBytes(6).toString('hex');
  private epochSeq = 0;
  private state: 'new' | 'starting' | 'started' | 'closed' = 'new';
  private readonly up: Record<RedisConnectionName, boolean> = { commands: false, subscriber: false };
  private readonly everUp: Record<RedisConnectionName, boolean> = { commands: false, subscriber: false };
  private readonly counts = { errors: 0, connectionErrors: 0, reconnects: 0 };
  private lastError: string | undefined;
  private readonly tasks = new Map<string, { next: number; running: boolean }>();

  constructor(options: RedisEngineOptions = {}) {
    const d = DEFAULT_REDIS_ENGINE_OPTIONS;
    this.nodeId = options.nodeId ?? `n_${randomBytes(8).toString('base64url')}`;
    this.keys = new Keys(options.prefix ?? d.prefix);
    this.retention = { ...DEFAULT_RETENTION, ...options.retention };
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.leaseMs = options.sessionLeaseMs ?? d.sessionLeaseMs;
    this.slotTtlMs = options.slotTtlMs ?? d.slotTtlMs;
    this.claimMs = options.handlerClaimMs ?? d.handlerClaimMs;
    this.idleTtlMs = options.idleStreamTtlMs ?? d.idleStreamTtlMs;
    this.sharded = options.shardedPubSub ?? d.shardedPubSub;
    const base = options.redis ?? {};
    const clientOptions: RedisClientOptions = {
      ...base,
      ...(options.url !== undefined ? { url: options.url } : {}),
      // Fail fast during an outage: a queue of commands waiting for Redis would grow without
      // bound and replay stale work (appends into a new epoch) when it comes back.
      disableOfflineQueue: true,
      // node-redis 5 sends CLIENT SETINFO while (re)connecting and ignores its errors: a
      // connection reset during that handshake then leaves the client "ready" on a dead
      // socket, never reconnecting (seen when Redis dies right after accepting). Without
      // the handshake, a reset after connecting is noticed as a lost ready connection.
      disableClientInfo: true,
      socket: {
        ...base.socket,
        reconnectStrategy: base.socket?.reconnectStrategy ?? backoff(options.reconnect),
      } as RedisClientOptions['socket'],
    };
    this.cmd = makeClient(clientOptions);
    this.sub = this.cmd.duplicate();
    this.attach(this.cmd, 'commands');
    this.attach(this.sub, 'subscriber');
  }

  // ------------------------------------------------------------------ lifecycle & health

  private attach(client: Client, name: RedisConnectionName): void {
    // Every Redis client has an 'error' listener: without one, a connection error would
    // crash the process (an EventEmitter 'error' nobody listens to throws).
    client.on('error', (err: Error) => {
      this.counts.connectionErrors += 1;
      this.lastError = err.message;
      if (this.up[name]) this.log.warn({ err, connection: name }, 'redis connection error');
      else this.log.debug({ err, connection: name }, 'redis connection error');
      // Some errors leave the connection usable (a failed handshake step is retried): only
      // a connection that is no longer ready is down.
      if (!client.isReady) this.setUp(name, false);
      this.emit('error', err, { where: name });
    });
    client.on('end', () => this.setUp(name, false));
    client.on('ready', () => {
      const again = this.everUp[name];
      this.everUp[name] = true;
      this.setUp(name, true);
      if (!again) return;
      this.counts.reconnects += 1;
      this.log.info({ connection: name }, 'redis reconnected');
      if (name === 'subscriber') this.onSubscriberReconnected();
    });
  }

  private setUp(name: RedisConnectionName, up: boolean): void {
    if (this.up[name] === up) return;
    this.up[name] = up;
    this.emit('connection', { connection: name, state: up ? 'ready' : 'down' });
  }

  /**
   * Listen to an engine event. Returns a function that removes the listener.
   *
   * @example
   * ```ts
   * engine.on('connection', ({ connection, state }) => log.info({ connection, state }, 'redis'));
   * ```
   */
  on<E extends keyof RedisEngineEvents>(event: E, listener: RedisEngineEvents[E]): () => void {
    this.emitter.on(event, listener as never);
    return () => this.emitter.off(event, listener as never);
  }

  private emit<E extends keyof RedisEngineEvents>(event: E, ...args: Parameters<RedisEngineEvents[E]>): void {
    try {
      (this.emitter.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'redis engine event listener threw');
    }
  }

  /** Health figures of this engine (cheap, local). */
  status(): RedisEngineStatus {
    return {
      nodeId: this.nodeId,
      commands: this.up.commands ? 'ready' : 'down',
      subscriber: this.up.subscriber ? 'ready' : 'down',
      errors: this.counts.errors,
      connectionErrors: this.counts.connectionErrors,
      reconnects: this.counts.reconnects,
      watchedStreams: this.watches.size,
      leasedSessions: this.leased.size,
      slots: this.slots.size,
      lastError: this.lastError,
    };
  }

  /** Connect both Redis connections, load the scripts, subscribe to control commands. */
  async start(listeners: Listeners): Promise<void> {
    if (this.state !== 'new') throw new Error('RedisEngine.start() called twice');
    this.state = 'starting';
    this.listeners = listeners;
    await Promise.all([this.cmd.connect(), this.sub.connect()]);
    await Promise.all(ALL_SCRIPTS.map((s) => this.cmd.scriptLoad(s.source)));
    await this.sub.subscribe(this.keys.control, this.onControlPayload);
    this.state = 'started';
  }

  /** Unsubscribe and disconnect. Leases and slots held by this node are left to expire. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.listeners = undefined;
    for (const w of this.watches.values()) w.stop();
    this.watches.clear();
    this.byChannel.clear();
    const quit = async (client: Client) => {
      if (!client.isOpen) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        client.close().catch((err: unknown) => this.log.debug({ err }, 'redis close failed')),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, 1000);
        }),
      ]);
      clearTimeout(timer);
      if (client.isOpen) client.destroy();
    };
    await Promise.all([quit(this.cmd), quit(this.sub)]);
  }

  /** Run one engine operation: errors are counted, logged and wrapped in a typed error. */
  private async op<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.failure(name, err);
    }
  }

  private failure(name: string, err: unknown): Error {
    if (err instanceof RedisUnavailableError || err instanceof RedisEngineError) return err;
    this.counts.errors += 1;
    const wrapped = isUnavailable(err)
      ? new RedisUnavailableError(name, err)
      : new RedisEngineError(name, err);
    this.lastError = wrapped.message;
    this.log.warn({ err, operation: name }, 'redis engine operation failed');
    this.emit('error', wrapped, { where: name });
    return wrapped;
  }

  /** Report a failure of background work (no caller to throw to). */
  private report(where: string, err: unknown): void {
    this.failure(where, err);
  }

  private async run<T>(
    script: Script,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<T> {
    const argv = args.map(String);
    try {
      return await this.cmd.sendCommand<T>(['EVALSHA', script.sha, String(keys.length), ...keys, ...argv]);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      // Redis lost its script cache (restart, failover): EVAL loads it again.
      return this.cmd.sendCommand<T>(['EVAL', script.source, String(keys.length), ...keys, ...argv]);
    }
  }

  private newEpoch(): string {
    this.epochSeq += 1;
    return `${this.epochBase}${this.epochSeq.toString(36)}`;
  }

  // ------------------------------------------------------------------ streams

  private streamArgs(now: number): [number, number, number] {
    const r = this.retention;
    return [r.maxMessages, r.maxBytes, now - r.maxAgeMs];
  }

  /**
   * Append one message: one EVALSHA that assigns the offset, stores the frame, trims and
   * publishes it to every node watching the stream.
   */
  append(stream: string, body: string, except?: Except): Promise<{ epoch: string; offset: number }> {
    return this.op('append', async () => {
      const now = this.clock.now();
      const [epoch, offset] = await this.run<[string, number]>(
        APPEND,
        [this.keys.streamMeta(stream), this.keys.streamLog(stream), this.keys.streamChannel(stream)],
        [
          this.newEpoch(),
          JSON.stringify(stream),
          body,
          encodeExcept(except),
          now,
          ...this.streamArgs(now),
          this.idleTtlMs,
          this.sharded ? '1' : '0',
        ],
      );
      return { epoch, offset: Number(offset) };
    });
  }

  /** Publish a volatile frame to the stream's channel (never stored). */
  publishVolatile(stream: string, frame: string, except?: Except): Promise<void> {
    return this.op('publishVolatile', async () => {
      await this.publish(this.keys.streamChannel(stream), encodeVolatile(frame, except));
    });
  }

  private async publish(channel: string, payload: string): Promise<void> {
    if (this.sharded) await this.cmd.sPublish(channel, payload);
    else await this.cmd.publish(channel, payload);
  }

  private async readRaw(stream: string, after: number, limit: number): Promise<ReadResult> {
    const now = this.clock.now();
    const [epoch, offset, first, entries] = await this.run<[string, number, number, [string, string[]][]]>(
      READ,
      [this.keys.streamMeta(stream), this.keys.streamLog(stream)],
      [this.newEpoch(), now, ...this.streamArgs(now), this.idleTtlMs, after, limit],
    );
    const messages: StoredMessage[] = entries.map(([id, fields]) => {
      const f = pairs(fields);
      return { offset: Number.parseInt(id, 10), frame: f.f ?? '', except: decodeExcept(f.x) };
    });
    return { epoch, offset: Number(offset), first: Number(first), messages };
  }

  /**
   * Retained messages after `after` (never older than `maxAgeMs`). When this node just
   * started watching the stream, waits for the subscription first, so that whatever is
   * appended after this read is delivered live.
   */
  read(stream: string, after: number, limit: number): Promise<ReadResult> {
    return this.op('read', async () => {
      const w = this.watches.get(stream);
      if (w && this.up.subscriber) await w.ready;
      return this.readRaw(stream, after, limit);
    });
  }

  /** Where a stream stands (creating its epoch if it has none). */
  head(stream: string): Promise<StreamHead> {
    return this.op('head', async () => {
      const { epoch, offset, first } = await this.readRaw(stream, 0, 0);
      return { epoch, offset, first };
    });
  }

  /** Subscribe to the stream's channel (first local subscriber). */
  watch(stream: string): void {
    if (this.state === 'closed' || this.watches.has(stream)) return;
    const channel = this.keys.streamChannel(stream);
    const w = new StreamWatch(
      stream,
      channel,
      (epoch, message) => this.listeners?.message(stream, epoch, message),
      (after) => this.historyAfter(stream, after),
      (err) => this.report('catch-up', err),
    );
    this.watches.set(stream, w);
    this.byChannel.set(channel, w);
    void w.hold(this.subscribeWatch(w));
  }

  private async historyAfter(stream: string, after: number): Promise<HistoryPage> {
    const page = await this.readRaw(stream, after, 500);
    return { epoch: page.epoch, messages: page.messages };
  }

  private async subscribeWatch(w: StreamWatch): Promise<void> {
    try {
      if (this.sharded) await this.sub.sSubscribe(w.channel, this.onStreamPayload);
      else await this.sub.subscribe(w.channel, this.onStreamPayload);
      w.subscribed = true;
      if (this.watches.get(w.stream) !== w) return;
      // The position from which live messages are complete: anything older is read from
      // history by whoever needs it (the server replays after this resolves).
      const head = await this.readRaw(w.stream, 0, 0);
      w.position(head.epoch, head.offset);
    } catch (err) {
      this.report('watch', err);
    }
  }

  /** Unsubscribe from the stream's channel (last local subscriber left). */
  unwatch(stream: string): void {
    const w = this.watches.get(stream);
    if (!w) return;
    w.stop();
    this.watches.delete(stream);
    this.byChannel.delete(w.channel);
    const done = this.sharded
      ? this.sub.sUnsubscribe(w.channel, this.onStreamPayload)
      : this.sub.unsubscribe(w.channel, this.onStreamPayload);
    done.catch((err: unknown) => this.log.debug({ err, stream }, 'unsubscribe failed'));
  }

  private readonly onStreamPayload = (payload: string, channel: string): void => {
    const w = this.byChannel.get(channel);
    if (!w || !this.listeners) return;
    try {
      const p = decodePayload(payload);
      if (!p) return;
      if (p.kind === 'msg') {
        w.push({ epoch: p.epoch, message: { offset: p.offset, frame: p.frame, except: p.except } });
      } else if (p.kind === 'vol') {
        this.listeners.volatile(w.stream, p.frame, p.except);
      } else {
        this.listeners.presence(p.room, p.event, p.user, p.sessions);
      }
    } catch (err) {
      this.log.error({ err, channel }, 'bad payload on a stream channel');
    }
  };

  private readonly onControlPayload = (payload: string): void => {
    try {
      this.listeners?.control(decodeControl(payload));
    } catch (err) {
      this.log.error({ err }, 'bad control command');
    }
  };

  /**
   * The pub/sub connection came back. node-redis has re-subscribed the confirmed channels;
   * subscribe those that were not, and catch every watched stream up from history: what was
   * published while the connection was down never arrives through pub/sub.
   */
  private onSubscriberReconnected(): void {
    for (const w of this.watches.values()) {
      if (w.subscribed && w.epoch !== undefined) w.resync();
      else void w.hold(this.subscribeWatch(w));
    }
    // Channels unwatched while the connection was down may have been re-subscribed.
    const listening = this.sub.getPubSubListeners(this.sharded ? 'SHARDED' : 'CHANNELS');
    for (const channel of listening.keys()) {
      if (channel === this.keys.control || this.byChannel.has(channel)) continue;
      const done = this.sharded ? this.sub.sUnsubscribe(channel) : this.sub.unsubscribe(channel);
      done.catch((err: unknown) => this.log.debug({ err, channel }, 'unsubscribe failed'));
    }
  }

  // ------------------------------------------------------------------ sessions

  private async indexSession(id: string, user: string, expiresAt: number): Promise<void> {
    await Promise.all([
      this.cmd.zAdd(this.keys.sessionExpiry, { score: expiresAt, value: id }),
      this.cmd.zAdd(this.keys.userSessions(user), { score: expiresAt, value: id }),
    ]);
  }

  /** Store a new session (ttl 0: connected here, under this node's lease). */
  createSession(record: SessionRecord, ttlMs: number): Promise<void> {
    return this.op('createSession', async () => {
      const now = this.clock.now();
      const connected = ttlMs <= 0;
      const expiresAt = now + (connected ? this.leaseMs : ttlMs);
      const key = this.keys.session(record.id);
      await this.cmd
        .multi()
        .del(key)
        .hSet(key, encodeSession(record, expiresAt, connected ? this.nodeId : ''))
        .pExpire(key, expiresAt - now + BACKSTOP_MS)
        .exec();
      await this.indexSession(record.id, record.user, expiresAt);
      if (connected) this.leased.add(record.id);
    });
  }

  /** Load a session; undefined when missing or past its expiry. */
  getSession(id: string): Promise<SessionRecord | undefined> {
    return this.op('getSession', async () => {
      const fields = await this.cmd.hGetAll(this.keys.session(id));
      if (fields.u === undefined) return undefined;
      if (Number(fields.e ?? 0) <= this.clock.now()) return undefined;
      return decodeSession(id, fields);
    });
  }

  /** Record acked cursors (only while the session exists). */
  saveAcks(id: string, cursors: readonly Cursor[]): Promise<void> {
    return this.op('saveAcks', async () => {
      if (cursors.length === 0) return;
      const args: string[] = [];
      for (const c of cursors) args.push(`a:${c.stream}`, encodeCursor(c.epoch, c.offset));
      await this.run(UPDATE_SESSION, [this.keys.session(id)], args);
    });
  }

  private async touch(
    id: string,
    mode: 'connect' | 'touch' | 'refresh',
    ttlMs: number,
  ): Promise<{ expiresAt: number; user: string; connections: number } | undefined> {
    const now = this.clock.now();
    const r = await this.run<[number, string?, number?]>(TOUCH, this.keys.sessionKeys(id), [
      mode,
      now,
      ttlMs,
      this.leaseMs,
      this.nodeId,
      BACKSTOP_MS,
    ]);
    if (r[0] < 0) return undefined;
    return { expiresAt: Number(r[0]), user: r[1] ?? '', connections: Number(r[2] ?? 0) };
  }

  /** A connection attached here: this node owns the session's lease. Returns earlier connections. */
  markConnected(id: string): Promise<number> {
    return this.op('markConnected', async () => {
      const t = await this.touch(id, 'connect', 0);
      if (!t) return 0;
      this.leased.add(id);
      this.claimedExpired.delete(id);
      await this.indexSession(id, t.user, t.expiresAt);
      return t.connections;
    });
  }

  /**
   * ttl 0: connected here (lease). ttl > 0: disconnected, resumable for ttl; ignored when the
   * session is connected to another node by now (a late close of a replaced connection).
   */
  touchSession(id: string, ttlMs: number): Promise<void> {
    return this.op('touchSession', async () => {
      const t = await this.touch(id, 'touch', ttlMs);
      if (ttlMs > 0 || !t) this.leased.delete(id);
      else this.leased.add(id);
      if (t) await this.indexSession(id, t.user, t.expiresAt);
    });
  }

  /**
   * Delete a session, its handled ids and its stream; exactly one caller (on any node) gets
   * the record. A session listed by `expiredSessions` is only deleted if still expired.
   */
  deleteSession(id: string): Promise<SessionRecord | undefined> {
    return this.op('deleteSession', async () => {
      const listedAt = this.claimedExpired.get(id);
      this.claimedExpired.delete(id);
      const conditional = listedAt !== undefined && this.clock.now() - listedAt < EXPIRY_CLAIM_MS;
      const stream = Streams.session(id);
      const r = await this.run<[number, string[] | string | undefined]>(
        DELETE_SESSION,
        [...this.keys.sessionKeys(id), this.keys.streamMeta(stream), this.keys.streamLog(stream)],
        [this.clock.now(), conditional ? '1' : '0'],
      );
      if (r[0] === 2) {
        // Resumed since it was listed: put it back in the index with its new expiry.
        await this.cmd.zAdd(this.keys.sessionExpiry, { score: Number(r[1]), value: id });
        return undefined;
      }
      this.leased.delete(id);
      if (r[0] === 0) {
        await this.cmd.zRem(this.keys.sessionExpiry, id);
        return undefined;
      }
      const record = decodeSession(id, pairs(r[1] as string[]));
      await Promise.all([
        this.cmd.zRem(this.keys.sessionExpiry, id),
        this.cmd.zRem(this.keys.userSessions(record.user), id),
      ]);
      return record;
    });
  }

  /**
   * Sessions past their expiry, across the cluster. Each is claimed for a while, so the
   * nodes' sweeps do not all expire the same sessions.
   */
  expiredSessions(now: number): Promise<string[]> {
    return this.op('expiredSessions', async () => {
      const ids = await this.run<string[]>(
        CLAIM_EXPIRED,
        [this.keys.sessionExpiry],
        [now, now + EXPIRY_CLAIM_MS, EXPIRED_LIMIT],
      );
      for (const id of ids) this.claimedExpired.set(id, now);
      return ids;
    });
  }

  // ------------------------------------------------------------------ handled client messages

  /**
   * The stored `res` of a handled client message, or undefined when the caller should run
   * the handler. Claims the id for this node: if another node is running the same message
   * (the client resent it after reconnecting here), waits for that result instead, up to
   * `handlerClaimMs` (after which the other node is presumed dead and the claim taken over).
   */
  getHandled(sessionId: string, messageId: string): Promise<string | undefined> {
    return this.op('getHandled', async () => {
      const keys = [this.keys.session(sessionId), this.keys.handled(sessionId), this.keys.claims(sessionId)];
      let waitMs = 20;
      for (;;) {
        if (this.state === 'closed') throw new Error('engine closed');
        const r = await this.run<[number, (string | number)?]>(GET_HANDLED, keys, [
          messageId,
          this.clock.now(),
          this.nodeId,
          this.claimMs,
          this.leaseMs + BACKSTOP_MS,
        ]);
        if (r[0] === 1) return String(r[1]);
        if (r[0] === 0) return undefined;
        await new Promise((resolve) => setTimeout(resolve, waitMs));
        waitMs = Math.min(500, waitMs * 2);
      }
    });
  }

  /** Store a handled message's `res` (the last `keep` per session are kept) and release the claim. */
  putHandled(sessionId: string, messageId: string, res: string, keep: number): Promise<void> {
    return this.op('putHandled', async () => {
      await this.run(PUT_HANDLED, this.keys.sessionKeys(sessionId), [
        messageId,
        res,
        keep,
        this.leaseMs + BACKSTOP_MS,
      ]);
    });
  }

  // ------------------------------------------------------------------ rooms & presence

  /** Add a session to a room (and the room to the session's record). */
  joinRoom(room: string, sessionId: string, user: string): Promise<{ added: boolean; sessions: number }> {
    return this.op('joinRoom', async () => {
      await this.run(SESSION_JOIN, [this.keys.session(sessionId)], [room]);
      const [added, sessions] = await this.run<[number, number]>(
        JOIN_ROOM,
        [this.keys.roomMembers(room), this.keys.roomUsers(room)],
        [sessionId, user],
      );
      return { added: added === 1, sessions: Number(sessions) };
    });
  }

  /** Remove a session from a room (and the room and its cursor from the session's record). */
  leaveRoom(room: string, sessionId: string, user: string): Promise<{ removed: boolean; sessions: number }> {
    return this.op('leaveRoom', async () => {
      const [[removed, sessions]] = await Promise.all([
        this.run<[number, number]>(
          LEAVE_ROOM,
          [this.keys.roomMembers(room), this.keys.roomUsers(room)],
          [sessionId, user],
        ),
        this.cmd.hDel(this.keys.session(sessionId), [`r:${room}`, `a:${Streams.room(room)}`]),
      ]);
      return { removed: removed === 1, sessions: Number(sessions) };
    });
  }

  /** Members of a room by user, across nodes (one HGETALL of the per-user counts). */
  presence(room: string): Promise<PresenceEntry[]> {
    return this.op('presence', async () => {
      const counts = await this.cmd.hGetAll(this.keys.roomUsers(room));
      const out: PresenceEntry[] = [];
      for (const [user, n] of Object.entries(counts))
        if (Number(n) > 0) out.push({ user, sessions: Number(n) });
      return out;
    });
  }

  /** Session ids in a room, across nodes. */
  roomSessions(room: string): Promise<string[]> {
    return this.op('roomSessions', () => this.cmd.hKeys(this.keys.roomMembers(room)));
  }

  /** How many sessions are in a room: one HLEN, whatever the room's size. */
  roomSize(room: string): Promise<number> {
    return this.op('roomSize', () => this.cmd.hLen(this.keys.roomMembers(room)));
  }

  /** Publish a presence change on the room stream's channel (nodes watching the room get it). */
  publishPresence(room: string, event: 'join' | 'leave', user: string, sessions: number): Promise<void> {
    return this.op('publishPresence', async () => {
      await this.publish(
        this.keys.streamChannel(Streams.room(room)),
        encodePresence(room, event, user, sessions),
      );
    });
  }

  /** Publish a control command to every node (the one holding the session acts on it). */
  publishControl(command: ControlCommand): Promise<void> {
    return this.op('publishControl', async () => {
      await this.cmd.publish(this.keys.control, JSON.stringify(command));
    });
  }

  // ------------------------------------------------------------------ per-user slots

  /**
   * Take one of the user's `limit` connection slots, atomically across nodes. Slots expire
   * unless their node renews them, so a dead node's connections stop counting.
   */
  acquireUserSlot(user: string, connectionId: string, limit: number): Promise<boolean> {
    return this.op('acquireUserSlot', async () => {
      const ok = await this.run<number>(
        ACQUIRE_SLOT,
        [this.keys.userSlots(user)],
        [this.clock.now(), this.slotTtlMs, connectionId, limit],
      );
      if (ok === 1) this.slots.set(connectionId, { user });
      return ok === 1;
    });
  }

  /** Give a connection's slot back. */
  releaseUserSlot(user: string, connectionId: string): Promise<void> {
    return this.op('releaseUserSlot', async () => {
      // Forget it locally first: a renewal issued after this point cannot resurrect it, and
      // one issued before reaches Redis before this ZREM (same connection, in order).
      this.slots.delete(connectionId);
      await this.cmd.zRem(this.keys.userSlots(user), connectionId);
    });
  }

  /** Live connections of a user across nodes. */
  userConnectionCount(user: string): Promise<number> {
    return this.op('userConnectionCount', () =>
      this.cmd.zCount(this.keys.userSlots(user), `(${this.clock.now()}`, '+inf'),
    );
  }

  /** Sessions of a user that exist (not past their expiry), across nodes. */
  userSessions(user: string): Promise<string[]> {
    return this.op('userSessions', () =>
      this.run<string[]>(LIVE_MEMBERS, [this.keys.userSessions(user)], [this.clock.now()]),
    );
  }

  /** Sessions across nodes (including expired ones no sweep has removed yet). */
  countSessions(): Promise<number> {
    return this.op('countSessions', () => this.cmd.zCard(this.keys.sessionExpiry));
  }

  // ------------------------------------------------------------------ housekeeping

  /**
   * Periodic housekeeping, driven by the server's sweep: renew the leases of sessions
   * connected here and the slots of connections here, and trim watched streams by age.
   * Each task runs at its own pace and never twice at once; failures are reported, not thrown.
   */
  sweep(): void {
    if (this.state !== 'started') return;
    const now = this.clock.now();
    this.every('leases', now, Math.max(250, this.leaseMs / 3), () => this.renewLeases());
    this.every('slots', now, Math.max(250, this.slotTtlMs / 3), () => this.renewSlots());
    const streamEvery = Math.min(60_000, Math.max(1000, this.retention.maxAgeMs / 2), this.idleTtlMs / 4);
    this.every('streams', now, streamEvery, () => this.maintainStreams());
  }

  private every(name: string, now: number, periodMs: number, fn: () => Promise<void>): void {
    let t = this.tasks.get(name);
    if (!t) {
      t = { next: now + periodMs, running: false };
      this.tasks.set(name, t);
      return;
    }
    if (t.running || now < t.next) return;
    t.running = true;
    t.next = now + periodMs;
    const task = t;
    fn()
      .catch((err) => this.report(name, err))
      .finally(() => {
        task.running = false;
      });
  }

  /** Renew the lease of every session connected here (no-op for those owned elsewhere now). */
  async renewLeases(): Promise<void> {
    const ids = [...this.leased];
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const results = await Promise.all(batch.map((id) => this.touch(id, 'refresh', 0)));
      // One ZADD for the cluster-wide index, one per user for the per-user ones.
      const all: { score: number; value: string }[] = [];
      const byUser = new Map<string, { score: number; value: string }[]>();
      results.forEach((t, j) => {
        const id = batch[j]!;
        if (!t) {
          this.leased.delete(id);
          return;
        }
        const member = { score: t.expiresAt, value: id };
        all.push(member);
        const list = byUser.get(t.user);
        if (list) list.push(member);
        else byUser.set(t.user, [member]);
      });
      if (all.length === 0) continue;
      await Promise.all([
        this.cmd.zAdd(this.keys.sessionExpiry, all),
        ...[...byUser].map(([user, members]) => this.cmd.zAdd(this.keys.userSessions(user), members)),
      ]);
    }
  }

  /** Renew the slots of every connection here. */
  async renewSlots(): Promise<void> {
    const byUser = new Map<string, string[]>();
    for (const [conn, { user }] of this.slots) {
      const list = byUser.get(user);
      if (list) list.push(conn);
      else byUser.set(user, [conn]);
    }
    const expiresAt = this.clock.now() + this.slotTtlMs;
    const work: Promise<unknown>[] = [];
    for (const [user, conns] of byUser) {
      const key = this.keys.userSlots(user);
      work.push(
        this.cmd.zAdd(
          key,
          conns.map((value) => ({ score: expiresAt, value })),
        ),
      );
      work.push(this.cmd.pExpire(key, this.slotTtlMs));
    }
    await Promise.all(work);
  }

  /** Trim watched streams by age and keep them from expiring while watched. */
  async maintainStreams(): Promise<void> {
    const streams = [...this.watches.keys()];
    for (let i = 0; i < streams.length; i += BATCH) {
      await Promise.all(streams.slice(i, i + BATCH).map((s) => this.readRaw(s, 0, 0)));
    }
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
