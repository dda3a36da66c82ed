/**
 * `hello` to `welcome`, in named steps: version, authenticate, find the session to resume,
 * admit (connections per user), create or resume, connect, attach the streams, welcome,
 * replay. Also `refresh` (authenticate again on an open connection).
 */
import {
  type AnyProtocol,
  CloseCode,
  type Cursor,
  ErrorCode,
  HoldfastError,
  type StreamStatus,
  Streams,
  SUPPORTED_VERSIONS,
} from '@holdfast/protocol';
import { type Connection, REPLAYING, type SessionConnection } from './connection.js';
import type { Core } from './core.js';
import type { Delivery } from './delivery.js';
import type { SessionRecord } from './engine.js';
import { flat, sha256 } from './ids.js';
import type { AuthResult } from './options.js';
import type { Outbound } from './outbound.js';
import type { Pool } from './pool.js';
import type { Presence } from './presence.js';
import { failedResumeStatus, resumeStatus } from './resume.js';
import { resError, resOk, welcomeFrame } from './wire.js';

/** A decoded `hello` frame. */
export interface Hello {
  version: number;
  token?: string | undefined;
  resume?:
    | { sessionId: string; resumeToken: string; cursors: Cursor[]; snapshots?: boolean | undefined }
    | undefined;
}

/** An accepted authentication. */
type Authenticated = AuthResult & { user: string };

/** What the resume lookup found. */
interface Found {
  record: SessionRecord | undefined;
  resumeError: 'expired' | 'forbidden' | undefined;
}

/** The session a hello ends in, before it is attached. */
interface Opened {
  record: SessionRecord;
  resumeToken: string;
  streams: StreamStatus[];
}

/** Handshakes of one server. */
export class Handshake<P extends AnyProtocol> {
  private readonly core: Core<P>;
  private readonly pool: Pool<P>;
  private readonly out: Outbound<P>;
  private readonly delivery: Delivery<P>;
  private readonly presence: Presence<P>;
  /** Make room for one more session of a user (`limits.sessionsPerUser`; see `Sessions.makeRoom`). */
  private readonly makeRoom: (user: string) => Promise<void>;

  constructor(
    core: Core<P>,
    pool: Pool<P>,
    out: Outbound<P>,
    delivery: Delivery<P>,
    presence: Presence<P>,
    makeRoom: (user: string) => Promise<void>,
  ) {
    this.core = core;
    this.pool = pool;
    this.out = out;
    this.delivery = delivery;
    this.presence = presence;
    this.makeRoom = makeRoom;
  }

  /** `hello`, with storage failures answered at once (1013) instead of leaving the client waiting. */
  async onHello(conn: Connection, hello: Hello): Promise<void> {
    try {
      await this.hello(conn, hello);
    } catch (err) {
      this.core.counters.engineErrors += 1;
      this.core.fail(err, 'hello', { connectionId: conn.id });
      this.pool.closeConn(conn, CloseCode.TryAgainLater, 'storage unavailable', 1000);
      this.pool.releaseSlot(conn);
    }
  }

