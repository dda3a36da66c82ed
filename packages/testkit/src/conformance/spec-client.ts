import { once } from 'node:events';
import { WebSocket } from 'ws';

/** A stream position: the last message of `stream` the client holds (docs/PROTOCOL.md §2). */
export interface SpecCursor {
  stream: string;
  epoch: string;
  offset: number;
}

/** A `msg` the client handed to the app (§4.2 drop rule passed). */
export interface Delivery {
  stream: string;
  epoch: string;
  offset: number;
  type: string;
  data: unknown;
}

/**
 * A frame of a growing message the client applied under §10.3 (extension `appends`): its
 * start, a snapshot, or an `app`; `value` is the message's value after it.
 */
export interface GrowthEvent {
  stream: string;
  epoch: string;
  /** The message's key (with stream and epoch): the offset of its first `msg`. */
  start: number;
  /** The applied frame's offset (the message's `at` after it). */
  offset: number;
  kind: 'start' | 'snapshot' | 'app';
  type: string;
  value: unknown;
  /** The `app`'s delta (undefined for a start or snapshot). */
  delta?: unknown;
  /** The message is done after this frame. */
  done: boolean;
}

/** What the client holds of one growing message (§10.3). */
interface Growing {
  stream: string;
  epoch: string;
  start: number;
  type: string;
  value: unknown;
  at: number;
}

/** Loss announced by the server: a `gap` welcome entry or a `gap` frame. */
export interface AnnouncedGap {
  stream: string;
  epoch: string;
  /** The cursor the client adopted. */
  offset: number;
  from?: number;
  to?: number;
  reason: string;
  source: 'welcome' | 'frame';
}

/** The outcome of a `pub`, `join` or `leave`: the server's `res`, or a local failure (§4.4, §4.5). */
export interface SpecResult {
  id: string;
  ok: boolean;
  result?: unknown;
  error?: { code: string; message: string };
  /** True when the client settled it without the server (outbox of another user, leave after resumeError). */
  local?: boolean;
}

type Frame = Record<string, any> & { t: string };

interface Pending {
  frame: Frame;
  resolve: (r: SpecResult) => void;
}

/** Options of {@link SpecClient}. */
export interface SpecClientOptions {
  /** The WebSocket URL (`ws://host:port/ws`). */
  url: string;
  /** The auth token sent in `hello.token`; change it with {@link SpecClient.token}. */
  token?: string;
  /** Ack after this many unacked messages (default 50: more acks than §4.3's 500, to exercise the server). */
  ackEvery?: number;
  /** The fold of appendable types (§10.1; default: text concatenation). */
  fold?: (type: string, value: unknown, delta: unknown) => unknown;
}

/**
 * The spec-literal reference client of the conformance suite: it does what docs/PROTOCOL.md
 * says, and nothing more (no reconnect loop, no defensive extras). The test drives it:
 * `connect()` opens a connection and says `hello` (resuming when it holds a session), and the
 * client records every delivery, announced gap, `res` and close for the suite to check.
 */
export class SpecClient {
  /** The token for the next `hello`. */
  token: string | undefined;
  /** Messages handed to the app, in order. */
  readonly deliveries: Delivery[] = [];
  /** Loss announced by the server, in order. */
  readonly gaps: AnnouncedGap[] = [];
  /** Every frame received, on every connection, in order. */
  readonly frames: Frame[] = [];
  /** Every `welcome`. */
  readonly welcomes: Frame[] = [];
  /** Close codes of every connection that ended. */
  readonly closes: { code: number; reason: string }[] = [];
  /** Called after each delivery (a test hook, e.g. to cut the link at an exact point). */
  onDelivery: ((d: Delivery) => void) | undefined;
  /** `msg` frames dropped by the §4.2 drop rule (duplicates the server sent). */
  dropped = 0;
  /** `res` frames whose id was not pending (ignored, §4.4). */
  readonly ignoredRes: Frame[] = [];
  /** `res` frames received, per id (to count answers). */
  readonly resCount = new Map<string, number>();
  /** The session (after the first welcome). */
  session: { sessionId: string; resumeToken: string; user: string | undefined } | undefined;
  /** Cursors, per stream. */
  readonly cursors = new Map<string, SpecCursor>();
  /** Rooms the session is in, as told by `sub` frames and welcomes. */
  readonly rooms = new Set<string>();
  /** Frames of growing messages applied under §10.3, in order. */
  readonly growth: GrowthEvent[] = [];
  /** Frames of growing messages dropped under §10.3 (already covered). */
  growthDropped = 0;
  /** `app` frames of a message the client holds no state of (§10.3: the server must never send one). */
  readonly orphanApps: Frame[] = [];
  /** The open growing messages held, by `stream|epoch|start` (§10.3). */
  readonly openMessages = new Map<string, Growing>();
  /** The final value of every growing message seen done, by `stream|epoch|start`. */
  readonly doneMessages = new Map<string, unknown>();
  /** Send `hello.resume.snapshots: true` on the next resume (set by {@link SpecClient.reload}). */
  private wantSnapshots = false;
  private readonly fold: (type: string, value: unknown, delta: unknown) => unknown;
  private readonly pending = new Map<string, Pending>();
  private ws: WebSocket | undefined;
  private seq = 0;
  private unacked = 0;
  private readonly ackEvery: number;
  private readonly url: string;
  private closeWaiters: (() => void)[] = [];
  private untils: { check: () => boolean; resolve: () => void }[] = [];

