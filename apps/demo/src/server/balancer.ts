import { connect, createServer, type Socket } from 'node:net';

/**
 * A tiny round-robin TCP balancer for running several demo nodes behind one port:
 * `node dist/server/balancer.js 3000 3001 3002 3003` listens on 3000 and spreads connections
 * over 3001-3003, skipping a node that refuses. No sticky sessions: Holdfast resumes anywhere.
 */
const [listen, ...targets] = process.argv.slice(2).map(Number);
if (!listen || targets.length === 0) {
  console.error('usage: balancer <listen-port> <node-port>...');
  process.exit(2);
}
let next = 0;

/** Connect `client` to the next node; on a refused node try the following one. */
function pipe(client: Socket, tries: number): void {
  const port = targets[next++ % targets.length]!;
  const upstream = connect(port, '127.0.0.1');
  let connected = false;
  upstream.once('connect', () => {
    connected = true;
    client.pipe(upstream).pipe(client);
    client.resume();
  });
  upstream.on('error', () => {
    if (!connected && tries > 1 && !client.destroyed)
      pipe(client, tries - 1); // node down: next one
    else client.destroy();
  });
  upstream.on('close', () => {
    if (connected) client.destroy();
  });
  client.once('close', () => upstream.destroy());
}

createServer({ pauseOnConnect: true }, (client) => {
  client.on('error', () => {});
  pipe(client, targets.length);
}).listen(listen, () => console.log(`balancing :${listen} over ${targets.join(', ')}`));
