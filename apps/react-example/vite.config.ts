import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/**
 * Print what a browser downloads for the UI: the JavaScript (and CSS) of the bundle, minified
 * and gzip -9, measured the way the size test measures the typical app.
 */
function bundleSize(label: string): Plugin {
  return {
    name: 'holdfast-bundle-size',
    apply: 'build',
    generateBundle(_options, bundle) {
      const totals = { js: { min: 0, gzip: 0 }, css: { min: 0, gzip: 0 } };
      for (const file of Object.values(bundle)) {
        const kind = file.fileName.endsWith('.js')
          ? 'js'
          : file.fileName.endsWith('.css')
            ? 'css'
            : undefined;
        if (!kind) continue;
        const bytes = Buffer.from(file.type === 'chunk' ? file.code : file.source);
        totals[kind].min += bytes.length;
        totals[kind].gzip += gzipSync(bytes, { level: 9 }).length;
      }
      const kB = (n: number) => `${(n / 1000).toFixed(1)} kB`;
      const { js, css } = totals;
      console.log(
        `\n${label}: JS ${kB(js.min)} min, ${kB(js.gzip)} min+gzip; CSS ${kB(css.min)} min, ${kB(css.gzip)} min+gzip`,
      );
    },
  };
}

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
    plugins: [
      bundleSize(
        dev ? 'react example web bundle (React development build)' : 'react example web bundle (production)',
      ),
    ],
  };
});
