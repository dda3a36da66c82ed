import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import {
  createServer,
  type Engine,
  type HoldfastServer,
  type Logger,
  type RetentionOptions,
} from '@holdfast/server';
import { jwtAuthenticator } from '@holdfast/server/jwt';
import { metricsHandler } from '@holdfast/server/metrics';
import { SignJWT } from 'jose';
import { type Demo, demo, RoomName } from '../shared/protocol.js';
import { type ClaimStore, type LoginLimit, loginLimiter, memoryClaims } from './claims.js';
import { requestHandler } from './http.js';
import { type RunLimits, Runs } from './runs.js';
import { serveStatic } from './static.js';

/** Options of the demo server. */
export interface DemoOptions {
  /** Port (0 picks a free one). @default 3000 */
  port?: number;
  /** Interface to listen on. @default '127.0.0.1' (set `0.0.0.0` to be reachable from other machines) */
  host?: string;
  /** HS256 key for the demo's JWTs. @default random, generated at start */
  jwtSecret?: string;
  /** Lifetime of issued tokens, seconds. @default 600 */
  tokenTtlSec?: number;
  /** Connections per user. @default 5 */
  connectionsPerUser?: number;
  /** Storage engine (Redis for many nodes). @default in memory */
  engine?: Engine;
  /** Which browser holds which name. @default in memory, for the server's lifetime */
  claims?: ClaimStore;
  /** The per-address rate limit of `POST /api/login`. */
  loginLimit?: LoginLimit;
  /** Bounds of agent runs. */
  runs?: RunLimits;
  /** Rooms with members at most; joining a new room past it is refused. @default 1000 */
  maxRooms?: number;
  /**
   * Chat lines each room keeps (the server's retention of room streams; a run is one entry of its
   * own room, however long). Shown on join and after a reload through `rewind`. @default 200
   */
  roomMessages?: number;
  /** Lines a join may rewind at most (`limits.maxRewind`). @default 50 */
  maxRewind?: number;
  /**
   * How long a closed tab stays in the Members list (a reload within it does not flap).
   * @default the server's (5000)
   */
  presenceGraceMs?: number;
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

const AUDIENCE = 'holdfast-demo';

/**
 * What the demo's engine keeps: the SDK keeps each room's recent chat lines (and each run,
 * compacted to one entry of its room), so the demo has no chat store of its own. A chat line is
 * at most ~1 KB; a run of 2000 steps and 5000 tokens about 300 KB. Streams of rooms nobody is in
 * are dropped by the engine `maxAgeMs` after their last message.
 */
export function demoRetention(roomMessages = 200): RetentionOptions {
  return { room: { maxMessages: roomMessages, maxBytes: 512 * 1024, maxAgeMs: 30 * 60_000 } };
}

/** Start the demo: the UI, the WebSocket endpoint and the HTTP API on one port. */
export async function startDemo(options: DemoOptions = {}): Promise<Demo_> {
  const secret = options.jwtSecret ?? randomBytes(32).toString('base64url');
  const key = new TextEncoder().encode(secret);
  const ttl = options.tokenTtlSec ?? 600;
  const claims = options.claims ?? memoryClaims();
  const nodeName = options.nodeName ?? `node-${process.pid}`;
  const maxRooms = options.maxRooms ?? 1000;
  const authenticate = jwtAuthenticator({ secret, audience: AUDIENCE, issuer: AUDIENCE });

  const http = createHttpServer();
  const server: HoldfastServer<Demo> = createServer({
    protocol: demo,
    server: http,
    path: '/ws',
    authenticate,
    authorizeJoin: async ({ room }): Promise<boolean> => {
      if (!RoomName.safeParse(room).success) return false;
      // A bounded number of rooms: joining one that exists is always fine.
      return (server.stats().rooms ?? 0) < maxRooms || (await server.engine.roomSize(room)) > 0;
    },
    limits: {
      connectionsPerUser: options.connectionsPerUser ?? 5,
      connectionsPerAddress: 10_000,
      maxRewind: options.maxRewind ?? 50,
    },
    retention: demoRetention(options.roomMessages),
    ...(options.presenceGraceMs !== undefined ? { presenceGraceMs: options.presenceGraceMs } : {}),
    ...(options.engine ? { engine: options.engine } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const runs = new Runs(server, options.runs);

  /** Refuse what a session asks about a room it is not in. */
  const mustBeIn = (sessionId: string, room: string) => {
    if (server.countConnections({ sessionId, room }) === 0)
      throw new HoldfastError(ErrorCode.Forbidden, `Join #${room} first`);
  };

  server.handle('say', async ({ room, text, nonce }, ctx) => {
    mustBeIn(ctx.sessionId, room);
    const line = {
      id: `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`,
      room,
      from: ctx.user,
      text,
      nonce,
      at: Date.now(),
    };
    await server.sendToRoom(room, 'said', line);
    return { id: line.id };
  });

  server.handle('typing', async ({ room }, ctx) => {
    mustBeIn(ctx.sessionId, room);
    await server.sendToRoom(
      room,
      'typing',
      { room, user: ctx.user },
      { volatile: true, except: { sessions: [ctx.sessionId] } },
    );
  });

  server.handle('members', ({ room }, ctx) => {
    mustBeIn(ctx.sessionId, room);
    return server.presence(room);
  });

  server.handle('startRun', async ({ steps, intervalMs, task, tokens }, ctx) => ({
    runId: await runs.start(ctx.sessionId, ctx.user, {
      steps,
      intervalMs,
      task: task || 'Summarise the week',
      tokens: tokens ?? 200,
    }),
  }));

  // A resumed session is told exactly which offsets its replay covers, so the UI can prove it
  // got each of them once ("replayed N messages, 0 duplicates, 0 gaps").
  server.on('session:resumed', ({ sessionId, streams }) => {
    Promise.all(
      streams
        .filter((s) => s.status === 'recovered')
        .map(async (s) => ({
          stream: s.stream,
          from: s.offset + 1,
          to: (await server.engine.head(s.stream)).offset,
        })),
    )
      .then((ranges) =>
        server.sendToSession(
          sessionId,
          'resumed',
          { streams: ranges.filter((r) => r.to >= r.from) },
          { volatile: true },
        ),
      )
      .catch(() => undefined);
  });
  server.on('session:expired', ({ sessionId }) => runs.stopSession(sessionId));

  http.on(
    'request',
    requestHandler({
      server,
      claims,
      allowLogin: loginLimiter(options.loginLimit),
      async sign(user) {
        const now = Math.floor(Date.now() / 1000);
        const token = await new SignJWT({})
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject(user)
          .setAudience(AUDIENCE)
          .setIssuer(AUDIENCE)
          .setIssuedAt(now)
          .setExpirationTime(now + ttl)
          .sign(key);
        return { token, expiresAt: (now + ttl) * 1000 };
      },
      async verify(token) {
        const auth = await Promise.resolve(
          authenticate({ token, tokenSource: 'hello', headers: {}, url: '', remoteAddress: '' }),
        ).catch(() => null);
        return auth && (auth.expiresAt === undefined || auth.expiresAt > Date.now()) ? auth.user : undefined;
      },
      nodeName,
      metrics: metricsHandler(server),
      ui: serveStatic(options.publicDir ?? join(import.meta.dirname, '..', 'public')),
    }),
  );
  http.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });

  await server.ready();
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  return {
    url: `http://localhost:${port}`,
    port,
    server,
    async close() {
      runs.close();
      await server.close();
      await claims.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
