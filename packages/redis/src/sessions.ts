import { type Cursor, Streams } from '@holdfast/protocol';
import type { SessionRecord } from '@holdfast/server';
import type { Link } from './link.js';
import { CLAIM_EXPIRED, DELETE_SESSION, LIVE_MEMBERS, TOUCH, UPDATE_SESSION } from './scripts.js';
import { decodeSession, encodeCursor, encodeSession, pairs } from './session-record.js';

/** Redis keeps a session's keys this long past its expiry, in case no node is left to expire it. */
export const BACKSTOP_MS = 86_400_000;
/** A node that listed an expired session has this long to delete it before others retry. */
const EXPIRY_CLAIM_MS = 30_000;
/** Expired sessions listed per call. */
const EXPIRED_LIMIT = 1000;
/** Leases renewed per batch (bounds memory and reply sizes). */
const BATCH = 500;

/** A session's expiry, user and connection count after a touch. */
interface Touched {
  expiresAt: number;
  user: string;
  connections: number;
}

/**
 * Sessions shared by every node: one hash per session (user, resume token hash, rooms,
 * acked cursors, expiry, owner node), indexed by expiry cluster-wide and per user. A session
 * connected to a node is under that node's lease, which it renews; a disconnected one lives
 * for its resume TTL. Any node can load, resume or expire any session.
 */
export class Sessions {
  /** Sessions connected to this node: their lease is renewed here. */
  private readonly leased = new Set<string>();
  /** Session ids listed by `expired` (-> when): their deletion right after is conditional. */
  private readonly claimedExpired = new Map<string, number>();

  constructor(
    private readonly link: Link,
    private readonly nodeId: string,
    private readonly leaseMs: number,
  ) {}

  /** How many sessions this node holds the lease of. */
  get leasedCount(): number {
    return this.leased.size;
  }

  private async index(id: string, user: string, expiresAt: number): Promise<void> {
    const { cmd, keys } = this.link;
    await Promise.all([
      cmd.zAdd(keys.sessionExpiry, { score: expiresAt, value: id }),
      cmd.zAdd(keys.userSessions(user), { score: expiresAt, value: id }),
    ]);
  }

  /** Store a new session (ttl 0: connected here, under this node's lease). */
  async create(record: SessionRecord, ttlMs: number): Promise<void> {
    const { cmd, keys, clock } = this.link;
    const now = clock.now();
    const connected = ttlMs <= 0;
    const expiresAt = now + (connected ? this.leaseMs : ttlMs);
    const key = keys.session(record.id);
    await cmd
      .multi()
      .del(key)
      .hSet(key, encodeSession(record, expiresAt, connected ? this.nodeId : ''))
      .pExpire(key, expiresAt - now + BACKSTOP_MS)
      .exec();
    await this.index(record.id, record.user, expiresAt);
    if (connected) this.leased.add(record.id);
  }

  /** Load a session; undefined when missing or past its expiry. */
  async get(id: string): Promise<SessionRecord | undefined> {
    const fields = await this.link.cmd.hGetAll(this.link.keys.session(id));
    if (fields.u === undefined) return undefined;
    if (Number(fields.e ?? 0) <= this.link.clock.now()) return undefined;
    return decodeSession(id, fields);
  }

  /** Record acked cursors (only while the session exists). */
  async saveAcks(id: string, cursors: readonly Cursor[]): Promise<void> {
    if (cursors.length === 0) return;
    const args: string[] = [];
    for (const c of cursors) args.push(`a:${c.stream}`, encodeCursor(c.epoch, c.offset));
    await this.link.run(UPDATE_SESSION, [this.link.keys.session(id)], args);
  }

  /** Record where a subscription starts (a join): its start and its acked cursor, in one write. */
  async saveStart(id: string, c: Cursor): Promise<void> {
    const value = encodeCursor(c.epoch, c.offset);
    await this.link.run(
      UPDATE_SESSION,
      [this.link.keys.session(id)],
      [`a:${c.stream}`, value, `s:${c.stream}`, value],
    );
  }

  private async touch(
    id: string,
    mode: 'connect' | 'touch' | 'refresh',
    ttlMs: number,
  ): Promise<Touched | undefined> {
    const { link } = this;
    const r = await link.run<[number, string?, number?]>(TOUCH, link.keys.sessionKeys(id), [
      mode,
      link.clock.now(),
      ttlMs,
      this.leaseMs,
      this.nodeId,
      BACKSTOP_MS,
    ]);
    if (r[0] < 0) return undefined;
    return { expiresAt: Number(r[0]), user: r[1] ?? '', connections: Number(r[2] ?? 0) };
  }

