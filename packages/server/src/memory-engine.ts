import type { Cursor } from '@holdfast/protocol';
import { smallInt } from './clock.js';
import type { ControlCommand, Engine, PresenceEntry, SessionRecord } from './engine.js';
import { HandledIds } from './handled-ids.js';
import {
  ACK_STRIDE,
  ackIndex,
  NO_START,
  packHash,
  packRooms,
  RoomPresence,
  type StoredSession,
  toRecord,
  withoutRoom,
  withRoom,
} from './memory-session.js';
import { type Listeners, type MemoryEngineOptions, MemoryStreams } from './memory-streams.js';
import { SetMap } from './set-map.js';

export type { MemoryEngineOptions } from './memory-streams.js';

/**
 * The default engine: everything in this process's memory. Nothing survives a restart (the
 * epoch changes, so clients are told of the gap). One process only; use `@holdfast/redis`
 * for many.
 */
export class MemoryEngine extends MemoryStreams implements Engine {
  private readonly sessions = new Map<string, StoredSession>();
  private readonly handled = new Map<string, HandledIds>();
  /** room -> sessionId -> user */
  private readonly rooms = new Map<string, Map<string, string>>();
  /** room -> its present (connected) member sessions */
  private readonly present = new Map<string, RoomPresence>();
  /** user -> connection ids */
  private readonly slots = new SetMap<string, string>();
  /** user -> session ids */
  private readonly userSessionIds = new SetMap<string, string>();

  constructor(options: MemoryEngineOptions = {}) {
    super(options);
    this.t0 = this.clock.now();
  }

  /** Base of stored times (creation, expiry): small integers, not 16-byte heap numbers. */
  private readonly t0: number;

  async start(listeners: Listeners): Promise<void> {
    this.listeners = listeners;
  }

  async close(): Promise<void> {
    this.listeners = undefined;
  }

  /** Retention figures and room count, for stats. */
  stats(): ReturnType<NonNullable<Engine['stats']>> {
    let messages = 0;
    let bytes = 0;
    for (const log of this.streams.values()) {
      messages += log.size;
      bytes += log.retainedBytes;
    }
    const handled = { ids: 0, bytes: 0 };
    for (const h of this.handled.values()) {
      handled.ids += h.ids.size;
      handled.bytes += h.bytes;
    }
    return { rooms: this.rooms.size, streams: this.streams.size, messages, bytes, handled };
  }

  async countSessions(): Promise<number> {
    return this.sessions.size;
  }

  async createSession(record: SessionRecord, ttlMs: number): Promise<void> {
    const acks: (string | number)[] = [];
    for (const [stream, c] of Object.entries(record.acked)) {
      const start = record.starts[stream];
      acks.push(stream, c.epoch, c.offset, start?.epoch ?? NO_START, start?.offset ?? 0);
    }
    for (const [stream, c] of Object.entries(record.starts))
      if (!record.acked[stream]) acks.push(stream, c.epoch, c.offset, c.epoch, c.offset);
    this.sessions.set(record.id, {
      user: record.user,
      resumeTokenHash: packHash(record.resumeTokenHash),
      createdAt: smallInt(record.createdAt - this.t0),
      rooms: packRooms(record.rooms),
      acks: acks.slice(),
      data: record.data,
      expiresAt: ttlMs > 0 ? smallInt(Math.max(1, this.clock.now() - this.t0 + ttlMs)) : 0,
      connections: 0,
    });
    this.userSessionIds.add(record.user, record.id);
  }

  async getSession(id: string): Promise<SessionRecord | undefined> {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (s.expiresAt !== 0 && s.expiresAt <= this.clock.now() - this.t0) return undefined;
    return toRecord(id, s, this.t0);
  }

