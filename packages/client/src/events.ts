import type { GapReason, HoldfastError, StreamStatus } from '@holdfast/protocol';
import type { CloseInfo, StateChange } from './connection-state.js';
import type { Logger } from './options.js';

/** Call it to remove the listener it was returned for. */
export type Unsubscribe = () => void;

/**
 * Where a server message came from. `stream`/`epoch`/`offset` are set for stream messages
 * (`msg`), `volatile` is true for `vol` frames (at most once, never replayed), `room` is set
 * for messages of a room stream.
 */
export interface MessageMeta {
  stream?: string;
  epoch?: string;
  offset?: number;
  /** Server time of the message (ms since the Unix epoch). */
  ts: number;
  volatile: boolean;
  room?: string;
}

/** Messages of a stream were lost and will never arrive (`from`..`to` inclusive, where known). */
export interface GapEvent {
  stream: string;
  epoch: string;
  from?: number;
  to?: number;
  reason: GapReason;
  /** `welcome`: found on reconnect; `frame`: announced while connected. */
  source: 'welcome' | 'frame';
}

/** The session joined or left a room (asked by the app, or done by the server). */
export interface RoomEvent {
  op: 'join' | 'leave';
  room: string;
  stream: string;
}

/** Someone joined or left a room the session is in. */
export interface PresenceEvent {
  room: string;
  event: 'join' | 'leave';
  user: string;
  /** That user's session count in the room now. */
  sessions: number;
}

/** The outcome of an outbox message, also for messages restored from storage. */
export type AckEvent =
  | { id: string; type: string; ok: true; result: unknown }
  | { id: string; type: string; ok: false; error: HoldfastError };

/** A connection was accepted. Secrets (the resume token) are left out. */
export interface WelcomeEvent {
  sessionId: string;
  resumed: boolean;
  resumeError?: 'expired' | 'forbidden';
  user?: string;
  streams: StreamStatus[];
}

/**
 * Lifecycle events of a client, on `client.events`. App messages are on `client.on()`, so no
 * app message name can collide with these.
 *
 * @example
 * ```ts
 * const off = client.events.on('state', ({ prev, next, reason }) => console.log(prev.status, '->', next.status, reason));
 * client.events.on('gap', (gap) => reloadHistory(gap.stream));
 * off();
 * ```
 */
export interface ClientEvents {
  /** The connection state changed. */
  state: (change: StateChange) => void;
  /** The server accepted a connection (after every (re)connect). */
  welcome: (welcome: WelcomeEvent) => void;
  /** Messages were lost on a stream. */
  gap: (gap: GapEvent) => void;
  /** Joined or left a room. */
  room: (room: RoomEvent) => void;
  /** Presence change in a room. */
  presence: (presence: PresenceEvent) => void;
  /** An outbox message got its `res` (restored ones included: their promises are gone). */
  ack: (ack: AckEvent) => void;
  /** A problem that is not any caller's rejection: bad frames, invalid data, token refresh... */
  error: (error: Error) => void;
  /** A socket closed (the client may reconnect: see `state`). */
  close: (close: CloseInfo) => void;
}

/** Something to listen to: `on` and `once` return an unsubscribe function. */
export interface Listenable<M extends { [K in keyof M]: (...args: any[]) => void }> {
  /** Listen to `event` until the returned function is called. */
  on<K extends keyof M & string>(event: K, listener: M[K]): Unsubscribe;
  /** Listen to the next `event` only. */
  once<K extends keyof M & string>(event: K, listener: M[K]): Unsubscribe;
  /** Remove a listener. */
  off<K extends keyof M & string>(event: K, listener: M[K]): void;
}

type AnyListener = ((...args: any[]) => void) & { listener?: unknown };

/**
 * A typed event emitter whose `on` and `once` return an unsubscribe function. Listeners run in
 * the order they were added; those added or removed while an event is emitted take effect from
 * the next one (the lists are copied on write). What a listener throws propagates to the caller
 * of `emit` (the client catches and reports it). Listeners are kept in a `Map`, so any event name
 * is safe (an app message may be called `constructor`).
 */
export class Emitter<M extends { [K in keyof M]: (...args: any[]) => void }> implements Listenable<M> {
  readonly #listeners = new Map<string, AnyListener[]>();

  on<K extends keyof M & string>(event: K, listener: M[K]): Unsubscribe {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener]);
    return () => this.off(event, listener);
  }

  once<K extends keyof M & string>(event: K, listener: M[K]): Unsubscribe {
    const once: AnyListener = (...args) => {
      this.off(event, once as M[K]);
      listener(...args);
    };
    once.listener = listener;
    return this.on(event, once as M[K]);
  }

  /** Remove every registration of `listener` for `event` (with `on` or `once`). */
  off<K extends keyof M & string>(event: K, listener: M[K]): void {
    const left = this.#listeners.get(event)?.filter((l) => l !== listener && l.listener !== listener);
    if (left?.length) this.#listeners.set(event, left);
    else this.#listeners.delete(event);
  }

  /** Call the listeners of `event`, in order. */
  emit<K extends keyof M & string>(event: K, ...args: Parameters<M[K]>): void {
    for (const l of this.#listeners.get(event) ?? []) l(...args);
  }
}

/**
 * The client's lifecycle events. A throwing listener never breaks the client: what it throws
 * becomes an `error` event (and what an `error` listener throws is logged).
 */
export class Lifecycle extends Emitter<ClientEvents> {
  readonly #logger: Logger | undefined;

  /** Logs to the client's `logger` option. */
  constructor(logger: Logger | undefined) {
    super();
    this.#logger = logger;
  }

  /** Emit `event`, catching what its listeners throw. */
  fire<K extends keyof ClientEvents>(event: K, ...args: Parameters<ClientEvents[K]>): void {
    try {
      this.emit(event, ...args);
    } catch (error) {
      if (event === 'error') this.#logger?.error({ error: String(error) }, 'holdfast: error listener threw');
      else this.report(error);
    }
  }

  /** An `error` event (and a warning in the log). */
  readonly report = (error: unknown): void => {
    const e = error instanceof Error ? error : new Error(String(error));
    this.#logger?.warn({ code: (e as HoldfastError).code }, `holdfast: ${e.message}`);
    this.fire('error', e);
  };
}
