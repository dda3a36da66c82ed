import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, release, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';

/** The machine and software a run measured. */
export interface MachineInfo {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  versions: Record<string, string>;
  commit: string | undefined;
}

const require = createRequire(import.meta.url);

function versionOf(pkg: string): string {
  try {
    // Resolve the entry, then walk up to the package.json of that package.
    let dir = dirname(require.resolve(pkg));
    for (let i = 0; i < 5; i++) {
      try {
        const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (json.name === pkg && json.version) return json.version;
      } catch {
        // no package.json at this level: keep walking up
      }
      dir = dirname(dir);
    }
  } catch {
    return 'not installed';
  }
  return 'unknown';
}

/** Describe this machine (CPU, cores, memory, OS, Node, package versions, git commit). */
export function machineInfo(): MachineInfo {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${type()} ${release()}`,
    node: process.version,
    versions: Object.fromEntries(
      [
        'ws',
        '@trufflesuite/uws-js-unofficial',
        'socket.io',
        '@holdfast/server',
        '@holdfast/protocol',
        'zod',
        '@holdfast/redis',
        'redis',
      ].map((p) => [p, versionOf(p)]),
    ),
    commit: git.status === 0 ? git.stdout.trim() : undefined,
  };
}
