// Faults between a node and Redis, seen by the clients (issue 15): a partitioned node sheds
// its clients (1013) so they resume on a healthy node and refuses newcomers; a client
// message Redis could not record is answered with its id. Servers run in this process, one
// of them behind testkit's fault proxy. Figures: docs/RELIABILITY.md.
import { appends, createClient } from '@holdfast/client';
import { CloseCode, ErrorCode } from '@holdfast/protocol';
import { type AnyFrame, type App, app, cursorsOf, FaultProxy, type RawClient } from '@holdfast/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { RedisEngine } from '../src/index.js';
import { defer, startNode } from './support/fixture.js';
import { range } from './support/recorder.js';
import { canSpawnRedis, TestRedis, uniquePrefix } from './support/redis-server.js';

let redis: TestRedis;
let prefix: string;

beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop(prefix);
});
beforeEach(() => {
  prefix = uniquePrefix();
});

async function joined(c: RawClient, room: string): Promise<void> {
  const id = `join-${room}`;
  c.send({ t: 'join', id, room });
  const res = await c.next((f) => f.t === 'res' && f.id === id);
  expect(res.ok).toBe(true);
}

/** Resolves on the engine's next `health` event with `healthy === want`. */
function health(engine: RedisEngine, want: boolean): Promise<void> {
  return new Promise((resolve) => {
    const off = engine.on('health', ({ healthy }) => {
      if (healthy !== want) return;
      off();
      resolve();
    });
  });
}

describe('a node partitioned from Redis', () => {
  it('closes its clients with 1013, refuses newcomers, and they resume on a healthy node losing nothing', {
    timeout: 30_000,
  }, async () => {
    const proxy = await FaultProxy.start({ port: redis.port });
    defer(() => proxy.close());
    const healthCheck = { intervalMs: 100, timeoutMs: 300 };
    const cut = await startNode(
      `redis://127.0.0.1:${proxy.port}`,
      prefix,
      { sweepIntervalMs: 20 },
      { healthCheck },
    );
    const well = await startNode(redis.url, prefix);
    const c1 = await cut.connect();
    const welcome = await c1.hello({ token: 'pat' });
    await joined(c1, 'p');
    for (const n of range(1, 10)) await well.server.sendToRoom('p', 'tick', { n });
    await c1.collect((f) => f.t === 'msg' && f.stream === 'room:p', 10);

    const frozenAt = Date.now();
    proxy.freeze();
    const closed = await c1.closedPromise();
    const shedMs = Date.now() - frozenAt;
    expect(closed.code).toBe(CloseCode.TryAgainLater);
    expect(cut.engine.status()).toMatchObject({ healthy: false, partitioned: true });
    // Newcomers are refused while partitioned, at once (nothing waits on the dead link).
    const newcomer = await cut.connect();
    await expect(newcomer.hello({ token: 'new' })).rejects.toThrow(/closed 1013/);

    // Messages keep flowing on the healthy node meanwhile.
    for (const n of range(11, 20)) await well.server.sendToRoom('p', 'tick', { n });
    const c2 = await well.connect();
    const resumed = await c2.hello({
      token: 'pat',
      resume: {
        sessionId: welcome.sessionId,
        resumeToken: welcome.resumeToken,
        cursors: cursorsOf(c1.frames),
      },
    });
    expect(resumed.resumed).toBe(true);
    await c2.collect((f) => f.t === 'msg' && f.stream === 'room:p', 10);
    const frames: AnyFrame[] = [...c1.frames, ...c2.frames];
    const got = frames.filter((f) => f.t === 'msg' && f.stream === 'room:p').map((f) => f.data.n);
    expect(got).toEqual(range(1, 20));
    expect(frames.filter((f) => f.t === 'gap')).toEqual([]);

    // Healed: the node serves again.
    const healed = health(cut.engine, true);
    proxy.unfreeze();
    await healed;
    const later = await cut.connect();
    expect((await later.hello({ token: 'new' })).user).toBe('new');
    console.info(
      `partition: clients shed ${shedMs} ms after the cut (detection ${cut.engine.status().lastPartitionDetectionMs} ms); 20 published, ${got.length} delivered, 0 duplicated, 0 lost, 0 gaps`,
    );
  });
});

