/**
 * `@holdfast/server/jwt`: an `authenticate` hook that verifies JWTs with `jose` (an optional peer
 * dependency: install it to use this entry; the main entry never loads it).
 *
 * @packageDocumentation
 */

import { isWireStream, Streams } from '@holdfast/protocol';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
  type KeyObject,
} from 'jose';
import type { Authenticate, AuthResult } from './options.js';

/**
 * A WebCrypto `CryptoKey`, described by its shape so that the published types compile without
 * the DOM lib (Node's `crypto.webcrypto.CryptoKey` and a browser's `CryptoKey` both fit).
 */
export interface WebCryptoKey {
  readonly type: string;
  readonly extractable: boolean;
  readonly algorithm: { readonly name: string };
  readonly usages: readonly string[];
}

/** Options of {@link jwtAuthenticator}. */
export interface JwtOptions {
  /** Shared secret for HS256/384/512. */
  secret?: string | Uint8Array;
  /** Public key for asymmetric algorithms. */
  publicKey?: KeyObject | WebCryptoKey;
  /** A JWK set (local) or its URL (fetched). */
  jwks?: { keys: JWK[] } | URL;
  /**
   * Accepted algorithms, pinned (never taken from the token header alone).
   * @default ['HS256'] with `secret`, ['RS256', 'ES256', 'EdDSA'] otherwise
   */
  algorithms?: string[];
  /** Required audience. */
  audience?: string | string[];
  /** Required issuer. */
  issuer?: string | string[];
  /**
   * Clock tolerance for `exp`/`nbf`, seconds.
   * @default 5
   */
  clockToleranceSec?: number;
  /**
   * Claim holding the user id.
   * @default 'sub'
   */
  userClaim?: string;
  /**
   * Largest accepted token, characters.
   * @default 8192
   */
  maxTokenLength?: number;
  /** Current time in ms, for tests. @default Date.now */
  now?: () => number;
}

/**
 * An `authenticate` hook that verifies a JWT with `jose`: algorithms pinned, `exp` required,
 * `aud`/`iss`/`nbf` checked with a small clock tolerance. The session's user is the `sub` claim;
 * the token's expiry is enforced on the open connection (close 4401 unless refreshed in-band).
 *
 * @example
 * ```ts
 * import { jwtAuthenticator } from '@holdfast/server/jwt';
 * createServer({ protocol, server, authenticate: jwtAuthenticator({ secret: process.env.JWT_SECRET!, audience: 'chat' }) });
 * ```
 */
export function jwtAuthenticator(options: JwtOptions): Authenticate {
  const { secret, publicKey, jwks } = options;
  const key: Uint8Array | KeyObject | WebCryptoKey | JWTVerifyGetKey | undefined =
    secret !== undefined
      ? typeof secret === 'string'
        ? new TextEncoder().encode(secret)
        : secret
      : (publicKey ??
        (jwks instanceof URL ? createRemoteJWKSet(jwks) : jwks ? createLocalJWKSet(jwks) : undefined));
  if (!key) throw new TypeError('jwtAuthenticator needs a secret, publicKey or jwks');
  const algorithms = options.algorithms ?? (secret !== undefined ? ['HS256'] : ['RS256', 'ES256', 'EdDSA']);
  if (algorithms.some((a) => a.toLowerCase() === 'none')) throw new TypeError('alg "none" is never accepted');
  const userClaim = options.userClaim ?? 'sub';
  const maxLength = options.maxTokenLength ?? 8192;
  const now = options.now ?? Date.now;
  return async ({ token }): Promise<AuthResult | null> => {
    if (!token || token.length > maxLength) return null;
    const { payload } = await jwtVerify(token, key as Uint8Array, {
      algorithms,
      requiredClaims: ['exp'],
      clockTolerance: options.clockToleranceSec ?? 5,
      currentDate: new Date(now()),
      ...(options.audience !== undefined ? { audience: options.audience } : {}),
      ...(options.issuer !== undefined ? { issuer: options.issuer } : {}),
    });
    const user = payload[userClaim];
    // The user names a stream (`user:<id>`) the client acks: it must pass the wire's stream rule
    // (no control characters, well-formed, short enough), or the user's own acks would be refused.
    if (typeof user !== 'string' || user.length === 0 || !isWireStream(Streams.user(user))) return null;
    return { user, expiresAt: (payload.exp as number) * 1000, data: { claims: payload } };
  };
}
