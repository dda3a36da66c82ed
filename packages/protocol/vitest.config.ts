import { defineProject } from 'vitest/config';

export default defineProject({
  resolve: { conditions: ['holdfast-source'] },
  test: {
    name: 'protocol',
    include: ['test/**/*.test.ts'],
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'] },
  },
});
