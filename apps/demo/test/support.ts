import { request } from 'node:http';
import { connect } from 'node:net';
import { appends, createClient, type HoldfastClient, tokenRefresh } from '@holdfast/client';
import WebSocket from 'ws';
import { type Demo_, type DemoOptions, startDemo } from '../src/server/app.js';
import { type Demo, demo } from '../src/shared/protocol.js';

/** A response as read off the socket. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control of the path, method and body (no URL normalising). */
export function send(
  port: number,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // An explicit length: Node sends bodies of GET/DELETE/OPTIONS without one otherwise.
    const length = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const options = {
      host: '127.0.0.1',
      port,
      method,
      path,
      headers: { ...length, ...headers },
      agent: false,
    };
    const req = request(options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Raw bytes on a TCP connection; resolves with what came back before the server closed it. */
export function raw(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let out = '';
    socket.on('data', (c) => (out += String(c)));
    socket.on('error', reject);
    socket.on('close', () => resolve(out));
    socket.write(bytes, () => socket.end());
  });
}

/** POST /api/login as a browser holding `secret`. */
export async function login(port: number, name: string, secret: string): Promise<Reply> {
  return send(port, 'POST', '/api/login', JSON.stringify({ name, secret }), {
    'content-type': 'application/json',
  });
}

/** A started demo on a free loopback port, closed by the returned cleanup. */
export async function demoServer(options: DemoOptions = {}): Promise<Demo_> {
  return startDemo({ port: 0, host: '127.0.0.1', nodeName: 'test', ...options });
}

/** A connected Node client of `demo` signed in as `name` (with its own browser secret). */
export async function user(
  app: Demo_,
  name: string,
  secret = `secret-of-${name}-0123456789`,
): Promise<HoldfastClient<Demo>> {
  const client = createClient({
    url: `ws://127.0.0.1:${app.port}/ws`,
    protocol: demo,
    WebSocket,
    environment: null,
    token: async () => JSON.parse((await login(app.port, name, secret)).body).token,
    // As the web client: runs grow by appends, the sign-in token is refreshed before it expires.
    plugins: [appends, tokenRefresh],
  });
  await client.connect();
  return client;
}
