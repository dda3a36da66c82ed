import { type App, app, RawClient } from '@holdfast/testkit';
import { afterEach } from 'vitest';
import { createServer, type HoldfastServer, type ServerOptions } from '../../src/index.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Register something to undo after the current test. */
export function defer(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}

/** A real server on a free loopback port, closed after the test. */
export async function startServer(options: Partial<ServerOptions<App>> = {}): Promise<{
  server: HoldfastServer<App>;
  url: string;
  connect: (o?: ConstructorParameters<typeof RawClient>[1]) => Promise<RawClient>;
}> {
  const server = createServer<App>({ protocol: app, port: 0, ...options });
  await server.ready();
  defer(() => server.close());
  const url = server.url();
  const clients: RawClient[] = [];
  defer(async () => {
    for (const c of clients) c.ws.terminate();
  });
  return {
    server,
    url,
    connect: async (o) => {
      const c = await RawClient.open(url, o);
      clients.push(c);
      return c;
    },
  };
}
