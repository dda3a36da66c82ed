import { createSecretKey, generateKeyPairSync } from 'node:crypto';
import { jwtAuthenticator } from '@holdfast/server/jwt';
import { RawClient } from '@holdfast/testkit';
import fc from 'fast-check';
import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { Canary } from '../support/hostile.js';
import { runs } from '../support/scale.js';
import { recordNotes } from '../support/traffic.js';

// JWTs against a live server using jwtAuthenticator: every bad token is a 4401 (or a 4400
// when the frame itself breaks the token field's rule), never a crash, never a session.

const secret = 'chaos-secret-that-is-long-enough-for-hs256!';
const key = new TextEncoder().encode(secret);
const audience = 'chaos';
const issuer = 'holdfast-chaos';
const now = () => Math.floor(Date.now() / 1000);
const claims = { sub: 'alice', aud: audience, iss: issuer };

/** A token signed with the server's secret, HS256 unless told otherwise. */
function sign(
  body: Record<string, unknown> = claims,
  { alg = 'HS256', exp = now() + 600, nbf }: { alg?: string; exp?: number | null; nbf?: number } = {},
): Promise<string> {
  let jwt = new SignJWT(body).setProtectedHeader({ alg }).setIssuedAt();
  if (exp !== null) jwt = jwt.setExpirationTime(exp);
  if (nbf !== undefined) jwt = jwt.setNotBefore(nbf);
  return jwt.sign(alg.startsWith('HS') ? createSecretKey(Buffer.from(key)) : key);
}

/** How a hello with `token` ends: 0 for a welcome, else the close code (and the user). */
async function helloWith(
  url: string,
  token: string | undefined,
  via: 'hello' | 'subprotocol' | 'query' = 'hello',
): Promise<{ code: number; user?: string; error?: string }> {
  const c = await RawClient.open(
    via === 'query' && token ? `${url}?token=${encodeURIComponent(token)}` : url,
    via === 'subprotocol' && token ? { protocols: ['holdfast.v1', `holdfast.token.${token}`] } : {},
  );
  c.send({ t: 'hello', version: 1, ...(via === 'hello' && token !== undefined ? { token } : {}) });
  const r = await Promise.race([c.closedPromise(), c.next((f) => f.t === 'welcome')]);
  const error = c.frames.find((f) => f.t === 'error')?.error?.code as string | undefined;
  c.ws.terminate();
  if ('t' in r) return { code: 0, user: r.user };
  return { code: r.code, ...(error ? { error } : {}) };
}

