// Faults between a node and Redis (issue 15): each test puts testkit's TCP fault proxy
// between an engine and a Redis of its own, or plays a dead node, and checks what the
// engine does. Figures are in docs/RELIABILITY.md ("Faults between a node and Redis").
import { once } from 'node:events';
import { type AddressInfo, createServer } from 'node:net';
import { ErrorCode, encodeMsgBody } from '@holdfast/protocol';
import { Cleanups, FaultProxy, ManualClock } from '@holdfast/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createRedisEngine,
  DEFAULT_REDIS_ENGINE_OPTIONS,
  type RedisEngine,
  type RedisEngineOptions,
  RedisUnavailableError,
} from '../src/index.js';
import { partsOf } from '../src/internal.js';
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

/** A started engine (closed after the test) and what it delivered. */
async function node(
  options: RedisEngineOptions = {},
  url = redis.url,
): Promise<{ engine: RedisEngine; rec: Recorder }> {
  const engine = createRedisEngine({
    url,
    prefix,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    ...options,
  });
  const rec = new Recorder();
  cleanups.defer(() => engine.close());
  await engine.start(rec.listeners);
  return { engine, rec };
}

/** A proxy in front of `target` (closed after the test). */
async function proxyTo(target: TestRedis): Promise<FaultProxy> {
  const proxy = await FaultProxy.start({ port: target.port });
  cleanups.defer(() => proxy.close());
  return proxy;
}

/** Resolves when `check()` holds, polling every 10 ms; fails after `timeoutMs`. */
async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves on the engine's next `health` event with `healthy === want`. */
function health(engine: RedisEngine, want: boolean): Promise<number> {
  return new Promise((resolve) => {
    const off = engine.on('health', ({ healthy }) => {
      if (healthy !== want) return;
      off();
      resolve(Date.now());
    });
  });
}

/** Both connections ready. */
function ready(engine: RedisEngine): Promise<void> {
  return until('both connections ready', () => {
    const s = engine.status();
    return s.commands === 'ready' && s.subscriber === 'ready';
  });
}

function body(n: number): string {
  return encodeMsgBody('tick', { n }, 1_700_000_000_000 + n);
}

describe('a dead node and the per-user limit', () => {
  it('gives a resumed session the slot of its own earlier connection, on a dead node', async () => {
    const clock = new ManualClock();
    const a = await node({ clock });
    const b = await node({ clock });
    // The user is at the limit (1) with session s1 on node a; a dies without releasing.
    expect(await a.engine.acquireUserSlot('ann', 'conn-a', 1, 's1')).toBe(true);
    await a.engine.close();
    // Another session of the user is refused while a's slot lives...
    expect(await b.engine.acquireUserSlot('ann', 'conn-x', 1, 's2')).toBe(false);
    // ...but s1 resuming on node b takes its own slot over at once.
    expect(await b.engine.acquireUserSlot('ann', 'conn-b', 1, 's1')).toBe(true);
    expect(await b.engine.userConnectionCount('ann')).toBe(1);
    // A late release of the replaced connection leaves the new one counted.
    await b.engine.releaseUserSlot('ann', 'conn-a');
    expect(await b.engine.userConnectionCount('ann')).toBe(1);
    expect(await b.engine.acquireUserSlot('ann', 'conn-x', 1, 's2')).toBe(false);
    await b.engine.releaseUserSlot('ann', 'conn-b');
    expect(await b.engine.acquireUserSlot('ann', 'conn-x', 1, 's2')).toBe(true);
  });

  it("frees a dead node's slots within seconds by default, while the live node's renewals hold", async () => {
    const clock = new ManualClock();
    const live = await node({ clock });
    const dead = await node({ clock });
    const ttl = DEFAULT_REDIS_ENGINE_OPTIONS.slotTtlMs;
    expect(ttl).toBeLessThanOrEqual(10_000);
    expect(await live.engine.acquireUserSlot('bo', 'live', 2, 's-live')).toBe(true);
    expect(await dead.engine.acquireUserSlot('bo', 'dead', 2, 's-dead')).toBe(true);
    await dead.engine.close();
    for (const _ of range(1, 4)) {
      clock.advance(ttl / 3);
      await partsOf(live.engine).slots.renew();
    }
    expect(await live.engine.userConnectionCount('bo')).toBe(1);
    expect(await live.engine.acquireUserSlot('bo', 'new', 2, 's-new')).toBe(true);
  });
});

