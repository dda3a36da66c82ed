import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { holdfast } from '../.size-limit.mjs';
import { measure, table } from '../measure.mjs';

interface Row {
  name: string;
  min: number;
  gzip: number;
  limit?: number;
}

/** An entry of `entries/` bundled for the browser (unminified), with its metafile. */
const bundleEntry = (entry: string) =>
  build({
    entryPoints: [fileURLToPath(new URL(`../entries/${entry}`, import.meta.url))],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    metafile: true,
    logLevel: 'silent',
  });

// Measures the packages' published entries (`dist`): `npm test` builds first.
describe('browser footprint (size-limit, esbuild, min+gzip)', () => {
  it("keeps Holdfast's bundles within their budgets", async () => {
    const rows: Row[] = await measure(holdfast);
    console.log(table(rows));
    expect(rows.some((r) => r.limit !== undefined)).toBe(true);
    for (const r of rows) {
      expect(r.gzip, `${r.name}: ${r.gzip} B min+gzip`).toBeGreaterThan(0);
      if (r.limit !== undefined) expect(r.gzip, `${r.name} over its budget`).toBeLessThanOrEqual(r.limit);
    }
  });

  it('bundles zod/mini apps without classic zod', async () => {
    const result = await bundleEntry('app-mini.js');
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((f) => f.includes('/zod/v4/mini/'))).toBe(true);
    expect(inputs.filter((f) => f.includes('/zod/v4/classic/'))).toEqual([]);
  });

  it.each([
    ['app-mini.js', []],
    ['app-mini-storage.js', ['stored-state.js']],
    ['app-mini-plugins.js', ['appends.js', 'token-refresh.js']],
  ])('bundles the parts only some apps use (storage, plugins) only when used: %s', async (entry, parts) => {
    const result = await bundleEntry(entry);
    // The client's modules with code in the bundle (its dist: one file per source module).
    const [output] = Object.values(result.metafile.outputs);
    const modules = Object.entries(output!.inputs)
      .filter(([f, { bytesInOutput }]) => f.includes('client/dist/') && bytesInOutput > 0)
      .map(([f]) => f.slice(f.lastIndexOf('/') + 1));
    expect(modules).toContain('client.js');
    const optional = ['stored-state.js', 'appends.js', 'token-refresh.js'];
    expect(modules.filter((m) => optional.includes(m)).sort()).toEqual(parts);
    // What the stored state's check says of a bad state: in the bundle only with a storage.
    const text = result.outputFiles[0]!.text;
    expect(text.includes('Invalid stored state')).toBe(parts.includes('stored-state.js'));
  });

  it.each([
    ['browser', false],
    ['node', true],
  ] as const)('the %s build of the client reads HOLDFAST_DEBUG and DEBUG: %s', async (platform, reads) => {
    // `#debug-env` resolves by the `browser` condition to a module that reads no environment.
    const result = await build({
      stdin: {
        contents: "export * from '@holdfast/client';",
        resolveDir: fileURLToPath(new URL('..', import.meta.url)),
      },
      bundle: true,
      write: false,
      platform,
      format: 'esm',
      external: ['zod'],
      logLevel: 'silent',
    });
    expect(result.outputFiles[0]!.text.includes('HOLDFAST_DEBUG')).toBe(reads);
  });

  it.each(['browser', 'neutral'] as const)(
    'the client imports no Node built-ins (%s platform)',
    async (platform) => {
      const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
      const result = await build({
        stdin: {
          contents: "export * from '@holdfast/client';",
          resolveDir: fileURLToPath(new URL('..', import.meta.url)),
        },
        bundle: true,
        write: false,
        platform,
        format: 'esm',
        mainFields: ['module', 'main'],
        // Anything unresolvable stays an import we can see, instead of failing the build.
        external: [...builtins],
        metafile: true,
        logLevel: 'silent',
      });
      const imports = Object.values(result.metafile.inputs).flatMap((i) => i.imports.map((x) => x.path));
      expect(imports.length).toBeGreaterThan(0);
      expect(imports.filter((p) => builtins.has(p))).toEqual([]);
    },
  );
});