describe('JWTs', () => {
  it('refuses alg none, algorithm confusion, wrong algorithms, expired, not yet valid, wrong audience or issuer, no exp, bad subjects and huge tokens', async () => {
    const { server, url, errors } = await startServer({
      authenticate: jwtAuthenticator({ secret, audience, issuer }),
      limits: { connectionsPerAddress: 1000 },
    });
    recordNotes(server);
    // An RS256 server, for the classic confusion: an HS256 token keyed with its public key.
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs = await startServer({ authenticate: jwtAuthenticator({ publicKey, audience, issuer }) });
    const pem = publicKey.export({ type: 'spki', format: 'pem' });
    const confused = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(now() + 600)
      .sign(new Uint8Array(Buffer.from(pem)));
    const rsSigned = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime(now() + 600)
      .sign(privateKey);
    expect((await helloWith(rs.url, rsSigned)).code).toBe(0); // the RS server itself works

    const canary = await Canary.open(url, {}, { token: await sign({ ...claims, sub: 'canary' }) });
    const cases: [string, string, number, string?][] = [
      ['alg none', new UnsecuredJWT(claims).setExpirationTime(now() + 600).encode(), 4401],
      ['HS256 keyed with the RS256 public key', confused, 4401],
      ['RS256 on an HS256 server', rsSigned, 4401],
      ['HS512 (not pinned)', await sign(claims, { alg: 'HS512' }), 4401],
      ['expired', await sign(claims, { exp: now() - 60 }), 4401],
      ['not yet valid', await sign(claims, { nbf: now() + 60 }), 4401],
      ['wrong audience', await sign({ ...claims, aud: 'other' }), 4401],
      ['wrong issuer', await sign({ ...claims, iss: 'evil' }), 4401],
      ['no exp', await sign(claims, { exp: null }), 4401],
      ['empty subject', await sign({ ...claims, sub: '' }), 4401],
      ['numeric subject', await sign({ ...claims, sub: 42 } as Record<string, unknown>), 4401],
      ['1,000-character subject', await sign({ ...claims, sub: 'a'.repeat(1000) }), 4401],
      ['signature stripped', (await sign()).replace(/\.[^.]+$/, '.'), 4401],
      ['garbage', 'garbage', 4401],
      [
        'huge (10,000 characters) in hello',
        await sign({ ...claims, pad: 'x'.repeat(7500) }),
        4400,
        'STRING_TOO_LONG',
      ],
      ['space in the token', 'a b', 4400, 'INVALID_FORMAT'],
    ];
    const results: Record<string, number> = {};
    for (const [name, token, code, error] of cases) {
      const r = await helloWith(url, token);
      results[name] = r.code;
      expect({ name, ...r }).toEqual({ name, code, ...(error ? { error } : {}) });
    }
    expect((await helloWith(rs.url, confused)).code).toBe(4401);
    // Huge through the subprotocol header (no frame limit there): jwtAuthenticator's length cap.
    const huge = await sign({ ...claims, pad: 'x'.repeat(7500) });
    expect(huge.length).toBeGreaterThan(8192);
    expect((await helloWith(url, huge, 'subprotocol')).code).toBe(4401);
    // Not allowed through the query string (allowQueryToken is off): as if absent.
    expect((await helloWith(url, await sign(), 'query')).code).toBe(4401);
    expect((await helloWith(url, undefined)).code).toBe(4401);
    // The good ones, on every route the server accepts.
    expect(await helloWith(url, await sign())).toEqual({ code: 0, user: 'alice' });
    expect(await helloWith(url, await sign(), 'subprotocol')).toEqual({ code: 0, user: 'alice' });
    await canary.check();
    expect(errors).toEqual([]);
    record('hostile-jwt', { cases: cases.length + 6, results });
  });

  it('random tokens, plain or JWT-shaped with any header, never authenticate', async () => {
    const { server, url, errors } = await startServer({
      authenticate: jwtAuthenticator({ secret, audience, issuer }),
      limits: { connectionsPerAddress: 1000 },
    });
    recordNotes(server);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const token = fc.oneof(
      fc.string({ minLength: 1, maxLength: 200, unit: fc.constantFrom(...'abcXYZ019-_.~!*') }),
      fc
        .tuple(
          fc.record(
            {
              alg: fc.constantFrom('none', 'None', 'NONE', 'HS256', 'HS384', 'RS256', 'ES256', 'EdDSA', ''),
              typ: fc.constantFrom('JWT', 'jwt'),
            },
            { requiredKeys: ['alg'] },
          ),
          fc.record(
            {
              sub: fc.constantFrom('alice', 'admin'),
              aud: fc.constantFrom(audience, 'x'),
              iss: fc.constantFrom(issuer, 'x'),
              exp: fc.integer({ min: 0, max: 2 ** 40 }),
            },
            { requiredKeys: [] },
          ),
          fc.string({ maxLength: 60, unit: fc.constantFrom(...'abcdefABCDEF0123456789-_') }),
        )
        .map(([h, p, sig]) => `${b64(h)}.${b64(p)}.${sig}`),
    );
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(token, { minLength: 1, maxLength: 6 }), async (tokens) => {
        const codes = await Promise.all(tokens.map((t) => helloWith(url, t)));
        tried += codes.length;
        expect(codes.map((c) => c.code)).toEqual(tokens.map(() => 4401));
        expect((await helloWith(url, await sign())).user).toBe('alice');
      }),
      { numRuns: runs(40) },
    );
    expect(server.stats().counters.sessionsCreated).toBe(runs(40));
    expect(errors).toEqual([]);
    record('hostile-jwt-random', { tried });
  });

  it('closes an open connection with 4401 when its token expires', async () => {
    const sweepIntervalMs = 20;
    const { url, errors } = await startServer({
      authenticate: jwtAuthenticator({ secret, audience, issuer, clockToleranceSec: 0 }),
      sweepIntervalMs,
    });
    const exp = now() + 2;
    const c = await RawClient.open(url);
    const w = await c.hello({ token: await sign(claims, { exp }) });
    expect(w.limits.tokenExpiresAt).toBe(exp * 1000);
    const closed = await c.closedPromise();
    const late = Date.now() - exp * 1000;
    expect(closed.code).toBe(4401);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThanOrEqual(2 * sweepIntervalMs + 250);
    expect(errors).toEqual([]);
    record('token-expiry', { closedAfterExpiryMs: late });
  });
});
