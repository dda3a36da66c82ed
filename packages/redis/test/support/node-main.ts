// One Holdfast node on a RedisEngine, run as a child process by cluster.ts (through
// register-ts.mjs, so it runs the TypeScript sources like the tests do). Configured by the
// HOLDFAST_NODE environment variable; driven over the IPC channel.
import { createServer } from '@holdfast/server';
import { app } from '@holdfast/testkit';
import { createClient } from 'redis';
import { createRedisEngine } from '../../src/index.js';
import type { NodeConfig, NodeReply, NodeRequest } from './cluster.js';

const config = JSON.parse(process.env.HOLDFAST_NODE ?? '{}') as NodeConfig;
const engine = createRedisEngine({
  url: config.redisUrl,
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
const runs = createClient({ url: config.redisUrl });
runs.on('error', () => {});
await runs.connect();
server.handle('note', async (_data, ctx) => {
  await runs.hIncrBy(`${config.prefix}test:runs`, `${ctx.sessionId}/${ctx.messageId}`, 1);
});

await server.ready();

const send = (m: NodeReply) => process.send?.(m);

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
process.on('message', (raw) => {
  const m = raw as NodeRequest;
  void (async () => {
    try {
      let value: unknown;
      if (m.cmd === 'stats') value = { server: server.stats(), engine: engine.status() };
      else if (m.cmd === 'waitReady') value = await engineReady();
      else if (m.cmd === 'sendToRoom') {
        const [room, n] = m.args as [string, number];
        value = await server.sendToRoom(room, 'tick', { n });
      } else if (m.cmd === 'broadcast') {
        value = await server.broadcast('tick', { n: m.args[0] as number });
      } else if (m.cmd === 'close') {
        await server.close();
        await runs.close();
        send({ type: 'reply', id: m.id, ok: true, value: null });
        process.exit(0);
      }
      send({ type: 'reply', id: m.id, ok: true, value });
    } catch (err) {
      send({ type: 'reply', id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', url: server.url() });
