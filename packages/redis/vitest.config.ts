import { defineProject } from 'vitest/config';

// Tests run the TypeScript sources of this package and of @holdfast/server and
// @holdfast/protocol: the `holdfast-source` export condition must apply to SSR (Node) too.
const conditions = ['holdfast-source', 'node', 'import', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['holdfast-source'] } },
  test: {
    name: 'redis',
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
  },
});
