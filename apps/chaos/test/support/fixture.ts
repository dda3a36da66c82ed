import { createServer as createNetServer } from 'node:net';
import {
  appends,
  type ClientOptions,
  type ConnectionState,
  createClient,
  type HoldfastClient,
  type StateChange,
} from '@holdfast/client';
import { createServer, type HoldfastServer, type ServerOptions } from '@holdfast/server';
import { Cleanups } from '@holdfast/testkit';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { type App, app } from './app.js';

const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** Register something to undo after the current test (run in reverse order). */
export const defer: (fn: () => unknown) => void = cleanups.defer;

/** Errors the server survived, as reported on its `error` event. */
export type ServerErrors = { error: Error; where: string }[];

/** A real in-process server on a free loopback port, closed after the test. */
export async function startServer(options: Partial<ServerOptions<App>> = {}): Promise<{
  server: HoldfastServer<App>;
  url: string;
  port: number;
  errors: ServerErrors;
}> {
  const server = createServer<App>({ protocol: app, port: 0, ...options });
  const errors: ServerErrors = [];
  server.on('error', (error, { where }) => errors.push({ error, where }));
  await server.ready();
  defer(() => server.close());
  return { server, url: server.url(), port: server.address().port, errors };
}

/**
 * A `@holdfast/client` on `ws` with plugin `appends`, with fast retries unless told otherwise;
 * closed after the test.
 */
export function chaosClient(url: string, options: Partial<ClientOptions<App>> = {}): HoldfastClient<App> {
  const client = createClient<App>({
    url,
    protocol: app,
    WebSocket,
    environment: null,
    reconnect: { initialDelayMs: 50, minDelayMs: 10, maxDelayMs: 200 },
    // The chaos app declares appends (`answer`): a client of it needs the plugin.
    plugins: [appends],
    ...options,
  });
  defer(() => client.close());
  return client;
}

/** Resolves with the first state change whose new state matches. */
export function nextState(
  client: HoldfastClient<App>,
  pred: (next: ConnectionState, change: StateChange) => boolean,
): Promise<StateChange> {
  return new Promise((resolve) => {
    const off = client.events.on('state', (change) => {
      if (!pred(change.next, change)) return;
      off();
      resolve(change);
    });
  });
}

/** Resolves when the client is connected (now or next). */
export function connected(client: HoldfastClient<App>): Promise<void> {
  if (client.state.status === 'connected') return Promise.resolve();
  return nextState(client, (s) => s.status === 'connected').then(() => undefined);
}

/** The session id of a connected client. */
export function sessionOf(client: HoldfastClient<App>): string {
  const s = client.state;
  if (s.status !== 'connected') throw new Error(`not connected: ${s.status}`);
  return s.sessionId;
}

/** Resolves after `ms` of real time: for pacing load and waiting out fault windows, never to synchronise. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A free loopback TCP port (for child servers that must restart on the same port). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createNetServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
