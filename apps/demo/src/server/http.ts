import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HoldfastServer } from '@holdfast/server';
import { type ChatLine, type Demo, RoomName } from '../shared/protocol.js';
import type { ClaimStore } from './claims.js';

/** What the HTTP routes need from the demo. */
export interface HttpDeps {
  server: HoldfastServer<Demo>;
  claims: ClaimStore;
  /** The per-address login rate limit: false when over. */
  allowLogin: (address: string) => boolean;
  /** A signed token for a user. */
  sign: (user: string) => Promise<{ token: string; expiresAt: number }>;
  /** The user of a bearer token, or undefined. */
  verify: (token: string) => Promise<string | undefined>;
  nodeName: string;
  metrics: (req: IncomingMessage, res: ServerResponse) => void;
  ui: (req: IncomingMessage, res: ServerResponse) => void;
}

const NAME = /^[A-Za-z0-9 _-]{1,24}$/;
const SECRET = /^[A-Za-z0-9_-]{16,128}$/;
/** Request bodies the API reads at most (a login is well under 200 bytes). */
const BODY_LIMIT = 4096;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (Number(req.headers['content-length'] ?? 0) > BODY_LIMIT) throw new HttpError(413, 'body too large');
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw new HttpError(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new HttpError(400, 'invalid JSON body');
  }
}

function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return void res.end();
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

/** Whether any session of `user` is a member of `room` (on any node). */
async function memberOf(server: HoldfastServer<Demo>, user: string, room: string): Promise<boolean> {
  for (const { sessionId } of await server.userSessions(user)) {
    const record = await server.engine.getSession(sessionId);
    if (record?.rooms.includes(room)) return true;
  }
  return false;
}

async function login(deps: HttpDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (!deps.allowLogin(req.socket.remoteAddress ?? '')) {
    // Drain what was sent so the connection stays usable, then refuse.
    req.resume();
    return json(
      res,
      429,
      { error: 'too many sign-ins from this address: wait a minute' },
      { 'retry-after': '60' },
    );
  }
  const body = (await readJson(req)) as { name?: unknown; secret?: unknown } | null;
  const name = typeof body?.name === 'string' ? body.name.trim() : '';
  if (!NAME.test(name)) throw new HttpError(400, 'name: 1-24 letters, digits, space, _ or -');
  const secret = typeof body?.secret === 'string' ? body.secret : '';
  if (!SECRET.test(secret)) throw new HttpError(400, 'secret: 16-128 characters A-Z a-z 0-9 _ -');
  const claimed = await deps.claims.claim(name, secret);
  if (claimed === 'taken')
    throw new HttpError(409, `"${name}" is signed in from another browser: pick another name`);
  if (claimed === 'full') throw new HttpError(503, 'the demo is full: try again later');
  const { token, expiresAt } = await deps.sign(name);
  json(res, 200, { token, user: name, expiresAt });
}

async function history(
  deps: HttpDeps,
  req: IncomingMessage,
  res: ServerResponse,
  raw: string,
): Promise<void> {
  const header = req.headers.authorization ?? '';
  const user = header.startsWith('Bearer ') ? await deps.verify(header.slice(7)) : undefined;
  if (!user) throw new HttpError(401, 'unauthorized');
  let room: string;
  try {
    room = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'bad room name');
  }
  if (!RoomName.safeParse(room).success) throw new HttpError(400, 'bad room name');
  if (!(await memberOf(deps.server, user, room))) throw new HttpError(403, `join #${room} first`);
  // The room's retained chat lines, read from the SDK (the same lines a join's rewind shows).
  const { messages } = await deps.server.history({ room }, { count: 200 });
  const lines: ChatLine[] = [];
  for (const m of messages) if (m.type === 'said') lines.push(m.data as ChatLine);
  json(res, 200, lines);
}

/**
 * The demo's HTTP routes. No request can crash the process: every route's failure becomes a
 * JSON error (4xx for bad input, 500 otherwise) and nothing is thrown out of the listener.
 */
export function requestHandler(deps: HttpDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    if (path === '/api/login') {
      if (method !== 'POST') return json(res, 405, { error: 'use POST' }, { allow: 'POST' });
      return login(deps, req, res);
    }
    const historyMatch = /^\/api\/rooms\/([^/]+)\/history$/.exec(path);
    const readOnly = method === 'GET' || method === 'HEAD';
    if (historyMatch || path === '/api/stats' || path === '/metrics' || path === '/healthz') {
      if (!readOnly) return json(res, 405, { error: 'use GET' }, { allow: 'GET, HEAD' });
    }
    if (historyMatch) return history(deps, req, res, historyMatch[1]!);
    if (path === '/api/stats') return json(res, 200, { node: deps.nodeName, ...deps.server.stats() });
    if (path === '/metrics') return deps.metrics(req, res);
    if (path === '/healthz') return json(res, 200, { ok: true, node: deps.nodeName });
    if (path.startsWith('/api/')) return json(res, 404, { error: 'not found' });
    if (readOnly) return deps.ui(req, res);
    json(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
  };
  return (req, res) => {
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) json(res, err.status, { error: err.message });
      else json(res, 500, { error: 'internal error' });
    });
  };
}
