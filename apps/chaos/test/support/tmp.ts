import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defer } from './fixture.js';

/** A fresh temporary directory, removed after the test. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-chaos-'));
  defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
