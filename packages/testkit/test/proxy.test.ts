import { EventEmitter, once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultProxy } from '../src/index.js';

const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** An echo server that records how its connections ended. */
async function echo() {
  const ends = new EventEmitter<{ end: [how: string] }>();
  const server = createServer((s) => {
    s.on('error', (e: NodeJS.ErrnoException) => ends.emit('end', e.code ?? 'error'));
    s.on('end', () => ends.emit('end', 'fin'));
    s.on('data', (d) => s.write(d));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => new Promise((r) => server.close(r)));
  return { port: (server.address() as { port: number }).port, ends };
}

async function client(port: number): Promise<Socket & { got: () => string }> {
  const s = connect(port, '127.0.0.1') as Socket & { got: () => string };
  let data = '';
  s.on('data', (d) => {
    data += d;
  });
  s.on('error', () => {});
  s.got = () => data;
  await once(s, 'connect');
  closers.push(async () => s.destroy());
  return s;
}

async function until(cond: () => boolean, s: Socket) {
  while (!cond()) await once(s, 'data');
}

describe('FaultProxy', () => {
  it('forwards both ways, sliced to one byte per write, in order', async () => {
    const { port } = await echo();
    const proxy = await FaultProxy.start({ port });
    closers.push(() => proxy.close());
    proxy.slice(1);
    const c = await client(proxy.port);
    const msg = 'hello through a one-byte link';
    c.write(msg);
    await until(() => c.got().length === msg.length, c);
    expect(c.got()).toBe(msg);
    expect(proxy.bytes.up).toBe(msg.length);
  });

  it('cuts with RST or FIN', async () => {
    const { port, ends } = await echo();
    const proxy = await FaultProxy.start({ port });
    closers.push(() => proxy.close());
    const a = await client(proxy.port);
    a.write('x');
    await until(() => a.got() === 'x', a);
    const closedA = new Promise<string>((r) => {
      a.on('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
      a.on('end', () => r('fin'));
    });
    const serverA = once(ends, 'end');
    expect(proxy.cut('rst')).toBe(1);
    expect(await closedA).toBe('ECONNRESET');
    expect(await serverA).toEqual(['ECONNRESET']);

    const b = await client(proxy.port);
    b.write('y');
    await until(() => b.got() === 'y', b);
    const closedB = new Promise<string>((r) => b.on('end', () => r('fin')));
    const serverB = once(ends, 'end');
    proxy.cut('fin');
    expect(await closedB).toBe('fin');
    expect(await serverB).toEqual(['fin']);
  });

  it('freezes a link without closing it (half-open), and refuses new connections on demand', async () => {
    const { port } = await echo();
    const proxy = await FaultProxy.start({ port });
    closers.push(() => proxy.close());
    const c = await client(proxy.port);
    proxy.freeze();
    const dropped = once(proxy, 'dropped');
    c.write('lost');
    expect(await dropped).toEqual([4]);
    proxy.unfreeze();
    c.write('kept');
    await until(() => c.got().includes('kept'), c);
    expect(c.got()).toBe('kept');
    expect(c.destroyed).toBe(false);
    proxy.refuse(true);
    const refused = connect(proxy.port, '127.0.0.1');
    const err = await new Promise<NodeJS.ErrnoException>((r) => refused.on('error', r));
    expect(err.code).toBe('ECONNRESET');
  });

  it('adds latency while keeping order', async () => {
    const { port } = await echo();
    const proxy = await FaultProxy.start({ port });
    closers.push(() => proxy.close());
    const c = await client(proxy.port);
    proxy.latency(30);
    c.write('a');
    proxy.latency(0);
    c.write('b');
    await until(() => c.got().length === 2, c);
    expect(c.got()).toBe('ab');
  });
});
