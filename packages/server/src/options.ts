import type { Server as HttpServer, IncomingHttpHeaders } from 'node:http';
import {
  type AnyProtocol,
  checkProtocol,
  consoleLogger,
  type DecodeOptions,
  debugFromEnv,
  ENGLISH_MESSAGES,
  type Logger,
} from '@holdfast/protocol';
import { type Clock, systemClock } from './clock.js';
import type { Engine, RetentionOptions } from './engine.js';
import { type IdSource, randomIds } from './ids.js';

/** What `authenticate` sees of the connection: a snapshot, not the upgrade request itself. */
export interface AuthRequest {
  /** The token from `hello`, the `holdfast.token.` subprotocol entry, or `?token=` (in that order). */
  token: string | undefined;
  /** Where the token came from. */
  tokenSource: 'hello' | 'subprotocol' | 'query' | undefined;
  /** Request headers of the upgrade. */
  headers: IncomingHttpHeaders;
  /** The request URL (path and query). */
  url: string;
  /** Remote IP address. */
  remoteAddress: string;
}

/** A successful authentication. */
export interface AuthResult {
  /** The user id the session is bound to. */
  user: string;
  /** When the token expires (ms since epoch); the connection is closed with 4401 then unless refreshed. */
  expiresAt?: number | undefined;
  /** App data kept with the session (shown to handlers as `ctx.data`). */
  data?: Record<string, unknown> | undefined;
}

/**
 * Decide who is connecting. Return a result, or `null`/throw to refuse with 4401.
 * Called at `hello` and again for every in-band `refresh`, whose result replaces the connection's
 * `data` (`ctx.data`, what `authorizeJoin` sees; see `reauthorizeRoom` for rooms already joined).
 */
export type Authenticate = (request: AuthRequest) => AuthResult | null | Promise<AuthResult | null>;

/** How much of a room's retained past a join asks for (extension `rewind`, docs/PROTOCOL.md §10.5). */
export interface Rewind {
  /** The last `count` retained messages (1–10 000). */
  count?: number | undefined;
  /** Messages whose position was written within the last `ageMs` (ms, >= 1). */
  ageMs?: number | undefined;
}

/**
 * `authorizeJoin`'s answer: `true` (allowed; a rewind is capped at `limits.maxRewind`),
 * `false` (refused: `FORBIDDEN`), or `{ rewind }`: allowed, with the rewind capped at those
 * bounds (`count` in place of `maxRewind`), or `rewind: false` to allow the join without it.
 */
export type JoinDecision = boolean | { rewind?: Rewind | false | undefined };

/** Decide whether a session may join a room it asked to join (and how far it may rewind). */
export type AuthorizeJoin = (info: {
  sessionId: string;
  user: string;
  room: string;
  data: Record<string, unknown> | undefined;
  /** The rewind the client asked for, if any. */
  rewind?: Rewind | undefined;
}) => JoinDecision | Promise<JoinDecision>;

/** Where the server logs: pino's interface and argument order (`(fields, message)`), shared with the client. */
export type { Logger };

/** Heartbeat settings. */
export interface HeartbeatOptions {
  /**
   * How often the server pings each connection (ms).
   * @default 25000
   */
  intervalMs?: number;
  /**
   * A connection silent for this long is terminated (ms). Tolerates one missed beat by default.
   * @default 55000
   */
  timeoutMs?: number;
}

