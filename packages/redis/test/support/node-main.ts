// One Holdfast node on a RedisEngine, run as a child process by cluster.ts (testkit's
// ChildServer, through its TypeScript hooks, so it runs the sources like the tests do). Configured by the
// HOLDFAST_NODE environment variable; driven over the IPC channel.
import { createServer } from '@holdfast/server';
import { app, serveParent } from '@holdfast/testkit';
import { createClient, createCluster } from 'redis';
import { createRedisEngine } from '../../src/index.js';
import type { NodeConfig } from './cluster.js';

const config = JSON.parse(process.env.HOLDFAST_NODE ?? '{}') as NodeConfig;
const engine = createRedisEngine({
  ...(config.clusterNodes ? { clusterNodes: config.clusterNodes } : { url: config.redisUrl }),
  prefix: config.prefix,
  nodeId: config.name,
  reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
  ...(config.sessionLeaseMs !== undefined ? { sessionLeaseMs: config.sessionLeaseMs } : {}),
  ...(config.slotTtlMs !== undefined ? { slotTtlMs: config.slotTtlMs } : {}),
  ...(config.handlerClaimMs !== undefined ? { handlerClaimMs: config.handlerClaimMs } : {}),
  retention: { maxMessages: 20_000, maxAgeMs: 600_000 },
});
const server = createServer({
  protocol: app,
  port: 0,
  engine,
  authenticate: ({ token }) => (token ? { user: token } : null),
  authorizeJoin: () => true,
  resumeWindowMs: config.resumeWindowMs ?? 60_000,
  sweepIntervalMs: 100,
  limits: { connectionsPerUser: config.connectionsPerUser ?? 5, messagesPerSecond: 10_000, burst: 10_000 },
});
server.on('error', () => {}); // counted in stats; the test looks at those

// Handler runs are counted in Redis (durable, across nodes): `${prefix}test:runs` holds
// one field per session/message id with the number of times a handler ran for it.
const runs = config.clusterNodes
  ? createCluster({ rootNodes: config.clusterNodes.map((url) => ({ url })) })
  : createClient({ url: config.redisUrl });
runs.on('error', () => {});
await runs.connect();
server.handle('note', async (_data, ctx) => {
  await runs.hIncrBy(`${config.prefix}test:runs`, `${ctx.sessionId}/${ctx.messageId}`, 1);
});

await server.ready();

/** Resolves once both Redis connections of the engine are up. */
function engineReady(): Promise<unknown> {
  return new Promise((resolve) => {
    const up = () => {
      const s = engine.status();
      return s.commands === 'ready' && s.subscriber === 'ready';
    };
    if (up()) return resolve(engine.status());
    const off = engine.on('connection', () => {
      if (!up()) return;
      off();
      resolve(engine.status());
    });
  });
}
serveParent(
  {
    stats: () => ({ server: server.stats(), engine: engine.status() }),
    waitReady: () => engineReady(),
    sendToRoom: (room: string, n: number) => server.sendToRoom(room, 'tick', { n }),
    broadcast: (n: number) => server.broadcast('tick', { n }),
    close: async () => {
      await server.close();
      await runs.close();
      // After the reply has gone out (the parent also waits for the exit).
      setImmediate(() => process.exit(0));
    },
  },
  { url: server.url() },
);
