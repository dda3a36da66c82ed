import { Streams } from '@holdfast/protocol';
import type { PresenceEntry } from '@holdfast/server';
import type { Link } from './link.js';
import { encodePresence } from './payload.js';
import { JOIN_ROOM, LEAVE_ROOM, MARK_ABSENT, MARK_PRESENT, SESSION_JOIN } from './scripts.js';

/**
 * Room membership and presence, shared by every node: per room a hash of member sessions
 * and a hash of per-user session counts; a hash of present (connected) member sessions, each
 * with the connection that makes it present, and a hash of per-user present counts (so
 * presence is one HGETALL whatever the room's size); the session's record lists its rooms. Presence changes travel on the room
 * stream's channel, to the nodes watching the room.
 */
export class Rooms {
  constructor(private readonly link: Link) {}

  /** Add a session to a room (and the room to the session's record). */
  async join(room: string, sessionId: string, user: string): Promise<{ added: boolean; sessions: number }> {
    const { link } = this;
    await link.run(SESSION_JOIN, [link.keys.session(sessionId)], [room]);
    const [added, sessions] = await link.run<[number, number]>(
      JOIN_ROOM,
      [link.keys.roomMembers(room), link.keys.roomUsers(room)],
      [sessionId, user],
    );
    return { added: added === 1, sessions: Number(sessions) };
  }

  /** Remove a session from a room (and the room and its cursor from the session's record). */
  async leave(
    room: string,
    sessionId: string,
    user: string,
  ): Promise<{ removed: boolean; sessions: number }> {
    const { link } = this;
    const [[removed, sessions]] = await Promise.all([
      link.run<[number, number]>(
        LEAVE_ROOM,
        [link.keys.roomMembers(room), link.keys.roomUsers(room)],
        [sessionId, user],
      ),
      link.cmd.hDel(link.keys.session(sessionId), [
        `r:${room}`,
        `a:${Streams.room(room)}`,
        `s:${Streams.room(room)}`,
      ]),
    ]);
    return { removed: removed === 1, sessions: Number(sessions) };
  }

  /** Mark a member session present through a connection (not a member: nothing changes). */
  async markPresent(
    room: string,
    sessionId: string,
    user: string,
    connectionId: string,
  ): Promise<{ changed: boolean; sessions: number }> {
    const { keys } = this.link;
    const [changed, sessions] = await this.link.run<[number, number]>(
      MARK_PRESENT,
      [keys.roomMembers(room), keys.roomPresent(room), keys.roomPresentUsers(room)],
      [sessionId, user, connectionId],
    );
    return { changed: changed === 1, sessions: Number(sessions) };
  }

  /** Mark a session absent (with `connectionId`: only while present through it). */
  async markAbsent(
    room: string,
    sessionId: string,
    user: string,
    connectionId?: string,
  ): Promise<{ changed: boolean; sessions: number }> {
    const { keys } = this.link;
    const [changed, sessions] = await this.link.run<[number, number]>(
      MARK_ABSENT,
      [keys.roomPresent(room), keys.roomPresentUsers(room)],
      [sessionId, user, connectionId ?? ''],
    );
    return { changed: changed === 1, sessions: Number(sessions) };
  }

  /** Present users of a room, across nodes. */
  async presence(room: string): Promise<PresenceEntry[]> {
    const counts = await this.link.cmd.hGetAll(this.link.keys.roomPresentUsers(room));
    const out: PresenceEntry[] = [];
    for (const [user, n] of Object.entries(counts))
      if (Number(n) > 0) out.push({ user, sessions: Number(n) });
    return out;
  }

  /** Session ids in a room, across nodes. */
  sessions(room: string): Promise<string[]> {
    return this.link.cmd.hKeys(this.link.keys.roomMembers(room));
  }

  /** How many sessions are in a room: one HLEN, whatever the room's size. */
  size(room: string): Promise<number> {
    return this.link.cmd.hLen(this.link.keys.roomMembers(room));
  }

  /** Publish a presence change on the room stream's channel (nodes watching the room get it). */
  async publishPresence(
    room: string,
    event: 'join' | 'leave',
    user: string,
    sessions: number,
  ): Promise<void> {
    await this.link.publish(
      this.link.keys.streamChannel(Streams.room(room)),
      encodePresence(room, event, user, sessions),
    );
  }
}
