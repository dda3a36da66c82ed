import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SCALE } from './scale.js';

const dir = fileURLToPath(new URL('../../test-results/figures/', import.meta.url));

/**
 * Record the figures of one scenario: printed, and written to
 * `apps/chaos/test-results/figures/<name>.json` (ignored by git) for docs/RELIABILITY.md.
 */
export function record(name: string, figures: Record<string, unknown>): void {
  const body = { scenario: name, scale: SCALE, at: new Date().toISOString(), ...figures };
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(body, null, 2)}\n`);
  console.log(`[chaos] ${name} ${JSON.stringify(figures)}`);
}

/** Percentiles of a list of numbers (nearest rank), rounded to 0.1. */
export function summary(values: readonly number[]): {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
} {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    if (s.length === 0) return 0;
    const v = s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
    return Math.round(v * 10) / 10;
  };
  return { n: s.length, min: at(0), p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}
