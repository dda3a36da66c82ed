import type { Clock, Logger, RetentionOptions } from '@holdfast/server';
import type { RedisClientOptions } from 'redis';

/** Reconnection backoff of the Redis connections: exponential with jitter, capped. */
export interface ReconnectOptions {
  /**
   * Delay before the first reconnection attempt (ms); it doubles on every failed attempt.
   * @default 50
   */
  initialDelayMs?: number;
  /**
   * Longest delay between two attempts (ms).
   * @default 2000
   */
  maxDelayMs?: number;
}

/** The health probe of the Redis connections (see README "Partitions"). */
export interface HealthCheckOptions {
  /**
   * How often each connection is probed with a PING (ms), from the server's sweep.
   * @default 1000
   */
  intervalMs?: number;
  /**
   * A PING unanswered this long means the node is partitioned from Redis (ms): the engine
   * turns unhealthy and the server moves this node's clients away. Twice this long after
   * the last probe went unanswered, the dead socket is dropped and reconnected.
   * @default 2000
   */
  timeoutMs?: number;
}

/** Options of {@link createRedisEngine}. */
export interface RedisEngineOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379` (or `rediss://` for TLS). Overrides `redis.url`. */
  url?: string;
  /**
   * URLs of a few Redis Cluster nodes (e.g. `['redis://10.0.0.1:6379']`): the engine then
   * uses node-redis's cluster client, `redis` being the options of each node's connection.
   * Leave undefined for a standalone Redis (`url`).
   */
  clusterNodes?: readonly string[];
  /**
   * Options of node-redis `createClient` (socket, credentials, database...). The engine
   * forces `disableOfflineQueue` (commands fail fast during an outage instead of piling up)
   * and sets a reconnect strategy unless `socket.reconnectStrategy` is given.
   */
  redis?: RedisClientOptions;
  /**
   * Prefix of every key and channel. Give each Holdfast deployment sharing a Redis its own.
   * Must not contain `{` or `}` (hash tags are the engine's).
   * @default 'holdfast:'
   */
  prefix?: string;
  /**
   * Retention bounds of every stream (count, bytes, age), with optional overrides per stream
   * kind (`session`, `user`, `room`, `broadcast`). A growing message counts once; its bytes are
   * its snapshot's and pending parts'. @default DEFAULT_RETENTION
   */
  retention?: RetentionOptions;
  /**
   * This node's id: owner of the sessions connected here, holder of handler claims. Must be
   * unique among running nodes.
   * @default a random id
   */
  nodeId?: string;
  /**
   * How long a connected session survives its node's death (ms). The node renews the lease
   * of its connected sessions every third of it; a killed node's sessions stay resumable
   * elsewhere until the lease ends, then expire like any other.
   * @default 120000
   */
  sessionLeaseMs?: number;
  /**
   * Lifetime of a connection's per-user slot unless renewed (ms). The node renews its slots
   * every third of it, so a killed node's connections stop counting against the per-user
   * limit within this time.
   * @default 10000
   */
  slotTtlMs?: number;
  /**
   * How long a node's claim on a running client message holds (ms). Another node that gets
   * the same message id (the client resent it after reconnecting elsewhere) waits for the
   * result instead of running the handler again, up to this long. Kept well below the
   * client's request timeout (30 s) so that a request in flight at a node's crash is run
   * on the node the client resumed on, and answered, before the client gives up; keep it
   * above the slowest handler's run time (a handler still running past it may run twice).
   * @default 10000
   */
  handlerClaimMs?: number;
  /**
   * A stream nobody appended to, read or watched for this long is deleted (ms); its next
   * message starts a new epoch. Keep it well above the resume window.
   * @default 86400000 (1 day)
   */
  idleStreamTtlMs?: number;
  /**
   * Use sharded pub/sub (`SPUBLISH`/`SSUBSCRIBE`, Redis 7+) for stream channels: on Redis
   * Cluster a message then only travels within its slot's shard. `false` uses classic
   * `PUBLISH`/`SUBSCRIBE` (Redis 6.2).
   * @default true
   */
  shardedPubSub?: boolean;
  /** Reconnection backoff. */
  reconnect?: ReconnectOptions;
  /** Partition detection: the health probe's pace and timeout. */
  healthCheck?: HealthCheckOptions;
  /** Logger with the pino interface. @default silent */
  logger?: Logger;
  /**
   * Clock for message times, expiries, leases, the wait for another node's running handler
   * and the close timeout. @default the system clock
   */
  clock?: Clock;
  /**
   * Randomness in [0, 1) for the reconnection jitter (tests pass a seeded source).
   * @default Math.random
   */
  random?: () => number;
}

/** Defaults of every option with one. */
export const DEFAULT_REDIS_ENGINE_OPTIONS = {
  prefix: 'holdfast:',
  sessionLeaseMs: 120_000,
  slotTtlMs: 10_000,
  handlerClaimMs: 10_000,
  idleStreamTtlMs: 86_400_000,
  shardedPubSub: true,
  reconnect: { initialDelayMs: 50, maxDelayMs: 2000 },
  healthCheck: { intervalMs: 1000, timeoutMs: 2000 },
} as const;

/**
 * The reconnect strategy the engine gives node-redis: exponential backoff from
 * `initialDelayMs`, capped at `maxDelayMs`, with jitter (half to full delay) so nodes do not
 * reconnect in lockstep after an outage; `random` is the jitter's source. Never gives up.
 */
export function backoff(
  options: ReconnectOptions = {},
  random: () => number = Math.random,
): (retries: number) => number {
  const initial = options.initialDelayMs ?? DEFAULT_REDIS_ENGINE_OPTIONS.reconnect.initialDelayMs;
  const max = options.maxDelayMs ?? DEFAULT_REDIS_ENGINE_OPTIONS.reconnect.maxDelayMs;
  return (retries) => {
    const delay = Math.min(max, initial * 2 ** Math.min(retries, 30));
    return Math.round(delay / 2 + (random() * delay) / 2);
  };
}
