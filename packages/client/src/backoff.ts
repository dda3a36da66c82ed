import type { ReconnectOptions } from './options.js';
import { parseRetryAfter } from './protocol.js';

/**
 * The delay before retry `attempt` (1-based): exponential backoff with full jitter, uniform in
 * `[minDelayMs, cap]` where `cap = min(maxDelayMs, initialDelayMs * factor^(attempt-1))`
 * (and `minDelayMs` is lowered to `cap` when larger). Rounded to whole milliseconds.
 *
 * @example
 * ```ts
 * backoffDelay(1, DEFAULT_CLIENT_OPTIONS.reconnect, Math.random); // 500..1000
 * backoffDelay(3, DEFAULT_CLIENT_OPTIONS.reconnect, () => 1); // 4000
 * ```
 */
export function backoffDelay(
  attempt: number,
  o: Pick<ReconnectOptions, 'initialDelayMs' | 'minDelayMs' | 'factor' | 'maxDelayMs'>,
  random: () => number,
): number {
  const cap = Math.min(o.maxDelayMs, o.initialDelayMs * o.factor ** (attempt - 1));
  const min = Math.min(o.minDelayMs, cap);
  return Math.round(min + random() * (cap - min));
}

/**
 * The delay before retry `attempt` after a close with `reason`: the backoff delay, or the
 * server's `retryAfterMs=N` hint when that is longer.
 *
 * @example
 * ```ts
 * retryDelay(1, DEFAULT_CLIENT_OPTIONS.reconnect, Math.random, 'Rate limited; retryAfterMs=5000'); // 5000
 * ```
 */
export function retryDelay(
  attempt: number,
  o: Pick<ReconnectOptions, 'initialDelayMs' | 'minDelayMs' | 'factor' | 'maxDelayMs'>,
  random: () => number,
  reason: string | undefined,
): number {
  return Math.max(backoffDelay(attempt, o, random), parseRetryAfter(reason) ?? 0);
}
