import type { BenchConfig } from '../config.js';
import type { DeliveryCheck, TargetName } from '../types.js';
import { wireOf } from '../types.js';
import type { RunOutcome, Scenario } from './scenario.js';
import { sleep, withProcesses } from './scenario.js';

interface StormResult {
  caughtUp: number;
  catchUpMs: number;
  catchUpP50Ms: number;
  clientP50Ms: number;
  clientP99Ms: number;
  cutMs: number;
  reconnectMs: number;
  recovered: number;
  readyDeciles: number[];
  errors: string[];
}

/**
 * Scenario 4: the reconnect storm. Clients in rooms receive a steady stream; every socket is cut at
 * once; each reconnects after a random delay and resumes (Holdfast: `hello.resume` with its
 * cursors; Socket.IO: connection state recovery; `ws`: reconnect and rejoin only, so it loses what
 * was sent meanwhile, by design).
 */
export function stormScenario(cfg: BenchConfig): Scenario {
  const { connections: n, rooms, rate, jitterMs } = cfg.storm;
  const channels = Array.from({ length: rooms }, (_, i) => `r${i}`);
  return {
    id: 'storm',
    title: `Reconnect storm, ${n.toLocaleString('en-US')} clients`,
    description:
      `${n.toLocaleString('en-US')} clients in ${rooms === 1 ? 'one room' : `${rooms} rooms of ${Math.round(n / rooms)}`} while the ` +
      `server publishes ${rate} messages/s${rooms > 1 ? ' round-robin over the rooms' : ''}. After ${cfg.storm.steadyMs} ms every ` +
      'socket is cut at once (client side, no close handshake: the server sees 1006); each client reconnects after a uniform ' +
      `random delay in [0, ${jitterMs}) ms and resumes (Holdfast: \`hello.resume\` with its cursors; Socket.IO: connection ` +
      'state recovery; `ws`: reconnect and rejoin only). A client has caught up when it holds every message sent before its new ' +
      'connection was ready: at that moment, or at the arrival of the last replayed message (confirmed by the next live one). ' +
      'Reported: the time from the cut until the last client caught up, the median client, the peak server RSS during the storm; ' +
      'then publishing stops and every message of the run must have reached every client exactly once (`ws` has no resume: ' +
      'its loss is reported, not failed).',
    targets: ['ws', 'socketio', 'holdfast'],
    limit: 'ws',
    peer: 'socketio',
    metrics: [
      { key: 'catchUpMs', label: 'time until all caught up', unit: 'ms', better: 'lower', digits: 0 },
      {
        key: 'clientP50Ms',
        label: 'per client: attempt → caught up, p50',
        unit: 'ms',
        better: 'lower',
        digits: 0,
      },
      { key: 'clientP99Ms', label: 'per client p99', unit: 'ms', better: 'lower', digits: 0 },
      { key: 'peakRssMiB', label: 'peak server RSS', unit: 'MiB', better: 'lower', digits: 1 },
    ],
    goals: [
      {
        text: '<= 1.5x raw ws reconnect-only time',
        metric: 'catchUpMs',
        versus: 'ws',
        factor: 1.5,
        op: 'atMost',
      },
    ],
    async run(target: TargetName, cfg: BenchConfig): Promise<RunOutcome> {
      return withProcesses(target, { recovery: true }, async ({ servers, urls, loadgen }) => {
        const server = servers[0]!;
        await loadgen.call('connect', { wire: wireOf(target), urls, n, rooms, recovery: true }, 180_000);
        await loadgen.call('track', {});
        await server.call('pacedStart', { channels, rate });
        await sleep(cfg.storm.steadyMs);
        await server.call('rssWatchStart');
        await server.call('profileStart');
        let storm: StormResult;
        let peakRss: number;
        try {
          storm = await loadgen.call<StormResult>(
            'storm',
            { jitterMs, timeoutMs: cfg.storm.timeoutMs },
            cfg.storm.timeoutMs + 30_000,
          );
        } finally {
          peakRss = (await server.call<{ peakRss: number }>('rssWatchStop')).peakRss;
          await server.call('profileStop', { name: 'storm' });
        }
        await sleep(100);
        const { lastIds } = await server.call<{ lastIds: Record<string, number> }>('pacedStop');
        const waited = await loadgen.call<{ behind: number }>('waitReceived', { lastIds, timeoutMs: 20_000 });
        const from = Object.fromEntries(channels.map((c) => [c, 1]));
        const check = await loadgen.call<DeliveryCheck>('check', { from, to: lastIds });
        const stats = await loadgen.call<Record<string, unknown>>('stats');
        if (storm.caughtUp < n)
          throw new Error(`only ${storm.caughtUp}/${n} clients caught up: ${storm.errors.join('; ')}`);
        return {
          metrics: {
            catchUpMs: storm.catchUpMs,
            clientP50Ms: storm.clientP50Ms,
            clientP99Ms: storm.clientP99Ms,
            peakRssMiB: peakRss / 2 ** 20,
            lost: check.lost,
            duplicates: check.duplicates,
          },
          delivery: check,
          lossless: target !== 'ws',
          notes: {
            catchUpP50Ms: storm.catchUpP50Ms,
            cutMs: storm.cutMs,
            reconnectMs: storm.reconnectMs,
            readyDeciles: storm.readyDeciles,
            recovered: storm.recovered,
            behindAtEnd: waited.behind,
            ...stats,
          },
        };
      });
    },
  };
}
