/**
 * The connections of this node and their lookups: by id, by session, by stream (subscribers);
 * pending (pre-welcome) counts; closing, detaching and slot release; the pool queries of the
 * app API.
 */
import { type AnyProtocol, CloseCode, closeReason, Streams } from '@holdfast/protocol';
import type { ConnectionFilter } from './api.js';
import { type Connection, type ConnectionInfo, hasSession, type SessionConnection } from './connection.js';
import type { Core } from './core.js';
import { SetMap } from './set-map.js';
import type { ServerStats } from './stats.js';
import type { Transport } from './transport.js';

/**
 * The connected sessions of this node by session id, read from the subscribers of each
 * session's own stream (`session:<id>`, which only its connection subscribes to): no table of
 * its own, where a `Map` cost a hash-table entry per connection (about 40 bytes).
 */
export class SessionConns {
  private readonly subscribers: SetMap<string, SessionConnection>;
  private readonly connections: Map<string, Connection>;

  constructor(subscribers: SetMap<string, SessionConnection>, connections: Map<string, Connection>) {
    this.subscribers = subscribers;
    this.connections = connections;
  }

  /** The session's connection here (the newest, should two be attached at once). */
  get(sessionId: string): SessionConnection | undefined {
    const subs = this.subscribers.raw(Streams.session(sessionId));
    if (!(subs instanceof Set)) return subs;
    let newest: SessionConnection | undefined;
    for (const c of subs) newest = c;
    return newest;
  }

  /** Is the session connected here? */
  has(sessionId: string): boolean {
    return this.subscribers.hasKey(Streams.session(sessionId));
  }

  /** The connections of connected sessions (a scan of every connection: for stats). */
  *values(): IterableIterator<SessionConnection> {
    for (const c of this.connections.values()) if (hasSession(c) && this.get(c.sessionId) === c) yield c;
  }

  /** How many sessions are connected here (a scan: for stats). */
  get size(): number {
    let n = 0;
    for (const _ of this.values()) n++;
    return n;
  }
}

/** This node's connections. One per server. */
export class Pool<P extends AnyProtocol> {
  private readonly core: Core<P>;
  readonly transport: Transport;
  readonly connections = new Map<string, Connection>();
  /** Local subscribers of each stream (connected sessions only). */
  readonly subscribers = new SetMap<string, SessionConnection>();
  /** Connected sessions on this node -> their connection. */
  readonly sessionConns = new SessionConns(this.subscribers, this.connections);
  /** Connections before their welcome. */
  pending = 0;
  /** Connections before their welcome whose close has started (they no longer wait). */
  private closingPending = 0;
  /** Connections that have not said `hello` (and are not closing), oldest first. */
  private readonly silent = new Set<Connection>();
  /** `silent` connections per remote address. */
  private readonly silentPerAddress = new Map<string, number>();

  constructor(core: Core<P>, transport: Transport) {
    this.core = core;
    this.transport = transport;
  }

  /** A socket was accepted; returns how many connections are pending. */
  opened(conn: Connection): number {
    this.core.log.debug({ connectionId: conn.id, remoteAddress: conn.remoteAddress }, 'connection opened');
    this.connections.set(conn.id, conn);
    this.pending += 1;
    this.silent.add(conn);
    this.silentPerAddress.set(conn.addressKey, (this.silentPerAddress.get(conn.addressKey) ?? 0) + 1);
    return this.pending;
  }

  /** The connection said `hello` (or is closing): it no longer counts as silent. */
  spoke(conn: Connection): void {
    if (!this.silent.delete(conn)) return;
    const n = (this.silentPerAddress.get(conn.addressKey) ?? 1) - 1;
    if (n > 0) this.silentPerAddress.set(conn.addressKey, n);
    else this.silentPerAddress.delete(conn.addressKey);
  }

