import { defineProject } from 'vitest/config';

// Tests run the TypeScript sources of this package and of the client/protocol/server through
// the `holdfast-source` condition, with Node resolution (`ws` is the real Node socket). The DOM
// is happy-dom; the SSR test opts out of it per file.
const conditions = ['holdfast-source', 'node', 'import', 'default'];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['holdfast-source'] } },
  oxc: { jsx: { runtime: 'automatic' } },
  test: {
    name: 'react',
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
