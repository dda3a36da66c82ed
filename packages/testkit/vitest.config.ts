import { defineProject } from 'vitest/config';

const conditions = ['holdfast-source', 'node', 'import', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['holdfast-source'] } },
  test: {
    name: 'testkit',
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