/** Limits, each with a documented close code or error. */
export interface LimitOptions {
  /**
   * Largest accepted frame in bytes (close 1009 above).
   * @default 65536
   */
  maxPayload?: number;
  /**
   * Open connections per user, across nodes (close 4409 above).
   * @default 5
   */
  connectionsPerUser?: number;
  /**
   * Open connections per remote address on this node (close 4429 above).
   * @default 100
   */
  connectionsPerAddress?: number;
  /**
   * Connections that have not completed `hello`, on this node. Over it, the oldest connection
   * that has not said `hello` is closed (1013) to make room; if every one has, the newcomer is.
   * @default 1000
   */
  pendingConnections?: number;
  /**
   * IPv6 clients are counted by this prefix of their address (one client owns a whole /64):
   * `connectionsPerAddress`, `pendingPerAddress` and the address's frame bucket apply per prefix.
   * 128: the exact address.
   * @default 64
   */
  ipv6Prefix?: number;
  /**
   * Connections from one remote address that have not
   * said `hello` yet, on this node (close 1013 above).
   * @default 32
   */
  pendingPerAddress?: number;
  /**
   * Time to send `hello` after the upgrade (ms, close 4408 after).
   * @default 10000
   */
  helloTimeoutMs?: number;
  /**
   * Frames per second per connection, WebSocket pings included (token bucket rate; close 4429
   * when the bucket is empty).
   * @default 100
   */
  messagesPerSecond?: number;
  /**
   * Token bucket size (burst).
   * @default 200
   */
  burst?: number;
  /**
   * Frames per second from one address (see `ipv6Prefix`, `trustedProxies`), all its
   * connections together, WebSocket pings included; kept across reconnects (close 4429 when empty).
   * @default 1000
   */
  messagesPerSecondPerAddress?: number;
  /**
   * Burst of the per-address bucket (0: no per-address bucket).
   * @default 2000
   */
  burstPerAddress?: number;
  /**
   * Rooms a session may be in (join answered `LIMIT_EXCEEDED` above).
   * @default 100
   */
  roomsPerSession?: number;
  /**
   * Outbound bytes buffered per socket before it is closed as a slow consumer (4008).
   * @default 1048576
   */
  highWaterMark?: number;
  /**
   * Outbound bytes buffered above which volatile messages are dropped.
   * @default 65536
   */
  volatileHighWaterMark?: number;
  /**
   * Handled client message ids remembered per session (must exceed clients' outbox bound).
   * @default 1000
   */
  dedupeSize?: number;
  /**
   * Bytes of stored answers (`res` frames) kept per session for resends. Over it the oldest
   * answers are dropped but their ids kept: a resend of such an id is answered
   * `ANSWER_NOT_KEPT` (the message was handled once; it is not run again).
   * @default 262144
   */
  dedupeBytes?: number;
  /**
   * Sessions a user may have (connected or resumable), across nodes. A new session over it
   * ends the user's oldest sessions first (by creation; a connected one is closed with 4000).
   * @default 20
   */
  sessionsPerUser?: number;
  /**
   * Messages a client's `join` may rewind (docs/PROTOCOL.md §10.5) when `authorizeJoin` does
   * not set its own cap (0: no rewind unless the hook grants one).
   * @default 100
   */
  maxRewind?: number;
}

