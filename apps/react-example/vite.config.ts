import { defineConfig } from 'vite';

/**
 * The React UI: src/web, built into dist/public and served by the example server. A second
 * build (`--mode react-dev`, into dist/public-dev) bundles React's development build, where
 * StrictMode really mounts every effect twice: the e2e suite runs against it (`REACT_DEV=1`).
 */
export default defineConfig(({ mode }) => {
  const dev = mode === 'react-dev';
  return {
    root: 'src/web',
    base: '/',
    build: {
      outDir: dev ? '../../dist/public-dev' : '../../dist/public',
      emptyOutDir: true,
      sourcemap: true,
      target: 'es2022',
      minify: !dev,
    },
    define: dev ? { 'process.env.NODE_ENV': JSON.stringify('development') } : {},
    resolve: { conditions: ['browser', 'module', 'import', 'default'] },
    oxc: { jsx: { runtime: 'automatic' } },
  };
});
