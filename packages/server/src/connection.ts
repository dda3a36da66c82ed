import type { WebSocket } from 'ws';
import type { StoredMessage } from './engine.js';

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
  /** True while history is being replayed; live messages wait in `pending`. */
  replaying: boolean;
  /** Live messages that arrived during replay (created on the first one). */
  pending: StoredMessage[] | undefined;
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

/** What the server needs of the socket under a `ws` WebSocket. */
export interface RawSocket {
  write(chunk: Buffer, cb?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
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
  /** Last frame or pong from the client (ms). */
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

/** One WebSocket connection. Internal: the app sees {@link ConnectionInfo}. */
export class Connection {
  readonly id: string;
  readonly ws: WebSocket;
  readonly connectedAt: number;
  readonly remoteAddress: string;
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
  readonly streams = new StreamTable();
  /**
   * The socket under `ws`, written to directly with frames the server built (one frame shared
   * by every recipient of a broadcast). Undefined if this `ws` version does not expose it.
   */
  readonly raw: RawSocket | undefined;
  /** True while `raw` is corked until the end of this tick (writes coalesce into one syscall). */
  corked = false;
  /** Token bucket. */
  tokens: number;
  tokensAt: number;

  constructor(
    id: string,
    ws: WebSocket,
    now: number,
    remoteAddress: string,
    userAgent: string | undefined,
    burst: number,
  ) {
    this.id = id;
    this.ws = ws;
    this.connectedAt = now;
    this.lastSeen = now;
    this.remoteAddress = remoteAddress;
    this.userAgent = userAgent;
    this.tokens = burst;
    this.tokensAt = now;
    const socket = (ws as unknown as { _socket?: Partial<RawSocket> })._socket;
    this.raw =
      socket && typeof socket.write === 'function' && typeof socket.cork === 'function'
        ? (socket as RawSocket)
        : undefined;
  }

  /** Take one token; false when the bucket is empty. */
  take(now: number, rate: number, burst: number): boolean {
    this.tokens = Math.min(burst, this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until one token is available again. */
  retryAfterMs(rate: number): number {
    return rate > 0 ? Math.ceil(((1 - this.tokens) * 1000) / rate) : 60_000;
  }

  get isOpen(): boolean {
    return this.phase !== 'closed' && this.ws.readyState === this.ws.OPEN && this.closingSince === 0;
  }

  info(): ConnectionInfo {
    return {
      id: this.id,
      sessionId: this.sessionId,
      user: this.user,
      connectedAt: this.connectedAt,
      lastSeen: this.lastSeen,
      remoteAddress: this.remoteAddress,
      userAgent: this.userAgent,
      reconnects: this.reconnects,
      data: this.data,
    };
  }
}
