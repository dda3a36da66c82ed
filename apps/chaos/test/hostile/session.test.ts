import { type AnyFrame, RawClient } from '@holdfast/testkit';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { Canary, opened, outcome } from '../support/hostile.js';
import { runs } from '../support/scale.js';
import { recordNotes } from '../support/traffic.js';

// Attacks on session state: acks, resumes of other sessions, forged cursors, rooms, spoofed
// sender fields. Property-based where the input space is wide, against one live server each.

/**
 * Send a ping and wait for its pong: every frame sent before it has been processed. Fails at
 * once, with the close code, if the connection is closed instead.
 */
async function settled(c: RawClient, ts: number): Promise<void> {
  c.send({ t: 'ping', ts });
  await Promise.race([
    c.next((f) => f.t === 'pong' && f.ts === ts),
    c.closedPromise().then(({ code, reason }) => {
      throw new Error(`closed ${code} ${reason} while settling`);
    }),
  ]);
}

describe('acks beyond what was sent, going backwards, or for foreign streams', () => {
  it('get INVALID_ACK when naming an offset never sent or a stream not subscribed; backward and stale acks are ignored; the connection stays open', async () => {
    const { server, url, errors } = await startServer({ limits: { connectionsPerAddress: 1000 } });
    recordNotes(server);
    const canary = await Canary.open(url);
    let acks = 0;
    let invalid = 0;
    const cursor = fc.record({
      stream: fc.constantFrom(
        'session',
        'user',
        'broadcast',
        'room:nope',
        'session:someone-else',
        'user:admin',
      ),
      epoch: fc.constantFrom('real', 'forged'),
      offset: fc.integer({ min: 0, max: 12 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 8 }),
        fc.array(fc.array(cursor, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }),
        async (sent, frames) => {
          const c = await RawClient.open(url);
          const w = await c.hello();
          for (let n = 1; n <= sent; n++) await server.sendToSession(w.sessionId, 'tick', { s: 'x', n });
          await c.collect((f) => f.t === 'msg', sent);
          const streams = new Map<string, { epoch: string; offset: number }>(
            w.streams.map((s: AnyFrame) => [
              s.stream.split(':')[0] === 'broadcast' ? 'broadcast' : s.stream.split(':')[0],
              s,
            ]),
          );
          const sentOf = (kind: string) => (kind === 'session' ? sent : (streams.get(kind)?.offset ?? 0));
          let ts = 0;
          for (const list of frames) {
            const from = c.frames.length;
            let bad = false;
            const cursors = list.map((k) => {
              const own = streams.get(k.stream);
              if (!own) {
                bad = true; // not subscribed
                return { stream: k.stream, epoch: 'e1', offset: k.offset };
              }
              const stream = w.streams.find((s: AnyFrame) => s.stream.startsWith(k.stream))!.stream as string;
              if (k.epoch === 'real' && k.offset > sentOf(k.stream)) bad = true; // never sent
              return { stream, epoch: k.epoch === 'real' ? own.epoch : 'forged-epoch', offset: k.offset };
            });
            c.send({ t: 'ack', cursors });
            await settled(c, ++ts);
            const error = c.frames.slice(from).find((f) => f.t === 'error');
            expect(error?.error.code).toBe(bad ? 'INVALID_ACK' : undefined);
            acks++;
            if (bad) invalid++;
          }
          expect(c.closed).toBeUndefined();
          await c.close();
          await canary.check();
        },
      ),
      { numRuns: runs(60) },
    );
    expect(errors).toEqual([]);
    record('hostile-acks', { ackFrames: acks, invalid, canaryChecks: canary.checks });
  });
});

