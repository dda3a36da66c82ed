// Soak of the issue 14 attacks against one server, heap sampled after a GC every round.
// Run after `pnpm build`: node --expose-gc apps/chaos/test/support/abuse-soak.mjs [rounds]
// Prints one line per round: heapUsed (MiB) and the server's held/handled/streams figures.
import { createServer } from '@holdfast/server';
import { chaosApp } from '@holdfast/testkit';
import WebSocket from 'ws';

const ROUNDS = Number(process.argv[2] ?? 20);
const server = createServer({
  protocol: chaosApp,
  port: 0,
  authenticate: ({ token }) =>
    token ? { user: token.split(':')[0], data: { role: token.split(':')[1] } } : null,
  authorizeJoin: () => true,
  reauthorizeRoom: ({ data }) => data?.role === 'admin',
  retention: { maxAgeMs: 3000, maxBytes: 64 * 1024 * 1024, maxMessages: 10_000 },
  sweepIntervalMs: 50,
  resumeWindowMs: 10_000,
  limits: { highWaterMark: 256 * 1024, sessionsPerUser: 5, helloTimeoutMs: 1000, pendingConnections: 50 },
});
server.on('error', (e) => console.error('server error', e));
server.handle('echo', ({ n }) => n);
server.handle('say', () => 'r'.repeat(60_000));
await server.ready();
const url = server.url();

function open(opts = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['holdfast.v1'], opts);
    ws.on('error', () => {});
    ws.frames = [];
    ws.on('message', (d) => {
      const f = JSON.parse(String(d));
      ws.frames.push(f);
      if (f.t === 'ping') ws.send(JSON.stringify({ t: 'pong', ts: f.ts }));
    });
    ws.once('open', () => resolve(ws));
    ws.once('close', () => resolve(ws));
  });
}
const next = (ws, pred) =>
  new Promise((resolve) => {
    const found = ws.frames.find(pred);
    if (found) return resolve(found);
    const on = (d) => {
      const f = JSON.parse(String(d));
      if (pred(f)) {
        ws.off('message', on);
        resolve(f);
      }
    };
    ws.on('message', on);
    ws.once('close', () => resolve(undefined));
  });
const closed = (ws) => new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r() : ws.once('close', r)));
const hello = async (ws, extra) => {
  ws.send(JSON.stringify({ t: 'hello', version: 1, ...extra }));
  return next(ws, (f) => f.t === 'welcome');
};

async function round(r) {
  // 1: slow reader during a replay.
  const a = await open();
  const w = await hello(a, { token: `victim${r}:admin` });
  a.close();
  await closed(a);
  for (let n = 0; n < 2000; n++)
    await server.sendToSession(w.sessionId, 'tick', { s: 'h', n, pad: 'h'.repeat(8192) });
  const slow = await open();
  slow._socket.pause();
  slow.send(
    JSON.stringify({
      t: 'hello',
      version: 1,
      token: `victim${r}:admin`,
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: [] },
    }),
  );
  for (let n = 0; n < 800; n++) {
    await server.sendToUser(`victim${r}`, 'tick', { s: 'l', n, pad: 'l'.repeat(2048) });
    if (n % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
  }
  slow.terminate();
  // 2: big answers and session churn.
  const b = await open();
  await hello(b, { token: `hog${r % 3}:admin` });
  for (let i = 0; i < 20; i++)
    b.send(JSON.stringify({ t: 'pub', id: `m${i}`, type: 'say', data: { room: 'x', text: 'x' } }));
  await next(b, (f) => f.t === 'res' && f.id === 'm19');
  b.close();
  // 3: refresh with fewer rights.
  const c = await open();
  await hello(c, { token: `ref${r}:admin` });
  c.send(JSON.stringify({ t: 'join', id: 'j', room: `adm${r}` }));
  await next(c, (f) => f.t === 'res' && f.id === 'j');
  c.send(JSON.stringify({ t: 'refresh', id: 'r', token: `ref${r}:user` }));
  await next(c, (f) => f.t === 'sub' && f.op === 'leave');
  c.close();
  // 4: silent connections; 8: ping flood.
  const silent = await Promise.all(
    Array.from({ length: 60 }, () => open({ localAddress: `127.0.0.${50 + (r % 10)}` })),
  );
  const p = await open({ localAddress: '127.0.0.99' });
  await hello(p, { token: `pinger${r}:user` });
  for (let i = 0; i < 1000; i++) p.ping(Buffer.alloc(16));
  await closed(p);
  for (const s of silent) s.terminate();
  // 9: rooms published to once.
  for (let i = 0; i < 200; i++) await server.sendToRoom(`once-${r}-${i}`, 'tick', { s: 'o', n: i });
}

const t0 = Date.now();
for (let r = 0; r < ROUNDS; r++) {
  await round(r);
  await new Promise((resolve) => setTimeout(resolve, 1200)); // let windows and ages pass
  globalThis.gc?.();
  const s = server.stats();
  console.log(
    JSON.stringify({
      round: r,
      s: Math.round((Date.now() - t0) / 1000),
      heapMiB: +(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1),
      connections: s.connections,
      sessions: s.sessions,
      heldBytes: s.heldBytes,
      handled: s.handled,
      streams: s.retention?.streams,
      closes: s.counters.closes,
    }),
  );
}
await server.close();
