/**
 * What an in-band `refresh` changes besides the token's expiry: the connection's auth data is
 * replaced (handled by `Handshake.refresh`), and, with the `reauthorizeRoom` option, every room
 * of the session is asked again with the new data; rooms refused are left.
 */
import type { AnyProtocol } from '@holdfast/protocol';
import type { SessionConnection } from './connection.js';
import type { Core } from './core.js';
import type { Handshake } from './handshake.js';
import type { Rooms } from './rooms.js';

/** Refreshes of one server. */
export class Reauthorize<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly handshake: Handshake<P>;
  private readonly rooms: Rooms<P>;

  constructor(core: Core<P>, handshake: Handshake<P>, rooms: Rooms<P>) {
    this.core = core;
    this.handshake = handshake;
    this.rooms = rooms;
  }

  /** A `refresh` frame: authenticate again, then re-check the session's rooms (if asked to). */
  async onRefresh(conn: SessionConnection, id: string, token: string): Promise<void> {
    const accepted = await this.handshake.refresh(conn, id, token);
    const hook = this.core.opts.reauthorizeRoom;
    if (!accepted || !hook) return;
    const { sessionId, user } = conn;
    const record = await this.core.engine.getSession(sessionId);
    for (const room of record?.rooms ?? []) {
      let allowed = false;
      try {
        allowed = (await hook({ sessionId, user, room, data: conn.data })) !== false;
      } catch (err) {
        this.core.fail(err, 'reauthorizeRoom', { sessionId });
      }
      if (!allowed) await this.rooms.leave(sessionId, room);
    }
  }
}
