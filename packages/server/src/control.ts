/**
 * Cross-node commands about a session (`disconnect`, `join`, `leave`): run here when the
 * session is connected to this node, else published for the node that has it.
 */
import type { AnyProtocol } from '@holdfast/protocol';
import { REPLAYING } from './connection.js';
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
      if (!existing && command.epoch !== undefined && command.offset !== undefined) {
        conn.streams.set({
          stream: command.stream,
          next: undefined,
          epoch: command.epoch,
          sent: command.offset,
          pending: REPLAYING,
          acked: command.offset,
        });
        pool.subscribe(conn, command.stream);
        out.send(conn, subJoinFrame(command.room, command.stream, command.epoch, command.offset));
        // Anything appended between reading the head and subscribing is caught up here.
        this.core.track(this.delivery.replay(conn, command.stream));
      }
      // Presence means connected: the member is present through this connection.
      this.core.track(this.presence.present(command.room, conn.sessionId, conn.user, conn.id));
    } else if (conn.streams.delete(command.stream)) {
      pool.unsubscribe(conn, command.stream);
      out.send(conn, subLeaveFrame(command.room, command.stream));
    }
  }
}
