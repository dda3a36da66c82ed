import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { Socket } from 'node:net';
import { app, RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { createServer } from '../src/index.js';
import { defer } from './support/fixture.js';

/** A server attached to an HTTP server of the test's, with the accepted TCP sockets in view. */
async function attached() {
  const http = createHttpServer();
  const sockets: Socket[] = [];
  http.on('connection', (s) => sockets.push(s));
  const server = createServer({ protocol: app, server: http, authorizeJoin: () => false });
  defer(async () => {
    await server.close();
    http.close();
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const url = server.url();
  const connect = async () => {
    const c = await RawClient.open(url);
    defer(async () => c.ws.terminate());
    return c;
  };
  return { server, sockets, connect };
}

/** The `ws` WebSocket that owns a raw socket (`ws` tags the socket with it). */
function wsOf(socket: Socket): { listenerCount(event: string): number } {
  const tag = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'websocket');
  return (socket as unknown as Record<symbol, { listenerCount(event: string): number }>)[tag!]!;
}

describe('the socket of a connection', () => {
  it('holds no listener of its own and no cached peer address, and every event still reaches the server', async () => {
    const { server, sockets, connect } = await attached();
    const c = await connect();
    expect((await c.hello()).t).toBe('welcome');
    const [socket] = sockets;
    // The address is kept by the connection, not in Node's cache on the socket.
    expect(server.connectionsList()[0]!.remoteAddress).toBe('127.0.0.1');
    expect((socket as unknown as { _peername?: unknown })._peername).toBeUndefined();
    // Only `ws`'s own error listener on the raw socket (the upgrade's is gone).
    expect(socket!.listenerCount('error')).toBe(1);
    const ws = wsOf(socket!);
    for (const event of ['message', 'ping', 'close', 'error']) expect(ws.listenerCount(event)).toBe(0);

    // message: a join is answered.
    c.send({ t: 'join', id: 'j', room: 'lobby' });
    expect((await c.next((f) => f.t === 'res' && f.id === 'j')).error.code).toBe('FORBIDDEN');
    // ping: answered by the server with a pong.
    const pong = once(c.ws, 'pong');
    c.ws.ping(Buffer.from('hi'));
    expect(String((await pong)[0])).toBe('hi');
    // close: the server sees it.
    const gone = new Promise<{ code: number }>((resolve) => server.on('disconnect', resolve));
    await c.close();
    expect((await gone).code).toBe(1000);
    expect(server.countConnections()).toBe(0);
  });

  it('a protocol error on the socket (an unmasked frame) closes it with 1002; the server goes on', async () => {
    const { server, connect } = await attached();
    const c = await connect();
    await c.hello();
    // A client frame without a mask: `ws` emits 'error' on the server's socket, which has no
    // 'error' listener (an unhandled 'error' would throw in the server).
    (c.ws as unknown as { _socket: Socket })._socket.write(Buffer.from([0x81, 0x01, 0x61]));
    expect((await c.closedPromise()).code).toBe(1002);
    const d = await connect();
    expect((await d.hello()).t).toBe('welcome');
    expect(server.countConnections()).toBe(1);
  });
});
