import type { AnyProtocol, Logger } from '@holdfast/protocol';
import { debugDefault } from '#debug-env';
import type { WebSocketConstructor } from './socket.js';

/**
 * Time as the client sees it. Inject one in tests to drive backoff, heartbeats and timeouts
 * without waiting.
 *
 * @example
 * ```ts
 * const clock: Clock = { now: () => t, setTimeout: (fn, ms) => timers.add(fn, ms), clearTimeout: (h) => timers.delete(h) };
 * ```
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Run `fn` once after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancel a timer made by {@link Clock.setTimeout}. */
  clearTimeout(handle: unknown): void;
}

/** Where the client logs: pino's interface and argument order (`(fields, message)`), shared with the server. */
export type { Logger };

/**
 * An auth token, or a function that returns a fresh one: called on every connection attempt
 * (and, with plugin `tokenRefresh`, before the token expires).
 *
 * @example
 * ```ts
 * const token: TokenProvider = async () => (await fetch('/token')).text();
 * ```
 */
export type TokenProvider = string | (() => string | Promise<string>);

/** How the token travels: in `hello` (default), as a subprotocol entry, or in the query string. */
export type TokenTransport = 'hello' | 'subprotocol' | 'query';

/**
 * Reconnection with exponential backoff and full jitter. The delay before retry `n` (1-based)
 * is uniform in `[minDelayMs, cap]` with `cap = min(maxDelayMs, initialDelayMs * factor^(n-1))`.
 *
 * @example
 * ```ts
 * createClient({ url, protocol, reconnect: { maxAttempts: 10, maxDelayMs: 10_000 } });
 * ```
 */
export interface ReconnectOptions {
  /**
   * The cap of the first retry's delay.
   * @default 1000
   */
  initialDelayMs: number;
  /**
   * The smallest delay of any retry (the lower end of the jitter range).
   * @default 500
   */
  minDelayMs: number;
  /**
   * How much the cap grows per attempt.
   * @default 2
   */
  factor: number;
  /**
   * The largest cap.
   * @default 30000
   */
  maxDelayMs: number;
  /**
   * Retries after a retryable close before the client gives up (state `failed`).
   * `0` means no retry at all.
   * @default Infinity
   */
  maxAttempts: number;
  /**
   * A connection must stay up this long before the attempt counter resets to zero, so a
   * server that accepts and drops at once still sees growing delays.
   * @default 10000
   */
  stableAfterMs: number;
}

/**
 * Batching of cursor acks: an `ack` frame goes out when `maxCount` messages are unacked or
 * `delayMs` after the first unacked one, whichever is first.
 */
export interface AckOptions {
  /**
   * Unacked messages that trigger an ack at once. `0` and `1` ack every message. Acks are
   * advisory (docs/PROTOCOL.md §4.3): the client resumes from the cursors it holds, so below
   * this many messages a second the timer alone decides, one ack a second at most.
   * @default 500
   */
  maxCount: number;
  /**
   * Longest wait before unacked messages are acked.
   * @default 1000
   */
  delayMs: number;
}

/** Bounds of the outbox (messages waiting for their `res`, sent or not). */
export interface OutboxOptions {
  /**
   * Most messages held. Over it, `send()` rejects with `OUTBOX_OVERFLOW`.
   * @default 500
   */
  maxCount: number;
  /**
   * Most bytes (encoded frames) held. Over it, `send()` rejects with `OUTBOX_OVERFLOW`.
   * @default 1048576
   */
  maxBytes: number;
}

/** Client-side deadlines. */
export interface TimeoutOptions {
  /**
   * From creating the socket to the server's `welcome`; a connection that takes longer is
   * closed and retried.
   * @default 10000
   */
  connectMs: number;
  /**
   * Default deadline of `request()` (per call: `{ timeoutMs }`). `send()` has none by default.
   * @default 30000
   */
  requestMs: number;
}

/**
 * The page the client lives in, for the `online` event and page visibility. Defaults to
 * `globalThis` when it has `addEventListener` (browsers); pass `null` to ignore it.
 */
export interface ClientEnvironment {
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
  /** Where `visibilitychange` fires and `visibilityState` is read. */
  document?: {
    readonly visibilityState?: string;
    addEventListener(type: string, listener: () => void): void;
    removeEventListener(type: string, listener: () => void): void;
  };
}

