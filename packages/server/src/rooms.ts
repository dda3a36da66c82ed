/**
 * Room membership: join and leave (server-side and client-asked), one change at a time per
 * session, with presence events to the members.
 */
import { type AnyProtocol, ErrorCode, HoldfastError, Streams, WireLimits } from '@holdfast/protocol';
import type { SessionConnection } from './connection.js';
import type { Control } from './control.js';
import type { Core } from './core.js';
import type { JoinDecision, Rewind } from './options.js';
import type { Outbound } from './outbound.js';
import type { Presence } from './presence.js';
import { resError, resOk } from './wire.js';

/** What a join answers: where the subscription starts, and how many entries a rewind replays. */
export interface JoinResult {
  stream: string;
  epoch: string;
  offset: number;
  /** With a rewind: the entries after `offset` the replay holds (§10.5). */
  rewound?: number;
}

/** A granted rewind: at most `count` entries, written at or after `since` (ms). */
interface Grant {
  count: number;
  since: number | undefined;
}

/**
 * The rewind a join gets (§10.5): the client's request capped by `authorizeJoin`'s bounds, or
 * by `maxRewind` when it set none; undefined when none is asked or granted.
 */
export function grantRewind(
  asked: Rewind | undefined,
  decision: JoinDecision,
  maxRewind: number,
  now: number,
): Grant | undefined {
  if (!asked || decision === false) return undefined;
  const cap = typeof decision === 'object' ? decision.rewind : undefined;
  if (cap === false) return undefined;
  const count = Math.min(asked.count ?? Number.POSITIVE_INFINITY, cap?.count ?? maxRewind);
  const ageMs = Math.min(asked.ageMs ?? Number.POSITIVE_INFINITY, cap?.ageMs ?? Number.POSITIVE_INFINITY);
  if (!(count >= 1) || !(ageMs >= 1)) return undefined;
  return { count, since: Number.isFinite(ageMs) ? now - ageMs : undefined };
}

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
  onJoinFrame(conn: SessionConnection, id: string, room: string, rewind?: Rewind): Promise<void> {
    const { core } = this;
    const { sessionId, user } = conn;
    const reply = (res: string) => void this.out.send(conn, res);
    return this.serially(sessionId, async () => {
      const hook = core.opts.authorizeJoin;
      let decision: JoinDecision = false;
      try {
        decision = hook
          ? await hook({ sessionId, user, room, data: conn.data, ...(rewind ? { rewind } : {}) })
          : false;
      } catch (err) {
        core.fail(err, 'authorizeJoin', { sessionId });
      }
      if (decision === false) {
        const why = hook
          ? 'Not allowed to join this room'
          : 'Clients may not join rooms: the server has no `authorizeJoin`';
        core.log.info({ sessionId, user, room, authorizeJoin: hook !== undefined }, 'join refused');
        return reply(resError(id, new HoldfastError(ErrorCode.Forbidden, why)));
      }
      const grant = grantRewind(rewind, decision, core.limits.maxRewind, core.clock.now());
      try {
        const result = await this.joinNow(sessionId, room, grant);
        // A rewind asked and not granted still answers how many entries it replays: none.
        reply(resOk(id, rewind && result.rewound === undefined ? { ...result, rewound: 0 } : result));
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
  join(sessionId: string, room: string, options: { rewind?: Rewind } = {}): Promise<JoinResult> {
    let grant: Grant | undefined;
    if (options.rewind !== undefined) {
      const { count, ageMs } = options.rewind;
      const int = (n: number | undefined, max: number) =>
        n === undefined || (Number.isInteger(n) && n >= 1 && n <= max);
      if (!int(count, WireLimits.rewind) || !int(ageMs, Number.MAX_SAFE_INTEGER)) {
        return Promise.reject(
          new HoldfastError(
            ErrorCode.ValidationFailed,
            'Invalid rewind: count 1-10000, ageMs >= 1 (integers)',
          ),
        );
      }
      grant = {
        count: count ?? WireLimits.rewind,
        since: ageMs === undefined ? undefined : this.core.clock.now() - ageMs,
      };
    }
    // One membership change at a time per session, so the rooms-per-session check holds
    // against joins sent back to back.
    return this.serially(sessionId, () => this.joinNow(sessionId, room, grant));
  }

  private async joinNow(sessionId: string, room: string, grant?: Grant): Promise<JoinResult> {
    const { engine, limits } = this.core;
    const record = await engine.getSession(sessionId);
    if (!record) throw new HoldfastError(ErrorCode.Forbidden, 'Unknown session');
    const stream = Streams.room(room);
    const member = record.rooms.includes(room);
    if (member && !grant) {
      const acked = record.acked[stream] ?? (await engine.head(stream));
      return { stream, epoch: acked.epoch, offset: acked.offset };
    }
    if (!member && record.rooms.length >= limits.roomsPerSession) {
      throw new HoldfastError(ErrorCode.LimitExceeded, `At most ${limits.roomsPerSession} rooms per session`);
    }
    let at: { epoch: string; offset: number };
    let rewound: number | undefined;
    if (grant && engine.rewindPoint) {
      const point = await engine.rewindPoint(stream, grant.count, grant.since);
      at = { epoch: point.epoch, offset: point.offset };
      rewound = point.count;
    } else at = await engine.head(stream);
    if (member && !rewound) {
      // Nothing to rewind in a room the session is in: nothing changes.
      const acked = record.acked[stream] ?? at;
      return { stream, epoch: acked.epoch, offset: acked.offset, rewound: 0 };
    }
    // The subscription starts here: a resume never replays the room from before it.
    await engine.saveStart(sessionId, { stream, epoch: at.epoch, offset: at.offset });
    if (!member) await engine.joinRoom(room, sessionId, record.user);
    // The node holding the session's connection subscribes it and marks it present (presence
    // means connected: a session joined while disconnected is present when it reconnects).
    const published = this.control.dispatch({
      op: 'join',
      sessionId,
      room,
      stream,
      epoch: at.epoch,
      offset: at.offset,
      ...(member ? { rewind: true } : {}),
    });
    if (published) await published;
    return { stream, epoch: at.epoch, offset: at.offset, ...(rewound !== undefined ? { rewound } : {}) };
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
