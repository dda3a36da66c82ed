import { randomBytes } from 'node:crypto';
import { demoRetention, startDemo } from './app.js';

/** `pnpm start`: the demo on HOST:PORT (default 127.0.0.1:3000), in memory unless REDIS_URL is set. */
const port = Number(process.env.PORT ?? 3000);
const redisUrl = process.env.REDIS_URL;
const prefix = process.env.REDIS_PREFIX ?? 'holdfast-demo:';
let jwtSecret = process.env.JWT_SECRET;
let multiNode = {};
if (redisUrl) {
  const { createRedisEngine } = await import('@holdfast/redis');
  const { redisClaims, sharedSecret } = await import('./redis-shared.js');
  jwtSecret ??= await sharedSecret(redisUrl, prefix, randomBytes(32).toString('base64url'));
  multiNode = {
    engine: createRedisEngine({ url: redisUrl, prefix, retention: demoRetention() }),
    claims: await redisClaims(redisUrl, prefix),
  };
}
const demo = await startDemo({
  port,
  host: process.env.HOST ?? '127.0.0.1',
  loginLimit: {
    ...(process.env.LOGIN_BURST ? { burst: Number(process.env.LOGIN_BURST) } : {}),
    ...(process.env.LOGIN_PER_MINUTE ? { perMinute: Number(process.env.LOGIN_PER_MINUTE) } : {}),
  },
  ...multiNode,
  ...(jwtSecret ? { jwtSecret } : {}),
  ...(process.env.TOKEN_TTL_SEC ? { tokenTtlSec: Number(process.env.TOKEN_TTL_SEC) } : {}),
  ...(process.env.CONNECTIONS_PER_USER
    ? { connectionsPerUser: Number(process.env.CONNECTIONS_PER_USER) }
    : {}),
  ...(process.env.NODE_NAME ? { nodeName: process.env.NODE_NAME } : {}),
  ...(process.env.PRESENCE_GRACE_MS ? { presenceGraceMs: Number(process.env.PRESENCE_GRACE_MS) } : {}),
});
console.log(`Holdfast demo on ${demo.url} (${redisUrl ? `on Redis ${redisUrl}` : 'in memory'})`);

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
