#!/usr/bin/env node
/**
 * Compare variants of targets in one scenario, interleaved, to measure a proposed change before
 * it is made (the findings in BENCHMARKS.md come from here). A variant is
 * `target[:ENV=VALUE[;ENV=VALUE]]`; the environment reaches the server and load-generator processes.
 *
 * @example
 * ```sh
 * node dist/experiment.js --scenario fanout-5000 --rounds 3 \
 *   --variant ws-frame --variant holdfast --variant 'holdfast:BENCH_HOLDFAST_ACK=50,200'
 * ```
 */
import { parseArgs } from 'node:util';
import { FULL, SMOKE } from './config.js';
import { buildScenarios } from './harness.js';
import { pinSelf } from './ipc.js';
import { foreignLoadMeter, waitForQuiet } from './quiet.js';
import { LOADGEN_CORE } from './scenarios/scenario.js';
import { median } from './stats.js';
import type { TargetName } from './types.js';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'fanout-5000' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    variant: { type: 'string', multiple: true, default: [] },
    smoke: { type: 'boolean', default: false },
    /** The memory scenario's connection count (default: the full run's). */
    'memory-connections': { type: 'string' },
    /** Notes of each run to print too, e.g. `--notes serverSysShare,loadgenBusy`. */
    notes: { type: 'string', default: '' },
  },
});

const base = values.smoke ? SMOKE : FULL;
const cfg = {
  ...base,
  multinode: { ...base.multinode, redisUrl: process.env.REDIS_URL ?? base.multinode.redisUrl },
  ...(values['memory-connections']
    ? { memory: { ...base.memory, connections: Number(values['memory-connections']) } }
    : {}),
};
const scenario = buildScenarios(cfg, { scenarios: [1, 2, 3, 4, 5] }).find((s) => s.id === values.scenario);
if (!scenario) throw new Error(`no scenario ${values.scenario}`);
const variants = values.variant.map((v) => {
  const [target, env = ''] = v.split(/:(.*)/s) as [TargetName, string?];
  const vars = Object.fromEntries(
    env
      .split(';')
      .filter(Boolean)
      .map((kv) => kv.split(/=(.*)/s) as [string, string]),
  );
  return { label: v, target, vars };
});
pinSelf(LOADGEN_CORE);

/** The notes that explain a run's figures (loss at the end, engine trouble), when present. */
function notesOf(notes: Record<string, unknown> | undefined): string {
  const keys = ['behindAtEnd', 'engineErrors', 'engineReconnects', 'serverBusy', 'loadgenBusy'];
  const shown = keys.filter((k) => typeof notes?.[k] === 'number');
  return shown.map((k) => ` ${k}=${Number((notes![k] as number).toFixed(2))}`).join('');
}

const results = new Map<string, Record<string, number>[]>();
const rounds = Number(values.warmup) + Number(values.rounds);
for (let round = 0; round < rounds; round++) {
  for (const v of variants) {
    if (cfg.mode === 'full') await waitForQuiet();
    const saved = { ...process.env };
    Object.assign(process.env, v.vars);
    const foreign = foreignLoadMeter();
    try {
      const out = await scenario.run(v.target, cfg);
      const busy = foreign(Number(out.notes?.redisCpuUs ?? 0)) ?? 0;
      const noteKeys = values.notes.split(',').filter(Boolean);
      const line = [
        ...scenario.metrics.map((m) => `${m.key}=${out.metrics[m.key]?.toFixed(m.digits)}`),
        ...noteKeys.map((k) => `${k}=${JSON.stringify(out.notes?.[k])}`),
      ].join(' ');
      console.log(
        `${round < Number(values.warmup) ? 'warm-up' : `round ${round}`} ${v.label}: ${line} lost=${out.delivery.lost} dup=${out.delivery.duplicates} others=${Math.round(busy * 100)}%${notesOf(out.notes)}`,
      );
      if (round >= Number(values.warmup))
        results.set(v.label, [...(results.get(v.label) ?? []), out.metrics]);
    } finally {
      for (const k of Object.keys(v.vars)) delete process.env[k];
      Object.assign(process.env, saved);
    }
  }
}

console.log(`\n| variant | ${scenario.metrics.map((m) => `${m.label} (${m.unit})`).join(' | ')} |`);
console.log(`| --- | ${scenario.metrics.map(() => '---:').join(' | ')} |`);
for (const v of variants) {
  const runs = results.get(v.label) ?? [];
  const cells = scenario.metrics.map((m) => {
    const xs = runs.map((r) => r[m.key]).filter((x): x is number => Number.isFinite(x));
    return xs.length
      ? `${median(xs).toFixed(m.digits)} (${Math.min(...xs).toFixed(m.digits)}–${Math.max(...xs).toFixed(m.digits)})`
      : '–';
  });
  console.log(`| \`${v.label}\` | ${cells.join(' | ')} |`);
}
