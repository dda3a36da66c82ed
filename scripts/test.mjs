#!/usr/bin/env node
// `npm test` / `pnpm test`: bootstrap, build, run every vitest project, then the Playwright
// suite, and end with one plain summary line ("tests: N passed, N failed") that CI reads.
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDependencies, ensureTestSystem, root, run } from './bootstrap.mjs';

const pnpm = ensureDependencies();
ensureTestSystem();
const px = (...args) => {
  const env = typeof args.at(-1) === 'object' ? args.pop() : {};
  return run(pnpm[0], [...pnpm.slice(1), ...args], env);
};

const out = join(root, 'test-results');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

let passed = 0;
let failed = 0;
let skipped = 0;
let status = px('build');
if (status !== 0) {
  console.log('tests: 0 passed, 1 failed');
  process.exit(1);
}

const vitestJson = join(out, 'vitest.json');
status |= px(
  'exec',
  'vitest',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${vitestJson}`,
);
if (existsSync(vitestJson)) {
  const r = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += r.numPendingTests + r.numTodoTests;
  if (r.numFailedTestSuites > 0 && r.numFailedTests === 0) failed += r.numFailedTestSuites;
} else failed += 1;

if (existsSync(join(root, 'e2e', 'playwright.config.ts'))) {
  const pwJson = join(out, 'playwright.json');
  status |= px('--filter', '@holdfast/e2e', 'test', { PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson });
  if (existsSync(pwJson)) {
    const s = JSON.parse(readFileSync(pwJson, 'utf8')).stats;
    passed += s.expected + s.flaky;
    failed += s.unexpected;
    skipped += s.skipped;
  } else failed += 1;
}

if (status !== 0 && failed === 0) failed = 1;
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(status === 0 && failed === 0 ? 0 : 1);
