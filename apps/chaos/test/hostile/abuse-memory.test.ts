import { RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { Canary } from '../support/hostile.js';
import { recordNotes } from '../support/traffic.js';

// Issue 14, item 2: memory a user can make the server hold through the dedupe memory (answers
// stored for resends) and through sessions (each abandoned one kept for the resume window).

describe('dedupe memory', () => {
  it('keeps answers within dedupeBytes per session; a resend of a dropped one gets ANSWER_NOT_KEPT, never a second run', async () => {
    const BUDGET = 256 * 1024;
    const { server, url, errors } = await startServer({ limits: { dedupeBytes: BUDGET } });
    recordNotes(server);
    let runs = 0;
    const big = 'r'.repeat(60_000);
    const server2 = server as unknown as { handle(t: string, h: () => unknown): void };
    // Client messages' answers are not schema-checked: a 60 KB answer per message.
    server2.handle('say', () => {
      runs++;
      return big;
    });
    const canary = await Canary.open(url);
    const c = await RawClient.open(url);
    await c.hello();
    const N = 100;
    // In batches of 10 answers (600 KB), under the client's high-water mark.
    for (let i = 0; i < N; i++) {
      c.send({ t: 'pub', id: `m${i}`, type: 'say', data: { room: 'r', text: 'x' } });
      if (i % 10 === 9) await c.collect((f) => f.t === 'res' && f.ok === true, i + 1);
    }
    const handled = server.stats().handled!;
    expect(handled.ids).toBe(N);
    expect(handled.bytes).toBeLessThanOrEqual(BUDGET);

    // Resends: the oldest answer was dropped (its id kept), the newest is still there.
    const from = c.frames.length;
    c.send({ t: 'pub', id: 'm0', type: 'say', data: { room: 'r', text: 'x' } });
    const old = await c.next((f) => f.t === 'res' && f.id === 'm0', from);
    expect(old).toMatchObject({ ok: false, error: { code: 'ANSWER_NOT_KEPT' } });
    c.send({ t: 'pub', id: `m${N - 1}`, type: 'say', data: { room: 'r', text: 'x' } });
    const last = await c.next((f) => f.t === 'res' && f.id === `m${N - 1}`, from);
    expect(last).toMatchObject({ ok: true, result: big });
    expect(runs).toBe(N);
    await canary.check();
    expect(errors).toEqual([]);
    record('hostile-dedupe-bytes', {
      messages: N,
      answerBytes: big.length,
      budgetBytes: BUDGET,
      heldBytes: handled.bytes,
      idsKept: handled.ids,
      answeredBytesTotal: N * big.length,
    });
  });
});

describe('sessions per user', () => {
  it('a user opening session after session keeps at most sessionsPerUser; the oldest are ended first', async () => {
    const LIMIT = 5;
    const { server, url, errors } = await startServer({
      limits: { sessionsPerUser: LIMIT },
      authenticate: ({ token }) => (token ? { user: token } : null),
    });
    recordNotes(server);
    const ended: string[] = [];
    server.on('session:expired', ({ sessionId }) => ended.push(sessionId));
    const canary = await Canary.open(url, {}, { token: 'canary' });
    const opened: string[] = [];
    const first = await RawClient.open(url);
    opened.push((await first.hello({ token: 'alice' })).sessionId);
    // Abandoned sessions: each connection closes and its session stays resumable.
    const SESSIONS = 40;
    for (let i = 1; i < SESSIONS; i++) {
      const c = await RawClient.open(url);
      opened.push((await c.hello({ token: 'alice' })).sessionId);
      if (i < SESSIONS - 1) await c.close();
    }
    const kept = (await server.userSessions('alice')).map((s) => s.sessionId).sort();
    expect(kept).toHaveLength(LIMIT);
    expect(kept).toEqual(opened.slice(-LIMIT).sort());
    expect(ended).toEqual(opened.slice(0, SESSIONS - LIMIT));
    // The first one was still connected: it was told its session ended (4000).
    expect((await first.closedPromise()).code).toBe(4000);
    await canary.check();
    expect(errors).toEqual([]);
    record('hostile-sessions-per-user', {
      opened: SESSIONS,
      limit: LIMIT,
      kept: kept.length,
      ended: ended.length,
    });
  });
});
