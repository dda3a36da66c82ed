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
export type { MessageFilter, Received } from './messages.js';
export type { PresenceMember } from './presence.js';
export type { RoomState } from './rooms.js';
export type { Defer } from './signal.js';
export type { ConnectionSnapshot, HoldfastStoreOptions } from './store.js';