  private async hello(conn: Connection, hello: Hello): Promise<void> {
    await this.core.started;
    if (!this.versionOk(conn, hello.version)) return;
    if (this.core.engine.healthy?.() === false) {
      // Cut off from storage (down or partitioned): nothing here could complete; try again
      // (another node, or this one once healthy).
      return this.pool.closeConn(conn, CloseCode.TryAgainLater, 'storage unreachable from this node', 1000);
    }
    const auth = await this.authenticated(conn, hello.token);
    if (!auth) return;
    const now = this.core.clock.now();
    if (auth.expiresAt !== undefined && auth.expiresAt <= now) {
      return this.pool.closeConn(conn, CloseCode.Unauthorized, 'token expired');
    }
    const found = await this.findSession(hello, auth);
    if (!conn.isOpen) return;
    const user = found.record ? found.record.user : auth.user || this.core.ids.id('anon_');
    // A new session's id is known before its slot is taken: the slot is recorded under it,
    // so the session's later resumes (on any node) take this slot over.
    const fresh = found.record
      ? undefined
      : { resumeToken: this.core.ids.secret(), id: this.core.ids.id('s_') };
    if (!(await this.admit(conn, found.record, found.record?.id ?? fresh?.id, user))) return;
    const opened = await this.createOrResume(hello, auth, found, user, now, fresh);
    if (!(await this.connect(conn, hello, found, opened.record))) return;
    const open = this.attach(conn, auth, opened);
    this.welcome(open, auth, found, hello, opened);
    // Presence means connected: present again in its rooms (a pending grace is cancelled).
    this.core.track(this.presence.connected(open.sessionId, open.user, open.id, opened.record.rooms));
    // Replay every stream after its cursor, then switch to live.
    const start = this.core.hooks ? performance.now() : 0;
    // Open messages at or below a stream's listed offset go first (§10.4) where the client holds
    // no state of them: it asked (`snapshots`, reloaded), or it sent no cursor of the stream (a
    // new session, a room joined while it was away).
    const resumed = hello.resume !== undefined && !found.resumeError;
    const all = !resumed || hello.resume?.snapshots === true;
    const held = all ? undefined : new Set(hello.resume?.cursors.map((c) => c.stream));
    for (const stream of open.streams.keys())
      await this.delivery.replay(open, stream, all || !held!.has(stream));
    if (start) for (const h of this.core.hooks ?? []) h.replay?.(performance.now() - start);
  }

  /** Step 1: a protocol version this server speaks. */
  private versionOk(conn: Connection, version: number): boolean {
    if (SUPPORTED_VERSIONS.includes(version)) return true;
    this.pool.closeConn(conn, CloseCode.UnsupportedVersion, `server speaks ${SUPPORTED_VERSIONS.join(',')}`);
    return false;
  }

  /** Step 2: the app's `authenticate` (undefined when refused or the socket went away). */
  private async authenticated(
    conn: Connection,
    token: string | undefined,
  ): Promise<Authenticated | undefined> {
    const auth = await this.authenticate(conn, token);
    if (!conn.isOpen) return undefined;
    if (!auth || typeof auth.user !== 'string') {
      this.pool.closeConn(conn, CloseCode.Unauthorized, 'authentication failed');
      return undefined;
    }
    return auth as Authenticated;
  }

  /** Run the app's `authenticate` on a token (from hello or refresh, else from the upgrade). */
  private async authenticate(conn: Connection, helloToken: string | undefined): Promise<AuthResult | null> {
    const { core } = this;
    const hs = conn.handshake;
    const token = helloToken ?? hs?.token;
    const tokenSource = helloToken ? 'hello' : hs?.tokenSource;
    if (!core.opts.authenticate) return { user: '' };
    try {
      return await core.opts.authenticate({
        token,
        tokenSource,
        headers: hs?.headers ?? {},
        url: hs?.url ?? '',
        remoteAddress: conn.remoteAddress,
      });
    } catch (err) {
      core.log.debug({ err, connectionId: conn.id }, 'authenticate refused');
      return null;
    }
  }

  /** Step 3: the session to resume, if the hello asks for one and may have it. */
  private async findSession(hello: Hello, auth: Authenticated): Promise<Found> {
    if (!hello.resume) return { record: undefined, resumeError: undefined };
    const record = await this.core.engine.getSession(hello.resume.sessionId);
    // A wrong resume token answers like an unknown session: only a holder of the token learns
    // that the session exists (docs/PROTOCOL.md §4.2).
    if (!record || record.resumeTokenHash !== sha256(hello.resume.resumeToken)) {
      return { record: undefined, resumeError: 'expired' };
    }
    if (this.core.opts.authenticate && record.user !== auth.user) {
      return { record: undefined, resumeError: 'forbidden' };
    }
    return { record, resumeError: undefined };
  }

