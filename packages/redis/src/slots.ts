import type { Link } from './link.js';
import { ACQUIRE_SLOT, RELEASE_SLOT } from './scripts.js';

/** A slot this node holds. */
interface Held {
  user: string;
  /** The session the connection serves ('' when unknown). */
  session: string;
}

/**
 * Per-user connection slots, shared by every node: a sorted set per user of connection ids
 * scored by expiry. Slots expire unless the node holding the connection renews them, so a
 * dead node's connections stop counting against the per-user limit within `ttlMs`. A slot
 * taken for a session replaces the slot of that session's earlier connection (a resume is
 * never refused because of the client's own stale slot).
 */
export class Slots {
  /** Connection id -> user and session, for the slots this node holds. */
  private readonly held = new Map<string, Held>();

  constructor(
    private readonly link: Link,
    private readonly ttlMs: number,
  ) {}

  /** How many slots this node holds. */
  get size(): number {
    return this.held.size;
  }

  /** Take one of the user's `limit` connection slots, atomically across nodes. */
  async acquire(user: string, connectionId: string, limit: number, sessionId = ''): Promise<boolean> {
    const { link } = this;
    const ok = await link.run<number>(
      ACQUIRE_SLOT,
      [link.keys.userSlots(user), link.keys.userSlotSessions(user)],
      [link.clock.now(), this.ttlMs, connectionId, limit, sessionId],
    );
    if (ok === 1) this.held.set(connectionId, { user, session: sessionId });
    return ok === 1;
  }

  /** Give a connection's slot back. */
  async release(user: string, connectionId: string): Promise<void> {
    // Forget it locally first: a renewal issued after this point cannot resurrect it, and
    // one issued before reaches Redis before this release (same connection, in order).
    const session = this.held.get(connectionId)?.session ?? '';
    this.held.delete(connectionId);
    const { keys } = this.link;
    await this.link.run(
      RELEASE_SLOT,
      [keys.userSlots(user), keys.userSlotSessions(user)],
      [connectionId, session],
    );
  }

  /** Live connections of a user across nodes. */
  count(user: string): Promise<number> {
    return this.link.cmd.zCount(this.link.keys.userSlots(user), `(${this.link.clock.now()}`, '+inf');
  }

  /** Renew the slots of every connection here. */
  async renew(): Promise<void> {
    const { cmd, keys, clock } = this.link;
    const byUser = new Map<string, string[]>();
    for (const [conn, { user }] of this.held) {
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
      work.push(cmd.pExpire(keys.userSlotSessions(user), this.ttlMs));
    }
    await Promise.all(work);
  }
}
