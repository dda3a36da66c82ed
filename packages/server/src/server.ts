/**
 * The facade: `HoldfastServer` builds one of each component (see ARCHITECTURE.md) and
 * delegates every public method to the one that owns it.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AnyProtocol, AppendDeltaInputs, ServerMessageInputs, ServerMessages } from '@holdfast/protocol';
import type {
  ConnectionFilter,
  Handler,
  History,
  HistoryOptions,
  InboundType,
  MessageTarget,
  MessageWriter,
  SendOptions,
  ServerApi,
  ServerEvents,
  ServerHooks,
  StartMessageOptions,
} from './api.js';
import { Appends } from './appends.js';
import { AddressBuckets } from './buckets.js';
import type { ConnectionInfo } from './connection.js';
import { Control } from './control.js';
import { Core } from './core.js';
import { Delivery } from './delivery.js';
import { Dispatch } from './dispatch.js';
import type { Engine } from './engine.js';
import { Handshake } from './handshake.js';
import { Inbound } from './inbound.js';
import type { Inbox } from './inbox.js';
import { Lifecycle } from './lifecycle.js';
import { MemoryEngine } from './memory-engine.js';
import { type Rewind, resolveOptions, type ServerOptions } from './options.js';
import { Outbound } from './outbound.js';
import { Pool } from './pool.js';
import { Presence } from './presence.js';
import { Publish } from './publish.js';
import { Reauthorize } from './reauthorize.js';
import { Rooms } from './rooms.js';
import { Sessions } from './sessions.js';
import type { ServerStats } from './stats.js';
import { WsTransport } from './transport.js';

export type { ConnectionFilter, SendOptions, ServerEvents, ServerHooks } from './api.js';

/**
 * A Holdfast server: WebSocket sessions that hold, on `ws`.
 *
 * Create it with {@link createServer}.
 */
export class HoldfastServer<P extends AnyProtocol> implements ServerApi<P> {
  /** The app protocol. */
  readonly protocol: P;
  /** The storage and cross-node engine. */
  readonly engine: Engine;
  private readonly core: Core<P>;
  private readonly transport: WsTransport<P>;
  private readonly pool: Pool<P>;
  private readonly sessions: Sessions<P>;
  private readonly rooms: Rooms<P>;
  private readonly dispatch: Dispatch<P>;
  private readonly publisher: Publish<P>;
  private readonly appends: Appends<P>;
  private readonly lifecycle: Lifecycle<P>;

  /** @throws {ServerOptionsError} for contradictory options (see {@link resolveOptions}). */
  constructor(options: ServerOptions<P>) {
    const opts = resolveOptions(options);
    const engine =
      opts.engine ??
      new MemoryEngine({
        clock: opts.clock,
        random: opts.random,
        ...(opts.retention ? { retention: opts.retention } : {}),
      });
    const core = new Core(opts, engine);
    this.core = core;
    this.protocol = opts.protocol;
    this.engine = engine;
    // The components, bottom layer first; the transport calls up through its host.
    const transport: WsTransport<P> = new WsTransport(core, {
      opened: (conn): number => pool.opened(conn),
      admit: (conn) => pool.admit(conn),
      refuse: (conn, code, detail, retryAfterMs) => pool.closeConn(conn, code, detail, retryAfterMs),
      message: (conn, data, isBinary) => inbound.onMessage(conn, data, isBinary),
      ping: (conn, data) => inbound.onPing(conn, data),
      closed: (conn, code, reason) => sessions.onClosed(conn, code, reason),
    });
    const pool: Pool<P> = new Pool(core, transport);
    const out = new Outbound(core, pool);
    const delivery = new Delivery(core, pool, out);
    const presence = new Presence(core);
    const control = new Control(core, pool, out, delivery, presence);
    const sessions: Sessions<P> = new Sessions(core, pool, out, control, presence);
    const handshake = new Handshake(core, pool, out, delivery, presence, (user) => sessions.makeRoom(user));
    const rooms = new Rooms(core, out, control, presence);
    const dispatch = new Dispatch(core, out, sessions, this);
    const inbound: Inbound<P> = new Inbound(
      core,
      pool,
      out,
      handshake,
      dispatch,
      rooms,
      new Reauthorize(core, handshake, rooms),
      new AddressBuckets(core.limits.messagesPerSecondPerAddress, core.limits.burstPerAddress),
    );
    this.transport = transport;
    this.pool = pool;
    this.sessions = sessions;
    this.rooms = rooms;
    this.dispatch = dispatch;
    this.publisher = new Publish(core, pool);
    this.appends = new Appends(core);
    this.lifecycle = new Lifecycle(core, transport, pool, sessions, delivery, control);
    core.started = this.lifecycle.start();
    // Surface start failures through ready(); avoid an unhandled rejection meanwhile.
    core.started.catch((err) => core.fail(err, 'start'));
  }

