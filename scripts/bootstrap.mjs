// Make a fresh machine able to build, run and test Holdfast: pnpm, the workspace's
// dependencies, and (for tests) Chromium and a Redis server. Used by `npm start` and
// `npm test`; .ci/run does the same before calling `npm test`, so there it is a no-op.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..');
const PNPM = 'pnpm@10.34.9';

const ok = (cmd, args) => spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Run a command in the repo, inheriting output; returns its exit status. */
export function run(cmd, args, env = {}) {
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;
}

/** The pnpm command to use: the installed one, else install it globally, else through npx. */
export function pnpm() {
  if (ok('pnpm', ['--version'])) return ['pnpm'];
  console.log(`bootstrap: installing ${PNPM}`);
  if (ok('npm', ['install', '-g', PNPM]) && ok('pnpm', ['--version'])) return ['pnpm'];
  return ['npx', '--yes', PNPM];
}

/** Install the workspace's dependencies when node_modules is missing (frozen lockfile). */
export function ensureDependencies() {
  const p = pnpm();
  if (!existsSync(join(root, 'node_modules', '.modules.yaml'))) {
    const status = run(p[0], [...p.slice(1), 'install', '--frozen-lockfile']);
    if (status !== 0) process.exit(status);
  }
  return p;
}

/** Chromium and redis-server for the test suite, from Debian when running as root. */
export function ensureTestSystem() {
  const missing = [];
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (!ok('redis-server', ['--version'])) missing.push('redis-server');
  if (missing.length === 0) return;
  if (isRoot() && ok('apt-get', ['--version'])) {
    console.log(`bootstrap: apt-get install ${missing.join(' ')}`);
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore' });
    spawnSync('apt-get', ['install', '-y', '-qq', ...missing], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } else {
    console.log(
      `bootstrap: not found: ${missing.join(', ')}. Install them (Chromium: or run \`pnpm exec playwright install chromium\`; Redis: or set REDIS_URL).`,
    );
  }
}