  constructor(options: SpecClientOptions) {
    this.url = options.url;
    this.token = options.token;
    this.ackEvery = options.ackEvery ?? 50;
    this.fold = options.fold ?? ((_type, value, delta) => String(value) + String(delta));
  }

  /**
   * Forget the in-memory state of open messages, as a page reloaded from persistence does
   * (cursors and session kept): the next resume asks for their snapshots (§10.4).
   */
  reload(): void {
    this.openMessages.clear();
    this.wantSnapshots = true;
  }

  /** True while a connection is open. */
  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  /**
   * Open a connection and send `hello` (with `resume` and every cursor held, §4.2); resolves
   * with the `welcome` after applying it, or rejects when the connection closes first.
   */
  async connect(): Promise<Frame> {
    const ws = new WebSocket(this.url, ['holdfast.v1']);
    this.ws = ws;
    ws.on('error', () => {});
    const closed = new Promise<never>((_, reject) => {
      ws.on('close', (code, reason) => {
        this.closes.push({ code, reason: reason.toString() });
        for (const w of this.closeWaiters.splice(0)) w();
        reject(new Error(`closed ${code} ${reason.toString()}`));
      });
    });
    closed.catch(() => {});
    let welcomed: (f: Frame) => void = () => {};
    const welcome = new Promise<Frame>((resolve) => {
      welcomed = resolve;
    });
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as Frame;
      this.frames.push(f);
      if (f.t === 'welcome') {
        this.onWelcome(f);
        welcomed(f);
      } else this.onFrame(f);
      if (this.untils.length > 0) {
        for (const u of this.untils.filter((w) => w.check())) {
          this.untils.splice(this.untils.indexOf(u), 1);
          u.resolve();
        }
      }
    });
    await Promise.race([once(ws, 'open'), closed]);
    const hello: Frame = { t: 'hello', version: 1 };
    if (this.token !== undefined) hello.token = this.token;
    if (this.session) {
      hello.resume = {
        sessionId: this.session.sessionId,
        resumeToken: this.session.resumeToken,
        cursors: [...this.cursors.values()],
        ...(this.wantSnapshots ? { snapshots: true } : {}),
      };
      this.wantSnapshots = false;
    }
    this.send(hello);
    return Promise.race([welcome, closed]);
  }

  /** Resolves once `check()` is true, checked now and after every frame received. */
  until(check: () => boolean): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve) => this.untils.push({ check, resolve }));
  }

  /** Resolves when the current connection has closed. */
  closed(): Promise<void> {
    if (!this.open && this.ws?.readyState !== WebSocket.CONNECTING) return Promise.resolve();
    return new Promise((resolve) => this.closeWaiters.push(resolve));
  }

  /** Close the connection (1000 keeps the session, 4000 ends it: §4.7b). */
  async close(code = 1000): Promise<void> {
    const done = this.closed();
    this.ws?.close(code);
    await done;
  }

  /** Send `pub {id, type, data}`; resolves with its result (§4.4). Queued while disconnected. */
  pub(type: string, data?: unknown, id = this.nextId()): Promise<SpecResult> {
    return this.request({ t: 'pub', id, type, ...(data === undefined ? {} : { data }) });
  }

  /** Send `join {id, room}` (§4.5), with `rewind` (§10.5) when given. */
  join(room: string, options: { rewind?: { count?: number; ageMs?: number } } = {}): Promise<SpecResult> {
    return this.request({
      t: 'join',
      id: this.nextId(),
      room,
      ...(options.rewind ? { rewind: options.rewind } : {}),
    });
  }

  /** Send `leave {id, room}` (§4.5). */
  leave(room: string): Promise<SpecResult> {
    return this.request({ t: 'leave', id: this.nextId(), room });
  }

  /** Send an ack of every cursor (§4.3). */
  ack(): void {
    this.unacked = 0;
    if (this.cursors.size > 0) this.send({ t: 'ack', cursors: [...this.cursors.values()] });
  }

  /** Send a raw frame on the open connection (dropped when there is none). */
  send(frame: Frame): void {
    if (this.open) this.ws!.send(JSON.stringify(frame));
  }

  /** Ids waiting for their `res`. */
  pendingIds(): string[] {
    return [...this.pending.keys()];
  }

  private nextId(): string {
    this.seq += 1;
    return `r${this.seq}`;
  }

  private request(frame: Frame): Promise<SpecResult> {
    return new Promise((resolve) => {
      this.pending.set(frame.id, { frame, resolve });
      this.send(frame);
    });
  }

  private settle(id: string, r: SpecResult): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.resolve(r);
  }

  private onWelcome(w: Frame): void {
    this.welcomes.push(w);
    const previousUser = this.session?.user;
    const hadSession = this.session !== undefined;
    this.session = { sessionId: w.sessionId, resumeToken: w.resumeToken, user: w.user };
    const listed = new Set<string>();
    for (const s of w.streams as Frame[]) {
      listed.add(s.stream);
      // §4.2: set the cursor to the listed {epoch, offset}; a gap entry raises a gap event.
      this.cursors.set(s.stream, { stream: s.stream, epoch: s.epoch, offset: s.offset });
      this.dropOtherEpochs(s.stream, s.epoch);
      if (s.status === 'gap') {
        this.gaps.push({
          stream: s.stream,
          epoch: s.epoch,
          offset: s.offset,
          reason: s.reason,
          source: 'welcome',
          ...(s.from !== undefined ? { from: s.from } : {}),
          ...(s.to !== undefined ? { to: s.to } : {}),
        });
      }
    }
    const pending = [...this.pending.values()];
    if (w.resumeError) {
      // §4.2: cursors of unlisted streams are dropped; §4.5: rooms are re-joined.
      for (const stream of [...this.cursors.keys()]) if (!listed.has(stream)) this.cursors.delete(stream);
      const rooms = [...this.rooms];
      this.rooms.clear();
      for (const p of pending) {
        if (p.frame.t === 'leave') {
          this.settle(p.frame.id, { id: p.frame.id, ok: true, local: true });
        } else if (p.frame.t === 'pub' && this.token !== undefined && hadSession && w.user !== previousUser) {
          // §4.4: the outbox belongs to a user.
          this.settle(p.frame.id, {
            id: p.frame.id,
            ok: false,
            local: true,
            error: { code: 'FORBIDDEN', message: 'sent as another user' },
          });
        }
      }
      const joining = new Set(pending.filter((p) => p.frame.t === 'join').map((p) => p.frame.room));
      for (const room of rooms) if (!joining.has(room)) void this.join(room);
    } else {
      for (const s of w.streams as Frame[])
        if (typeof s.stream === 'string' && s.stream.startsWith('room:')) this.rooms.add(s.stream.slice(5));
    }
    // §4.4/§4.5: resend every unanswered frame, in the original order, with the same id.
    for (const p of pending) if (this.pending.has(p.frame.id)) this.send(p.frame);
  }

  private onFrame(f: Frame): void {
    switch (f.t) {
      case 'msg': {
        if (f.start !== undefined || f.open === true) return this.onGrowing(f);
        const c = this.cursors.get(f.stream);
        // §4.2 drop rule: same epoch and at or below the cursor.
        if (c && c.epoch === f.epoch && f.offset <= c.offset) {
          this.dropped += 1;
          return;
        }
        this.cursors.set(f.stream, { stream: f.stream, epoch: f.epoch, offset: f.offset });
        const d = { stream: f.stream, epoch: f.epoch, offset: f.offset, type: f.type, data: f.data };
        this.deliveries.push(d);
        this.onDelivery?.(d);
        this.unacked += 1;
        if (this.unacked >= this.ackEvery) this.ack();
        return;
      }
      case 'app':
        return this.onGrowing(f);
      case 'gap':
        // §4.6b
        this.cursors.set(f.stream, { stream: f.stream, epoch: f.epoch, offset: f.to });
        if (f.reason === 'epoch') this.dropOtherEpochs(f.stream, f.epoch);
        this.gaps.push({
          stream: f.stream,
          epoch: f.epoch,
          offset: f.to,
          from: f.from,
          to: f.to,
          reason: f.reason,
          source: 'frame',
        });
        return;
      case 'sub':
        if (f.op === 'join') {
          this.rooms.add(f.room);
          this.cursors.set(f.stream, { stream: f.stream, epoch: f.epoch, offset: f.offset });
        } else {
          this.rooms.delete(f.room);
          this.cursors.delete(f.stream);
        }
        return;
      case 'res': {
        this.resCount.set(f.id, (this.resCount.get(f.id) ?? 0) + 1);
        if (!this.pending.has(f.id)) {
          this.ignoredRes.push(f);
          return;
        }
        this.settle(f.id, {
          id: f.id,
          ok: f.ok,
          ...(f.result !== undefined ? { result: f.result } : {}),
          ...(f.error ? { error: f.error } : {}),
        });
        return;
      }
      case 'ping':
        this.send({ t: 'pong', ...(f.ts !== undefined ? { ts: f.ts } : {}) });
        return;
      default:
        return;
    }
  }

  /** §10.3: a start or snapshot `msg`, or an `app`, of a growing message. */
  private onGrowing(f: Frame): void {
    const start: number = f.t === 'app' ? f.start : (f.start ?? f.offset);
    const key = `${f.stream}|${f.epoch}|${start}`;
    const held = this.openMessages.get(key);
    if (f.t === 'app') {
      if (!held) {
        this.orphanApps.push(f);
        return;
      }
      if (held.at >= f.offset) {
        this.growthDropped += 1;
        return;
      }
      if (f.data !== undefined) held.value = this.fold(held.type, held.value, f.data);
      held.at = f.offset;
      this.applied(f, held, 'app', f.end === true, f.data);
      return;
    }
    if (held && held.at >= f.offset) {
      this.growthDropped += 1;
      return;
    }
    const g: Growing = held ?? {
      stream: f.stream,
      epoch: f.epoch,
      start,
      type: f.type,
      value: undefined,
      at: 0,
    };
    g.value = f.data;
    g.at = f.offset;
    this.openMessages.set(key, g);
    this.applied(f, g, f.start === undefined ? 'start' : 'snapshot', f.open !== true, undefined);
  }

  private applied(f: Frame, g: Growing, kind: GrowthEvent['kind'], done: boolean, delta: unknown): void {
    const key = `${g.stream}|${g.epoch}|${g.start}`;
    if (done) {
      this.openMessages.delete(key);
      this.doneMessages.set(key, g.value);
    }
    // Every applied frame moves the cursor to max(cursor, offset).
    const c = this.cursors.get(f.stream);
    if (!c || c.epoch !== f.epoch || c.offset < f.offset) {
      this.cursors.set(f.stream, { stream: f.stream, epoch: f.epoch, offset: f.offset });
    }
    this.growth.push({
      stream: g.stream,
      epoch: g.epoch,
      start: g.start,
      offset: f.offset,
      kind,
      type: g.type,
      value: g.value,
      ...(delta !== undefined ? { delta } : {}),
      done,
    });
    this.unacked += 1;
    if (this.unacked >= this.ackEvery) this.ack();
  }

  /** §10.3: an epoch change drops every open message of that stream. */
  private dropOtherEpochs(stream: string, epoch: string): void {
    for (const [key, g] of this.openMessages)
      if (g.stream === stream && g.epoch !== epoch) this.openMessages.delete(key);
  }
}