describe('resume with another user’s session, a forged token, epoch or offset', () => {
  it('never resumes another user’s session, leaks nothing of it, and leaves its owner connected', async () => {
    const { server, url, errors } = await startServer({
      authenticate: ({ token }) => (token ? { user: token } : null),
      // Not what is tested here: a closed attacker's slot is released a moment after its close,
      // and the victim answers one ping per run (over the default frame rate at soak sizes).
      limits: {
        connectionsPerAddress: 1000,
        connectionsPerUser: 1000,
        messagesPerSecond: 10_000,
        burst: 10_000,
      },
    });
    recordNotes(server);
    const victim = await RawClient.open(url);
    const v = await victim.hello({ token: 'victim' });
    await server.join(v.sessionId, 'victim-room');
    let n = 0;
    const feedVictim = async () => {
      await server.sendToSession(v.sessionId, 'tick', { s: 'secret', n: ++n });
      await server.sendToRoom('victim-room', 'tick', { s: 'secret-room', n });
      await server.sendToUser('victim', 'tick', { s: 'secret-user', n });
    };
    await feedVictim();
    const secretStreams = [`session:${v.sessionId}`, 'room:victim-room', 'user:victim'];
    const token = fc.oneof(
      fc.constant(v.resumeToken), // the real token, stolen: still another user's session
      fc.string({ minLength: 1, maxLength: 128, unit: fc.constantFrom(...'abcdefXYZ0123456789-_') }),
    );
    const cursors = fc.array(
      fc.record({
        stream: fc.constantFrom(...secretStreams, 'broadcast'),
        epoch: fc.string({ minLength: 1, maxLength: 32, unit: fc.constantFrom(...'abcxyz019') }),
        offset: fc.integer({ min: 0, max: 2 ** 40 }),
      }),
      { maxLength: 4 },
    );
    let attempts = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('mallory', 'eve'), token, cursors, async (user, resumeToken, cs) => {
        const m = await RawClient.open(url);
        const w = await m.hello({
          token: user,
          resume: { sessionId: v.sessionId, resumeToken, cursors: cs },
        });
        attempts++;
        // The stolen token: `forbidden`; a guessed one: `expired`, as for a session that does
        // not exist (only a holder of the token learns that the session exists).
        const resumeError = resumeToken === v.resumeToken ? 'forbidden' : 'expired';
        expect(w).toMatchObject({ resumed: false, resumeError, user });
        expect(w.sessionId).not.toBe(v.sessionId);
        expect(w.resumeToken).not.toBe(v.resumeToken);
        // Exactly the attacker's new session's three streams, once each; nothing of the victim's
        // is listed, whatever cursors were sent. A gap only where the attacker held a cursor of
        // one of them (here: broadcast).
        expect(w.streams.map((s: AnyFrame) => s.stream)).toEqual([
          `session:${w.sessionId}`,
          `user:${user}`,
          'broadcast',
        ]);
        const gaps = w.streams.filter((s: AnyFrame) => s.status === 'gap');
        expect(gaps.map((s: AnyFrame) => [s.stream, s.reason])).toEqual(
          cs.some((c) => c.stream === 'broadcast') ? [['broadcast', resumeError]] : [],
        );
        await feedVictim();
        await settled(m, 1);
        await settled(victim, n);
        const leaked = m.frames.filter((f) => f.t === 'msg' && secretStreams.includes(f.stream));
        expect(leaked).toEqual([]);
        expect(victim.closed).toBeUndefined();
        await m.close();
      }),
      { numRuns: runs(40) },
    );
    // The victim got every message, once, and was never disconnected.
    expect(victim.msgs(`session:${v.sessionId}`).map((f) => f.data.n)).toEqual(
      Array.from({ length: n }, (_, i) => i + 1),
    );
    expect(victim.closed).toBeUndefined();
    // A session id that does not exist: a new session, `expired`.
    const ghost = await RawClient.open(url);
    const g = await ghost.hello({
      token: 'eve',
      resume: { sessionId: 's_ghost', resumeToken: 'x', cursors: [] },
    });
    expect(g).toMatchObject({ resumed: false, resumeError: 'expired' });
    expect(errors).toEqual([]);
    record('hostile-resume-foreign', { attempts, victimMessages: n * 3 });
  });

  it('reports forged epochs and offsets on one’s own session as gaps, and ignores cursors of streams it does not hold', async () => {
    const { server, url, errors } = await startServer({ limits: { connectionsPerAddress: 1000 } });
    recordNotes(server);
    const other = await RawClient.open(url);
    const o = await other.hello();
    await server.sendToSession(o.sessionId, 'tick', { s: 'other', n: 1 });
    let resumes = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.oneof(
          fc.constant({ kind: 'forged-epoch' as const }),
          fc.integer({ min: 1, max: 2 ** 40 }).map((ahead) => ({ kind: 'ahead' as const, ahead })),
          fc.constant({ kind: 'foreign' as const }),
        ),
        async (count, forge) => {
          const c = await RawClient.open(url);
          const w = await c.hello();
          for (let n = 1; n <= count; n++) await server.sendToSession(w.sessionId, 'tick', { s: 'own', n });
          await c.collect((f) => f.t === 'msg', count);
          const own = `session:${w.sessionId}`;
          const epoch = c.msgs(own)[0]!.epoch as string;
          await c.terminate();
          const cursors =
            forge.kind === 'forged-epoch'
              ? [{ stream: own, epoch: 'forged', offset: 1 }]
              : forge.kind === 'ahead'
                ? [{ stream: own, epoch, offset: count + forge.ahead }]
                : [
                    { stream: `session:${o.sessionId}`, epoch: 'e', offset: 0 },
                    { stream: own, epoch, offset: 0 },
                  ];
          const back = await RawClient.open(url);
          const r = await back.hello({
            resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors },
          });
          resumes++;
          expect(r.resumed).toBe(true);
          const status = r.streams.find((s: AnyFrame) => s.stream === own);
          if (forge.kind === 'forged-epoch') {
            // A made-up epoch: `unknown`, the cursor ignored; replay from the server's own cursor
            // (the last ack, never below the subscription start: here 0, nothing was acked).
            expect(status).toMatchObject({ status: 'gap', reason: 'unknown', epoch, offset: 0 });
            expect(status.from).toBeUndefined();
            await back.collect((f) => f.t === 'msg' && f.stream === own, count);
          } else if (forge.kind === 'ahead') {
            expect(status).toMatchObject({ status: 'gap', reason: 'unknown', epoch, offset: count });
          } else {
            expect(status).toMatchObject({ status: 'recovered', offset: 0 });
            expect(r.streams.some((s: AnyFrame) => s.stream === `session:${o.sessionId}`)).toBe(false);
          }
          await settled(back, 1);
          expect(back.msgs(`session:${o.sessionId}`)).toEqual([]);
          const own2 = back.msgs(own).map((f) => f.offset);
          expect(new Set(own2).size).toBe(own2.length);
          await back.close();
        },
      ),
      { numRuns: runs(40) },
    );
    expect(errors).toEqual([]);
    record('hostile-resume-forged', { resumes });
  });
});

