import { defineProtocol } from '@holdfast/protocol';
import { createServer, type HoldfastServer, type ServerOptions } from '@holdfast/server';
import { FaultProxy } from '@holdfast/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { type ClientOptions, createClient, type GapEvent, type HoldfastClient } from '../../src/index.js';

// Real server, real sockets on loopback, a real TCP proxy for the faults.

const app = defineProtocol({
  client: { note: z.object({ n: z.int() }) },
  server: { tick: z.object({ n: z.int() }) },
  requests: { add: { request: z.object({ a: z.number(), b: z.number() }), response: z.number() } },
});
type App = typeof app;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(
  serverOptions: Partial<ServerOptions<App>> = {},
  clientOptions: Partial<ClientOptions<App>> = {},
) {
  const server = createServer<App>({ protocol: app, port: 0, ...serverOptions });
  await server.ready();
  cleanups.push(() => server.close());
  const proxy = await FaultProxy.start({ port: server.address().port });
  cleanups.push(() => proxy.close());
  const client = createClient({
    url: `ws://127.0.0.1:${proxy.port}/ws`,
    protocol: app,
    WebSocket,
    environment: null,
    // Fast retries keep the suite quick; the backoff itself is tested with fake time elsewhere.
    reconnect: { initialDelayMs: 20, minDelayMs: 5, maxDelayMs: 100 },
    ...clientOptions,
  });
  cleanups.push(() => client.close());
  return { server, proxy, client };
}

function connected(client: HoldfastClient<App>): Promise<void> {
  if (client.state.status === 'connected') return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.events.on('state', ({ next }) => {
      if (next.status === 'connected') {
        off();
        resolve();
      }
    });
  });
}

function sessionOf(client: HoldfastClient<App>): string {
  const s = client.state;
  if (s.status !== 'connected') throw new Error(`not connected: ${s.status}`);
  return s.sessionId;
}

