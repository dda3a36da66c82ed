import { createServer } from 'node:http';
import * as wsLib from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import type { Tick } from '../payload.js';
import { listen, type ServerTarget } from './target.js';

/** `ws`'s frame builder (exported by ws, not declared by @types/ws). */
const { Sender } = wsLib as unknown as {
  Sender: {
    frame(
      data: Buffer,
      options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean },
    ): Buffer[];
  };
};

/** ws's heartbeat interval here: the same 25 s as Socket.IO and Holdfast. */
const HEARTBEAT_MS = 25_000;

interface Member extends WebSocket {
  room?: string;
  alive?: boolean;
  /** `cork`: the tick in which this socket was corked. */
  corkedIn?: number;
}

/**
 * How the raw `ws` targets write a broadcast. `naive`: `JSON.stringify` once, `ws.send(string)` per
 * client. `frame`: the whole WebSocket frame built once per broadcast and written to every socket.
 * `cork`: `frame`, with each socket corked from its first write of the tick until the tick ends
 * (`process.nextTick`), so a burst of broadcasts costs one syscall per socket: Holdfast's trick.
 */
export type WsMode = 'naive' | 'frame' | 'cork';

/** The raw socket under a `ws` WebSocket (a `net.Socket`). */
type RawSocket = { write(b: Buffer): void; cork(): void; uncork(): void };
const rawOf = (ws: WebSocket) => (ws as unknown as { _socket: RawSocket })._socket;

/**
 * Raw `ws`, the limit, in one of three {@link WsMode}s.
 * Rooms are a `Map<room, Set<socket>>`; heartbeats are the ws README's ping/terminate loop.
 */
export async function createWsTarget(mode: WsMode): Promise<ServerTarget> {
  const http = createServer((_req, res) => res.writeHead(426).end());
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false, maxPayload: 64 * 1024 });
  const rooms = new Map<string, Set<Member>>();

  wss.on('connection', (ws: Member) => {
    ws.alive = true;
    ws.on('error', () => ws.terminate());
    ws.on('pong', () => {
      ws.alive = true;
    });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { join?: string; id?: number; data?: unknown };
      if (m.join !== undefined) {
        let set = rooms.get(m.join);
        if (!set) {
          set = new Set();
          rooms.set(m.join, set);
        }
        set.add(ws);
        ws.room = m.join;
        ws.send(JSON.stringify({ joined: m.join }));
      } else if (m.id !== undefined) {
        ws.send(JSON.stringify({ id: m.id, result: m.data }));
      }
    });
    ws.on('close', () => {
      if (ws.room === undefined) return;
      const set = rooms.get(ws.room);
      set?.delete(ws);
      if (set?.size === 0) rooms.delete(ws.room);
    });
  });
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients as Set<Member>) {
      if (!ws.alive) {
        ws.terminate();
        continue;
      }
      ws.alive = false;
      ws.ping();
    }
  }, HEARTBEAT_MS);

  /** `cork`: the sockets corked in this tick (number `corkTick`), uncorked when it ends. */
  let corkTick = 0;
  let corked: RawSocket[] = [];
  const uncorkAll = () => {
    const list = corked;
    corked = [];
    for (const s of list) s.uncork();
  };
  const sendAll = (clients: Iterable<WebSocket>, tick: Tick) => {
    const json = JSON.stringify(tick);
    if (mode === 'naive') {
      for (const ws of clients) if (ws.readyState === WebSocket.OPEN) ws.send(json);
      return;
    }
    // One frame for everyone: header + payload, unmasked, no compression.
    const frame = Buffer.concat(
      Sender.frame(Buffer.from(json), {
        fin: true,
        opcode: 1,
        mask: false,
        readOnly: false,
        rsv1: false,
      }),
    );
    if (mode === 'frame') {
      for (const ws of clients) if (ws.readyState === WebSocket.OPEN) rawOf(ws).write(frame);
      return;
    }
    const first = corked.length === 0;
    for (const ws of clients as Iterable<Member>) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      const raw = rawOf(ws);
      if (ws.corkedIn !== corkTick) {
        ws.corkedIn = corkTick;
        raw.cork();
        corked.push(raw);
      }
      raw.write(frame);
    }
    if (first && corked.length > 0)
      process.nextTick(() => {
        corkTick += 1;
        uncorkAll();
      });
  };

  const port = await listen(http);
  return {
    url: `ws://127.0.0.1:${port}/`,
    broadcast: (tick) => sendAll(wss.clients, tick),
    toRoom: (room, tick) => sendAll(rooms.get(room) ?? [], tick),
    connections: () => wss.clients.size,
    close: async () => {
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