describe('key residue', () => {
  it("deletes a user's stream with the user's last session, as the memory engine does", async () => {
    const clock = new ManualClock();
    const { engine } = await node({ clock });
    const keysOf = async (user: string) =>
      ((await redis.command(['KEYS', `${prefix}*${user}*`])) as string[]).sort();
    for (const id of ['k1', 'k2']) {
      await engine.createSession(
        { id, user: 'kim', resumeTokenHash: 'h', createdAt: clock.now(), rooms: [], acked: {}, starts: {} },
        0,
      );
    }
    await engine.append('user:kim', body(1));
    await engine.touchSession('k1', 1000);
    await engine.touchSession('k2', 1000);
    clock.advance(1001);
    expect(await engine.deleteSession('k1')).toBeDefined();
    // k2 may still resume with a cursor of the user stream: it stays.
    expect((await engine.read('user:kim', 0, 10)).messages).toHaveLength(1);
    expect(await engine.deleteSession('k2')).toBeDefined();
    expect(await keysOf('kim')).toEqual([]);
  });
});

describe('handler claims and the client request timeout', () => {
  it("takes over a dead node's claim well before the client's 30 s request timeout", async () => {
    const clock = new ManualClock();
    const a = await node({ clock });
    const b = await node({ clock });
    expect(await a.engine.getHandled('hc', 'm1')).toBeUndefined();
    await a.engine.close(); // died while running it
    // The client resent the request to b; b polls on its clock until a's claim expires.
    const started = clock.now();
    expect(await clock.runUntil(b.engine.getHandled('hc', 'm1'))).toBeUndefined();
    // b runs it after at most half the client's request timeout (30 s): the answer arrives
    // before the client gives up.
    expect(clock.now() - started).toBeLessThanOrEqual(15_000);
    expect(clock.now() - started).toBeGreaterThanOrEqual(DEFAULT_REDIS_ENGINE_OPTIONS.handlerClaimMs);
  });
});

describe.runIf(canSpawnRedis)('Redis restarted', () => {
  it('catches a watch up from the new epoch start, not from its offset in the old one', async () => {
    const own = await TestRedis.start();
    cleanups.defer(() => own.stop());
    const proxy = await proxyTo(own);
    const watcher = await node({}, `redis://127.0.0.1:${proxy.port}`);
    const publisher = await node({}, own.url);
    watcher.engine.watch('room:r');
    await watcher.engine.read('room:r', 0, 0);
    for (const n of range(1, 5)) await publisher.engine.append('room:r', body(n));
    await watcher.rec.messagesOf('room:r', 5);

    // Redis restarts empty; the publisher is back first and appends 3 in the new epoch,
    // while the watcher's connections are still refused.
    proxy.refuse(true);
    await own.restart();
    proxy.cut('rst');
    await ready(publisher.engine);
    const fresh = [];
    for (const n of range(6, 8)) fresh.push(await publisher.engine.append('room:r', body(n)));
    expect(fresh.map((f) => f.offset)).toEqual([1, 2, 3]);
    proxy.refuse(false);
    await ready(watcher.engine);
    const live = await publisher.engine.append('room:r', body(9));

    await watcher.rec.signal.until(() =>
      (watcher.rec.messages.get('room:r') ?? []).some(
        (m) => m.epoch === live.epoch && m.message.offset === 4,
      ),
    );
    const got = watcher.rec.messages
      .get('room:r')!
      .map((m) => [m.epoch === live.epoch ? 'new' : 'old', m.message.offset]);
    expect(got).toEqual([
      ['old', 1],
      ['old', 2],
      ['old', 3],
      ['old', 4],
      ['old', 5],
      ['new', 1],
      ['new', 2],
      ['new', 3],
      ['new', 4],
    ]);
  });
});

