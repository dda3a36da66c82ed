#!/usr/bin/env node
// `pnpm --filter @holdfast/size size`: run every check of .size-limit.mjs through size-limit's
// API (esbuild plugin), min and min+gzip, and print a table; exits with 1 when a budget is
// exceeded. With `--readme`, also writes the table into packages/client/README.md (between the
// `size:start`/`size:end` markers). The size test imports `measure` from here.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import esbuildPlugin from '@size-limit/esbuild';
import filePlugin from '@size-limit/file';
import sizeLimit from 'size-limit';
import checks from './.size-limit.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** Bytes of a size-limit `limit` ("15 kB": 1000-byte kB, as size-limit reads it; "KiB": 1024). */
export function parseLimit(limit) {
  const m = /^\s*([\d.]+)\s*(B|kB|KB|KiB)\s*$/.exec(limit);
  if (!m) throw new Error(`Unsupported limit "${limit}": use B, kB or KiB`);
  return Number(m[1]) * { B: 1, kB: 1000, KB: 1000, KiB: 1024 }[m[2]];
}

/**
 * Measure checks (default: all of .size-limit.mjs) with size-limit and its esbuild plugin.
 * @returns one row per check: name, minified bytes, min+gzip bytes, and the budget if any
 */
export async function measure(selected = checks) {
  const run = (compression) =>
    sizeLimit([filePlugin, esbuildPlugin], {
      cwd: here,
      checks: selected.map(({ limit, path, ...check }) => ({
        ...check,
        ...compression,
        files: [join(here, path)],
      })),
    });
  const [gzip, min] = await Promise.all([run({ gzip: true }), run({ gzip: false, brotli: false })]);
  return selected.map((check, i) => ({
    name: check.name,
    min: min[i].size,
    gzip: gzip[i].size,
    limit: check.limit === undefined ? undefined : parseLimit(check.limit),
  }));
}

const kB = (n) => `${(n / 1000).toFixed(1)} kB`;
/** A budget as written (16.45 kB, not rounded to 16.4). */
const budget = (n) => `${n / 1000} kB`;

/** A Markdown table of measured rows. */
export function table(rows) {
  const lines = ['| bundle | min | min+gzip | budget |', '| --- | --: | --: | --: |'];
  for (const r of rows) {
    lines.push(`| ${r.name} | ${kB(r.min)} | **${kB(r.gzip)}** | ${r.limit ? budget(r.limit) : ''} |`);
  }
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = await measure();
  console.log(table(rows));
  const over = rows.filter((r) => r.limit !== undefined && r.gzip > r.limit);
  for (const r of over) console.error(`over budget: ${r.name} is ${kB(r.gzip)}, budget ${budget(r.limit)}`);
  if (process.argv.includes('--readme')) {
    const readme = join(here, '../../packages/client/README.md');
    const text = readFileSync(readme, 'utf8');
    const updated = text.replace(
      /(<!-- size:start -->)[\s\S]*?(<!-- size:end -->)/,
      (_, start, end) => `${start}\n${table(rows)}\n${end}`,
    );
    if (!text.includes('<!-- size:start -->')) throw new Error('README has no size markers');
    writeFileSync(readme, updated);
  }
  if (over.length) process.exitCode = 1;
}
