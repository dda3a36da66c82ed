/**
 * `@holdfast/react`: React hooks for a Holdfast client, bound to the app's protocol by
 * {@link createHoldfastHooks}. Built on `useSyncExternalStore`: each hook re-renders its
 * component only when what it reads changes. Safe to import during a server render (nothing
 * touches `window` at import; a provider given `options` creates its client in the browser only).
 *
 * @example
 * ```tsx
 * import { createHoldfastHooks } from '@holdfast/react';
 * export const { HoldfastProvider, useConnectionState, useRoom, useMessages, useSend } = createHoldfastHooks(chat);
 * ```
 *
 * @packageDocumentation
 */
export type { ActionState, Settled } from './action.js';
export type { HoldfastGap } from './gaps.js';
export { GapLog } from './gaps.js';
export {
  createHoldfastHooks,
  type GapsOptions,
  type GapsResult,
  type HoldfastHooks,
  type HoldfastProviderProps,
  type PresenceOptions,
  type RequestResult,
  type SendResult,
} from './hooks.js';
export { MessageBuffer, type MessageFilter, type Received } from './messages.js';
export { type PresenceLoader, type PresenceMember, RoomPresence } from './presence.js';
export { RoomRegistry, type RoomState } from './rooms.js';
export { type Defer, microtask, Signal } from './signal.js';
export { type ConnectionSnapshot, HoldfastStore, type HoldfastStoreOptions } from './store.js';