/** Options of {@link createServer}. */
export interface ServerOptions<P extends AnyProtocol> {
  /** The app protocol from `defineProtocol()`. */
  protocol: P;
  /** Attach to this HTTP(S) server (handles its `upgrade` events on `path`). */
  server?: HttpServer;
  /** Or listen on this port (0 picks a free one). */
  port?: number;
  /** Host to listen on with `port`. @default '127.0.0.1' when `port` is given */
  host?: string;
  /**
   * Path of the WebSocket endpoint.
   * @default '/ws'
   */
  path?: string;
  /** Authentication hook; without it every session is its own anonymous user. */
  authenticate?: Authenticate;
  /** Hook deciding client-asked joins. Without it clients may not join rooms themselves. */
  authorizeJoin?: AuthorizeJoin;
  /**
   * Asked again, on every accepted in-band `refresh`, for each room the session is in, with the
   * new token's data; a room it refuses is left (server-side joins included: the hook decides).
   * Unset: memberships are not re-checked (the new data applies to later joins).
   */
  reauthorizeRoom?: AuthorizeJoin;
  /**
   * Exact Origin allowlist (or a predicate). Unset: any origin. A refused origin is closed with 4403.
   */
  origins?: readonly string[] | ((origin: string | undefined) => boolean);
  /**
   * Whether connections without an Origin header (non-browser clients) pass the allowlist.
   * @default true
   */
  allowMissingOrigin?: boolean;
  /**
   * Addresses (or CIDR ranges, `10.0.0.0/8`) of reverse proxies in front of the server. From
   * them, the client's address is the rightmost `X-Forwarded-For` entry that is not a trusted
   * proxy (per-address limits, `remoteAddress`). Unset: `X-Forwarded-For` is never read, and
   * behind a proxy every client shares the proxy's per-address limits.
   */
  trustedProxies?: readonly string[];
  /**
   * Accept tokens from `?token=` (they leak into access logs).
   * @default false
   */
  allowQueryToken?: boolean;
  /**
   * How long a session stays resumable after its last connection closed (ms).
   * @default 120000
   */
  resumeWindowMs?: number;
  /** Heartbeat settings. */
  heartbeat?: HeartbeatOptions;
  /**
   * How long a member session stays present in its rooms after its connection closed (ms),
   * so a quick reconnect does not flap (docs/PROTOCOL.md §4.5). A session ended by its client
   * (close 4000) or by the server leaves at once.
   * @default 5000
   */
  presenceGraceMs?: number;
  /**
   * Presence events of one user in one room go out at most once per this many ms: changes
   * within the window are merged into one event at its end (none when the count is back where
   * it was), so a client toggling join/leave costs the room at most one frame per member per
   * window. 0 turns coalescing off.
   * @default 1000
   */
  presenceIntervalMs?: number;
  /** Limits. */
  limits?: LimitOptions;
  /** Retention of streams (used when the default in-memory engine is created). */
  retention?: RetentionOptions;
  /** Storage and cross-node delivery. @default a new MemoryEngine */
  engine?: Engine;
  /**
   * Where to log, any pino-compatible logger (`(fields, message)`): connection lifecycle at
   * debug, sessions and refusals at info, failures at warn/error. Tokens and payloads are never
   * logged. Without one the server is silent, except that failures (a handler that threw) go to
   * `console.error` unless an `error` listener is set.
   */
  logger?: Logger;
  /**
   * Verbose logs: every level to the console when no `logger` is given (with a `logger`, its own
   * level decides). Set `HOLDFAST_DEBUG=1` or `DEBUG=holdfast*` to turn it on from the environment.
   * @default from the environment, else false
   */
  debug?: boolean;
  /** Clock. @default the system clock */
  clock?: Clock;
  /** Ids and secrets. @default crypto-random */
  ids?: IdSource;
  /** Random numbers in [0, 1) (the default engine's epoch prefix). @default Math.random */
  random?: () => number;
  /**
   * How often the single sweep timer runs (hello deadlines, heartbeats, expiry), ms.
   * @default 1000
   */
  sweepIntervalMs?: number;
  /**
   * How long `close()` waits for running handlers before closing the sockets (ms).
   * @default 10000
   */
  drainTimeoutMs?: number;
  /**
   * Close code sent to clients by `close()`: 1001 (going away) or 1012 (restart).
   * @default 1012
   */
  shutdownCode?: 1001 | 1012;
}

/** Defaults of every option with one. */
export const DEFAULT_SERVER_OPTIONS = {
  path: '/ws',
  resumeWindowMs: 120_000,
  sweepIntervalMs: 1000,
  shutdownCode: 1012 as 1001 | 1012,
  drainTimeoutMs: 10_000,
  allowMissingOrigin: true,
  allowQueryToken: false,
  heartbeat: { intervalMs: 25_000, timeoutMs: 55_000 },
  presenceGraceMs: 5000,
  presenceIntervalMs: 1000,
  limits: {
    maxPayload: 65_536,
    connectionsPerUser: 5,
    connectionsPerAddress: 100,
    pendingConnections: 1000,
    pendingPerAddress: 32,
    ipv6Prefix: 64,
    helloTimeoutMs: 10_000,
    messagesPerSecond: 100,
    burst: 200,
    messagesPerSecondPerAddress: 1000,
    burstPerAddress: 2000,
    roomsPerSession: 100,
    highWaterMark: 1024 * 1024,
    volatileHighWaterMark: 64 * 1024,
    dedupeSize: 1000,
    dedupeBytes: 256 * 1024,
    sessionsPerUser: 20,
    maxRewind: 100,
  },
} as const;

/** A silent logger. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Options that contradict each other or the server's state (thrown by `createServer` and `handle`). */
export class ServerOptionsError extends TypeError {
  /** What is wrong. */
  readonly code: 'PORT_AND_SERVER' | 'DUPLICATE_HANDLER' | 'NOT_INBOUND_TYPE';
  constructor(code: ServerOptionsError['code'], message: string) {
    super(message);
    this.name = 'ServerOptionsError';
    this.code = code;
  }
}

/** Bytes a corked socket holds at most before they are written without waiting for the tick to end. */
const CORK_BYTES = 64 * 1024;