describe.runIf(canSpawnRedis)('partition between a node and Redis', () => {
  it('is detected by the health probe, fails pending work with UNAVAILABLE, and heals', {
    timeout: 30_000,
  }, async () => {
    const own = await TestRedis.start();
    cleanups.defer(() => own.stop());
    const proxy = await proxyTo(own);
    const healthCheck = { intervalMs: 100, timeoutMs: 300 };
    const { engine, rec } = await node({ healthCheck }, `redis://127.0.0.1:${proxy.port}`);
    const other = await node({}, own.url);
    engine.watch('room:p');
    await engine.read('room:p', 0, 0);
    // The server's sweep drives the probe; here the test does.
    const sweeping = setInterval(() => engine.sweep(), 20);
    cleanups.defer(() => clearInterval(sweeping));
    expect(engine.healthy()).toBe(true);

    // A dead link: nothing forwarded, nothing closed, no reset.
    const sick = health(engine, false);
    const frozenAt = Date.now();
    proxy.freeze();
    const pending = engine.getSession('nobody').catch((e: unknown) => e);
    const detectedAt = await sick;
    expect(engine.status()).toMatchObject({ healthy: false, partitioned: true, partitions: 1 });
    expect(engine.status().lastPartitionDetectionMs).toBeGreaterThanOrEqual(healthCheck.timeoutMs);
    // The command sent into the dead link fails (the socket is dropped), never hangs.
    const err = await pending;
    expect(err).toBeInstanceOf(RedisUnavailableError);
    expect(err).toMatchObject({ code: ErrorCode.Unavailable });
    // Messages published meanwhile are caught up once the link is back.
    for (const n of range(1, 3)) await other.engine.append('room:p', body(n));

    const well = health(engine, true);
    proxy.unfreeze();
    await well;
    await rec.messagesOf('room:p', 3);
    expect(rec.offsets('room:p')).toEqual([1, 2, 3]);
    expect(engine.status()).toMatchObject({ healthy: true, partitioned: false });
    expect(await engine.getSession('nobody')).toBeUndefined();
    // The figure for docs/RELIABILITY.md.
    console.info(
      `partition detected after ${detectedAt - frozenAt} ms (probe: ${JSON.stringify(healthCheck)})`,
    );
  });
});

describe.runIf(canSpawnRedis)('reconnect storms', () => {
  it('backs off when something in front of Redis accepts TCP and then resets', async () => {
    const own = await TestRedis.start();
    cleanups.defer(() => own.stop());
    const proxy = await proxyTo(own);
    const retries: number[] = [];
    const { engine } = await node(
      {
        redis: {
          socket: {
            reconnectStrategy: (n: number) => {
              retries.push(n);
              return Math.min(200, 10 * 2 ** n);
            },
          },
        },
      },
      `redis://127.0.0.1:${proxy.port}`,
    );
    // Behind the proxy now: something that accepts TCP, then resets 20 ms later.
    const resetter = createServer((socket) => {
      socket.on('error', () => {});
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    resetter.listen(0, '127.0.0.1');
    await once(resetter, 'listening');
    cleanups.defer(() => new Promise((resolve) => resetter.close(resolve)));
    proxy.retarget((resetter.address() as AddressInfo).port);
    proxy.cut('rst');
    await until('20 reconnection attempts', () => retries.length >= 20);
    // Each failed attempt counts: the delays grow instead of restarting at zero. (The two
    // connections each start at 0 once; a storm starts again at 0 on every reset.)
    expect(retries.slice(8).filter((n) => n === 0)).toEqual([]);
    expect(Math.max(...retries)).toBeGreaterThanOrEqual(5);
    proxy.retarget(own.port);
    await ready(engine);
    expect(await engine.getSession('nobody')).toBeUndefined();
  });
});
