import type { BenchConfig } from '../config.js';
import type { ChildRpc } from '../ipc.js';
import { BROADCAST } from '../payload.js';
import type { LatencySummary } from '../stats.js';
import { type DeliveryCheck, type TargetName, wireOf } from '../types.js';
import { type MetricDef, type RunOutcome, type Scenario, sleep, withProcesses } from './scenario.js';

const METRICS: MetricDef[] = [
  { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '/s', better: 'higher', digits: 0 },
  { key: 'cpuUsPerDelivery', label: 'server CPU per delivery', unit: 'µs', better: 'lower', digits: 3 },
  { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower', digits: 2 },
];

interface FloodResult {
  first: number;
  last: number;
  wallMs: number;
  cpuUs: number;
}

/** Add two delivery checks. */
export function addChecks(a: DeliveryCheck, b: DeliveryCheck): DeliveryCheck {
  return {
    messages: a.messages + b.messages,
    deliveries: a.deliveries + b.deliveries,
    lost: a.lost + b.lost,
    duplicates: a.duplicates + b.duplicates,
  };
}

/** Relay the load generator's progress to the publishing server. */
function relayProgress(loadgen: ChildRpc, server: ChildRpc): () => void {
  return loadgen.on('progress', (data) => server.notify('progress', data));
}

/**
 * Scenario 1 (and 5 with `nodes` > 1): every connection receives every broadcast.
 * Phase 1, closed loop: broadcast as fast as delivery allows (a window of messages in flight)
 * → deliveries/s and server CPU per delivery. Phase 2, open loop at half the limit's capacity
 * → latency p50/p99, with the message's scheduled send time as the start (no coordinated omission).
 */
export function fanoutScenario(
  n: number,
  options: { id?: string; title?: string; nodes?: number; targets?: TargetName[]; skipped?: string } = {},
): Scenario {
  /** Messages/s of the open loop: half the limit's closed-loop capacity, set by its first run. */
  let latencyRate: number | undefined;
  const nodes = options.nodes ?? 1;
  const targets = options.targets ?? ['ws-frame', 'ws', 'socketio', 'holdfast'];
  const scenario: Scenario = {
    id: options.id ?? `fanout-${n}`,
    title: options.title ?? `Broadcast fan-out, ${n.toLocaleString('en-US')} connections`,
    description:
      `${n.toLocaleString('en-US')} connections each receive every broadcast of a 150-byte JSON message. ` +
      'Closed loop: the server broadcasts as fast as the clients confirm delivery (a bounded window of ' +
      'messages in flight) → deliveries/s and server CPU per delivery. Open loop at half the frame-once ' +
      "`ws` capacity (measured in this run's warm-up) → p50/p99 from each message's scheduled send time " +
      'to its arrival at each client.',
    targets,
    limit: targets.includes('ws-frame') ? 'ws-frame' : targets[0]!,
    peer: 'socketio',
    metrics: METRICS,
    goals: [
      {
        text: '>= 0.90x frame-once ws deliveries/s',
        metric: 'deliveriesPerSec',
        versus: 'ws-frame',
        factor: 0.9,
        op: 'atLeast',
      },
      {
        text: 'ahead of Socket.IO deliveries/s',
        metric: 'deliveriesPerSec',
        versus: 'socketio',
        factor: 1,
        op: 'above',
      },
      { text: 'p99 no worse than Socket.IO', metric: 'p99Ms', versus: 'socketio', factor: 1, op: 'atMost' },
    ],
    ...(options.skipped ? { skipped: options.skipped } : {}),
    async run(target: TargetName, cfg: BenchConfig): Promise<RunOutcome> {
      const start = nodes > 1 ? { engine: { kind: 'redis' as const, url: cfg.multinode.redisUrl } } : {};
      return withProcesses(
        target,
        start,
        async ({ servers, urls, loadgen }) => {
          const pub = servers[0]!;
          const { ms: connectMs } = await loadgen.call<{ ms: number }>('connect', {
            wire: wireOf(target),
            urls,
            n,
            rooms: 0,
          });
          await loadgen.call('track', { progress: true });
          await sleep(200);

          // Closed loop.
          const window = Math.max(4, Math.ceil(cfg.fanout.windowDeliveries / n));
          const off = relayProgress(loadgen, pub);
          const others0 = await Promise.all(servers.slice(1).map((s) => s.call<number>('cpu')));
          const loadCpu0 = await loadgen.call<number>('cpu');
          let flood: FloodResult;
          try {
            flood = await pub.call<FloodResult>(
              'flood',
              { window, durationMs: cfg.fanout.floodMs, timeoutMs: cfg.fanout.floodMs + 30_000 },
              cfg.fanout.floodMs + 60_000,
            );
          } finally {
            off();
          }
          const loadCpu1 = await loadgen.call<number>('cpu');
          const others1 = await Promise.all(servers.slice(1).map((s) => s.call<number>('cpu')));
          const otherCpu = others1.reduce((a, v, i) => a + v - others0[i]!, 0);
          const floodCheck = await loadgen.call<DeliveryCheck>('check', {
            from: { [BROADCAST]: flood.first },
            to: { [BROADCAST]: flood.last },
          });
          const messages = flood.last - flood.first + 1;
          const deliveries = messages * n;
          const deliveriesPerSec = (deliveries / flood.wallMs) * 1000;
          if (latencyRate === undefined && target === scenario.limit)
            latencyRate = (deliveriesPerSec / n) * 0.5;
          const rate = latencyRate ?? (deliveriesPerSec / n) * 0.5;

          // Open loop at half the limit's capacity.
          const dupBefore = await loadgen.call<number>('duplicates');
          await loadgen.call('latencyStart');
          const paced = await pub.call<{ lastIds: Record<string, number> }>(
            'paced',
            { channels: [BROADCAST], rate, durationMs: cfg.fanout.latencyMs },
            cfg.fanout.latencyMs + 60_000,
          );
          const last = paced.lastIds[BROADCAST] ?? flood.last;
          const waited = await loadgen.call<{ behind: number }>('waitReceived', {
            lastIds: { [BROADCAST]: last },
            timeoutMs: 30_000,
          });
          const latency = await loadgen.call<LatencySummary>('latencyStop');
          const pacedCheck = await loadgen.call<DeliveryCheck>('check', {
            from: { [BROADCAST]: flood.last + 1 },
            to: { [BROADCAST]: last },
            duplicatesBefore: dupBefore,
          });
          const stats = await loadgen.call<Record<string, unknown>>('stats');
          return {
            metrics: {
              deliveriesPerSec,
              cpuUsPerDelivery: (flood.cpuUs + otherCpu) / deliveries,
              p50Ms: latency.p50,
              p99Ms: latency.p99,
              connectMs,
            },
            delivery: addChecks(floodCheck, pacedCheck),
            lossless: true,
            notes: {
              window,
              // Share of one core each process used during the closed loop: which side was the bottleneck.
              serverBusy: flood.cpuUs / 1000 / flood.wallMs,
              loadgenBusy: (loadCpu1 - loadCpu0) / 1000 / flood.wallMs,
              floodMessages: messages,
              latencyRate: Math.round(rate),
              latencySamples: latency.n,
              behindAtEnd: waited.behind,
              ...stats,
            },
          };
        },
        nodes,
      );
    },
  };
  return scenario;
}