  /** A connection attached here: this node owns the session's lease. Returns earlier connections. */
  async markConnected(id: string): Promise<number> {
    const t = await this.touch(id, 'connect', 0);
    if (!t) return 0;
    this.leased.add(id);
    this.claimedExpired.delete(id);
    await this.index(id, t.user, t.expiresAt);
    return t.connections;
  }

  /**
   * ttl 0: connected here (lease). ttl > 0: disconnected, resumable for ttl; ignored when the
   * session is connected to another node by now (a late close of a replaced connection).
   */
  async touchSession(id: string, ttlMs: number): Promise<void> {
    const t = await this.touch(id, 'touch', ttlMs);
    if (ttlMs > 0 || !t) this.leased.delete(id);
    else this.leased.add(id);
    if (t) await this.index(id, t.user, t.expiresAt);
  }

  /**
   * Delete a session, its handled ids and its stream; exactly one caller (on any node) gets
   * the record. A session listed by `expired` is only deleted if still expired.
   */
  async delete(id: string): Promise<SessionRecord | undefined> {
    const { link } = this;
    const { cmd, keys, clock } = link;
    const listedAt = this.claimedExpired.get(id);
    this.claimedExpired.delete(id);
    const conditional = listedAt !== undefined && clock.now() - listedAt < EXPIRY_CLAIM_MS;
    const stream = Streams.session(id);
    const r = await link.run<[number, string[] | string | undefined]>(
      DELETE_SESSION,
      [...keys.sessionKeys(id), ...keys.streamKeys(stream)],
      [clock.now(), conditional ? '1' : '0'],
    );
    if (r[0] === 2) {
      // Resumed since it was listed: put it back in the index with its new expiry.
      await cmd.zAdd(keys.sessionExpiry, { score: Number(r[1]), value: id });
      return undefined;
    }
    this.leased.delete(id);
    if (r[0] === 0) {
      await cmd.zRem(keys.sessionExpiry, id);
      return undefined;
    }
    const record = decodeSession(id, pairs(r[1] as string[]));
    await Promise.all([cmd.zRem(keys.sessionExpiry, id), cmd.zRem(keys.userSessions(record.user), id)]);
    if ((await cmd.zCard(keys.userSessions(record.user))) === 0) {
      // No session can resume with a cursor of a user stream whose sessions are all gone:
      // free it (as the memory engine does) instead of leaving its keys for the idle TTL. A
      // later session of the user starts at the stream's head, in a new epoch. (The parts lists
      // of its growing messages expire by their TTL; a message started later empties its own.)
      await cmd.del(keys.streamKeys(Streams.user(record.user)));
    }
    return record;
  }

  /**
   * Sessions past their expiry, across the cluster. Each is claimed for a while, so the
   * nodes' sweeps do not all expire the same sessions.
   */
  async expired(now: number): Promise<string[]> {
    const ids = await this.link.run<string[]>(
      CLAIM_EXPIRED,
      [this.link.keys.sessionExpiry],
      [now, now + EXPIRY_CLAIM_MS, EXPIRED_LIMIT],
    );
    for (const id of ids) this.claimedExpired.set(id, now);
    return ids;
  }

  /** Sessions of a user that exist (not past their expiry), across nodes. */
  ofUser(user: string): Promise<string[]> {
    return this.link.run<string[]>(
      LIVE_MEMBERS,
      [this.link.keys.userSessions(user)],
      [this.link.clock.now()],
    );
  }

  /** Sessions across nodes (including expired ones no sweep has removed yet). */
  count(): Promise<number> {
    return this.link.cmd.zCard(this.link.keys.sessionExpiry);
  }

  /** Renew the lease of every session connected here (no-op for those owned elsewhere now). */
  async renewLeases(): Promise<void> {
    const { cmd, keys } = this.link;
    const ids = [...this.leased];
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const results = await Promise.all(batch.map((id) => this.touch(id, 'refresh', 0)));
      // One ZADD for the cluster-wide index, one per user for the per-user ones.
      const all: { score: number; value: string }[] = [];
      const byUser = new Map<string, { score: number; value: string }[]>();
      results.forEach((t, j) => {
        const id = batch[j]!;
        if (!t) {
          this.leased.delete(id);
          return;
        }
        const member = { score: t.expiresAt, value: id };
        all.push(member);
        const list = byUser.get(t.user);
        if (list) list.push(member);
        else byUser.set(t.user, [member]);
      });
      if (all.length === 0) continue;
      await Promise.all([
        cmd.zAdd(keys.sessionExpiry, all),
        ...[...byUser].map(([user, members]) => cmd.zAdd(keys.userSessions(user), members)),
      ]);
    }
  }
}
