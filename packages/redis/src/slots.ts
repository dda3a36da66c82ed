import type { Link } from './link.js';
import { ACQUIRE_SLOT } from './scripts.js';

/**
 * Per-user connection slots, shared by every node: a sorted set per user of connection ids
 * scored by expiry. Slots expire unless the node holding the connection renews them, so a
 * dead node's connections stop counting against the per-user limit.
 */
export class Slots {
  /** Connection id -> user, for the slots this node holds. */
  private readonly held = new Map<string, string>();

  constructor(
    private readonly link: Link,
    private readonly ttlMs: number,
  ) {}

  /** How many slots this node holds. */
  get size(): number {
    return this.held.size;
  }

  /** Take one of the user's `limit` connection slots, atomically across nodes. */
  async acquire(user: string, connectionId: string, limit: number): Promise<boolean> {
    const { link } = this;
    const ok = await link.run<number>(
      ACQUIRE_SLOT,
      [link.keys.userSlots(user)],
      [link.clock.now(), this.ttlMs, connectionId, limit],
    );
    if (ok === 1) this.held.set(connectionId, user);
    return ok === 1;
  }

  /** Give a connection's slot back. */
  async release(user: string, connectionId: string): Promise<void> {
    // Forget it locally first: a renewal issued after this point cannot resurrect it, and
    // one issued before reaches Redis before this ZREM (same connection, in order).
    this.held.delete(connectionId);
    await this.link.cmd.zRem(this.link.keys.userSlots(user), connectionId);
  }

  /** Live connections of a user across nodes. */
  count(user: string): Promise<number> {
    return this.link.cmd.zCount(this.link.keys.userSlots(user), `(${this.link.clock.now()}`, '+inf');
  }

  /** Renew the slots of every connection here. */
  async renew(): Promise<void> {
    const { cmd, keys, clock } = this.link;
    const byUser = new Map<string, string[]>();
    for (const [conn, user] of this.held) {
      const list = byUser.get(user);
      if (list) list.push(conn);
      else byUser.set(user, [conn]);
    }
    const expiresAt = clock.now() + this.ttlMs;
    const work: Promise<unknown>[] = [];
    for (const [user, conns] of byUser) {
      const key = keys.userSlots(user);
      work.push(
        cmd.zAdd(
          key,
          conns.map((value) => ({ score: expiresAt, value })),
        ),
      );
      work.push(cmd.pExpire(key, this.ttlMs));
    }
    await Promise.all(work);
  }
}