describe.runIf(canSpawnRedis)('a client message Redis could not record', () => {
  it('is answered UNAVAILABLE with its id, and handled once when resent after Redis is back', {
    timeout: 30_000,
  }, async () => {
    const own = await TestRedis.start();
    defer(() => own.stop());
    const node = await startNode(own.url, prefix);
    let handled = 0;
    node.server.handle('note', () => {
      handled += 1;
    });
    const c = await node.connect();
    const welcome = await c.hello({ token: 'una' });
    // Live on its streams (a replay that Redis fails closes the connection 4500).
    await node.server.sendToSession(welcome.sessionId, 'tick', { n: 1 });
    await node.server.sendToUser('una', 'tick', { n: 2 });
    await node.server.broadcast('tick', { n: 3 });
    await c.collect((f) => f.t === 'msg', 3);
    const down = health(node.engine, false);
    await own.kill();
    await down;
    c.send({ t: 'pub', id: 'm-outage', type: 'note', data: { n: 1 } });
    const err = await c.next((f) => f.t === 'error');
    expect(err).toMatchObject({ id: 'm-outage', error: { code: ErrorCode.Unavailable } });
    const up = health(node.engine, true);
    await own.restart();
    await up;
    // Redis restarted empty: the session is gone with it, so this checks only the answer.
    c.send({ t: 'pub', id: 'm-outage', type: 'note', data: { n: 1 } });
    const res = await c.next((f) => f.t === 'res' && f.id === 'm-outage');
    expect(res.ok).toBe(true);
    expect(handled).toBe(1);
    expect(c.closed).toBeUndefined();
  });
});

describe.runIf(canSpawnRedis)('the client and a message Redis could not record', () => {
  it('resends it on the same connection after a delay, and send() resolves once Redis is back', {
    timeout: 30_000,
  }, async () => {
    const own = await TestRedis.start();
    defer(() => own.stop());
    const node = await startNode(own.url, prefix);
    const runs: number[] = [];
    node.server.handle('note', (data) => {
      runs.push(data.n);
    });
    const client = createClient<App>({
      url: node.url,
      protocol: app,
      WebSocket,
      environment: null,
      token: 'cli',
      reconnect: { initialDelayMs: 100, minDelayMs: 50, maxDelayMs: 400 },
      plugins: [appends], // testkit's app declares appends
    });
    defer(() => client.close());
    let welcomes = 0;
    client.events.on('state', ({ next }) => {
      if (next.status === 'connected') welcomes += 1;
    });
    const ticks: number[] = [];
    client.on('tick', ({ n }) => {
      ticks.push(n);
    });
    client.connect();
    await until(() => welcomes === 1);
    // Live on its three streams (the replay after the welcome is over: a replay that Redis
    // fails closes the connection 4500, which is not what this test is about).
    const { sessionId } = client.state as { sessionId: string };
    await node.server.sendToSession(sessionId, 'tick', { n: 1 });
    await node.server.sendToUser('cli', 'tick', { n: 2 });
    await node.server.broadcast('tick', { n: 3 });
    await until(() => ticks.length === 3);
    const down = health(node.engine, false);
    await own.kill();
    await down;
    const sent = client.send('note', { n: 7 });
    // Refused at least once while Redis is down (UNAVAILABLE with the id, not an answer).
    await until(() => node.server.stats().counters.engineErrors >= 1);
    expect(runs).toEqual([]);
    await own.restart();
    await sent;
    expect(runs).toEqual([7]);
    expect(welcomes).toBe(1); // never reconnected: resent on the same connection
  });
});

/** Poll a condition of this process every 10 ms, up to 15 s. */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
