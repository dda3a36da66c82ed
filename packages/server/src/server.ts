import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type AnyProtocol,
  CloseCode,
  type Cursor,
  closeReason,
  decode,
  ErrorCode,
  encodeMsgBody,
  HoldfastError,
  type Issue,
  isWireStream,
  PROTOCOL_VERSION,
  type ServerMessageInputs,
  type StreamStatus,
  Streams,
  SUBPROTOCOL,
  SUPPORTED_VERSIONS,
  TOKEN_SUBPROTOCOL_PREFIX,
  WireLimits,
} from '@holdfast/protocol';
import { EventEmitter } from 'eventemitter3';
import { type WebSocket, WebSocketServer } from 'ws';
import { type Clock, systemClock } from './clock.js';
import { Connection, type ConnectionInfo, hold, REPLAYING, type StreamState } from './connection.js';
import type { ControlCommand, Engine, Except, SessionRecord, StoredMessage } from './engine.js';
import { textFrame } from './frame.js';
import type { Handler, HandlerContext, InboundType } from './handlers.js';
import { flat, type IdSource, randomIds, sha256 } from './ids.js';
import { Inbox } from './inbox.js';
import { MemoryEngine } from './memory-engine.js';
import {
  type AuthResult,
  DEFAULT_SERVER_OPTIONS,
  type Logger,
  type ServerOptions,
  silentLogger,
} from './options.js';
import { SetMap } from './set-map.js';
import { type Counters, newCounters, type ServerStats } from './stats.js';

/** Options of the send functions. */
export interface SendOptions {
  /** Sessions or users that must not receive the message. */
  except?: Except;
  /**
   * At-most-once: not retained, not replayed, dropped first under backpressure, only to
   * sessions connected now.
   * @default false
   */
  volatile?: boolean;
}

/** Lifecycle events of the server. */
export interface ServerEvents {
  /** A connection completed `hello`. */
  connection: (info: ConnectionInfo & { resumed: boolean }) => void;
  /** A connection closed. */
  disconnect: (info: ConnectionInfo & { code: number; reason: string }) => void;
  /** A new session was created. */
  'session:created': (info: { sessionId: string; user: string }) => void;
  /** A session was resumed on a new connection. */
  'session:resumed': (info: { sessionId: string; user: string; streams: StreamStatus[] }) => void;
  /** A session's resume window ended; its state is freed. */
  'session:expired': (info: { sessionId: string; user: string }) => void;
  /** Something failed that the server survived (engine errors, socket errors, handler crashes). */
  error: (error: Error, context: { where: string; connectionId?: string; sessionId?: string }) => void;
}

/** Filters for looking up connections. */
export interface ConnectionFilter {
  /** Connections of this session. */
  sessionId?: string;
  /** Connections of this user. */
  user?: string;
  /** Connections of sessions in this room. */
  room?: string;
}

interface Inflight {
  promise: Promise<string>;
}

/**
 * A Holdfast server: WebSocket sessions that hold, on `ws`.
 *
 * Create it with {@link createServer}.
 */
export class HoldfastServer<P extends AnyProtocol> {
  /** The app protocol. */
  readonly protocol: P;
  /** The storage and cross-node engine. */
  readonly engine: Engine;
  private readonly emitter = new EventEmitter<ServerEvents>();
  private readonly opts: ServerOptions<P>;
  private readonly clock: Clock;
  private readonly ids: IdSource;
  private readonly log: Logger;
  private readonly limits: Required<NonNullable<ServerOptions<P>['limits']>>;
  private readonly heartbeat: { intervalMs: number; timeoutMs: number };
  private readonly resumeWindowMs: number;
  private readonly path: string;
  private readonly wss: WebSocketServer;
  private httpServer: HttpServer | undefined;
  private readonly ownsHttpServer: boolean;
  private readonly started: Promise<void>;
  private readonly startedAt: number;
  /**
   * Connections keep their times (connected, last seen, next ping, closing, rate bucket) as
   * milliseconds since `t0`: small integers, where epoch milliseconds would be a 16-byte heap
   * number each. `info()` adds it back.
   */
  private readonly t0: number;
  private rel(): number {
    return this.clock.now() - this.t0;
  }
  private sweepTimer: unknown;
  private closing: Promise<void> | undefined;
  private draining = false;
  private readonly upgradeListener: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

  private readonly connections = new Map<string, Connection>();
  /** Connected sessions on this node -> their connection. */
  private readonly sessionConns = new Map<string, Connection>();
  /** Local subscribers of each stream (connected sessions only). */
  private readonly subscribers = new SetMap<string, Connection>();
  /** Connections per remote address; `address` is the one string every such connection shares. */
  private readonly perAddress = new Map<string, { address: string; n: number }>();
  private readonly handlers = new Map<string, Handler<any>>();
  private readonly inflight = new Map<string, Inflight>();
  private readonly inboxes = new Map<string, Inbox>();
  private readonly running = new Set<Promise<unknown>>();
  private pending = 0;
  private readonly counters: Counters = newCounters();
  private readonly decodeOptions: { maxBytes: number };
  private readonly corkBytes: number;