describe('rooms: hostile names, thousands of joins, unauthorized rooms', () => {
  const weirdButValid = [
    '__proto__',
    'hasOwnProperty',
    'constructor',
    'toString',
    'valueOf',
    'prototype',
    'Object',
    '😀 room',
    'x'.repeat(128),
    'a/b?c#d',
    '%00',
    ' ',
    'null',
    'undefined',
  ];

  it('names: odd but valid ones work like any other; empty, huge, NUL, control characters and lone surrogates are refused with 4400', async () => {
    const { server, url, errors } = await startServer({
      authorizeJoin: ({ room }) => !room.startsWith('private'),
      limits: { connectionsPerAddress: 1000 },
    });
    recordNotes(server);
    const canary = await Canary.open(url);
    const invalid = fc.oneof(
      fc.constant({ raw: '""', error: 'STRING_TOO_SHORT' }),
      fc
        .string({ minLength: 129, maxLength: 2000, unit: fc.constantFrom('a', 'é', '-') })
        .map((s) => ({ raw: JSON.stringify(s), error: 'STRING_TOO_LONG' })),
      fc
        .tuple(
          fc.string({ maxLength: 5 }),
          fc.integer({ min: 0, max: 0x9f }).filter((c) => c < 0x20 || c >= 0x7f),
          fc.string({ maxLength: 5 }),
        )
        .map(([a, code, b]) => ({
          raw: JSON.stringify(`${a}${String.fromCharCode(code)}${b}`),
          error: 'INVALID_FORMAT',
        })),
      fc
        .integer({ min: 0xd800, max: 0xdfff })
        .map((u) => ({ raw: `"r\\u${u.toString(16)}"`, error: 'INVALID_FORMAT' })),
      fc.constantFrom('5', 'null', '[]', '{}').map((raw) => ({ raw, error: 'INVALID_FIELD_TYPE' })),
    );
    let tried = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            invalid.map((i) => ({ ...i, valid: false })),
            fc
              .constantFrom(...weirdButValid)
              .map((name) => ({ raw: JSON.stringify(name), valid: true, error: '' })),
          ),
          { minLength: 1, maxLength: 5 },
        ),
        async (batch) => {
          await Promise.all(
            batch.map(async (input) => {
              const c = await opened(url, true);
              const from = c.frames.length;
              c.send(`{"t":"join","id":"j","room":${input.raw}}`);
              tried++;
              if (!input.valid) {
                expect(await outcome(c, from)).toEqual({ error: input.error, close: 4400 });
                return;
              }
              const room = JSON.parse(input.raw) as string;
              expect(await c.next((f) => f.t === 'res' && f.id === 'j')).toMatchObject({
                ok: true,
                result: { stream: `room:${room}` },
              });
              expect(c.frames.find((f) => f.t === 'sub')).toMatchObject({ op: 'join', room });
              await c.close();
            }),
          );
          expect(({} as Record<string, unknown>).polluted).toBeUndefined();
          await canary.check();
        },
      ),
      { numRuns: runs(60) },
    );
    // Messages reach the members of those rooms, and only them.
    const a = await opened(url, true);
    const b = await opened(url, true);
    for (const [i, room] of weirdButValid.entries()) {
      a.send({ t: 'join', id: `j${i}`, room });
      expect(await a.next((f) => f.t === 'res' && f.id === `j${i}`)).toMatchObject({ ok: true });
    }
    for (const [i, room] of weirdButValid.entries()) await server.sendToRoom(room, 'tick', { s: room, n: i });
    await a.collect((f) => f.t === 'msg', weirdButValid.length);
    expect(a.msgs().map((f) => f.stream)).toEqual(weirdButValid.map((r) => `room:${r}`));
    await settled(b, 1);
    expect(b.msgs()).toEqual([]);
    expect(await server.presence('__proto__')).toContainEqual({ user: a.frames[0]!.user, sessions: 1 });
    // Unauthorized: FORBIDDEN, the connection stays open.
    a.send({ t: 'join', id: 'p', room: 'private-admin' });
    expect(await a.next((f) => f.t === 'res' && f.id === 'p')).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    await settled(a, 2);
    expect(a.closed).toBeUndefined();
    expect(errors).toEqual([]);
    record('hostile-room-names', { tried, canaryChecks: canary.checks });
  });

  it('thousands of joins are cut at the frame rate with 4429 (the burst is the bound)', async () => {
    const roomsPerSession = 50;
    const JOINS = 2000;
    const { server, url } = await startServer({ authorizeJoin: () => true, limits: { roomsPerSession } });
    const d = await opened(url, true);
    for (let i = 0; i < JOINS; i++) d.send({ t: 'join', id: `j${i}`, room: `room-${i}` });
    const closed = await d.closedPromise();
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/retryAfterMs=\d+/);
    // At most the burst of frames got through (hello took one token).
    const answers = d.frames.filter((f) => f.t === 'res');
    expect(answers.length).toBeLessThanOrEqual(200);
    record('hostile-many-rooms-rate', {
      joins: JOINS,
      answered: answers.length,
      close: closed.code,
      rooms: server.stats().rooms,
    });
  });

  it('joins sent back to back answer LIMIT_EXCEEDED past roomsPerSession (they must not all pass the check at once)', async () => {
    const roomsPerSession = 50;
    const JOINS = 2000;
    const { server, url } = await startServer({
      authorizeJoin: () => true,
      limits: { roomsPerSession, messagesPerSecond: 100_000, burst: 100_000 },
    });
    const c = await opened(url, true);
    for (let i = 0; i < JOINS; i++) c.send({ t: 'join', id: `j${i}`, room: `room-${i}` });
    const answers = await c.collect((f) => f.t === 'res', JOINS);
    const ok = answers.filter((f) => f.ok).length;
    const limited = answers.filter((f) => f.error?.code === 'LIMIT_EXCEEDED').length;
    record('hostile-many-rooms-limit', {
      joins: JOINS,
      roomsPerSession,
      ok,
      limited,
      rooms: server.stats().rooms,
    });
    expect(c.closed).toBeUndefined();
    expect(ok).toBe(roomsPerSession);
    expect(limited).toBe(JOINS - roomsPerSession);
  });

  it('refused joins leave no state behind (no stream for a room name merely tried)', async () => {
    const roomsPerSession = 50;
    const JOINS = 2000;
    const { server, url } = await startServer({
      authorizeJoin: () => true,
      limits: { roomsPerSession, messagesPerSecond: 100_000, burst: 100_000 },
    });
    const c = await opened(url, true);
    const before = server.stats().retention!.streams;
    // One at a time: the rooms-per-session check under concurrency is the test above.
    for (let i = 0; i < JOINS; i++) {
      c.send({ t: 'join', id: `j${i}`, room: `room-${i}` });
      await c.next((f) => f.t === 'res' && f.id === `j${i}`);
    }
    const after = server.stats().retention!.streams;
    record('refused-join-streams', {
      joins: JOINS,
      roomsPerSession,
      streamsBefore: before,
      streamsAfter: after,
    });
    // The 50 rooms joined have a stream each; the 1,950 refused joins must not.
    expect(after - before).toBeLessThanOrEqual(roomsPerSession);
  });
});

