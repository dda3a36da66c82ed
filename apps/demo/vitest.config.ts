import { defineProject } from 'vitest/config';

// The demo's server tests: the real demo server (TypeScript sources of the workspace packages,
// through the `holdfast-source` condition) on loopback, driven over real HTTP and WebSockets.
const conditions = ['holdfast-source', 'node', 'import', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['holdfast-source'] } },
  test: { name: 'demo', include: ['test/**/*.test.ts'] },
});
