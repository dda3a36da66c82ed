import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import type { ServerApi } from './api.js';

/** Any Holdfast server, whatever its protocol. */
type AnyServer = Pick<
  ServerApi<any>,
  'stats' | 'connectionsList' | 'userSessions' | 'logout' | 'disconnect' | 'closeIdle'
>;

/** A plain Node HTTP handler, usable with `http`, Express (`app.get(path, h)`) and Fastify (`reply.hijack()`). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Serve `server.stats()` as JSON (the seeds' `/ws/stats`).
 *
 * @example
 * ```ts
 * app.get('/ws/stats', statsHandler(server));
 * ```
 */
export function statsHandler(server: AnyServer): HttpHandler {
  return (_req, res) => json(res, 200, server.stats());
}

/**
 * Serve Prometheus metrics (text format) from a registry of its own (never the global one).
 * Pass `registry` to add Holdfast's metrics to yours.
 *
 * @example
 * ```ts
 * app.get('/metrics', metricsHandler(server));
 * ```
 */
export function metricsHandler(
  server: AnyServer,
  options: { registry?: Registry; prefix?: string } = {},
): HttpHandler & { registry: Registry } {
  const registry = options.registry ?? new Registry();
  const p = options.prefix ?? 'holdfast_';
  const gauge = (
    name: string,
    help: string,
    read: (s: ReturnType<typeof server.stats>) => number | undefined,
  ) =>
    new Gauge({
      name: p + name,
      help,
      registers: [registry],
      collect() {
        const v = read(server.stats());
        if (v !== undefined) this.set(v);
      },
    });
  gauge('connections', 'Open WebSocket connections on this node', (s) => s.connections);
  gauge('pending_connections', 'Connections that have not completed hello', (s) => s.pendingConnections);
  gauge('sessions', 'Sessions connected to this node', (s) => s.sessions);
  gauge('users', 'Distinct users connected to this node', (s) => s.users);
  gauge('rooms', 'Rooms with members', (s) => s.rooms);
  gauge('retained_messages', 'Messages retained in streams', (s) => s.retention?.messages);
  gauge('retained_bytes', 'Bytes retained in streams', (s) => s.retention?.bytes);
  gauge('inflight_handlers', 'Handlers running now', (s) => s.inflight);
  const counters: [string, string, keyof ReturnType<typeof server.stats>['counters']][] = [
    ['frames_in_total', 'Frames received', 'framesIn'],
    ['frames_out_total', 'Frames sent', 'framesOut'],
    ['messages_in_total', 'Client messages handled', 'messagesIn'],
    ['published_total', 'Messages published to streams', 'published'],
    ['deliveries_total', 'Stream messages written to sockets', 'deliveries'],
    ['acks_total', 'Ack frames received', 'acks'],
    ['resumes_total', 'Sessions resumed', 'resumes'],
    ['resume_failures_total', 'Resumes refused (expired or forbidden)', 'resumeFailures'],
    ['gaps_total', 'Gaps reported', 'gaps'],
    ['sessions_created_total', 'Sessions created', 'sessionsCreated'],
    ['sessions_expired_total', 'Sessions expired', 'sessionsExpired'],
    ['duplicates_total', 'Duplicate client messages answered from dedupe', 'duplicates'],
    ['volatile_drops_total', 'Volatile messages dropped under backpressure', 'volatileDrops'],
    ['handler_errors_total', 'Handlers that threw', 'handlerErrors'],
    ['engine_errors_total', 'Storage engine errors', 'engineErrors'],
  ];
  for (const [name, help, key] of counters) {
    new Counter({
      name: p + name,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(server.stats().counters[key] as number);
      },
    });
  }
  new Counter({
    name: `${p}closes_total`,
    help: 'Connections closed by the server, by close code',
    labelNames: ['code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, n] of Object.entries(server.stats().counters.closes)) this.inc({ code }, n);
    },
  });
  const handler = ((_req: IncomingMessage, res: ServerResponse) => {
    registry
      .metrics()
      .then((text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(text);
      })
      .catch(() => json(res, 500, { error: 'metrics unavailable' }));
  }) as HttpHandler & { registry: Registry };
  handler.registry = registry;
  return handler;
}

/**
 * Admin operations over HTTP, guarded by `authorize` (refused with 403 unless it returns true).
 * Routes, relative to where the handler is mounted (the last path segments are matched):
 * - `GET  .../users/:user` — the user's connections (this node) and sessions
 * - `POST .../users/:user/logout` — end all the user's sessions
 * - `POST .../sessions/:id/disconnect?end=false` — disconnect a session (ended unless `end=false`)
 * - `POST .../idle?minutes=N` — close connections idle for N minutes
 *
 * @example
 * ```ts
 * app.use('/admin', adminHandler(server, { authorize: (req) => req.headers.authorization === `Bearer ${ADMIN}` }));
 * ```
 */
export function adminHandler(
  server: AnyServer,
  options: { authorize: (req: IncomingMessage) => boolean | Promise<boolean> },
): HttpHandler {
  return (req, res) => {
    void (async () => {
      if (!(await options.authorize(req))) return json(res, 403, { error: 'forbidden' });
      const url = new URL(req.url ?? '/', 'http://x');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const n = parts.length;
      const method = req.method ?? 'GET';
      if (method === 'GET' && parts[n - 2] === 'users') {
        const user = parts[n - 1]!;
        return json(res, 200, {
          user,
          connections: server.connectionsList({ user }),
          sessions: await server.userSessions(user),
        });
      }
      if (method === 'POST' && parts[n - 3] === 'users' && parts[n - 1] === 'logout') {
        return json(res, 200, { ended: await server.logout(parts[n - 2]!) });
      }
      if (method === 'POST' && parts[n - 3] === 'sessions' && parts[n - 1] === 'disconnect') {
        await server.disconnect(parts[n - 2]!, { end: url.searchParams.get('end') !== 'false' });
        return json(res, 200, { ok: true });
      }
      if (method === 'POST' && parts[n - 1] === 'idle') {
        const minutes = Number(url.searchParams.get('minutes'));
        if (!Number.isFinite(minutes) || minutes < 0)
          return json(res, 400, { error: 'minutes must be a number >= 0' });
        return json(res, 200, { closed: server.closeIdle(minutes * 60_000) });
      }
      json(res, 404, { error: 'not found' });
    })().catch(() => {
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
    });
  };
}
