/**
 * Getting stored messages to connections in offset order: replay of history after a cursor,
 * catch-up when live delivery skipped offsets, gaps, live fan-out, volatile and presence frames.
 */
import { type AnyProtocol, CloseCode, Streams } from '@holdfast/protocol';
import {
  type Connection,
  hold,
  progressOf,
  REPLAYING,
  type SessionConnection,
  type StreamState,
  unhold,
} from './connection.js';
import type { Core } from './core.js';
import type { Except, StoredMessage } from './engine.js';
import { isExcluded } from './except.js';
import { textFrame } from './frame.js';
import type { Outbound } from './outbound.js';
import type { Pool } from './pool.js';
import { gapFrame, presenceFrame } from './wire.js';

/** Messages read from history per engine call. */
const PAGE = 500;

/**
 * Live messages kept per stream while a replay runs; beyond it (or beyond the high-water mark
 * in bytes, see `overflow`) they are re-read from history.
 */
const MAX_PENDING = 10_000;

/** Delivery of one server. */
export class Delivery<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly pool: Pool<P>;
  private readonly out: Outbound<P>;

  constructor(core: Core<P>, pool: Pool<P>, out: Outbound<P>) {
    this.core = core;
    this.pool = pool;
    this.out = out;
  }

  /**
   * Send a stream's retained messages after the connection's cursor, then whatever arrived
   * live meanwhile, merged by offset; then switch the stream to live delivery. `snapshots`:
   * first the open growing messages at positions <= the cursor (docs/PROTOCOL.md §10.4).
   */
  async replay(conn: SessionConnection, stream: string, snapshots = false): Promise<void> {
    const st = conn.streams.get(stream);
    if (!st) return;
    const { core, out } = this;
    try {
      if (snapshots && core.engine.openMessages) {
        const open = await core.engine.openMessages(stream, st.sent);
        if (conn.streams.get(stream) !== st || !conn.isOpen) return;
        // Below the cursor: sent without moving it (the client applies them by §10.3).
        if (open.epoch === st.epoch) for (const m of open.messages) this.sendEntry(conn, m, undefined, true);
      }
      for (;;) {
        const page = await core.engine.read(stream, st.sent, PAGE);
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
          if (out.bufferedAmount(conn) <= core.limits.highWaterMark / 2) {
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
        const held = st.pending;
        if (
          held !== undefined &&
          held !== REPLAYING &&
          (held.length === 0 || held[0]!.offset > st.sent + 1)
        ) {
          // Live messages were dropped while replaying (see `overflow`): they are in history, read on.
          unhold(conn, st, REPLAYING);
          continue;
        }
        break;
      }
      const pending = unhold(conn, st, undefined);
      if (pending.length > 0) {
        pending.sort((a, b) => a.offset - b.offset);
        for (const m of pending) this.deliverTo(conn, st, m, undefined);
      }
    } catch (err) {
      core.counters.engineErrors += 1;
      core.fail(err, 'replay', { connectionId: conn.id });
      this.pool.closeConn(conn, CloseCode.Internal, 'history unavailable');
    }
  }

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
    this.core.counters.gaps += 1;
    this.out.send(conn, gapFrame(stream, epoch, from, newOffset, reason));
    st.epoch = epoch;
    st.sent = newOffset;
  }

  /** Deliver one stored message to one connection, in offset order (`frame`: its prebuilt frame). */
  private deliverTo(
    conn: SessionConnection,
    st: StreamState,
    m: StoredMessage,
    frame: Buffer | undefined,
    paced = false,
    flushed?: () => void,
  ): boolean {
    if (m.offset <= st.sent) return false;
    st.sent = m.offset;
    return this.sendEntry(conn, m, frame, paced, flushed);
  }

  /** Write one entry: its frame, and a growing message's pending `app`s after it (§10.2). */
  private sendEntry(
    conn: SessionConnection,
    m: StoredMessage,
    frame: Buffer | undefined,
    paced: boolean,
    flushed?: () => void,
  ): boolean {
    if (m.except && isExcluded(m.except, conn.sessionId, conn.user)) return false;
    this.core.counters.deliveries += 1;
    if (paced) progressOf(conn).replayed += 1;
    const parts = m.parts;
    if (parts === undefined || parts.length === 0)
      return this.out.send(conn, frame ?? m.frame, paced, flushed);
    this.out.send(conn, m.frame, paced);
    for (let i = 0; i < parts.length - 1; i++) this.out.send(conn, parts[i]!, paced);
    return this.out.send(conn, parts[parts.length - 1]!, paced, flushed);
  }

  /** A message appended to a stream (the engine's `message` listener). */
  deliverLive(stream: string, epoch: string, m: StoredMessage): void {
    const subs = this.pool.subscribers.raw(stream);
    if (!subs) return;
    // One WebSocket frame for every recipient: no per-recipient copy or header.
    const frame = textFrame(m.frame);
    if (!(subs instanceof Set)) return this.deliverLiveTo(subs, stream, epoch, m, frame);
    if (m.except !== undefined || (m.parts !== undefined && m.parts.length > 0)) {
      for (const conn of subs) this.deliverLiveTo(conn, stream, epoch, m, frame);
      return;
    }
    // A fan-out: the frame joins this tick's run of the stream, and each recipient that is
    // live and next in line only moves its cursor and its end of the run (see `Outbound.joinRun`).
    const out = this.out;
    const run = out.runFor(stream, frame);
    const index = run.frames.length - 1;
    const offset = m.offset;
    let n = 0;
    for (const conn of subs) {
      const st = conn.get(stream);
      if (st === undefined) continue;
      if (st.sent !== offset - 1 || st.pending !== undefined || st.epoch !== epoch) {
        this.deliverLiveTo(conn, stream, epoch, m, frame);
        continue;
      }
      st.sent = offset;
      n += 1;
      if (conn.run === run && conn.runEnd === index) conn.runEnd = index + 1;
      else out.joinRun(conn, run, index);
    }
    const { counters } = this.core;
    counters.deliveries += n;
    counters.framesOut += n;
  }

  private deliverLiveTo(
    conn: SessionConnection,
    stream: string,
    epoch: string,
    m: StoredMessage,
    frame: Buffer,
  ): void {
    const st = conn.streams.get(stream);
    if (!st) return;
    if (st.pending !== undefined) {
      if (!conn.isOpen) return;
      hold(conn, st, m);
      if (
        progressOf(conn).held + this.out.bufferedAmount(conn) > this.core.limits.highWaterMark ||
        st.pending.length >= MAX_PENDING
      ) {
        this.overflow(conn);
      }
      return;
    }
    if (epoch !== st.epoch) {
      // The stream's history was lost while connected (e.g. the store was flushed).
      this.sendGap(conn, stream, st, epoch, m.offset - 1, 'epoch');
    } else if (m.offset > st.sent + 1) {
      // Missed live messages (e.g. a pub/sub reconnect; never with the in-process engine, whose
      // delivery is complete and in order): catch up from history first.
      hold(conn, st, m);
      this.core.track(this.replay(conn, stream));
      return;
    }
    this.deliverTo(conn, st, m, frame);
  }

  /**
   * Live messages held during a replay went over the high-water mark (they count with the
   * socket's buffer). They are in history: drop them, the replay reads them again. If the
   * replay wrote nothing since the last time (its socket does not drain), it is a slow
   * consumer: close 4008. Memory held per connection stays under the mark either way.
   */
  private overflow(conn: SessionConnection): void {
    for (const stream of conn.streams.keys()) {
      const st = conn.streams.get(stream)!;
      if (st.pending !== undefined && st.pending !== REPLAYING) unhold(conn, st, []);
    }
    const progress = progressOf(conn);
    if (progress.replayed === progress.replayedAtOverflow) {
      this.pool.closeConn(conn, CloseCode.SlowConsumer, 'replay not drained');
      return;
    }
    progress.replayedAtOverflow = progress.replayed;
  }

  /** Send one frame of `text` to a stream's subscribers, dropping it for sockets over the volatile mark. */
  deliverShared(stream: string, text: string, except: Except | undefined): void {
    const subs = this.pool.subscribers.raw(stream);
    if (!subs) return;
    const frame = textFrame(text);
    if (subs instanceof Set) for (const conn of subs) this.deliverSharedTo(conn, frame, except);
    else this.deliverSharedTo(subs, frame, except);
  }

  private deliverSharedTo(conn: SessionConnection, frame: Buffer, except: Except | undefined): void {
    if (except && isExcluded(except, conn.sessionId, conn.user)) return;
    if (this.out.bufferedAmount(conn) > this.core.limits.volatileHighWaterMark) {
      this.core.counters.volatileDrops += 1;
      return;
    }
    this.out.send(conn, frame);
  }

  /** A presence event (the engine's `presence` listener). */
  deliverPresence(room: string, event: 'join' | 'leave', user: string, sessions: number): void {
    const stream = Streams.room(room);
    // Serialized only for a room with members here (presence reaches every node).
    if (!this.pool.subscribers.hasKey(stream)) return;
    this.deliverShared(stream, presenceFrame(room, event, user, sessions), undefined);
  }
}
