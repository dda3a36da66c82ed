/**
 * Token buckets per address key (see `address.ts`): the frame rate of every connection from one
 * address together, kept across reconnects (a sender cut with 4429 that reconnects at once does
 * not get a fresh burst). A bucket is forgotten once it has refilled: memory is bounded by the
 * addresses active in the last `burst / rate` seconds.
 */
import { type TokenBucket, takeToken, tokenRetryAfterMs } from './token-bucket.js';

/** Buckets of one server. */
export class AddressBuckets {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly rate: number;
  private readonly burst: number;
  private prunedAt = 0;

  /** `rate` tokens per second, at most `burst` (0: no limit). */
  constructor(rate: number, burst: number) {
    this.rate = rate;
    this.burst = burst;
  }

  /** Take one token for `key` at `now` (ms); false when its bucket is empty. */
  take(key: string, now: number): boolean {
    if (this.burst <= 0) return true;
    if (now - this.prunedAt >= 1000) this.prune(now);
    let b = this.buckets.get(key);
    if (!b) {
      b = { tokens: this.burst * 1000, tokensAt: now };
      this.buckets.set(key, b);
    }
    return takeToken(b, now, this.rate, this.burst);
  }

  /** Milliseconds until `key` has a token again. */
  retryAfterMs(key: string): number {
    const b = this.buckets.get(key);
    return b ? tokenRetryAfterMs(b, this.rate) : 0;
  }

  /** Buckets held (addresses active recently). */
  get size(): number {
    return this.buckets.size;
  }

  /** Forget buckets that have refilled (they would start full anyway). */
  private prune(now: number): void {
    this.prunedAt = now;
    const full = this.burst * 1000;
    for (const [key, b] of this.buckets)
      if (b.tokens + (now - b.tokensAt) * this.rate >= full) this.buckets.delete(key);
  }
}
