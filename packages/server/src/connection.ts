import type { StoredMessage } from './engine.js';
import type { TickRun } from './tick-run.js';
import { takeToken, tokenRetryAfterMs } from './token-bucket.js';

/** Delivery state of one stream on one connection. */
export interface StreamState {
  /** The stream's name. */
  stream: string;
  /** The next stream of the same connection (see {@link StreamTable}). */
  next: StreamState | undefined;
  /** Epoch the client's cursor is in. */
  epoch: string;
  /** Last offset sent (or deliberately skipped) on this connection. */
  sent: number;
  /** Highest offset the client acked on this connection. */
  acked: number;
  /**
   * Undefined when live. While history is replayed, the live messages that arrived meanwhile
   * ({@link REPLAYING} until the first one: no array per stream for nothing).
   */
  pending: StoredMessage[] | undefined;
}

/** `StreamState.pending` of a stream being replayed with no live message held yet. Never changed. */
export const REPLAYING: StoredMessage[] = Object.freeze([]) as unknown as StoredMessage[];

/**
 * What a connection tracks only while replays run: made by the first held message or replayed
 * frame, dropped when every stream is live again (three fields less on every idle connection).
 */
export interface ReplayProgress {
  /**
   * Bytes of live messages held while replays run (see {@link hold}); they count with the
   * socket's buffer against the high-water mark.
   */
  held: number;
  /** Replayed frames written on this connection (a replay's progress). */
  replayed: number;
  /** `replayed` when held messages last went over the mark (-1: never). */
  replayedAtOverflow: number;
}

/** The connection's replay progress, made if there is none. */
export function progressOf(conn: Connection): ReplayProgress {
  if (conn.replay === undefined) conn.replay = { held: 0, replayed: 0, replayedAtOverflow: -1 };
  return conn.replay;
}

/** Hold a live message that arrived during a replay; its bytes count in the connection's `held`. */
export function hold(conn: Connection, st: StreamState, m: StoredMessage): void {
  if (st.pending === REPLAYING || st.pending === undefined) st.pending = [m];
  else st.pending.push(m);
  progressOf(conn).held += m.frame.length;
}

/**
 * Drop the live messages held for a stream (`next`: REPLAYING to keep replaying, undefined when
 * live). The connection's replay progress goes once all its streams are live.
 */
export function unhold(
  conn: Connection,
  st: StreamState,
  next: StoredMessage[] | undefined,
): StoredMessage[] {
  const list = st.pending;
  st.pending = next;
  const progress = conn.replay;
  if (progress && list && list !== REPLAYING) for (const m of list) progress.held -= m.frame.length;
  if (progress && next === undefined && allLive(conn)) conn.replay = undefined;
  return !list || list === REPLAYING ? [] : list;
}

function allLive(conn: Connection): boolean {
  for (const stream of conn.streams.keys()) if (conn.streams.get(stream)?.pending !== undefined) return false;
  return true;
}

/** Streams in a connection's list before it gets a `Map` index as well. */
const INDEX_ABOVE = 8;

/**
 * A connection's streams by name. Most connections have a handful (their session, user,
 * broadcast and a room or two), so they are a linked list through the states themselves,
 * searched in order; a `Map` index is added only for many. Costs nothing per stream, where
 * a `Map` per connection costs about 400 bytes.
 */
export class StreamTable {
  private first: StreamState | undefined;
  private index: Map<string, StreamState> | undefined;
  /** Number of streams. */
  size = 0;

  /** The state of `stream`, if the connection has it. */
  get(stream: string): StreamState | undefined {
    if (this.index) return this.index.get(stream);
    for (let st = this.first; st; st = st.next) if (st.stream === stream) return st;
    return undefined;
  }

  /** Does the connection have `stream`? */
  has(stream: string): boolean {
    return this.get(stream) !== undefined;
  }

  /** Add (or replace) the state of `st.stream`. */
  set(st: StreamState): void {
    this.delete(st.stream);
    st.next = this.first;
    this.first = st;
    this.size += 1;
    if (this.index) this.index.set(st.stream, st);
    else if (this.size > INDEX_ABOVE) {
      this.index = new Map();
      for (let s: StreamState | undefined = this.first; s; s = s.next) this.index.set(s.stream, s);
    }
  }

  /** Remove `stream`; true if it was there. */
  delete(stream: string): boolean {
    let prev: StreamState | undefined;
    for (let st = this.first; st; prev = st, st = st.next) {
      if (st.stream !== stream) continue;
      if (prev) prev.next = st.next;
      else this.first = st.next;
      st.next = undefined;
      this.size -= 1;
      this.index?.delete(stream);
      if (this.index && this.size <= INDEX_ABOVE / 2) this.index = undefined;
      return true;
    }
    return false;
  }

  /** The names, oldest first (a copy: the table may change while the caller iterates). */
  keys(): string[] {
    const out: string[] = [];
    for (let st = this.first; st; st = st.next) out.push(st.stream);
    return out.reverse();
  }

  /** Remove every stream. */
  clear(): void {
    this.first = undefined;
    this.index = undefined;
    this.size = 0;
  }
}

