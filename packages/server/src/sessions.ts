/**
 * Sessions over time: the one sweep timer (hello deadlines, heartbeats, token expiry, slow
 * closes), session expiry after the resume window, ending sessions, and their inboxes.
 */
import { type AnyProtocol, CloseCode } from '@holdfast/protocol';
import type { Connection } from './connection.js';
import type { Control } from './control.js';
import type { Core } from './core.js';
import type { ControlCommand } from './engine.js';
import { textFrame } from './frame.js';
import { Inbox } from './inbox.js';
import type { Outbound } from './outbound.js';
import type { Pool } from './pool.js';
import type { Presence } from './presence.js';
import { pingFrame } from './wire.js';

/** Session lifetimes of one server. */
export class Sessions<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly pool: Pool<P>;
  private readonly out: Outbound<P>;
  private readonly control: Control<P>;
  private readonly presence: Presence<P>;
  /** Pull-style inboxes by session. */
  readonly inboxes = new Map<string, Inbox>();
  private sweepTimer: unknown;
  private expireAt = 0;
  private expiring: Promise<void> | undefined;

  constructor(core: Core<P>, pool: Pool<P>, out: Outbound<P>, control: Control<P>, presence: Presence<P>) {
    this.core = core;
    this.pool = pool;
    this.out = out;
    this.control = control;
    this.presence = presence;
  }

  /**
   * A socket closed (the transport's `closed`). When it was its session's connection: a close
   * with 4000 sent by the client ends the session at once (logout, docs/PROTOCOL.md §4.7b);
   * any other close leaves it resumable, present in its rooms for the presence grace.
   */
  onClosed(conn: Connection, code: number, reason: string): void {
    const byClient = !conn.closing;
    if (!this.pool.onClose(conn, code, reason) || conn.sessionId === undefined || conn.user === undefined)
      return;
    const sessionId = conn.sessionId;
    if (byClient && code === CloseCode.SessionEnded) {
      this.core.track(this.expire(sessionId, false));
      return;
    }
    this.presence.disconnected(sessionId, conn.user, conn.id);
  }

  /** The inbox of a session (made on first use). */
  inbox(sessionId: string): Inbox {
    let inbox = this.inboxes.get(sessionId);
    if (!inbox) {
      inbox = new Inbox(this.core.clock, this.core.limits.dedupeSize, () => this.inboxes.delete(sessionId));
      this.inboxes.set(sessionId, inbox);
    }
    return inbox;
  }

  /** Start the sweep timer. */
  startSweep(): void {
    this.sweepTimer = this.core.clock.setInterval(() => this.sweep(), this.core.opts.sweepIntervalMs);
  }

  /** Stop the sweep timer and close every inbox. */
  stop(): void {
    for (const inbox of this.inboxes.values()) inbox.close();
    this.core.clock.clearInterval(this.sweepTimer);
    this.presence.stop();
  }

  /**
   * Disconnect a session; with `end` its state is freed (4000), else it may resume (1012).
   */
  async disconnect(sessionId: string, options: { end?: boolean; reason?: string }): Promise<void> {
    const end = options.end ?? true;
    const code = end ? CloseCode.SessionEnded : CloseCode.Restart;
    const reason = options.reason ?? (end ? 'session ended' : 'disconnected');
    const command: ControlCommand = { op: 'disconnect', sessionId, code, reason, end };
    const published = this.control.dispatch(command);
    if (published) await published;
    if (end) await this.expire(sessionId, false);
  }

  /** End every session of a user; returns how many. */
  async logout(user: string): Promise<number> {
    const ids = await this.core.engine.userSessions(user);
    for (const id of ids) await this.disconnect(id, { end: true, reason: 'logged out' });
    return ids.length;
  }

  /**
   * Before a new session of `user`: end its oldest sessions (by creation) so that at most
   * `limits.sessionsPerUser - 1` remain. Their connections are closed with 4000.
   */
  async makeRoom(user: string): Promise<void> {
    const { engine, limits } = this.core;
    const ids = await engine.userSessions(user);
    if (ids.length < limits.sessionsPerUser) return;
    const records = await Promise.all(ids.map((id) => engine.getSession(id)));
    const live = records.filter((r) => r !== undefined).sort((a, b) => a.createdAt - b.createdAt);
    const excess = live.length - limits.sessionsPerUser + 1;
    for (let i = 0; i < excess; i++) {
      await this.disconnect(live[i]!.id, { end: true, reason: 'too many sessions of this user' });
    }
  }

  private async expire(sessionId: string, onlyIfExpired: boolean): Promise<void> {
    const { core } = this;
    if (onlyIfExpired && this.pool.sessionConns.has(sessionId)) return;
    const deleted = await core.engine.deleteSession(sessionId);
    this.inboxes.get(sessionId)?.close();
    if (!deleted) return;
    this.presence.ended(sessionId);
    for (const room of deleted.rooms) {
      await core.engine.leaveRoom(room, sessionId, deleted.user);
      await this.presence.absent(room, sessionId, deleted.user);
    }
    core.counters.sessionsExpired += 1;
    core.log.info(
      { sessionId, user: deleted.user, ended: !onlyIfExpired },
      onlyIfExpired ? 'session expired' : 'session ended',
    );
    core.emit('session:expired', { sessionId, user: deleted.user });
  }

  /** The one timer: hello deadlines, heartbeats, token expiry, slow closes, session expiry. */
  private sweep(): void {
    const { core, pool } = this;
    const transport = pool.transport;
    const now = core.clock.now();
    const rel = now - core.t0;
    const ping = textFrame(pingFrame(now));
    for (const conn of pool.connections.values()) {
      if (conn.closing) {
        // A close handshake that does not complete (a peer that stopped reading) is cut.
        if (rel - conn.closingSince > 2000) transport.terminate(conn);
        continue;
      }
      if (conn.phase !== 'open') {
        if (rel - conn.connectedAt > core.limits.helloTimeoutMs)
          pool.closeConn(conn, CloseCode.Timeout, 'no hello in time');
        continue;
      }
      if (rel - conn.lastSeen > core.opts.heartbeat.timeoutMs) {
        // Closed with 4408 (docs/PROTOCOL.md §4.6); a dead peer never answers the close, so the
        // `closing` branch above destroys the socket 2 s later. The session stays resumable.
        pool.closeConn(conn, CloseCode.Timeout, 'heartbeat timeout');
        continue;
      }
      if (conn.tokenExpiresAt !== undefined && now >= conn.tokenExpiresAt) {
        pool.closeConn(conn, CloseCode.Unauthorized, 'token expired');
        continue;
      }
      if (rel >= conn.nextPingAt) {
        conn.nextPingAt = rel + core.opts.heartbeat.intervalMs;
        // App-level only: the client answers it, and that frame is the sign of life. (A protocol
        // ping as well would need a 'pong' listener per socket, about 100 bytes each, for nothing
        // the app-level ping does not already show.)
        this.out.send(conn, ping);
      }
    }
    core.engine.sweep?.();
    this.presence.sweep();
    this.expireSessions(now);
  }

  /** Expire sessions past their resume window; one pass at a time, each pass with the latest time. */
  private expireSessions(now: number): void {
    this.expireAt = Math.max(this.expireAt, now);
    if (this.expiring) return;
    this.expiring = (async () => {
      let done = 0;
      while (done < this.expireAt) {
        done = this.expireAt;
        try {
          for (const id of await this.core.engine.expiredSessions(done)) await this.expire(id, true);
        } catch (err) {
          this.core.counters.engineErrors += 1;
          this.core.fail(err, 'expire');
        }
      }
      this.expiring = undefined;
    })();
  }
}
