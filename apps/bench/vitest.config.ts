import { defineProject } from 'vitest/config';

const conditions = ['holdfast-source', 'node', 'import', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['holdfast-source'] } },
  test: {
    name: 'bench',
    include: ['test/**/*.test.ts'],
    // The smoke run spawns real server and load-generator processes.
    testTimeout: 260_000,
    hookTimeout: 260_000,
  },
});
