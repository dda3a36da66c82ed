import type {
  AnyProtocol,
  ClientMessageInputs,
  FrameOf,
  RequestInputs,
  ResFrame,
  Responses,
  ServerFrame,
  ServerMessages,
  WelcomeFrame,
} from '@holdfast/protocol';
import { retryDelay } from './backoff.js';
import { Connection } from './connection.js';
import {
  type CloseInfo,
  type ConnectionState,
  canTransition,
  type TransitionReason,
} from './connection-state.js';
import { Cursors } from './cursors.js';
import { watchEnvironment } from './environment.js';
import {
  type AckEvent,
  type ClientEvents,
  Emitter,
  type GapEvent,
  type Listenable,
  type MessageMeta,
  type Unsubscribe,
} from './events.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Outbox, type OutboxEntry, type OutboxKind, outboxEntry, type PendingMessage } from './outbox.js';
import { type PersistedState, Persister, restoredEntries } from './persistence.js';
import { ErrorCode, encode, HoldfastError, isRetryable, PROTOCOL_VERSION, Streams } from './protocol.js';

/** The listener of app message `K`: its validated data and where it came from. */
export type MessageListener<P extends AnyProtocol, K extends keyof ServerMessages<P>> = (
  data: ServerMessages<P>[K],
  meta: MessageMeta,
) => void;

/** Per-call options of `send()`. */
export interface SendOptions {
  /**
   * Reject with `TIMEOUT` when no `res` came in time. A message never written to a socket is
   * then dropped from the outbox; one already written stays (its outcome becomes an `ack` event).
   * No deadline by default.
   */
  timeoutMs?: number;
}

/** Per-call options of `request()`. */
export interface RequestOptions {
  /**
   * Reject with `TIMEOUT` when no response came in time (as for `send()`).
   * @default 30000 (`timeouts.requestMs`)
   */
  timeoutMs?: number;
}

/** Where the session's cursor in a room stream starts, as answered to `join()`. */
export interface JoinResult {
  stream: string;
  epoch: string;
  offset: number;
}

/** Frames the client sends outside the outbox (less their id), each answered by a `res` with that id. */
type ControlFrame = { t: 'join' | 'leave'; room: string } | { t: 'refresh'; token: string };

/** A caller's promise. */
interface Caller {
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * A `join`, `leave` or `refresh` waiting for its `res`. Unlike outbox messages they are not
 * persisted nor bounded: rooms are persisted as a set and re-joined instead, and a refresh only
 * makes sense on its own connection.
 */
interface Control extends Caller {
  text: string;
  /** The room of a `join`/`leave`: those are resent after a reconnect. None for a `refresh`. */
  room: string | undefined;
}

/** How a `res` ended. */
type Outcome = { ok: true; result: unknown } | { ok: false; error: HoldfastError };

/** Settle a caller's promise with an outcome. */
const settle = (caller: Caller | undefined, outcome: Outcome) =>
  outcome.ok ? caller?.resolve(outcome.result) : caller?.reject(outcome.error);

const closedError = (message = 'Client closed', details?: Record<string, unknown>) =>
  new HoldfastError(ErrorCode.ClientClosed, message, { details });

/**
 * A Holdfast client: one WebSocket that reconnects and resumes its session, delivers every
 * server message once and in order, and sends app messages through an outbox that survives
 * disconnects. Create it with {@link createClient}.
 *
 * @example
 * ```ts
 * const client = createClient({ url: 'wss://chat.example', protocol: chat, token: getToken });
 * client.on('said', (data, meta) => render(data, meta.offset));
 * await client.connect();
 * await client.join('lobby');
 * await client.send('say', { room: 'lobby', text: 'hi' });
 * ```
 */
export class HoldfastClient<P extends AnyProtocol> {
  /** Lifecycle events: `state`, `welcome`, `gap`, `room`, `presence`, `ack`, `error`, `close`. */
  readonly events: Listenable<ClientEvents>;
  readonly #lifecycle = new Emitter<ClientEvents>();
  readonly #messages = new Emitter<any>();
  readonly #o: ResolvedOptions;
  readonly #protocol: P;
  #current: ConnectionState = { status: 'idle' };
  #conn: Connection | undefined;
  /** Bumped whenever a pending connection attempt must be abandoned. */
  #generation = 0;
  /** Retries since the last connection that stayed up `stableAfterMs`. */
  #attempts = 0;
  #retryTimer: unknown;
  #stableTimer: unknown;
  #session: { sessionId: string; resumeToken: string } | undefined;
  /** The user of the session: the outbox belongs to it (docs/PROTOCOL.md §4.4). */
  #user: string | undefined;
  #maxPayload: number | undefined;
  readonly #cursors: Cursors;
  readonly #outbox: Outbox;
  /** By id. */
  readonly #controls = new Map<string, Control>();
  /** The next in-band token refresh (see `#refreshToken`). */
  #refreshTimer: unknown;
  /** The token expiry the current connection follows (0: none yet). */
  #expiresAt = 0;
  /** The rooms joined or being joined, kept in step with `sub` frames. */
  readonly #rooms = new Set<string>();
  /**
   * Message ids are a random base36 prefix per client instance and a counter (`k3j9x2-1`,
   * `k3j9x2-2`...). The counter is persisted with the outbox so a restored client never reuses
   * the id of a stored message, even with the same prefix.
   */
  readonly #idPrefix: string;
  #seq = 1;
  /** The promises of `connect()` calls, settled at the next `welcome` or when the client stops. */
  #waiters: { resolve(): void; reject(error: unknown): void }[] = [];
  #unwatch: (() => void) | undefined;
  /** Set once the stored state is restored: writes start then. */
  #persister: Persister | undefined;
  #restored: Promise<void> = Promise.resolve();