  /** Resolves when the server accepts connections (engine started, port listening). */
  ready(): Promise<void> {
    return this.core.started;
  }

  /** The listening address in port mode (after `ready()`). */
  address(): { port: number; host: string } {
    return this.transport.address();
  }

  /**
   * The WebSocket URL clients on this machine can connect to, e.g. `ws://127.0.0.1:1234/ws`
   * (`wss:` on an HTTPS server). An unspecified listening address (`::`, `0.0.0.0`, as
   * `server.listen(port)` binds) is given as `localhost` / `127.0.0.1`.
   * @throws {Error} when the server neither listens on a port nor is attached to a listening server
   */
  url(): string {
    const { port, host } = this.address();
    const reachable = host === '::' ? 'localhost' : host === '0.0.0.0' ? '127.0.0.1' : host;
    const scheme = this.transport.secure ? 'wss' : 'ws';
    return `${scheme}://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}${this.core.opts.path}`;
  }

  // ------------------------------------------------------------------ events

  /**
   * Listen to a lifecycle event. Returns a function that removes the listener.
   *
   * @example
   * ```ts
   * const off = server.on('session:expired', ({ sessionId }) => cleanup(sessionId));
   * ```
   */
  on<E extends keyof ServerEvents>(event: E, listener: ServerEvents[E]): () => void {
    const emitter = this.core.emitter;
    emitter.on(event, listener as never);
    return () => emitter.off(event, listener as never);
  }

  // ------------------------------------------------------------------ handlers

  /**
   * Register the handler of a client message or request type. The return value is sent back
   * in the `res` (for requests: the typed response, validated). A thrown `HoldfastError` is
   * sent as is; anything else becomes `HANDLER_ERROR` without details.
   *
   * @throws {ServerOptionsError} `NOT_INBOUND_TYPE` for a type that is not a client message
   * or request of the protocol; `DUPLICATE_HANDLER` for a type that already has a handler
   *
   * @example
   * ```ts
   * server.handle('say', async (data, ctx) => {
   *   await server.sendToRoom(data.room, 'said', { from: ctx.user, text: data.text });
   * });
   * ```
   */
  handle<K extends InboundType<P>>(type: K, handler: Handler<P, K>): this {
    this.dispatch.handle(type, handler);
    return this;
  }

  /**
   * A pull-style inbox of one session's incoming messages whose types have no handler.
   * Each message is acknowledged as handled when taken from the inbox.
   *
   * @example
   * ```ts
   * const inbox = server.inbox(sessionId);
   * const next = await inbox.receive({ timeoutMs: 5000 });
   * for await (const m of inbox) console.log(m.type, m.data);
   * ```
   */
  inbox(sessionId: string): Inbox {
    return this.sessions.inbox(sessionId);
  }

  /**
   * Handle an HTTP upgrade yourself (for frameworks that own the server). Attaching with
   * `server` does this for you on `path`.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.transport.handleUpgrade(req, socket, head);
  }

  // ------------------------------------------------------------------ rooms

  /**
   * Add a session to a room (server side; no `authorizeJoin`). The session receives the
   * room's messages from now on, across reconnects. Members get a presence event.
   * `rewind` (docs/PROTOCOL.md §10.5): the subscription starts below the last `count`
   * retained messages (1–10 000) and/or those written within `ageMs`, which it receives
   * first; a session in the room already has its start moved down (not capped: the app asks).
   *
   * @returns the stream and the cursor the session starts at (`rewound`: entries replayed)
   * @throws {HoldfastError} `LIMIT_EXCEEDED` over `roomsPerSession`; `FORBIDDEN` for an unknown
   *   session; `VALIDATION_FAILED` for a rewind out of range
   */
  join(
    sessionId: string,
    room: string,
    options?: { rewind?: Rewind },
  ): Promise<{ stream: string; epoch: string; offset: number; rewound?: number }> {
    return this.rooms.join(sessionId, room, options);
  }

