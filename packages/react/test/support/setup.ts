import { appends, type ClientOptions, createClient, type HoldfastClient } from '@holdfast/client';
import { createServer, type HoldfastServer, type ServerOptions } from '@holdfast/server';
import { FaultProxy } from '@holdfast/testkit';
import { cleanup } from '@testing-library/react';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { createHoldfastHooks } from '../../src/index.js';
import { type App, app } from './protocol.js';

export { type App, app } from './protocol.js';

export const hooks = createHoldfastHooks(app);

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  cleanup();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Frames a client wrote, parsed (`t`, `room`...). */
export type Sent = { t: string; room?: string; type?: string }[];

/** A `ws` WebSocket that records every frame it sends into `sent`. */
function recordingSocket(sent: Sent): typeof WebSocket {
  return class extends WebSocket {
    override send(data: any, ...rest: any[]): void {
      sent.push(JSON.parse(String(data)));
      (super.send as (...a: unknown[]) => void)(data, ...rest);
    }
  };
}

/** A real server on loopback (token = user name) with handlers for the test protocol. */
export async function startServer(options: Partial<ServerOptions<App>> = {}): Promise<HoldfastServer<App>> {
  const server = createServer<App>({
    protocol: app,
    port: 0,
    host: '127.0.0.1',
    authenticate: ({ token }) => (token ? { user: token } : null),
    authorizeJoin: () => true,
    ...options,
  });
  server.handle('say', async ({ room, text }, ctx) => {
    // The room `closed` refuses every message: a handler error the client sees, typed.
    if (room === 'closed') throw new (class extends Error {})('nope');
    await server.sendToRoom(room, 'said', { room, from: ctx.user, text });
  });
  server.handle('add', ({ a, b }) => a + b);
  server.handle('members', ({ room }) => server.presence(room));
  await server.ready();
  cleanups.push(() => server.close());
  return server;
}

/** A fault proxy in front of `server` (to drop sockets). */
export async function proxyTo(server: HoldfastServer<App>): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ port: server.address().port });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** A client of `port` as user `user`, recording its frames; closed after the test. */
export function clientOf(
  port: number,
  user: string,
  options: Partial<ClientOptions<App>> = {},
): { client: HoldfastClient<App>; sent: Sent } {
  const sent: Sent = [];
  const client = createClient({
    url: `ws://127.0.0.1:${port}/ws`,
    protocol: app,
    WebSocket: recordingSocket(sent),
    token: user,
    environment: null,
    reconnect: { initialDelayMs: 20, minDelayMs: 5, maxDelayMs: 100 },
    // The test protocol declares appends (`answer`).
    plugins: [appends],
    ...options,
  });
  cleanups.push(() => client.close());
  return { client, sent };
}

/** Resolve when `pred()` holds, checking after every client event and message, within `ms`. */
export async function until(pred: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The server session count of `room` as the server sees it. */
export async function membersOf(server: HoldfastServer<App>, room: string): Promise<string[]> {
  return (await server.presence(room)).map((m) => m.user).sort();
}
