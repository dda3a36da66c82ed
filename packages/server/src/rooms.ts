/**
 * Room membership: join and leave (server-side and client-asked), one change at a time per
 * session, with presence events to the members.
 */
import { type AnyProtocol, ErrorCode, HoldfastError, Streams } from '@holdfast/protocol';
import type { SessionConnection } from './connection.js';
import type { Control } from './control.js';
import type { Core } from './core.js';
import type { Outbound } from './outbound.js';
import type { Presence } from './presence.js';
import { resError, resOk } from './wire.js';

/** Rooms of one server. */
export class Rooms<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly out: Outbound<P>;
  private readonly control: Control<P>;
  private readonly presence: Presence<P>;
  /** The tail of each session's chain of membership changes. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(core: Core<P>, out: Outbound<P>, control: Control<P>, presence: Presence<P>) {
    this.core = core;
    this.out = out;
    this.control = control;
    this.presence = presence;
  }

  /**
   * A client's `join`: asked of `authorizeJoin`, answered with `res` on the connection it came
   * on. The hook runs inside the session's queue, so `join` and `leave` frames of one session
   * take effect in the order received, whatever time the hook takes.
   */
  onJoinFrame(conn: SessionConnection, id: string, room: string): Promise<void> {
    const { core } = this;
    const { sessionId, user } = conn;
    const reply = (res: string) => void this.out.send(conn, res);
    return this.serially(sessionId, async () => {
      const hook = core.opts.authorizeJoin;
      let allowed = false;
      try {
        allowed = hook ? await hook({ sessionId, user, room, data: conn.data }) : false;
      } catch (err) {
        core.fail(err, 'authorizeJoin', { sessionId });
      }
      if (!allowed) {
        const why = hook
          ? 'Not allowed to join this room'
          : 'Clients may not join rooms: the server has no `authorizeJoin`';
        core.log.info({ sessionId, user, room, authorizeJoin: hook !== undefined }, 'join refused');
        return reply(resError(id, new HoldfastError(ErrorCode.Forbidden, why)));
      }
      try {
        reply(resOk(id, await this.joinNow(sessionId, room)));
      } catch (err) {
        const e =
          err instanceof HoldfastError ? err : new HoldfastError(ErrorCode.Unavailable, 'Join failed');
        if (!(err instanceof HoldfastError)) core.fail(err, 'join', { sessionId });
        reply(resError(id, e));
      }
    });
  }

  /** A client's `leave`, answered with `res` on the connection it came on. */
  async onLeaveFrame(conn: SessionConnection, id: string, room: string): Promise<void> {
    const { sessionId } = conn;
    try {
      await this.leave(sessionId, room);
      this.out.send(conn, resOk(id));
    } catch (err) {
      this.core.fail(err, 'leave', { sessionId });
      this.out.send(conn, resError(id, new HoldfastError(ErrorCode.Unavailable, 'Leave failed')));
    }
  }

  /** Add a session to a room (see `HoldfastServer.join`). */
  join(sessionId: string, room: string): Promise<{ stream: string; epoch: string; offset: number }> {
    // One membership change at a time per session, so the rooms-per-session check holds
    // against joins sent back to back.
    return this.serially(sessionId, () => this.joinNow(sessionId, room));
  }

  private async joinNow(
    sessionId: string,
    room: string,
  ): Promise<{ stream: string; epoch: string; offset: number }> {
    const { engine, limits } = this.core;
    const record = await engine.getSession(sessionId);
    if (!record) throw new HoldfastError(ErrorCode.Forbidden, 'Unknown session');
    const stream = Streams.room(room);
    if (record.rooms.includes(room)) {
      const acked = record.acked[stream] ?? (await engine.head(stream));
      return { stream, epoch: acked.epoch, offset: acked.offset };
    }
    if (record.rooms.length >= limits.roomsPerSession) {
      throw new HoldfastError(ErrorCode.LimitExceeded, `At most ${limits.roomsPerSession} rooms per session`);
    }
    const head = await engine.head(stream);
    // The subscription starts here: a resume never replays the room from before the join.
    await engine.saveStart(sessionId, { stream, epoch: head.epoch, offset: head.offset });
    await engine.joinRoom(room, sessionId, record.user);
    // The node holding the session's connection subscribes it and marks it present (presence
    // means connected: a session joined while disconnected is present when it reconnects).
    const published = this.control.dispatch({
      op: 'join',
      sessionId,
      room,
      stream,
      epoch: head.epoch,
      offset: head.offset,
    });
    if (published) await published;
    return { stream, epoch: head.epoch, offset: head.offset };
  }

  /** Remove a session from a room. */
  leave(sessionId: string, room: string): Promise<void> {
    return this.serially(sessionId, () => this.leaveNow(sessionId, room));
  }

  private async leaveNow(sessionId: string, room: string): Promise<void> {
    const { engine } = this.core;
    const record = await engine.getSession(sessionId);
    if (!record) return;
    const stream = Streams.room(room);
    await engine.leaveRoom(room, sessionId, record.user);
    const published = this.control.dispatch({ op: 'leave', sessionId, room, stream });
    if (published) await published;
    // After the membership is gone, so a reconnect cannot mark it present again.
    await this.presence.absent(room, sessionId, record.user);
  }

  /** Run `fn` after every earlier `serially` call with the same key has settled. */
  private serially<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return next;
  }
}
