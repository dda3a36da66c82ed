/**
 * The harness in smoke mode (tiny sizes, one round) for every target of scenarios 1–6, so it
 * never rots (scenario 6: a 400-token answer to 20 viewers, as appends and as plain messages, every
 * viewer's final text equal to the text sent). Speed is reported, never asserted: only delivery and the shape of the results are.
 * Scenario 5 (three Holdfast nodes on Redis) runs when Redis answers at `REDIS_URL` (default
 * `redis://127.0.0.1:6379`, as on the dev machine and in CI; about 6 s more), and must be reported
 * as skipped when it does not.
 *
 * The server and load-generator processes are plain Node processes: they run this package's
 * compiled harness (built here with `tsc`) and the built `@holdfast/*` packages (`pnpm build`,
 * which the root `pnpm test` runs first).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SMOKE } from '../src/config.js';
import type { BenchResults } from '../src/harness.js';
import { redisUnreachable } from '../src/redis.js';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

const EXPECTED: Record<string, string[]> = {
  'fanout-20': ['ws-cork', 'uws', 'ws-frame', 'ws', 'socketio', 'holdfast'],
  echo: ['ws', 'uws', 'socketio', 'holdfast'],
  memory: ['ws', 'uws', 'socketio', 'holdfast'],
  storm: ['ws', 'socketio', 'holdfast'],
  multinode: ['holdfast-cluster', 'holdfast', 'holdfast-redis'],
  appends: ['holdfast', 'holdfast-plain'],
};

describe('pnpm bench:smoke', () => {
  let out = '';
  let stdout = '';
  let status: number | null = null;
  let results: BenchResults;
  /** Why Redis is not usable here, or undefined when scenario 5 must run. */
  let noRedis: string | undefined;

  beforeAll(async () => {
    noRedis = await redisUnreachable(process.env.REDIS_URL ?? SMOKE.multinode.redisUrl);
    for (const dep of ['protocol', 'server', 'redis']) {
      if (!existsSync(join(pkg, '..', '..', 'packages', dep, 'dist', 'index.js'))) {
        throw new Error(`@holdfast/${dep} is not built: run \`pnpm build\` first`);
      }
    }
    const tsc = spawnSync(
      process.execPath,
      [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      {
        cwd: pkg,
        encoding: 'utf8',
      },
    );
    if (tsc.status !== 0) throw new Error(`tsc failed:\n${tsc.stdout}${tsc.stderr}`);
    out = mkdtempSync(join(tmpdir(), 'holdfast-bench-'));
    const run = spawnSync(process.execPath, [join(pkg, 'dist', 'cli.js'), '--smoke', '--out', out], {
      cwd: pkg,
      encoding: 'utf8',
      timeout: 240_000,
    });
    status = run.status;
    stdout = `${run.stdout}${run.stderr}`;
    results = JSON.parse(readFileSync(join(out, 'results', 'latest.json'), 'utf8')) as BenchResults;
  });

  afterAll(() => {
    if (out) rmSync(out, { recursive: true, force: true });
  });

  it('runs every target of scenarios 1-6 and exits 0', () => {
    expect(status, stdout).toBe(0);
    expect(results.mode).toBe('smoke');
    expect(results.scenarios.map((s) => s.id)).toEqual(Object.keys(EXPECTED));
    for (const s of results.scenarios) {
      if (s.id === 'multinode' && noRedis) continue;
      expect(s.skipped, s.id).toBeUndefined();
      expect(s.runs.map((r) => r.target).sort(), s.id).toEqual([...EXPECTED[s.id]!].sort());
    }
  });

  it('runs scenario 5 when Redis answers, and says why not when it does not', () => {
    const s = results.scenarios.find((x) => x.id === 'multinode')!;
    if (noRedis) {
      expect(s.skipped).toContain('not reachable');
      expect(s.runs).toEqual([]);
      return;
    }
    const cluster = s.runs.find((r) => r.target === 'holdfast-cluster')!;
    expect(cluster.notes?.nodes).toBe(3);
    expect(cluster.notes?.engineErrors).toBe(0);
    // Every key of a run is deleted after it (a prefix per run).
    expect(cluster.notes?.redisKeysDeleted).toBeGreaterThan(0);
    expect(s.goals.map((g) => [g.subject, g.versus, g.pass])).toEqual([
      ['holdfast-cluster', 'holdfast', null],
      ['holdfast-cluster', 'holdfast', null],
    ]);
  });

  it('loses and duplicates nothing', () => {
    expect(results.failures, stdout).toEqual([]);
    for (const s of results.scenarios) {
      for (const r of s.runs) {
        const where = `${s.id}/${r.target}`;
        expect(r.ok, `${where}: ${r.error}`).toBe(true);
        expect(r.delivery?.duplicates, where).toBe(0);
        expect(r.delivery?.messages, where).toBeGreaterThan(0);
        // `ws` in the storm reconnects without resume: its loss is measured, not a failure.
        if (s.id === 'storm' && r.target === 'ws') expect(r.lossless).toBe(false);
        else expect(r.delivery?.lost, where).toBe(0);
      }
    }
  });

  it('produces well-formed figures, ratios and goals', () => {
    for (const s of results.scenarios) {
      if (s.skipped) continue;
      for (const target of EXPECTED[s.id]!) {
        const t = s.targets[target as keyof typeof s.targets]!;
        expect(t.ok, `${s.id}/${target}`).toBe(true);
        for (const m of s.metrics) {
          // One node on the in-memory engine has no Redis.
          if (m.key === 'redisCpuUsPerDelivery' && target === 'holdfast') continue;
          const f = t.figures[m.key]!;
          expect(f, `${s.id}/${target}/${m.key}`).toBeDefined();
          expect(Number.isFinite(f.median)).toBe(true);
          expect(f.min).toBeLessThanOrEqual(f.median);
          expect(f.median).toBeLessThanOrEqual(f.max);
          if (target === s.limit) expect(f.vsLimit).toBeCloseTo(1);
          if (target === s.peer) expect(f.vsPeer).toBeCloseTo(1);
        }
      }
      expect(s.goals.length, s.id).toBeGreaterThan(0);
      for (const g of s.goals) {
        if (g.op === 'report') expect(g.pass).toBeNull();
        else expect(typeof g.pass).toBe('boolean');
        expect(g.ratio).toBeCloseTo(g.holdfast / g.other);
      }
    }
    // The fan-out's limit is corked ws; uWebSockets.js is reported against it.
    const fanout = results.scenarios[0]!;
    expect(fanout.limit).toBe('ws-cork');
    expect(fanout.goals.find((g) => g.subject === 'uws')?.versus).toBe('ws-cork');
    for (const target of EXPECTED['fanout-20']!) {
      const f = fanout.targets[target as keyof typeof fanout.targets]!.figures;
      expect(f.deliveriesPerSec!.median).toBeGreaterThan(0);
      expect(f.cpuUsPerDelivery!.median).toBeGreaterThan(0);
    }
  });

  it('scenario 6: every viewer ends with the text sent; the dropped ones resumed, the late ones caught up', () => {
    const s = results.scenarios.find((x) => x.id === 'appends')!;
    for (const r of s.runs) {
      const where = `appends/${r.target}`;
      expect(r.ok, `${where}: ${r.error}`).toBe(true);
      expect(r.delivery, where).toMatchObject({ lost: 0, duplicates: 0 });
      expect(r.notes?.viewers, where).toBe(SMOKE.appends.viewers);
      expect(r.notes?.dropped, where).toBe(SMOKE.appends.reconnect);
      expect(r.notes?.resumes, where).toBe(SMOKE.appends.reconnect);
      expect(r.notes?.failedResumes, where).toBe(0);
      expect(r.metrics.catchupBytes, where).toBeGreaterThan(0);
      expect(r.metrics.resumeBytes, where).toBeGreaterThan(0);
    }
    expect(s.runs.find((r) => r.target === 'holdfast')?.notes?.mode).toBe('appends');
    expect(s.runs.find((r) => r.target === 'holdfast-plain')?.notes?.mode).toBe('plain');
  });

  it('writes BENCHMARKS.md with the tables and the chart', () => {
    const md = readFileSync(join(out, 'BENCHMARKS.md'), 'utf8');
    expect(md).toContain('<!-- results:start');
    expect(md).toContain('<!-- results:end -->');
    expect(md).toContain('![chart](results/chart.svg)');
    expect(md).toMatch(/\| Holdfast \| \*\*/);
    const svg = readFileSync(join(out, 'results', 'chart.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Holdfast');
  });
});
