/**
 * The token-bucket rule shared by the per-connection and per-address frame limits: tokens are
 * counted in thousandths, refill at `rate` tokens per second up to `burst`, and one frame takes
 * one token.
 */
import { smallInt } from './clock.js';

/** A bucket's state, kept by its owner (a connection keeps it in two of its own fields). */
export interface TokenBucket {
  /** Tokens, in thousandths. */
  tokens: number;
  /** When last refilled (ms). */
  tokensAt: number;
}

/** Refill `b` to `now` and take one token; false (nothing taken) when fewer than one is left. */
export function takeToken(b: TokenBucket, now: number, rate: number, burst: number): boolean {
  b.tokens = smallInt(Math.min(burst * 1000, b.tokens + (now - b.tokensAt) * rate));
  b.tokensAt = now;
  if (b.tokens < 1000) return false;
  b.tokens -= 1000;
  return true;
}

/** Milliseconds until `b` holds one token again. */
export function tokenRetryAfterMs(b: TokenBucket, rate: number): number {
  return rate > 0 ? Math.ceil((1000 - b.tokens) / rate) : 60_000;
}
