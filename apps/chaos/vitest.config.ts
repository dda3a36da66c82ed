import { defineProject } from 'vitest/config';

// Tests run the TypeScript sources of the workspace packages in-process (the `holdfast-source`
// export condition, also for SSR resolution); child server processes import the BUILT packages
// (packages/*/dist), so the suite needs `pnpm build` first (the root `pnpm test` does it).
const conditions = ['holdfast-source', 'node', 'import', 'default'];

/** `SOAK=1` runs the long mode (see docs/RELIABILITY.md); `CHAOS_SCALE=N` multiplies sizes. */
const scale = Math.max(1, Number(process.env.CHAOS_SCALE ?? (process.env.SOAK === '1' ? 10 : 1)) || 1);

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['holdfast-source'] } },
  test: {
    name: 'chaos',
    include: ['test/**/*.test.ts'],
    // Timing is part of what is measured: one file at a time, after the other projects.
    fileParallelism: false,
    sequence: { groupOrder: 10 },
    // Tests end on events; the timeout only bounds a hang, and grows with the sizes.
    testTimeout: 90_000 * scale,
    hookTimeout: 60_000,
  },
});
