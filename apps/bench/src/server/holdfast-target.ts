import { createServer as createHttpServer, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createServer, type Engine, HoldfastServer } from '@holdfast/server';
import * as wsLib from 'ws';
import { benchProtocol } from './app-protocol.js';
import { listen, type ServerTarget } from './target.js';

const { Sender } = wsLib as unknown as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

interface Internals {
  sendText(conn: Conn, data: string | Buffer, paced?: boolean, flushed?: () => void): boolean;
  closeConn(conn: Conn, code: number, detail: string): void;
  counters: { framesOut: number };
  limits: { highWaterMark: number };
}
interface Conn {
  isOpen: boolean;
  ws: { bufferedAmount: number; _socket: { write(b: Buffer): boolean } };
}

/**
 * Experiment (`BENCH_HOLDFAST_PATCH=frame`, see src/experiment.ts): measure a proposed server
 * change without editing the server. `sendText` gets, for the Buffers the server shares between
 * recipients (live fan-out, volatile, presence, pings), the whole WebSocket frame built once and
 * written with one `socket.write` per recipient, as the frame-once `ws` target does, instead of
 * `ws.send(buf)` (a new header and a corked two-buffer writev per recipient).
 */
function patchFrameOnce(): void {
  const proto = HoldfastServer.prototype as unknown as Internals;
  const original = proto.sendText;
  let lastData: Buffer | undefined;
  let lastFrame: Buffer | undefined;
  proto.sendText = function (this: Internals, conn, data, paced = false, flushed) {
    if (typeof data === 'string' || flushed) return original.call(this, conn, data, paced, flushed);
    if (!conn.isOpen) return false;
    if (data !== lastData) {
      lastData = data;
      lastFrame = Buffer.concat(
        Sender.frame(data, { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false }),
      );
    }
    conn.ws._socket.write(lastFrame!);
    this.counters.framesOut += 1;
    if (!paced && conn.ws.bufferedAmount > this.limits.highWaterMark)
      this.closeConn(conn, 4008, 'outbound buffer full');
    return true;
  };
}

interface UpgradeInternals {
  closing: unknown;
  log: { debug(o: object, m: string): void };
  wss: { handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, cb: (ws: unknown) => void): void };
  onSocket(ws: unknown, req: IncomingMessage): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/** Created outside `handleUpgrade`, so the listener's closure does not share its context (and `req`). */
function onUpgradeSocketError(log: UpgradeInternals['log']): (err: Error) => void {
  return (err) => log.debug({ err }, 'socket error during upgrade');
}

/**
 * Experiment (`BENCH_HOLDFAST_PATCH=upgrade`): `handleUpgrade` registers its socket 'error' listener
 * in the same scope as `(ws) => this.onSocket(ws, req)`, so V8 puts `req` in a context both closures
 * share and the listener, which lives as long as the socket, keeps the whole upgrade request
 * (IncomingMessage, headers, raw headers) alive. Same code with the listener made elsewhere.
 */
function patchUpgradeClosure(): void {
  const proto = HoldfastServer.prototype as unknown as UpgradeInternals;
  proto.handleUpgrade = function (this: UpgradeInternals, req, socket, head) {
    socket.on('error', onUpgradeSocketError(this.log));
    if (this.closing) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, req));
  };
}

interface CorkConn {
  ws: { _socket: { cork(): void; uncork(): void } };
  benchCorked?: boolean;
}

/**
 * Experiment (`BENCH_HOLDFAST_PATCH=cork`): replay sends every missed message with its own
 * `ws.send` (one writev syscall each). Corking the socket at the first replayed frame and
 * uncorking on the next tick sends a whole replay page in one writev.
 */
function patchReplayCork(): void {
  const proto = HoldfastServer.prototype as unknown as Internals;
  const original = proto.sendText;
  proto.sendText = function (this: Internals, conn, data, paced = false, flushed) {
    const c = conn as unknown as CorkConn;
    if (paced && !flushed && !c.benchCorked && conn.isOpen) {
      c.benchCorked = true;
      c.ws._socket.cork();
      process.nextTick(() => {
        c.benchCorked = false;
        c.ws._socket.uncork();
      });
    }
    return original.call(this, conn, data, paced, flushed);
  };
}

const patches = process.env.BENCH_HOLDFAST_PATCH?.split(',') ?? [];
if (patches.includes('cork')) patchReplayCork();
if (patches.includes('frame')) patchFrameOnce();
if (patches.includes('upgrade')) patchUpgradeClosure();

/** Holdfast as users run it: validation, acks and resume on (they cannot be turned off). */
export async function createHoldfastTarget(engine?: Engine): Promise<ServerTarget> {
  // Attached to our own HTTP server so it listens with the same backlog as the other targets.
  const http = createHttpServer((_req, res) => res.writeHead(426).end());
  const server = createServer({
    protocol: benchProtocol,
    server: http,
    path: '/ws',
    authorizeJoin: () => true,
    ...(engine ? { engine } : {}),
    // High enough for one load generator on one address opening thousands of sessions.
    limits: {
      connectionsPerUser: 1_000_000,
      connectionsPerAddress: 1_000_000,
      pendingConnections: 1_000_000,
      messagesPerSecond: 1_000_000,
      burst: 1_000_000,
    },
  });
  server.handle('echo', (data) => data);
  server.on('error', (err, ctx) => console.error('holdfast error', ctx.where, err.message));
  await server.ready();
  const port = await listen(http);
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    broadcast: (tick) => server.broadcast('tick', tick),
    toRoom: (room, tick) => server.sendToRoom(room, 'tick', tick),
    connections: () => server.stats().connections,
    close: async () => {
      await server.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
