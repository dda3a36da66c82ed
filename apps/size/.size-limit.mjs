// What Holdfast's browser footprint is measured on (size-limit config: `pnpm exec size-limit` in
// this directory prints its own report; `pnpm size` adds minified bytes and the README table).
// Every check is bundled with esbuild for the browser (ESM, es2022, minified) from the packages'
// published entries (`dist`: run `pnpm build` first) and measured min+gzip (level 9).
// A check with a `limit` is a budget: over it, the size test (`test/size.test.ts`, run by
// `npm test`) fails. `kB` is 1000 bytes. To report another bundle, add one line.

/** esbuild options on top of size-limit's (bundle, minify, tree-shake). */
export const modifyEsbuildConfig = (config) => ({
  ...config,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  legalComments: 'none',
});

const check = (c) => ({ gzip: true, modifyEsbuildConfig, ...c });

/** Holdfast's own bundles, measured by the size test. */
export const holdfast = [
  // Issue 17's budget: the typical app (client + protocol + a few app schemas in zod/mini).
  { name: 'typical app, zod/mini', path: 'entries/app-mini.js', limit: '15 kB' },
  // The same app with persistence (option `storage`, here webStorage): what it adds is bundled
  // only with a storage. This budget sits just above today's size so it cannot grow unnoticed.
  { name: 'typical app + storage, zod/mini', path: 'entries/app-mini-storage.js', limit: '15.5 kB' },
  { name: 'typical app, classic zod', path: 'entries/app-classic.js' },
  // The typical app's zod/mini schemas alone (what the app ships for zod with any client): the
  // typical app minus this row is Holdfast's share.
  { name: "the typical app's schemas alone (zod/mini)", path: 'entries/app-schemas.js' },
  {
    name: '@holdfast/client own code',
    path: 'entries/client.js',
    ignore: ['@holdfast/protocol', 'zod'],
  },
  // Every hook of the binding (its whole entry), with the client and protocol it imports.
  { name: '@holdfast/react (react external)', path: '../../packages/react/dist/index.js', ignore: ['react'] },
].map(check);

/** Comparable clients, used the same way as the typical app (README table only). */
export const others = [
  { name: 'socket.io-client', path: 'entries/socket.io-client.js' },
  { name: 'centrifuge', path: 'entries/centrifuge.js' },
  { name: 'partysocket', path: 'entries/partysocket.js' },
].map(check);

export default [...holdfast, ...others];