  constructor(options: ClientOptions<P>) {
    const o = resolveOptions(options);
    this.#o = o;
    this.#protocol = options.protocol;
    this.events = this.#lifecycle;
    this.#idPrefix = Math.floor(o.random() * 36 ** 8).toString(36);
    this.#outbox = new Outbox(o.outbox);
    this.#cursors = new Cursors(o, (cursors) => this.#write({ t: 'ack', cursors }));
    if (o.storage) {
      const persister = new Persister(o, () => this.#snapshot());
      const state = persister.load();
      const restore = (s: PersistedState | undefined) => this.#restore(s, persister);
      if (state instanceof Promise) this.#restored = state.then(restore);
      else restore(state);
    }
  }

  /** The connection state (see {@link ConnectionState}). */
  get state(): ConnectionState {
    return this.#current;
  }

  /**
   * Listen to app message `type` from the server, validated with the protocol's schema.
   * Lifecycle events are on {@link HoldfastClient.events} instead.
   *
   * @returns a function that removes the listener
   * @example
   * ```ts
   * const off = client.on('said', (data, { room, offset }) => append(room, data));
   * ```
   */
  on<K extends keyof ServerMessages<P> & string>(type: K, listener: MessageListener<P, K>): Unsubscribe {
    return this.#messages.on(type, listener);
  }

  /** Listen to the next app message `type` only. */
  once<K extends keyof ServerMessages<P> & string>(type: K, listener: MessageListener<P, K>): Unsubscribe {
    return this.#messages.once(type, listener);
  }

  /** Remove a listener added with {@link HoldfastClient.on}. */
  off<K extends keyof ServerMessages<P> & string>(type: K, listener: MessageListener<P, K>): void {
    this.#messages.off(type, listener);
  }

  /**
   * Start connecting (from `idle`, `closed` or `failed`), or retry at once (from
   * `reconnecting`, skipping the rest of the backoff delay). Resolves at the next `welcome`;
   * rejects with `CLIENT_CLOSED` when the client fails terminally or is closed first.
   *
   * @example
   * ```ts
   * await client.connect();
   * ```
   */
  connect(): Promise<void> {
    const s = this.#current;
    if (s.status === 'connected') return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (s.status === 'reconnecting') void this.#open(s.attempt, 'connect');
    else if (s.status !== 'connecting') {
      // idle, closed or failed
      this.#attempts = 0;
      const env = this.#o.environment;
      if (env && !this.#unwatch) this.#unwatch = watchEnvironment(env, (why) => this.#wake(why));
      void this.#open(0, 'connect');
    }
    return done;
  }

  /**
   * Send app message `type`, validated first. Resolves with the server handler's result when
   * its `res` arrives; queued while offline (in every state but `closed`/`failed`) and resent
   * with the same id after reconnects until then.
   *
   * Rejects with `VALIDATION_FAILED` (nothing queued), `MESSAGE_TOO_BIG`, `OUTBOX_OVERFLOW`,
   * `TIMEOUT`, `CLIENT_CLOSED`, or the server's error.
   *
   * @example
   * ```ts
   * await client.send('say', { room: 'lobby', text: 'hi' }, { timeoutMs: 5000 });
   * ```
   */
  send<K extends keyof ClientMessageInputs<P> & string>(
    type: K,
    data: ClientMessageInputs<P>[K],
    options: SendOptions = {},
  ): Promise<unknown> {
    return this.#enqueue('send', type, data, options.timeoutMs);
  }

  /**
   * Send request `type` and resolve with its response, validated with the protocol's
   * response schema. Like `send()`, but with a default deadline of `timeouts.requestMs`.
   *
   * @example
   * ```ts
   * const lines = await client.request('history', { room: 'lobby' }, { timeoutMs: 2000 });
   * ```
   */
  request<K extends keyof RequestInputs<P> & string>(
    type: K,
    data: RequestInputs<P>[K],
    options: RequestOptions = {},
  ): Promise<Responses<P>[K]> {
    return this.#enqueue('request', type, data, options.timeoutMs ?? this.#o.timeouts.requestMs) as Promise<
      Responses<P>[K]
    >;
  }

  /**
   * Join a room: its stream's messages are delivered from now on. The client remembers its
   * rooms and joins them again when the server starts a new session.
   *
   * @example
   * ```ts
   * const { stream, offset } = await client.join('lobby');
   * ```
   */
  async join(room: string): Promise<JoinResult> {
    const done = this.#control({ t: 'join', room });
    this.#rooms.add(room);
    this.#persist();
    try {
      return (await done) as JoinResult;
    } catch (error) {
      if ((error as HoldfastError).code !== ErrorCode.ClientClosed) this.#rooms.delete(room);
      throw error;
    }
  }

  /**
   * Leave a room.
   *
   * @example
   * ```ts
   * await client.leave('lobby');
   * ```
   */
  async leave(room: string): Promise<void> {
    const done = this.#control({ t: 'leave', room });
    this.#rooms.delete(room);
    this.#persist();
    await done;
  }

  /** The rooms the client is in (or is joining). */
  joinedRooms(): string[] {
    return [...this.#rooms];
  }

  /**
   * The messages waiting for their `res`, in send order: `queued` (not written on the current
   * connection) or `sent`.
   *
   * @example
   * ```ts
   * for (const m of client.pending()) showUnsent(m.id, m.data);
   * ```
   */
  pending(): PendingMessage[] {
    return this.#outbox.values().map(({ id, type, kind, state, data }) => ({ id, type, kind, state, data }));
  }

  /**
   * Close the connection for good (code 1000). Pending `send`/`request`/`join` promises reject
   * with `CLIENT_CLOSED` and the outbox is emptied; the session and cursors are kept, so a
   * later `connect()` resumes.
   *
   * @example
   * ```ts
   * client.close();
   * ```
   */
  close(reason = 'Client closed'): void {
    if (this.#current.status === 'closed') return;
    const close = { code: 1000, reason };
    const had = this.#drop(close);
    this.#shutdown(closedError());
    if (had) this.#emit('close', close);
    this.#setState({ status: 'closed', ...close }, 'app-close');
  }

  /** `await using client = createClient(...)`: closes, then waits for pending storage writes. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#persister?.flush();
  }

  // ---------------------------------------------------------------- connection lifecycle

  #setState(next: ConnectionState, reason: TransitionReason): void {
    const prev = this.#current;
    const fields = { from: prev.status, to: next.status, reason };
    if (!canTransition(prev.status, next.status))
      this.#o.logger?.error('holdfast: unexpected transition', fields);
    this.#current = next;
    this.#o.logger?.debug('holdfast: state', fields);
    this.#emit('state', { prev, next, reason });
  }

  /** Open a new connection now: the previous one (if any) is closed first. */
  async #open(attempt: number, reason: TransitionReason): Promise<void> {
    const o = this.#o;
    o.clock.clearTimeout(this.#retryTimer);
    if (this.#conn) this.#drop({ code: 4408, reason: 'Reconnecting' }, true);
    const generation = ++this.#generation;
    this.#setState({ status: 'connecting', attempt }, reason);
    let token: string | undefined;
    try {
      await this.#restored;
      token = typeof o.token === 'function' ? await o.token() : o.token;
    } catch (cause) {
      if (generation !== this.#generation) return;
      this.#report(new HoldfastError(ErrorCode.Unauthorized, 'Token provider failed', { cause }));
      return this.#lost({ code: 1006, reason: 'Token provider failed' }, 'token-error');
    }
    if (generation !== this.#generation) return;
    try {
      // The connection ignores its socket's events once closed or ended: what it reports is
      // always about the current connection.
      this.#conn = new Connection(o, token, {
        open: () => this.#hello(token),
        frame: this.#frame,
        badFrame: this.#report,
        end: this.#lost,
      });
    } catch (error) {
      this.#report(error);
      this.#fail({ code: 1006, reason: 'Could not create the WebSocket' }, 'socket-error');
    }
  }

  #hello(token: string | undefined): void {
    try {
      this.#write({
        t: 'hello',
        version: PROTOCOL_VERSION,
        token: this.#o.tokenTransport === 'hello' ? token : undefined,
        resume: this.#resume(),
      });
    } catch (error) {
      // An invalid token (or stored session) would fail the same way on every retry.
      this.#report(error);
      const close = { code: 4400, reason: 'Invalid hello' };
      this.#drop(close);
      this.#fail(close, 'terminal-close');
    }
  }

  /** Close the current connection (if any) on purpose. Returns whether there was one. */
  #drop(close: CloseInfo, dead?: boolean): boolean {
    const conn = this.#conn;
    this.#conn = undefined;
    conn?.close(close.code, close.reason, dead);
    this.#disconnected();
    return !!conn;
  }

  /**
   * The connection ended by itself (or never opened): retry, or fail on a terminal code. An
   * arrow function, like `#frame` and `#report`: handed to each connection as is.
   */
  readonly #lost = (close: CloseInfo, why: TransitionReason): void => {
    const o = this.#o;
    this.#conn = undefined;
    this.#disconnected();
    if (!this.#closeEvent(close)) return;
    if (!isRetryable(close.code)) return this.#fail(close, 'terminal-close');
    const attempt = this.#attempts + 1;
    if (attempt > o.reconnect.maxAttempts) return this.#fail(close, 'max-attempts');
    this.#attempts = attempt;
    const delayMs = retryDelay(attempt, o.reconnect, o.random, close.reason);
    this.#retryTimer = o.clock.setTimeout(() => void this.#open(attempt, 'retry'), delayMs);
    this.#setState(
      { status: 'reconnecting', attempt, retryAt: o.clock.now() + delayMs, delayMs, lastClose: close },
      why,
    );
  };

