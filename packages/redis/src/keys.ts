import { Streams } from '@holdfast/protocol';

/**
 * Every Redis key and channel name the engine uses, under one prefix.
 *
 * Keys that one script touches together share a `{hash tag}`, so they live in one Redis
 * Cluster slot: a stream's meta, log and channel (`{s:<stream>}`); a session's record,
 * handled ids and claims, which use the tag of the session's own stream so that deleting a
 * session and its stream is one atomic script; a room's members and per-user counts
 * (`{r:<room>}`); a user's sessions and connection slots (`{u:<user>}`). Cluster-wide
 * indexes use `{g}`.
 */
export class Keys {
  constructor(readonly prefix: string) {
    if (/[{}]/.test(prefix)) throw new TypeError('the Redis key prefix must not contain "{" or "}"');
  }

  /** Hash: epoch, last offset, first retained offset, retained bytes, time of the oldest entry. */
  streamMeta(stream: string): string {
    return `${this.prefix}{s:${stream}}:meta`;
  }

  /**
   * Redis Stream of retained messages, one entry per message, id `<position>-0`: fields f
   * (frame), t (ms), x (except); a growing message has g (start), b (bytes), o (open) instead of f.
   */
  streamLog(stream: string): string {
    return `${this.prefix}{s:${stream}}:log`;
  }

  /**
   * Hash: start -> snapshot `msg` frame of each retained growing message (extension `appends`).
   * The `app` frames after a message's snapshot are the list `<this key>:<start>` (same slot).
   */
  streamGrowing(stream: string): string {
    return `${this.prefix}{s:${stream}}:g`;
  }

  /** The parts list of growing message `start` (see {@link Keys.streamGrowing}). */
  streamParts(stream: string, start: number): string {
    return `${this.streamGrowing(stream)}:${start}`;
  }

  /** Sorted set: start of each open growing message, scored by its position. */
  streamOpen(stream: string): string {
    return `${this.prefix}{s:${stream}}:o`;
  }

  /** What a stream stores, in the order the stream scripts expect them: meta, log, grow, open. */
  streamKeys(stream: string): [string, string, string, string] {
    return [
      this.streamMeta(stream),
      this.streamLog(stream),
      this.streamGrowing(stream),
      this.streamOpen(stream),
    ];
  }

  /** Pub/sub channel of a stream: appended messages, volatile frames and (rooms) presence. */
  streamChannel(stream: string): string {
    return `${this.prefix}{s:${stream}}:ch`;
  }

  private sessionTag(id: string): string {
    return `${this.prefix}{s:${Streams.session(id)}}`;
  }

  /** Hash: the session record (see `session-record.ts`). */
  session(id: string): string {
    return `${this.sessionTag(id)}:sess`;
  }

  /** Hash: handled client message id -> stored `res` frame. */
  handled(id: string): string {
    return `${this.sessionTag(id)}:done`;
  }

  /** List: handled ids, oldest first (to forget the oldest beyond `keep`). */
  handledOrder(id: string): string {
    return `${this.sessionTag(id)}:doneq`;
  }

  /** Hash: client message id -> `<nodeId>|<claim expiry ms>` while a handler runs. */
  claims(id: string): string {
    return `${this.sessionTag(id)}:run`;
  }

  /** The keys of one session, in the order the session scripts expect them. */
  sessionKeys(id: string): [string, string, string, string] {
    return [this.session(id), this.handled(id), this.handledOrder(id), this.claims(id)];
  }

  /** Sorted set: session id -> expiry (ms). Every existing session is in it. */
  get sessionExpiry(): string {
    return `${this.prefix}{g}:exp`;
  }

  /** Sorted set: session id -> expiry (ms), the sessions of one user. */
  userSessions(user: string): string {
    return `${this.prefix}{u:${user}}:sess`;
  }

  /** Sorted set: connection id -> slot expiry (ms), the connections of one user. */
  userSlots(user: string): string {
    return `${this.prefix}{u:${user}}:slots`;
  }

  /** Hash: session id -> the connection id holding that session's slot, for one user. */
  userSlotSessions(user: string): string {
    return `${this.prefix}{u:${user}}:slotsess`;
  }

  /** Hash: session id -> user, the members of a room. */
  roomMembers(room: string): string {
    return `${this.prefix}{r:${room}}:m`;
  }

  /** Hash: user -> number of that user's sessions in the room. */
  roomUsers(room: string): string {
    return `${this.prefix}{r:${room}}:u`;
  }

  /** Hash: session id -> the connection that makes it present, the present members of a room. */
  roomPresent(room: string): string {
    return `${this.prefix}{r:${room}}:p`;
  }

  /** Hash: user -> number of that user's present (connected) sessions in the room. */
  roomPresentUsers(room: string): string {
    return `${this.prefix}{r:${room}}:pu`;
  }

  /** Pub/sub channel of control commands (every node subscribes). */
  get control(): string {
    return `${this.prefix}{g}:ctl`;
  }
}
