// Faults between a node and Redis, seen by the clients (issue 15): a partitioned node sheds
// its clients (1013) so they resume on a healthy node and refuses newcomers; a client
// message Redis could not record is answered with its id. Servers run in this process, one
// of them behind testkit's fault proxy. Figures: docs/RELIABILITY.md.
import { CloseCode, ErrorCode } from '@holdfast/protocol';
import { type AnyFrame, cursorsOf, FaultProxy, type RawClient } from '@holdfast/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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
    await c.hello({ token: 'una' });
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
