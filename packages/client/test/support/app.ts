import { defineProtocol } from '@holdfast/protocol';
import { expect, onTestFinished } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { canTransition } from '../../src/connection-state.js';
import {
  appends,
  type ClientEvents,
  type ClientOptions,
  type ConnectionStatus,
  createClient,
  type HoldfastClient,
  tokenRefresh,
} from '../../src/index.js';
import type { FakeServer } from './fake-server.js';

/** The app protocol of the client tests. */
export const app = defineProtocol({
  client: {
    say: z.object({ text: z.string().max(100) }),
    blob: z.object({ data: z.string() }),
  },
  server: {
    said: z.object({ text: z.string() }),
    tick: z.object({ n: z.number() }),
    /** Appendable (extension `appends`): text that grows by concatenation. */
    answer: z.string(),
    /** Appendable with a fold: steps appended one by one. */
    run: z.object({ steps: z.array(z.string()) }),
  },
  appends: {
    answer: { delta: z.string() },
    run: {
      delta: z.string().min(1),
      fold: (run: { steps: string[] }, step: string) => ({ steps: [...run.steps, step] }),
    },
  },
  requests: {
    echo: {
      request: z.object({ text: z.string() }),
      response: z.object({ text: z.string(), length: z.number() }),
    },
  },
});
export type App = typeof app;
export type TestClient = HoldfastClient<App>;
/** What the helpers below use of a client, of any protocol. */
type AnyClient = Pick<HoldfastClient<any>, 'events' | 'state'>;

/**
 * A client of `server` (ws implementation, no page environment, plugins `appends` and
 * `tokenRefresh`), closed when the test ends.
 */
export function clientOf(server: FakeServer, options: Partial<ClientOptions<App>> = {}): TestClient {
  const client = createClient({
    url: server.url,
    protocol: app,
    WebSocket,
    environment: null,
    random: () => 0.5,
    plugins: [appends, tokenRefresh],
    ...options,
  });
  // Every transition the client makes must be one the state machine allows.
  const wrong: string[] = [];
  client.events.on('state', ({ prev, next, reason }) => {
    if (!canTransition(prev.status, next.status)) wrong.push(`${prev.status} -> ${next.status} (${reason})`);
  });
  onTestFinished(() => {
    client.close();
    expect(wrong, 'transitions the state machine does not allow').toEqual([]);
  });
  return client;
}

/** Resolve with the next lifecycle event `event` (matching `pred`). */
export function nextEvent<K extends keyof ClientEvents>(
  client: AnyClient,
  event: K,
  pred: (...args: Parameters<ClientEvents[K]>) => boolean = () => true,
): Promise<Parameters<ClientEvents[K]>[0]> {
  return new Promise((resolve) => {
    const off = client.events.on(event, ((...args: Parameters<ClientEvents[K]>) => {
      if (!pred(...args)) return;
      off();
      resolve(args[0]);
    }) as ClientEvents[K]);
  });
}

/** Resolve when the client's state has `status` (now or later). */
export function reach(client: AnyClient, status: ConnectionStatus): Promise<void> {
  if (client.state.status === status) return Promise.resolve();
  return nextEvent(client, 'state', ({ next }) => next.status === status).then(() => undefined);
}

/** Record every state change of a client. */
export function recordStates(client: AnyClient): string[] {
  const log: string[] = [];
  client.events.on('state', ({ next, reason }) => log.push(`${next.status}:${reason}`));
  return log;
}
