import { generateKeyPairSync } from 'node:crypto';
import { ManualClock } from '@holdfast/testkit';
import { SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { jwtAuthenticator } from '../src/jwt.js';
import { startServer } from './support/fixture.js';

const secret = 'test-secret-that-is-long-enough-for-hs256';
const key = new TextEncoder().encode(secret);
const now = 1_700_000_000_000;
const sec = (ms: number) => Math.floor(ms / 1000);

const sign = (
  claims: Record<string, unknown>,
  opts: { alg?: string; exp?: number | null; nbf?: number } = {},
) => {
  let jwt = new SignJWT(claims).setProtectedHeader({ alg: opts.alg ?? 'HS256' }).setIssuedAt(sec(now));
  if (opts.exp !== null) jwt = jwt.setExpirationTime(opts.exp ?? sec(now) + 600);
  if (opts.nbf !== undefined) jwt = jwt.setNotBefore(opts.nbf);
  return jwt.sign(key);
};

describe('jwtAuthenticator', () => {
  const auth = jwtAuthenticator({ secret, audience: 'chat', issuer: 'holdfast-test', now: () => now });
  const check = (token: string) =>
    Promise.resolve(auth({ token, tokenSource: 'hello', headers: {}, url: '/', remoteAddress: '::1' })).then(
      (r) => r?.user ?? null,
      () => null,
    );
  const base = { sub: 'alice', aud: 'chat', iss: 'holdfast-test' };

  it('accepts a valid token and returns its expiry', async () => {
    const r = await auth({
      token: await sign(base),
      tokenSource: 'hello',
      headers: {},
      url: '/',
      remoteAddress: '',
    });
    expect(r).toMatchObject({ user: 'alice', expiresAt: (sec(now) + 600) * 1000 });
  });

  it('refuses alg none, algorithm confusion, expired, not yet valid, wrong aud/iss, no exp, huge', async () => {
    const none = new UnsecuredJWT(base).setExpirationTime(sec(now) + 600).encode();
    expect(await check(none)).toBeNull();
    // RS256 public key used as an HMAC secret (algorithm confusion): the HS256-only verifier refuses RS tokens.
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rs = await new SignJWT(base)
      .setProtectedHeader({ alg: 'RS256' })
      .setExpirationTime(sec(now) + 600)
      .sign(privateKey);
    expect(await check(rs)).toBeNull();
    expect(await check(await sign(base, { alg: 'HS512' }))).toBeNull();
    expect(await check(await sign(base, { exp: sec(now) - 60 }))).toBeNull();
    expect(await check(await sign(base, { exp: sec(now) - 3 }))).toBe('alice'); // within 5 s tolerance
    expect(await check(await sign(base, { nbf: sec(now) + 60 }))).toBeNull();
    expect(await check(await sign({ ...base, aud: 'other' }))).toBeNull();
    expect(await check(await sign({ ...base, iss: 'evil' }))).toBeNull();
    expect(await check(await sign(base, { exp: null }))).toBeNull();
    expect(await check(await sign({ ...base, pad: 'x'.repeat(10_000) }))).toBeNull();
    expect(await check(await sign({ ...base, sub: '' }))).toBeNull();
    expect(await check('garbage')).toBeNull();
    expect(() => jwtAuthenticator({ secret, algorithms: ['none'] })).toThrow(/none/);
  });
});

describe('token lifetime on an open connection', () => {
  it('closes with 4401 at expiry unless refreshed in-band; refresh must be for the same user', async () => {
    const clock = new ManualClock(now);
    const auth = jwtAuthenticator({ secret, now: () => clock.now() });
    const { connect } = await startServer({
      clock,
      authenticate: auth,
      heartbeat: { intervalMs: 300_000, timeoutMs: 600_000 },
    });
    const c = await connect();
    const w = await c.hello({ token: await sign({ sub: 'alice' }, { exp: sec(now) + 60 }) });
    expect(w.limits.tokenExpiresAt).toBe((sec(now) + 60) * 1000);

    c.send({ t: 'refresh', id: 'r0', token: await sign({ sub: 'mallory' }, { exp: sec(now) + 600 }) });
    expect(await c.next((f) => f.t === 'res' && f.id === 'r0')).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    c.send({ t: 'refresh', id: 'r1', token: 'nonsense' });
    expect(await c.next((f) => f.t === 'res' && f.id === 'r1')).toMatchObject({
      ok: false,
      error: { code: 'UNAUTHORIZED' },
    });
    c.send({ t: 'refresh', id: 'r2', token: await sign({ sub: 'alice' }, { exp: sec(now) + 120 }) });
    expect(await c.next((f) => f.t === 'res' && f.id === 'r2')).toMatchObject({
      ok: true,
      result: { expiresAt: (sec(now) + 120) * 1000 },
    });
    clock.advance(61_000);
    expect(c.closed).toBeUndefined();
    // Up to the new expiry exactly (the sweep closes at expiry; the handshake then completes on real I/O).
    clock.advance(59_000);
    expect((await c.closedPromise()).code).toBe(4401);
  });
});
