import type { GapEvent } from '@holdfast/client';
import { FaultProxy, RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { chaosClient, defer, nextState, sessionOf, startServer } from '../support/fixture.js';
import { checkSequence } from '../support/ledger.js';
import { scaled } from '../support/scale.js';
import { peer, pumpTicks, recordNotes, sendNotes } from '../support/traffic.js';

// A cut that outlasts the resume window: the server frees the session (and says so), and the
// client, back online, is told exactly which streams have a gap.

describe('a cut longer than the resume window', () => {
  it('frees the session on the server and the client reports the gap, without duplicates', async () => {
    const resumeWindowMs = 1000;
    const sweepIntervalMs = 20;
    const COUNT = scaled(500);
    const { server, port, errors } = await startServer({
      authorizeJoin: () => true,
      resumeWindowMs,
      sweepIntervalMs,
      heartbeat: { intervalMs: 200, timeoutMs: 600 },
      limits: { messagesPerSecond: 5000, burst: 5000 },
    });
    const handled = recordNotes(server);
    const before = server.stats();
    const proxy = await FaultProxy.start({ port });
    defer(() => proxy.close());
    const p = peer('c0', chaosClient(`ws://127.0.0.1:${proxy.port}/ws`));
    await p.client.connect();
    await p.client.join('r');
    const oldSession = sessionOf(p.client);
    const ids = new Map([[p.name, oldSession]]);

    // Traffic both ways, then the cut in the middle of it.
    await Promise.all([
      pumpTicks(server, [p], ids, COUNT, { room: 'r', ratePerSec: 500 }),
      sendNotes(p, COUNT, { ratePerSec: 500 }),
    ]);
    const during = server.stats();
    expect(during.sessions).toBe(1);
    const user = server.connectionsList({ sessionId: oldSession })[0]!.user!;
    const expired = new Promise<number>((resolve) => {
      const off = server.on('session:expired', ({ sessionId }) => {
        if (sessionId !== oldSession) return;
        off();
        resolve(Date.now());
      });
    });
    const reconnecting = nextState(p.client, (s) => s.status === 'reconnecting');
    proxy.refuse(true);
    proxy.cut('rst');
    const t0 = Date.now();
    await reconnecting;
    // Sent while away: to the old session (lost with it, reported as a gap), and from the
    // client (queued in its outbox, handled on the new session).
    for (let n = COUNT + 1; n <= COUNT + 50; n++)
      await server.sendToSession(oldSession, 'tick', { s: 'direct', n });
    const offline = sendNotes(p, 50, { first: COUNT + 1, ratePerSec: 100_000, window: 100 });
    const expiredAt = await expired;
    const expiryMs = expiredAt - t0;
    // The RST is seen at once, so expiry comes one window after the cut, give or take a sweep
    // (and a little scheduling slack).
    expect(expiryMs).toBeGreaterThanOrEqual(resumeWindowMs - sweepIntervalMs);
    expect(expiryMs).toBeLessThanOrEqual(resumeWindowMs + 2 * sweepIntervalMs + 200);

    // Memory returns: the session, its stream, its retained messages and its room membership.
    const after = server.stats();
    expect(after.sessions).toBe(0);
    expect(await server.engine.getSession(oldSession)).toBeUndefined();
    expect(await server.userSessions(user)).toEqual([]);
    expect(after.retention!.streams).toBeLessThan(during.retention!.streams);
    expect(after.retention!.messages).toBeLessThan(during.retention!.messages);
    expect(after.rooms).toBe(0);
    expect(await server.presence('r')).toEqual([]);

    // Back online: a new session, a gap for every stream the client held, its room re-joined.
    const welcomed = nextState(p.client, (s) => s.status === 'connected');
    proxy.refuse(false);
    await welcomed;
    const newSession = sessionOf(p.client);
    expect(newSession).not.toBe(oldSession);
    const gapStreams = p.gaps.map((g: GapEvent) => `${g.stream}:${g.reason}`);
    expect(gapStreams).toEqual(
      expect.arrayContaining([`session:${oldSession}:expired`, 'room:r:expired', 'broadcast:expired']),
    );
    await expect.poll(() => server.countConnections({ room: 'r' }), { timeout: 10_000 }).toBe(1);
    await offline;

    // Direct ticks: a prefix of what was published, once each, in order; the rest is the gap.
    const direct = checkSequence(p.received.get('direct'));
    expect(direct).toMatchObject({ duplicates: 0, outOfOrder: 0 });
    expect(p.received.get('direct')).toEqual(Array.from({ length: direct.received }, (_, i) => i + 1));
    expect(checkSequence(p.received.get('room'), COUNT)).toMatchObject({
      missing: 0,
      duplicates: 0,
      outOfOrder: 0,
    });
    // Client messages: everything resolved, once, including those queued while away.
    expect(p.rejected).toEqual([]);
    expect(p.resolved.size).toBe(COUNT + 50);
    expect(handled.twice()).toEqual([]);
    // The new session works both ways.
    await server.sendToSession(newSession, 'tick', { s: 'fresh', n: 1 });
    await expect.poll(() => p.received.get('fresh'), { timeout: 10_000 }).toEqual([1]);
    expect(errors).toEqual([]);

    record('resume-window', {
      resumeWindowMs,
      sweepIntervalMs,
      expiredAfterCutMs: expiryMs,
      before: before.retention,
      during: { sessions: during.sessions, rooms: during.rooms, retention: during.retention },
      after: { sessions: after.sessions, rooms: after.rooms, retention: after.retention },
      gapEvents: gapStreams,
      directDeliveredBeforeCut: direct.received,
      publishedToOldSessionAfterCut: 50,
      notesQueuedWhileAway: 50,
    });
  });

  it('returns the memory of expired anonymous sessions: their user streams go too', async () => {
    const resumeWindowMs = 200;
    const SESSIONS = 50;
    const { server, url } = await startServer({ resumeWindowMs, sweepIntervalMs: 20 });
    const baseline = server.stats().retention!.streams;
    const expired: string[] = [];
    server.on('session:expired', ({ sessionId }) => expired.push(sessionId));
    for (let i = 0; i < SESSIONS; i++) {
      const c = await RawClient.open(url);
      await c.hello();
      await c.close();
    }
    await expect.poll(() => expired.length, { timeout: 10_000 }).toBe(SESSIONS);
    const after = server.stats();
    record('expired-session-memory', {
      sessions: SESSIONS,
      streamsBefore: baseline,
      streamsAfterExpiry: after.retention!.streams,
    });
    // `broadcast` is shared and stays; every session's own streams must be gone.
    expect(after.retention!.streams).toBeLessThanOrEqual(baseline + 1);
  });
});
