#!/usr/bin/env node
// `pnpm --filter @holdfast/client size`: bundle src/index.ts for the browser (ESM, minified)
// with esbuild and report min and min+gzip bytes of three bundles:
//   1. the client's own code: packages/client/src only, with @holdfast/protocol,
//      eventemitter3 and zod external (the 6 KiB target; PASS/FAIL below);
//   2. with @holdfast/protocol and eventemitter3 bundled (zod external);
//   3. everything bundled, zod too (what an app that does not use zod itself would ship).
// Then minified bytes (before gzip) per source file of (1) and per package of (3), to see
// where the size goes. Exits with code 1 when (1) is over the target.
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

/** The target for the client's own code, min+gzip. */
const TARGET = 6 * 1024;

const here = new URL('..', import.meta.url).pathname;

async function measure(external) {
  const result = await build({
    entryPoints: [`${here}src/index.ts`],
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
    logLevel: 'silent',
  });
  const code = result.outputFiles[0].contents;
  const inputs = Object.entries(Object.values(result.metafile.outputs)[0].inputs);
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length, inputs };
}

function packageOf(file) {
  const m = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (m) return m[1];
  // Workspace files are reported relative to this package.
  if (file.startsWith('../protocol/')) return '@holdfast/protocol';
  return '@holdfast/client';
}

const kb = (n) => `${(n / 1024).toFixed(2)} KiB`;
const line = (label, r) =>
  `  ${label.padEnd(56)} ${String(r.min).padStart(7)} B min, ${String(r.gzip).padStart(7)} B min+gzip (${kb(r.gzip)})`;

const own = await measure(['zod', '@holdfast/protocol', 'eventemitter3']);
const withDeps = await measure(['zod']);
const all = await measure([]);

console.log('@holdfast/client browser bundle (esbuild, esm, es2022, minified)');
const verdict = own.gzip <= TARGET ? 'PASS' : 'FAIL';
console.log(
  `${line('(1) own code (protocol, eventemitter3, zod external)', own)}  ${verdict}: target ${TARGET} B, ${
    own.gzip <= TARGET ? `${TARGET - own.gzip} B to spare` : `${own.gzip - TARGET} B over`
  }`,
);
console.log(line('(2) + @holdfast/protocol, eventemitter3 (zod external)', withDeps));
console.log(line('(3) everything bundled (zod too)', all));

console.log('  (1) minified bytes per file:');
for (const [file, info] of own.inputs.sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)) {
  console.log(`    ${file.replace(/^src\//, '').padEnd(24)} ${String(info.bytesInOutput).padStart(6)} B`);
}
console.log('  (3) minified bytes per package:');
const byPackage = new Map();
for (const [file, info] of all.inputs) {
  const name = packageOf(file);
  byPackage.set(name, (byPackage.get(name) ?? 0) + info.bytesInOutput);
}
for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1])) {
  console.log(`    ${name.padEnd(24)} ${String(bytes).padStart(6)} B`);
}
if (verdict === 'FAIL') process.exitCode = 1;
