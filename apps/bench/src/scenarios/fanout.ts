import type { BenchConfig } from '../config.js';
import type { ChildRpc } from '../ipc.js';
import { BROADCAST } from '../payload.js';
import { closeRedis, connectRedis, deletePrefix, redisCpuUs, runPrefix } from '../redis.js';
import type { LatencySummary } from '../stats.js';
import { type DeliveryCheck, type ServerStart, type TargetName, wireOf } from '../types.js';
import {
  type Goal,
  type MetricDef,
  type RunOutcome,
  type Scenario,
  sleep,
  withProcesses,
} from './scenario.js';

const METRICS: MetricDef[] = [
  { key: 'deliveriesPerSec', label: 'deliveries/s', unit: '/s', better: 'higher', digits: 0 },
  { key: 'cpuUsPerDelivery', label: 'server CPU per delivery', unit: 'µs', better: 'lower', digits: 3 },
  { key: 'p50Ms', label: 'p50 latency', unit: 'ms', better: 'lower', digits: 2 },
  { key: 'p99Ms', label: 'p99 latency', unit: 'ms', better: 'lower', digits: 2 },
];

/** Scenario 5 adds the CPU Redis used (the whole redis-server process) per delivery. */
const MULTINODE_METRICS: MetricDef[] = [
  { ...METRICS[0]!, label: 'deliveries/s' },
  { ...METRICS[1]!, label: 'server CPU per delivery, all nodes' },
  METRICS[2]!,
  METRICS[3]!,
  { key: 'redisCpuUsPerDelivery', label: 'Redis CPU per delivery', unit: 'µs', better: 'lower', digits: 3 },
];