  async saveAcks(id: string, cursors: readonly Cursor[]): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    for (const c of cursors) {
      const i = ackIndex(s.acks, c.stream);
      if (i === -1) s.acks = s.acks.concat(c.stream, c.epoch, c.offset, NO_START, 0);
      else {
        s.acks[i + 1] = c.epoch;
        s.acks[i + 2] = c.offset;
      }
    }
  }

  async saveStart(id: string, c: Cursor): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    const i = ackIndex(s.acks, c.stream);
    if (i === -1) s.acks = s.acks.concat(c.stream, c.epoch, c.offset, c.epoch, c.offset);
    else s.acks.splice(i + 1, 4, c.epoch, c.offset, c.epoch, c.offset);
  }

  async markConnected(id: string): Promise<number> {
    const s = this.sessions.get(id);
    if (!s) return 0;
    s.expiresAt = 0;
    return s.connections++;
  }

  async touchSession(id: string, ttlMs: number): Promise<void> {
    const s = this.sessions.get(id);
    if (s) s.expiresAt = ttlMs > 0 ? smallInt(Math.max(1, this.clock.now() - this.t0 + ttlMs)) : 0;
  }

  async deleteSession(id: string): Promise<SessionRecord | undefined> {
    const s = this.sessions.get(id);
    if (!s) return undefined;
    this.sessions.delete(id);
    this.handled.delete(id);
    this.userSessionIds.delete(s.user, id);
    this.streams.delete(`session:${id}`);
    if (!this.userSessionIds.hasKey(s.user)) {
      // No session can resume with a cursor of a user stream whose sessions are all gone: free
      // it. A later session of the user starts at the stream's head, whatever it is then.
      this.streams.delete(`user:${s.user}`);
    }
    return toRecord(id, s, this.t0);
  }

  async expiredSessions(now: number): Promise<string[]> {
    const out: string[] = [];
    const rel = now - this.t0;
    for (const [id, s] of this.sessions) if (s.expiresAt !== 0 && s.expiresAt <= rel) out.push(id);
    return out;
  }

  async getHandled(sessionId: string, messageId: string): Promise<string | undefined> {
    return this.handled.get(sessionId)?.ids.get(messageId);
  }

  async putHandled(
    sessionId: string,
    messageId: string,
    res: string,
    keep: number,
    keepBytes?: number,
  ): Promise<void> {
    this.putHandledNow(sessionId, messageId, res, keep, keepBytes);
  }

  /**
   * Handled ids are in this process: the server may read and write them synchronously. Not
   * offered by a subclass that overrides `getHandled` or `putHandled`, so the override runs.
   */
  get handledSync(): Engine['handledSync'] {
    const proto = MemoryEngine.prototype;
    if (this.getHandled !== proto.getHandled || this.putHandled !== proto.putHandled) return undefined;
    return this.syncHandled;
  }

  private readonly syncHandled = {
    get: (sessionId: string, messageId: string): string | undefined =>
      this.handled.get(sessionId)?.ids.get(messageId),
    put: (sessionId: string, messageId: string, res: string, keep: number, keepBytes?: number): void =>
      this.putHandledNow(sessionId, messageId, res, keep, keepBytes),
  };

  private putHandledNow(
    sessionId: string,
    messageId: string,
    res: string,
    keep: number,
    keepBytes?: number,
  ): void {
    let h = this.handled.get(sessionId);
    if (!h) {
      h = new HandledIds();
      this.handled.set(sessionId, h);
    }
    h.put(messageId, res, keep, keepBytes);
  }

  private userCount(members: Map<string, string>, user: string): number {
    let n = 0;
    for (const u of members.values()) if (u === user) n++;
    return n;
  }

  async joinRoom(
    room: string,
    sessionId: string,
    user: string,
  ): Promise<{ added: boolean; sessions: number }> {
    let members = this.rooms.get(room);
    if (!members) {
      members = new Map();
      this.rooms.set(room, members);
    }
    const added = !members.has(sessionId);
    members.set(sessionId, user);
    if (added) {
      const s = this.sessions.get(sessionId);
      if (s) s.rooms = withRoom(s.rooms, room);
    }
    return { added, sessions: this.userCount(members, user) };
  }

  async leaveRoom(
    room: string,
    sessionId: string,
    user: string,
  ): Promise<{ removed: boolean; sessions: number }> {
    const members = this.rooms.get(room);
    const removed = members?.delete(sessionId) ?? false;
    if (members?.size === 0) this.rooms.delete(room);
    const s = this.sessions.get(sessionId);
    if (s) {
      s.rooms = withoutRoom(s.rooms, room);
      const i = ackIndex(s.acks, `room:${room}`);
      if (i !== -1) s.acks = [...s.acks.slice(0, i), ...s.acks.slice(i + ACK_STRIDE)];
    }
    return { removed, sessions: members ? this.userCount(members, user) : 0 };
  }

  async markPresent(
    room: string,
    sessionId: string,
    user: string,
    connectionId: string,
  ): Promise<{ changed: boolean; sessions: number }> {
    const present = this.present.get(room);
    if (!this.rooms.get(room)?.has(sessionId)) return { changed: false, sessions: present?.count(user) ?? 0 };
    if (present?.sessions.has(sessionId)) {
      present.sessions.set(sessionId, connectionId);
      return { changed: false, sessions: present.count(user) };
    }
    const p = present ?? new RoomPresence();
    if (!present) this.present.set(room, p);
    p.sessions.set(sessionId, connectionId);
    p.users.set(user, p.count(user) + 1);
    return { changed: true, sessions: p.count(user) };
  }

  async markAbsent(
    room: string,
    sessionId: string,
    user: string,
    connectionId?: string,
  ): Promise<{ changed: boolean; sessions: number }> {
    const p = this.present.get(room);
    if (!p) return { changed: false, sessions: 0 };
    const conn = p.sessions.get(sessionId);
    if (conn === undefined || (connectionId !== undefined && conn !== connectionId))
      return { changed: false, sessions: p.count(user) };
    p.sessions.delete(sessionId);
    const n = p.count(user) - 1;
    if (n > 0) p.users.set(user, n);
    else p.users.delete(user);
    if (p.sessions.size === 0) this.present.delete(room);
    return { changed: true, sessions: n };
  }

  async presence(room: string): Promise<PresenceEntry[]> {
    return [...(this.present.get(room)?.users ?? [])].map(([user, sessions]) => ({ user, sessions }));
  }

  async roomSize(room: string): Promise<number> {
    return this.rooms.get(room)?.size ?? 0;
  }

  async roomSessions(room: string): Promise<string[]> {
    return [...(this.rooms.get(room)?.keys() ?? [])];
  }

  async publishPresence(
    room: string,
    event: 'join' | 'leave',
    user: string,
    sessions: number,
  ): Promise<void> {
    this.listeners?.presence(room, event, user, sessions);
  }

  async publishControl(command: ControlCommand): Promise<void> {
    this.listeners?.control(command);
  }

  async acquireUserSlot(user: string, connectionId: string, limit: number): Promise<boolean> {
    if (this.slots.has(user, connectionId)) return true;
    if (this.slots.count(user) >= limit) return false;
    this.slots.add(user, connectionId);
    return true;
  }

  async releaseUserSlot(user: string, connectionId: string): Promise<void> {
    this.slots.delete(user, connectionId);
  }

  async userConnectionCount(user: string): Promise<number> {
    return this.slots.count(user);
  }

  async userSessions(user: string): Promise<string[]> {
    return this.userSessionIds.list(user);
  }
}
