/**
 * The app-facing API of a server, as types: what handlers, HTTP handlers and apps program
 * against. `HoldfastServer` implements {@link ServerApi}; nothing here imports the class.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type {
  AnyProtocol,
  AppendDeltaInputs,
  ClientMessages,
  Requests,
  ResponseInputs,
  ServerMessageInputs,
  ServerMessages,
  StreamStatus,
} from '@holdfast/protocol';
import type { ConnectionInfo } from './connection.js';
import type { Engine, Except } from './engine.js';
import type { Inbox } from './inbox.js';
import type { Rewind } from './options.js';
import type { ServerStats } from './stats.js';

/** Types a client can send: its messages and its requests. */
export type InboundType<P extends AnyProtocol> =
  | (keyof P['client'] & string)
  | (keyof P['requests'] & string);

/** What a handler knows about the message it handles. */
export interface HandlerContext<P extends AnyProtocol> {
  /** The server, to send replies or publish. */
  server: ServerApi<P>;
  /** The sending session. */
  sessionId: string;
  /** The authenticated user of the session. */
  user: string;
  /** The connection the message arrived on. */
  connectionId: string;
  /** The client-made message id (stable across resends). */
  messageId: string;
  /** App data from authentication. */
  data: Record<string, unknown> | undefined;
}

/**
 * A handler of a client message (its return value is sent in the ack) or of a request (it
 * returns the typed response).
 */
export type Handler<P extends AnyProtocol, K extends string = string> = K extends keyof Requests<P>
  ? (data: Requests<P>[K], ctx: HandlerContext<P>) => ResponseInputs<P>[K] | Promise<ResponseInputs<P>[K]>
  : K extends keyof ClientMessages<P>
    ? (data: ClientMessages<P>[K], ctx: HandlerContext<P>) => unknown
    : (data: unknown, ctx: HandlerContext<P>) => unknown;

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

/** Where a growing message goes (and whose history `history()` reads). */
export type MessageTarget = { room: string } | { session: string } | { user: string } | { broadcast: true };

/**
 * A growing message being written (extension `appends`, docs/PROTOCOL.md §10): each
 * `append` is one delta, delivered live in order; `end` closes the message. Calls keep their
 * order without awaiting. Snapshots for retention and late joiners are written as it grows.
 */
export interface MessageWriter<V, D> {
  /** The stream it is on. */
  readonly stream: string;
  /** The stream's epoch when it started. */
  readonly epoch: string;
  /** The offset of its first `msg` (its key, with the stream and epoch). */
  readonly start: number;
  /** The value folded so far (including deltas whose append is still running). */
  readonly value: V;
  /** `end()` was called, or an append failed (later calls reject). */
  readonly done: boolean;
  /**
   * Append one delta (validated against the type's delta schema: `VALIDATION_FAILED`).
   * Rejects with `MESSAGE_CLOSED` once the message is ended or no longer retained.
   */
  append(delta: D): Promise<{ offset: number }>;
  /** Close the message, with a last delta if given. */
  end(delta?: D): Promise<{ offset: number }>;
}

/** Options of `HoldfastServer.startMessage`. */
export interface StartMessageOptions {
  /** Sessions or users that must not receive it (applies to every one of its frames). */
  except?: Except;
}

/** What `history()` reads: the last `count` entries, those written within `ageMs`, and/or after an offset. */
export interface HistoryOptions {
  /** At most this many entries (the newest). */
  count?: number;
  /** Entries whose position was written within this many ms. */
  ageMs?: number;
  /** Entries whose position is after this offset. */
  after?: number;
}

/** One retained message as `history()` returns it: folded, for growing ones. */
export interface HistoryMessage {
  /** Its position (the offset of its last frame). */
  offset: number;
  /** The offset of its first `msg` (equal to `offset` for a plain message). */
  start: number;
  /** Message type. */
  type: string;
  /** Its data (a growing message's value folded so far). */
  data: unknown;
  /** A growing message not ended yet. */
  open: boolean;
  /** When it was started (ms). */
  ts: number;
}

/** The answer of `history()`. */
export interface History {
  /** The stream read. */
  stream: string;
  /** Its epoch. */
  epoch: string;
  /** Its head offset. */
  offset: number;
  /** One more than the position of the last entry dropped by retention. */
  first: number;
  /** The entries, oldest position first. */
  messages: HistoryMessage[];
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
  error: (
    error: Error,
    context: { where: string; connectionId?: string; sessionId?: string; user?: string; type?: string },
  ) => void;
}

