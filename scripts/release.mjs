#!/usr/bin/env node
// `pnpm release [dir]`: build every package, then pack each publishable one (not `private`) with
// `pnpm pack` into `dir` (default `release/`), and list what each tarball holds. `pnpm pack`
// (not `npm pack`) is what turns `workspace:^` and `catalog:` specifiers into real version
// ranges. Nothing is published: docs/RELEASING.md says how to publish the tarballs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pnpm, root } from './bootstrap.mjs';

/** The directories of the packages that would be published (`private` ones are left out). */
export function publishable() {
  const dir = join(root, 'packages');
  return readdirSync(dir)
    .map((name) => join(dir, name))
    .filter((pkg) => {
      try {
        return !JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).private;
      } catch {
        return false;
      }
    })
    .sort();
}

/** `pnpm pack` every publishable package into `outDir`; returns `{ name, version, tarball }` each. */
export function packAll(outDir) {
  const p = pnpm();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  return publishable().map((pkg) => {
    const { name, version } = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8'));
    execFileSync(p[0], [...p.slice(1), 'pack', '--pack-destination', outDir], { cwd: pkg, stdio: 'ignore' });
    const tarball = join(outDir, `${name.replace('@', '').replace('/', '-')}-${version}.tgz`);
    return { name, version, tarball };
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const outDir = resolve(process.argv[2] ?? join(root, 'release'));
  const p = pnpm();
  execFileSync(p[0], [...p.slice(1), 'build'], { cwd: root, stdio: 'inherit' });
  for (const { name, version, tarball } of packAll(outDir)) {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
    const manifest = JSON.parse(
      execFileSync('tar', ['xzfO', tarball, 'package/package.json'], { encoding: 'utf8' }),
    );
    console.log(`\n${name}@${version}  ${tarball}  (${files.length} files)`);
    for (const kind of ['dependencies', 'peerDependencies']) {
      if (manifest[kind]) console.log(`  ${kind}: ${JSON.stringify(manifest[kind])}`);
    }
    const top = [...new Set(files.map((f) => f.replace(/^package\//, '').replace(/\/.*/, '/')))].sort();
    console.log(`  ${top.join('  ')}`);
  }
}
