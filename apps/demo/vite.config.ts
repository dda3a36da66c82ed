import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/**
 * Print what a browser downloads for the demo's UI: the JavaScript (and CSS) of the production
 * bundle, minified and gzip -9, measured the way the size test measures the typical app.
 */
function bundleSize(): Plugin {
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
        `\ndemo web bundle: JS ${kB(js.min)} min, ${kB(js.gzip)} min+gzip; CSS ${kB(css.min)} min, ${kB(css.gzip)} min+gzip`,
      );
    },
  };
}

/** The web UI: src/web, built into dist/public and served by the demo server. */
export default defineConfig({
  root: 'src/web',
  base: '/',
  build: { outDir: '../../dist/public', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  resolve: { conditions: ['browser', 'module', 'import', 'default'] },
  plugins: [bundleSize()],
});