  // ------------------------------------------------------------------ growing messages

  /**
   * Start a growing message (extension `appends`, docs/PROTOCOL.md §10) of an appendable type
   * (declared in `defineProtocol`'s `appends`): an AI answer token by token, an agent run
   * step by step. Its subscribers get each delta live; late joiners and resumed clients get
   * the value folded so far, then the rest. Retention keeps one entry per message.
   *
   * @throws {HoldfastError} `VALIDATION_FAILED` for a type that is not appendable or an invalid
   *   initial value
   *
   * @example
   * ```ts
   * const answer = await server.startMessage({ room: 'chat' }, 'answer', '');
   * for await (const token of llm.stream(prompt)) void answer.append(token);
   * await answer.end();
   * ```
   */
  startMessage<K extends keyof AppendDeltaInputs<P> & string>(
    to: MessageTarget,
    type: K,
    initial: ServerMessageInputs<P>[K],
    options?: StartMessageOptions,
  ): Promise<MessageWriter<ServerMessages<P>[K], AppendDeltaInputs<P>[K]>> {
    return this.appends.start(to, type, initial, options) as Promise<
      MessageWriter<ServerMessages<P>[K], AppendDeltaInputs<P>[K]>
    >;
  }

  /**
   * A stream's retained messages (growing ones folded), oldest position first: all of them,
   * the last `count`, those written within `ageMs`, and/or those after offset `after`. For
   * HTTP endpoints (a page's first render, an export).
   *
   * @throws {HoldfastError} `VALIDATION_FAILED` for bounds out of range
   */
  history(target: MessageTarget, options?: HistoryOptions): Promise<History> {
    return this.appends.history(target, options);
  }

  /** Remove a session from a room. Members get a presence event. */
  leave(sessionId: string, room: string): Promise<void> {
    return this.rooms.leave(sessionId, room);
  }

  /** Who is in a room: users and how many of their sessions. */
  presence(room: string): Promise<{ user: string; sessions: number }[]> {
    return this.engine.presence(room);
  }

  // ------------------------------------------------------------------ sending (app API)

  /**
   * Send to one session (its direct stream). Retained and replayed unless `volatile`.
   *
   * @returns how many sessions it was addressed to (0 or 1)
   * @throws {HoldfastError} `VALIDATION_FAILED` when `data` does not match the protocol
   *
   * @example
   * ```ts
   * await server.sendToSession(ctx.sessionId, 'progress', { step: 3, of: 10 });
   * ```
   */
  sendToSession<K extends keyof ServerMessageInputs<P> & string>(
    sessionId: string,
    type: K,
    data: ServerMessageInputs<P>[K],
    options?: SendOptions,
  ): Promise<number> {
    return this.publisher.toSession(sessionId, type, data, options);
  }

  /** Send to every session of a user (the user stream). Returns how many sessions it was addressed to. */
  sendToUser<K extends keyof ServerMessageInputs<P> & string>(
    user: string,
    type: K,
    data: ServerMessageInputs<P>[K],
    options?: SendOptions,
  ): Promise<number> {
    return this.publisher.toUser(user, type, data, options);
  }

  /**
   * Send to one or more rooms. A session in several of the rooms gets the message once.
   * Returns how many sessions it was addressed to.
   *
   * @example
   * ```ts
   * await server.sendToRoom('general', 'said', msg, { except: { sessions: [ctx.sessionId] } });
   * ```
   */
  sendToRoom<K extends keyof ServerMessageInputs<P> & string>(
    rooms: string | readonly string[],
    type: K,
    data: ServerMessageInputs<P>[K],
    options: SendOptions = {},
  ): Promise<number> {
    return this.publisher.toRoom(rooms, type, data, options);
  }

  /** Send to every session (the broadcast stream). Returns how many sessions it was addressed to. */
  broadcast<K extends keyof ServerMessageInputs<P> & string>(
    type: K,
    data: ServerMessageInputs<P>[K],
    options: SendOptions = {},
  ): Promise<number> {
    return this.publisher.toAll(type, data, options);
  }

