import { join } from 'node:path';
import { startExample } from './app.js';

/**
 * `pnpm --filter @holdfast/react-example start` (or `npm start -- --react`): the React example
 * on PORT (default 3000). RETENTION_MESSAGES: messages kept per stream. REACT_DEV=1 serves the
 * build with React's development runtime (StrictMode mounts effects twice), as the e2e suite does.
 */
const port = Number(process.env.PORT ?? 3000);
const example = await startExample({
  port,
  ...(process.env.REACT_DEV === '1' ? { publicDir: join(import.meta.dirname, '..', 'public-dev') } : {}),
  ...(process.env.RETENTION_MESSAGES ? { retentionMessages: Number(process.env.RETENTION_MESSAGES) } : {}),
});
console.log(`Holdfast React example on ${example.url}`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    example.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
