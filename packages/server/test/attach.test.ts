import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { app, RawClient } from '@holdfast/testkit';
import express from 'express';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { createServer, statsHandler } from '../src/index.js';
import { defer } from './support/fixture.js';

async function roundTrip(url: string) {
  const c = await RawClient.open(url);
  defer(async () => c.ws.terminate());
  const w = await c.hello();
  c.send({ t: 'pub', id: 'a', type: 'add', data: { a: 1, b: 2 } });
  expect(await c.next((f) => f.t === 'res')).toMatchObject({ ok: true, result: 3 });
  return w;
}

describe('attaching', () => {
  it('to a plain node:http server on a path, leaving other upgrades and requests alone', async () => {
    const http = createHttpServer((_req, res) => res.end('plain'));
    const hf = createServer({ protocol: app, server: http, path: '/live' });
    hf.handle('add', ({ a, b }) => a + b);
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    defer(async () => {
      await hf.close();
      http.close();
    });
    const { port } = http.address() as AddressInfo;
    await roundTrip(`ws://127.0.0.1:${port}/live`);
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('plain');
    // Another path is not ours: nothing answers the upgrade there.
    const other = new RawClient(`ws://127.0.0.1:${port}/elsewhere`);
    const closed = await other.closedPromise();
    expect(closed.code).toBe(1006);
  });

  it('to Express (app.listen) with the stats handler mounted', async () => {
    const ex = express();
    const http = ex.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const hf = createServer({ protocol: app, server: http });
    hf.handle('add', ({ a, b }) => a + b);
    ex.get('/ws/stats', statsHandler(hf));
    defer(async () => {
      await hf.close();
      http.close();
    });
    const { port } = http.address() as AddressInfo;
    await roundTrip(`ws://127.0.0.1:${port}/ws`);
    const stats = await (await fetch(`http://127.0.0.1:${port}/ws/stats`)).json();
    expect(stats).toMatchObject({ connections: 1, sessions: 1, counters: { messagesIn: 1 } });
  });

  it('to Fastify (fastify.server)', async () => {
    const fastify = Fastify();
    fastify.get('/health', async () => ({ ok: true }));
    const hf = createServer({ protocol: app, server: fastify.server, path: '/ws' });
    hf.handle('add', ({ a, b }) => a + b);
    await fastify.listen({ port: 0, host: '127.0.0.1' });
    defer(async () => {
      await hf.close();
      await fastify.close();
    });
    const { port } = fastify.server.address() as AddressInfo;
    await roundTrip(`ws://127.0.0.1:${port}/ws`);
    expect(await (await fetch(`http://127.0.0.1:${port}/health`)).json()).toEqual({ ok: true });
  });

  it('supports await using', async () => {
    let url: string;
    {
      await using hf = createServer({ protocol: app, port: 0 });
      hf.handle('add', ({ a, b }) => a + b);
      await hf.ready();
      url = hf.url();
      await roundTrip(url);
    }
    const after = new RawClient(url);
    expect((await after.closedPromise()).code).toBe(1006);
  });
});
