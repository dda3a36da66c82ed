// The packages as a team gets them: pack every publishable package with `pnpm pack` (as the
// release does), `npm install` the tarballs into a fresh project (strict TypeScript, NodeNext,
// no DOM lib), type-check and run a small app against them, check which modules a cold
// `import('@holdfast/server')` loads, compile every TypeScript snippet of the READMEs, and repeat
// the type-check and the run with the lowest zod the packages accept.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packAll, publishable } from '../../../scripts/release.mjs';
import { extractSnippets, PLACEHOLDERS } from './readme-snippets.js';

const root = join(import.meta.dirname, '..', '..', '..');
// Below 4.5.0 the emitted .d.ts fails to type-check: zod/mini exports ZodMiniInt from 4.5.0 on.
const LOWEST_ZOD = '4.5.0';

/** The version pinned in the workspace catalog, so the npm cache serves repeats. */
function catalog(name: string): string {
  const yaml = readFileSync(join(root, 'pnpm-workspace.yaml'), 'utf8');
  const line = yaml.split('\n').find((l) => l.trim().replace(/"/g, '').startsWith(`${name}:`));
  if (!line) throw new Error(`${name} is not in the catalog`);
  return line.split(':').slice(1).join(':').trim();
}

const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let dir = '';
let app = '';
type Packed = { name: string; version: string; tarball: string };
let packed: Packed[] = [];
let snippets: { file: string; code: string }[] = [];

function sh(cmd: string, args: string[], cwd = app): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}${e.message}`);
  }
}
const npmInstall = (...args: string[]) =>
  sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...args]);
const typecheck = (project: string) => sh('node', [tsc, '-p', project]);
const loadedBy = (specifier: string): string[] => JSON.parse(sh('node', ['loads.mjs', specifier]));

beforeAll(() => {
  execFileSync('pnpm', ['build'], { cwd: root, stdio: 'ignore' });
  dir = mkdtempSync(join(tmpdir(), 'holdfast-consumer-'));
  packed = packAll(join(dir, 'tarballs'));
  app = join(dir, 'app');
  cpSync(join(import.meta.dirname, '..', 'app'), app, { recursive: true });
  const dependencies: Record<string, string> = Object.fromEntries(
    packed.map((p) => [p.name, `file:${p.tarball}`]),
  );
  for (const name of [
    'zod',
    'react',
    '@types/react',
    'express',
    'fastify',
    'jose',
    'prom-client',
    'ws',
    '@types/express',
    '@types/node',
  ])
    dependencies[name] = catalog(name);
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'consumer-app', private: true, type: 'module', dependencies }, null, 2),
  );
  // Every ```ts block of the READMEs, as modules of the app (type-checked with it).
  const readme = join(app, 'readme');
  mkdirSync(readme, { recursive: true });
  writeFileSync(join(readme, 'placeholders.d.ts'), PLACEHOLDERS);
  writeFileSync(join(readme, 'protocol.ts'), "export { chat } from '../src/protocol.js';\n");
  snippets = extractSnippets(root);
  for (const s of snippets) writeFileSync(join(readme, s.file), s.code);
  npmInstall();
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the published packages, installed with npm into a fresh project', () => {
  it('packs every publishable package with a LICENSE, real version ranges and no workspace specifiers', () => {
    expect(packed.map((p) => p.name).sort()).toEqual([
      '@holdfast/client',
      '@holdfast/protocol',
      '@holdfast/react',
      '@holdfast/redis',
      '@holdfast/server',
    ]);
    expect(publishable()).toHaveLength(5);
    expect(snippets.length).toBeGreaterThanOrEqual(11); // the READMEs' snippets were found
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    for (const { name } of packed) {
      const installed = join(app, 'node_modules', name);
      expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toBe(license);
      const manifest = readFileSync(join(installed, 'package.json'), 'utf8');
      expect(manifest).not.toMatch(/workspace:|catalog:/);
      const json = JSON.parse(manifest);
      expect(json.engines.node).toBe('>=20.19');
      expect(json.peerDependencies.zod).toBe(`^${LOWEST_ZOD}`);
      expect(json.dependencies?.zod).toBeUndefined();
      for (const field of ['repository', 'homepage', 'bugs', 'keywords', 'license'])
        expect(json[field]).toBeDefined();
    }
    // One zod for the app and every package, one server for the app and @holdfast/redis.
    for (const name of ['zod', '@holdfast/server', '@holdfast/protocol', '@holdfast/client'])
      expect(sh('npm', ['ls', name, '--all', '--parseable']).trim().split('\n')).toHaveLength(1);
  });

  it('type-checks a strict NodeNext app without the DOM lib and every README snippet, and runs the app (Express, a Node client, a room message, a request, a reconnect)', () => {
    // exactOptionalPropertyTypes on, skipLibCheck off, and no @types/ws: the packages' .d.ts need none.
    expect(existsSync(join(app, 'node_modules', '@types', 'ws'))).toBe(false);
    typecheck('tsconfig.json');
    expect(sh('node', ['dist/src/main.js'])).toContain('consumer app: ok');
  });

  it('type-checks the client in a browser project (DOM lib, no Node types)', () => {
    typecheck('tsconfig.browser.json');
  });

  it('loads neither jose nor prom-client on a cold import of @holdfast/server; its subpaths load them', () => {
    const main = loadedBy('@holdfast/server');
    expect(main.some((url) => url.includes('/node_modules/@holdfast/server/dist/index.js'))).toBe(true);
    expect(main.some((url) => url.includes('/node_modules/ws/'))).toBe(true);
    expect(main.filter((url) => /\/node_modules\/(jose|prom-client|@opentelemetry)\//.test(url))).toEqual([]);
    expect(loadedBy('@holdfast/server/jwt').some((url) => url.includes('/node_modules/jose/'))).toBe(true);
    expect(
      loadedBy('@holdfast/server/metrics').some((url) => url.includes('/node_modules/prom-client/')),
    ).toBe(true);
  });

  it(`type-checks and runs with the lowest supported zod (${LOWEST_ZOD})`, () => {
    npmInstall(`zod@${LOWEST_ZOD}`);
    expect(JSON.parse(readFileSync(join(app, 'node_modules', 'zod', 'package.json'), 'utf8')).version).toBe(
      LOWEST_ZOD,
    );
    typecheck('tsconfig.json');
    expect(sh('node', ['dist/src/main.js'])).toContain('consumer app: ok');
  });
});
