/**
 * The orchestrator: for each scenario, run every target in turn (A B C A B C ...), a warm-up
 * round first, then the measured rounds, each run in fresh server and load-generator processes;
 * then take medians, ranges and ratios, and check the goals.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchConfig } from './config.js';
import { canPin, pinSelf } from './ipc.js';
import { foreignLoadMeter, waitForQuiet } from './quiet.js';
import { redisServerVersion, redisUnreachable } from './redis.js';
import { appendsScenario } from './scenarios/appends.js';
import { echoScenario } from './scenarios/echo.js';
import { fanoutScenario, multinodeScenario } from './scenarios/fanout.js';
import { memoryScenario } from './scenarios/memory.js';
import type { Goal, MetricDef, RunOutcome, Scenario } from './scenarios/scenario.js';
import { LOADGEN_CORE } from './scenarios/scenario.js';
import { stormScenario } from './scenarios/storm.js';
import { median } from './stats.js';
import type { DeliveryCheck, TargetName } from './types.js';

/** One run of one target. */
export interface RunRecord {
  target: TargetName;
  round: number;
  warmup: boolean;
  ok: boolean;
  error?: string;
  metrics: Record<string, number>;
  delivery?: DeliveryCheck;
  lossless?: boolean;
  /** Extra figures; `foreignBusy`: share of the machine other processes took during the run. */
  notes?: { foreignBusy?: number; retries?: number } & Record<string, unknown>;
  seconds: number;
}

/** Median and range of one metric of one target. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  /** Median over the limit's median, and over the peer's. */
  vsLimit?: number;
  vsPeer?: number;
}

/** A goal with its verdict. */
export interface GoalResult extends Goal {
  /** The subject's median (Holdfast's, unless the goal names another subject). */
  holdfast: number;
  other: number;
  ratio: number;
  /** null for a ratio that is only reported (`op: 'report'`). */
  pass: boolean | null;
}

/** Aggregated results of a scenario. */
export interface ScenarioResult {
  id: string;
  title: string;
  description: string;
  limit: TargetName;
  peer: TargetName;
  metrics: MetricDef[];
  /** Target names of this scenario where they differ from the usual ones. */
  labels?: Partial<Record<TargetName, string>>;
  skipped?: string;
  targets: Partial<
    Record<TargetName, { figures: Record<string, Figure>; lost: number; duplicates: number; ok: boolean }>
  >;
  goals: GoalResult[];
  runs: RunRecord[];
}

/** Everything a run produced. */
export interface BenchResults {
  mode: BenchConfig['mode'];
  pinned: boolean;
  config: BenchConfig;
  startedAt: string;
  durationSec: number;
  ok: boolean;
  failures: string[];
  scenarios: ScenarioResult[];
  /** Version of the Redis server the multi-node scenario ran on (when it ran). */
  redisServer?: string;
}

/** Which scenarios to run. */
export interface Selection {
  /** Scenario numbers 1-6. @default [1, 2, 3, 4, 6], and 5 unless `cfg.multinode.enabled` is false */
  scenarios?: number[];
  /** Only these targets. */
  targets?: TargetName[];
}

/** The scenario numbers a selection runs. */
export function selectedScenarios(cfg: BenchConfig, sel: Selection = {}): number[] {
  return sel.scenarios ?? [1, 2, 3, 4, ...(cfg.multinode.enabled === false ? [] : [5]), 6];
}

/**
 * Why the multi-node scenario cannot run here (`@holdfast/redis` not built, Redis not answering
 * at `cfg.multinode.redisUrl`), or undefined when it can.
 */
export async function multinodeUnavailable(cfg: BenchConfig): Promise<string | undefined> {
  try {
    const url = import.meta.resolve('@holdfast/redis');
    if (!existsSync(fileURLToPath(url))) return '`@holdfast/redis` is not built (`pnpm build`)';
  } catch {
    return '`@holdfast/redis` cannot be resolved from @holdfast/bench (`pnpm install`)';
  }
  return redisUnreachable(cfg.multinode.redisUrl);
}

/**
 * The scenarios of a configuration. `multinodeSkipped`: why scenario 5 cannot run (see
 * {@link multinodeUnavailable}); it is then listed as skipped.
 */
