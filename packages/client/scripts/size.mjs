#!/usr/bin/env node
// `pnpm --filter @holdfast/client size`: bundle src/index.ts for the browser (ESM, minified)
// with esbuild and report min and min+gzip bytes, twice:
//   - the client's own code: zod external; @holdfast/protocol and eventemitter3 included;
//   - everything: zod bundled too (what an app that does not use zod itself would ship).
// Also reports the floor set by what the client must import (the protocol's codec and frame
// schemas, close codes and errors, and eventemitter3), and bytes per file (minified, before
// gzip), to see where the size goes.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** The target for the client's own code, min+gzip. */
const TARGET = 6 * 1024;

const here = new URL('..', import.meta.url).pathname;
const FLOOR = `export { decode, encode, isRetryable, HoldfastError, Streams, HelloSchema } from '@holdfast/protocol';
export { EventEmitter } from 'eventemitter3';`;

async function measure(external, stdin) {
  const result = await build({
    ...(stdin
      ? { stdin: { contents: stdin, resolveDir: here, loader: 'ts' } }
      : { entryPoints: [`${here}src/index.ts`] }),
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    // Bundle @holdfast/protocol from its TypeScript source, as the tests do.
    conditions: ['holdfast-source'],
    external,
    metafile: true,
  });
  const code = result.outputFiles[0].contents;
  const byPackage = new Map();
  for (const [file, info] of Object.entries(Object.values(result.metafile.outputs)[0].inputs)) {
    const name = packageOf(file);
    byPackage.set(name, (byPackage.get(name) ?? 0) + info.bytesInOutput);
  }
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length, byPackage };
}

function packageOf(file) {
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (m) return m[1];
  // Workspace files are reported relative to this package.
  if (file.startsWith('../protocol/')) return `@holdfast/protocol (${file.slice(16)})`;
  return `@holdfast/client (${file.replace(/^src\//, '')})`;
}

const kb = (n) => `${(n / 1024).toFixed(2)} KiB`;
const own = await measure(['zod']);
const all = await measure([]);
const floor = await measure(['zod'], FLOOR);

console.log('@holdfast/client browser bundle (esbuild, esm, minified)');
console.log(`  own code (zod external): ${own.min} B min, ${own.gzip} B min+gzip (${kb(own.gzip)})`);
console.log(`  with zod bundled:        ${all.min} B min, ${all.gzip} B min+gzip (${kb(all.gzip)})`);
console.log(`  floor (protocol + eventemitter3, zod external): ${floor.min} B min, ${floor.gzip} B min+gzip`);
console.log('  minified bytes per package (zod bundled):');
for (const [name, bytes] of [...all.byPackage].sort((a, b) => b[1] - a[1])) {
  console.log(`    ${name.padEnd(44)} ${bytes} B`);
}
const verdict = own.gzip <= TARGET ? 'within' : 'over';
console.log(`  target for own code: ${kb(TARGET)} min+gzip: ${verdict} by ${Math.abs(TARGET - own.gzip)} B`);