  // ------------------------------------------------------------------ pool queries & admin

  /** Connections on this node, optionally filtered by session, user or room. */
  connectionsList(filter: ConnectionFilter = {}): ConnectionInfo[] {
    return this.pool.list(filter);
  }

  /** How many connections match the filter on this node. */
  countConnections(filter: ConnectionFilter = {}): number {
    return this.pool.list(filter).length;
  }

  /** One connection by id (this node). */
  connection(id: string): ConnectionInfo | undefined {
    return this.pool.info(id);
  }

  /** Sessions of a user (across nodes) with whether each is connected to this node. */
  async userSessions(user: string): Promise<{ sessionId: string; connectedHere: boolean }[]> {
    const ids = await this.engine.userSessions(user);
    return ids.map((sessionId) => ({ sessionId, connectedHere: this.pool.sessionConns.has(sessionId) }));
  }

  /**
   * Disconnect a session. With `end: true` (default) the session is ended for good: the client
   * gets 4000 and does not reconnect, and its state is freed. With `end: false` it gets 1012
   * and may resume.
   */
  disconnect(sessionId: string, options: { end?: boolean; reason?: string } = {}): Promise<void> {
    return this.sessions.disconnect(sessionId, options);
  }

  /** End every session of a user (logout everywhere). Returns how many sessions were ended. */
  logout(user: string): Promise<number> {
    return this.sessions.logout(user);
  }

  /** Close connections (on this node) silent for at least `idleMs`. Their sessions stay resumable. */
  closeIdle(idleMs: number): number {
    return this.pool.closeIdle(idleMs);
  }

  /** A snapshot of this node's figures. */
  stats(): ServerStats {
    return this.pool.stats(this.dispatch.inflightCount);
  }

  /**
   * Attach timing hooks: handler durations, request round trips, replays, client closes.
   * `metricsHandler` (`@holdfast/server/metrics`) uses it; nothing is timed while no hook is
   * attached. Returns the function that detaches them.
   *
   * @example
   * ```ts
   * const off = server.instrument({ handler: (type, ms, ok) => console.log(type, ms, ok) });
   * ```
   */
  instrument(hooks: ServerHooks): () => void {
    const core = this.core;
    core.hooks = [...(core.hooks ?? []), hooks];
    return () => {
      const rest = core.hooks?.filter((h) => h !== hooks) ?? [];
      core.hooks = rest.length > 0 ? rest : undefined;
    };
  }

  /**
   * How many connections of this node are in each phase: waiting for their `hello`,
   * authenticating, open, or closing (a close handshake under way, whatever the phase).
   * For tests and diagnostics; not part of `ServerApi`.
   */
  connectionPhases(): { hello: number; authenticating: number; open: number; closing: number } {
    return this.pool.phases();
  }

  /**
   * Bytes written on this node to a session's socket and not yet sent (undefined when the
   * session has no connection here). For tests and diagnostics; not part of `ServerApi`.
   */
  bufferedAmountOf(sessionId: string): number | undefined {
    const conn = this.pool.sessionConns.get(sessionId);
    return conn ? this.transport.bufferedAmount(conn) : undefined;
  }

  // ------------------------------------------------------------------ closing

  /**
   * Drain and stop: stop accepting, close every connection with 1012 (or 1001) so clients
   * reconnect elsewhere, wait for running handlers, stop the engine. Idempotent.
   */
  close(): Promise<void> {
    return this.lifecycle.close();
  }

  /** `await using server = createServer(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Create a Holdfast server: attach it to an HTTP(S) server (`server` + `path`) or let it
 * listen on `port`. In memory by default; pass an `engine` to scale out.
 *
 * @throws {ServerOptionsError} `PORT_AND_SERVER` when both `port` and `server` are given
 *
 * @example
 * ```ts
 * const server = createServer({ protocol: chat, server: httpServer, path: '/ws', authenticate });
 * server.handle('say', async (data, ctx) => {
 *   await server.sendToRoom(data.room, 'said', { from: ctx.user, text: data.text });
 * });
 * await server.ready();
 * ```
 */
export function createServer<P extends AnyProtocol>(options: ServerOptions<P>): HoldfastServer<P> {
  return new HoldfastServer(options);
}
