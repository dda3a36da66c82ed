import { defineConfig } from 'vite';

/** The web UI: src/web, built into dist/public and served by the demo server. */
export default defineConfig({
  root: 'src/web',
  base: '/',
  build: { outDir: '../../dist/public', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  resolve: { conditions: ['browser', 'module', 'import', 'default'] },
});
