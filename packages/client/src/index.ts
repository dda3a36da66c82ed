/// <reference lib="esnext.disposable" preserve="true" />
// The client is `AsyncDisposable` (`await using client = ...`): its types need `Symbol.asyncDispose`
// in any project, including browser projects whose `lib` stops at ES2023.
/**
 * `@holdfast/client`: a Holdfast client for browsers and Node. Typed by the app's
 * `defineProtocol()`, it reconnects with backoff and resumes its session, delivers every
 * server message once and in order, and keeps an outbox of unanswered messages.
 *
 * @example
 * ```ts
 * import { createClient } from '@holdfast/client';
 * const client = createClient({ url: 'wss://chat.example', protocol: chat });
 * client.on('said', (data) => console.log(data.text));
 * await client.connect();
 * ```
 *
 * @packageDocumentation
 */

export type { GrowingMeta } from './appends.js';
export { backoffDelay, retryDelay } from './backoff.js';
export { HoldfastClient } from './client.js';
export type {
  CloseInfo,
  ConnectionState,
  ConnectionStatus,
  StateChange,
  TransitionReason,
} from './connection-state.js';
export { createClient } from './create.js';
export type {
  AckEvent,
  ClientEvents,
  GapEvent,
  Listenable,
  MessageMeta,
  PresenceEvent,
  RoomEvent,
  Unsubscribe,
  WelcomeEvent,
} from './events.js';
export {
  type AckOptions,
  type ClientEnvironment,
  type ClientOptions,
  type ClientStorage,
  type Clock,
  DEFAULT_CLIENT_OPTIONS,
  type Logger,
  type OutboxOptions,
  type PersistentStorage,
  type ReconnectOptions,
  type TimeoutOptions,
  type TokenProvider,
  type TokenTransport,
} from './options.js';
export type { OutboxKind, PendingMessage } from './outbox.js';
export { appends, type ClientPlugin, tokenRefresh } from './plugins.js';
export type { JoinOptions } from './rooms.js';
export type { WebSocketConstructor, WebSocketLike } from './socket.js';
export { memoryStorage, persistentStorage, type WebStorageLike, webStorage } from './storage.js';
export type {
  CloseOptions,
  JoinResult,
  MessageListener,
  MessageMetaOf,
  RequestOptions,
  SendOptions,
} from './types.js';