describe('spoofed sender fields', () => {
  it('the server only ever uses the authenticated user and the connection’s own session', async () => {
    const { server, url, errors } = await startServer({
      authenticate: ({ token }) => (token ? { user: token } : null),
      authorizeJoin: () => true,
    });
    const seen: { user: string; sessionId: string; data: unknown }[] = [];
    server.handle('say', async (data, ctx) => {
      seen.push({ user: ctx.user, sessionId: ctx.sessionId, data });
      await server.sendToRoom(data.room, 'said', { from: ctx.user, text: data.text });
    });
    const admin = await RawClient.open(url);
    const wa = await admin.hello({ token: 'admin' });
    admin.send({ t: 'join', id: 'j', room: 'lobby' });
    await admin.next((f) => f.t === 'res');
    const alice = await RawClient.open(url);
    // A hello claiming another identity: extra fields are stripped, the token decides.
    const w = await alice.hello({ token: 'alice', user: 'admin', sessionId: wa.sessionId });
    expect(w.user).toBe('alice');
    expect(w.sessionId).not.toBe(wa.sessionId);
    alice.send({ t: 'join', id: 'j', room: 'lobby' });
    await alice.next((f) => f.t === 'res');
    alice.send({
      t: 'pub',
      id: 'p1',
      type: 'say',
      user: 'admin',
      sessionId: wa.sessionId,
      from: 'admin',
      data: { room: 'lobby', text: 'hi', from: 'admin', user: 'admin' },
    });
    expect(await alice.next((f) => f.t === 'res' && f.id === 'p1')).toMatchObject({ ok: true });
    const said = await admin.next((f) => f.t === 'msg' && f.type === 'said');
    expect(said.data).toEqual({ from: 'alice', text: 'hi' });
    expect(seen).toEqual([{ user: 'alice', sessionId: w.sessionId, data: { room: 'lobby', text: 'hi' } }]);
    expect(errors).toEqual([]);
  });
});
