import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'size',
    include: ['test/**/*.test.ts'],
    // esbuild bundles classic zod (~0.5 MB) among others.
    testTimeout: 60_000,
  },
});
