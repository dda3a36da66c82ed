import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import { ErrorReply } from 'redis';

// Redis error replies that mean "not now" rather than "wrong": loading after a restart, a
// script or replica busy, a Sentinel/Cluster failover in progress.
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * Thrown by every {@link RedisEngine} operation that failed because Redis could not be
 * reached (offline, connection lost, loading, failover). A `HoldfastError` with code
 * `UNAVAILABLE`: a handler that lets it escape answers the client with that code, and
 * `cause` holds the Redis client's error.
 *
 * @example
 * ```ts
 * try {
 *   await server.sendToRoom('general', 'said', msg);
 * } catch (err) {
 *   if (err instanceof RedisUnavailableError) retryLater(msg);
 * }
 * ```
 */
export class RedisUnavailableError extends HoldfastError {
  /** The engine operation that failed (`append`, `getSession`, ...). */
  readonly operation: string;

  constructor(operation: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(ErrorCode.Unavailable, `Redis unavailable (${operation}): ${reason}`, { cause });
    this.name = 'RedisUnavailableError';
    this.operation = operation;
  }
}

/**
 * Thrown when Redis answered an operation with an error that is not about availability (a
 * wrong key type, a script error): a `HoldfastError` with code `INTERNAL`.
 */
export class RedisEngineError extends HoldfastError {
  /** The engine operation that failed. */
  readonly operation: string;

  constructor(operation: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(ErrorCode.Internal, `Redis engine error (${operation}): ${reason}`, { cause });
    this.name = 'RedisEngineError';
    this.operation = operation;
  }
}

/** Whether an error from the Redis client means Redis is (for now) unavailable. */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  // Replies from Redis carry its error code first; anything else comes from the client
  // itself (offline, closed, socket closed, timeouts, reconnect strategy gave up).
  if (err instanceof ErrorReply) return TRANSIENT_REPLY.test(err.message);
  return true;
}
