import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServerApi } from './api.js';

/** Any Holdfast server, whatever its protocol. */
export type AnyServer = Pick<
  ServerApi<any>,
  'stats' | 'connectionsList' | 'userSessions' | 'logout' | 'disconnect' | 'closeIdle'
>;

/** A plain Node HTTP handler, usable with `http`, Express (`app.get(path, h)`) and Fastify (`reply.hijack()`). */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Write a JSON response (shared with `metrics.ts`; not exported from the package). */
export function json(res: ServerResponse, status: number, body: unknown): void {
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
        // Required: a missing or empty `minutes` (Number('') is 0) would close every connection.
        const given = url.searchParams.get('minutes');
        const minutes = given === null || given.trim() === '' ? Number.NaN : Number(given);
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
