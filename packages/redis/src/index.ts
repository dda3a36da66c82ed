/**
 * `@holdfast/redis`: run Holdfast on many nodes sharing one Redis. Cross-node delivery over
 * (sharded) pub/sub, streams in Redis Streams with epochs, sessions, handled client message
 * ids, room membership and per-user connection limits shared across nodes.
 *
 * @packageDocumentation
 */
export { isUnavailable, RedisEngineError, RedisUnavailableError } from './errors.js';
export { Keys } from './keys.js';
export {
  backoff,
  DEFAULT_REDIS_ENGINE_OPTIONS,
  type ReconnectOptions,
  type RedisEngineOptions,
} from './options.js';
export {
  createRedisEngine,
  type RedisConnectionName,
  RedisEngine,
  type RedisEngineEvents,
  type RedisEngineStatus,
} from './redis-engine.js';
