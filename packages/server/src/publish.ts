/**
 * The app's sends: validate once, serialize once, append to (or publish volatile on) the
 * audience's streams, and count the sessions addressed.
 */
import { type AnyProtocol, ENGLISH_MESSAGES, encodeMsgBody, Streams } from '@holdfast/protocol';
import type { SendOptions } from './api.js';
import type { Core } from './core.js';
import type { Except } from './engine.js';
import { countIncluded, isExcluded, normalizeExcept } from './except.js';
import type { Pool } from './pool.js';
import { volFrame } from './wire.js';

/** App sends of one server. */
export class Publish<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly pool: Pool<P>;

  constructor(core: Core<P>, pool: Pool<P>) {
    this.core = core;
    this.pool = pool;
  }

  private async publish(
    streams: string[],
    type: string,
    data: unknown,
    options: SendOptions = {},
  ): Promise<void> {
    const { core } = this;
    this.validate(type, data);
    const now = core.clock.now();
    // Serialized once, whatever the audience.
    const body = encodeMsgBody(type, data, now);
    const except = normalizeExcept(options.except);
    if (options.volatile) {
      for (const stream of streams) await core.engine.publishVolatile(stream, volFrame(stream, body), except);
      return;
    }
    try {
      for (const stream of streams) {
        await core.engine.append(stream, body, except);
        core.counters.published += 1;
      }
    } catch (err) {
      core.counters.engineErrors += 1;
      throw err;
    }
  }

  /** Throw the protocol's `VALIDATION_FAILED` error for data that does not fit the type. */
  private validate(type: string, data: unknown): void {
    const checked = this.core.protocol.parseServer(type, data, ENGLISH_MESSAGES);
    if (!checked.ok) throw checked.error;
  }

  /** See `HoldfastServer.sendToSession`. */
  async toSession(sessionId: string, type: string, data: unknown, options?: SendOptions): Promise<number> {
    const record = await this.core.engine.getSession(sessionId);
    // Validated whatever the audience: a bad send fails even when nobody would get it.
    if (!record || isExcluded(options?.except, sessionId, record.user)) {
      this.validate(type, data);
      return 0;
    }
    await this.publish([Streams.session(sessionId)], type, data, options);
    return 1;
  }

  /** See `HoldfastServer.sendToUser`. */
  async toUser(user: string, type: string, data: unknown, options?: SendOptions): Promise<number> {
    if (options?.except?.users?.includes(user)) {
      this.validate(type, data);
      return 0;
    }
    const sessions = await this.core.engine.userSessions(user);
    await this.publish([Streams.user(user)], type, data, options);
    return countIncluded(sessions, undefined, options?.except);
  }

  /** See `HoldfastServer.sendToRoom`. */
  async toRoom(
    rooms: string | readonly string[],
    type: string,
    data: unknown,
    options: SendOptions = {},
  ): Promise<number> {
    const { engine } = this.core;
    const list = typeof rooms === 'string' ? [rooms] : [...new Set(rooms)];
    if (list.length === 0) this.validate(type, data);
    if (list.length === 1) {
      const room = list[0]!;
      const except = normalizeExcept(options.except);
      if (!except) {
        // The common case costs O(1) storage reads for the count, whatever the room's size.
        const size = await engine.roomSize(room);
        await this.publish([Streams.room(room)], type, data, options);
        return size;
      }
      const members = await engine.roomSessions(room);
      const users = except.users?.length ? await this.sessionUsers(members) : undefined;
      await this.publish([Streams.room(room)], type, data, options);
      return countIncluded(members, users, except);
    }
    // Several rooms: a session already reached through an earlier room is excluded from later ones.
    const seen = new Set<string>();
    let count = 0;
    for (const room of list) {
      const members = await engine.roomSessions(room);
      const users = options.except?.users?.length ? await this.sessionUsers(members) : undefined;
      const fresh = members.filter((m) => !seen.has(m));
      const except: Except = {
        sessions: [...(options.except?.sessions ?? []), ...seen],
        users: options.except?.users ?? [],
      };
      count += countIncluded(fresh, users, options.except);
      await this.publish([Streams.room(room)], type, data, { ...options, except });
      for (const m of members) seen.add(m);
    }
    return count;
  }

  /** See `HoldfastServer.broadcast`. */
  async toAll(type: string, data: unknown, options: SendOptions = {}): Promise<number> {
    const { engine } = this.core;
    const total = await engine.countSessions();
    await this.publish([Streams.broadcast], type, data, options);
    let excluded = options.except?.sessions?.length ?? 0;
    for (const user of options.except?.users ?? []) excluded += (await engine.userSessions(user)).length;
    return Math.max(0, total - excluded);
  }

  private async sessionUsers(ids: string[]): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    for (const id of ids) {
      const local = this.pool.sessionConns.get(id)?.user;
      if (local) map.set(id, local);
      else {
        const r = await this.core.engine.getSession(id);
        if (r) map.set(id, r.user);
      }
    }
    return map;
  }
}