/**
 * The socket of a connection as the core sees it: whether it is open. Everything else goes
 * through the server's transport (see `transport.ts`); a `ws` WebSocket is one.
 */
export interface SocketHandle {
  readonly readyState: number;
  readonly OPEN: number;
}

/** Public metadata of a connection. */
export interface ConnectionInfo {
  /** Connection id. */
  id: string;
  /** Session id (after `hello`). */
  sessionId: string | undefined;
  /** User id (after `hello`). */
  user: string | undefined;
  /** When the socket was accepted (ms). */
  connectedAt: number;
  /** Last frame from the client (ms). */
  lastSeen: number;
  /** Remote IP address. */
  remoteAddress: string;
  /** User-Agent header. */
  userAgent: string | undefined;
  /** How many times this session connected before this connection. */
  reconnects: number;
  /** App data from authentication. */
  data: Record<string, unknown> | undefined;
}

/**
 * One WebSocket connection. Internal: the app sees {@link ConnectionInfo}. Its times are
 * milliseconds since the server's base time (small integers), not epoch milliseconds.
 *
 * Its life: `hello` (socket accepted) -> `authenticating` (hello received) -> `open` (welcome
 * sent: `sessionId` and `user` set, see {@link hasSession}) -> closing (a close handshake
 * started: {@link Connection.closing}, the phase is unchanged) -> `closed` (socket closed).
 * A connection may close from any phase.
 */
export class Connection extends StreamTable {
  readonly id: string;
  readonly ws: SocketHandle;
  readonly connectedAt: number;
  readonly remoteAddress: string;
  /** What per-address limits count this connection under (see `address.ts`). */
  readonly addressKey: string;
  readonly userAgent: string | undefined;
  /** Only until hello: what authenticate needs. Dropped after (no kept upgrade request). */
  handshake:
    | {
        headers: Record<string, string | string[] | undefined>;
        url: string;
        token?: string;
        tokenSource?: 'subprotocol' | 'query';
      }
    | undefined;
  phase: 'hello' | 'authenticating' | 'open' | 'closed' = 'hello';
  sessionId: string | undefined;
  user: string | undefined;
  data: Record<string, unknown> | undefined;
  reconnects = 0;
  lastSeen: number;
  nextPingAt = 0;
  tokenExpiresAt: number | undefined;
  closingSince = 0;
  slotHeld = false;
  /** Undefined unless a replay runs (see {@link ReplayProgress}). */
  replay: ReplayProgress | undefined = undefined;
  /** This connection's streams (the connection is its own table: one object less per socket). */
  get streams(): StreamTable {
    return this;
  }
  /** True while `raw` is corked until the end of this tick (writes coalesce into one syscall). */
  corked = false;
  /** The server's tick of the last write (the first write of a tick is not corked). */
  writeTick = -1;
  /**
   * Live fan-out frames of this tick not written yet: frames `runStart..runEnd-1` of `run`
   * (see `Outbound.joinRun`); written before anything else is, and at the end of the tick.
   */
  run: TickRun | undefined = undefined;
  runStart = 0;
  runEnd = 0;
  /** Token bucket, in thousandths of a token. */
  tokens: number;
  tokensAt: number;

  constructor(
    id: string,
    ws: SocketHandle,
    now: number,
    remoteAddress: string,
    userAgent: string | undefined,
    burst: number,
    addressKey: string = remoteAddress,
  ) {
    super();
    this.id = id;
    this.ws = ws;
    this.connectedAt = now;
    this.lastSeen = now;
    this.remoteAddress = remoteAddress;
    this.addressKey = addressKey;
    this.userAgent = userAgent;
    this.tokens = burst * 1000;
    this.tokensAt = now;
  }

  /** Take one token; false when the bucket is empty. (Kept in thousandths: an integer.) */
  take(now: number, rate: number, burst: number): boolean {
    return takeToken(this, now, rate, burst);
  }

  /** Milliseconds until one token is available again. */
  retryAfterMs(rate: number): number {
    return tokenRetryAfterMs(this, rate);
  }

  /** A close handshake started (the phase is unchanged until the socket closes). */
  get closing(): boolean {
    return this.closingSince !== 0;
  }

  /** Open for writing: not closed, not closing, the socket open. */
  get isOpen(): boolean {
    return this.phase !== 'closed' && this.ws.readyState === this.ws.OPEN && this.closingSince === 0;
  }

  /** Public metadata; `t0` is the base of this connection's times (see `Core.rel()`). */
  info(t0: number): ConnectionInfo {
    return {
      id: this.id,
      sessionId: this.sessionId,
      user: this.user,
      connectedAt: t0 + this.connectedAt,
      lastSeen: t0 + this.lastSeen,
      remoteAddress: this.remoteAddress,
      userAgent: this.userAgent,
      reconnects: this.reconnects,
      data: this.data,
    };
  }
}

/** A connection past its welcome (or closing after it): its session and user are known. */
export type SessionConnection = Connection & { sessionId: string; user: string };

/** Has the connection a session (its welcome was sent)? */
export function hasSession(conn: Connection): conn is SessionConnection {
  return conn.sessionId !== undefined;
}