describe('client against the real server', () => {
  it('connects, requests, sends and receives, typed end to end', async () => {
    const { server, client } = await setup({ authorizeJoin: () => true });
    const notes: number[] = [];
    server.handle('note', ({ n }) => {
      notes.push(n);
      return { stored: n };
    });
    server.handle('add', ({ a, b }) => a + b);
    const ticks: number[] = [];
    client.on('tick', ({ n }, meta) => {
      ticks.push(n);
      expect(meta.room).toBe('r');
    });
    await client.connect();
    expect(await client.request('add', { a: 2, b: 40 })).toBe(42);
    expect(await client.send('note', { n: 7 })).toEqual({ stored: 7 });
    await client.join('r');
    await server.sendToRoom('r', 'tick', { n: 1 });
    await expect.poll(() => ticks).toEqual([1]);
    expect(notes).toEqual([7]);
  });

  it('delivers a 10,000-message stream exactly once and in order while the socket is killed at random points', async () => {
    const { server, proxy, client } = await setup({ retention: { maxMessages: 20_000 } });
    const got: number[] = [];
    client.on('tick', ({ n }) => got.push(n));
    await client.connect();
    const sessionId = sessionOf(client);
    const total = 10_000;
    // Cut points chosen at random (seeded so a failure can be replayed).
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const cuts = new Set(Array.from({ length: 8 }, () => 500 + Math.floor(random() * (total - 1000))));
    let cutCount = 0;
    for (let n = 1; n <= total; n++) {
      await server.sendToSession(sessionId, 'tick', { n });
      if (cuts.has(n)) {
        proxy.cut(n % 2 ? 'rst' : 'fin');
        cutCount += 1;
      }
      if (n % 100 === 0) await new Promise((r) => setImmediate(r));
    }
    await expect.poll(() => got.length, { timeout: 20_000 }).toBe(total);
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(cutCount).toBe(cuts.size);
    expect(proxy.accepted).toBeGreaterThan(1);
    expect(server.stats().counters.resumes).toBeGreaterThan(0);
  });

  it('queues messages while offline, sends them in order on reconnect, and each is handled once', async () => {
    const { server, proxy, client } = await setup();
    const handled: number[] = [];
    server.handle('note', ({ n }) => {
      handled.push(n);
      return n;
    });
    await client.connect();
    proxy.refuse(true);
    proxy.cut('rst');
    await new Promise<void>((resolve) => {
      const off = client.events.on('state', ({ next }) => {
        if (next.status === 'reconnecting') {
          off();
          resolve();
        }
      });
    });
    const sends = Array.from({ length: 50 }, (_, i) => client.send('note', { n: i + 1 }));
    expect(client.pending().map((p) => p.state)).toEqual(Array(50).fill('queued'));
    proxy.refuse(false);
    expect(await Promise.all(sends)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(handled).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(client.pending()).toEqual([]);
  });

  it('resends unanswered messages after a cut and the server runs each handler once', async () => {
    const { server, proxy, client } = await setup();
    const runs = new Map<number, number>();
    server.handle('note', async ({ n }) => {
      runs.set(n, (runs.get(n) ?? 0) + 1);
      return n;
    });
    await client.connect();
    // Batches within the outbox bound (500), each cut in the middle while answers are in flight.
    for (let batch = 0; batch < 8; batch++) {
      const sends: Promise<unknown>[] = [];
      for (let i = 1; i <= 250; i++) {
        sends.push(client.send('note', { n: batch * 250 + i }));
        if (i === 125) {
          await new Promise((r) => setImmediate(r));
          proxy.cut('rst');
        }
      }
      await Promise.all(sends);
    }
    expect(proxy.accepted).toBeGreaterThanOrEqual(8);
    // Some answers were lost in the cuts: those messages came back and were answered from dedupe.
    expect(server.stats().counters.duplicates).toBeGreaterThan(0);
    expect(runs.size).toBe(2000);
    expect([...runs.values()].every((v) => v === 1)).toBe(true);
  });

  it('detects a half-open connection with the heartbeat watchdog and resumes without loss', async () => {
    const { server, proxy, client } = await setup({
      heartbeat: { intervalMs: 100, timeoutMs: 300 },
      sweepIntervalMs: 20,
    });
    const got: number[] = [];
    client.on('tick', ({ n }) => got.push(n));
    await client.connect();
    const sessionId = sessionOf(client);
    await server.sendToSession(sessionId, 'tick', { n: 1 });
    await expect.poll(() => got).toEqual([1]);
    const resumed = new Promise<void>((resolve) => {
      const off = client.events.on('welcome', (w) => {
        if (w.resumed) {
          off();
          resolve();
        }
      });
    });
    proxy.freeze();
    await server.sendToSession(sessionId, 'tick', { n: 2 }); // written into the dead link
    const reasons: string[] = [];
    client.events.on('state', ({ reason }) => reasons.push(reason));
    // unfreeze only for new connections: the frozen one stays dead
    await new Promise<void>((resolve) => {
      const off = client.events.on('state', ({ next }) => {
        if (next.status === 'reconnecting') {
          off();
          resolve();
        }
      });
    });
    proxy.cut('rst');
    proxy.unfreeze();
    await resumed;
    await expect.poll(() => got).toEqual([1, 2]);
    expect(reasons).toContain('heartbeat-timeout');
  });

  it('raises a gap event when retention no longer covers its cursor', async () => {
    const { server, proxy, client } = await setup({ retention: { maxMessages: 5 } });
    const got: number[] = [];
    const gaps: GapEvent[] = [];
    client.on('tick', ({ n }) => got.push(n));
    client.events.on('gap', (g) => gaps.push(g));
    await client.connect();
    const sessionId = sessionOf(client);
    await server.sendToSession(sessionId, 'tick', { n: 1 });
    await expect.poll(() => got).toEqual([1]);
    proxy.refuse(true);
    proxy.cut('rst');
    for (let n = 2; n <= 20; n++) await server.sendToSession(sessionId, 'tick', { n });
    proxy.refuse(false);
    await expect.poll(() => got.at(-1)).toBe(20);
    expect(got).toEqual([1, 16, 17, 18, 19, 20]);
    expect(gaps).toEqual([
      expect.objectContaining({ stream: `session:${sessionId}`, reason: 'retention', from: 2, to: 15 }),
    ]);
  });

  it('stops on a terminal close code: failed with the reason, one attempt only', async () => {
    const { proxy, client } = await setup({ authenticate: () => null }, { token: 'nope' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(client.state).toMatchObject({ status: 'failed', code: 4401 });
    expect(proxy.accepted).toBe(1);
  });

  it('reports a restart of an in-memory server as a gap (expired session) and re-joins its rooms', async () => {
    const first = createServer<App>({ protocol: app, port: 0, authorizeJoin: () => true });
    await first.ready();
    const proxy = await FaultProxy.start({ port: first.address().port });
    cleanups.push(() => proxy.close());
    const client = createClient({
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      protocol: app,
      WebSocket,
      environment: null,
      reconnect: { initialDelayMs: 20, minDelayMs: 5, maxDelayMs: 100 },
    });
    cleanups.push(() => client.close());
    const gaps: GapEvent[] = [];
    client.events.on('gap', (g) => gaps.push(g));
    await client.connect();
    await client.join('lobby');
    const before = sessionOf(client);
    await first.close();
    const second: HoldfastServer<App> = createServer<App>({
      protocol: app,
      port: 0,
      authorizeJoin: () => true,
    });
    await second.ready();
    cleanups.push(() => second.close());
    proxy.retarget(second.address().port);
    await connected(client);
    expect(sessionOf(client)).not.toBe(before);
    expect(gaps.map((g) => g.reason)).toContain('expired');
    await expect.poll(() => second.countConnections({ room: 'lobby' })).toBe(1);
  });

  it('logs out with close({ endSession: true }): the server frees the session, the next connect starts a new one', async () => {
    const { server, client } = await setup({ authorizeJoin: () => true });
    const closes: number[] = [];
    client.events.on('close', ({ code }) => closes.push(code));
    await client.connect();
    await client.join('lobby');
    const before = sessionOf(client);
    client.close({ endSession: true });
    expect(client.state).toMatchObject({ status: 'closed', code: 4000 });
    expect(closes).toEqual([4000]);
    await expect.poll(async () => server.engine.getSession(before)).toBeUndefined();
    expect(await server.presence('lobby')).toEqual([]);
    expect(client.joinedRooms()).toEqual([]);
    await client.connect();
    expect(sessionOf(client)).not.toBe(before);
    expect(client.state).toMatchObject({ status: 'connected', resumed: false });
    expect(server.countConnections({ room: 'lobby' })).toBe(0);
  });
});
