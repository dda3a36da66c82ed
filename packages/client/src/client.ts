import {
  type AnyProtocol,
  type ClientMessageInputs,
  ErrorCode,
  encode,
  type HelloFrame,
  HoldfastError,
  isRetryable,
  PROTOCOL_VERSION,
  type RequestInputs,
  type ResFrame,
  type Responses,
  type ServerFrame,
  type ServerMessages,
  Streams,
  type WelcomeFrame,
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
import { Delivery } from './delivery.js';
import { watchEnvironment } from './environment.js';
import {
  type AckEvent,
  type ClientEvents,
  Emitter,
  type Listenable,
  type MessageMeta,
  type Unsubscribe,
} from './events.js';
import { Ids } from './ids.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { Outbox, type OutboxEntry, type OutboxKind, type PendingMessage } from './outbox.js';
import { loadState, type PersistedState, Persister, restoredEntries } from './persistence.js';
import { type ControlFrame, ControlRequests, type Outcome } from './requests.js';
import { socketTarget } from './socket.js';
import { TokenRefresh } from './token-refresh.js';

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

const closedError = (message = 'Client closed', details?: Record<string, unknown>) =>
  new HoldfastError(ErrorCode.ClientClosed, message, details ? { details } : {});

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
  #maxPayload: number | undefined;
  #heartbeatIntervalMs = 0;
  readonly #cursors: Cursors;
  readonly #outbox: Outbox;
  readonly #controls = new ControlRequests();
  readonly #refresh: TokenRefresh;
  readonly #delivery: Delivery;
  readonly #rooms = new Set<string>();
  readonly #ids: Ids;
  readonly #encoder = new TextEncoder();
  #waiters: { resolve(): void; reject(error: unknown): void }[] = [];
  #unwatch: (() => void) | undefined;
  readonly #persister: Persister | undefined;
  #restored: Promise<void> = Promise.resolve();
  #loaded = false;

  constructor(options: ClientOptions<P>) {
    this.#o = resolveOptions(options);
    this.#protocol = options.protocol;
    this.events = this.#lifecycle;
    this.#ids = new Ids(this.#o.random);
    this.#outbox = new Outbox(this.#o.outbox);
    this.#cursors = new Cursors(this.#o.clock, this.#o.ack, (cursors) => this.#write({ t: 'ack', cursors }));
    this.#delivery = new Delivery({
      protocol: this.#protocol,
      cursors: this.#cursors,
      rooms: this.#rooms,
      messages: this.#messages,
      emit: (event, ...args) => this.#emit(event, ...args),
      report: (error) => this.#report(error),
      persist: () => this.#persist(),
    });
    this.#refresh = new TokenRefresh(this.#o.token, {
      clock: this.#o.clock,
      refreshBeforeMs: this.#o.refreshBeforeMs,
      send: (token) => this.#control({ t: 'refresh', id: this.#ids.next(), token }),
      report: (error) => this.#report(error),
      logger: this.#o.logger,
    });
    const storage = this.#o.storage;
    if (storage) {
      const warn = (message: string, error: unknown) =>
        this.#o.logger?.warn(message, { error: String(error) });
      this.#persister = new Persister(storage, this.#o.storageKey, () => this.#snapshot(), warn);
      const state = loadState(storage, this.#o.storageKey, warn);
      if (state instanceof Promise) this.#restored = state.then((s) => this.#restore(s));
      else this.#restore(state);
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
    const s = this.#current.status;
    if (s === 'connected') return Promise.resolve();
    const done = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    if (s === 'idle' || s === 'closed' || s === 'failed') {
      this.#attempts = 0;
      const env = this.#o.environment;
      if (env && !this.#unwatch) {
        this.#unwatch = watchEnvironment(env, {
          online: () => this.#wake('online'),
          visible: () => this.#wake('visible'),
        });
      }
      void this.#open(0, 'connect');
    } else if (this.#current.status === 'reconnecting') {
      void this.#open(this.#current.attempt, 'connect');
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
    const done = this.#control({ t: 'join', id: this.#ids.next(), room });
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
    const done = this.#control({ t: 'leave', id: this.#ids.next(), room });
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
    return [...this.#outbox.values()].map(({ id, type, kind, state, data }) => ({
      id,
      type,
      kind,
      state,
      data,
    }));
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
    const conn = this.#conn;
    this.#conn = undefined;
    conn?.close(1000, reason);
    this.#disconnected();
    this.#shutdown(closedError());
    if (conn) this.#emit('close', { code: 1000, reason });
    this.#setState({ status: 'closed', code: 1000, reason }, 'app-close');
  }

  /** `await using client = createClient(...)`: closes, then waits for pending storage writes. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#persister?.flush();
  }

  // ---------------------------------------------------------------- connection lifecycle

  #setState(next: ConnectionState, reason: TransitionReason): void {
    const prev = this.#current;
    if (!canTransition(prev.status, next.status)) {
      this.#o.logger?.error('holdfast: unexpected transition', {
        from: prev.status,
        to: next.status,
        reason,
      });
    }
    this.#current = next;
    this.#o.logger?.debug('holdfast: state', { from: prev.status, to: next.status, reason });
    this.#emit('state', { prev, next, reason });
  }

  /** Open a new connection now: the previous one (if any) is closed first. */
  async #open(attempt: number, reason: TransitionReason): Promise<void> {
    this.#o.clock.clearTimeout(this.#retryTimer);
    if (this.#conn) {
      this.#conn.close(4408, 'Reconnecting', true);
      this.#conn = undefined;
      this.#disconnected();
    }
    const generation = ++this.#generation;
    this.#setState({ status: 'connecting', attempt }, reason);
    let token: string | undefined;
    try {
      await this.#restored;
      const provider = this.#o.token;
      token = typeof provider === 'function' ? await provider() : provider;
    } catch (cause) {
      if (generation !== this.#generation) return;
      this.#report(new HoldfastError(ErrorCode.Unauthorized, 'Token provider failed', { cause }));
      return this.#lost({ code: 1006, reason: 'Token provider failed' }, 'token-error');
    }
    if (generation !== this.#generation) return;
    const { url, protocols } = socketTarget(this.#o.url, token, this.#o.tokenTransport);
    try {
      const conn: Connection = new Connection(
        {
          WebSocket: this.#o.WebSocket,
          url,
          protocols,
          clock: this.#o.clock,
          connectTimeoutMs: this.#o.timeouts.connectMs,
          maxIncomingBytes: this.#o.maxIncomingBytes,
          logger: this.#o.logger,
        },
        {
          open: () => this.#conn === conn && this.#hello(token),
          frame: (frame) => this.#conn === conn && this.#frame(frame),
          badFrame: (error) => this.#report(error),
          end: (close, why) => {
            if (this.#conn !== conn) return;
            this.#conn = undefined;
            this.#lost(close, why);
          },
        },
      );
      this.#conn = conn;
    } catch (error) {
      this.#report(error);
      this.#fail({ code: 1006, reason: 'Could not create the WebSocket' }, 'socket-error');
    }
  }

  #hello(token: string | undefined): void {
    const hello: HelloFrame = { t: 'hello', version: PROTOCOL_VERSION };
    if (token !== undefined && this.#o.tokenTransport === 'hello') hello.token = token;
    if (this.#session) hello.resume = { ...this.#session, cursors: this.#cursors.list() };
    try {
      this.#conn?.send(encode(hello));
    } catch (error) {
      // An invalid token (or stored session) would fail the same way on every retry.
      this.#report(error);
      const conn = this.#conn;
      this.#conn = undefined;
      conn?.close(4400, 'Invalid hello');
      this.#disconnected();
      this.#fail({ code: 4400, reason: 'Invalid hello' }, 'terminal-close');
    }
  }

  /** The connection ended by itself: retry, or fail on a terminal code. */
  #lost(close: CloseInfo, why: TransitionReason): void {
    this.#disconnected();
    const generation = this.#generation;
    this.#emit('close', close);
    // A `close` listener may have closed or restarted the client.
    if (generation !== this.#generation) return;
    if (!isRetryable(close.code)) return this.#fail(close, 'terminal-close');
    const attempt = this.#attempts + 1;
    if (attempt > this.#o.reconnect.maxAttempts) return this.#fail(close, 'max-attempts');
    this.#attempts = attempt;
    const delayMs = retryDelay(attempt, this.#o.reconnect, this.#o.random, close.reason);
    this.#retryTimer = this.#o.clock.setTimeout(() => void this.#open(attempt, 'retry'), delayMs);
    const retryAt = this.#o.clock.now() + delayMs;
    this.#setState({ status: 'reconnecting', attempt, retryAt, delayMs, lastClose: close }, why);
  }

  #fail(close: CloseInfo, why: TransitionReason): void {
    this.#shutdown(closedError(`Connection failed: ${close.reason || close.code}`, { ...close }));
    this.#setState({ status: 'failed', code: close.code, reason: close.reason }, why);
  }

  /** The browser is back online or the page visible again: do not wait for timers. */
  #wake(why: 'online' | 'visible'): void {
    const s = this.#current;
    if (s.status === 'reconnecting') void this.#open(s.attempt, why);
    else if (why === 'visible' && s.status === 'connected' && this.#conn) {
      // Timers are throttled in hidden pages: a connection that missed a beat is likely dead.
      if (this.#conn.idleMs() > this.#heartbeatIntervalMs) {
        const generation = this.#generation;
        this.#emit('close', { code: 4408, reason: 'Missed heartbeats while hidden' });
        if (generation === this.#generation) void this.#open(++this.#attempts, why);
      }
    }
  }

  /** Per-connection cleanup. */
  #disconnected(): void {
    const clock = this.#o.clock;
    clock.clearTimeout(this.#stableTimer);
    this.#refresh.stop();
    this.#cursors.cancel();
    for (const e of this.#outbox.values()) e.state = 'queued';
    this.#controls.dropConnectionBound(closedError('Disconnected'));
  }

  /** The client stops (closed or failed): reject everything pending, empty the outbox. */
  #shutdown(error: HoldfastError): void {
    this.#generation++;
    this.#o.clock.clearTimeout(this.#retryTimer);
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#controls.rejectAll(error);
    for (const e of this.#outbox.clear()) {
      this.#o.clock.clearTimeout(e.timer);
      this.#settle(e, { ok: false, error });
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w.reject(error);
    this.#persist();
  }

  // ---------------------------------------------------------------- incoming frames

  #frame(f: ServerFrame): void {
    if (f.t === 'welcome') return this.#welcome(f);
    if (f.t === 'ping') {
      this.#write(f.ts === undefined ? { t: 'pong' } : { t: 'pong', ts: f.ts });
      return;
    }
    if (f.t === 'error') return this.#report(HoldfastError.fromBody(f.error));
    if (this.#current.status !== 'connected') {
      this.#o.logger?.warn('holdfast: frame before welcome ignored', { t: f.t });
      return;
    }
    if (f.t === 'res') return this.#res(f);
    if (f.t !== 'pong') this.#delivery.frame(f);
  }

  #welcome(w: WelcomeFrame): void {
    const conn = this.#conn;
    if (!conn || this.#current.status === 'connected') return;
    conn.watch(w.heartbeat.timeoutMs);
    this.#session = { sessionId: w.sessionId, resumeToken: w.resumeToken };
    this.#maxPayload = w.limits.maxPayload;
    this.#heartbeatIntervalMs = w.heartbeat.intervalMs;
    const gaps = this.#delivery.welcome(w);
    // Rooms, then the outbox, before any event: what a listener sends goes behind them.
    this.#resubscribe(w);
    this.#flushOutbox();
    const { stableAfterMs } = this.#o.reconnect;
    if (stableAfterMs === 0) this.#attempts = 0;
    else this.#stableTimer = this.#o.clock.setTimeout(() => (this.#attempts = 0), stableAfterMs);
    this.#refresh.stop();
    this.#refresh.schedule(w.limits.tokenExpiresAt);
    this.#persist();
    this.#setState({ status: 'connected', sessionId: w.sessionId, resumed: w.resumed }, 'welcome');
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const waiter of waiters) waiter.resolve();
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
    const { texts, rooms: covered } = this.#controls.resendable();
    for (const text of texts) this.#conn?.send(text);
    for (const room of this.#rooms) {
      if (covered.has(room) || (w.resumed && listed.has(Streams.room(room)))) continue;
      this.#control({ t: 'join', id: this.#ids.next(), room }, true).catch((error: HoldfastError) => {
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
    if (this.#controls.settle(f.id, outcome)) return;
    const e = this.#outbox.take(f.id);
    if (!e) return;
    this.#o.clock.clearTimeout(e.timer);
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
      const id = this.#ids.next();
      const text = encode(data === undefined ? { t: 'pub', id, type } : { t: 'pub', id, type, data });
      const bytes = this.#encoder.encode(text).length;
      if (this.#maxPayload !== undefined && bytes > this.#maxPayload) throw this.#tooBig(bytes);
      const entry: OutboxEntry = { id, type, kind, data, text, bytes, state: 'queued', written: false };
      entry.settle = { resolve, reject };
      const overflow = this.#outbox.add(entry);
      if (overflow) throw overflow;
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

  /** After a welcome: (re)send every outbox entry in order, with its id. */
  #flushOutbox(): void {
    for (const e of [...this.#outbox.values()]) {
      if (this.#maxPayload !== undefined && e.bytes > this.#maxPayload) {
        this.#outbox.take(e.id);
        this.#o.clock.clearTimeout(e.timer);
        this.#settle(e, { ok: false, error: this.#tooBig(e.bytes) });
      } else {
        this.#transmit(e);
      }
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

  /** Report an outbox entry's outcome to its caller, and to `ack` listeners. */
  #settle(e: OutboxEntry, outcome: Outcome) {
    if (outcome.ok) e.settle?.resolve(outcome.result);
    else e.settle?.reject(outcome.error);
    e.settle = undefined;
    this.#emit('ack', { id: e.id, type: e.type, ...outcome } as AckEvent);
  }

  /** Register a join/leave/refresh; write it now if connected (or if `now`, during a welcome). */
  #control(frame: ControlFrame, now = this.#current.status === 'connected'): Promise<unknown> {
    this.#assertOpen();
    const { text, done } = this.#controls.add(frame);
    if (now) this.#conn?.send(text);
    return done;
  }

  #write(frame: Parameters<typeof encode>[0]): boolean {
    return this.#conn?.send(encode(frame)) ?? false;
  }

  #assertOpen(): void {
    const s = this.#current.status;
    if (s === 'closed' || s === 'failed') throw closedError(`Client is ${s}`);
  }

  #tooBig(bytes: number): HoldfastError {
    return new HoldfastError(ErrorCode.MessageTooBig, 'Message larger than the server accepts', {
      details: { bytes, maxPayload: this.#maxPayload },
    });
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

  #report(error: unknown): void {
    const e = error instanceof Error ? error : new Error(String(error));
    this.#o.logger?.warn(`holdfast: ${e.message}`, { code: (e as HoldfastError).code });
    this.#emit('error', e);
  }

  #persist(): void {
    if (this.#loaded) this.#persister?.schedule();
  }

  #snapshot(): PersistedState {
    return {
      v: 1,
      resume: this.#session && { ...this.#session, cursors: this.#cursors.list() },
      rooms: [...this.#rooms],
      outbox: [...this.#outbox.values()].map((e) => ({ kind: e.kind, text: e.text })),
      seq: this.#ids.seq,
      maxPayload: this.#maxPayload,
    };
  }

  #restore(state: PersistedState | undefined): void {
    if (state) {
      if (state.resume) {
        this.#session = { sessionId: state.resume.sessionId, resumeToken: state.resume.resumeToken };
        this.#cursors.reset(state.resume.cursors);
      }
      for (const room of state.rooms) this.#rooms.add(room);
      this.#ids.seq = Math.max(this.#ids.seq, state.seq);
      this.#maxPayload ??= state.maxPayload;
      this.#outbox.prepend(restoredEntries(state.outbox, this.#encoder));
    }
    this.#loaded = true;
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
