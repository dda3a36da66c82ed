import type { Server } from 'node:http';
import type { Tick } from '../payload.js';

/**
 * Listen backlog of every target. Node's default (511) overflows when thousands of clients
 * reconnect within a second: dropped SYNs are retried by the kernel after 1 s, 3 s, 7 s, which
 * would make the storm measure TCP timers instead of servers. 4096 is this machine's somaxconn.
 */
export const BACKLOG = 4096;

/** Listen on an ephemeral loopback port; resolves with the port. */
export async function listen(http: Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', BACKLOG, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const addr = http.address();
  if (!addr || typeof addr === 'string') throw new Error('not listening');
  return addr.port;
}

/** One server under test, as the server process drives it. */
export interface ServerTarget {
  /** The WebSocket URL clients connect to (for Socket.IO: the HTTP origin). */
  readonly url: string;
  /** Send a tick to every connection. */
  broadcast(tick: Tick): unknown;
  /** Send a tick to the members of a room. */
  toRoom(room: string, tick: Tick): unknown;
  /** Open connections. */
  connections(): number;
  /** Close every connection and stop listening. */
  close(): Promise<void>;
}
