import { RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { Canary } from '../support/hostile.js';
import { recordNotes } from '../support/traffic.js';

// Issue 14, item 8: the frame bucket was per connection, so a sender cut with 4429 that
// reconnected at once got a fresh burst each time; WebSocket pings (control frames) were
// answered without limit.

describe('frame rate across reconnects', () => {
  it('a sender that reconnects whenever cut gets the address bucket once, not a burst per connection', async () => {
    const limits = {
      messagesPerSecond: 100,
      burst: 200,
      messagesPerSecondPerAddress: 100,
      burstPerAddress: 400,
    };
    const { server, url, errors } = await startServer({ limits });
    recordNotes(server);
    const canary = await Canary.open(url, { localAddress: '127.0.0.41' });
    const t0 = Date.now();
    let pongs = 0;
    let connections = 0;
    let welcomed = 0;
    const codes: number[] = [];
    for (let round = 0; round < 8; round++) {
      const c = await RawClient.open(url, { localAddress: '127.0.0.40' });
      connections++;
      try {
        await c.hello();
        welcomed++;
      } catch {
        codes.push((await c.closedPromise()).code);
        continue;
      }
      for (let i = 0; i < 1000; i++) c.send({ t: 'ping', ts: i });
      codes.push((await c.closedPromise()).code);
      pongs += c.frames.filter((f) => f.t === 'pong').length;
    }
    const refill = Math.ceil((limits.messagesPerSecondPerAddress * (Date.now() - t0)) / 1000);
    expect(codes.every((code) => code === 4429)).toBe(true);
    // Every frame answered (hellos included) came out of one bucket of 400 plus what refilled meanwhile.
    expect(pongs + welcomed).toBeLessThanOrEqual(limits.burstPerAddress + refill);
    await canary.check();
    expect(errors).toEqual([]);
    record('hostile-rate-reconnect', {
      connections,
      framesSent: 8000,
      pongs,
      bucket: limits.burstPerAddress,
      refill,
    });
  });
});

describe('WebSocket ping flood', () => {
  it('control-frame pings take frame tokens: at most the burst is answered, then 4429', async () => {
    const { server, url, errors } = await startServer({ limits: { messagesPerSecond: 100, burst: 200 } });
    recordNotes(server);
    const canary = await Canary.open(url);
    const c = await RawClient.open(url);
    await c.hello();
    let pongs = 0;
    c.ws.on('pong', () => pongs++);
    const t0 = Date.now();
    const PINGS = 5000;
    for (let i = 0; i < PINGS; i++) c.ws.ping(Buffer.alloc(125, 1));
    const closed = await c.closedPromise();
    const refill = Math.ceil((100 * (Date.now() - t0)) / 1000);
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/retryAfterMs=\d+/);
    expect(pongs).toBeLessThanOrEqual(200 + refill);
    await canary.check();
    expect(errors).toEqual([]);
    record('hostile-control-ping-flood', { pings: PINGS, pongs, close: closed.code });
  });
});
