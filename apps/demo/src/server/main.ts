import { startDemo } from './app.js';

/** `pnpm start`: the demo on PORT (default 3000), in memory unless REDIS_URL is set. */
const port = Number(process.env.PORT ?? 3000);
const demo = await startDemo({
  port,
  ...(process.env.JWT_SECRET ? { jwtSecret: process.env.JWT_SECRET } : {}),
  ...(process.env.TOKEN_TTL_SEC ? { tokenTtlSec: Number(process.env.TOKEN_TTL_SEC) } : {}),
  ...(process.env.CONNECTIONS_PER_USER
    ? { connectionsPerUser: Number(process.env.CONNECTIONS_PER_USER) }
    : {}),
  ...(process.env.NODE_NAME ? { nodeName: process.env.NODE_NAME } : {}),
});
console.log(`Holdfast demo on ${demo.url} (in memory)`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: draining`);
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