const FANOUT_GOALS: Goal[] = [
  {
    text: '<= 1.5x corked ws server CPU per delivery',
    metric: 'cpuUsPerDelivery',
    versus: 'ws-cork',
    factor: 1.5,
    op: 'atMost',
  },
  {
    text: '>= 0.8x corked ws deliveries/s',
    metric: 'deliveriesPerSec',
    versus: 'ws-cork',
    factor: 0.8,
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
  { text: 'p99 <= 1.2x corked ws', metric: 'p99Ms', versus: 'ws-cork', factor: 1.2, op: 'atMost' },
  {
    text: 'uWebSockets.js vs corked ws: server CPU per delivery (ratio only, no target)',
    subject: 'uws',
    metric: 'cpuUsPerDelivery',
    versus: 'ws-cork',
    factor: 1,
    op: 'report',
  },
];

/** How a target of the fan-out runs: how many server nodes, on which engine. */
function layoutOf(target: TargetName, cfg: BenchConfig): { nodes: number; redis: boolean } {
  if (target === 'holdfast-cluster') return { nodes: cfg.multinode.nodes, redis: true };
  return { nodes: 1, redis: target === 'holdfast-redis' };
}

/** Whether the nodes of a multi-node run are spread over the cores (see `BenchConfig.multinode.spread`). */
export function spreadOf(cfg: BenchConfig): boolean {
  return cfg.multinode.spread === true || process.env.BENCH_MULTINODE_SPREAD === '1';
}

interface FloodResult {
  first: number;
  last: number;
  wallMs: number;
  cpuUs: number;
  /** Of `cpuUs`, the kernel's (system) time. */
  sysUs: number;
  /** Main-thread garbage-collection pauses during the closed loop. */
  gcMs: number;
  /** The main thread's share of the server's CPU (the rest: GC helper threads and the like). */
  mainThreadShare: number;
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
 * Scenario 1: every connection receives every broadcast.
 * Phase 1, closed loop: broadcast as fast as delivery allows (a window of messages in flight)
 * → deliveries/s and server CPU per delivery. Phase 2, open loop at half the limit's (corked `ws`) capacity
 * → latency p50/p99, with the message's scheduled send time as the start (no coordinated omission).
 *
 * The same two phases make scenario 5 ({@link multinodeScenario}): the targets `holdfast-redis`
 * (one node on the Redis engine) and `holdfast-cluster` (`cfg.multinode.nodes` nodes on Redis, the
 * connections spread over them, node 0 publishing, CPU summed over the nodes) run here too.
 */
export function fanoutScenario(
  n: number,
  options: {
    id?: string;
    title?: string;
    description?: string;
    targets?: TargetName[];
    limit?: TargetName;
    peer?: TargetName;
    metrics?: MetricDef[];
    goals?: Goal[];
    labels?: Partial<Record<TargetName, string>>;
    /** Whose closed-loop capacity sets the open loop's rate (half of it). @default the limit */
    rateFrom?: TargetName;
    /**
     * Publish without awaiting each append before the next: the closed loop's window, and the
     * open loop's messages that are due (see the server's `flood`). @default false
     */
    pipeline?: boolean;
    skipped?: string;
  } = {},
): Scenario {
  /** Messages/s of the open loop: half of `rateFrom`'s closed-loop capacity, set by its first run. */
  let latencyRate: number | undefined;
  // The limit first: its warm-up run sets the open loop's rate for every target.
  const targets = options.targets ?? ['ws-cork', 'uws', 'ws-frame', 'ws', 'socketio', 'holdfast'];
  const scenario: Scenario = {
    id: options.id ?? `fanout-${n}`,
    title: options.title ?? `Broadcast fan-out, ${n.toLocaleString('en-US')} connections`,
    description:
      options.description ??
      `${n.toLocaleString('en-US')} connections each receive every broadcast of a 150-byte JSON message. ` +
        'Closed loop: the server broadcasts as fast as the clients confirm delivery (a bounded window of ' +
        'messages in flight) → deliveries/s and server CPU per delivery. Open loop at half the corked ' +
        "`ws` capacity (measured in this run's warm-up), the same rate for every target → p50/p99 from each " +
        "message's scheduled send time to its arrival at each client. The limits: `ws` corked (the frame " +
        "built once per broadcast, each socket corked until the end of the tick: Holdfast's own trick) and " +
        'uWebSockets.js (its C++ `publish`); `ws` frame-once and naive (`ws.send` per client) for reference.',
    targets,
    limit: options.limit ?? (targets.includes('ws-cork') ? 'ws-cork' : targets[0]!),
    peer: options.peer ?? 'socketio',
    metrics: options.metrics ?? METRICS,
    goals: options.goals ?? FANOUT_GOALS,
    ...(options.labels ? { labels: options.labels } : {}),
    ...(options.skipped ? { skipped: options.skipped } : {}),
    async run(target: TargetName, cfg: BenchConfig): Promise<RunOutcome> {
      const { nodes, redis: onRedis } = layoutOf(target, cfg);
      // Redis: a key prefix for this run (all its nodes), the Redis CPU figures, the keys deleted after.
      const redis = onRedis ? await connectRedis(cfg.multinode.redisUrl) : undefined;
      const prefix = runPrefix();
      const start: Omit<ServerStart, 'target'> = redis
        ? { engine: { kind: 'redis', url: cfg.multinode.redisUrl, prefix } }
        : {};
      const redisCpu = async () => (redis ? await redisCpuUs(redis) : 0);
      const redisCpuStart = await redisCpu();
      let outcome: RunOutcome | undefined;
      try {
        outcome = await withProcesses(
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
            // With BENCH_PROFILE_DIR the other nodes profile the closed loop too (`flood-node-<pid>`).
            await Promise.all(servers.slice(1).map((s) => s.call('profileStart')));
            const others0 = await Promise.all(servers.slice(1).map((s) => s.call<number>('cpu')));
            const loadCpu0 = await loadgen.call<number>('cpu');
            const redisCpu0 = await redisCpu();
            let flood: FloodResult;
            try {
              flood = await pub.call<FloodResult>(
                'flood',
                {
                  window,
                  durationMs: cfg.fanout.floodMs,
                  timeoutMs: cfg.fanout.floodMs + 30_000,
                  pipeline: options.pipeline ?? false,
                },
                cfg.fanout.floodMs + 60_000,
              );
            } finally {
              off();
            }
            const redisCpu1 = await redisCpu();
            const loadCpu1 = await loadgen.call<number>('cpu');
            const others1 = await Promise.all(servers.slice(1).map((s) => s.call<number>('cpu')));
            await Promise.all(servers.slice(1).map((s) => s.call('profileStop', { name: 'flood-node' })));
            const otherCpu = others1.reduce((a, v, i) => a + v - others0[i]!, 0);
            const floodCheck = await loadgen.call<DeliveryCheck>('check', {
              from: { [BROADCAST]: flood.first },
              to: { [BROADCAST]: flood.last },
            });
            const messages = flood.last - flood.first + 1;
            const deliveries = messages * n;
            const deliveriesPerSec = (deliveries / flood.wallMs) * 1000;
            if (latencyRate === undefined && target === (options.rateFrom ?? scenario.limit))
              latencyRate = (deliveriesPerSec / n) * 0.5;
            const rate = latencyRate ?? (deliveriesPerSec / n) * 0.5;

            // Open loop at half the limit's capacity (or `rateFrom`'s).
            const dupBefore = await loadgen.call<number>('duplicates');
            await loadgen.call('latencyStart');
            const paced = await pub.call<{ lastIds: Record<string, number> }>(
              'paced',
              {
                channels: [BROADCAST],
                rate,
                durationMs: cfg.fanout.latencyMs,
                pipeline: options.pipeline ?? false,
              },
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
            const engines = redis
              ? await Promise.all(servers.map((s) => s.call<EngineStatus>('engineStatus')))
              : [];
            return {
              metrics: {
                deliveriesPerSec,
                // Summed over the nodes (the publishing node's flood CPU plus the others' over the same span).
                cpuUsPerDelivery: (flood.cpuUs + otherCpu) / deliveries,
                p50Ms: latency.p50,
                p99Ms: latency.p99,
                connectMs,
                ...(redis ? { redisCpuUsPerDelivery: (redisCpu1 - redisCpu0) / deliveries } : {}),
              },
              delivery: addChecks(floodCheck, pacedCheck),
              lossless: true,
              notes: {
                window,
                // Share of one core each process used during the closed loop: which side was the bottleneck.
                serverBusy: flood.cpuUs / 1000 / flood.wallMs,
                // Where the publishing server's CPU went: the kernel's share, and GC pauses per delivery.
                serverSysShare: flood.sysUs / flood.cpuUs,
                gcNsPerDelivery: (flood.gcMs * 1e6) / deliveries,
                mainThreadShare: flood.mainThreadShare,
                loadgenBusy: (loadCpu1 - loadCpu0) / 1000 / flood.wallMs,
                floodMessages: messages,
                latencyRate: Math.round(rate),
                latencySamples: latency.n,
                behindAtEnd: waited.behind,
                ...(nodes > 1
                  ? {
                      nodes,
                      nodeBusy: [flood.cpuUs, ...others1.map((v, i) => v - others0[i]!)].map(
                        (us) => us / 1000 / flood.wallMs,
                      ),
                    }
                  : {}),
                ...(redis
                  ? {
                      redisBusy: (redisCpu1 - redisCpu0) / 1000 / flood.wallMs,
                      engineErrors: engines.reduce((a, e) => a + (e?.errors ?? 0), 0),
                      engineReconnects: engines.reduce((a, e) => a + (e?.reconnects ?? 0), 0),
                    }
                  : {}),
                ...stats,
              },
            };
          },
          nodes,
          spreadOf(cfg),
        );
      } finally {
        if (redis) {
          const redisCpuEnd = await redisCpu().catch(() => redisCpuStart);
          const deleted = await deletePrefix(redis, prefix).catch(() => -1);
          await closeRedis(redis);
          // The whole run's Redis CPU: the harness does not count it as other processes' load.
          if (outcome)
            outcome.notes = {
              ...outcome.notes,
              redisCpuUs: redisCpuEnd - redisCpuStart,
              redisKeysDeleted: deleted,
            };
        }
      }
      return outcome;
    },
  };
  return scenario;
}

/** What the server process's `engineStatus` returns (a subset of `RedisEngineStatus`). */
type EngineStatus = { errors: number; reconnects: number } | null;

/**
 * Scenario 5: the broadcast of scenario 1 on `cfg.multinode.nodes` Holdfast nodes sharing one
 * Redis, against one node: the in-memory engine (`holdfast`, as in scenario 1; the limit the
 * ratios use) and the Redis engine (`holdfast-redis`). Interleaved like every scenario; the
 * multi-node setup runs first in each round because its capacity sets the open loop's rate (the
 * slowest of the three here: at half the fastest's, its latency would measure a growing queue).
 */
export function multinodeScenario(cfg: BenchConfig, skipped?: string): Scenario {
  const n = cfg.fanout.sizes[cfg.fanout.sizes.length - 1]!;
  const k = cfg.multinode.nodes;
  const count = n.toLocaleString('en-US');
  const cluster = `${k} nodes on Redis`;
  return fanoutScenario(n, {
    id: 'multinode',
    title: `Multi-node broadcast, ${k} Holdfast nodes on Redis vs 1 node, ${count} connections`,
    description:
      `The broadcast of scenario 1 (${count} connections, 150-byte messages, closed loop then open loop) on ` +
      `${k} Holdfast server processes sharing one Redis (\`@holdfast/redis\`, a key prefix per run): the load ` +
      `generator spreads its connections over the nodes (connection i on node i mod ${k}), node 0 publishes ` +
      '(pipelined: the closed-loop window and the due open-loop messages are sent without awaiting each ' +
      'append, as concurrent handlers would; in order), and each message travels through Redis pub/sub ' +
      'to every node, which writes it to its own sockets. ' +
      'Server CPU per delivery is summed over the nodes; Redis CPU per delivery is the whole `redis-server` ' +
      'process over the same span. Compared, interleaved, with one node on the in-memory engine (as in ' +
      'scenario 1; the ratios are to it) and one node on the Redis engine. ' +
      (cfg.multinode.spread
        ? 'The nodes are spread over the cores (node i on core i mod the cores, sharing them with the load ' +
          'generator) and Redis is not pinned. '
        : "Every node is pinned to the server's core and Redis is not pinned, so on this machine the ratios " +
          'show what distribution costs, not what more machines would gain. ') +
      'The open loop runs, for all three, at half the closed-loop ' +
      `capacity of the ${k} nodes (measured in this run's warm-up).`,
    targets: ['holdfast-cluster', 'holdfast', 'holdfast-redis'],
    rateFrom: 'holdfast-cluster',
    pipeline: true,
    limit: 'holdfast',
    peer: 'holdfast-redis',
    metrics: MULTINODE_METRICS,
    labels: {
      holdfast: 'Holdfast, 1 node',
      'holdfast-redis': 'Holdfast, 1 node on Redis',
      'holdfast-cluster': `Holdfast, ${cluster}`,
    },
    goals: [
      {
        text: `${cluster} vs 1 node: deliveries/s (ratio only, no target)`,
        subject: 'holdfast-cluster',
        metric: 'deliveriesPerSec',
        versus: 'holdfast',
        factor: 1,
        op: 'report',
      },
      {
        text: `${cluster} vs 1 node: server CPU per delivery, summed over the nodes (ratio only, no target)`,
        subject: 'holdfast-cluster',
        metric: 'cpuUsPerDelivery',
        versus: 'holdfast',
        factor: 1,
        op: 'report',
      },
    ],
    ...(skipped ? { skipped } : {}),
  });
}
