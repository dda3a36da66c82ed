// Which messages zod issues carry on each side when a server and a client share one process and
// one protocol object: the server's (they go on the wire) are zod's English ones, the client's
// are those of the locale the app configured (none here: zod/mini's defaults). This file imports
// no classic zod, which would install its English locale globally, and loads the client before
// the server on purpose: nothing one side does may change the other's messages.
import { defineProtocol, HoldfastError } from '@holdfast/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import * as z from 'zod/mini';
import { createClient } from '../../src/index.js';

const app = defineProtocol({
  client: { note: z.object({ n: z.number() }) },
  server: { tick: z.object({ n: z.number() }) },
});

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A raw socket that collects frames; `next(t)` resolves with the first frame of type `t`. */
async function rawSocket(url: string) {
  const ws = new WebSocket(url, ['holdfast.v1']);
  ws.on('error', () => {});
  cleanups.push(() => ws.terminate());
  const frames: Record<string, unknown>[] = [];
  const waiters: { t: string; resolve: (f: Record<string, unknown>) => void }[] = [];
  ws.on('message', (data) => {
    const f = JSON.parse(String(data)) as Record<string, unknown>;
    const w = waiters.find((x) => x.t === f.t);
    if (w) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(f);
    } else frames.push(f);
  });
  await new Promise((resolve) => ws.once('open', resolve));
  const next = (t: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const i = frames.findIndex((f) => f.t === t);
      if (i >= 0) resolve(frames.splice(i, 1)[0]!);
      else waiters.push({ t, resolve });
    });
  return { send: (frame: unknown) => ws.send(JSON.stringify(frame)), next };
}

async function localIssues(): Promise<unknown> {
  const client = createClient({ url: 'ws://127.0.0.1:9/ws', protocol: app, WebSocket, environment: null });
  cleanups.push(() => client.close());
  const error = await client.send('note', { n: 'x' } as never).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HoldfastError);
  return (error as HoldfastError).issues;
}

describe('zod messages with a client and a server in one process', () => {
  it("server issues are zod's English, the client's zod/mini's defaults, whatever loads first", async () => {
    expect(z.config().localeError).toBeUndefined(); // no classic zod in this process
    // The client first: its local validation uses no locale.
    const defaults = [{ path: ['n'], message: 'Invalid input' }];
    expect(await localIssues()).toEqual(defaults);

    const { createServer } = await import('@holdfast/server');
    const server = createServer({ protocol: app, port: 0 });
    await server.ready();
    cleanups.push(() => server.close());
    const raw = await rawSocket(server.url());
    raw.send({ t: 'hello', version: 1 });
    await raw.next('welcome');
    raw.send({ t: 'pub', id: 'p1', type: 'note', data: { n: 'x' } });
    expect(await raw.next('res')).toMatchObject({
      ok: false,
      error: {
        code: 'VALIDATION_FAILED',
        issues: [{ path: ['n'], message: 'Invalid input: expected number, received string' }],
      },
    });
    raw.send({ t: 'pub', id: 'x'.repeat(65), type: 'note' });
    expect(await raw.next('error')).toMatchObject({
      error: {
        code: 'STRING_TOO_LONG',
        message: 'Invalid "pub" frame at id: Too big: expected string to have <=64 characters',
      },
    });

    // The server set nothing global: the client's messages are still zod/mini's defaults.
    expect(z.config().localeError).toBeUndefined();
    expect(await localIssues()).toEqual(defaults);
  });

  it("uses the locale the app configured on the client (zod/mini's own convention)", async () => {
    z.config(z.locales.en());
    try {
      expect(await localIssues()).toEqual([
        { path: ['n'], message: 'Invalid input: expected number, received string' },
      ]);
    } finally {
      z.config({ localeError: undefined });
    }
  });
});
