import { ErrorCode } from '@holdfast/protocol';
import { type AnyFrame, cursorsOf, type RawClient } from '@holdfast/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RedisEngine, RedisUnavailableError } from '../src/index.js';
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

const ticks = (c: RawClient, stream: string) => c.msgs(stream).map((f) => f.data.n as number);

async function joined(c: RawClient, room: string): Promise<void> {
  const id = `join-${room}`;
  c.send({ t: 'join', id, room });
  const res = await c.next((f) => f.t === 'res' && f.id === id);
  expect(res.ok).toBe(true);
}

function waitForConnection(engine: RedisEngine, state: 'ready' | 'down'): Promise<void> {
  return new Promise((resolve) => {
    const seen = new Set<string>();
    const off = engine.on('connection', (e) => {
      if (e.state === state) seen.add(e.connection);
      if (seen.size === 2) {
        off();
        resolve();
      }
    });
  });
}

describe('servers on one Redis', () => {
  it('resumes a session on another node with nothing lost and nothing twice', async () => {
    const a = await startNode(redis.url, prefix);
    const b = await startNode(redis.url, prefix);
    const c1 = await a.connect();
    const welcome = await c1.hello({ token: 'alice' });
    await joined(c1, 'r');
    for (const n of range(1, 20)) await b.server.sendToRoom('r', 'tick', { n });
    await c1.collect((f) => f.t === 'msg' && f.stream === 'room:r', 20);
    await c1.terminate();
    for (const n of range(21, 50)) await a.server.sendToRoom('r', 'tick', { n });

    const c2 = await b.connect();
    const resumed = await c2.hello({
      token: 'alice',
      resume: {
        sessionId: welcome.sessionId,
        resumeToken: welcome.resumeToken,
        cursors: cursorsOf(c1.frames),
      },
    });
    expect(resumed.resumed).toBe(true);
    expect(resumed.streams.find((s: AnyFrame) => s.stream === 'room:r')).toMatchObject({
      status: 'recovered',
      offset: 20,
    });
    for (const n of range(51, 60)) await a.server.sendToRoom('r', 'tick', { n });
    await c2.collect((f) => f.t === 'msg' && f.stream === 'room:r', 40);
    expect(ticks(c1, 'room:r')).toEqual(range(1, 20));
    expect(ticks(c2, 'room:r')).toEqual(range(21, 60));
    expect(c2.msgs('room:r').map((f) => f.offset)).toEqual(range(21, 60));
    expect(await a.server.presence('r')).toEqual([{ user: 'alice', sessions: 1 }]);
  });

  it('runs a handler once when the client resends to another node while the first still runs it', async () => {
    let runs = 0;
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const a = await startNode(redis.url, prefix);
    const b = await startNode(redis.url, prefix);
    for (const node of [a, b]) {
      node.server.handle('note', async (data) => {
        runs += 1;
        started();
        await gate;
        return data.n * 2;
      });
    }
    const c1 = await a.connect();
    const welcome = await c1.hello({ token: 'bob' });
    c1.send({ t: 'pub', id: 'm1', type: 'note', data: { n: 21 } });
    await running;
    await c1.terminate(); // the client gives up on a and resends to b

    const c2 = await b.connect();
    await c2.hello({
      token: 'bob',
      resume: {
        sessionId: welcome.sessionId,
        resumeToken: welcome.resumeToken,
        cursors: cursorsOf(c1.frames),
      },
    });
    c2.send({ t: 'pub', id: 'm1', type: 'note', data: { n: 21 } });
    release();
    const res = await c2.next((f) => f.t === 'res' && f.id === 'm1');
    expect(res).toEqual({ t: 'res', id: 'm1', ok: true, result: 42 });
    expect(runs).toBe(1);
    expect(b.server.stats().counters.duplicates).toBe(1);
  });

  it('holds the per-user connection limit across nodes (4409)', async () => {
    const a = await startNode(redis.url, prefix, { limits: { connectionsPerUser: 2 } });
    const b = await startNode(redis.url, prefix, { limits: { connectionsPerUser: 2 } });
    const c1 = await a.connect();
    await c1.hello({ token: 'carol' });
    const c2 = await b.connect();
    await c2.hello({ token: 'carol' });
    const c3 = await a.connect();
    await expect(c3.hello({ token: 'carol' })).rejects.toThrow(/closed 4409/);
    expect(await b.engine.userConnectionCount('carol')).toBe(2);
  });
});

describe.runIf(canSpawnRedis)('a Redis outage', () => {
  it('answers client messages UNAVAILABLE, rejects sends, counts engine errors, then recovers', async () => {
    const own = await TestRedis.start();
    defer(() => own.stop());
    const node = await startNode(own.url, prefix);
    let handled = 0;
    node.server.handle('note', () => {
      handled += 1;
    });
    const c = await node.connect();
    await c.hello({ token: 'dave' });
    await joined(c, 'r');
    await node.server.sendToRoom('r', 'tick', { n: 1 });
    await c.next((f) => f.t === 'msg' && f.data.n === 1);
    const before = c.msgs('room:r')[0]!;

    const down = waitForConnection(node.engine, 'down');
    await own.kill();
    await down;
    c.send({ t: 'pub', id: 'p1', type: 'note', data: { n: 1 } });
    const refused = await c.next((f) => f.t === 'error');
    expect(refused.error.code).toBe(ErrorCode.Unavailable);
    await expect(node.server.sendToRoom('r', 'tick', { n: 2 })).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(node.server.stats().counters.engineErrors).toBeGreaterThanOrEqual(1);
    expect(node.engine.status().errors).toBeGreaterThanOrEqual(2);
    expect(handled).toBe(0);

    const up = waitForConnection(node.engine, 'ready');
    await own.restart();
    await up;
    // The client resends what was not acknowledged; it is handled now.
    c.send({ t: 'pub', id: 'p1', type: 'note', data: { n: 1 } });
    expect(await c.next((f) => f.t === 'res' && f.id === 'p1')).toMatchObject({ ok: true });
    expect(handled).toBe(1);
    // The restart lost the history: the next message comes with an honest gap (new epoch).
    await node.server.sendToRoom('r', 'tick', { n: 3 });
    const after = await c.next((f) => f.t === 'msg' && f.data.n === 3);
    const gap = c.frames.find((f) => f.t === 'gap');
    expect(gap).toMatchObject({ stream: 'room:r', reason: 'epoch', epoch: after.epoch });
    expect(after.epoch).not.toBe(before.epoch);
    expect(c.frames.indexOf(gap!)).toBeLessThan(c.frames.indexOf(after));
    // What was published during the outage was refused, never delivered.
    expect(ticks(c, 'room:r')).toEqual([1, 3]);
    expect(c.closed).toBeUndefined();
  });
});
