/**
 * Writing frames to connections: the per-tick coalescing writer (cork until the end of the
 * tick) and the slow-consumer policy (close with 4008 above the high-water mark).
 */
import { type AnyProtocol, CloseCode, type HoldfastError } from '@holdfast/protocol';
import type { Connection } from './connection.js';
import type { Core } from './core.js';
import { textFrame } from './frame.js';
import type { Pool } from './pool.js';
import { MAX_RUN_FRAMES, TickRun } from './tick-run.js';
import type { Transport } from './transport.js';
import { errorFrame } from './wire.js';

/** The writer of one server. */
export class Outbound<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly pool: Pool<P>;
  private readonly transport: Transport;
  private readonly highWaterMark: number;
  private readonly corkBytes: number;
  /** Ticks (of the event loop) in which something was written; see `send`. */
  private tick = 0;
  private tickPending = false;
  /** Connections corked in this tick. */
  private corked: Connection[] = [];
  /** The current run of each stream with live frames in this tick (see `joinRun`). */
  private runs = new Map<string, TickRun>();
  /** Connections that joined a run in this tick. */
  private running: Connection[] = [];

  constructor(core: Core<P>, pool: Pool<P>) {
    this.core = core;
    this.pool = pool;
    this.transport = pool.transport;
    this.highWaterMark = core.limits.highWaterMark;
    this.corkBytes = core.opts.corkBytes;
    pool.flushRun = (conn) => {
      if (conn.run !== undefined) this.flushRun(conn);
    };
  }

  /**
   * Write a text frame (`data`: JSON text, or a complete frame from `textFrame` shared by many
   * recipients); close the socket as a slow consumer when its buffer is over the mark.
   * Writes coalesce. A shared frame (a fan-out, which usually comes in bursts) corks the
   * socket until the end of the tick (or until `corkBytes` are held), so a burst costs one
   * syscall per socket instead of one per message. A reply (JSON text for one socket) goes out
   * at once if it is the socket's first write of the tick, and is corked with the rest if not.
   */
  send(conn: Connection, data: string | Buffer, paced = false, flushed?: () => void): boolean {
    if (!conn.isOpen) return false;
    // Live frames this socket is due come first.
    if (conn.run !== undefined) this.flushRun(conn);
    this.core.counters.framesOut += 1;
    return this.write(
      conn,
      typeof data === 'string' ? textFrame(data) : data,
      typeof data === 'string',
      paced,
      flushed,
    );
  }

  /** `send` of a complete frame (`reply`: JSON text for this socket alone). */
  private write(
    conn: Connection,
    frame: Buffer,
    reply: boolean,
    paced = false,
    flushed?: () => void,
  ): boolean {
    const transport = this.transport;
    this.scheduleTick();
    if (reply && conn.writeTick !== this.tick) conn.writeTick = this.tick;
    else if (!conn.corked) {
      conn.corked = true;
      transport.cork(conn);
      this.corked.push(conn);
    }
    transport.write(conn, frame, flushed);
    // A long burst in one tick (an `await` loop of sends never yields to the event loop) is
    // written as it goes, not held until the loop ends.
    if (conn.corked && transport.bufferedAmount(conn) >= this.corkBytes) {
      conn.corked = false;
      transport.uncork(conn);
    }
    // A paced sender (replay) waits for the buffer to drain instead.
    if (!paced && transport.bufferedAmount(conn) > this.highWaterMark) {
      this.pool.closeConn(conn, CloseCode.SlowConsumer, 'outbound buffer full');
    }
    return true;
  }

  private scheduleTick(): void {
    if (this.tickPending) return;
    this.tickPending = true;
    process.nextTick(this.endTick);
  }

  /**
   * The run of `stream`'s live frames in this tick with `frame` added to it; `frame`'s index
   * in it is `run.frames.length - 1`. Its recipients then call `joinRun` (or take the fast
   * path that `joinRun` describes). A run is cut at `corkBytes`, like a corked socket.
   */
  runFor(stream: string, frame: Buffer): TickRun {
    let run = this.runs.get(stream);
    if (run === undefined || run.bytes >= this.corkBytes || run.frames.length >= MAX_RUN_FRAMES - 1) {
      run = new TickRun();
      this.runs.set(stream, run);
      this.scheduleTick();
    }
    run.push(frame);
    return run;
  }

  /**
   * Give `conn` frame `index` of `run`, to be written with the rest of its span at the end of
   * the tick. A socket that already holds `run`'s frames up to `index - 1` only needs its
   * `runEnd` moved (`conn.runEnd = index + 1`: callers do that inline, the per-recipient cost
   * of a fan-out); otherwise it comes here, which first writes the span it held.
   * The slow-consumer check is made when the span is written; a socket joins a run only while
   * a whole run (at most `corkBytes` and one frame) cannot take it past the high-water mark, so
   * it is still closed at most one frame past the mark. A socket nearer the mark gets the frame
   * by `send`, checked frame by frame.
   */
  joinRun(conn: Connection, run: TickRun, index: number): void {
    if (conn.run === run && conn.runEnd === index) {
      conn.runEnd = index + 1;
      return;
    }
    if (!conn.isOpen) return;
    if (conn.run !== undefined) this.flushRun(conn);
    if (this.transport.bufferedAmount(conn) + this.corkBytes > this.highWaterMark) {
      this.write(conn, run.frames[index]!, false);
      return;
    }
    conn.run = run;
    conn.runStart = index;
    conn.runEnd = index + 1;
    this.running.push(conn);
  }

  /** Write the span of live frames `conn` holds (before another frame, or when its run ends). */
  private flushRun(conn: Connection): void {
    const run = conn.run!;
    conn.run = undefined;
    this.write(conn, run.span(conn.runStart, conn.runEnd), false);
  }

  private readonly endTick = (): void => {
    this.tick += 1;
    this.tickPending = false;
    if (this.runs.size > 0) this.endRuns();
    if (this.corked.length === 0) return;
    const list = this.corked;
    this.corked = [];
    for (const conn of list) {
      if (!conn.corked) continue;
      conn.corked = false;
      try {
        this.transport.uncork(conn);
      } catch (err) {
        this.core.log.debug({ err, connectionId: conn.id }, 'uncork failed');
      }
    }
  };

  /**
   * Write every span of live frames held at the end of the tick: one buffer per socket, the
   * same buffer for every socket with the same span (into the socket's cork if it has one).
   */
  private endRuns(): void {
    const list = this.running;
    this.running = [];
    this.runs.clear();
    const { transport, highWaterMark } = this;
    for (const conn of list) {
      const run = conn.run;
      if (run === undefined) continue;
      conn.run = undefined;
      if (!conn.isOpen) continue;
      try {
        transport.write(conn, run.span(conn.runStart, conn.runEnd));
      } catch (err) {
        this.core.log.debug({ err, connectionId: conn.id }, 'write failed');
        continue;
      }
      if (transport.bufferedAmount(conn) > highWaterMark) {
        this.pool.closeConn(conn, CloseCode.SlowConsumer, 'outbound buffer full');
      }
    }
  }

  /** Send an `error` frame. */
  sendError(conn: Connection, error: HoldfastError): void {
    this.send(conn, errorFrame(error));
  }

  /** Send a reply to the session's connection on this node, if any. */
  sendRes(sessionId: string, res: string): void {
    const conn = this.pool.sessionConns.get(sessionId);
    if (conn) this.send(conn, res);
  }

  /** Bytes buffered for the connection's peer (live frames held for the end of the tick included). */
  bufferedAmount(conn: Connection): number {
    const run = conn.run;
    const held = run === undefined ? 0 : run.bytesOf(conn.runStart, conn.runEnd);
    return this.transport.bufferedAmount(conn) + held;
  }
}