  /** Emit `close`; false when a listener closed or restarted the client meanwhile. */
  #closeEvent(close: CloseInfo): boolean {
    const generation = this.#generation;
    this.#emit('close', close);
    return generation === this.#generation;
  }

  #fail(close: CloseInfo, why: TransitionReason): void {
    this.#shutdown(closedError(`Connection failed: ${close.reason || close.code}`, { ...close }));
    this.#setState({ status: 'failed', ...close }, why);
  }

  /** The browser is back online or the page visible again: do not wait for timers. */
  #wake(why: 'online' | 'visible'): void {
    const s = this.#current;
    if (s.status === 'reconnecting') void this.#open(s.attempt, why);
    else if (
      why === 'visible' &&
      s.status === 'connected' &&
      // Timers are throttled in hidden pages: a connection that missed a beat is likely dead.
      this.#conn?.missedBeats() &&
      this.#closeEvent({ code: 4408, reason: 'Missed heartbeats while hidden' })
    ) {
      void this.#open(++this.#attempts, why);
    }
  }

  /** Per-connection cleanup. */
  #disconnected(): void {
    this.#o.clock.clearTimeout(this.#stableTimer);
    this.#o.clock.clearTimeout(this.#refreshTimer);
    this.#expiresAt = 0;
    this.#cursors.cancel();
    for (const e of this.#outbox.values()) e.state = 'queued';
    this.#rejectControls(closedError('Disconnected'));
  }

  /** The client stops (closed or failed): reject everything pending, empty the outbox. */
  #shutdown(error: HoldfastError): void {
    this.#generation++;
    this.#o.clock.clearTimeout(this.#retryTimer);
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#rejectControls(error, true);
    for (const e of this.#outbox.clear()) this.#settle(e, { ok: false, error });
    this.#settleWaiters(error);
    this.#persist();
  }

  /** Settle the `connect()` promises: resolve them, or reject them with `error`. */
  #settleWaiters(error?: HoldfastError): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) {
      if (error) w.reject(error);
      else w.resolve();
    }
  }

  // ---------------------------------------------------------------- incoming frames

  /** A frame from the current connection. */
  readonly #frame = (f: ServerFrame): void => {
    const cursors = this.#cursors;
    if (f.t === 'welcome') return this.#welcome(f);
    if (f.t === 'ping') return void this.#write({ t: 'pong', ts: f.ts });
    if (f.t === 'error') return this.#report(HoldfastError.fromBody(f.error));
    if (this.#current.status !== 'connected') {
      return this.#o.logger?.warn('holdfast: frame before welcome ignored', { t: f.t });
    }
    // Delivery: a `msg` at or below its stream's cursor is a duplicate and dropped; any other is
    // validated with the protocol and delivered once, in stream order. Loss is only ever what
    // the server announces (welcome gaps, `gap` frames), raised as `gap` events.
    switch (f.t) {
      case 'res':
        return this.#res(f);
      case 'msg':
        if (!cursors.accept(f.stream, f.epoch, f.offset)) return;
        this.#persist();
        return this.#deliver(f);
      case 'vol':
        return this.#deliver(f);
      case 'sub':
        if (f.op === 'join') {
          this.#rooms.add(f.room);
          if (f.epoch !== undefined && f.offset !== undefined) cursors.advance(f.stream, f.epoch, f.offset);
        } else {
          this.#rooms.delete(f.room);
          cursors.delete(f.stream);
        }
        this.#persist();
        return this.#emit('room', { op: f.op, room: f.room, stream: f.stream });
      case 'presence': {
        // The frame (validated, so without unknown fields) is the event, less its `t`.
        const { t, ...presence } = f;
        return this.#emit('presence', presence);
      }
      case 'gap': {
        const { t, ...gap } = f;
        cursors.advance(f.stream, f.epoch, f.to);
        this.#persist();
        return this.#emit('gap', { ...gap, source: 'frame' });
      }
    }
  };

  /** Validate an app message (`msg` or `vol`) and call its listeners. */
  #deliver({ t, type, data, ...where }: FrameOf<'msg' | 'vol'>): void {
    const v = this.#protocol.parseServer(type, data);
    if (!v.ok) return this.#report(v.error);
    const { stream } = where;
    // `where` is `stream`, `epoch`, `offset` and `ts` (`stream` and `ts` for a `vol`).
    const meta: MessageMeta = {
      stream,
      ...where,
      volatile: t === 'vol',
      room: stream === undefined ? undefined : Streams.roomOf(stream),
    };
    try {
      this.#messages.emit(type, v.value, meta);
    } catch (error) {
      // A throwing app listener must not break delivery of the next message.
      this.#report(error);
    }
  }

  #welcome(w: WelcomeFrame): void {
    if (this.#current.status === 'connected') return;
    this.#conn?.watch(w.heartbeat);
    this.#session = { sessionId: w.sessionId, resumeToken: w.resumeToken };
    this.#maxPayload = w.limits.maxPayload;
    // The welcome lists every subscribed stream, so its cursors replace ours. Gaps: every `gap`
    // status, and when the resume failed (`resumeError`), every stream we held that it does not
    // list as a gap.
    const previous = this.#cursors.list();
    this.#cursors.reset(w.streams);
    const gaps: GapEvent[] = [];
    for (const { stream, epoch, status, from, to, reason = 'unknown' } of w.streams) {
      if (status === 'gap') gaps.push({ stream, epoch, from, to, reason, source: 'welcome' });
    }
    for (const { stream, epoch } of w.resumeError ? previous : []) {
      if (!gaps.some((g) => g.stream === stream)) {
        gaps.push({ stream, epoch, reason: w.resumeError!, source: 'welcome' });
      }
    }
    // The outbox belongs to a user: after a resume that landed on another user (the token now
    // names someone else), pending messages fail here instead of being sent as that user.
    // Without a token every session is a new anonymous user: the outbox is resent.
    if (w.resumeError && this.#o.token !== undefined && this.#user !== undefined && w.user !== this.#user) {
      for (const e of this.#outbox.values()) {
        this.#outbox.take(e.id);
        this.#settle(e, {
          ok: false,
          error: new HoldfastError(ErrorCode.Forbidden, 'Not sent: queued by another user'),
        });
      }
    }
    this.#user = w.user;
    // Rooms, then the outbox, before any event: what a listener sends goes behind them.
    this.#resubscribe(w);
    for (const e of this.#outbox.values()) {
      // (Re)send every outbox entry in order, with its id.
      const error = this.#tooBig(e.bytes);
      if (!error) this.#transmit(e);
      else {
        this.#outbox.take(e.id);
        this.#settle(e, { ok: false, error });
      }
    }
    const { stableAfterMs } = this.#o.reconnect;
    if (stableAfterMs === 0) this.#attempts = 0;
    else this.#stableTimer = this.#o.clock.setTimeout(() => (this.#attempts = 0), stableAfterMs);
    this.#refreshToken(w.limits.tokenExpiresAt);
    this.#persist();
    this.#setState({ status: 'connected', sessionId: w.sessionId, resumed: w.resumed }, 'welcome');
    this.#settleWaiters();
    this.#emit('welcome', {
      sessionId: w.sessionId,
      resumed: w.resumed,
      resumeError: w.resumeError,
      user: w.user,
      streams: w.streams,
    });
    for (const gap of gaps) this.#emit('gap', gap);
  }

  /** After a welcome: resend pending joins/leaves, join remembered rooms the session lacks. */
  #resubscribe(w: WelcomeFrame): void {
    const listed = new Set(w.streams.map((s) => s.stream));
    const covered = new Set<string>();
    for (const { text, room } of this.#controls.values()) {
      if (room === undefined) continue;
      this.#conn?.send(text);
      covered.add(room);
    }
    for (const room of this.#rooms) {
      if (covered.has(room) || (w.resumed && listed.has(Streams.room(room)))) continue;
      this.#control({ t: 'join', room }, true).catch((error: HoldfastError) => {
        if (error.code === ErrorCode.ClientClosed) return;
        this.#rooms.delete(room);
        this.#persist();
        this.#report(error);
      });
    }
  }

  #res(f: ResFrame): void {
    const outcome: Outcome = f.ok
      ? { ok: true, result: f.result }
      : {
          ok: false,
          error: HoldfastError.fromBody(f.error ?? { code: ErrorCode.Internal, message: 'Failed' }),
        };
    const control = this.#controls.get(f.id);
    if (control) {
      this.#controls.delete(f.id);
      return settle(control, outcome);
    }
    const e = this.#outbox.take(f.id);
    if (!e) return;
    this.#persist();
    if (outcome.ok && e.kind === 'request') {
      const v = this.#protocol.parseResponse(e.type, outcome.result);
      return this.#settle(e, v.ok ? { ok: true, result: v.value } : v);
    }
    this.#settle(e, outcome);
  }

  // ---------------------------------------------------------------- outgoing

  #enqueue(kind: OutboxKind, type: string, data: unknown, timeoutMs: number | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#assertOpen();
      const known = kind === 'send' ? this.#protocol.isClientMessage(type) : this.#protocol.isRequest(type);
      if (!known) throw new HoldfastError(ErrorCode.UnknownMessageType, `Unknown ${kind} type`);
      const v = this.#protocol.parseInbound(type, data);
      if (!v.ok) throw v.error;
      const frame = { t: 'pub', id: this.#nextId(), type, data } as const;
      const entry = outboxEntry(kind, frame, encode(frame), false);
      entry.settle = { resolve, reject };
      const error = this.#tooBig(entry.bytes) ?? this.#outbox.add(entry);
      if (error) throw error;
      if (timeoutMs !== undefined)
        entry.timer = this.#o.clock.setTimeout(() => this.#timeout(entry), timeoutMs);
      this.#persist();
      if (this.#current.status === 'connected') this.#transmit(entry);
    });
  }

  #transmit(e: OutboxEntry): void {
    if (this.#conn?.send(e.text)) {
      e.state = 'sent';
      e.written = true;
    }
  }

  #timeout(e: OutboxEntry): void {
    // Written messages stay: the server may have handled them, and resending keeps it once.
    if (!e.written) {
      this.#outbox.take(e.id);
      this.#persist();
    }
    e.settle?.reject(new HoldfastError(ErrorCode.Timeout, `No answer to "${e.type}" in time`));
    e.settle = undefined;
  }

  /** Report the outcome of an entry taken out of the outbox to its caller, and to `ack` listeners. */
  #settle(e: OutboxEntry, outcome: Outcome) {
    this.#o.clock.clearTimeout(e.timer);
    settle(e.settle, outcome);
    e.settle = undefined;
    this.#emit('ack', { id: e.id, type: e.type, ...outcome } as AckEvent);
  }

  /** Register a join/leave/refresh; write it now if connected (or if `now`, during a welcome). */
  #control(frame: ControlFrame, now = this.#current.status === 'connected'): Promise<unknown> {
    this.#assertOpen();
    const id = this.#nextId();
    // Throws a ProtocolError when the frame is invalid (e.g. a room name with control characters).
    const text = encode({ ...frame, id });
    const room = 'room' in frame ? frame.room : undefined;
    const done = new Promise((resolve, reject) => this.#controls.set(id, { text, room, resolve, reject }));
    if (now) this.#conn?.send(text);
    return done;
  }

  /**
   * Reject the controls that belonged to the connection (it ended: refreshes), or all of them
   * with `all` (the client stopped).
   */
  #rejectControls(error: HoldfastError, all?: boolean): void {
    for (const [id, c] of this.#controls) {
      if (!all && c.room !== undefined) continue;
      this.#controls.delete(id);
      c.reject(error);
    }
  }

  #nextId(): string {
    return `${this.#idPrefix}-${(this.#seq++).toString(36)}`;
  }

  /**
   * In-band token refresh: the token of this connection expires at `expiresAt` (ms since the
   * epoch), so `refreshBeforeMs` before it, ask the provider (only a function can give a new
   * token) for a new one and send it (`refresh`), then follow the new expiry. Failures are
   * reported; the connection goes on until the server closes it (4401). A refresh in flight
   * when its connection ends is abandoned.
   */
  #refreshToken(expiresAt: number | undefined): void {
    const { token: provider, clock, refreshBeforeMs } = this.#o;
    const conn = this.#conn;
    clock.clearTimeout(this.#refreshTimer);
    // A refresh that does not move the expiry forward would loop: stop and let the server close.
    if (expiresAt === undefined || typeof provider !== 'function' || expiresAt <= this.#expiresAt) return;
    this.#expiresAt = expiresAt;
    const refresh = async () => {
      try {
        const token = await provider();
        if (this.#conn !== conn) return;
        const result = (await this.#control({ t: 'refresh', token })) as { expiresAt?: number } | undefined;
        if (this.#conn === conn) this.#refreshToken(result?.expiresAt);
      } catch (cause) {
        if (this.#conn !== conn)
          return this.#o.logger?.debug('holdfast: token refresh abandoned (disconnected)');
        this.#report(
          cause instanceof HoldfastError
            ? cause
            : new HoldfastError(ErrorCode.Unauthorized, 'Token refresh failed', { cause }),
        );
      }
    };
    this.#refreshTimer = clock.setTimeout(refresh, Math.max(0, expiresAt - refreshBeforeMs - clock.now()));
  }

  #write(frame: Parameters<typeof encode>[0]): boolean {
    return this.#conn?.send(encode(frame)) ?? false;
  }

  #assertOpen(): void {
    const s = this.#current.status;
    if (s === 'closed' || s === 'failed') throw closedError(`Client is ${s}`);
  }

  /** A `MESSAGE_TOO_BIG` error when a frame of `bytes` is over the server's limit. */
  #tooBig(bytes: number): HoldfastError | undefined {
    const maxPayload = this.#maxPayload;
    if (maxPayload !== undefined && bytes > maxPayload) {
      return new HoldfastError(ErrorCode.MessageTooBig, 'Message larger than the server accepts', {
        details: { bytes, maxPayload },
      });
    }
  }

  // ---------------------------------------------------------------- events and storage

  #emit<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    try {
      this.#lifecycle.emit(event, ...args);
    } catch (error) {
      if (event === 'error')
        this.#o.logger?.error('holdfast: error listener threw', { error: String(error) });
      else this.#report(error);
    }
  }

  /** An `error` event (and a warning in the log). */
  readonly #report = (error: unknown): void => {
    const e = error instanceof Error ? error : new Error(String(error));
    this.#o.logger?.warn(`holdfast: ${e.message}`, { code: (e as HoldfastError).code });
    this.#emit('error', e);
  };

  #persist(): void {
    this.#persister?.schedule();
  }

  /** What `hello.resume` carries, and what is stored of the session. */
  #resume(): PersistedState['resume'] {
    return this.#session && { ...this.#session, cursors: this.#cursors.list() };
  }

  #snapshot(): PersistedState {
    return {
      v: 1,
      resume: this.#resume(),
      ...(this.#user !== undefined ? { user: this.#user } : {}),
      rooms: [...this.#rooms],
      outbox: this.#outbox.values().map(({ kind, text }) => ({ kind, text })),
      seq: this.#seq,
      maxPayload: this.#maxPayload,
    };
  }

  #restore(state: PersistedState | undefined, persister: Persister): void {
    if (state) {
      if (state.resume) {
        const { cursors, ...session } = state.resume;
        this.#session = session;
        this.#cursors.reset(cursors);
      }
      this.#user = state.user;
      for (const room of state.rooms) this.#rooms.add(room);
      this.#seq = Math.max(this.#seq, state.seq);
      this.#maxPayload ??= state.maxPayload;
      this.#outbox.prepend(restoredEntries(state.outbox));
    }
    this.#persister = persister;
    this.#persist();
  }
}

/**
 * Create a client for an app protocol. It stays `idle` until `connect()`; messages sent
 * before that are queued.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws'; // Node without a global WebSocket only
 * const client = createClient({ url: 'ws://localhost:3000', protocol: chat, WebSocket, token: 'secret' });
 * await client.connect();
 * ```
 */
export function createClient<P extends AnyProtocol>(options: ClientOptions<P>): HoldfastClient<P> {
  return new HoldfastClient(options);
}
