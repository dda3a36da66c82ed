import { defineProject } from 'vitest/config';

// Tests run the TypeScript sources of this package and of @holdfast/protocol: the
// `holdfast-source` export condition must apply to SSR (Node) resolution too.
const conditions = ['holdfast-source', 'node', 'import', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['holdfast-source'] } },
  test: {
    name: 'client',
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
