import type { RedisClientOptions } from 'redis';
import { backoff, DEFAULT_REDIS_ENGINE_OPTIONS, type RedisEngineOptions } from './options.js';

/** The node-redis options both connections get. */
export function clientOptions(options: RedisEngineOptions, nodeId: string): RedisClientOptions {
  const base = options.redis ?? {};
  const health = { ...DEFAULT_REDIS_ENGINE_OPTIONS.healthCheck, ...options.healthCheck };
  return {
    // A name makes the connection handshake one round trip (CLIENT SETNAME): something in
    // front of Redis that accepts TCP and then resets fails the handshake, so the
    // reconnection backoff applies instead of a "ready" connection lost at once, again and
    // again. It also shows the node in CLIENT LIST.
    name: `holdfast:${nodeId.replace(/[^\w:.-]/g, '_')}`,
    ...base,
    ...(options.url !== undefined ? { url: options.url } : {}),
    // Fail fast during an outage: a queue of commands waiting for Redis would grow without
    // bound and replay stale work (appends into a new epoch) when it comes back.
    disableOfflineQueue: true,
    // node-redis 5 sends CLIENT SETINFO while (re)connecting and ignores its errors: a
    // connection reset during that handshake then leaves the client "ready" on a dead
    // socket, never reconnecting (seen when Redis dies right after accepting). Without
    // the handshake, a reset after connecting is noticed as a lost ready connection.
    disableClientInfo: true,
    socket: {
      // A dead link (partition) never errors by itself: once the health probe stops writing
      // to it, this idle timeout drops the socket and node-redis reconnects.
      socketTimeout: health.intervalMs + 2 * health.timeoutMs,
      ...base.socket,
      reconnectStrategy: base.socket?.reconnectStrategy ?? backoff(options.reconnect, options.random),
    } as RedisClientOptions['socket'],
  };
}
