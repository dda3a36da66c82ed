// The attacker of the flood scenario, in a child process of its own so its CPU is not the
// server's: opens thousands of connections, or sends frames far above the rate limit and
// reconnects at once when cut (ignoring retryAfterMs, as an attacker would). Driven over IPC;
// it only ever connects to the loopback URL it is given.
import WebSocket from 'ws';

const held = new Set();

function open(url, localAddress) {
  const ws = new WebSocket(url, ['holdfast.v1'], { localAddress, handshakeTimeout: 20_000 });
  ws.on('error', () => {});
  return ws;
}

/**
 * Open `count` connections from `localAddress` (or round-robin from a list), `concurrency` at a
 * time; say hello or not.
 */
async function connections(url, { count, localAddress, hello, concurrency }) {
  const outcomes = { welcome: 0, closes: {}, errors: 0, reasons: [] };
  const addresses = Array.isArray(localAddress) ? localAddress : [localAddress];
  let next = 0;
  const one = (i) =>
    new Promise((resolve) => {
      const ws = open(url, addresses[i % addresses.length]);
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        resolve();
      };
      ws.on('open', () => {
        if (hello) ws.send(JSON.stringify({ t: 'hello', version: 1 }));
      });
      ws.on('message', (data) => {
        const f = JSON.parse(String(data));
        if (f.t === 'ping') ws.send(JSON.stringify({ t: 'pong', ts: f.ts }));
        if (f.t === 'welcome') {
          outcomes.welcome++;
          held.add(ws);
          finish();
        }
      });
      ws.on('close', (code, reason) => {
        held.delete(ws);
        if (done) return;
        outcomes.closes[code] = (outcomes.closes[code] ?? 0) + 1;
        if (outcomes.reasons.length < 5) outcomes.reasons.push(`${code} ${reason}`);
        finish();
      });
      ws.on('unexpected-response', () => {
        outcomes.errors++;
        finish();
      });
      ws.on('error', () => {
        if (ws.readyState !== WebSocket.OPEN) {
          outcomes.errors++;
          finish();
        }
      });
    });
  const workers = Array.from({ length: concurrency }, async () => {
    while (next < count) {
      await one(next++);
    }
  });
  await Promise.all(workers);
  return outcomes;
}

/** Send pub frames at `ratePerSec` for `durationMs`, reconnecting at once whenever cut. */
async function blast(url, { localAddress, ratePerSec, durationMs }) {
  const end = Date.now() + durationMs;
  const report = { connections: 0, framesSent: 0, answered: 0, closes: {}, reasons: [] };
  let seq = 0;
  while (Date.now() < end) {
    report.connections++;
    await new Promise((resolve) => {
      const ws = open(url, localAddress);
      let timer;
      ws.on('open', () => {
        ws.send(JSON.stringify({ t: 'hello', version: 1 }));
      });
      ws.on('message', (data) => {
        const f = JSON.parse(String(data));
        if (f.t === 'res') report.answered++;
        if (f.t !== 'welcome') return;
        const perTick = Math.max(1, Math.round(ratePerSec / 100));
        timer = setInterval(() => {
          if (ws.readyState !== WebSocket.OPEN || Date.now() >= end) return ws.close(1000);
          for (let i = 0; i < perTick; i++) {
            ws.send(JSON.stringify({ t: 'pub', id: `b${++seq}`, type: 'echo', data: { n: seq } }));
            report.framesSent++;
          }
        }, 10);
      });
      ws.on('close', (code, reason) => {
        clearInterval(timer);
        report.closes[code] = (report.closes[code] ?? 0) + 1;
        if (report.reasons.length < 5 && code !== 1000) report.reasons.push(`${code} ${reason}`);
        resolve();
      });
    });
  }
  return report;
}

process.on('message', async (m) => {
  try {
    let value = null;
    if (m.cmd === 'connections') value = await connections(m.url, m.args);
    else if (m.cmd === 'blast') value = await blast(m.url, m.args);
    else if (m.cmd === 'closeAll') {
      value = held.size;
      for (const ws of held) ws.terminate();
      held.clear();
    }
    process.send({ id: m.id, ok: true, value });
  } catch (err) {
    process.send({ id: m.id, ok: false, error: String(err) });
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
