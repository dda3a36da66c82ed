import type { WebSocketConstructor } from '@holdfast/client';
import type { HoldfastServer } from '@holdfast/server';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../support/app.js';
import { record, summary } from '../support/figures.js';
import { chaosClient, connected, pause, startServer } from '../support/fixture.js';
import { checkSequence } from '../support/ledger.js';
import { scaled } from '../support/scale.js';
import { type Peer, peer } from '../support/traffic.js';

/** A `ws` WebSocket that remembers its instances, so a test can stop one reading. */
function trackedWebSocket(): { WS: WebSocketConstructor; sockets: WebSocket[] } {
  const sockets: WebSocket[] = [];
  class Tracked extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { WS: Tracked, sockets };
}

/** The server-side outbound buffer of a session's socket (read for the memory bound). */
function bufferedOf(server: HoldfastServer<App>, sessionId: string): number | undefined {
  return server.bufferedAmountOf(sessionId);
}

describe('a slow consumer that stops reading', () => {
  it('is closed with 4008, server memory stays bounded, other clients are unaffected, and it resumes later', async () => {
    const highWaterMark = 256 * 1024;
    const { server, url, errors } = await startServer({
      authorizeJoin: () => true,
      limits: { highWaterMark, messagesPerSecond: 5000, burst: 5000 },
      retention: { maxMessages: 1_000_000, maxBytes: 2 ** 40, maxAgeMs: 3_600_000 },
      sweepIntervalMs: 50,
    });
    const pad = 'x'.repeat(2048);
    const frameBytes = JSON.stringify({
      t: 'msg',
      stream: 'room:feed',
      epoch: 'e',
      offset: 1e6,
      type: 'tick',
      data: { s: 'room', n: 1e6, pad },
      ts: Date.now(),
    }).length;
    const fast: Peer[] = [];
    const latency = new Map<string, number[]>([
      ['baseline', []],
      ['slow', []],
    ]);
    let phase = 'baseline';
    for (let i = 0; i < 4; i++) {
      const p = peer(`f${i}`, chaosClient(url));
      p.client.on('tick', (_d, meta) => latency.get(phase)!.push(Date.now() - meta.ts));
      await p.client.connect();
      await p.client.join('feed');
      fast.push(p);
    }
    const { WS, sockets } = trackedWebSocket();
    const slow = peer('slow', chaosClient(url, { WebSocket: WS }));
    await slow.client.connect();
    await slow.client.join('feed');
    const slowSession = [...slow.sessions][0]!;

    let n = 0;
    const publish = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await server.sendToRoom('feed', 'tick', { s: 'room', n: ++n, pad });
        if (n % 50 === 0) await pause(25); // ~2000 messages/s, ~4 MB/s
      }
    };
    // Baseline: everyone reads.
    await publish(scaled(1000));
    await expect
      .poll(() => fast.every((p) => p.received.get('room').length === n), { timeout: 20_000 })
      .toBe(true);

    // The slow client stops reading from its socket; the server keeps publishing.
    phase = 'slow';
    sockets.at(-1)!.pause();
    const slowConnClosed = new Promise<{ code: number; at: number }>((resolve) => {
      const off = server.on('disconnect', ({ sessionId, code }) => {
        if (sessionId !== slowSession) return;
        off();
        resolve({ code, at: Date.now() });
      });
    });
    let peak = 0;
    const pausedAt = Date.now();
    let overAt = 0;
    while ((server.stats().counters.closes['4008'] ?? 0) === 0 && n < scaled(1000) + 200_000) {
      await publish(50);
      peak = Math.max(peak, bufferedOf(server, slowSession) ?? 0);
    }
    overAt = Date.now();
    const atClose = n;
    await publish(scaled(1000));
    const cut = await slowConnClosed;
    await expect
      .poll(() => fast.every((p) => p.received.get('room').length === n), { timeout: 20_000 })
      .toBe(true);

    // The server wrote at most one frame past the mark before closing, and then stopped.
    expect(server.stats().counters.closes['4008']).toBe(1);
    expect(peak).toBeLessThanOrEqual(highWaterMark + frameBytes);
    // It cannot complete a close handshake with a peer that does not read: cut after 2 s.
    expect(cut.at - overAt).toBeLessThanOrEqual(2000 + 2 * 50 + 500);
    // Other clients: everything, once, in order, latency within a generous bound.
    for (const p of fast)
      expect(checkSequence(p.received.get('room'), n)).toMatchObject({
        missing: 0,
        duplicates: 0,
        outOfOrder: 0,
      });
    const base = summary(latency.get('baseline')!);
    const during = summary(latency.get('slow')!);
    expect(during.p99).toBeLessThan(Math.max(500, 5 * base.p99));

    // The slow client reads again: 4008 is retryable, it resumes and loses nothing.
    sockets.at(-1)!.resume();
    await connected(slow.client);
    await expect.poll(() => slow.received.get('room').length, { timeout: 30_000 }).toBe(n);
    expect(checkSequence(slow.received.get('room'), n)).toMatchObject({
      missing: 0,
      duplicates: 0,
      outOfOrder: 0,
    });
    expect(slow.sessions.size).toBe(1);
    expect(errors).toEqual([]);

    record('slow-consumer', {
      highWaterMark,
      frameBytes,
      peakBufferedBytes: peak,
      messagesUntil4008: atClose - scaled(1000),
      msUntil4008: overAt - pausedAt,
      terminatedAfterMs: cut.at - overAt,
      disconnectCode: cut.code,
      fastLatencyBaselineMs: base,
      fastLatencyWithSlowConsumerMs: during,
      messagesChecked: n * 5,
      rss: process.memoryUsage().rss,
    });
  });
});
