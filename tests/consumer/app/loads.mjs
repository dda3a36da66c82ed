// Prints, as JSON, every module URL loaded by `import(specifier)` in this fresh process (ESM
// through a loader hook, CommonJS through the require cache): the module-load test reads it.
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';

const specifier = process.argv[2];
const { port1, port2 } = new MessageChannel();
const loaded = [];
const sentinel = 'data:text/javascript,export default "loads.mjs sentinel"';
const drained = new Promise((resolve) =>
  port1.on('message', (url) => (url === sentinel ? resolve() : loaded.push(url))),
);
register('./loads-hook.mjs', import.meta.url, { data: { port: port2 }, transferList: [port2] });
await import(specifier);
// Messages on a port arrive in order: once the sentinel's load is seen, every earlier one is in.
await import(sentinel);
await drained;
port1.close();
const cjs = Object.keys(createRequire(import.meta.url).cache).map((file) => `file://${file}`);
console.log(JSON.stringify([...new Set([...loaded, ...cjs])]));
