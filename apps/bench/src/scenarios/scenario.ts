import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchConfig } from '../config.js';
import { ChildRpc } from '../ipc.js';
import type { DeliveryCheck, ServerStart, TargetName } from '../types.js';

/** How a metric is shown and compared. */
export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Decimals when printed. */
  digits: number;
}

/** A goal of the issue, checked on medians. */
export interface Goal {
  text: string;
  metric: string;
  /** The target whose median is judged. @default 'holdfast' */
  subject?: TargetName;
  /** Compare the subject's median to `factor` × this target's median. */
  versus: TargetName;
  factor: number;
  /**
   * `atLeast`: subject >= factor × versus; `atMost`: subject <= factor × versus; `above`: strictly
   * greater; `report`: no target, the ratio is only reported.
   */
  op: 'atLeast' | 'atMost' | 'above' | 'report';
}

/** What one run of one target produced. */
export interface RunOutcome {
  metrics: Record<string, number>;
  delivery: DeliveryCheck;
  /** Whether loss is a failure for this target here (false for ws's reconnect-only storm). */
  lossless: boolean;
  notes?: Record<string, unknown>;
}

/** A scenario: a set of targets run in turn, each run in fresh processes. */
export interface Scenario {
  id: string;
  title: string;
  /** What is measured, in one paragraph for BENCHMARKS.md. */
  description: string;
  targets: TargetName[];
  /** The target ratios are taken against as "the limit". */
  limit: TargetName;
  peer: TargetName;
  metrics: MetricDef[];
  goals: Goal[];
  /** How this scenario names its targets, where the usual names would not say enough. */
  labels?: Partial<Record<TargetName, string>>;
  run(target: TargetName, cfg: BenchConfig): Promise<RunOutcome>;
  /** Set when the scenario cannot run here (e.g. a package is not built). */
  skipped?: string;
}

const dist = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

/** Cores: the server gets core 0, the load generator (and this orchestrator) core 1. */
export const SERVER_CORE = 0;
export const LOADGEN_CORE = 1;

/** Processes of one run. */
export interface Processes {
  servers: ChildRpc[];
  urls: string[];
  loadgen: ChildRpc;
}

/**
 * Start `nodes` server processes of `target` and one load generator, run `fn`, and stop
 * everything (server first, so lingering TIME_WAIT sockets stay on its own old port). Every
 * server is pinned to the server's core, or with `spread` node _i_ to core _i_ mod the cores.
 */
export async function withProcesses<T>(
  target: TargetName,
  start: Omit<ServerStart, 'target'>,
  fn: (p: Processes) => Promise<T>,
  nodes = 1,
  spread = false,
): Promise<T> {
  const cores = availableParallelism();
  const servers: ChildRpc[] = [];
  let loadgen: ChildRpc | undefined;
  try {
    for (let i = 0; i < nodes; i++) {
      servers.push(
        await ChildRpc.spawn(dist('server/main.js'), {
          name: `server(${target})`,
          core: spread ? (SERVER_CORE + i) % cores : SERVER_CORE,
          // BENCH_SERVER_NODE_ARGS: extra flags for profiling, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
          nodeArgs: [
            '--expose-gc',
            ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
          ],
        }),
      );
    }
    const urls: string[] = [];
    for (const s of servers) urls.push((await s.call<{ url: string }>('start', { target, ...start })).url);
    // BENCH_LOADGEN_NODE_ARGS: the same for the load generator (its profile covers its whole life).
    loadgen = await ChildRpc.spawn(dist('loadgen/main.js'), {
      name: 'loadgen',
      core: LOADGEN_CORE,
      nodeArgs: process.env.BENCH_LOADGEN_NODE_ARGS?.split(' ').filter(Boolean) ?? [],
    });
    return await fn({ servers, urls, loadgen });
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await loadgen?.stop();
  }
}

/** Sleep. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