export function buildScenarios(cfg: BenchConfig, sel: Selection = {}, multinodeSkipped?: string): Scenario[] {
  const want = new Set(selectedScenarios(cfg, sel));
  const out: Scenario[] = [];
  if (want.has(1)) for (const n of cfg.fanout.sizes) out.push(fanoutScenario(n));
  if (want.has(2)) out.push(echoScenario(cfg.echo.connections));
  if (want.has(3)) out.push(memoryScenario(cfg.memory.connections, cfg.memory.rooms));
  if (want.has(4)) out.push(stormScenario(cfg));
  if (want.has(5)) out.push(multinodeScenario(cfg, multinodeSkipped));
  if (want.has(6)) out.push(appendsScenario(cfg));
  if (sel.targets) {
    for (const s of out) s.targets = s.targets.filter((t) => sel.targets!.includes(t));
  }
  return out;
}

function evaluate(scenario: Scenario, runs: RunRecord[]): ScenarioResult {
  const result: ScenarioResult = {
    id: scenario.id,
    title: scenario.title,
    description: scenario.description,
    limit: scenario.limit,
    peer: scenario.peer,
    metrics: scenario.metrics,
    targets: {},
    goals: [],
    runs,
  };
  if (scenario.skipped) result.skipped = scenario.skipped;
  if (scenario.labels) result.labels = scenario.labels;
  for (const target of scenario.targets) {
    const measured = runs.filter((r) => r.target === target && !r.warmup);
    const good = measured.filter((r) => r.ok);
    const figures: Record<string, Figure> = {};
    for (const m of scenario.metrics) {
      const values = good.map((r) => r.metrics[m.key]).filter((v): v is number => Number.isFinite(v));
      if (values.length === 0) continue;
      figures[m.key] = { median: median(values), min: Math.min(...values), max: Math.max(...values) };
    }
    result.targets[target] = {
      figures,
      lost: measured.reduce((a, r) => a + (r.delivery?.lost ?? 0), 0),
      duplicates: measured.reduce((a, r) => a + (r.delivery?.duplicates ?? 0), 0),
      ok: measured.length > 0 && measured.every((r) => r.ok),
    };
  }
  for (const t of Object.values(result.targets)) {
    for (const [key, f] of Object.entries(t.figures)) {
      const limit = result.targets[scenario.limit]?.figures[key]?.median;
      const peer = result.targets[scenario.peer]?.figures[key]?.median;
      if (limit) f.vsLimit = f.median / limit;
      if (peer) f.vsPeer = f.median / peer;
    }
  }
  for (const g of scenario.goals) {
    const holdfast = result.targets[g.subject ?? 'holdfast']?.figures[g.metric]?.median;
    const other = result.targets[g.versus]?.figures[g.metric]?.median;
    if (holdfast === undefined || other === undefined) continue;
    const bound = g.factor * other;
    const pass =
      g.op === 'report'
        ? null
        : g.op === 'atLeast'
          ? holdfast >= bound
          : g.op === 'atMost'
            ? holdfast <= bound
            : holdfast > bound;
    result.goals.push({ ...g, holdfast, other, ratio: holdfast / other, pass });
  }
  return result;
}

/** Share of the machine (all cores) other processes may take during a run before it is retried. */
const FOREIGN_LIMIT = 0.15;
/** Retries of one run, and of a whole scenario (so a busy machine cannot stretch a run forever). */
const MAX_RETRIES = 3;
const MAX_RETRIES_PER_SCENARIO = 16;

async function runOnce(
  scenario: Scenario,
  target: TargetName,
  round: number,
  warmup: boolean,
  cfg: BenchConfig,
): Promise<RunRecord> {
  if (cfg.mode === 'full') await waitForQuiet();
  const foreign = foreignLoadMeter();
  const started = Date.now();
  let record: RunRecord;
  try {
    const out: RunOutcome = await scenario.run(target, cfg);
    const d = out.delivery;
    const problems: string[] = [];
    if (d.duplicates > 0) problems.push(`${d.duplicates} duplicates`);
    if (out.lossless && d.lost > 0) problems.push(`${d.lost} deliveries lost`);
    const closes = (out.notes?.unexpectedCloses as number | undefined) ?? 0;
    if (closes > 0) problems.push(`${closes} unexpected closes ${JSON.stringify(out.notes?.closeCodes)}`);
    record = {
      target,
      round,
      warmup,
      ok: problems.length === 0,
      ...(problems.length ? { error: problems.join(', ') } : {}),
      metrics: out.metrics,
      delivery: d,
      lossless: out.lossless,
      notes: { ...out.notes },
      seconds: (Date.now() - started) / 1000,
    };
  } catch (err) {
    record = {
      target,
      round,
      warmup,
      ok: false,
      error: (err as Error).message.split('\n')[0]!,
      metrics: {},
      notes: {},
      seconds: (Date.now() - started) / 1000,
    };
  }
  // Redis (multi-node scenario) is not this process's child, but its work during the run is the run's.
  const busy = foreign(Number(record.notes?.redisCpuUs ?? 0));
  if (busy !== undefined) record.notes = { ...record.notes, foreignBusy: busy };
  return record;
}

