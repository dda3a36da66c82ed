import { FaultProxy } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record, summary } from '../support/figures.js';
import { chaosClient, defer, nextState, pause, sessionOf, startServer } from '../support/fixture.js';
import { scaled } from '../support/scale.js';
import { allDelivered, peer, pumpTicks, recordNotes, sendNotes, verdict } from '../support/traffic.js';

// The proxy stops forwarding without closing anything (a dead NAT entry, a pulled cable): no
// FIN, no RST. Only the heartbeats can tell, on both sides.

describe('half-open connection', () => {
  it('is detected by both sides within the heartbeat timeout, and the client resumes losing nothing', async () => {
    const heartbeat = { intervalMs: 100, timeoutMs: 400 };
    const sweepIntervalMs = 20;
    const ROUNDS = scaled(4);
    const COUNT = scaled(1000);
    const { server, port, errors } = await startServer({
      authorizeJoin: () => true,
      heartbeat,
      sweepIntervalMs,
      limits: { messagesPerSecond: 5000, burst: 5000 },
    });
    const handled = recordNotes(server);
    const proxy = await FaultProxy.start({ port });
    defer(() => proxy.close());
    const p = peer('c0', chaosClient(`ws://127.0.0.1:${proxy.port}/ws`));
    await p.client.connect();
    await p.client.join('all');
    const sessionId = sessionOf(p.client);

    // Both bounds come from the configuration: the timeout, plus one sweep on the server, plus
    // two beats of scheduling slack for a loaded event loop.
    const serverBound = heartbeat.timeoutMs + sweepIntervalMs + 2 * heartbeat.intervalMs;
    const clientBound = heartbeat.timeoutMs + 2 * heartbeat.intervalMs;
    const serverMs: number[] = [];
    const clientMs: number[] = [];
    const resumeMs: number[] = [];
    const serverCodes: number[] = [];
    const destroyMs: number[] = [];

    const traffic = Promise.all([
      pumpTicks(server, [p], new Map([[p.name, sessionId]]), COUNT, { room: 'all', ratePerSec: 150 }),
      sendNotes(p, COUNT, { ratePerSec: 150 }),
    ]);
    for (let round = 0; round < ROUNDS; round++) {
      await pause(800); // let traffic flow between faults
      // The server detects the dead link when it starts its 4408 close (§4.6); the socket is
      // destroyed 2 s later, since no close handshake can finish on a frozen link.
      const timeouts = () => server.stats().counters.closes['4408'] ?? 0;
      const closesBefore = timeouts();
      const serverSaw = (async () => {
        await expect.poll(timeouts, { timeout: 10_000, interval: 5 }).toBeGreaterThan(closesBefore);
        return Date.now();
      })();
      const serverGone = new Promise<{ at: number; code: number }>((resolve) => {
        const off = server.on('disconnect', ({ sessionId: s, code }) => {
          if (s !== sessionId) return;
          off();
          resolve({ at: Date.now(), code });
        });
      });
      const clientSaw = nextState(
        p.client,
        (s, c) => s.status === 'reconnecting' && c.reason === 'heartbeat-timeout',
      );
      // New connections are reset while the link is dead, so retries fail fast instead of
      // hanging on the frozen link.
      proxy.refuse(true);
      proxy.freeze();
      const t0 = Date.now();
      const [saw, c, gone] = await Promise.all([serverSaw, clientSaw.then(() => Date.now()), serverGone]);
      serverMs.push(saw - t0);
      serverCodes.push(gone.code);
      destroyMs.push(gone.at - saw);
      clientMs.push(c - t0);
      const resumed = nextState(p.client, (st) => st.status === 'connected');
      const t1 = Date.now();
      proxy.unfreeze();
      proxy.refuse(false);
      const r = await resumed;
      expect(r.next).toMatchObject({ status: 'connected', sessionId, resumed: true });
      resumeMs.push(Date.now() - t1);
    }
    await traffic;

    const expected = { notes: COUNT, streams: { direct: COUNT, room: COUNT } };
    await expect
      .poll(() => allDelivered(verdict([p], handled, expected)), { timeout: 20_000, interval: 100 })
      .toBe(true);
    const v = verdict([p], handled, expected);
    expect(v.notes).toMatchObject({ resolved: COUNT, rejected: 0, handledTwice: 0, outOfOrder: 0 });
    expect(v.gaps).toBe(0);
    expect(p.sessions.size).toBe(1);
    expect(errors).toEqual([]);
    // Detected by the heartbeat (not earlier, by something else) and within the bound.
    for (const ms of serverMs) {
      expect(ms).toBeGreaterThanOrEqual(heartbeat.timeoutMs - heartbeat.intervalMs);
      expect(ms).toBeLessThanOrEqual(serverBound);
    }
    for (const ms of clientMs) {
      expect(ms).toBeGreaterThanOrEqual(heartbeat.timeoutMs - heartbeat.intervalMs);
      expect(ms).toBeLessThanOrEqual(clientBound);
    }
    // The close handshake cannot finish on a frozen link: the socket is destroyed 2 s after the
    // 4408 close (plus a sweep and scheduling slack), and the server sees 1006.
    expect(serverCodes.every((c) => c === 1006)).toBe(true);
    for (const ms of destroyMs) {
      expect(ms).toBeGreaterThanOrEqual(2000 - sweepIntervalMs);
      expect(ms).toBeLessThanOrEqual(2000 + sweepIntervalMs + 2 * heartbeat.intervalMs);
    }

    record('half-open', {
      heartbeat,
      sweepIntervalMs,
      rounds: ROUNDS,
      serverDetectMs: summary(serverMs),
      serverDestroyAfterCloseMs: summary(destroyMs),
      clientDetectMs: summary(clientMs),
      bounds: { server: serverBound, client: clientBound },
      resumeAfterLinkBackMs: summary(resumeMs),
      messagesChecked: v.messagesChecked,
      notesChecked: v.notes.resolved,
      serverTimeoutCloses: server.stats().counters.closes['4408'] ?? 0,
    });
  });
});