  constructor(options: ServerOptions<P>) {
    const d = DEFAULT_SERVER_OPTIONS;
    this.opts = options;
    this.protocol = options.protocol;
    this.clock = options.clock ?? systemClock;
    this.ids = options.ids ?? randomIds();
    this.log = options.logger ?? silentLogger;
    this.limits = { ...d.limits, ...options.limits };
    this.decodeOptions = { maxBytes: this.limits.maxPayload };
    // Corked bytes count as buffered: keep them well under both marks, so coalescing never makes
    // a healthy socket look slow (volatile drops, 4008).
    this.corkBytes = Math.max(
      1,
      Math.min(CORK_BYTES, this.limits.volatileHighWaterMark / 2, this.limits.highWaterMark / 4),
    );
    this.heartbeat = { ...d.heartbeat, ...options.heartbeat };
    this.resumeWindowMs = options.resumeWindowMs ?? d.resumeWindowMs;
    this.path = options.path ?? d.path;
    this.engine =
      options.engine ??
      new MemoryEngine({ clock: this.clock, ...(options.retention ? { retention: options.retention } : {}) });
    this.startedAt = this.clock.now();
    this.t0 = this.startedAt - 1;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.limits.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    });
    this.wss.on('error', (err) => this.fail(err, 'wss'));
    this.upgradeListener = (req, socket, head) => {
      if (this.matchesPath(req)) this.handleUpgrade(req, socket, head);
      else if ((this.httpServer?.listenerCount('upgrade') ?? 0) <= 1) {
        // Nobody else handles upgrades on this server: answer rather than leave the socket hanging.
        socket.on('error', () => {});
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      }
    };
    if (options.server) {
      this.httpServer = options.server;
      this.ownsHttpServer = false;
      options.server.on('upgrade', this.upgradeListener);
    } else if (options.port !== undefined) {
      this.ownsHttpServer = true;
      const http = createHttpServer((_req, res) => {
        res.writeHead(426, { 'content-type': 'text/plain' }).end('Upgrade Required');
      });
      http.on('upgrade', this.upgradeListener);
      http.on('error', (err) => this.fail(err, 'http'));
      this.httpServer = http;
    } else {
      this.ownsHttpServer = false;
    }
    this.started = this.start(options.port, options.host ?? '127.0.0.1');
    // Surface start failures through ready(); avoid an unhandled rejection meanwhile.
    this.started.catch((err) => this.fail(err, 'start'));
  }

  private async start(port: number | undefined, host: string): Promise<void> {
    await this.engine.start({
      message: (stream, epoch, message) => this.deliverLive(stream, epoch, message),
      volatile: (stream, frame, except) => this.deliverShared(stream, frame, except),
      presence: (room, event, user, sessions) => this.deliverPresence(room, event, user, sessions),
      control: (command) => this.onControl(command),
    });
    if (this.ownsHttpServer && this.httpServer && port !== undefined) {
      const http = this.httpServer;
      await new Promise<void>((resolve, reject) => {
        http.once('error', reject);
        http.listen(port, host, () => {
          http.off('error', reject);
          resolve();
        });
      });
    }
    const tick = Math.max(10, this.opts.sweepIntervalMs ?? DEFAULT_SERVER_OPTIONS.sweepIntervalMs);
    this.sweepTimer = this.clock.setInterval(() => this.sweep(), tick);
  }

  /** Resolves when the server accepts connections (engine started, port listening). */
  ready(): Promise<void> {
    return this.started;
  }

  /** The listening address in port mode (after `ready()`). */
  address(): { port: number; host: string } {
    const a = this.httpServer?.address();
    if (!a || typeof a === 'string') throw new Error('not listening on a port');
    return { port: a.port, host: a.address };
  }

  /** The WebSocket URL in port mode, e.g. `ws://127.0.0.1:1234/ws`. */
  url(): string {
    const { port, host } = this.address();
    return `ws://${host.includes(':') ? `[${host}]` : host}:${port}${this.path}`;
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
    this.emitter.on(event, listener as never);
    return () => this.emitter.off(event, listener as never);
  }

  private emit<E extends keyof ServerEvents>(event: E, ...args: Parameters<ServerEvents[E]>): void {
    try {
      (this.emitter.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'event listener threw');
    }
  }

  private fail(error: unknown, where: string, ids: { connectionId?: string; sessionId?: string } = {}): void {
    const err = error instanceof Error ? error : new Error(String(error));
    this.log.error({ err, where, ...ids }, 'holdfast error');
    if (this.emitter.listenerCount('error') > 0) this.emit('error', err, { where, ...ids });
  }

  // ------------------------------------------------------------------ handlers

  /**
   * Register the handler of a client message or request type. The return value is sent back
   * in the `res` (for requests: the typed response, validated). A thrown `HoldfastError` is
   * sent as is; anything else becomes `HANDLER_ERROR` without details.
   *
   * @example
   * ```ts
   * server.handle('say', async (data, ctx) => {
   *   await server.sendToRoom(data.room, 'said', { from: ctx.user, text: data.text });
   * });
   * ```
   */
  handle<K extends InboundType<P>>(type: K, handler: Handler<P, K>): this {
    if (!this.protocol.isClientMessage(type) && !this.protocol.isRequest(type)) {
      throw new TypeError(`"${type}" is not a client message or request of the protocol`);
    }
    this.handlers.set(type, handler as Handler<any>);
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
    let inbox = this.inboxes.get(sessionId);
    if (!inbox) {
      inbox = new Inbox(this.clock, this.limits.dedupeSize, () => this.inboxes.delete(sessionId));
      this.inboxes.set(sessionId, inbox);
    }
    return inbox;
  }

  // ------------------------------------------------------------------ upgrade

  private matchesPath(req: IncomingMessage): boolean {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    return (q === -1 ? url : url.slice(0, q)) === this.path;
  }

  /**
   * Handle an HTTP upgrade yourself (for frameworks that own the server). Attaching with
   * `server` does this for you on `path`.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A listener made here would share this scope and keep `req` alive for the socket's life.
    socket.on('error', this.onUpgradeError);
    if (this.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, req));
  }

  private readonly onUpgradeError = (err: Error): void =>
    this.log.debug({ err }, 'socket error during upgrade');

  /** Socket listeners, made in a scope that holds only the connection (not the upgrade request). */
  private listen(conn: Connection): void {
    const ws = conn.ws as WebSocket & { [CONN]?: Connection };
    ws[CONN] = conn;
    const l = this.socketListeners;
    ws.on('error', l.error);
    ws.on('close', l.close);
    ws.on('message', l.message);
  }

  /**
   * Socket listeners shared by every connection (`this` is the socket; its connection hangs
   * off it), where closures per connection would cost a few hundred bytes each.
   */
  private readonly socketListeners = (() => {
    const server = this;
    const connOf = (ws: WebSocket): Connection => (ws as WebSocket & { [CONN]: Connection })[CONN];
    return {
      error(this: WebSocket, err: Error): void {
        server.log.debug({ err, connectionId: connOf(this).id }, 'socket error');
      },
      close(this: WebSocket, code: number, reason: Buffer): void {
        server.onClose(connOf(this), code, reason.toString());
      },
      message(this: WebSocket, data: Buffer, isBinary: boolean): void {
        server.onMessage(connOf(this), data, isBinary);
      },
    };
  })();

  private originAllowed(origin: string | undefined): boolean {
    const rule = this.opts.origins;
    if (!rule) return true;
    if (origin === undefined)
      return this.opts.allowMissingOrigin ?? DEFAULT_SERVER_OPTIONS.allowMissingOrigin;
    return typeof rule === 'function' ? rule(origin) : rule.includes(origin);
  }

  private onSocket(ws: WebSocket, req: IncomingMessage): void {
    const now = this.rel();
    const seen = req.socket.remoteAddress ?? 'unknown';
    let count = this.perAddress.get(seen);
    if (!count) {
      count = { address: seen, n: 0 };
      this.perAddress.set(seen, count);
    }
    count.n += 1;
    const remoteAddress = count.address;
    const conn = new Connection(
      this.ids.id('c_'),
      ws,
      now,
      remoteAddress,
      req.headers['user-agent']?.slice(0, 256),
      this.limits.burst,
    );
    this.connections.set(conn.id, conn);
    this.pending += 1;
    this.listen(conn);

    // Refusals happen after accepting the upgrade so browsers can see the code (they only see 1006 otherwise).
    const origin = req.headers.origin;
    if (!this.originAllowed(origin)) return this.closeConn(conn, CloseCode.Forbidden, 'origin not allowed');
    if (count.n > this.limits.connectionsPerAddress) {
      return this.closeConn(conn, CloseCode.RateLimited, 'too many connections from this address', 5000);
    }
    if (this.pending > this.limits.pendingConnections) {
      return this.closeConn(conn, CloseCode.TryAgainLater, 'too many pending connections');
    }
    let token: string | undefined;
    let tokenSource: 'subprotocol' | 'query' | undefined;
    const offered = req.headers['sec-websocket-protocol'];
    if (typeof offered === 'string') {
      for (const p of offered.split(',')) {
        const entry = p.trim();
        if (entry.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) {
          token = entry.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
          tokenSource = 'subprotocol';
        }
      }
    }
    const url = req.url ?? '/';
    if (!token && (this.opts.allowQueryToken ?? false) && url.includes('token=')) {
      const q = new URLSearchParams(url.slice(url.indexOf('?') + 1)).get('token');
      if (q) {
        token = q;
        tokenSource = 'query';
      }
    }
    conn.handshake = {
      headers: { ...req.headers, 'sec-websocket-protocol': undefined },
      url: tokenSource === 'query' ? url.replace(/token=[^&]*/, 'token=REDACTED') : url,
      ...(token ? { token } : {}),
      ...(tokenSource ? { tokenSource } : {}),
    };
  }

  // ------------------------------------------------------------------ frames

  private onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    if (conn.phase === 'closed' || conn.closingSince) return;
    const now = this.rel();
    conn.lastSeen = now;
    this.counters.framesIn += 1;
    if (!conn.take(now, this.limits.messagesPerSecond, this.limits.burst)) {
      return this.closeConn(
        conn,
        CloseCode.RateLimited,
        'too many frames',
        conn.retryAfterMs(this.limits.messagesPerSecond),
      );
    }
    if (!isBinary && conn.phase === 'open' && isAck(data)) {
      const cursors = this.parseAck(conn, data);
      if (cursors) return this.onAck(conn, cursors);
    }
    const decoded = decode(isBinary ? data : data.toString('utf8'), 'client', this.decodeOptions);
    if (!decoded.ok) {
      this.sendError(conn, decoded.error);
      return this.closeConn(conn, CloseCode.BadProtocol, decoded.error.code);
    }
    const frame = decoded.frame;
    if (this.draining && frame.t !== 'ack' && frame.t !== 'ping' && frame.t !== 'pong') {
      // Shutting down: take no new work. Unanswered messages stay in the client's outbox.
      if (frame.t === 'hello')
        this.closeConn(
          conn,
          this.opts.shutdownCode ?? DEFAULT_SERVER_OPTIONS.shutdownCode,
          'server shutting down',
        );
      return;
    }
    if (conn.phase !== 'open') {
      if (frame.t === 'hello' && conn.phase === 'hello') {
        conn.phase = 'authenticating';
        this.track(this.onHello(conn, frame));
        return;
      }
      this.sendError(conn, new HoldfastError(ErrorCode.UnexpectedFrame, `"${frame.t}" before welcome`));
      return this.closeConn(conn, CloseCode.BadProtocol, 'expected hello');
    }
    switch (frame.t) {
      case 'pub':
        return this.onPub(conn, frame.id, frame.type, frame.data);
      case 'ack':
        this.onAck(conn, frame.cursors);
        return;
      case 'join':
        this.track(this.onJoinFrame(conn, frame.id, frame.room));
        return;
      case 'leave':
        this.track(this.onLeaveFrame(conn, frame.id, frame.room));
        return;
      case 'refresh':
        this.track(this.onRefresh(conn, frame.id, frame.token));
        return;
      case 'ping':
        this.sendText(conn, frame.ts === undefined ? '{"t":"pong"}' : `{"t":"pong","ts":${frame.ts}}`);
        return;
      case 'pong':
        return;
      case 'hello':
        this.sendError(conn, new HoldfastError(ErrorCode.UnexpectedFrame, 'second hello'));
        return this.closeConn(conn, CloseCode.BadProtocol, 'second hello');
    }
  }

  /**
   * The fast path of the most frequent frame: a well-formed `ack` of streams this connection
   * has, for offsets it was sent, checked by hand instead of by the generic decoder. Anything
   * else (malformed, unknown stream, stale epoch, extra fields) returns undefined and takes the
   * generic path, which answers it exactly as before.
   */
  private parseAck(conn: Connection, data: Buffer): Cursor[] | undefined {
    let value: unknown;
    try {
      value = JSON.parse(data.toString('utf8'));
    } catch {
      return undefined;
    }
    const frame = value as { t?: unknown; cursors?: unknown };
    if (frame.t !== 'ack' || keyCount(frame) !== 2) return undefined;
    const list = frame.cursors;
    if (!Array.isArray(list) || list.length === 0 || list.length > WireLimits.cursors) return undefined;
    const out: Cursor[] = [];
    for (const c of list as unknown[]) {
      if (typeof c !== 'object' || c === null || keyCount(c) !== 3) return undefined;
      const { stream, epoch, offset } = c as { stream?: unknown; epoch?: unknown; offset?: unknown };
      const st = typeof stream === 'string' ? conn.streams.get(stream) : undefined;
      if (!st || epoch !== st.epoch || typeof offset !== 'number') return undefined;
      // Streams the server made from app ids (user ids, server-side joins) are not checked
      // when made: hold them to the wire's rules here, as the schema would.
      if (!isWireStream(stream)) return undefined;
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > st.sent) return undefined;
      out.push({ stream, epoch: st.epoch, offset });
    }
    return out;
  }

  /** Keep track of async work so close() can wait for it; log anything that escapes. */
  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err) => this.fail(err, 'async'));
    this.running.add(tracked);
    tracked.finally(() => this.running.delete(tracked));
  }

  // ------------------------------------------------------------------ hello / resume

  private async authenticate(conn: Connection, helloToken: string | undefined): Promise<AuthResult | null> {
    const hs = conn.handshake;
    const token = helloToken ?? hs?.token;
    const tokenSource = helloToken ? 'hello' : hs?.tokenSource;
    if (!this.opts.authenticate) return { user: '' };
    try {
      return await this.opts.authenticate({
        token,
        tokenSource,
        headers: hs?.headers ?? {},
        url: hs?.url ?? '',
        remoteAddress: conn.remoteAddress,
      });
    } catch (err) {
      this.log.debug({ err, connectionId: conn.id }, 'authenticate refused');
      return null;
    }
  }

  /** `hello`, with storage failures answered at once (1013) instead of leaving the client waiting. */
  private async onHello(conn: Connection, hello: Parameters<HoldfastServer<P>['hello']>[1]): Promise<void> {
    try {
      await this.hello(conn, hello);
    } catch (err) {
      this.counters.engineErrors += 1;
      this.fail(err, 'hello', { connectionId: conn.id });
      this.closeConn(conn, CloseCode.TryAgainLater, 'storage unavailable', 1000);
      this.releaseSlot(conn);
    }
  }

  private async hello(
    conn: Connection,
    hello: {
      version: number;
      token?: string | undefined;
      resume?: { sessionId: string; resumeToken: string; cursors: Cursor[] } | undefined;
    },
  ): Promise<void> {
    await this.started;
    if (!SUPPORTED_VERSIONS.includes(hello.version)) {
      return this.closeConn(
        conn,
        CloseCode.UnsupportedVersion,
        `server speaks ${SUPPORTED_VERSIONS.join(',')}`,
      );
    }
    const auth = await this.authenticate(conn, hello.token);
    if (!conn.isOpen) return;
    if (!auth || typeof auth.user !== 'string')
      return this.closeConn(conn, CloseCode.Unauthorized, 'authentication failed');
    const now = this.clock.now();
    if (auth.expiresAt !== undefined && auth.expiresAt <= now) {
      return this.closeConn(conn, CloseCode.Unauthorized, 'token expired');
    }

    // Resume or create.
    let record: SessionRecord | undefined;
    let resumeError: 'expired' | 'forbidden' | undefined;
    if (hello.resume) {
      record = await this.engine.getSession(hello.resume.sessionId);
      if (!record) resumeError = 'expired';
      else if (
        record.resumeTokenHash !== sha256(hello.resume.resumeToken) ||
        (this.opts.authenticate && record.user !== auth.user)
      ) {
        record = undefined;
        resumeError = 'forbidden';
      }
    }
    if (!conn.isOpen) return;
    const user = record ? record.user : auth.user || this.ids.id('anon_');

    // Connections per user, across nodes. A resume replaces the session's old connection first.
    if (record) {
      const old = this.sessionConns.get(record.id);
      if (old && old !== conn) {
        this.closeConn(old, CloseCode.GoingAway, 'replaced by a newer connection');
        this.detach(old);
        this.releaseSlot(old);
      } else if (!old) {
        await this.engine.publishControl({
          op: 'disconnect',
          sessionId: record.id,
          code: CloseCode.GoingAway,
          reason: 'replaced',
          end: false,
        });
      }
    }
    if (!(await this.engine.acquireUserSlot(user, conn.id, this.limits.connectionsPerUser))) {
      return this.closeConn(
        conn,
        CloseCode.TooManyConnections,
        `at most ${this.limits.connectionsPerUser} connections per user`,
      );
    }
    conn.slotHeld = true;
    conn.user = user;
    if (!conn.isOpen) return this.releaseSlot(conn);

    let resumeToken: string;
    let streams: StreamStatus[];
    const cursors = new Map((hello.resume?.cursors ?? []).map((c) => [c.stream, c] as const));
    if (record) {
      // The resume token stays the same for the session's life: the client may not have
      // received a rotated one if this connection dies before the welcome arrives.
      resumeToken = hello.resume!.resumeToken;
      streams = await this.resumeStreams(record, cursors);
      this.counters.resumes += 1;
    } else {
      if (resumeError) this.counters.resumeFailures += 1;
      resumeToken = this.ids.secret();
      record = {
        id: this.ids.id('s_'),
        user,
        resumeTokenHash: sha256(resumeToken),
        createdAt: now,
        rooms: [],
        acked: {},
        data: auth.data,
      };
      streams = [];
      for (const stream of this.baseStreams(record)) {
        const head = await this.engine.head(stream);
        record.acked[stream] = { epoch: head.epoch, offset: head.offset };
        streams.push({ stream, epoch: head.epoch, offset: head.offset, status: 'new' });
      }
      await this.engine.createSession(record, 0);
      this.counters.sessionsCreated += 1;
      if (resumeError) {
        for (const c of cursors.values()) {
          streams.push({
            stream: c.stream,
            epoch: c.epoch,
            offset: c.offset,
            status: 'gap',
            reason: resumeError,
          });
        }
      }
    }
    if (!conn.isOpen) {
      this.releaseSlot(conn);
      if (!hello.resume || resumeError) await this.engine.touchSession(record.id, this.resumeWindowMs);
      return;
    }
    conn.reconnects = await this.engine.markConnected(record.id);
    if (!conn.isOpen) {
      this.releaseSlot(conn);
      await this.engine.touchSession(record.id, this.resumeWindowMs);
      return;
    }
    // Two resumes of one session racing: the later one wins, never two sockets per session.
    const rival = this.sessionConns.get(record.id);
    if (rival && rival !== conn) {
      this.closeConn(rival, CloseCode.GoingAway, 'replaced by a newer connection');
      this.detach(rival);
      this.releaseSlot(rival);
    }

    // Attach: from here on live messages for these streams reach this connection (buffered while replaying).
    conn.sessionId = record.id;
    conn.data = auth.data ?? record.data;
    conn.tokenExpiresAt = auth.expiresAt;
    conn.phase = 'open';
    conn.handshake = undefined;
    conn.nextPingAt = this.rel() + this.heartbeat.intervalMs;
    this.pending -= 1;
    this.sessionConns.set(record.id, conn);
    for (const s of streams) {
      if (
        s.status === 'gap' &&
        s.reason !== undefined &&
        (s.reason === 'expired' || s.reason === 'forbidden')
      )
        continue;
      conn.streams.set({
        stream: s.stream,
        next: undefined,
        epoch: s.epoch,
        sent: s.offset,
        pending: REPLAYING,
        acked: s.offset,
      });
      this.subscribe(conn, s.stream);
    }
    const gaps = streams.filter((s) => s.status === 'gap').length;
    this.counters.gaps += gaps;

    const welcome = {
      t: 'welcome',
      version: PROTOCOL_VERSION,
      sessionId: record.id,
      resumeToken,
      resumed: !resumeError && hello.resume !== undefined,
      ...(resumeError ? { resumeError } : {}),
      user,
      streams,
      heartbeat: this.heartbeat,
      limits: {
        maxPayload: this.limits.maxPayload,
        maxRooms: this.limits.roomsPerSession,
        messagesPerSecond: this.limits.messagesPerSecond,
        ...(auth.expiresAt !== undefined ? { tokenExpiresAt: auth.expiresAt } : {}),
      },
    };
    this.sendText(conn, JSON.stringify(welcome));
    const info = { ...conn.info(this.t0), resumed: welcome.resumed };
    if (welcome.resumed) this.emit('session:resumed', { sessionId: record.id, user, streams });
    else this.emit('session:created', { sessionId: record.id, user });
    this.emit('connection', info);

    // Replay every stream after its cursor, then switch to live.
    for (const stream of conn.streams.keys()) await this.replay(conn, stream);
  }

  private baseStreams(record: SessionRecord): string[] {
    return [flat(Streams.session(record.id)), flat(Streams.user(record.user)), Streams.broadcast];
  }

  private async resumeStreams(record: SessionRecord, cursors: Map<string, Cursor>): Promise<StreamStatus[]> {
    const out: StreamStatus[] = [];
    const names = [...this.baseStreams(record), ...record.rooms.map((r) => Streams.room(r))];
    for (const stream of names) {
      const head = await this.engine.head(stream);
      const cursor = cursors.get(stream) ?? record.acked[stream];
      if (!cursor) {
        out.push({ stream, epoch: head.epoch, offset: head.offset, status: 'new' });
      } else if (cursor.epoch !== head.epoch) {
        out.push({ stream, epoch: head.epoch, offset: head.first - 1, status: 'gap', reason: 'epoch' });
      } else if (cursor.offset > head.offset) {
        out.push({ stream, epoch: head.epoch, offset: head.offset, status: 'gap', reason: 'unknown' });
      } else if (cursor.offset < head.first - 1) {
        out.push({
          stream,
          epoch: head.epoch,
          offset: head.first - 1,
          status: 'gap',
          reason: 'retention',
          from: cursor.offset + 1,
          to: head.first - 1,
        });
      } else {
        out.push({ stream, epoch: head.epoch, offset: cursor.offset, status: 'recovered' });
      }
    }
    return out;
  }

  /**
   * Send a stream's retained messages after the connection's cursor, then whatever arrived
   * live meanwhile, merged by offset; then switch the stream to live delivery.
   */
  private async replay(conn: Connection, stream: string): Promise<void> {
    const st = conn.streams.get(stream);
    if (!st) return;
    const PAGE = 500;
    try {
      for (;;) {
        const page = await this.engine.read(stream, st.sent, PAGE);
        if (conn.streams.get(stream) !== st || !conn.isOpen) return;
        if (page.epoch !== st.epoch) {
          this.sendGap(conn, stream, st, page.epoch, page.first - 1, 'epoch');
          continue;
        }
        if (page.first > st.sent + 1 && page.offset > st.sent) {
          // Trimmed while we were away: say so rather than skip silently.
          this.sendGap(conn, stream, st, page.epoch, page.first - 1, 'retention');
        }
        for (const m of page.messages) {
          if (conn.ws.bufferedAmount <= this.limits.highWaterMark / 2) {
            this.deliverTo(conn, st, m, undefined, true);
            continue;
          }
          // Replay is paced by the socket: a big backlog must not look like a slow consumer.
          // Above half the mark, wait until this frame is flushed before the next one.
          await new Promise<void>((resolve) => {
            if (!this.deliverTo(conn, st, m, undefined, true, () => resolve())) resolve();
          });
          if (conn.streams.get(stream) !== st || !conn.isOpen) return;
        }
        if (page.messages.length === PAGE) continue;
        if (
          st.pending !== undefined &&
          st.pending.length > 0 &&
          st.pending[0]!.offset > st.sent + 1 &&
          st.pending.length >= this.maxPending
        ) {
          // Live messages piled up beyond what we keep while replaying: they are in history, read on.
          st.pending = REPLAYING;
          continue;
        }
        break;
      }
      const pending = st.pending;
      st.pending = undefined;
      if (pending && pending.length > 0) {
        pending.sort((a, b) => a.offset - b.offset);
        for (const m of pending) this.deliverTo(conn, st, m, undefined);
      }
    } catch (err) {
      this.counters.engineErrors += 1;
      this.fail(err, 'replay', { connectionId: conn.id });
      this.closeConn(conn, CloseCode.Internal, 'history unavailable');
    }
  }

  /** Live messages kept per stream while a replay runs; beyond it they are re-read from history. */
  private readonly maxPending = 10_000;

  private sendGap(
    conn: Connection,
    stream: string,
    st: StreamState,
    epoch: string,
    newOffset: number,
    reason: 'epoch' | 'retention',
  ): void {
    // `to` is the cursor the client adopts. For an epoch change it is the last missing offset of
    // the new epoch: 0 (an empty range) when the new epoch is complete, so message 1 is kept.
    const from = reason === 'epoch' ? 1 : st.sent + 1;
    this.counters.gaps += 1;
    this.sendText(conn, JSON.stringify({ t: 'gap', stream, epoch, from, to: newOffset, reason }));
    st.epoch = epoch;
    st.sent = newOffset;
  }

  // ------------------------------------------------------------------ delivery

  private subscribe(conn: Connection, stream: string): void {
    const first = !this.subscribers.hasKey(stream);
    this.subscribers.add(stream, conn);
    if (first) this.engine.watch(stream);
  }

  private unsubscribe(conn: Connection, stream: string): void {
    if (this.subscribers.delete(stream, conn) && !this.subscribers.hasKey(stream))
      this.engine.unwatch(stream);
  }

  private excluded(conn: Connection, except: Except | undefined): boolean {
    if (!except) return false;
    return Boolean(except.sessions?.includes(conn.sessionId!) || except.users?.includes(conn.user!));
  }

  /** Deliver one stored message to one connection, in offset order (`frame`: its prebuilt frame). */
  private deliverTo(
    conn: Connection,
    st: StreamState,
    m: StoredMessage,
    frame: Buffer | undefined,
    paced = false,
    flushed?: () => void,
  ): boolean {
    if (m.offset <= st.sent) return false;
    st.sent = m.offset;
    if (this.excluded(conn, m.except)) return false;
    this.counters.deliveries += 1;
    return this.sendText(conn, frame ?? m.frame, paced, flushed);
  }

  private deliverLive(stream: string, epoch: string, m: StoredMessage): void {
    const subs = this.subscribers.raw(stream);
    if (!subs) return;
    // One WebSocket frame for every recipient: no per-recipient copy or header.
    const frame = textFrame(m.frame);
    if (subs instanceof Set) for (const conn of subs) this.deliverLiveTo(conn, stream, epoch, m, frame);
    else this.deliverLiveTo(subs, stream, epoch, m, frame);
  }

  private deliverLiveTo(
    conn: Connection,
    stream: string,
    epoch: string,
    m: StoredMessage,
    frame: Buffer,
  ): void {
    const st = conn.streams.get(stream);
    if (!st) return;
    if (st.pending !== undefined) {
      hold(st, m);
      return;
    }
    if (epoch !== st.epoch) {
      // The stream's history was lost while connected (e.g. the store was flushed).
      this.sendGap(conn, stream, st, epoch, m.offset - 1, 'epoch');
    } else if (m.offset > st.sent + 1) {
      // Missed live messages (e.g. a pub/sub reconnect; never with the in-process engine, whose
      // delivery is complete and in order): catch up from history first.
      st.pending = [m];
      this.track(this.replay(conn, stream));
      return;
    }
    this.deliverTo(conn, st, m, frame);
  }

  /** Send one frame of `text` to a stream's subscribers, dropping it for sockets over the volatile mark. */
  private deliverShared(stream: string, text: string, except: Except | undefined): void {
    const subs = this.subscribers.raw(stream);
    if (!subs) return;
    const frame = textFrame(text);
    if (subs instanceof Set) for (const conn of subs) this.deliverSharedTo(conn, frame, except);
    else this.deliverSharedTo(subs, frame, except);
  }

  private deliverSharedTo(conn: Connection, frame: Buffer, except: Except | undefined): void {
    if (this.excluded(conn, except)) return;
    if (conn.ws.bufferedAmount > this.limits.volatileHighWaterMark) {
      this.counters.volatileDrops += 1;
      return;
    }
    this.sendText(conn, frame);
  }

  private deliverPresence(room: string, event: 'join' | 'leave', user: string, sessions: number): void {
    const stream = Streams.room(room);
    // Serialized only for a room with members here (presence reaches every node).
    if (!this.subscribers.hasKey(stream)) return;
    this.deliverShared(stream, JSON.stringify({ t: 'presence', room, event, user, sessions }), undefined);
  }

  /**
   * Write a text frame (`data`: JSON text, or a complete frame from `textFrame` shared by many
   * recipients); close the socket as a slow consumer when its buffer is over the mark.
   * Writes coalesce. A shared frame (a fan-out, which usually comes in bursts) corks the
   * socket until the end of the tick (or until `corkBytes` are held), so a burst costs one
   * syscall per socket instead of one per message. A reply (JSON text for one socket) goes out
   * at once if it is the socket's first write of the tick, and is corked with the rest if not.
   */
  private sendText(conn: Connection, data: string | Buffer, paced = false, flushed?: () => void): boolean {
    if (!conn.isOpen) return false;
    const frame = typeof data === 'string' ? textFrame(data) : data;
    const raw = conn.raw;
    if (!this.tickPending) {
      this.tickPending = true;
      process.nextTick(this.endTick);
    }
    if (typeof data === 'string' && conn.writeTick !== this.tick) conn.writeTick = this.tick;
    else if (!conn.corked) {
      conn.corked = true;
      raw.cork();
      this.corked.push(conn);
    }
    if (flushed) raw.write(frame, () => flushed());
    else raw.write(frame);
    // A long burst in one tick (an `await` loop of sends never yields to the event loop) is
    // written as it goes, not held until the loop ends.
    if (conn.corked && conn.ws.bufferedAmount >= this.corkBytes) {
      conn.corked = false;
      raw.uncork();
    }
    this.counters.framesOut += 1;
    // A paced sender (replay) waits for the buffer to drain instead.
    if (!paced && conn.ws.bufferedAmount > this.limits.highWaterMark) {
      this.closeConn(conn, CloseCode.SlowConsumer, 'outbound buffer full');
    }
    return true;
  }

  /** Ticks (of the event loop) in which something was written; see `sendText`. */
  private tick = 0;
  private tickPending = false;
  /** Connections corked in this tick. */
  private corked: Connection[] = [];
  private readonly endTick = (): void => {
    this.tick += 1;
    this.tickPending = false;
    if (this.corked.length === 0) return;
    const list = this.corked;
    this.corked = [];
    for (const conn of list) {
      if (!conn.corked) continue;
      conn.corked = false;
      try {
        conn.raw.uncork();
      } catch (err) {
        this.log.debug({ err, connectionId: conn.id }, 'uncork failed');
      }
    }
  };

  private sendError(conn: Connection, error: HoldfastError): void {
    this.sendText(conn, JSON.stringify({ t: 'error', error: error.toBody() }));
  }

  // ------------------------------------------------------------------ client messages

  private sendRes(sessionId: string, res: string): void {
    const conn = this.sessionConns.get(sessionId);
    if (conn) this.sendText(conn, res);
  }

  /**
   * A client message or request: deduplicated by id, validated, handled, answered with `res`.
   * With an engine that answers at once (`handledSync`) and a handler that returns a value
   * (not a promise), the whole round trip is synchronous: no promise per request.
   */
  private onPub(conn: Connection, id: string, type: string, data: unknown): void {
    const sessionId = conn.sessionId!;
    const sync = this.engine.handledSync;
    if (sync && (this.inflight.size === 0 || !this.inflight.has(`${sessionId}\u0000${id}`))) {
      let res: string | Promise<string>;
      try {
        const stored = sync.get(sessionId, id);
        if (stored !== undefined) {
          this.counters.duplicates += 1;
          return this.sendRes(sessionId, stored);
        }
        res = this.runHandler(conn, sessionId, id, type, data);
        if (typeof res === 'string') {
          sync.put(sessionId, id, res, this.limits.dedupeSize);
          return this.sendRes(sessionId, res);
        }
      } catch (err) {
        return this.notRecorded(sessionId, err);
      }
      // The handler is asynchronous: track it like any other.
      return this.track(this.pubAsync(sessionId, id, res));
    }
    this.track(this.pubAsync(sessionId, id, conn, type, data));
  }

  /** `onPub` when something must be awaited: the handler (`running`) or the engine. */
  private async pubAsync(
    sessionId: string,
    id: string,
    ...work: [running: Promise<string>] | [conn: Connection, type: string, data: unknown]
  ): Promise<void> {
    const key = `${sessionId}\u0000${id}`;
    const running = this.inflight.get(key);
    if (running) {
      this.counters.duplicates += 1;
      this.sendRes(sessionId, await running.promise);
      return;
    }
    const promise = (async () => {
      if (work.length === 1) {
        const res = await work[0];
        await this.engine.putHandled(sessionId, id, res, this.limits.dedupeSize);
        return res;
      }
      const stored = await this.engine.getHandled(sessionId, id);
      if (stored !== undefined) {
        this.counters.duplicates += 1;
        return stored;
      }
      const res = await this.runHandler(work[0], sessionId, id, work[1], work[2]);
      await this.engine.putHandled(sessionId, id, res, this.limits.dedupeSize);
      return res;
    })();
    this.inflight.set(key, { promise });
    try {
      this.sendRes(sessionId, await promise);
    } catch (err) {
      this.notRecorded(sessionId, err);
    } finally {
      this.inflight.delete(key);
    }
  }

  /** The handled-record could not be stored: do not ack, the client will resend. */
  private notRecorded(sessionId: string, err: unknown): void {
    this.counters.engineErrors += 1;
    this.fail(err, 'pub', { sessionId });
    this.sendRes(
      sessionId,
      JSON.stringify({
        t: 'error',
        error: { code: ErrorCode.Unavailable, message: 'Could not record the message; it will be retried' },
      }),
    );
  }

  private errorRes(id: string, error: HoldfastError): string {
    return JSON.stringify({ t: 'res', id, ok: false, error: error.toBody() });
  }

  /** Validate and run a handler; its `res` frame, synchronously when the handler returned a value. */
  private runHandler(
    conn: Connection,
    sessionId: string,
    id: string,
    type: string,
    data: unknown,
  ): string | Promise<string> {
    const parsed = this.protocol.parseInbound(type, data);
    if (!parsed.ok) return this.errorRes(id, parsed.error);
    const handler = this.handlers.get(type);
    if (!handler) {
      const inbox = this.inboxes.get(sessionId);
      if (inbox) {
        return inbox
          .put({ id, type, data: parsed.value, sessionId, user: conn.user! })
          .then(() => JSON.stringify({ t: 'res', id, ok: true }));
      }
      return this.errorRes(id, new HoldfastError(ErrorCode.NoHandler, `No handler for "${type}"`));
    }
    const ctx: HandlerContext<P> = {
      server: this,
      sessionId,
      user: conn.user!,
      connectionId: conn.id,
      messageId: id,
      data: conn.data,
    };
    this.counters.messagesIn += 1;
    let result: unknown;
    try {
      result = handler(parsed.value, ctx);
    } catch (err) {
      return this.handlerFailed(id, type, sessionId, err);
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.handlerDone(id, type, sessionId, value),
        (err) => this.handlerFailed(id, type, sessionId, err),
      );
    }
    return this.handlerDone(id, type, sessionId, result);
  }

  private handlerFailed(id: string, type: string, sessionId: string, err: unknown): string {
    this.counters.handlerErrors += 1;
    if (err instanceof HoldfastError) return this.errorRes(id, err);
    this.fail(err, 'handler', { sessionId });
    return this.errorRes(id, new HoldfastError(ErrorCode.HandlerError, `Handler for "${type}" failed`));
  }

  /** The `res` of a handler's result (a request's response is checked against its schema). */
  private handlerDone(id: string, type: string, sessionId: string, result: unknown): string {
    if (this.protocol.isRequest(type)) {
      const checked = this.protocol.parseResponse(type, result);
      if (!checked.ok) {
        this.fail(new Error(`Handler for "${type}" returned an invalid response`), 'handler', { sessionId });
        return this.errorRes(
          id,
          new HoldfastError(ErrorCode.HandlerError, `Handler for "${type}" returned an invalid response`),
        );
      }
    }
    return result === undefined
      ? JSON.stringify({ t: 'res', id, ok: true })
      : JSON.stringify({ t: 'res', id, ok: true, result });
  }

  private onAck(conn: Connection, cursors: Cursor[]): void {
    this.counters.acks += 1;
    const valid: Cursor[] = [];
    const bad: Issue[] = [];
    cursors.forEach((c, i) => {
      const st = conn.streams.get(c.stream);
      if (!st) bad.push({ path: ['cursors', i, 'stream'], message: 'not subscribed to this stream' });
      else if (c.epoch !== st.epoch)
        return; // an ack from before an epoch change: stale, ignore
      else if (c.offset > st.sent)
        bad.push({ path: ['cursors', i, 'offset'], message: 'offset was never sent' });
      else if (c.offset > st.acked) {
        // Acks are cumulative: one below an earlier ack is ignored.
        st.acked = c.offset;
        valid.push(c);
      }
    });
    if (bad.length)
      this.sendError(conn, new HoldfastError(ErrorCode.InvalidAck, 'Invalid ack', { issues: bad }));
    if (valid.length) {
      this.engine.saveAcks(conn.sessionId!, valid).catch((err) => {
        this.counters.engineErrors += 1;
        this.fail(err, 'ack', { sessionId: conn.sessionId! });
      });
    }
  }

  // ------------------------------------------------------------------ rooms

  private async onJoinFrame(conn: Connection, id: string, room: string): Promise<void> {
    const sessionId = conn.sessionId!;
    const reply = (res: string) => this.sendRes(sessionId, res);
    const hook = this.opts.authorizeJoin;
    let allowed = false;
    try {
      allowed = hook ? await hook({ sessionId, user: conn.user!, room, data: conn.data }) : false;
    } catch (err) {
      this.fail(err, 'authorizeJoin', { sessionId });
    }
    if (!allowed)
      return reply(
        this.errorRes(id, new HoldfastError(ErrorCode.Forbidden, 'Not allowed to join this room')),
      );
    try {
      const result = await this.join(sessionId, room);
      reply(JSON.stringify({ t: 'res', id, ok: true, result }));
    } catch (err) {
      const e = err instanceof HoldfastError ? err : new HoldfastError(ErrorCode.Unavailable, 'Join failed');
      if (!(err instanceof HoldfastError)) this.fail(err, 'join', { sessionId });
      reply(this.errorRes(id, e));
    }
  }

  private async onLeaveFrame(conn: Connection, id: string, room: string): Promise<void> {
    const sessionId = conn.sessionId!;
    try {
      await this.leave(sessionId, room);
      this.sendRes(sessionId, JSON.stringify({ t: 'res', id, ok: true }));
    } catch (err) {
      this.fail(err, 'leave', { sessionId });
      this.sendRes(sessionId, this.errorRes(id, new HoldfastError(ErrorCode.Unavailable, 'Leave failed')));
    }
  }

  /**
   * Add a session to a room (server side; no `authorizeJoin`). The session receives the
   * room's messages from now on, across reconnects. Members get a presence event.
   *
   * @returns the stream and the cursor the session starts at
   * @throws {HoldfastError} `LIMIT_EXCEEDED` over `roomsPerSession`; `FORBIDDEN` for an unknown session
   */
  async join(sessionId: string, room: string): Promise<{ stream: string; epoch: string; offset: number }> {
    // One membership change at a time per session, so the rooms-per-session check holds
    // against joins sent back to back.
    return this.serially(sessionId, async () => {
      const record = await this.engine.getSession(sessionId);
      if (!record) throw new HoldfastError(ErrorCode.Forbidden, 'Unknown session');
      const stream = Streams.room(room);
      if (record.rooms.includes(room)) {
        const acked = record.acked[stream] ?? (await this.engine.head(stream));
        return { stream, epoch: acked.epoch, offset: acked.offset };
      }
      if (record.rooms.length >= this.limits.roomsPerSession) {
        throw new HoldfastError(
          ErrorCode.LimitExceeded,
          `At most ${this.limits.roomsPerSession} rooms per session`,
        );
      }
      const head = await this.engine.head(stream);
      await this.engine.saveAcks(sessionId, [{ stream, epoch: head.epoch, offset: head.offset }]);
      const { added, sessions } = await this.engine.joinRoom(room, sessionId, record.user);
      const command: ControlCommand = {
        op: 'join',
        sessionId,
        room,
        stream,
        epoch: head.epoch,
        offset: head.offset,
      };
      if (this.sessionConns.has(sessionId)) this.onControl(command);
      else await this.engine.publishControl(command);
      if (added) await this.engine.publishPresence(room, 'join', record.user, sessions);
      return { stream, epoch: head.epoch, offset: head.offset };
    });
  }

  private readonly queues = new Map<string, Promise<unknown>>();

  /** Run `fn` after every earlier `serially` call with the same key has settled. */
  private serially<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }

  /** Remove a session from a room. Members get a presence event. */
  async leave(sessionId: string, room: string): Promise<void> {
    return this.serially(sessionId, () => this.leaveNow(sessionId, room));
  }

  private async leaveNow(sessionId: string, room: string): Promise<void> {
    const record = await this.engine.getSession(sessionId);
    if (!record) return;
    const stream = Streams.room(room);
    const { removed, sessions } = await this.engine.leaveRoom(room, sessionId, record.user);
    const command: ControlCommand = { op: 'leave', sessionId, room, stream };
    if (this.sessionConns.has(sessionId)) this.onControl(command);
    else await this.engine.publishControl(command);
    if (removed) await this.engine.publishPresence(room, 'leave', record.user, sessions);
  }

  /** Who is in a room: users and how many of their sessions. */
  presence(room: string): Promise<{ user: string; sessions: number }[]> {
    return this.engine.presence(room);
  }

  private onControl(command: ControlCommand): void {
    const conn = this.sessionConns.get(command.sessionId);
    if (!conn) return;
    if (command.op === 'disconnect') {
      this.closeConn(conn, command.code, command.reason);
      this.detach(conn);
      return;
    }
    if (command.op === 'join') {
      const existing = conn.streams.get(command.stream);
      if (!existing && command.epoch !== undefined && command.offset !== undefined) {
        conn.streams.set({
          stream: command.stream,
          next: undefined,
          epoch: command.epoch,
          sent: command.offset,
          pending: REPLAYING,
          acked: command.offset,
        });
        this.subscribe(conn, command.stream);
        this.sendText(
          conn,
          JSON.stringify({
            t: 'sub',
            op: 'join',
            room: command.room,
            stream: command.stream,
            epoch: command.epoch,
            offset: command.offset,
          }),
        );
        // Anything appended between reading the head and subscribing is caught up here.
        this.track(this.replay(conn, command.stream));
      }
    } else if (conn.streams.delete(command.stream)) {
      this.unsubscribe(conn, command.stream);
      this.sendText(
        conn,
        JSON.stringify({ t: 'sub', op: 'leave', room: command.room, stream: command.stream }),
      );
    }
  }

  // ------------------------------------------------------------------ refresh

  private async onRefresh(conn: Connection, id: string, token: string): Promise<void> {
    const sessionId = conn.sessionId!;
    const auth = await this.authenticate(conn, token);
    if (!auth || (auth.expiresAt !== undefined && auth.expiresAt <= this.clock.now())) {
      return this.sendRes(
        sessionId,
        this.errorRes(id, new HoldfastError(ErrorCode.Unauthorized, 'Token refused')),
      );
    }
    if (this.opts.authenticate && auth.user !== conn.user) {
      return this.sendRes(
        sessionId,
        this.errorRes(id, new HoldfastError(ErrorCode.Forbidden, 'Token is for another user')),
      );
    }
    conn.tokenExpiresAt = auth.expiresAt;
    this.sendRes(
      sessionId,
      JSON.stringify({ t: 'res', id, ok: true, result: { expiresAt: auth.expiresAt } }),
    );
  }

  // ------------------------------------------------------------------ sending (app API)

  private async publish(
    streams: string[],
    type: string,
    data: unknown,
    options: SendOptions = {},
  ): Promise<void> {
    const checked = this.protocol.parseServer(type, data);
    if (!checked.ok) throw checked.error;
    const now = this.clock.now();
    // Serialized once, whatever the audience.
    const body = encodeMsgBody(type, data, now);
    const except =
      options.except && (options.except.sessions?.length || options.except.users?.length)
        ? options.except
        : undefined;
    if (options.volatile) {
      for (const stream of streams) {
        await this.engine.publishVolatile(
          stream,
          `{"t":"vol","stream":${JSON.stringify(stream)},${body}}`,
          except,
        );
      }
      return;
    }
    try {
      for (const stream of streams) {
        await this.engine.append(stream, body, except);
        this.counters.published += 1;
      }
    } catch (err) {
      this.counters.engineErrors += 1;
      throw err;
    }
  }

  private minusExcept(
    ids: string[],
    users: Map<string, string> | undefined,
    except: Except | undefined,
  ): number {
    if (!except) return ids.length;
    let n = 0;
    for (const id of ids) {
      if (except.sessions?.includes(id)) continue;
      if (users && except.users?.includes(users.get(id) ?? '')) continue;
      n++;
    }
    return n;
  }

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
  async sendToSession<K extends keyof ServerMessageInputs<P> & string>(
    sessionId: string,
    type: K,
    data: ServerMessageInputs<P>[K],
    options?: SendOptions,
  ): Promise<number> {
    const record = await this.engine.getSession(sessionId);
    if (!record || this.isExcept(sessionId, record.user, options?.except)) return 0;
    await this.publish([Streams.session(sessionId)], type, data, options);
    return 1;
  }

  private isExcept(sessionId: string, user: string, except: Except | undefined): boolean {
    return Boolean(except?.sessions?.includes(sessionId) || except?.users?.includes(user));
  }

  /** Send to every session of a user (the user stream). Returns how many sessions it was addressed to. */
  async sendToUser<K extends keyof ServerMessageInputs<P> & string>(
    user: string,
    type: K,
    data: ServerMessageInputs<P>[K],
    options?: SendOptions,
  ): Promise<number> {
    if (options?.except?.users?.includes(user)) return 0;
    const sessions = await this.engine.userSessions(user);
    await this.publish([Streams.user(user)], type, data, options);
    return this.minusExcept(sessions, undefined, options?.except);
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
  async sendToRoom<K extends keyof ServerMessageInputs<P> & string>(
    rooms: string | readonly string[],
    type: K,
    data: ServerMessageInputs<P>[K],
    options: SendOptions = {},
  ): Promise<number> {
    const list = typeof rooms === 'string' ? [rooms] : [...new Set(rooms)];
    if (list.length === 1) {
      const room = list[0]!;
      const except = options.except;
      if (!except?.sessions?.length && !except?.users?.length) {
        // The common case costs O(1) storage reads for the count, whatever the room's size.
        const size = await this.engine.roomSize(room);
        await this.publish([Streams.room(room)], type, data, options);
        return size;
      }
      const members = await this.engine.roomSessions(room);
      const users = except.users?.length ? await this.sessionUsers(members) : undefined;
      await this.publish([Streams.room(room)], type, data, options);
      return this.minusExcept(members, users, except);
    }
    // Several rooms: a session already reached through an earlier room is excluded from later ones.
    const seen = new Set<string>();
    let count = 0;
    for (const room of list) {
      const members = await this.engine.roomSessions(room);
      const users = options.except?.users?.length ? await this.sessionUsers(members) : undefined;
      const fresh = members.filter((m) => !seen.has(m));
      const except: Except = {
        sessions: [...(options.except?.sessions ?? []), ...seen],
        users: options.except?.users ?? [],
      };
      count += this.minusExcept(fresh, users, options.except);
      await this.publish([Streams.room(room)], type, data, { ...options, except });
      for (const m of members) seen.add(m);
    }
    return count;
  }

  private async sessionUsers(ids: string[]): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    for (const id of ids) {
      const local = this.sessionConns.get(id)?.user;
      if (local) map.set(id, local);
      else {
        const r = await this.engine.getSession(id);
        if (r) map.set(id, r.user);
      }
    }
    return map;
  }

  /** Send to every session (the broadcast stream). Returns how many sessions it was addressed to. */
  async broadcast<K extends keyof ServerMessageInputs<P> & string>(
    type: K,
    data: ServerMessageInputs<P>[K],
    options: SendOptions = {},
  ): Promise<number> {
    const total = await this.engine.countSessions();
    await this.publish([Streams.broadcast], type, data, options);
    let excluded = options.except?.sessions?.length ?? 0;
    for (const user of options.except?.users ?? []) excluded += (await this.engine.userSessions(user)).length;
    return Math.max(0, total - excluded);
  }

  // ------------------------------------------------------------------ pool queries & admin

  /** Connections on this node, optionally filtered by session, user or room. */
  connectionsList(filter: ConnectionFilter = {}): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    const roomStream = filter.room === undefined ? undefined : Streams.room(filter.room);
    const candidates = filter.sessionId
      ? [this.sessionConns.get(filter.sessionId)].filter((c): c is Connection => c !== undefined)
      : roomStream
        ? this.subscribers.list(roomStream)
        : [...this.connections.values()];
    for (const c of candidates) {
      if (c.phase !== 'open') continue;
      if (filter.user !== undefined && c.user !== filter.user) continue;
      if (roomStream && !c.streams.has(roomStream)) continue;
      out.push(c.info(this.t0));
    }
    return out;
  }

  /** How many connections match the filter on this node. */
  countConnections(filter: ConnectionFilter = {}): number {
    return this.connectionsList(filter).length;
  }

  /** One connection by id (this node). */
  connection(id: string): ConnectionInfo | undefined {
    const c = this.connections.get(id);
    return c?.phase === 'open' ? c.info(this.t0) : undefined;
  }

  /** Sessions of a user (across nodes) with whether each is connected to this node. */
  async userSessions(user: string): Promise<{ sessionId: string; connectedHere: boolean }[]> {
    const ids = await this.engine.userSessions(user);
    return ids.map((sessionId) => ({ sessionId, connectedHere: this.sessionConns.has(sessionId) }));
  }

  /**
   * Disconnect a session. With `end: true` (default) the session is ended for good: the client
   * gets 4000 and does not reconnect, and its state is freed. With `end: false` it gets 1012
   * and may resume.
   */
  async disconnect(sessionId: string, options: { end?: boolean; reason?: string } = {}): Promise<void> {
    const end = options.end ?? true;
    const code = end ? CloseCode.SessionEnded : CloseCode.Restart;
    const reason = options.reason ?? (end ? 'session ended' : 'disconnected');
    const command: ControlCommand = { op: 'disconnect', sessionId, code, reason, end };
    if (this.sessionConns.has(sessionId)) this.onControl(command);
    else await this.engine.publishControl(command);
    if (end) await this.expire(sessionId, false);
  }

  /** End every session of a user (logout everywhere). Returns how many sessions were ended. */
  async logout(user: string): Promise<number> {
    const ids = await this.engine.userSessions(user);
    for (const id of ids) await this.disconnect(id, { end: true, reason: 'logged out' });
    return ids.length;
  }

  /** Close connections (on this node) silent for at least `idleMs`. Their sessions stay resumable. */
  closeIdle(idleMs: number): number {
    const cutoff = this.rel() - idleMs;
    let n = 0;
    for (const conn of this.connections.values()) {
      if (conn.phase === 'open' && conn.lastSeen <= cutoff) {
        this.closeConn(conn, CloseCode.GoingAway, 'idle');
        n++;
      }
    }
    return n;
  }

  /** A snapshot of this node's figures. */
  stats(): ServerStats {
    const users = new Set<string>();
    for (const c of this.sessionConns.values()) users.add(c.user!);
    const e = this.engine.stats?.();
    const now = this.clock.now();
    return {
      at: now,
      uptimeSec: Math.round((now - this.startedAt) / 1000),
      connections: this.connections.size,
      pendingConnections: this.pending,
      sessions: this.sessionConns.size,
      users: users.size,
      rooms: e?.rooms,
      retention: e ? { streams: e.streams, messages: e.messages, bytes: e.bytes } : undefined,
      inflight: this.inflight.size,
      counters: { ...this.counters, closes: { ...this.counters.closes } },
    };
  }

  // ------------------------------------------------------------------ closing

  private closeConn(conn: Connection, code: number, detail: string, retryAfterMs?: number): void {
    if (conn.phase === 'closed' || conn.closingSince) return;
    conn.closingSince = Math.max(1, this.rel());
    this.counters.closes[code] = (this.counters.closes[code] ?? 0) + 1;
    try {
      conn.ws.close(code, closeReason(code, detail, retryAfterMs));
    } catch (err) {
      this.log.debug({ err }, 'close failed');
      conn.ws.terminate();
    }
  }

  /** Stop delivering to a connection (it is closing or replaced). */
  private detach(conn: Connection): void {
    for (const stream of conn.streams.keys()) this.unsubscribe(conn, stream);
    conn.streams.clear();
    if (conn.sessionId && this.sessionConns.get(conn.sessionId) === conn)
      this.sessionConns.delete(conn.sessionId);
  }

  private releaseSlot(conn: Connection): void {
    if (!conn.slotHeld || !conn.user) return;
    conn.slotHeld = false;
    this.engine.releaseUserSlot(conn.user, conn.id).catch((err) => this.fail(err, 'releaseUserSlot'));
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    if (conn.phase === 'closed') return;
    const wasOpen = conn.phase === 'open';
    if (!wasOpen) this.pending -= 1;
    conn.phase = 'closed';
    this.connections.delete(conn.id);
    const count = this.perAddress.get(conn.remoteAddress);
    if (count && --count.n <= 0) this.perAddress.delete(conn.remoteAddress);
    const sessionId = conn.sessionId;
    const owned = sessionId !== undefined && this.sessionConns.get(sessionId) === conn;
    this.detach(conn);
    this.releaseSlot(conn);
    if (owned && sessionId) {
      // The session stays resumable for the resume window.
      this.engine.touchSession(sessionId, this.resumeWindowMs).catch((err) => this.fail(err, 'touchSession'));
    }
    if (wasOpen) this.emit('disconnect', { ...conn.info(this.t0), code, reason });
  }

  private async expire(sessionId: string, onlyIfExpired: boolean): Promise<void> {
    if (onlyIfExpired && this.sessionConns.has(sessionId)) return;
    const deleted = await this.engine.deleteSession(sessionId);
    this.inboxes.get(sessionId)?.close();
    if (!deleted) return;
    for (const room of deleted.rooms) {
      const { removed, sessions } = await this.engine.leaveRoom(room, sessionId, deleted.user);
      if (removed) await this.engine.publishPresence(room, 'leave', deleted.user, sessions);
    }
    this.counters.sessionsExpired += 1;
    this.emit('session:expired', { sessionId, user: deleted.user });
  }

  private expireAt = 0;

  /** The one timer: hello deadlines, heartbeats, token expiry, slow closes, session expiry. */
  private sweep(): void {
    const now = this.clock.now();
    const rel = now - this.t0;
    const ping = textFrame(`{"t":"ping","ts":${now}}`);
    for (const conn of this.connections.values()) {
      if (conn.closingSince) {
        // A close handshake that does not complete (a peer that stopped reading) is cut.
        if (rel - conn.closingSince > 2000) conn.ws.terminate();
        continue;
      }
      if (conn.phase !== 'open') {
        if (rel - conn.connectedAt > this.limits.helloTimeoutMs)
          this.closeConn(conn, CloseCode.Timeout, 'no hello in time');
        continue;
      }
      if (rel - conn.lastSeen > this.heartbeat.timeoutMs) {
        // Half-open or dead: no close handshake possible, terminate. The session stays resumable.
        this.counters.closes[CloseCode.Timeout] = (this.counters.closes[CloseCode.Timeout] ?? 0) + 1;
        conn.ws.terminate();
        continue;
      }
      if (conn.tokenExpiresAt !== undefined && now >= conn.tokenExpiresAt) {
        this.closeConn(conn, CloseCode.Unauthorized, 'token expired');
        continue;
      }
      if (rel >= conn.nextPingAt) {
        conn.nextPingAt = rel + this.heartbeat.intervalMs;
        // App-level only: the client answers it, and that frame is the sign of life. (A protocol
        // ping as well would need a 'pong' listener per socket, about 100 bytes each, for nothing
        // the app-level ping does not already show.)
        this.sendText(conn, ping);
      }
    }
    this.engine.sweep?.();
    this.expireSessions(now);
  }

  private expiring: Promise<void> | undefined;

  /** Expire sessions past their resume window; one pass at a time, each pass with the latest time. */
  private expireSessions(now: number): void {
    this.expireAt = Math.max(this.expireAt, now);
    if (this.expiring) return;
    this.expiring = (async () => {
      let done = 0;
      while (done < this.expireAt) {
        done = this.expireAt;
        try {
          for (const id of await this.engine.expiredSessions(done)) await this.expire(id, true);
        } catch (err) {
          this.counters.engineErrors += 1;
          this.fail(err, 'expire');
        }
      }
      this.expiring = undefined;
    })();
  }

  /**
   * Drain and stop: stop accepting, close every connection with 1012 (or 1001) so clients
   * reconnect elsewhere, wait for running handlers, stop the engine. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.started.catch(() => undefined);
      this.httpServer?.off('upgrade', this.upgradeListener);
      // Drain first: new client messages are left unanswered (clients resend them to the next
      // node), running handlers finish and their answers reach the client before the close,
      // so nothing runs twice.
      this.draining = true;
      const drainMs = this.opts.drainTimeoutMs ?? DEFAULT_SERVER_OPTIONS.drainTimeoutMs;
      const deadline = new Promise<void>((resolve) => setTimeout(resolve, drainMs).unref());
      const settled = (async () => {
        while (this.running.size > 0) await Promise.allSettled([...this.running]);
      })();
      await Promise.race([settled, deadline]);
      const code = this.opts.shutdownCode ?? DEFAULT_SERVER_OPTIONS.shutdownCode;
      for (const conn of this.connections.values()) this.closeConn(conn, code, 'server shutting down');
      for (const inbox of this.inboxes.values()) inbox.close();
      this.clock.clearInterval(this.sweepTimer);
      // Give close handshakes a moment, then cut what remains.
      await Promise.race([
        Promise.all(
          [...this.connections.values()].map(
            (c) => new Promise<void>((resolve) => c.ws.once('close', () => resolve())),
          ),
        ),
        new Promise<void>((resolve) => setTimeout(resolve, 1000).unref()),
      ]);
      for (const conn of this.connections.values()) conn.ws.terminate();
      await this.engine.close();
      this.wss.close();
      if (this.ownsHttpServer && this.httpServer) {
        const http = this.httpServer;
        await new Promise<void>((resolve) => http.close(() => resolve()));
      }
    })();
    return this.closing;
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

/** The property of a `ws` socket that holds its connection. */
const CONN = Symbol('holdfast.connection');

/** Bytes a corked socket holds at most before they are written without waiting for the tick to end. */
const CORK_BYTES = 64 * 1024;

const ACK_PREFIX = Buffer.from('{"t":"ack"');

/** Does this text frame start like the client's `ack` frames? */
function isAck(data: Buffer): boolean {
  return (
    data.length > ACK_PREFIX.length &&
    data.compare(ACK_PREFIX, 0, ACK_PREFIX.length, 0, ACK_PREFIX.length) === 0
  );
}

/** Own enumerable keys of a parsed JSON object, counted without allocating. */
function keyCount(o: object): number {
  let n = 0;
  for (const _ in o) n += 1;
  return n;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (
    (typeof v === 'object' || typeof v === 'function') &&
    v !== null &&
    typeof (v as { then?: unknown }).then === 'function'
  );
}
