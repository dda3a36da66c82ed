#!/usr/bin/env node
/**
 * `pnpm bench` / `pnpm bench:smoke`.
 *
 * Options: `--smoke` (tiny sizes, one round), `--out DIR` (where BENCHMARKS.md and results/ go;
 * default: this package), `--scenarios 1,2` (subset), `--targets holdfast,ws` (subset),
 * `--reps N`, `--warmup N`, `--no-report` (print only).
 *
 * Scenario 5 (multi-node, Redis at `REDIS_URL`, default `redis://127.0.0.1:6379`) runs by default
 * when Redis answers there and is reported as skipped when it does not; `--multinode` requires it
 * (a skip then fails the run), `--no-multinode` leaves it out, `--multinode-spread` spreads its
 * nodes over the cores instead of pinning them all to the server's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchConfig, FULL, SMOKE } from './config.js';
import { runBench } from './harness.js';
import { renderChart } from './report/chart.js';
import { machineInfo } from './report/machine.js';
import { mergeInto, renderResults } from './report/markdown.js';
import { template } from './report/template.js';
import { ALL_TARGETS, type TargetName } from './types.js';

const { values } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    out: { type: 'string' },
    scenarios: { type: 'string' },
    targets: { type: 'string' },
    reps: { type: 'string' },
    warmup: { type: 'string' },
    multinode: { type: 'boolean', default: false },
    'no-multinode': { type: 'boolean', default: false },
    'multinode-spread': { type: 'boolean', default: false },
    'no-report': { type: 'boolean', default: false },
  },
});

const base = values.smoke ? SMOKE : FULL;
const cfg: BenchConfig = {
  ...base,
  ...(values.reps ? { reps: Number(values.reps) } : {}),
  ...(values.warmup ? { warmup: Number(values.warmup) } : {}),
  multinode: {
    ...base.multinode,
    enabled: values.multinode ? true : values['no-multinode'] ? false : base.multinode.enabled,
    redisUrl: process.env.REDIS_URL ?? base.multinode.redisUrl,
    spread: values['multinode-spread'],
  },
};
const scenarios = values.scenarios?.split(',').map(Number);
const targets = values.targets
  ?.split(',')
  .filter((t): t is TargetName => ALL_TARGETS.includes(t as TargetName));

const results = await runBench(cfg, { ...(scenarios ? { scenarios } : {}), ...(targets ? { targets } : {}) });
const machine = machineInfo();

if (!values['no-report']) {
  const out = values.out ?? fileURLToPath(new URL('..', import.meta.url));
  mkdirSync(join(out, 'results'), { recursive: true });
  writeFileSync(join(out, 'results', 'latest.json'), `${JSON.stringify({ machine, ...results }, null, 2)}\n`);
  const subtitle = `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${results.startedAt.slice(0, 10)}, ${results.mode} mode`;
  writeFileSync(join(out, 'results', 'chart.svg'), renderChart(results, subtitle));
  const md = join(out, 'BENCHMARKS.md');
  let existing: string | undefined;
  try {
    existing = readFileSync(md, 'utf8');
  } catch {
    existing = undefined;
  }
  writeFileSync(md, mergeInto(existing, renderResults(results, machine, 'results/chart.svg'), template));
  console.log(`wrote ${md}, results/latest.json and results/chart.svg`);
}
console.log(
  results.ok
    ? `bench: all runs delivered every message exactly once (${Math.round(results.durationSec)} s)`
    : `bench: ${results.failures.length} failed runs:\n  ${results.failures.join('\n  ')}`,
);
process.exit(results.ok ? 0 : 1);
