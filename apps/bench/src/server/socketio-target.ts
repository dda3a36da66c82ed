import { createServer } from 'node:http';
import { Server, type ServerOptions } from 'socket.io';
import { listen, type ServerTarget } from './target.js';

/**
 * Socket.IO v4, the peer, configured as its docs advise for performance: websocket transport
 * only, compression off, the upgrade request discarded. Optionally with connection state
 * recovery (the reconnect storm).
 */
export async function createSocketIoTarget(recovery: boolean): Promise<ServerTarget> {
  const http = createServer();
  const options: Partial<ServerOptions> = {
    transports: ['websocket'],
    perMessageDeflate: false,
    httpCompression: false,
    serveClient: false,
    maxHttpBufferSize: 64 * 1024,
  };
  if (recovery)
    options.connectionStateRecovery = { maxDisconnectionDuration: 120_000, skipMiddlewares: true };
  const io = new Server(http, options);
  io.engine.on('connection', (raw: { request: unknown }) => {
    raw.request = null;
  });
  io.on('connection', (socket) => {
    socket.on('join', (room: string, ack?: (ok: boolean) => void) => {
      socket.join(room);
      ack?.(true);
    });
    socket.on('echo', (data: unknown, ack?: (data: unknown) => void) => ack?.(data));
  });
  const port = await listen(http);
  return {
    url: `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
    broadcast: (tick) => {
      io.emit('tick', tick);
    },
    toRoom: (room, tick) => {
      io.to(room).emit('tick', tick);
    },
    connections: () => io.engine.clientsCount,
    close: async () => {
      io.disconnectSockets(true);
      await io.close();
    },
  };
}
