import { createHash, timingSafeEqual } from 'node:crypto';

/** What happened to a claim on a name. */
export type ClaimResult = 'ok' | 'taken' | 'full';

/**
 * Who holds which name: the first browser to sign in with a name binds it to that browser's
 * secret (kept in its localStorage); another browser's secret is refused for as long as the
 * store keeps the claim (the server's lifetime in memory, a day in Redis).
 */
export interface ClaimStore {
  /** Claim `name` for the holder of `secret`, or check that it already holds it. */
  claim(name: string, secret: string): Promise<ClaimResult>;
  close(): Promise<void>;
}

/** The SHA-256 of a secret, as stored (the secret itself never is). */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Constant-time comparison of two hex hashes. */
export function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** Claims in this process's memory: at most `max` names (about 100 bytes each), then `full`. */
export function memoryClaims(max = 10_000): ClaimStore {
  const claims = new Map<string, string>();
  return {
    async claim(name, secret) {
      const hash = secretHash(secret);
      const held = claims.get(name.toLowerCase());
      if (held !== undefined) return sameHash(held, hash) ? 'ok' : 'taken';
      if (claims.size >= max) return 'full';
      claims.set(name.toLowerCase(), hash);
      return 'ok';
    },
    async close() {},
  };
}

/** Options of {@link loginLimiter}. */
export interface LoginLimit {
  /** Logins an address may make at once. @default 20 */
  burst?: number;
  /** Logins an address gets back per minute. @default 30 */
  perMinute?: number;
  /** Addresses tracked at most (the oldest is forgotten first). @default 10000 */
  maxAddresses?: number;
  /** The clock. @default Date.now */
  now?: () => number;
}

/**
 * A token bucket per client address for `POST /api/login`. Memory is bounded: at most
 * `maxAddresses` buckets of a few bytes each.
 */
export function loginLimiter(options: LoginLimit = {}): (address: string) => boolean {
  const burst = options.burst ?? 20;
  const perMs = (options.perMinute ?? 30) / 60_000;
  const max = options.maxAddresses ?? 10_000;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return (address) => {
    const t = now();
    const b = buckets.get(address) ?? { tokens: burst, at: t };
    buckets.delete(address); // re-inserted below: the map stays in least-recently-used order
    b.tokens = Math.min(burst, b.tokens + (t - b.at) * perMs);
    b.at = t;
    const allowed = b.tokens >= 1;
    if (allowed) b.tokens -= 1;
    buckets.set(address, b);
    if (buckets.size > max) buckets.delete(buckets.keys().next().value as string);
    return allowed;
  };
}