  /**
   * Step 4: connections per user, across nodes. A resume replaces the session's old
   * connection first. The slot is taken for `sessionId` (the resumed or the new session).
   * False when refused (or the socket went away).
   */
  private async admit(
    conn: Connection,
    record: SessionRecord | undefined,
    sessionId: string | undefined,
    user: string,
  ): Promise<boolean> {
    const { core, pool } = this;
    if (record) {
      const old = pool.sessionConns.get(record.id);
      if (old && old !== conn) pool.replace(old);
      else if (!old) {
        await core.engine.publishControl({
          op: 'disconnect',
          sessionId: record.id,
          code: CloseCode.GoingAway,
          reason: 'replaced',
          end: false,
        });
      }
    }
    const limit = core.limits.connectionsPerUser;
    // With the session id, a resume gets the slot of the session's earlier connection (on a
    // dead node, say) instead of being refused by it.
    if (!(await core.engine.acquireUserSlot(user, conn.id, limit, sessionId))) {
      conn.user = user; // named in the refusal's log line (no slot is held)
      pool.closeConn(conn, CloseCode.TooManyConnections, `at most ${limit} connections per user`);
      return false;
    }
    conn.slotHeld = true;
    conn.user = user;
    if (!conn.isOpen) {
      pool.releaseSlot(conn);
      return false;
    }
    return true;
  }

  /**
   * Step 5: resume the found session, or create one. A failed resume lists exactly the new
   * session's three streams, once each: a `gap` at the head for those the client had a cursor
   * for (§4.2); its other cursors are not echoed (the welcome stays within its schema).
   */
  private async createOrResume(
    hello: Hello,
    auth: Authenticated,
    found: Found,
    user: string,
    now: number,
    fresh: { resumeToken: string; id: string } | undefined,
  ): Promise<Opened> {
    const { core } = this;
    const cursors = new Map((hello.resume?.cursors ?? []).map((c) => [c.stream, c] as const));
    if (found.record && hello.resume) {
      // The resume token stays the same for the session's life: the client may not have
      // received a rotated one if this connection dies before the welcome arrives.
      const streams = await this.resumeStreams(found.record, cursors);
      core.counters.resumes += 1;
      return { record: found.record, resumeToken: hello.resume.resumeToken, streams };
    }
    if (found.resumeError) core.counters.resumeFailures += 1;
    if (found.resumeError)
      core.log.info(
        { sessionId: hello.resume?.sessionId, user, reason: found.resumeError },
        'resume refused',
      );
    await this.makeRoom(user);
    const resumeToken = fresh?.resumeToken ?? core.ids.secret();
    const record: SessionRecord = {
      id: fresh?.id ?? core.ids.id('s_'),
      user,
      resumeTokenHash: sha256(resumeToken),
      createdAt: now,
      rooms: [],
      acked: {},
      starts: {},
      data: auth.data,
    };
    const streams: StreamStatus[] = [];
    for (const stream of baseStreams(record)) {
      const head = await core.engine.head(stream);
      // The subscription starts at the head: nothing from before the session is ever sent.
      record.acked[stream] = { epoch: head.epoch, offset: head.offset };
      record.starts[stream] = { epoch: head.epoch, offset: head.offset };
      streams.push(
        found.resumeError
          ? failedResumeStatus(stream, head, cursors.get(stream), found.resumeError)
          : { stream, epoch: head.epoch, offset: head.offset, status: 'new' },
      );
    }
    await core.engine.createSession(record, 0);
    core.counters.sessionsCreated += 1;
    return { record, resumeToken, streams };
  }

  /** The status of each stream of a resumed session against the client's (or stored) cursors. */
  private async resumeStreams(record: SessionRecord, cursors: Map<string, Cursor>): Promise<StreamStatus[]> {
    const out: StreamStatus[] = [];
    const names = [...baseStreams(record), ...record.rooms.map((r) => Streams.room(r))];
    for (const stream of names) {
      const head = await this.core.engine.head(stream);
      out.push(resumeStatus(stream, head, cursors.get(stream), record.acked[stream], record.starts[stream]));
    }
    return out;
  }

  /**
   * Step 6: mark the session connected, unless the socket went away meanwhile (then its slot
   * is released and the session left to expire). Two resumes of one session racing: the later
   * one wins, never two sockets per session.
   */
  private async connect(
    conn: Connection,
    hello: Hello,
    found: Found,
    record: SessionRecord,
  ): Promise<boolean> {
    const { core, pool } = this;
    const windowMs = core.opts.resumeWindowMs;
    if (!conn.isOpen) {
      pool.releaseSlot(conn);
      if (!hello.resume || found.resumeError) await core.engine.touchSession(record.id, windowMs);
      return false;
    }
    conn.reconnects = await core.engine.markConnected(record.id);
    if (!conn.isOpen) {
      pool.releaseSlot(conn);
      await core.engine.touchSession(record.id, windowMs);
      return false;
    }
    const rival = pool.sessionConns.get(record.id);
    if (rival && rival !== conn) pool.replace(rival);
    return true;
  }