/**
 * A part of the client that only some apps use, added with the `plugins` option: `appends`
 * (growing messages, extension `appends`; required when the protocol declares `appends`) and
 * `tokenRefresh` (in-band token refresh, docs/PROTOCOL.md §4.7). The client does not import
 * them, so a bundle ships only the plugins the app imports.
 *
 * @example
 * ```ts
 * import { appends, createClient, tokenRefresh } from '@holdfast/client';
 * const client = createClient({ url, protocol: ai, token: getToken, plugins: [appends, tokenRefresh] });
 * ```
 */
export interface ClientPlugin {
  /** The plugin's name: `appends` or `tokenRefresh`. */
  readonly name: string;
}

/**
 * Where a client keeps its session, cursors, rooms and outbox between page loads: an adapter
 * that `persistentStorage` turns into a storage for option `storage`. Methods may be
 * synchronous or return promises. Values are strings (JSON).
 *
 * @example
 * ```ts
 * const adapter: ClientStorage = {
 *   get: (key) => idb.get(key),
 *   set: (key, value) => idb.set(key, value),
 *   remove: (key) => idb.del(key),
 * };
 * createClient({ url, protocol, storage: persistentStorage(adapter) });
 * ```
 */
export interface ClientStorage {
  /** The value stored under `key`; `null` or `undefined` when there is none. */
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  /** Store `value` under `key`, replacing what was there. */
  set(key: string, value: string): void | Promise<void>;
  /** Forget what is stored under `key`. */
  remove(key: string): void | Promise<void>;
}

/**
 * What option `storage` takes: a {@link ClientStorage} that brings the client's persistence
 * with it (writing its state after changes, reading it back checked at creation), so a bundle
 * without a storage ships none of it. Made by `webStorage`, `memoryStorage`, or
 * `persistentStorage` for an adapter of your own.
 *
 * @example
 * ```ts
 * const storage: PersistentStorage = webStorage(window.sessionStorage);
 * ```
 */
export interface PersistentStorage extends ClientStorage {
  /** The client's persistence (opaque: the client calls it, apps never do). */
  readonly persistence: object;
}

/**
 * Options of {@link createClient}. Only `url` and `protocol` are required.
 *
 * @example
 * ```ts
 * import WebSocket from 'ws';
 * const client = createClient({ url: 'ws://localhost:3000', protocol: chat, WebSocket, token: () => getToken() });
 * ```
 */
export interface ClientOptions<P extends AnyProtocol> {
  /** The server's WebSocket URL (`ws://` or `wss://`). */
  url: string;
  /** The app protocol from `defineProtocol()`, shared with the server. */
  protocol: P;
  /**
   * The WebSocket implementation. Defaults to the global `WebSocket` (browsers, Node 22+);
   * pass `ws`'s in older Node.
   */
  WebSocket?: WebSocketConstructor;
  /** The auth token or a provider of fresh tokens. */
  token?: TokenProvider;
  /**
   * How the token travels.
   * @default 'hello'
   */
  tokenTransport?: TokenTransport;
  /**
   * With plugin `tokenRefresh`: when the server announces the token's expiry, ask the provider
   * for a new one this long before it and send it in-band (`refresh`), without reconnecting.
   * @default 30000
   */
  refreshBeforeMs?: number;
  /** Backoff and retry policy. */
  reconnect?: Partial<ReconnectOptions>;
  /** Cursor ack batching. */
  ack?: Partial<AckOptions>;
  /** Outbox bounds. */
  outbox?: Partial<OutboxOptions>;
  /** Client-side deadlines. */
  timeouts?: Partial<TimeoutOptions>;
  /**
   * Largest server frame accepted; bigger ones are dropped and reported as `error` events.
   * @default 1048576
   */
  maxIncomingBytes?: number;
  /**
   * Keeps session, cursors, rooms and outbox across page reloads: `webStorage(sessionStorage)`,
   * `memoryStorage()`, or `persistentStorage(adapter)` (see {@link PersistentStorage}).
   */
  storage?: PersistentStorage;
  /**
   * The parts only some apps use: `appends` (needed when the protocol declares appends) and
   * `tokenRefresh` (see {@link ClientPlugin}). A bundle ships only those the app imports.
   */
  plugins?: readonly ClientPlugin[];
  /**
   * The storage key. Use one per client when several share a storage.
   * @default 'holdfast'
   */
  storageKey?: string;
  /** The page, for `online` and visibility events; `null` to ignore. */
  environment?: ClientEnvironment | null;
  /** Time source. */
  clock?: Clock;
  /** Random numbers in `[0, 1)`, for jitter and ids. */
  random?: () => number;
  /**
   * Where to log (a pino logger, or `console`, fits as is); nothing is logged by default. Never
   * given tokens, resume tokens or payloads.
   *
   * @example
   * ```ts
   * createClient({ url, protocol, logger: pino({ level: 'debug' }) }); // or logger: console
   * ```
   */
  logger?: Logger;
  /**
   * Verbose logs (state changes, welcomes, socket errors) to the console when no `logger` is
   * given. In Node, `HOLDFAST_DEBUG=1` or `DEBUG=holdfast*` turns it on (never read in a browser).
   * @default from the environment in Node, else false
   */
  debug?: boolean;
}

