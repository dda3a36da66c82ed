// A Holdfast server in a child process of its own, so the chaos suite can SIGKILL and SIGTERM
// it. It imports the BUILT packages (packages/*/dist): run `pnpm build` first. Configured by
// the CHAOS_SERVER environment variable (JSON), driven over the IPC channel (testkit's
// ChildServer and serveParent).
//
// Every run of the `note` handler is written synchronously to `handledLog` before the handler
// returns, so the record survives a SIGKILL that comes before the `res` leaves.
import { openSync, writeSync } from 'node:fs';
import { createServer } from '@holdfast/server';
import { chaosApp, serveParent } from '@holdfast/testkit';

const config = JSON.parse(process.env.CHAOS_SERVER ?? '{}');

const log = openSync(config.handledLog, 'a');
const line = (text) => writeSync(log, `${text}\n`);

const server = createServer({
  protocol: chaosApp,
  port: config.port,
  host: '127.0.0.1',
  authorizeJoin: () => true,
  ...(config.heartbeat ? { heartbeat: config.heartbeat } : {}),
  ...(config.sweepIntervalMs ? { sweepIntervalMs: config.sweepIntervalMs } : {}),
  ...(config.resumeWindowMs ? { resumeWindowMs: config.resumeWindowMs } : {}),
  limits: { messagesPerSecond: 5000, burst: 5000, connectionsPerAddress: 10_000, ...config.limits },
  retention: { maxMessages: 1_000_000, maxBytes: 2 ** 40, maxAgeMs: 3_600_000 },
});
server.on('error', (err, ctx) => line(`E ${ctx.where} ${String(err.message).replace(/\s+/g, ' ')}`));

server.handle('note', async ({ c, k, pad }) => {
  line(`H ${config.name} ${c} ${k}`);
  if (pad === 'slow' && config.slowNoteMs) {
    await new Promise((r) => setTimeout(r, config.slowNoteMs));
    line(`D ${config.name} ${c} ${k}`);
  }
  return k;
});
server.handle('echo', ({ n }) => n);

let pumped = 0;
let pumping = false;
async function pump(room, count, ratePerSec) {
  pumping = true;
  const batch = Math.max(1, Math.round(ratePerSec / 20));
  for (let n = 1; n <= count && pumping; n++) {
    await server.sendToRoom(room, 'tick', { s: config.name, n });
    pumped = n;
    if (n % batch === 0) await new Promise((r) => setTimeout(r, 50));
  }
  pumping = false;
}

process.on('SIGTERM', async () => {
  const t0 = Date.now();
  line(`T ${config.name} sigterm`);
  await server.close();
  line(`X ${config.name} drained ${Date.now() - t0}`);
  process.exit(0);
});

await server.ready();
serveParent(
  {
    pump: (room, count, ratePerSec) => {
      void pump(room, count, ratePerSec);
    },
    stopPump: () => {
      pumping = false;
    },
    stats: () => ({ stats: server.stats(), pumped, pumping, memory: process.memoryUsage() }),
    roomConnections: (room) => server.countConnections({ room }),
  },
  { url: server.url(), port: server.address().port, pid: process.pid },
);
