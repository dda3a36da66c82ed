import { FaultProxy } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { chaosClient, defer, pause, sessionOf, startServer } from '../support/fixture.js';
import { scaled } from '../support/scale.js';
import { allDelivered, peer, pumpTicks, recordNotes, sendNotes, verdict } from '../support/traffic.js';

// Clients -> FaultProxy (cuts, slicing, latency spikes) -> server, with thousands of messages
// flowing both ways while the faults hit every ~2 s.

describe('cuts (RST and FIN), 1-byte slicing and latency spikes of up to 2 s', () => {
  it('loses nothing acknowledged, hands nothing to the app twice, keeps order per stream', async () => {
    const CLIENTS = 4;
    const COUNT = scaled(2000); // per client and stream, each direction
    const RATE = 100; // per second and stream: ~COUNT/RATE seconds of traffic
    const { server, port, errors } = await startServer({
      authorizeJoin: () => true,
      retention: { maxMessages: 10_000_000, maxBytes: 2 ** 40, maxAgeMs: 3_600_000 },
      // Longer than the latency spikes: this scenario is about cuts, not detection.
      heartbeat: { intervalMs: 1000, timeoutMs: 6000 },
      sweepIntervalMs: 50,
      limits: { messagesPerSecond: 5000, burst: 5000 },
    });
    const handled = recordNotes(server);
    const proxy = await FaultProxy.start({ port });
    defer(() => proxy.close());

    const peers = Array.from({ length: CLIENTS }, (_, i) =>
      peer(`c${i}`, chaosClient(`ws://127.0.0.1:${proxy.port}/ws`)),
    );
    const sessionIds = new Map<string, string>();
    for (const p of peers) {
      await p.client.connect();
      await p.client.join('all');
      sessionIds.set(p.name, sessionOf(p.client));
    }

    // The faults, in rotation, until the traffic is done.
    const faults = { rst: 0, fin: 0, sliced: 0, cutWhileSliced: 0, spikes: 0, maxSpikeMs: 0, cutInSpike: 0 };
    let trafficDone = false;
    const spike = async (ms: number, windowMs: number, cutAtEnd: boolean) => {
      proxy.latency(ms);
      faults.spikes++;
      faults.maxSpikeMs = Math.max(faults.maxSpikeMs, ms);
      await pause(windowMs);
      if (cutAtEnd) {
        proxy.cut('rst');
        faults.rst++;
        faults.cutInSpike++;
      }
      proxy.latency(0);
    };
    const actions = [
      async () => {
        proxy.cut('rst');
        faults.rst++;
      },
      async () => {
        proxy.cut('fin');
        faults.fin++;
      },
      async () => {
        proxy.slice(1);
        faults.sliced++;
        await pause(750);
        proxy.cut('rst'); // mid-frame, most likely
        faults.rst++;
        faults.cutWhileSliced++;
        await pause(750);
        proxy.slice(0);
      },
      () => spike(2000, 1000, false),
      async () => {
        proxy.cut('fin');
        faults.fin++;
      },
      () => spike(500 + Math.floor(Math.random() * 1500), 500, true),
    ];
    const chaos = (async () => {
      for (let i = 0; !trafficDone; i++) {
        await pause(2000);
        if (trafficDone) break;
        await actions[i % actions.length]!();
      }
    })();

    const started = Date.now();
    await Promise.all([
      pumpTicks(server, peers, sessionIds, COUNT, { room: 'all', ratePerSec: RATE }),
      ...peers.map((p) => sendNotes(p, COUNT, { ratePerSec: RATE })),
    ]).finally(() => {
      trafficDone = true;
    });
    await chaos;
    proxy.slice(0);
    proxy.latency(0);
    const trafficMs = Date.now() - started;

    // Everything published must arrive: wait for the last message of every stream.
    const expected = { notes: COUNT, streams: { direct: COUNT, room: COUNT } };
    await expect
      .poll(() => allDelivered(verdict(peers, handled, expected)), { timeout: 30_000, interval: 100 })
      .toBe(true);
    const v = verdict(peers, handled, expected);

    expect(v.notes).toEqual({
      sent: COUNT * CLIENTS,
      resolved: COUNT * CLIENTS,
      rejected: 0,
      handledTwice: 0,
      outOfOrder: 0,
      resolvedNotHandled: 0,
    });
    expect(v.gaps).toBe(0);
    for (const p of peers) expect(p.sessions.size).toBe(1); // every reconnect resumed the session
    expect(peers.every((p) => p.welcomes.slice(1).every((w) => w.resumed))).toBe(true);
    expect(faults.rst + faults.fin).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([]);

    const stats = server.stats();
    record('cuts', {
      clients: CLIENTS,
      trafficMs,
      serverToClientChecked: v.messagesChecked,
      clientToServerChecked: v.notes.resolved,
      faults,
      reconnects: peers.map((p) => p.welcomes.length - 1),
      serverResumes: stats.counters.resumes,
      duplicatesAnsweredFromDedupe: stats.counters.duplicates,
      msgFramesWritten: stats.counters.deliveries,
      proxyConnections: proxy.accepted,
    });
  });
});
