import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'consumer',
    include: ['test/**/*.test.ts'],
    // Packs the packages and installs the tarballs with npm into a fresh project: one file,
    // its steps in order (the npm cache makes repeats quick).
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
