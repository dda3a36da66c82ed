import { createRequire } from 'node:module';
import type * as Uws from '@trufflesuite/uws-js-unofficial';
import type { Tick } from '../payload.js';
import type { ServerTarget } from './target.js';

/**
 * uWebSockets.js, the practical limit for Node: the build that loads on Node 20 here
 * (`@trufflesuite/uws-js-unofficial`, native binaries of uWS v20.30). A CommonJS native module,
 * loaded on demand so the other targets' processes never load it.
 */
function loadUws(): typeof Uws {
  return createRequire(import.meta.url)('@trufflesuite/uws-js-unofficial') as typeof Uws;
}

/** The topic every connection subscribes to: a broadcast is one C++ `publish` to it. */
const ALL = '*';

/**
 * uWS's idle timeout (s): with `sendPingsAutomatically` (the default) it pings an idle socket before
 * this passes and closes it if nothing came back. uWS's granularity is 4 s; 32 s pings at about the
 * 25 s of the other targets' heartbeats.
 */
const IDLE_TIMEOUT_S = 32;

/**
 * Bytes a socket may have waiting before uWS skips it in a `publish` (default 64 KiB): set far above
 * what the harness keeps in flight, because a skipped message is a lost one (the benchmark fails on
 * loss, and no other target drops messages).
 */
const MAX_BACKPRESSURE = 64 * 1024 * 1024;

interface Data {
  room?: string;
}

/**
 * uWebSockets.js with the `ws` targets' protocol (JSON ticks, `{join}` → `{joined}`, `{id, data}` →
 * `{id, result}`). Fan-out is uWS's C++ `publish`: every connection subscribes to one topic
 * (broadcast) and to its room's; uWS builds the frame once and corks each subscriber's writes.
 */
export async function createUwsTarget(): Promise<ServerTarget> {
  const uws = loadUws();
  const open = new Set<Uws.WebSocket<Data>>();
  let listenSocket: Uws.us_listen_socket | undefined;
  const app = uws.App().ws<Data>('/*', {
    maxPayloadLength: 64 * 1024,
    idleTimeout: IDLE_TIMEOUT_S,
    maxBackpressure: MAX_BACKPRESSURE,
    open: (ws) => {
      open.add(ws);
      ws.subscribe(ALL);
    },
    message: (ws, message) => {
      const m = JSON.parse(Buffer.from(message).toString()) as { join?: string; id?: number; data?: unknown };
      if (m.join !== undefined) {
        ws.getUserData().room = m.join;
        ws.subscribe(`r:${m.join}`);
        ws.send(JSON.stringify({ joined: m.join }));
      } else if (m.id !== undefined) {
        ws.send(JSON.stringify({ id: m.id, result: m.data }));
      }
    },
    close: (ws) => {
      open.delete(ws);
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    app.listen('127.0.0.1', 0, (socket) => {
      if (!socket) {
        reject(new Error('uWS could not listen'));
        return;
      }
      listenSocket = socket;
      resolve(uws.us_socket_local_port(socket as unknown as Uws.us_socket));
    });
  });
  const publish = (topic: string, tick: Tick) => app.publish(topic, JSON.stringify(tick), false);
  return {
    url: `ws://127.0.0.1:${port}/`,
    broadcast: (tick) => publish(ALL, tick),
    toRoom: (room, tick) => publish(`r:${room}`, tick),
    connections: () => open.size,
    close: async () => {
      if (listenSocket) uws.us_listen_socket_close(listenSocket);
      listenSocket = undefined;
      for (const ws of [...open]) ws.close();
    },
  };
}