  /**
   * May a just-accepted connection wait for its `hello`? Undefined if so, else why not (1013).
   * An address holds at most `pendingPerAddress` silent connections. When `pendingConnections`
   * are waiting, the oldest connection that has not said `hello` is closed (1013) to make room:
   * a client that has spoken (a resume among them) is never dropped for a newcomer, and silent
   * connections cannot keep newcomers out for longer than it takes the newcomers to say hello.
   */
  admit(conn: Connection): string | undefined {
    const limits = this.core.limits;
    if ((this.silentPerAddress.get(conn.addressKey) ?? 0) > limits.pendingPerAddress) {
      return 'too many pending connections from this address';
    }
    if (this.pending - this.closingPending <= limits.pendingConnections) return undefined;
    for (const oldest of this.silent) {
      if (oldest === conn) break;
      this.closeConn(oldest, CloseCode.TryAgainLater, 'too many pending connections');
      return undefined;
    }
    return 'too many pending connections';
  }

  /** Writes the live frames a connection holds for the end of the tick (set by `Outbound`). */
  flushRun: ((conn: Connection) => void) | undefined;

  /** Start closing a connection (once): count the code, send the close frame. */
  closeConn(conn: Connection, code: number, detail: string, retryAfterMs?: number): void {
    if (conn.phase === 'closed' || conn.closingSince) return;
    conn.closingSince = Math.max(1, this.core.rel());
    if (conn.phase !== 'open') {
      this.closingPending += 1;
      this.spoke(conn);
    }
    const closes = this.core.counters.closes;
    closes[code] = (closes[code] ?? 0) + 1;
    logClose(this.core, conn, code, detail);
    // Live frames held for the end of the tick go out before the close frame.
    if (conn.run !== undefined) this.flushRun?.(conn);
    try {
      this.transport.close(conn, code, closeReason(code, detail, retryAfterMs));
    } catch (err) {
      this.core.log.debug({ err }, 'close failed');
      this.transport.terminate(conn);
    }
  }

  /** Watch a stream for this connection. */
  subscribe(conn: SessionConnection, stream: string): void {
    const first = !this.subscribers.hasKey(stream);
    this.subscribers.add(stream, conn);
    if (first) this.core.engine.watch(stream);
  }

  /** Stop watching a stream for this connection. */
  unsubscribe(conn: SessionConnection, stream: string): void {
    if (this.subscribers.delete(stream, conn) && !this.subscribers.hasKey(stream))
      this.core.engine.unwatch(stream);
  }

  /** Stop delivering to a connection (it is closing or replaced). */
  detach(conn: Connection): void {
    const sessionId = conn.sessionId;
    if (sessionId === undefined) {
      conn.streams.clear();
      return;
    }
    const owned = conn as SessionConnection;
    for (const stream of conn.streams.keys()) this.unsubscribe(owned, stream);
    conn.streams.clear();
  }

  /** Close a session's connection that a newer one replaces. */
  replace(old: Connection): void {
    this.closeConn(old, CloseCode.GoingAway, 'replaced by a newer connection');
    this.detach(old);
    this.releaseSlot(old);
  }

  /** Give the connection's per-user slot back. */
  releaseSlot(conn: Connection): void {
    if (!conn.slotHeld || !conn.user) return;
    conn.slotHeld = false;
    this.core.engine
      .releaseUserSlot(conn.user, conn.id)
      .catch((err) => this.core.fail(err, 'releaseUserSlot'));
  }

  /**
   * The socket closed: forget the connection; its session stays resumable. True when it was
   * its session's connection (not one replaced by a newer one).
   */
  onClose(conn: Connection, code: number, reason: string): boolean {
    if (conn.phase === 'closed') return false;
    const core = this.core;
    const wasOpen = conn.phase === 'open';
    core.log.debug(
      { connectionId: conn.id, sessionId: conn.sessionId, user: conn.user, code, reason },
      'connection closed',
    );
    if (!conn.closingSince && code !== CloseCode.Abnormal && core.hooks)
      for (const h of core.hooks) h.clientClose?.(code);
    if (!wasOpen) {
      this.pending -= 1;
      if (conn.closing) this.closingPending -= 1;
      this.spoke(conn);
    }
    conn.phase = 'closed';
    this.connections.delete(conn.id);
    const sessionId = conn.sessionId;
    const owned = sessionId !== undefined && this.sessionConns.get(sessionId) === conn;
    this.detach(conn);
    this.releaseSlot(conn);
    if (owned) {
      // The session stays resumable for the resume window.
      core.engine
        .touchSession(sessionId, core.opts.resumeWindowMs)
        .catch((err) => core.fail(err, 'touchSession'));
    }
    if (wasOpen) core.emit('disconnect', { ...conn.info(core.t0), code, reason });
    return owned;
  }

