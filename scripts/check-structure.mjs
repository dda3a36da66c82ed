#!/usr/bin/env node
/**
 * Structure rules of packages/*\/src, run by `pnpm lint`:
 * - no import cycle: relative imports (type-only ones too) between source files form a DAG, and
 *   so do the packages' imports of each other (`@holdfast/<name>`);
 * - no source file over 500 lines (protocol's frames.ts excepted, see issue 12).
 * Exits non-zero with every violation listed.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAX_LINES = 500;
/** Files allowed over MAX_LINES. */
const LONG_OK = new Set(['packages/protocol/src/frames.ts']);

function sources(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Module specifiers of every import / export-from / dynamic import, comments stripped. */
function specifiers(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out = [];
  const re = /(?:\bimport\b[^'";]*?\bfrom\s*|\bexport\b[^'";]*?\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g;
  for (let m = re.exec(code); m; m = re.exec(code)) out.push(m[1]);
  return out;
}

function resolveRelative(from, spec) {
  const base = resolve(dirname(from), spec);
  const candidates = [
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.js$/, '.tsx'),
    `${base}.ts`,
    join(base, 'index.ts'),
  ];
  return candidates.find((c) => existsSync(c));
}

/** Cycles of a graph (Map<node, Set<node>>), each as a path, via Tarjan's strongly connected components. */
function cycles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const found = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)?.has(v)) found.push(scc.reverse());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

const problems = [];
const files = new Map();
const packages = new Map();
for (const pkg of readdirSync(join(root, 'packages'))) {
  const src = join(root, 'packages', pkg, 'src');
  if (!existsSync(src)) continue;
  packages.set(pkg, new Set());
  for (const file of sources(src)) files.set(file, pkg);
}

const fileGraph = new Map();
for (const [file, pkg] of files) {
  const text = readFileSync(file, 'utf8');
  const rel = relative(root, file);
  const lines = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  if (lines > MAX_LINES && !LONG_OK.has(rel)) problems.push(`${rel}: ${lines} lines (at most ${MAX_LINES})`);
  if (lines <= MAX_LINES && LONG_OK.has(rel) && rel !== 'packages/protocol/src/frames.ts')
    console.warn(`check-structure: ${rel} is ${lines} lines now: drop it from LONG_OK`);
  const deps = new Set();
  for (const spec of specifiers(text)) {
    if (spec.startsWith('.')) {
      const target = resolveRelative(file, spec);
      if (target) deps.add(target);
      else problems.push(`${rel}: cannot resolve '${spec}'`);
    } else if (spec.startsWith('@holdfast/')) {
      const name = spec.slice('@holdfast/'.length).split('/')[0];
      if (name !== pkg && packages.has(name)) packages.get(pkg).add(name);
    }
  }
  fileGraph.set(file, deps);
}

for (const scc of cycles(fileGraph)) {
  problems.push(
    `import cycle: ${scc.map((f) => relative(root, f)).join(' -> ')} -> ${relative(root, scc[0])}`,
  );
}
for (const scc of cycles(packages)) problems.push(`package cycle: ${scc.join(' -> ')} -> ${scc[0]}`);

if (problems.length > 0) {
  console.error(`check-structure: ${problems.length} problem(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-structure: ${files.size} source files, no import cycle, none over ${MAX_LINES} lines`);
