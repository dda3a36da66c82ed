import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import { createServer, type Engine, type HoldfastServer, type Logger } from '@holdfast/server';
import { jwtAuthenticator } from '@holdfast/server/jwt';
import { metricsHandler } from '@holdfast/server/metrics';
import { SignJWT } from 'jose';
import { type Demo, demo, RoomName } from '../shared/protocol.js';
import { agentRun } from './agent.js';
import { type HistoryStore, memoryHistory } from './history.js';
import { serveStatic } from './static.js';

/** Options of the demo server. */
export interface DemoOptions {
  /** Port (0 picks a free one). @default 3000 */
  port?: number;
  /** Host. @default '0.0.0.0' */
  host?: string;
  /** HS256 key for the demo's JWTs. @default random, generated at start */
  jwtSecret?: string;
  /** Lifetime of issued tokens, seconds. @default 600 */
  tokenTtlSec?: number;
  /** Connections per user. @default 5 */
  connectionsPerUser?: number;
  /** Storage engine (Redis for many nodes). @default in memory */
  engine?: Engine;
  /** Chat history store. @default in memory */
  history?: HistoryStore;
  /** Where the built UI is. @default dist/public next to this file */
  publicDir?: string;
  /** A name for this node, shown in stats. @default `node-<pid>` */
  nodeName?: string;
  /** Logger. @default silent */
  logger?: Logger;
}

/** A running demo. */
export interface Demo_ {
  url: string;
  port: number;
  server: HoldfastServer<Demo>;
  close(): Promise<void>;
}

const NAME = /^[A-Za-z0-9 _-]{1,24}$/;
const AUDIENCE = 'holdfast-demo';

async function readJson(req: IncomingMessage, limit = 4096): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

/** Start the demo: the UI, the WebSocket endpoint and the HTTP API on one port. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo_> {
  const secret = options.jwtSecret ?? randomBytes(32).toString('base64url');
  const key = new TextEncoder().encode(secret);
  const ttl = options.tokenTtlSec ?? 600;
  const history = options.history ?? memoryHistory();
  const nodeName = options.nodeName ?? `node-${process.pid}`;
  const authenticate = jwtAuthenticator({ secret, audience: AUDIENCE, issuer: AUDIENCE });
  const runs = new Set<ReturnType<typeof setTimeout>>();

  const http = createHttpServer();
  const server = createServer({
    protocol: demo,
    server: http,
    path: '/ws',
    authenticate,
    authorizeJoin: ({ room }) => RoomName.safeParse(room).success,
    limits: { connectionsPerUser: options.connectionsPerUser ?? 5, connectionsPerAddress: 10_000 },
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });

  server.handle('say', async ({ room, text, nonce }, ctx) => {
    if (server.countConnections({ sessionId: ctx.sessionId, room }) === 0) {
      throw new HoldfastError(ErrorCode.Forbidden, `Join #${room} first`);
    }
    const line = {
      id: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      room,
      from: ctx.user,
      text,
      nonce,
      at: Date.now(),
    };
    await history.add(line);
    await server.sendToRoom(room, 'said', line);
    return { id: line.id };
  });

  server.handle('typing', async ({ room }, ctx) => {
    await server.sendToRoom(
      room,
      'typing',
      { room, user: ctx.user },
      { volatile: true, except: { sessions: [ctx.sessionId] } },
    );
  });

  server.handle('members', ({ room }) => server.presence(room));

  server.handle('startRun', ({ steps, intervalMs, task }, ctx) => {
    const runId = `run-${randomBytes(4).toString('hex')}`;
    const events = agentRun(runId, task || 'Summarise the week', steps);
    const next = () => {
      const item = events.next();
      if (item.done) return;
      server
        .sendToSession(ctx.sessionId, 'agent', item.value)
        .then((n) => {
          if (n === 0) return; // the session is gone: stop the run
          const t = setTimeout(() => {
            runs.delete(t);
            next();
          }, intervalMs);
          runs.add(t);
        })
        .catch(() => undefined);
    };
    next();
    return { runId };
  });

  const metrics = metricsHandler(server);
  const ui = serveStatic(options.publicDir ?? join(import.meta.dirname, '..', 'public'));

  http.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/api/login') {
      readJson(req)
        .then(async (body) => {
          const name =
            typeof (body as { name?: unknown }).name === 'string'
              ? (body as { name: string }).name.trim()
              : '';
          if (!NAME.test(name)) return json(res, 400, { error: 'name: 1-24 letters, digits, space, _ or -' });
          const now = Math.floor(Date.now() / 1000);
          const token = await new SignJWT({})
            .setProtectedHeader({ alg: 'HS256' })
            .setSubject(name)
            .setAudience(AUDIENCE)
            .setIssuer(AUDIENCE)
            .setIssuedAt(now)
            .setExpirationTime(now + ttl)
            .sign(key);
          json(res, 200, { token, user: name, expiresAt: (now + ttl) * 1000 });
        })
        .catch(() => json(res, 400, { error: 'invalid JSON body' }));
      return;
    }
    if (req.method === 'GET' && path === '/api/stats')
      return json(res, 200, { node: nodeName, ...server.stats() });
    if (req.method === 'GET' && path === '/metrics') return metrics(req, res);
    const history_ = /^\/api\/rooms\/([^/]+)\/history$/.exec(path);
    if (req.method === 'GET' && history_) {
      const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      Promise.resolve(authenticate({ token, tokenSource: 'hello', headers: {}, url: '', remoteAddress: '' }))
        .catch(() => null)
        .then(async (auth) => {
          if (!auth) return json(res, 401, { error: 'unauthorized' });
          const room = decodeURIComponent(history_[1]!);
          if (!RoomName.safeParse(room).success) return json(res, 400, { error: 'bad room name' });
          json(res, 200, await history.list(room));
        });
      return;
    }
    if (req.method === 'GET' && path === '/healthz') return json(res, 200, { ok: true, node: nodeName });
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
      for (const t of runs) clearTimeout(t);
      await server.close();
      await history.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