  /** Connections on this node, optionally filtered by session, user or room. */
  list(filter: ConnectionFilter = {}): ConnectionInfo[] {
    const out: ConnectionInfo[] = [];
    const roomStream = filter.room === undefined ? undefined : Streams.room(filter.room);
    const candidates: Iterable<Connection> = filter.sessionId
      ? [this.sessionConns.get(filter.sessionId)].filter((c): c is SessionConnection => c !== undefined)
      : roomStream
        ? this.subscribers.list(roomStream)
        : [...this.connections.values()];
    for (const c of candidates) {
      if (c.phase !== 'open') continue;
      if (filter.user !== undefined && c.user !== filter.user) continue;
      if (roomStream && !c.streams.has(roomStream)) continue;
      out.push(c.info(this.core.t0));
    }
    return out;
  }

  /** One open connection by id. */
  info(id: string): ConnectionInfo | undefined {
    const c = this.connections.get(id);
    return c?.phase === 'open' ? c.info(this.core.t0) : undefined;
  }

  /** How many connections are in each phase (closing ones counted apart from their phase). */
  phases(): { hello: number; authenticating: number; open: number; closing: number } {
    const out = { hello: 0, authenticating: 0, open: 0, closing: 0 };
    for (const c of this.connections.values()) {
      if (c.closing) out.closing += 1;
      else if (c.phase !== 'closed') out[c.phase] += 1;
    }
    return out;
  }

  /** Close connections silent for at least `idleMs`. Their sessions stay resumable. */
  closeIdle(idleMs: number): number {
    const cutoff = this.core.rel() - idleMs;
    let n = 0;
    for (const conn of this.connections.values()) {
      if (conn.phase === 'open' && conn.lastSeen <= cutoff) {
        this.closeConn(conn, CloseCode.GoingAway, 'idle');
        n++;
      }
    }
    return n;
  }

  /** A snapshot of this node's figures (`inflight`: client messages being handled). */
  stats(inflight: number): ServerStats {
    const core = this.core;
    const users = new Set<string>();
    let heldBytes = 0;
    for (const c of this.sessionConns.values()) {
      users.add(c.user);
      heldBytes += c.replay?.held ?? 0;
    }
    const e = core.engine.stats?.();
    const now = core.clock.now();
    return {
      at: now,
      uptimeSec: Math.round((now - core.startedAt) / 1000),
      connections: this.connections.size,
      pendingConnections: this.pending,
      sessions: this.sessionConns.size,
      users: users.size,
      rooms: e?.rooms,
      retention: e ? { streams: e.streams, messages: e.messages, bytes: e.bytes } : undefined,
      handled: e?.handled,
      inflight,
      engineHealthy: core.engine.healthy?.(),
      heldBytes,
      counters: { ...core.counters, closes: { ...core.counters.closes } },
    };
  }
}

/** Closes that are part of normal operation (logged at debug); any other is a refusal or a fault (info). */
const ROUTINE_CLOSES: ReadonlySet<number> = new Set([
  CloseCode.Normal,
  CloseCode.GoingAway,
  CloseCode.Restart,
  CloseCode.SessionEnded,
]);

/** One line per server-initiated close: a refusal before the welcome, a close after it. */
function logClose<P extends AnyProtocol>(
  core: Core<P>,
  conn: Connection,
  code: number,
  detail: string,
): void {
  const fields = {
    connectionId: conn.id,
    sessionId: conn.sessionId,
    user: conn.user,
    remoteAddress: conn.remoteAddress,
    code,
    detail,
  };
  const message = conn.phase === 'open' ? 'closing connection' : 'connection refused';
  if (ROUTINE_CLOSES.has(code)) core.log.debug(fields, message);
  else core.log.info(fields, message);
}
