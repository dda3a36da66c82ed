import { createServer as createHttpServer } from 'node:http';
import type { Engine } from '@holdfast/server';
import { benchProtocol } from './app-protocol.js';
import { listen, type ServerTarget } from './target.js';

/** Holdfast as users run it: validation, acks and resume on (they cannot be turned off). */
export async function createHoldfastTarget(engine?: Engine): Promise<ServerTarget> {
  // `BENCH_HOLDFAST_SERVER`: another build of @holdfast/server (the path of its dist/index.js),
  // to compare two versions interleaved with `experiment.js --variant 'holdfast:BENCH_HOLDFAST_SERVER=...'`.
  const alt = process.env.BENCH_HOLDFAST_SERVER;
  const { createServer } = (
    alt ? await import(alt) : await import('@holdfast/server')
  ) as typeof import('@holdfast/server');
  // Attached to our own HTTP server so it listens with the same backlog as the other targets.
  const http = createHttpServer((_req, res) => res.writeHead(426).end());
  const server = createServer({
    protocol: benchProtocol,
    server: http,
    path: '/ws',
    authorizeJoin: () => true,
    ...(engine ? { engine } : {}),
    // High enough for one load generator on one address opening thousands of sessions.
    limits: {
      connectionsPerUser: 1_000_000,
      connectionsPerAddress: 1_000_000,
      pendingConnections: 1_000_000,
      pendingPerAddress: 1_000_000,
      messagesPerSecond: 1_000_000,
      burst: 1_000_000,
      burstPerAddress: 0,
    },
  });
  server.handle('echo', (data) => data);
  server.on('error', (err, ctx) => console.error('holdfast error', ctx.where, err.message));
  await server.ready();
  const port = await listen(http);
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    broadcast: (tick) => server.broadcast('tick', tick),
    toRoom: (room, tick) => server.sendToRoom(room, 'tick', tick),
    connections: () => server.stats().connections,
    close: async () => {
      await server.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