/** Every option of a server with its default applied, resolved once by {@link resolveOptions}. */
export interface ResolvedOptions<P extends AnyProtocol> {
  protocol: P;
  server: HttpServer | undefined;
  port: number | undefined;
  host: string;
  path: string;
  authenticate: Authenticate | undefined;
  authorizeJoin: AuthorizeJoin | undefined;
  reauthorizeRoom: AuthorizeJoin | undefined;
  origins: ServerOptions<P>['origins'];
  allowMissingOrigin: boolean;
  allowQueryToken: boolean;
  trustedProxies: readonly string[] | undefined;
  resumeWindowMs: number;
  heartbeat: { intervalMs: number; timeoutMs: number };
  presenceGraceMs: number;
  presenceIntervalMs: number;
  limits: Required<LimitOptions>;
  retention: RetentionOptions | undefined;
  engine: Engine | undefined;
  log: Logger;
  /** No logger given and not in debug: failures go to `console.error` unless an `error` listener is set. */
  errorsToConsole: boolean;
  clock: Clock;
  ids: IdSource;
  random: () => number;
  /** The sweep timer's period (at least 10 ms). */
  sweepIntervalMs: number;
  drainTimeoutMs: number;
  shutdownCode: 1001 | 1012;
  /** What the decoder accepts, and its messages: zod's English ones (they go on the wire). */
  decodeOptions: DecodeOptions & { maxBytes: number };
  /**
   * Bytes corked per socket at most. Corked bytes count as buffered: kept well under both marks,
   * so coalescing never makes a healthy socket look slow (volatile drops, 4008).
   */
  corkBytes: number;
}

/**
 * Apply the defaults once and reject contradictions.
 *
 * @throws {ServerOptionsError} `PORT_AND_SERVER` when both `port` and `server` are given.
 * (Neither is fine: the app then hands upgrades over with `handleUpgrade`, like `ws`'s `noServer`.)
 * @throws {TypeError} when the protocol's definition is not valid (see `checkProtocol`).
 */
export function resolveOptions<P extends AnyProtocol>(options: ServerOptions<P>): ResolvedOptions<P> {
  const d = DEFAULT_SERVER_OPTIONS;
  checkProtocol(options.protocol);
  if (options.port !== undefined && options.server !== undefined) {
    throw new ServerOptionsError(
      'PORT_AND_SERVER',
      'Give either `port` (listen) or `server` (attach to an HTTP server), not both',
    );
  }
  const limits = { ...d.limits, ...options.limits };
  const debug = options.debug ?? debugFromEnv('holdfast:server');
  return {
    protocol: options.protocol,
    server: options.server,
    port: options.port,
    host: options.host ?? '127.0.0.1',
    path: options.path ?? d.path,
    authenticate: options.authenticate,
    authorizeJoin: options.authorizeJoin,
    reauthorizeRoom: options.reauthorizeRoom,
    origins: options.origins,
    allowMissingOrigin: options.allowMissingOrigin ?? d.allowMissingOrigin,
    allowQueryToken: options.allowQueryToken ?? d.allowQueryToken,
    trustedProxies: options.trustedProxies,
    resumeWindowMs: options.resumeWindowMs ?? d.resumeWindowMs,
    heartbeat: { ...d.heartbeat, ...options.heartbeat },
    presenceGraceMs: options.presenceGraceMs ?? d.presenceGraceMs,
    presenceIntervalMs: options.presenceIntervalMs ?? d.presenceIntervalMs,
    limits,
    retention: options.retention,
    engine: options.engine,
    log: options.logger ?? (debug ? consoleLogger('holdfast:server') : silentLogger),
    errorsToConsole: !options.logger && !debug,
    clock: options.clock ?? systemClock,
    ids: options.ids ?? randomIds(),
    random: options.random ?? Math.random,
    sweepIntervalMs: Math.max(10, options.sweepIntervalMs ?? d.sweepIntervalMs),
    drainTimeoutMs: options.drainTimeoutMs ?? d.drainTimeoutMs,
    shutdownCode: options.shutdownCode ?? d.shutdownCode,
    decodeOptions: { maxBytes: limits.maxPayload, parse: ENGLISH_MESSAGES },
    corkBytes: Math.max(1, Math.min(CORK_BYTES, limits.volatileHighWaterMark / 2, limits.highWaterMark / 4)),
  };
}
