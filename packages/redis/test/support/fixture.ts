import { createServer, type HoldfastServer, type ServerOptions } from '@holdfast/server';
import { type App, app, Cleanups, RawClient } from '@holdfast/testkit';
import { afterEach } from 'vitest';
import { createRedisEngine, type RedisEngine, type RedisEngineOptions } from '../../src/index.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** Register something to undo after the current test (run in reverse order). */
export const defer: (fn: () => unknown) => void = cleanups.defer;

/** One in-process node: a real server on a free port with a RedisEngine. */
export interface Node {
  server: HoldfastServer<App>;
  engine: RedisEngine;
  url: string;
  connect: () => Promise<RawClient>;
}

/** Start a node on `redisUrl` under `prefix` (closed after the test). */
export async function startNode(
  redisUrl: string,
  prefix: string,
  options: Partial<ServerOptions<App>> = {},
  engineOptions: RedisEngineOptions = {},
): Promise<Node> {
  const engine = createRedisEngine({
    url: redisUrl,
    prefix,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    ...engineOptions,
  });
  const server = createServer<App>({
    protocol: app,
    port: 0,
    engine,
    authenticate: ({ token }) => (token ? { user: token } : null),
    authorizeJoin: () => true,
    sweepIntervalMs: 100,
    ...options,
  });
  server.on('error', () => {});
  await server.ready();
  defer(() => server.close());
  const url = server.url();
  const clients: RawClient[] = [];
  defer(async () => {
    for (const c of clients) c.ws.terminate();
  });
  return {
    server,
    engine,
    url,
    connect: async () => {
      const c = await RawClient.open(url);
      clients.push(c);
      return c;
    },
  };
}

/** Open a client to `url`, closed after the test. */
export async function openClient(url: string): Promise<RawClient> {
  const c = await RawClient.open(url);
  defer(async () => c.ws.terminate());
  return c;
}
