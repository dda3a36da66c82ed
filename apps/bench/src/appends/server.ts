/**
 * The server process of the appends scenario: one Holdfast node (in-memory engine) that streams
 * an answer to a room at a fixed pace, as one growing message (`startMessage` + `append` + `end`)
 * or as one plain message per token (`sendToRoom`). Driven over IPC by the orchestrator.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer, type HoldfastServer } from '@holdfast/server';
import { serveRpc } from '../ipc.js';
import { listen } from '../server/target.js';
import { answerProtocol, ROOM, type StreamMode, tokenAt } from './answer.js';

let server: HoldfastServer<typeof answerProtocol> | undefined;
let closeHttp: (() => Promise<void>) | undefined;
let sent = 0;
let finished: Promise<{ wallMs: number }> | undefined;

const cpuUs = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};

serveRpc({
  async start(p: { tokens: number }) {
    const http = createHttpServer((_req, res) => res.writeHead(426).end());
    server = createServer({
      protocol: answerProtocol,
      server: http,
      path: '/ws',
      authorizeJoin: () => true,
      // The plain stream must stay whole in the room for a late joiner to read it again (rewind).
      retention: {
        room: { maxMessages: p.tokens + 100, maxBytes: 256 * 1024 * 1024, maxAgeMs: 3_600_000 },
      },
      limits: {
        connectionsPerUser: 1_000_000,
        connectionsPerAddress: 1_000_000,
        pendingConnections: 1_000_000,
        pendingPerAddress: 1_000_000,
        messagesPerSecond: 1_000_000,
        burst: 1_000_000,
        burstPerAddress: 0,
        maxRewind: p.tokens + 100,
        // Viewers on one loaded core fall behind the stream: they are slow, not gone.
        highWaterMark: 256 * 1024 * 1024,
      },
    });
    server.on('error', (err, ctx) => console.error('holdfast error', ctx.where, err.message));
    await server.ready();
    const port = await listen(http);
    closeHttp = () => new Promise<void>((resolve) => http.close(() => resolve()));
    return { url: `ws://127.0.0.1:${port}/ws` };
  },

  /** Start streaming `tokens` tokens at `rate` per second; resolves at once. */
  stream(p: { mode: StreamMode; tokens: number; rate: number }) {
    const s = server!;
    const t0 = performance.now();
    finished = (async () => {
      const writer = p.mode === 'appends' ? await s.startMessage({ room: ROOM }, 'answer', '') : undefined;
      // Open loop: token i is due at t0 + i / rate, whatever the delivery does meanwhile. Calls
      // are not awaited one by one (the writer and the engine keep their order); failures surface.
      let failure: unknown;
      const pending: Promise<unknown>[] = [];
      await new Promise<void>((resolve) => {
        const tick = () => {
          const due = Math.min(p.tokens, Math.floor(((performance.now() - t0) * p.rate) / 1000) + 1);
          for (; sent < due; sent++) {
            const token = tokenAt(sent);
            const last = sent === p.tokens - 1;
            const op = writer
              ? last
                ? writer.end(token)
                : writer.append(token)
              : s.sendToRoom(ROOM, 'token', token);
            if (last || sent % 256 === 0) pending.push(op.catch((e: unknown) => (failure ??= e)));
            else op.catch((e: unknown) => (failure ??= e));
          }
          if (sent >= p.tokens) resolve();
          else setTimeout(tick, 1);
        };
        tick();
      });
      await Promise.all(pending);
      if (failure) throw failure;
      return { wallMs: performance.now() - t0 };
    })();
    finished.catch(() => undefined);
    return { at: performance.timeOrigin + t0 };
  },

  /** Tokens sent so far. */
  progress() {
    return sent;
  },

  /** Resolves once every token was handed to the server (the stream's own wall time). */
  async finished() {
    return finished;
  },

  cpu() {
    return cpuUs();
  },

  async stop() {
    await server?.close();
    await closeHttp?.();
    return null;
  },
});
