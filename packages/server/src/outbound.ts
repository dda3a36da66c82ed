/**
 * Writing frames to connections: the per-tick coalescing writer (cork until the end of the
 * tick) and the slow-consumer policy (close with 4008 above the high-water mark).
 */
import { type AnyProtocol, CloseCode, type HoldfastError } from '@holdfast/protocol';
import type { Connection } from './connection.js';
import type { Core } from './core.js';
import { textFrame } from './frame.js';
import type { Pool } from './pool.js';
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

  constructor(core: Core<P>, pool: Pool<P>) {
    this.core = core;
    this.pool = pool;
    this.transport = pool.transport;
    this.highWaterMark = core.limits.highWaterMark;
    this.corkBytes = core.opts.corkBytes;
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
    const frame = typeof data === 'string' ? textFrame(data) : data;
    const transport = this.transport;
    if (!this.tickPending) {
      this.tickPending = true;
      process.nextTick(this.endTick);
    }
    if (typeof data === 'string' && conn.writeTick !== this.tick) conn.writeTick = this.tick;
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
    this.core.counters.framesOut += 1;
    // A paced sender (replay) waits for the buffer to drain instead.
    if (!paced && transport.bufferedAmount(conn) > this.highWaterMark) {
      this.pool.closeConn(conn, CloseCode.SlowConsumer, 'outbound buffer full');
    }
    return true;
  }

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
        this.transport.uncork(conn);
      } catch (err) {
        this.core.log.debug({ err, connectionId: conn.id }, 'uncork failed');
      }
    }
  };

  /** Send an `error` frame. */
  sendError(conn: Connection, error: HoldfastError): void {
    this.send(conn, errorFrame(error));
  }

  /** Send a reply to the session's connection on this node, if any. */
  sendRes(sessionId: string, res: string): void {
    const conn = this.pool.sessionConns.get(sessionId);
    if (conn) this.send(conn, res);
  }

  /** Bytes buffered for the connection's peer. */
  bufferedAmount(conn: Connection): number {
    return this.transport.bufferedAmount(conn);
  }
}
