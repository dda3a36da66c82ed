import type { BenchConfig } from '../config.js';
import { type TargetName, wireOf } from '../types.js';
import type { RunOutcome, Scenario } from './scenario.js';
import { sleep, withProcesses } from './scenario.js';

interface Mem {
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

/** Scenario 3: idle memory per connection, each connection in a room, heartbeats on. */
export function memoryScenario(n: number, rooms: number): Scenario {
  return {
    id: 'memory',
    title: `Idle memory, ${n.toLocaleString('en-US')} connections`,
    description:
      `${n.toLocaleString('en-US')} idle connections, each joined to one of ${rooms} rooms, heartbeats on ` +
      '(25 s everywhere). The server process runs with `--expose-gc`; heap and RSS are read after four ' +
      'forced GCs before the first connection and again once all are connected; the difference is divided by ' +
      'the number of connections. uWebSockets.js keeps its sockets in C++, outside the V8 heap: its RSS is the ' +
      'figure to compare (it pings idle sockets itself, with a 32 s idle timeout).',
    targets: ['ws', 'uws', 'socketio', 'holdfast'],
    limit: 'ws',
    peer: 'socketio',
    metrics: [
      { key: 'heapPerConnKiB', label: 'heap per connection', unit: 'KiB', better: 'lower', digits: 2 },
      { key: 'rssPerConnKiB', label: 'RSS per connection', unit: 'KiB', better: 'lower', digits: 2 },
    ],
    goals: [
      { text: '<= 1.2x raw ws heap', metric: 'heapPerConnKiB', versus: 'ws', factor: 1.2, op: 'atMost' },
      {
        text: '<= 0.4x Socket.IO heap',
        metric: 'heapPerConnKiB',
        versus: 'socketio',
        factor: 0.4,
        op: 'atMost',
      },
    ],
    async run(target: TargetName, cfg: BenchConfig): Promise<RunOutcome> {
      return withProcesses(target, {}, async ({ servers, urls, loadgen }) => {
        const server = servers[0]!;
        const before = await server.call<Mem>('memory');
        await server.call('heapSnapshot', { name: `before-${target}` });
        const { ms } = await loadgen.call<{ ms: number }>(
          'connect',
          { wire: wireOf(target), urls, n, rooms },
          180_000,
        );
        await sleep(cfg.memory.settleMs);
        const after = await server.call<Mem>('memory');
        await server.call('heapSnapshot', { name: `after-${target}` });
        const open = await server.call<number>('connections');
        const stats = await loadgen.call<Record<string, unknown>>('stats');
        return {
          metrics: {
            heapPerConnKiB: (after.heapUsed - before.heapUsed) / n / 1024,
            rssPerConnKiB: (after.rss - before.rss) / n / 1024,
            connectMs: ms,
          },
          // Every connection must still be open on the server.
          delivery: { messages: n, deliveries: open, lost: Math.max(0, n - open), duplicates: 0 },
          lossless: true,
          notes: {
            heapBeforeMiB: before.heapUsed / 2 ** 20,
            heapAfterMiB: after.heapUsed / 2 ** 20,
            rssAfterMiB: after.rss / 2 ** 20,
            externalPerConnKiB: (after.external - before.external) / n / 1024,
            ...stats,
          },
        };
      });
    },
  };
}
