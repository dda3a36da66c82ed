import type { BenchConfig } from '../config.js';
import { type TargetName, wireOf } from '../types.js';
import type { RunOutcome, Scenario } from './scenario.js';
import { sleep, withProcesses } from './scenario.js';

interface EchoResult {
  roundTrips: number;
  wallMs: number;
  sent: number;
  received: number;
  lost: number;
  duplicates: number;
}

/**
 * Scenario 2: request/response. Every connection keeps one request in flight (closed loop);
 * then one connection alone measures round-trip latency.
 */
export function echoScenario(n: number): Scenario {
  return {
    id: 'echo',
    title: `Echo request/response, ${n} connections`,
    description:
      `${n} connections each keep one 150-byte echo request in flight for the whole phase → round trips/s ` +
      'and server CPU per round trip; then a single connection sends one request at a time → p50/p99 round trip. ' +
      '`ws` and uWebSockets.js: the server parses the JSON and answers `{id, result}`. Socket.IO: an event with an ack callback. ' +
      'Holdfast: a `pub` of the `echo` request type, validated by zod both ways, deduplicated by id and answered by a `res`.',
    targets: ['ws', 'uws', 'socketio', 'holdfast'],
    limit: 'ws',
    peer: 'socketio',
    metrics: [
      { key: 'roundTripsPerSec', label: 'round trips/s', unit: '/s', better: 'higher', digits: 0 },
      {
        key: 'cpuUsPerRoundTrip',
        label: 'server CPU per round trip',
        unit: 'µs',
        better: 'lower',
        digits: 2,
      },
      { key: 'p50Ms', label: 'single-connection p50', unit: 'ms', better: 'lower', digits: 3 },
      { key: 'p99Ms', label: 'single-connection p99', unit: 'ms', better: 'lower', digits: 3 },
    ],
    goals: [
      {
        text: '>= 1.0x raw ws round trips/s',
        metric: 'roundTripsPerSec',
        versus: 'ws',
        factor: 1,
        op: 'atLeast',
      },
      {
        text: '>= 1.2x Socket.IO round trips/s',
        metric: 'roundTripsPerSec',
        versus: 'socketio',
        factor: 1.2,
        op: 'atLeast',
      },
      {
        text: 'uWebSockets.js vs raw ws: round trips/s (ratio only, no target)',
        subject: 'uws',
        metric: 'roundTripsPerSec',
        versus: 'ws',
        factor: 1,
        op: 'report',
      },
    ],
    async run(target: TargetName, cfg: BenchConfig): Promise<RunOutcome> {
      return withProcesses(target, {}, async ({ servers, urls, loadgen }) => {
        const server = servers[0]!;
        await loadgen.call('connect', { wire: wireOf(target), urls, n, rooms: 0 });
        await sleep(200);
        await server.call('profileStart');
        const cpu0 = await server.call<number>('cpu');
        const r = await loadgen.call<EchoResult>('echo', { durationMs: cfg.echo.durationMs });
        const cpu1 = await server.call<number>('cpu');
        await server.call('profileStop', { name: 'echo' });
        const lat = await loadgen.call<{ p50: number; p99: number; n: number; lost: number }>('echoLatency', {
          durationMs: cfg.echo.latencyMs,
        });
        const stats = await loadgen.call<Record<string, unknown>>('stats');
        return {
          metrics: {
            roundTripsPerSec: (r.roundTrips / r.wallMs) * 1000,
            cpuUsPerRoundTrip: (cpu1 - cpu0) / Math.max(1, r.received),
            p50Ms: lat.p50,
            p99Ms: lat.p99,
          },
          delivery: {
            messages: r.sent + lat.n + lat.lost,
            deliveries: r.received + lat.n,
            lost: r.lost + lat.lost,
            duplicates: r.duplicates,
          },
          lossless: true,
          notes: { latencySamples: lat.n, ...stats },
        };
      });
    },
  };
}
