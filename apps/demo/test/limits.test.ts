import { HoldfastError } from '@holdfast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { Demo_ } from '../src/server/app.js';
import { loginLimiter, memoryClaims } from '../src/server/claims.js';
import { demoServer, login, user } from './support.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function started(options: Parameters<typeof demoServer>[0] = {}): Promise<Demo_> {
  const app = await demoServer({ loginLimit: { burst: 10_000 }, ...options });
  cleanups.push(() => app.close());
  return app;
}

describe('a name belongs to the browser that claimed it', () => {
  it('another secret cannot sign in as a held name; the holder can, again and again', async () => {
    const app = await started();
    expect((await login(app.port, 'alice', 'alices-browser-secret')).status).toBe(200);
    const thief = await login(app.port, 'alice', 'someone-elses-secret');
    expect(thief.status).toBe(409);
    expect(JSON.parse(thief.body).error).toMatch(/another browser/);
    expect((await login(app.port, 'ALICE', 'someone-elses-secret')).status).toBe(409);
    expect((await login(app.port, 'alice', 'alices-browser-secret')).status).toBe(200);
    expect((await login(app.port, 'alice', 'short')).status).toBe(400);
  });

  it('claims are bounded: past the maximum, new names get "full", held ones still sign in', async () => {
    const claims = memoryClaims(2);
    expect(await claims.claim('a', 's1')).toBe('ok');
    expect(await claims.claim('b', 's2')).toBe('ok');
    expect(await claims.claim('c', 's3')).toBe('full');
    expect(await claims.claim('a', 's1')).toBe('ok');
  });

  it('logins are rate-limited per address (429 past the burst)', async () => {
    const app = await started({ loginLimit: { burst: 3, perMinute: 1 } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await login(app.port, 'bob', 'bobs-browser-secret-x')).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });

  it('the limiter refills with time and forgets the oldest address past its bound', () => {
    let now = 0;
    const allow = loginLimiter({ burst: 2, perMinute: 60, maxAddresses: 2, now: () => now });
    expect([allow('a'), allow('a'), allow('a')]).toEqual([true, true, false]);
    now += 1000;
    expect(allow('a')).toBe(true);
    allow('b');
    allow('c'); // 'a' is forgotten: a fresh bucket
    expect([allow('a'), allow('a')]).toEqual([true, true]);
  });
});

describe('bounded work', () => {
  it('at most 2 runs per user at once; a third is refused with LIMIT_EXCEEDED', async () => {
    const app = await started();
    const carl = await user(app, 'carl');
    cleanups.push(() => carl.close());
    const run = { steps: 2000, intervalMs: 1000, task: 't' };
    await carl.request('startRun', run);
    await carl.request('startRun', run);
    const third = await carl.request('startRun', run).catch((e: HoldfastError) => e);
    expect(third).toBeInstanceOf(HoldfastError);
    expect((third as HoldfastError).code).toBe('LIMIT_EXCEEDED');
  });

  it('the pace has a floor: interval 0 is a validation error', async () => {
    const app = await started();
    const dina = await user(app, 'dina');
    cleanups.push(() => dina.close());
    const err = await dina.request('startRun', { steps: 10, intervalMs: 0, task: '' }).catch((e) => e);
    expect((err as HoldfastError).code).toBe('VALIDATION_FAILED');
  });

  it('runs stop when their session ends', async () => {
    const app = await started();
    const ed = await user(app, 'ed');
    await ed.request('startRun', { steps: 2000, intervalMs: 1000, task: 't' });
    const state = ed.state;
    if (state.status !== 'connected') throw new Error('not connected');
    await app.server.disconnect(state.sessionId, { end: true });
    await ed.close();
    const again = await user(app, 'ed');
    cleanups.push(() => again.close());
    // Both slots are free again: the ended session's run was stopped.
    await again.request('startRun', { steps: 5, intervalMs: 5, task: 't' });
    await again.request('startRun', { steps: 5, intervalMs: 5, task: 't' });
  });
});

describe('rooms are bounded', () => {
  it('past maxRooms a new room is refused; joining one that exists still works', async () => {
    const app = await started({ maxRooms: 1 });
    const hal = await user(app, 'hal');
    const ivo = await user(app, 'ivo');
    cleanups.push(
      () => hal.close(),
      () => ivo.close(),
    );
    await hal.join('only-room');
    const refused = await ivo.join('second-room').catch((e) => e);
    expect((refused as HoldfastError).code).toBe('FORBIDDEN');
    await ivo.join('only-room');
  });
});

describe('rooms one is not in', () => {
  it('members and typing are refused with FORBIDDEN', async () => {
    const app = await started();
    const gus = await user(app, 'gus');
    cleanups.push(() => gus.close());
    const members = await gus.request('members', { room: 'elsewhere' }).catch((e) => e);
    expect((members as HoldfastError).code).toBe('FORBIDDEN');
    const typing = await gus.send('typing', { room: 'elsewhere' }).catch((e) => e);
    expect((typing as HoldfastError).code).toBe('FORBIDDEN');
    await gus.join('here');
    expect(await gus.request('members', { room: 'here' })).toEqual([{ user: 'gus', sessions: 1 }]);
  });
});
