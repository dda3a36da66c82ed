import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { FaultProxy } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { defer } from '../support/fixture.js';

/** An echo server on a free port. */
async function echoServer(): Promise<number> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write(d));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  defer(() => new Promise((r) => server.close(r)));
  return (server.address() as { port: number }).port;
}

/**
 * Write `chunks` separate chunks (each flushed before the next) and return how long until the
 * last echo arrived.
 */
async function roundTrip(port: number, chunks: number): Promise<number> {
  const s: Socket = connect(port, '127.0.0.1');
  s.on('error', () => {});
  defer(() => s.destroy());
  await once(s, 'connect');
  s.setNoDelay(true);
  let got = 0;
  const done = new Promise<void>((resolve) =>
    s.on('data', (d) => {
      got += d.length;
      if (got >= chunks) resolve();
    }),
  );
  const start = Date.now();
  for (let i = 0; i < chunks; i++) {
    s.write('x');
    await new Promise((r) => setTimeout(r, 5));
  }
  await done;
  return Date.now() - start;
}

// Latency must delay each byte by the added latency, not throttle the link: a network with a
// 2 s spike still carries its traffic, 2 s late.
describe('added latency is a delay, not a throttle', () => {
  const latencyMs = 150;
  const chunks = 20;
  // Writing takes ~chunks*5 ms; each chunk then arrives latencyMs after it was written (twice:
  // the echo passes the proxy both ways).
  const bound = chunks * 5 + 2 * latencyMs + 400;

  it('FaultProxy.latency(ms) delays every chunk by ms from its arrival, pipelined', async () => {
    const proxy = await FaultProxy.start({ port: await echoServer() });
    defer(() => proxy.close());
    proxy.latency(latencyMs);
    const ms = await roundTrip(proxy.port, chunks);
    // Sleeps chained per chunk would make chunk k leave after k*latencyMs (3 s here).
    expect(ms).toBeGreaterThanOrEqual(2 * latencyMs);
    expect(ms).toBeLessThan(bound);
  });
});