/** Run the selected scenarios. `log` gets one line per run. */
export async function runBench(
  cfg: BenchConfig,
  sel: Selection = {},
  log: (line: string) => void = console.log,
): Promise<BenchResults> {
  const t0 = Date.now();
  // The orchestrator shares the load generator's core, leaving the server's core to the server.
  const pinned = canPin() && pinSelf(LOADGEN_CORE);
  const failures: string[] = [];
  const scenarios: ScenarioResult[] = [];
  // Scenario 5 needs @holdfast/redis and a Redis: without them it is skipped, and a failure only
  // when it was asked for (`--multinode`, `--scenarios 5`), not when it was merely included by default.
  const multinodeSkipped = selectedScenarios(cfg, sel).includes(5)
    ? await multinodeUnavailable(cfg)
    : undefined;
  if (multinodeSkipped && (cfg.multinode.enabled === true || sel.scenarios?.includes(5)))
    failures.push(`multinode: skipped: ${multinodeSkipped}`);
  for (const scenario of buildScenarios(cfg, sel, multinodeSkipped)) {
    const runs: RunRecord[] = [];
    if (scenario.skipped) {
      log(`# ${scenario.title}: skipped (${scenario.skipped})`);
      scenarios.push(evaluate(scenario, runs));
      continue;
    }
    log(`# ${scenario.title}`);
    const rounds = cfg.warmup + cfg.reps;
    let budget = MAX_RETRIES_PER_SCENARIO;
    for (let round = 0; round < rounds; round++) {
      for (const target of scenario.targets) {
        const warmup = round < cfg.warmup;
        let record = await runOnce(scenario, target, round, warmup, cfg);
        // Other processes on a shared machine skew a run: measure what they took and retry
        // (a failed run too, once: a crash of a busy machine's process is not the target's fault).
        for (
          let retry = 1;
          cfg.mode === 'full' &&
          retry <= MAX_RETRIES &&
          budget > 0 &&
          ((record.notes?.foreignBusy ?? 0) > FOREIGN_LIMIT || (!record.ok && retry === 1));
          retry++
        ) {
          budget -= 1;
          log(
            record.ok
              ? `  ${target}: other processes used ${Math.round(record.notes!.foreignBusy! * availableParallelism() * 100)}% of a core during the run; again`
              : `  ${target}: failed (${record.error}); again`,
          );
          record = await runOnce(scenario, target, round, warmup, cfg);
          record.notes = { ...record.notes, retries: retry };
        }
        runs.push(record);
        if (!record.ok) failures.push(`${scenario.id}/${target}/round ${round}: ${record.error}`);
        const figures = scenario.metrics
          .map((m) => `${m.key}=${record.metrics[m.key]?.toFixed(m.digits) ?? '-'}`)
          .join(' ');
        const foreign = record.notes?.foreignBusy;
        log(
          `  ${warmup ? 'warm-up' : `round ${round - cfg.warmup + 1}`} ${target.padEnd(8)} ${figures}` +
            ` lost=${record.delivery?.lost ?? '-'} dup=${record.delivery?.duplicates ?? '-'}` +
            (foreign !== undefined && foreign > 0.05
              ? ` [others: ${Math.round(foreign * 100)}% of the machine]`
              : '') +
            ` (${record.seconds.toFixed(1)} s)${record.ok ? '' : ` FAILED: ${record.error}`}`,
        );
      }
    }
    scenarios.push(evaluate(scenario, runs));
  }
  const multinodeRan = scenarios.some((s) => s.id === 'multinode' && !s.skipped);
  const redisServer = multinodeRan ? await redisServerVersion(cfg.multinode.redisUrl) : undefined;
  return {
    mode: cfg.mode,
    pinned,
    config: cfg,
    startedAt: new Date(t0).toISOString(),
    durationSec: (Date.now() - t0) / 1000,
    ok: failures.length === 0,
    failures,
    scenarios,
    ...(redisServer ? { redisServer } : {}),
  };
}
