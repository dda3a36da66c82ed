/**
 * Cross-node commands about a session (`disconnect`, `join`, `leave`): run here when the
 * session is connected to this node, else published for the node that has it.
 */
import type { AnyProtocol } from '@holdfast/protocol';
import { REPLAYING, type StreamState, unhold } from './connection.js';
import type { Core } from './core.js';
import type { Delivery } from './delivery.js';
import type { ControlCommand } from './engine.js';
import type { Outbound } from './outbound.js';
import type { Pool } from './pool.js';
import type { Presence } from './presence.js';
import { subJoinFrame, subLeaveFrame } from './wire.js';

/** Control commands of one server. */
export class Control<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly pool: Pool<P>;
  private readonly out: Outbound<P>;
  private readonly delivery: Delivery<P>;
  private readonly presence: Presence<P>;

  constructor(core: Core<P>, pool: Pool<P>, out: Outbound<P>, delivery: Delivery<P>, presence: Presence<P>) {
    this.core = core;
    this.pool = pool;
    this.out = out;
    this.delivery = delivery;
    this.presence = presence;
  }

  /**
   * Run the command now if its session is connected here (returns undefined: nothing to
   * await), else publish it to every node (returns the publish).
   */
  dispatch(command: ControlCommand): Promise<void> | undefined {
    if (!this.pool.sessionConns.has(command.sessionId)) return this.core.engine.publishControl(command);
    this.run(command);
    return undefined;
  }

  /** Does a join with rewind move this connection's start down (§10.5)? */
  private rewinds(st: StreamState, command: ControlCommand & { op: 'join' | 'leave' }): boolean {
    return command.rewind === true && (st.epoch !== command.epoch || command.offset! < st.sent);
  }

  /** A command for a session of this node (the engine's `control` listener). */
  run(command: ControlCommand): void {
    const { pool, out } = this;
    const conn = pool.sessionConns.get(command.sessionId);
    if (!conn) return;
    if (command.op === 'disconnect') {
      pool.closeConn(conn, command.code, command.reason);
      pool.detach(conn);
      return;
    }
    if (command.op === 'join') {
      const existing = conn.streams.get(command.stream);
      const { epoch, offset } = command;
      if (epoch !== undefined && offset !== undefined && (!existing || this.rewinds(existing, command))) {
        // A rewind of a stream the connection has: its live messages held so far are dropped
        // (the replay from the new start covers them) and its replay, if any, stops.
        if (existing) unhold(conn, existing, undefined);
        else pool.subscribe(conn, command.stream);
        conn.streams.set({
          stream: command.stream,
          next: undefined,
          epoch,
          sent: offset,
          pending: REPLAYING,
          acked: offset,
        });
        out.send(conn, subJoinFrame(command.room, command.stream, epoch, offset));
        // The open messages at or below the start first (§10.4), then anything appended
        // between reading the head and subscribing; live messages wait meanwhile.
        this.core.track(this.delivery.replay(conn, command.stream, true));
      }
      // Presence means connected: the member is present through this connection.
      this.core.track(this.presence.present(command.room, conn.sessionId, conn.user, conn.id));
    } else if (conn.streams.delete(command.stream)) {
      pool.unsubscribe(conn, command.stream);
      out.send(conn, subLeaveFrame(command.room, command.stream));
    }
  }
}
