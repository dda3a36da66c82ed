import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import { createServer, type HoldfastServer } from '@holdfast/server';
import { type Example, example, RoomName } from '../shared/protocol.js';
import { serveStatic } from './static.js';

/** Options of the example server. */
export interface ExampleOptions {
  /** Port (0 picks a free one). @default 3000 */
  port?: number;
  /** Host. @default '0.0.0.0' */
  host?: string;
  /** Messages kept per stream (small values make gaps easy to see). @default 2000 */
  retentionMessages?: number;
  /** Where the built UI is. @default dist/public next to this file */
  publicDir?: string;
}

/** A running example server. */
export interface ExampleServer {
  url: string;
  port: number;
  server: HoldfastServer<Example>;
  close(): Promise<void>;
}

/** A user name: also the token. An example only: a real app verifies a token (see jwtAuthenticator). */
const NAME = /^[A-Za-z0-9_-]{1,24}$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Start the example: the built React UI, the WebSocket endpoint (`/ws`) and a small HTTP API on one port. */
export async function startExample(options: ExampleOptions = {}): Promise<ExampleServer> {
  const http = createHttpServer();
  const jobs = new Set<ReturnType<typeof setTimeout>>();
  const server = createServer({
    protocol: example,
    server: http,
    path: '/ws',
    authenticate: ({ token }) => (token && NAME.test(token) ? { user: token } : null),
    authorizeJoin: ({ room }) => RoomName.safeParse(room).success,
    limits: { connectionsPerAddress: 10_000 },
    ...(options.retentionMessages ? { retention: { maxMessages: options.retentionMessages } } : {}),
  });

  server.handle('say', async ({ room, text }, ctx) => {
    if (server.countConnections({ sessionId: ctx.sessionId, room }) === 0)
      throw new HoldfastError(ErrorCode.Forbidden, `Join #${room} first`);
    const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    await server.sendToRoom(room, 'said', { id, room, from: ctx.user, text, at: Date.now() });
    return { id };
  });

  server.handle('members', ({ room }) => server.presence(room));

  // A live progress stream: `steps` events on the room's stream, one every `intervalMs`.
  server.handle('startJob', ({ room, steps, intervalMs }, ctx) => {
    const job = `job-${randomBytes(3).toString('hex')}`;
    const step = (done: number) => {
      server
        .sendToRoom(room, 'progress', { room, job, by: ctx.user, done, total: steps })
        .then(() => {
          if (done >= steps) return;
          const t = setTimeout(() => {
            jobs.delete(t);
            step(done + 1);
          }, intervalMs);
          jobs.add(t);
        })
        .catch(() => undefined);
    };
    step(1);
    return { job, total: steps };
  });

  const ui = serveStatic(options.publicDir ?? join(import.meta.dirname, '..', 'public'));
  http.on('request', (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { ok: true });
    if (req.method === 'GET' && path === '/api/stats') return json(res, 200, server.stats());
    const members = /^\/api\/rooms\/([a-z0-9-]{1,40})\/members$/.exec(path);
    if (req.method === 'GET' && members) {
      server.presence(members[1]!).then(
        (list) => json(res, 200, list),
        () => json(res, 500, { error: 'presence unavailable' }),
      );
      return;
    }
    if (req.method === 'GET' || req.method === 'HEAD') return ui(req, res);
    json(res, 404, { error: 'not found' });
  });

  await server.ready();
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 3000, options.host ?? '0.0.0.0', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    port,
    server,
    async close() {
      for (const t of jobs) clearTimeout(t);
      await server.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
