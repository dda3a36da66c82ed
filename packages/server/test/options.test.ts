import { createServer as createHttpServer } from 'node:http';
import { defineProtocol } from '@holdfast/protocol';
import { app, ManualClock, RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createServer, MemoryEngine, resolveOptions, ServerOptionsError } from '../src/index.js';
import { defer } from './support/fixture.js';

describe('server options', () => {
  it('refuses `port` and `server` together with a typed error', () => {
    const http = createHttpServer();
    const make = () => createServer({ protocol: app, port: 0, server: http });
    expect(make).toThrow(ServerOptionsError);
    expect(make).toThrow(expect.objectContaining({ code: 'PORT_AND_SERVER' }));
    // Nothing was attached to the HTTP server.
    expect(http.listenerCount('upgrade')).toBe(0);
  });

  it('checks the protocol it serves: a reserved type name is a TypeError, before any listening', () => {
    const bad = defineProtocol({ client: { $say: z.string() } });
    const http = createHttpServer();
    expect(() => createServer({ protocol: bad, server: http })).toThrow(/reserved/);
    expect(http.listenerCount('upgrade')).toBe(0);
  });

  it('accepts neither (upgrades handed over with handleUpgrade) and both alone', async () => {
    const bare = createServer({ protocol: app });
    await bare.ready();
    defer(() => bare.close());
    expect(() => bare.address()).toThrow('not listening on a port');
    const http = createHttpServer();
    const attached = createServer({ protocol: app, server: http });
    defer(() => attached.close());
    expect(http.listenerCount('upgrade')).toBe(1);
  });

  it('refuses a second handler for one type, and a type that is not inbound', async () => {
    const server = createServer({ protocol: app });
    defer(() => server.close());
    server.handle('add', ({ a, b }) => a + b);
    const again = () => server.handle('add', ({ a, b }) => a - b);
    expect(again).toThrow(ServerOptionsError);
    expect(again).toThrow(expect.objectContaining({ code: 'DUPLICATE_HANDLER' }));
    // @ts-expect-error: a server message has no handler
    const wrong = () => server.handle('said', () => undefined);
    expect(wrong).toThrow(TypeError);
    expect(wrong).toThrow(expect.objectContaining({ code: 'NOT_INBOUND_TYPE' }));
  });

  it('resolves every default once', () => {
    const o = resolveOptions({ protocol: app, sweepIntervalMs: 1, limits: { highWaterMark: 1000 } });
    expect(o).toMatchObject({
      path: '/ws',
      host: '127.0.0.1',
      resumeWindowMs: 120_000,
      sweepIntervalMs: 10,
      shutdownCode: 1012,
      drainTimeoutMs: 10_000,
      allowMissingOrigin: true,
      allowQueryToken: false,
      heartbeat: { intervalMs: 25_000, timeoutMs: 55_000 },
      decodeOptions: { maxBytes: 65_536 },
      corkBytes: 250,
    });
    expect(o.limits).toMatchObject({ highWaterMark: 1000, maxPayload: 65_536, burst: 200 });
  });

  it("takes the memory engine's epoch from the injected random source", async () => {
    const a = new MemoryEngine({ random: () => 0.5 });
    const b = new MemoryEngine({ random: () => 0.5 });
    expect((await a.head('broadcast')).epoch).toBe((await b.head('broadcast')).epoch);
    const c = new MemoryEngine({ random: () => 0.25 });
    expect((await c.head('broadcast')).epoch).not.toBe((await a.head('broadcast')).epoch);
  });

  it("times close()'s drain on the injected clock", async () => {
    const clock = new ManualClock();
    const server = createServer({ protocol: app, port: 0, clock, drainTimeoutMs: 5000 });
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    server.handle('note', () => {
      started();
      return new Promise(() => {}); // never settles: only the drain deadline ends the wait
    });
    await server.ready();
    const c = await RawClient.open(server.url());
    defer(async () => c.ws.terminate());
    await c.hello();
    c.send({ t: 'pub', id: 'n1', type: 'note', data: { n: 1 } });
    await handlerStarted;
    let closed = false;
    const closing = server.close().then(() => {
      closed = true;
    });
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(closed).toBe(false);
    clock.advance(5000);
    expect((await c.closedPromise()).code).toBe(1012);
    await closing;
    expect(closed).toBe(true);
  });
});
