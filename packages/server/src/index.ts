/**
 * `@holdfast/server`: WebSocket sessions that hold, on `ws`. Typed by the app protocol,
 * resumable per session with acks, in memory by default and scalable through an {@link Engine}.
 *
 * Optional features live in their own entries so that this one never loads their dependencies:
 * `@holdfast/server/jwt` (`jwtAuthenticator`, needs `jose`) and `@holdfast/server/metrics`
 * (`metricsHandler`, needs `prom-client`).
 *
 * @packageDocumentation
 */

export type {
  ConnectionFilter,
  Handler,
  HandlerContext,
  History,
  HistoryMessage,
  HistoryOptions,
  InboundType,
  MessageTarget,
  MessageWriter,
  SendOptions,
  ServerApi,
  ServerEvents,
  ServerHooks,
  StartMessageOptions,
} from './api.js';
export { type Clock, systemClock } from './clock.js';
export type { ConnectionInfo } from './connection.js';
export {
  type ControlCommand,
  DEFAULT_RETENTION,
  type Engine,
  type Except,
  type PresenceEntry,
  type ReadResult,
  type ResolvedRetention,
  type RetentionBounds,
  type RetentionOptions,
  resolveRetention,
  retentionOf,
  type SessionRecord,
  STREAM_KINDS,
  type StoredMessage,
  type StreamHead,
} from './engine.js';
export { adminHandler, type HttpHandler, statsHandler } from './http-handlers.js';
export { type IdSource, randomIds, sha256 } from './ids.js';
export { Inbox, type InboxMessage } from './inbox.js';
export { MemoryEngine, type MemoryEngineOptions } from './memory-engine.js';
export {
  type Authenticate,
  type AuthorizeJoin,
  type AuthRequest,
  type AuthResult,
  DEFAULT_SERVER_OPTIONS,
  type HeartbeatOptions,
  type JoinDecision,
  type LimitOptions,
  type Logger,
  type ResolvedOptions,
  type Rewind,
  resolveOptions,
  type ServerOptions,
  ServerOptionsError,
  silentLogger,
} from './options.js';
export { createServer, HoldfastServer } from './server.js';
export type { Counters, ServerStats } from './stats.js';