/**
 * Every default of {@link ClientOptions}, in one place.
 *
 * @example
 * ```ts
 * const slow = { ...DEFAULT_CLIENT_OPTIONS.reconnect, maxDelayMs: 60_000 };
 * ```
 */
export const DEFAULT_CLIENT_OPTIONS = Object.freeze({
  tokenTransport: 'hello' as TokenTransport,
  refreshBeforeMs: 30_000,
  reconnect: Object.freeze<ReconnectOptions>({
    initialDelayMs: 1000,
    minDelayMs: 500,
    factor: 2,
    maxDelayMs: 30_000,
    maxAttempts: Infinity,
    stableAfterMs: 10_000,
  }),
  ack: Object.freeze<AckOptions>({ maxCount: 500, delayMs: 1e3 }),
  outbox: Object.freeze<OutboxOptions>({ maxCount: 500, maxBytes: 1_048_576 }),
  timeouts: Object.freeze<TimeoutOptions>({ connectMs: 10_000, requestMs: 30_000 }),
  maxIncomingBytes: 1_048_576,
  storageKey: 'holdfast',
});

/** Options with every default filled in. */
export interface ResolvedOptions {
  url: string;
  WebSocket: WebSocketConstructor;
  token?: TokenProvider;
  tokenTransport: TokenTransport;
  refreshBeforeMs: number;
  reconnect: ReconnectOptions;
  ack: AckOptions;
  outbox: OutboxOptions;
  timeouts: TimeoutOptions;
  maxIncomingBytes: number;
  storage?: PersistentStorage;
  storageKey: string;
  plugins?: readonly ClientPlugin[];
  /** `null` or `undefined`: none. */
  environment?: ClientEnvironment | null;
  clock: Clock;
  random: () => number;
  /** The app's {@link Logger}, called in pino's order. */
  logger?: Logger;
}

/** Wrapped: browsers throw "Illegal invocation" when timers are called on another `this`. */
const systemClock: Clock = {
  now: Date.now,
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
};

/** Fill in defaults; unset (`undefined`) options take the default, so `0` stays `0`. */
export function resolveOptions(options: ClientOptions<AnyProtocol>): ResolvedOptions {
  const page = globalThis as Partial<ClientEnvironment> & { WebSocket?: WebSocketConstructor };
  const resolved = fill(
    {
      ...DEFAULT_CLIENT_OPTIONS,
      WebSocket: page.WebSocket,
      // The page by default: `globalThis` when it has `addEventListener` (browsers).
      environment: typeof page.addEventListener === 'function' ? (page as ClientEnvironment) : undefined,
      clock: systemClock,
      random: Math.random,
    },
    options,
  );
  // `console` fits the Logger as is (the client's messages all start with `holdfast:`).
  resolved.logger ??= (resolved.debug ?? debugDefault()) ? console : undefined;
  // Each group of options (the defaults that are objects): its defaults, under the fields the app set.
  for (const key in DEFAULT_CLIENT_OPTIONS) {
    const group = key as keyof typeof DEFAULT_CLIENT_OPTIONS;
    if (typeof DEFAULT_CLIENT_OPTIONS[group] === 'object') {
      (resolved as Record<string, unknown>)[group] = fill(
        DEFAULT_CLIENT_OPTIONS[group] as object,
        options[group] as object,
      );
    }
  }
  if (!resolved.WebSocket) {
    throw new TypeError('No WebSocket implementation: pass one as options.WebSocket (e.g. from "ws")');
  }
  return resolved as ResolvedOptions;
}

/** A copy of `defaults` with the fields `given` sets (`undefined` fields keep the default). */
function fill<T extends object, G extends object>(defaults: T, given: G | undefined): T & Partial<G> {
  const out = { ...defaults } as Record<string, unknown>;
  for (const key in given) if (given[key] !== undefined) out[key] = given[key];
  return out as T & Partial<G>;
}