/**
 * Timings the server reports to instruments (the `@holdfast/server/metrics` entry attaches
 * some). Nothing is measured while none is attached. Durations are in milliseconds
 * (`performance.now`, monotonic).
 */
export interface ServerHooks {
  /** A handler returned or threw (`ok` false: it threw or returned an invalid response). */
  handler?(type: string, ms: number, ok: boolean): void;
  /** A client message or request answered: from its `pub` frame to its `res` (`type` is `(unknown)` for types not in the protocol). */
  request?(type: string, ms: number): void;
  /** A session's replay after its welcome: every stream from its cursor until live. */
  replay?(ms: number): void;
  /** The client closed its connection (its close frame came first), with its close code. */
  clientClose?(code: number): void;
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

/** A typed send to some audience; resolves to how many sessions it was addressed to. */
type Send<P extends AnyProtocol, Target extends unknown[]> = <
  K extends keyof ServerMessageInputs<P> & string,
>(
  ...args: [...Target, type: K, data: ServerMessageInputs<P>[K], options?: SendOptions]
) => Promise<number>;

/**
 * What an app can do with a server (see `HoldfastServer` for each method's documentation).
 * Handlers get it as `ctx.server`; `http-handlers` take it.
 */
export interface ServerApi<P extends AnyProtocol> {
  /** The app protocol. */
  readonly protocol: P;
  /** The storage and cross-node engine. */
  readonly engine: Engine;
  /** Resolves when the server accepts connections. */
  ready(): Promise<void>;
  /** The listening address in port mode. */
  address(): { port: number; host: string };
  /** The WebSocket URL in port mode. */
  url(): string;
  /** Listen to a lifecycle event; returns the function that removes the listener. */
  on<E extends keyof ServerEvents>(event: E, listener: ServerEvents[E]): () => void;
  /** Register the handler of a client message or request type (once per type). */
  handle<K extends InboundType<P>>(type: K, handler: Handler<P, K>): this;
  /** A pull-style inbox of one session's messages that have no handler. */
  inbox(sessionId: string): Inbox;
  /** Hand an HTTP upgrade over to the server. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Add a session to a room (with `rewind`: its recent past first, §10.5). */
  join(
    sessionId: string,
    room: string,
    options?: { rewind?: Rewind },
  ): Promise<{ stream: string; epoch: string; offset: number; rewound?: number }>;
  /** Start a growing message (extension `appends`). */
  startMessage<K extends keyof AppendDeltaInputs<P> & string>(
    to: MessageTarget,
    type: K,
    initial: ServerMessageInputs<P>[K],
    options?: StartMessageOptions,
  ): Promise<MessageWriter<ServerMessages<P>[K], AppendDeltaInputs<P>[K]>>;
  /** A stream's retained messages, folded (for HTTP endpoints). */
  history(target: MessageTarget, options?: HistoryOptions): Promise<History>;
  /** Remove a session from a room. */
  leave(sessionId: string, room: string): Promise<void>;
  /** Who is in a room. */
  presence(room: string): Promise<{ user: string; sessions: number }[]>;
  /** Send to one session. */
  sendToSession: Send<P, [sessionId: string]>;
  /** Send to every session of a user. */
  sendToUser: Send<P, [user: string]>;
  /** Send to one or more rooms. */
  sendToRoom: Send<P, [rooms: string | readonly string[]]>;
  /** Send to every session. */
  broadcast: Send<P, []>;
  /** Connections on this node. */
  connectionsList(filter?: ConnectionFilter): ConnectionInfo[];
  /** How many connections match the filter on this node. */
  countConnections(filter?: ConnectionFilter): number;
  /** One connection by id (this node). */
  connection(id: string): ConnectionInfo | undefined;
  /** Sessions of a user (across nodes). */
  userSessions(user: string): Promise<{ sessionId: string; connectedHere: boolean }[]>;
  /** Disconnect (and by default end) a session. */
  disconnect(sessionId: string, options?: { end?: boolean; reason?: string }): Promise<void>;
  /** End every session of a user. */
  logout(user: string): Promise<number>;
  /** Close connections silent for at least `idleMs`. */
  closeIdle(idleMs: number): number;
  /** A snapshot of this node's figures. */
  stats(): ServerStats;
  /** Attach timing hooks (what metrics use); returns the function that detaches them. */
  instrument(hooks: ServerHooks): () => void;
  /** Drain and stop. */
  close(): Promise<void>;
}
