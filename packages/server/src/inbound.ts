/**
 * Frames from clients: intake (rate limit, decode, drain), the fast path of `ack`, and the
 * dispatch of each frame type to its component.
 */
import {
  type AnyProtocol,
  CloseCode,
  type Cursor,
  decode,
  ErrorCode,
  HoldfastError,
  type Issue,
  isWireStream,
  WireLimits,
} from '@holdfast/protocol';
import type { AddressBuckets } from './buckets.js';
import { type Connection, hasSession, type SessionConnection, type StreamState } from './connection.js';
import type { Core } from './core.js';
import type { Dispatch } from './dispatch.js';
import type { Handshake } from './handshake.js';
import type { Outbound } from './outbound.js';
import type { Pool } from './pool.js';
import type { Reauthorize } from './reauthorize.js';
import type { Rooms } from './rooms.js';
import { pongFrame } from './wire.js';

/** Frame intake of one server. */
export class Inbound<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly pool: Pool<P>;
  private readonly out: Outbound<P>;
  private readonly handshake: Handshake<P>;
  private readonly dispatch: Dispatch<P>;
  private readonly rooms: Rooms<P>;
  private readonly reauthorize: Reauthorize<P>;
  private readonly buckets: AddressBuckets;

  constructor(
    core: Core<P>,
    pool: Pool<P>,
    out: Outbound<P>,
    handshake: Handshake<P>,
    dispatch: Dispatch<P>,
    rooms: Rooms<P>,
    reauthorize: Reauthorize<P>,
    buckets: AddressBuckets,
  ) {
    this.core = core;
    this.pool = pool;
    this.out = out;
    this.handshake = handshake;
    this.dispatch = dispatch;
    this.rooms = rooms;
    this.reauthorize = reauthorize;
    this.buckets = buckets;
  }

  /**
   * Take a frame's tokens: the connection's bucket, then its address's (which survives
   * reconnects). False, with the connection closing 4429, when either is empty.
   */
  private admitFrame(conn: Connection, now: number): boolean {
    const { limits } = this.core;
    if (!conn.take(now, limits.messagesPerSecond, limits.burst)) {
      this.pool.closeConn(
        conn,
        CloseCode.RateLimited,
        'too many frames',
        conn.retryAfterMs(limits.messagesPerSecond),
      );
      return false;
    }
    if (!this.buckets.take(conn.addressKey, now)) {
      const retry = this.buckets.retryAfterMs(conn.addressKey);
      this.pool.closeConn(conn, CloseCode.RateLimited, 'too many frames from this address', retry);
      return false;
    }
    return true;
  }

  /** A WebSocket ping (control frame): answered with a pong while the frame buckets allow. */
  onPing(conn: Connection, data: Buffer): void {
    if (conn.phase === 'closed' || conn.closing) return;
    const now = this.core.rel();
    conn.lastSeen = now;
    if (this.admitFrame(conn, now)) this.pool.transport.pong(conn, data);
  }

  /** One frame from a client (the transport's `message`). */
  onMessage(conn: Connection, data: Buffer, isBinary: boolean): void {
    if (conn.phase === 'closed' || conn.closing) return;
    const { core, pool, out } = this;
    const now = core.rel();
    conn.lastSeen = now;
    core.counters.framesIn += 1;
    if (!this.admitFrame(conn, now)) return;
    const open = conn.phase === 'open' && hasSession(conn) ? conn : undefined;
    if (!isBinary && open && isAck(data)) {
      const cursors = parseAck(data);
      if (cursors) return this.onAck(open, cursors);
    }
    const decoded = decode(isBinary ? data : data.toString('utf8'), 'client', core.opts.decodeOptions);
    if (!decoded.ok) {
      out.sendError(conn, decoded.error);
      return pool.closeConn(conn, CloseCode.BadProtocol, decoded.error.code);
    }
    const frame = decoded.frame;
    if (core.draining && frame.t !== 'ack' && frame.t !== 'ping' && frame.t !== 'pong') {
      // Shutting down: take no new work. Unanswered messages stay in the client's outbox.
      if (frame.t === 'hello') pool.closeConn(conn, core.opts.shutdownCode, 'server shutting down');
      return;
    }
    if (!open) {
      if (frame.t === 'hello' && conn.phase === 'hello') {
        conn.phase = 'authenticating';
        pool.spoke(conn);
        core.track(this.handshake.onHello(conn, frame));
        return;
      }
      out.sendError(conn, new HoldfastError(ErrorCode.UnexpectedFrame, `"${frame.t}" before welcome`));
      return pool.closeConn(conn, CloseCode.BadProtocol, 'expected hello');
    }
    switch (frame.t) {
      case 'pub':
        return this.dispatch.onPub(open, frame.id, frame.type, frame.data);
      case 'ack':
        this.onAck(open, frame.cursors);
        return;
      case 'join':
        core.track(this.rooms.onJoinFrame(open, frame.id, frame.room, frame.rewind));
        return;
      case 'leave':
        core.track(this.rooms.onLeaveFrame(open, frame.id, frame.room));
        return;
      case 'refresh':
        core.track(this.reauthorize.onRefresh(open, frame.id, frame.token));
        return;
      case 'ping':
        out.send(open, pongFrame(frame.ts));
        return;
      case 'pong':
        return;
      case 'hello':
        out.sendError(open, new HoldfastError(ErrorCode.UnexpectedFrame, 'second hello'));
        return pool.closeConn(open, CloseCode.BadProtocol, 'second hello');
    }
  }

  /**
   * Acks: cumulative per stream, stale epochs ignored, offsets never sent refused (§4.3). The
   * cost is one table lookup per cursor; the answer lists at most {@link MAX_ISSUES} issues and
   * the engine gets at most one cursor per stream, whatever the frame holds.
   */
  private onAck(conn: SessionConnection, cursors: Cursor[]): void {
    const { core } = this;
    core.counters.acks += 1;
    // The usual ack (one cursor) allocates nothing here but the engine call: no set, no list.
    let acked: Set<StreamState> | StreamState | undefined;
    let bad: Issue[] | undefined;
    let invalid = 0;
    for (let i = 0; i < cursors.length; i++) {
      const c = cursors[i]!;
      const st = conn.streams.get(c.stream);
      let field: 'stream' | 'offset';
      if (!st) field = 'stream';
      else if (c.epoch !== st.epoch)
        continue; // an ack from before an epoch change: stale, ignore
      else if (c.offset > st.sent) field = 'offset';
      else {
        if (c.offset > st.acked) {
          // Acks are cumulative: one below an earlier ack is ignored.
          st.acked = c.offset;
          if (acked === undefined) acked = st;
          else if (acked instanceof Set) acked.add(st);
          else if (acked !== st) acked = new Set([acked, st]);
        }
        continue;
      }
      invalid += 1;
      bad ??= [];
      if (bad.length < MAX_ISSUES)
        bad.push({
          path: ['cursors', i, field],
          message: field === 'stream' ? 'not subscribed to this stream' : 'offset was never sent',
        });
    }
    if (bad !== undefined) {
      const message =
        invalid > bad.length
          ? `Invalid ack: ${invalid} invalid cursors, the first ${bad.length} listed`
          : 'Invalid ack';
      this.out.sendError(conn, new HoldfastError(ErrorCode.InvalidAck, message, { issues: bad }));
    }
    if (acked === undefined) return;
    const valid: Cursor[] = [];
    if (acked instanceof Set)
      for (const st of acked) valid.push({ stream: st.stream, epoch: st.epoch, offset: st.acked });
    else valid.push({ stream: acked.stream, epoch: acked.epoch, offset: acked.acked });
    const { sessionId } = conn;
    core.engine.saveAcks(sessionId, valid).catch((err) => {
      core.counters.engineErrors += 1;
      core.fail(err, 'ack', { sessionId });
    });
  }
}

/** Issues listed in one `INVALID_ACK` answer (the `ErrorBody` schema's bound, docs/PROTOCOL.md §4.3). */
const MAX_ISSUES = 64;

/**
 * The fast path of the most frequent frame: a well-formed `ack`, checked by hand against the
 * schema's rules instead of by the generic decoder (whose per-cursor cost is several times
 * higher: an ack of 1,024 foreign cursors cost 2 ms there). Which cursors are valid for this
 * connection is `onAck`'s business. Anything else (malformed, extra fields) returns undefined
 * and takes the generic path, which answers it exactly as before.
 */
function parseAck(data: Buffer): Cursor[] | undefined {
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
    // Streams the server made from app ids (user ids, server-side joins) are not checked
    // when made: hold them to the wire's rules here, as the schema would.
    if (!isWireStream(stream) || !isWireEpoch(epoch)) return undefined;
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) return undefined;
    out.push({ stream, epoch, offset });
  }
  return out;
}

const visibleAscii = /^[\x21-\x7e]+$/;

/** The schema's `epoch` rule: 1–32 visible ASCII characters. */
function isWireEpoch(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= WireLimits.epochLength &&
    visibleAscii.test(value)
  );
}

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
