import type {
  AnyProtocol,
  ClientFrame,
  ClientMessageInputs,
  RequestInputs,
  Responses,
  ServerFrame,
  ServerMessages,
  WelcomeFrame,
} from '@holdfast/protocol';
import { retryDelay } from './backoff.js';
import { Calls, type CallsHandlers } from './calls.js';
import { Connection } from './connection.js';
import type { CloseInfo, ConnectionState, TransitionReason } from './connection-state.js';
import { closedError, Waiters } from './controls.js';
import { Cursors } from './cursors.js';
import { Delivery, type DeliveryHandlers } from './delivery.js';
import { watchEnvironment } from './environment.js';
import { type ClientEvents, Emitter, Lifecycle, type Listenable, type Unsubscribe } from './events.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import type { PendingMessage } from './outbox.js';
import {
  closeFor,
  persistOf,
  resumeOf,
  type StateWriter,
  type StoredParts,
  welcomed,
} from './persistence.js';
import { growingOf, partOf } from './plugins.js';
import {
  CLOSE_ABNORMAL,
  CLOSE_BAD_PROTOCOL,
  CLOSE_TIMEOUT,
  CLOSE_UNAUTHORIZED,
  encodeOwnClientFrame,
  HoldfastError,
  isRetryable,
  PROTOCOL_VERSION,
} from './protocol.js';
import { type JoinOptions, Rooms, type RoomsHandlers } from './rooms.js';
import type { TokenRefresh, TokenRefreshHandlers } from './token-refresh.js';
import type { CloseOptions, JoinResult, MessageListener, RequestOptions, SendOptions } from './types.js';
import { welcomeGaps } from './welcome.js';

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
  readonly #lifecycle: Lifecycle;
  readonly #messages = new Emitter<any>();
  readonly #o: ResolvedOptions;
  #current: ConnectionState = { status: 'idle' };
  #conn: Connection | undefined;
  /** Bumped whenever a pending connection attempt must be abandoned. */
  #generation = 0;
  /** Retries since the last connection that stayed up `stableAfterMs`. */
  #attempts = 0;
  #retryTimer: unknown;
  #stableTimer: unknown;
  readonly #cursors: Cursors;
  readonly #calls: Calls;
  /** The session, cursors, rooms and outbox: what the stored state is made of. */
  readonly #parts: StoredParts;
  readonly #delivery: Delivery;
  /** From plugin `tokenRefresh` (none without). */
  readonly #refresh: TokenRefresh | undefined;
  readonly #rooms: Rooms;
  /** The promises of `connect()` calls, settled at the next `welcome` or when the client stops. */
  readonly #waiters = new Waiters();
  #unwatch: (() => void) | undefined;
  /** Set once the stored state is restored: writes start then. */
  #persister: StateWriter | undefined;
  #restored: Promise<void> = Promise.resolve();

  constructor(options: ClientOptions<P>) {
    const o = resolveOptions(options);
    this.#o = o;
    const lifecycle = new Lifecycle(o.logger);
    this.#lifecycle = lifecycle;
    this.events = lifecycle;
    // What the client's parts ask of it, in one object (each part sees its own interface).
    const host: CallsHandlers & RoomsHandlers & DeliveryHandlers & TokenRefreshHandlers = {
      send: (text) => this.#conn?.send(text) ?? false,
      connected: () => this.#current.status === 'connected',
      assertOpen: () => {
        const s = this.#current.status;
        if (s === 'closed' || s === 'failed') throw closedError(`Client is ${s}`);
      },
      persist: () => this.#persist(),
      ack: (event) => lifecycle.fire('ack', event),
      emit: (event, ...args) => lifecycle.fire(event, ...args),
      report: lifecycle.report,
      welcomed: () => this.#waiters.wait(),
      current: () => this.#conn,
      refresh: (token) => this.#calls.control({ t: 'refresh', token }),
    };
    this.#calls = new Calls(o, options.protocol, host);
    this.#cursors = new Cursors(o, (cursors) => this.#write({ t: 'ack', cursors }));
    this.#rooms = new Rooms(this.#calls, host);
    const rooms = this.#rooms.names;
    this.#parts = { session: undefined, user: undefined, cursors: this.#cursors, rooms, calls: this.#calls };
    const growing = growingOf(o.plugins, options.protocol);
    this.#delivery = new Delivery(
      options.protocol,
      this.#cursors,
      this.#rooms,
      this.#messages,
      host,
      growing,
    );
    this.#refresh = partOf(o.plugins, 'refresh')?.(o, host);
    if (o.storage) {
      this.#restored = persistOf(o.storage)(o, this.#parts, (writer) => {
        this.#persister = writer;
        this.#persist();
      });
    }
  }

  /** The connection state (see {@link ConnectionState}). */
  get state(): ConnectionState {
    return this.#current;
  }

  /**
   * Listen to app message `type` from the server, validated with the protocol's schema.
   * Lifecycle events are on {@link HoldfastClient.events} instead. For an appendable type
   * (an AI answer that grows token by token), the listener gets the folded value on every
   * update, and `meta` adds `key`, `start`, `done` and the `delta` (see `GrowingMeta`).
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
    const done = this.#waiters.wait();
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
   * Send app message `type`, validated first. Resolves with the server handler's result when its
   * `res` arrives (for a request type, its response, validated and typed as by `request()`);
   * queued while offline (in every state but `closed`/`failed`) and resent with the same id.
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
    options?: SendOptions,
  ): Promise<unknown>;
  /** A request type: resolves with its response (the protocol declares it), validated. */
  send<K extends keyof RequestInputs<P> & string>(
    type: K,
    data: RequestInputs<P>[K],
    options?: SendOptions,
  ): Promise<Responses<P>[K]>;
  send(type: string, data: unknown, options: SendOptions = {}): Promise<unknown> {
    return this.#calls.enqueue('send', type, data, options.timeoutMs);
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
    return this.#calls.enqueue(
      'request',
      type,
      data,
      options.timeoutMs ?? this.#o.timeouts.requestMs,
    ) as Promise<Responses<P>[K]>;
  }

  /**
   * Join a room: its stream's messages are delivered from now on (with `rewind`, also its
   * recent past; `UNSUPPORTED` when the server lacks extension `rewind`). The client remembers
   * its rooms and joins them again when the server starts a new session.
   *
   * @example
   * ```ts
   * const { stream, offset } = await client.join('lobby', { rewind: { count: 50 } });
   * ```
   */
  join(room: string, options?: JoinOptions): Promise<JoinResult> {
    return this.#rooms.join(room, options);
  }

  /**
   * Leave a room.
   *
   * @example
   * ```ts
   * await client.leave('lobby');
   * ```
   */
  leave(room: string): Promise<void> {
    return this.#rooms.leave(room);
  }

  /** The rooms the client is in (or is joining). */
  joinedRooms(): string[] {
    return [...this.#rooms.names];
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
    return this.#calls.pending();
  }

  /**
   * Close the connection for good (code 1000). Pending `send`/`request`/`join` promises reject
   * with `CLIENT_CLOSED` and the outbox is emptied; the session and cursors are kept, so a
   * later `connect()` resumes. `{ endSession: true }` logs out instead (see `CloseOptions`).
   *
   * @example
   * ```ts
   * client.close(); // or client.close({ endSession: true }) to log out
   * ```
   */
  close(options?: string | CloseOptions): void {
    const close = closeFor(options, this.#parts);
    if (this.#current.status === 'closed') return this.#persist();
    const had = this.#drop(close);
    this.#shutdown(closedError());
    if (had) this.#lifecycle.fire('close', close);
    this.#setState({ status: 'closed', ...close }, 'app-close');
  }

  /** `await using client = createClient(...)`: closes, then waits for the storage (read back, writes). */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#restored;
    await this.#persister?.flush();
  }

  // ---------------------------------------------------------------- connection lifecycle

  #setState(next: ConnectionState, reason: TransitionReason): void {
    const prev = this.#current;
    this.#current = next;
    this.#o.logger?.debug({ from: prev.status, to: next.status, reason, state: next }, 'holdfast: state');
    this.#lifecycle.fire('state', { prev, next, reason });
  }

  /** Open a new connection now: the previous one (if any) is closed first. */
  async #open(attempt: number, reason: TransitionReason): Promise<void> {
    const o = this.#o;
    o.clock.clearTimeout(this.#retryTimer);
    if (this.#conn) this.#drop({ code: CLOSE_TIMEOUT, reason: 'Reconnecting' }, true);
    const generation = ++this.#generation;
    this.#setState({ status: 'connecting', attempt }, reason);
    let token: string | undefined;
    try {
      await this.#restored;
      token = typeof o.token === 'function' ? await o.token() : o.token;
    } catch (cause) {
      if (generation !== this.#generation) return;
      this.#lifecycle.report(new HoldfastError('UNAUTHORIZED', 'Token provider failed', { cause }));
      return this.#lost({ code: CLOSE_ABNORMAL, reason: 'Token provider failed' }, 'token-error');
    }
    if (generation !== this.#generation) return;
    try {
      // The connection ignores its socket's events once closed or ended: what it reports is
      // always about the current connection.
      this.#conn = new Connection(o, token, {
        open: () => this.#hello(token),
        frame: this.#frame,
        badFrame: this.#lifecycle.report,
        end: this.#lost,
      });
    } catch (error) {
      this.#lifecycle.report(error);
      this.#fail({ code: CLOSE_ABNORMAL, reason: 'Could not create the WebSocket' }, 'socket-error');
    }
  }

  #hello(token: string | undefined): void {
    try {
      this.#write({
        t: 'hello',
        version: PROTOCOL_VERSION,
        token: this.#o.tokenTransport === 'hello' ? token : undefined,
        resume: resumeOf(this.#parts, true),
      });
    } catch (error) {
      // An invalid token (or stored session) would fail the same way on every retry.
      this.#lifecycle.report(error);
      const close = { code: CLOSE_BAD_PROTOCOL, reason: 'Invalid hello' };
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
   * arrow function, like `#frame`: handed to each connection as is.
   */
  readonly #lost = (close: CloseInfo, why: TransitionReason): void => {
    const o = this.#o;
    // The token of a connection that was up expired (§4.7): a provider gives a new one, so
    // retry. A 4401 before the welcome (the new token refused too) stays terminal.
    const expired =
      close.code === CLOSE_UNAUTHORIZED &&
      this.#current.status === 'connected' &&
      typeof o.token === 'function';
    this.#conn = undefined;
    this.#disconnected();
    if (!this.#closeEvent(close)) return;
    if (!expired && !isRetryable(close.code)) return this.#fail(close, 'terminal-close');
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
    this.#lifecycle.fire('close', close);
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
      this.#closeEvent({ code: CLOSE_TIMEOUT, reason: 'Missed heartbeats while hidden' })
    ) {
      void this.#open(++this.#attempts, why);
    }
  }

  /** Per-connection cleanup. */
  #disconnected(): void {
    this.#o.clock.clearTimeout(this.#stableTimer);
    this.#refresh?.stop();
    this.#cursors.cancel();
    this.#calls.disconnected(closedError('Disconnected'));
  }

  /** The client stops (closed or failed): reject everything pending, empty the outbox. */
  #shutdown(error: HoldfastError): void {
    this.#generation++;
    this.#o.clock.clearTimeout(this.#retryTimer);
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#calls.shutdown(error);
    this.#waiters.settle(error);
    this.#persist();
  }

  // ---------------------------------------------------------------- incoming frames

  /** A frame from the current connection. */
  readonly #frame = (f: ServerFrame): void => {
    if (f.t === 'welcome') return this.#welcome(f);
    if (f.t === 'ping') return void this.#write({ t: 'pong', ts: f.ts });
    if (f.t === 'error') return this.#calls.error(f, this.#lifecycle.report);
    if (this.#current.status !== 'connected') {
      return this.#o.logger?.warn({ t: f.t }, 'holdfast: frame before welcome ignored');
    }
    if (f.t === 'res') return this.#calls.res(f);
    if (f.t !== 'pong') this.#delivery.frame(f);
  };

  #welcome(w: WelcomeFrame): void {
    if (this.#current.status === 'connected') return;
    this.#conn?.watch(w.heartbeat);
    const gaps = welcomeGaps(w, this.#cursors.list());
    welcomed(this.#parts, w, this.#o.token === undefined);
    this.#delivery.growing?.welcome(w.streams);
    // Rooms, then the outbox, before any event: what a listener sends goes behind them.
    this.#rooms.resubscribe(w);
    this.#calls.resend();
    const { stableAfterMs } = this.#o.reconnect;
    if (stableAfterMs === 0) this.#attempts = 0;
    else this.#stableTimer = this.#o.clock.setTimeout(() => (this.#attempts = 0), stableAfterMs);
    this.#refresh?.schedule(w.limits.tokenExpiresAt);
    this.#persist();
    this.#setState({ status: 'connected', sessionId: w.sessionId, resumed: w.resumed }, 'welcome');
    this.#waiters.settle();
    this.#lifecycle.fire('welcome', {
      sessionId: w.sessionId,
      resumed: w.resumed,
      resumeError: w.resumeError,
      user: w.user,
      streams: w.streams,
    });
    for (const gap of gaps) this.#lifecycle.fire('gap', gap);
  }

  #write(frame: ClientFrame): boolean {
    return this.#conn?.send(encodeOwnClientFrame(frame)) ?? false;
  }

  // ---------------------------------------------------------------- outgoing and storage

  #persist(): void {
    this.#persister?.schedule();
  }
}