  /**
   * Step 7: attach. From here on live messages for these streams reach this connection
   * (buffered while replaying).
   */
  private attach(conn: Connection, auth: Authenticated, opened: Opened): SessionConnection {
    const { core, pool } = this;
    const { record, streams } = opened;
    conn.sessionId = record.id;
    const open = conn as SessionConnection;
    open.data = auth.data ?? record.data;
    open.tokenExpiresAt = auth.expiresAt;
    open.phase = 'open';
    open.handshake = undefined;
    open.nextPingAt = core.rel() + core.opts.heartbeat.intervalMs;
    pool.pending -= 1;
    // Every listed stream is subscribed (a failed resume lists only the new session's own).
    // The session's own stream among them makes it this node's connection of the session
    // (`pool.sessionConns`).
    for (const s of streams) {
      open.streams.set({
        stream: s.stream,
        next: undefined,
        epoch: s.epoch,
        sent: s.offset,
        pending: REPLAYING,
        acked: s.offset,
      });
      pool.subscribe(open, s.stream);
    }
    core.counters.gaps += streams.filter((s) => s.status === 'gap').length;
    return open;
  }

  /** Step 8: the `welcome` frame and the lifecycle events. */
  private welcome(
    conn: SessionConnection,
    auth: Authenticated,
    found: Found,
    hello: Hello,
    opened: Opened,
  ): void {
    const { core } = this;
    const { record, streams } = opened;
    const resumed = !found.resumeError && hello.resume !== undefined;
    this.out.send(
      conn,
      welcomeFrame({
        sessionId: record.id,
        resumeToken: opened.resumeToken,
        resumed,
        resumeError: found.resumeError,
        user: conn.user,
        streams,
        extensions: core.extensions,
        heartbeat: core.opts.heartbeat,
        maxPayload: core.limits.maxPayload,
        maxRooms: core.limits.roomsPerSession,
        messagesPerSecond: core.limits.messagesPerSecond,
        burst: core.limits.burst,
        tokenExpiresAt: auth.expiresAt,
      }),
    );
    const info = { ...conn.info(core.t0), resumed };
    core.log.info(
      { sessionId: record.id, user: conn.user, connectionId: conn.id },
      resumed ? 'session resumed' : 'session created',
    );
    if (resumed) core.emit('session:resumed', { sessionId: record.id, user: conn.user, streams });
    else core.emit('session:created', { sessionId: record.id, user: conn.user });
    core.emit('connection', info);
  }

  /**
   * `refresh`: a new token for the same user, answered with `res` (its expiry). The token's
   * auth data replaces the connection's (`ctx.data`, what `authorizeJoin` sees). True if accepted.
   */
  async refresh(conn: SessionConnection, id: string, token: string): Promise<boolean> {
    const { core, out } = this;
    const { sessionId } = conn;
    const auth = await this.authenticate(conn, token);
    if (!auth || (auth.expiresAt !== undefined && auth.expiresAt <= core.clock.now())) {
      out.sendRes(sessionId, resError(id, new HoldfastError(ErrorCode.Unauthorized, 'Token refused')));
      return false;
    }
    if (core.opts.authenticate && auth.user !== conn.user) {
      out.sendRes(
        sessionId,
        resError(id, new HoldfastError(ErrorCode.Forbidden, 'Token is for another user')),
      );
      return false;
    }
    conn.tokenExpiresAt = auth.expiresAt;
    conn.data = auth.data;
    out.sendRes(sessionId, resOk(id, { expiresAt: auth.expiresAt }));
    return true;
  }
}

/** The streams every session has: its own, its user's, the broadcast. */
function baseStreams(record: SessionRecord): string[] {
  return [flat(Streams.session(record.id)), flat(Streams.user(record.user)), Streams.broadcast];
}
