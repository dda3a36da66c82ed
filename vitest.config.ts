import { defineConfig } from 'vitest/config';

/**
 * One vitest run for every package. Source is resolved through the `holdfast-source`
 * export condition, so tests exercise the TypeScript sources directly.
 */
export default defineConfig({
  resolve: { conditions: ['holdfast-source'] },
  ssr: { resolve: { conditions: ['holdfast-source'] } },
  test: {
    projects: ['packages/*/vitest.config.ts', 'apps/*/vitest.config.ts', 'tests/*/vitest.config.ts'],
    reporters: ['default'],
  },
});
