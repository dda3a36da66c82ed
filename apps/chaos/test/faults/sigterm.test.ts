import { join } from 'node:path';
import type { CloseInfo } from '@holdfast/client';
import { FaultProxy } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record, summary } from '../support/figures.js';
import { chaosClient, defer, freePort, nextState } from '../support/fixture.js';
import { checkSequence } from '../support/ledger.js';
import { scaled } from '../support/scale.js';
import { readLog, ServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/tmp.js';
import { type Peer, peer, sendNotes } from '../support/traffic.js';

// A rolling restart: the load balancer (the proxy) already points at the new process B when
// the old one, A, gets SIGTERM. A drains: it closes every client with 1012 and finishes its
// running handlers before it exits. The clients reconnect with backoff and full jitter, so B
// sees them arrive spread out rather than all at once.

describe('SIGTERM', () => {
  it('drains gracefully and the clients reconnect spread out by jitter', async () => {
    // Presence makes every join reach every member (n² frames): 200 clients are plenty for the spread.
    const CLIENTS = Math.min(200, scaled(60));
    const SENDERS = Math.min(CLIENTS, 6);
    const NOTES = scaled(400);
    // The client defaults: retry 1 waits uniformly in [minDelayMs, initialDelayMs].
    const reconnect = { initialDelayMs: 1000, minDelayMs: 500, maxDelayMs: 30_000 };
    const slowNoteMs = 400;
    const dir = tempDir();
    const handledLog = join(dir, 'handled.log');
    const common = {
      handledLog,
      heartbeat: { intervalMs: 1000, timeoutMs: 4000 },
      sweepIntervalMs: 50,
      slowNoteMs,
    };
    const a = await ServerProcess.start({ name: 'A', port: await freePort(), ...common });
    defer(() => a.stop());
    const b = await ServerProcess.start({ name: 'B', port: await freePort(), ...common });
    defer(() => b.stop());
    const proxy = await FaultProxy.start({ port: a.config.port });
    defer(() => proxy.close());

    const peers: Peer[] = [];
    const closes = new Map<string, (CloseInfo & { at: number })[]>();
    for (let i = 0; i < CLIENTS; i++) {
      const p = peer(`c${i}`, chaosClient(`ws://127.0.0.1:${proxy.port}/ws`, { reconnect }));
      closes.set(p.name, []);
      p.client.events.on('close', (c) => closes.get(p.name)!.push({ ...c, at: Date.now() }));
      await p.client.connect();
      await p.client.join('feed');
      peers.push(p);
    }
    await a.request('pump', 'feed', 10_000_000, 500);
    const senders = peers.slice(0, SENDERS);
    const notes = senders.map((p) => sendNotes(p, NOTES, { ratePerSec: 100, window: 20 }));
    // A handler that is still running when SIGTERM arrives.
    const slow = peers[0]!;
    const slowSend = slow.client.send('note', { c: 'slow', k: 1, pad: 'slow' });
    await expect
      .poll(() => readLog(handledLog).runs.some((r) => r.c === 'slow'), { timeout: 10_000 })
      .toBe(true);
    await expect
      .poll(() => peers.every((p) => p.received.get('A').length >= 100), { timeout: 10_000 })
      .toBe(true);

    proxy.retarget(b.config.port);
    // The backoff delay each client drew, and when it was welcomed again.
    const drawn = peers.map((p) =>
      nextState(p.client, (s) => s.status === 'reconnecting').then(({ next }) =>
        next.status === 'reconnecting' ? next.delayMs : Number.NaN,
      ),
    );
    const back = peers.map((p) =>
      nextState(p.client, (s) => s.status === 'connected').then(() => Date.now()),
    );
    const termAt = Date.now();
    await a.kill('SIGTERM');
    const drainMs = a.exit!.at - termAt;
    const welcomedAt = await Promise.all(back);
    // Remembered rooms are joined again on the new sessions; then B streams a known count.
    await expect.poll(() => b.request<number>('roomConnections', 'feed'), { timeout: 30_000 }).toBe(CLIENTS);
    await b.request('pump', 'feed', scaled(200), 1000);
    await expect
      .poll(() => peers.every((p) => p.received.get('B').length >= scaled(200)), { timeout: 20_000 })
      .toBe(true);
    expect(await slowSend).toBe(1);
    await Promise.all(notes);

    // Graceful: exit code 0, every client told 1012, the running handler finished first.
    expect(a.exit).toMatchObject({ code: 0, signal: null });
    const log = readLog(handledLog);
    const doneLine = log.lines.indexOf('D A slow 1');
    const exitLine = log.lines.findIndex((l) => l.startsWith('X A drained'));
    expect(doneLine).toBeGreaterThanOrEqual(0);
    expect(exitLine).toBeGreaterThan(doneLine);
    for (const p of peers) expect(closes.get(p.name)![0]?.code).toBe(1012);

    // The jitter: each client drew its own delay in [minDelayMs, initialDelayMs] and waited at
    // least that long, so arrivals at B spread over most of that window.
    const delaysDrawn = await Promise.all(drawn);
    const delays = peers.map((p, i) => welcomedAt[i]! - closes.get(p.name)![0]!.at);
    const window = reconnect.initialDelayMs - reconnect.minDelayMs;
    for (const [i, d] of delaysDrawn.entries()) {
      expect(d).toBeGreaterThanOrEqual(reconnect.minDelayMs);
      expect(d).toBeLessThanOrEqual(reconnect.initialDelayMs);
      expect(delays[i]).toBeGreaterThanOrEqual(d);
    }
    const spread = Math.max(...welcomedAt) - Math.min(...welcomedAt);
    expect(spread).toBeGreaterThanOrEqual(0.4 * window);
    const buckets = new Array<number>(6).fill(0);
    for (const d of delays) buckets[Math.min(5, Math.floor((d - reconnect.minDelayMs) / 100))]!++;

    // Delivery across the restart: once each, in order; the loss is announced.
    for (const p of peers) {
      expect(checkSequence(p.received.get('A'))).toMatchObject({ duplicates: 0, outOfOrder: 0 });
      expect(checkSequence(p.received.get('B'), scaled(200))).toMatchObject({ missing: 0, duplicates: 0 });
      expect(p.gaps.some((g) => g.reason === 'expired' && g.stream === 'room:feed')).toBe(true);
    }
    for (const p of senders) expect(p.resolved.size).toBe(NOTES);
    const onBoth = handledOnBoth(handledLog);

    record('sigterm', {
      clients: CLIENTS,
      drainMs,
      ticksChecked: peers.reduce((n, p) => n + p.received.total, 0),
      backoffDrawnMs: summary(delaysDrawn),
      reconnectDelayMs: summary(delays),
      arrivalSpreadMs: spread,
      jitterWindowMs: [reconnect.minDelayMs, reconnect.initialDelayMs],
      delayHistogram100ms: buckets,
      notesResolved: NOTES * SENDERS + 1,
      notesHandledOnBothServers: onBoth.length,
      notesHandledOnBothServersIds: onBoth.slice(0, 10),
    });
  });

  it('answers a handler still running at SIGTERM before closing, so the next process does not run it again', async () => {
    const handledLog = join(tempDir(), 'handled.log');
    const common = { handledLog, sweepIntervalMs: 50, slowNoteMs: 300 };
    const a = await ServerProcess.start({ name: 'A', port: await freePort(), ...common });
    defer(() => a.stop());
    const b = await ServerProcess.start({ name: 'B', port: await freePort(), ...common });
    defer(() => b.stop());
    const proxy = await FaultProxy.start({ port: a.config.port });
    defer(() => proxy.close());
    const p = peer('c0', chaosClient(`ws://127.0.0.1:${proxy.port}/ws`));
    await p.client.connect();
    const answer = p.client.send('note', { c: 'slow', k: 1, pad: 'slow' });
    await expect.poll(() => readLog(handledLog).runs.length, { timeout: 10_000 }).toBe(1);
    proxy.retarget(b.config.port);
    await a.kill('SIGTERM');
    expect(await answer).toBe(1);
    // A ran the handler to completion during the drain; its answer must reach the client
    // before the 1012, or the client resends and B runs the message a second time.
    expect(readLog(handledLog).done).toEqual([{ server: 'A', c: 'slow', k: 1 }]);
    expect(handledOnBoth(handledLog)).toEqual([]);
  });
});

/** Ids of notes that ran on more than one server process. */
function handledOnBoth(handledLog: string): string[] {
  const servers = new Map<string, Set<string>>();
  for (const r of readLog(handledLog).runs) {
    const id = `${r.c}#${r.k}`;
    servers.set(id, (servers.get(id) ?? new Set()).add(r.server));
  }
  return [...servers].filter(([, s]) => s.size > 1).map(([id]) => id);
}
