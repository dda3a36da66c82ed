/**
 * Presence follows connections (docs/PROTOCOL.md §4.5): a member session is present in its
 * rooms while it has a connection, and for `presenceGraceMs` after it lost it (so a quick
 * reconnect does not flap). Presence events of one user in one room are coalesced to at most
 * one per `presenceIntervalMs`, so a client toggling join/leave cannot make the server write
 * a frame to every member per frame it sends (issue 14).
 */
import type { AnyProtocol } from '@holdfast/protocol';
import type { Core } from './core.js';

/** A disconnected session waiting out its grace. */
interface Grace {
  user: string;
  connectionId: string;
  /** When the grace ends (ms since `Core.t0`). */
  at: number;
}

/** The presence events of one user in one room within the current window. */
interface Window {
  room: string;
  user: string;
  /** The count the last published event carried. */
  sent: number;
  /** The latest change held back in this window (published at its end if the count differs). */
  held: { event: 'join' | 'leave'; sessions: number } | undefined;
  /** When the window ends (ms since `Core.t0`). */
  until: number;
}

/** Presence of one server. */
export class Presence<P extends AnyProtocol> {
  private readonly core: Core<P>;
  /** Disconnected sessions by id, in the order their grace ends (insertion order). */
  private readonly graces = new Map<string, Grace>();
  /** Open windows by `room\0user`, in the order they end (insertion order). */
  private readonly windows = new Map<string, Window>();

  constructor(core: Core<P>) {
    this.core = core;
  }

  /** A session got a connection (new or resumed): present in its rooms; its grace is over. */
  async connected(
    sessionId: string,
    user: string,
    connectionId: string,
    rooms: readonly string[],
  ): Promise<void> {
    this.graces.delete(sessionId);
    for (const room of rooms) await this.present(room, sessionId, user, connectionId);
  }

  /** A member session with connection `connectionId` is present in `room` (after a join). */
  async present(room: string, sessionId: string, user: string, connectionId: string): Promise<void> {
    const r = await this.core.engine.markPresent(room, sessionId, user, connectionId);
    if (r.changed) await this.publish(room, 'join', user, r.sessions);
  }

  /** A session is no longer present in `room` (it left, ended, or its grace is over). */
  async absent(room: string, sessionId: string, user: string, connectionId?: string): Promise<void> {
    const r = await this.core.engine.markAbsent(room, sessionId, user, connectionId);
    if (r.changed) await this.publish(room, 'leave', user, r.sessions);
  }

  /** A session lost its connection: absent from its rooms after the grace, unless it reconnects. */
  disconnected(sessionId: string, user: string, connectionId: string): void {
    this.graces.delete(sessionId);
    this.graces.set(sessionId, { user, connectionId, at: this.core.rel() + this.core.opts.presenceGraceMs });
  }

  /** A session ended (expiry, logout): no grace to wait out. */
  ended(sessionId: string): void {
    this.graces.delete(sessionId);
  }

  /** Called by the sweep: graces and windows that are over. */
  sweep(): void {
    const now = this.core.rel();
    for (const [sessionId, g] of this.graces) {
      if (g.at > now) break;
      this.graces.delete(sessionId);
      this.core.track(this.gone(sessionId, g));
    }
    for (const [key, w] of this.windows) {
      if (w.until > now) break;
      this.windows.delete(key);
      const held = w.held;
      if (held && held.sessions !== w.sent)
        this.core.track(this.send(key, w.room, held.event, w.user, held.sessions));
    }
  }

  /** Forget every grace and window (the server is closing). */
  stop(): void {
    this.graces.clear();
    this.windows.clear();
  }

  /** The grace of a disconnected session is over: absent from its rooms (unless present again through a newer connection). */
  private async gone(sessionId: string, g: Grace): Promise<void> {
    const record = await this.core.engine.getSession(sessionId);
    if (!record) return;
    for (const room of record.rooms) await this.absent(room, sessionId, g.user, g.connectionId);
  }

  /**
   * Publish a change of a user's present-session count in a room: at once if no event of that
   * user in that room went out within the window, else held and published at the window's end
   * (only if the count then differs from the one last published: a join and a leave in one
   * window cancel out).
   */
  private publish(
    room: string,
    event: 'join' | 'leave',
    user: string,
    sessions: number,
  ): Promise<void> | undefined {
    const key = `${room}\u0000${user}`;
    const w = this.windows.get(key);
    if (w) {
      this.core.counters.presenceCoalesced += 1;
      w.held = { event, sessions };
      return undefined;
    }
    return this.send(key, room, event, user, sessions);
  }

  private send(
    key: string,
    room: string,
    event: 'join' | 'leave',
    user: string,
    sessions: number,
  ): Promise<void> {
    const interval = this.core.opts.presenceIntervalMs;
    if (interval > 0)
      this.windows.set(key, {
        room,
        user,
        sent: sessions,
        held: undefined,
        until: this.core.rel() + interval,
      });
    return this.core.engine.publishPresence(room, event, user, sessions);
  }
}
