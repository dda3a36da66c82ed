// The engine on a single redis-server: the shared engine suite (test/engine-suite.ts, also run
// on a Redis Cluster by test/redis-cluster.test.ts), then what needs that one Redis flushed,
// killed or restarted.
import { ErrorCode } from '@holdfast/protocol';
import { Cleanups } from '@holdfast/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRedisEngine,
  type RedisEngine,
  type RedisEngineOptions,
  RedisUnavailableError,
} from '../src/index.js';
import { body, engineSuite, watching } from './engine-suite.js';
import { Recorder, range } from './support/recorder.js';
import { canSpawnRedis, TestRedis, uniquePrefix } from './support/redis-server.js';

let redis: TestRedis;
let prefix: string;
const cleanups = new Cleanups();

beforeAll(async () => {
  redis = await TestRedis.start();
});
afterAll(async () => {
  await redis.stop(prefix);
});
beforeEach(() => {
  prefix = uniquePrefix();
});
afterEach(() => cleanups.run());

/** A started engine on the test Redis (closed after the test) and what it delivered. */
async function node(
  options: RedisEngineOptions = {},
  on: TestRedis = redis,
): Promise<{ engine: RedisEngine; rec: Recorder }> {
  const engine = createRedisEngine({ url: on.url, prefix, ...options });
  const rec = new Recorder();
  cleanups.defer(() => engine.close());
  await engine.start(rec.listeners);
  return { engine, rec };
}

function redisCommand(args: string[]): Promise<unknown> {
  return redis.command(args);
}

/** Lose everything this test stored, as a Redis restart without persistence would. */
async function loseData(): Promise<void> {
  if (redis.owned) await redisCommand(['FLUSHALL']);
  else await redis.stop(prefix);
}

engineSuite({
  connection: () => ({ url: redis.url }),
  onEveryServer: async (args) => [await redis.command(args)],
});

// Single-only: the flush loses this one Redis's data. The catch-up test waits for the
// subscriber's 'connection' event with state 'ready' after a kill; on a Cluster the engine
// reports a node's reconnection only in `status().reconnects` (node-redis's cluster client
// has no per-node ready event) and catches up at the next health probe, so that event never
// comes (README, Sentinel and Cluster: limits of this mode).
describe('streams on a single Redis', () => {
  it('catches up from history what pub/sub lost while the subscriber reconnected', async () => {
    const a = await node();
    const b = await node({ reconnect: { initialDelayMs: 20, maxDelayMs: 50 } });
    await watching(b.engine, 'room:gapless');
    for (const n of range(1, 10)) await a.engine.append('room:gapless', body(n));
    let reconnected = false;
    b.engine.on('connection', ({ connection, state }) => {
      if (connection === 'subscriber' && state === 'ready') reconnected = true;
    });
    await redisCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    // Keep publishing while b's subscriber is away, and a little after it is back.
    let n = 10;
    while (!reconnected) await a.engine.append('room:gapless', body(++n));
    for (const _ of range(1, 10)) await a.engine.append('room:gapless', body(++n));
    await b.rec.messagesOf('room:gapless', n);
    expect(b.rec.offsets('room:gapless')).toEqual(range(1, n));
    expect(b.engine.status().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('changes the epoch when Redis loses the history (flush)', async () => {
    const { engine } = await node();
    const before = await engine.append('room:f', body(1));
    await engine.append('room:f', body(2));
    await loseData();
    const head = await engine.head('room:f');
    expect(head.epoch).not.toBe(before.epoch);
    expect(head).toMatchObject({ offset: 0, first: 1 });
    expect(await engine.append('room:f', body(3))).toEqual({ epoch: head.epoch, offset: 1 });
  });
});

describe.runIf(canSpawnRedis)('outage', () => {
  it('fails fast with UNAVAILABLE while Redis is down, counts it, and recovers', async () => {
    const own = await TestRedis.start();
    cleanups.defer(() => own.stop());
    const { engine, rec } = await node({ reconnect: { initialDelayMs: 20, maxDelayMs: 100 } }, own);
    const other = await node({ reconnect: { initialDelayMs: 20, maxDelayMs: 100 } }, own);
    await watching(engine, 'room:o');
    const before = await other.engine.append('room:o', body(1));
    await rec.messagesOf('room:o', 1);

    const down = new Promise<void>((resolve) =>
      engine.on(
        'connection',
        ({ connection, state }) => connection === 'commands' && state === 'down' && resolve(),
      ),
    );
    await own.kill();
    await down;
    const started = Date.now();
    const err = await engine.append('room:o', body(2)).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable, operation: 'append' });
    await expect(engine.getSession('s')).rejects.toBeInstanceOf(RedisUnavailableError);
    expect(engine.status()).toMatchObject({ commands: 'down' });
    expect(engine.status().errors).toBeGreaterThanOrEqual(2);

    const up = (e: RedisEngine) =>
      new Promise<void>((resolve) => {
        const seen = new Set<string>();
        const off = e.on('connection', ({ connection, state }) => {
          if (state === 'ready') seen.add(connection);
          if (seen.size === 2) {
            off();
            resolve();
          }
        });
      });
    const back = Promise.all([up(engine), up(other.engine)]);
    await own.restart();
    await back;
    // History was lost with the restart: the stream has a new epoch, and live delivery resumes.
    const after = await other.engine.append('room:o', body(3));
    expect(after.epoch).not.toBe(before.epoch);
    expect(after.offset).toBe(1);
    await rec.messagesOf('room:o', 2);
    expect(rec.messages.get('room:o')!.map((m) => [m.epoch, m.message.offset])).toEqual([
      [before.epoch, 1],
      [after.epoch, 1],
    ]);
    expect(engine.status()).toMatchObject({ commands: 'ready', subscriber: 'ready' });
  });

  it('recovers from Redis dying again and again, even while reconnecting', { timeout: 120_000 }, async () => {
    const own = await TestRedis.start();
    cleanups.defer(() => own.stop());
    const fast = { reconnect: { initialDelayMs: 10, maxDelayMs: 100 } };
    const nodes = [await node(fast, own), await node(fast, own), await node(fast, own)];
    for (const n of nodes) await watching(n.engine, 'room:again');
    const ready = (e: RedisEngine) =>
      new Promise<void>((resolve) => {
        const up = () => e.status().commands === 'ready' && e.status().subscriber === 'ready';
        if (up()) return resolve();
        const off = e.on('connection', () => {
          if (!up()) return;
          off();
          resolve();
        });
      });
    for (const round of range(1, 25)) {
      await own.kill();
      // Restart at varying moments of the clients' reconnection attempts.
      if (round % 3 !== 0) await new Promise((resolve) => setTimeout(resolve, 10 + (round % 8) * 10));
      await own.restart();
      await Promise.all(nodes.map((n) => ready(n.engine)));
      const appended = await nodes[round % 3]!.engine.append('room:again', body(round));
      // Every node's connections work and its watch delivers the new epoch's message.
      for (const n of nodes) {
        await n.rec.signal.until(() =>
          (n.rec.messages.get('room:again') ?? []).some((m) => m.epoch === appended.epoch),
        );
        expect((await n.engine.head('room:again')).epoch).toBe(appended.epoch);
      }
    }
  });
});
