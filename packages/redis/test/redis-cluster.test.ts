// The engine on a real local Redis Cluster (three masters started once for this file by
// test/support/redis-cluster.ts): streams spread over every shard, sessions, handled ids,
// rooms and slots, then server processes on the cluster with one killed by SIGKILL; and the
// shared engine suite (test/engine-suite.ts) on the same cluster.
import { encodeMsgBody } from '@holdfast/protocol';
import { type AnyFrame, Cleanups, cursorsOf, ManualClock, RawClient } from '@holdfast/testkit';
import { createClient, createCluster } from 'redis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine, type RedisEngineOptions } from '../src/index.js';
import { engineSuite } from './engine-suite.js';
import { NodeProcess } from './support/cluster.js';
import { Recorder, range } from './support/recorder.js';
import { canStartCluster, TestCluster } from './support/redis-cluster.js';
import { uniquePrefix } from './support/redis-server.js';

let cluster: TestCluster;
let prefix: string;
const cleanups = new Cleanups();

beforeAll(async () => {
  if (canStartCluster) cluster = await TestCluster.start();
}, 60_000);
afterAll(async () => {
  await cluster?.stop();
});
beforeEach(() => {
  prefix = uniquePrefix();
});
afterEach(() => cleanups.run());

async function node(options: RedisEngineOptions = {}): Promise<{ engine: RedisEngine; rec: Recorder }> {
  const engine = createRedisEngine({ clusterNodes: cluster.urls.slice(0, 1), prefix, ...options });
  const rec = new Recorder();
  cleanups.defer(() => engine.close());
  await engine.start(rec.listeners);
  return { engine, rec };
}

function body(n: number): string {
  return encodeMsgBody('tick', { n }, 1_700_000_000_000 + n);
}

/** Which master serves each of `keys` (by asking the cluster). */
async function shardsOf(keys: string[]): Promise<Set<number>> {
  const c = createClient({ url: cluster.urls[0]! });
  c.on('error', () => {});
  await c.connect();
  try {
    const slots = (await c.sendCommand(['CLUSTER', 'SLOTS'])) as [number, number, [string, number]][];
    const shards = new Set<number>();
    for (const key of keys) {
      const slot = Number(await c.sendCommand(['CLUSTER', 'KEYSLOT', key]));
      shards.add(slots.find(([from, to]) => slot >= from && slot <= to)![2][1]);
    }
    return shards;
  } finally {
    await c.close();
  }
}

/** Run one command on each master, on a connection of its own (for assertions). */
async function onEveryMaster(args: string[]): Promise<unknown[]> {
  return Promise.all(
    cluster.urls.map(async (url) => {
      const c = createClient({ url });
      c.on('error', () => {});
      await c.connect();
      try {
        return await c.sendCommand(args);
      } finally {
        await c.close();
      }
    }),
  );
}

describe.runIf(canStartCluster)('the engine suite on a three-master Redis Cluster', () => {
  engineSuite({
    connection: () => ({ clusterNodes: cluster.urls.slice(0, 1) }),
    onEveryServer: onEveryMaster,
  });
});

describe.runIf(canStartCluster)('the engine on a three-master Redis Cluster', () => {
  it('delivers streams of every shard to every watching node once, in order', async () => {
    const a = await node();
    const b = await node();
    const streams = range(1, 12).map((i) => `room:c${i}`);
    expect((await shardsOf(streams.map((s) => a.engine.keys.streamMeta(s)))).size).toBe(3);
    for (const s of streams) {
      a.engine.watch(s);
      b.engine.watch(s);
      await a.engine.read(s, 0, 0);
      await b.engine.read(s, 0, 0);
    }
    await Promise.all(
      streams.map(async (s, i) => {
        for (const n of range(1, 30)) await (i % 2 ? a : b).engine.append(s, body(n));
      }),
    );
    for (const n of [a, b]) {
      for (const s of streams) {
        await n.rec.messagesOf(s, 30);
        expect(n.rec.offsets(s)).toEqual(range(1, 30));
      }
    }
    expect((await a.engine.read('room:c1', 0, 100)).messages.map((m) => m.offset)).toEqual(range(1, 30));
    // Stored in the cluster, not anywhere else.
    const check = createCluster({ rootNodes: [{ url: cluster.urls[1]! }] });
    check.on('error', () => {});
    await check.connect();
    cleanups.defer(() => check.close());
    for (const s of streams) expect(await check.xLen(a.engine.keys.streamLog(s))).toBe(30);
  });

  it('keeps sessions, handled ids, rooms and slots across nodes', async () => {
    const clock = new ManualClock();
    const a = await node({ clock });
    const b = await node({ clock });
    const rec = {
      id: 'cs1',
      user: 'cu',
      resumeTokenHash: 'h',
      createdAt: clock.now(),
      rooms: [],
      acked: {},
      starts: {},
    };
    await a.engine.createSession(rec, 0);
    expect(await b.engine.getSession('cs1')).toMatchObject({ id: 'cs1', user: 'cu' });
    expect(await b.engine.markConnected('cs1')).toBe(0);
    expect(await a.engine.getHandled('cs1', 'm1')).toBeUndefined();
    await a.engine.putHandled('cs1', 'm1', 'res-1', 10);
    expect(await b.engine.getHandled('cs1', 'm1')).toBe('res-1');
    expect(await a.engine.joinRoom('lobby', 'cs1', 'cu')).toEqual({ added: true, sessions: 1 });
    // Presence counts connected sessions (PROTOCOL.md §4.5): a member is present once marked so.
    expect(await b.engine.presence('lobby')).toEqual([]);
    expect(await a.engine.markPresent('lobby', 'cs1', 'cu', 'conn-a')).toEqual({
      changed: true,
      sessions: 1,
    });
    expect(await b.engine.presence('lobby')).toEqual([{ user: 'cu', sessions: 1 }]);
    expect(await a.engine.acquireUserSlot('cu', 'conn-a', 1, 'cs1')).toBe(true);
    expect(await b.engine.acquireUserSlot('cu', 'conn-b', 1, 'cs1')).toBe(true);
    expect(await b.engine.acquireUserSlot('cu', 'conn-x', 1, 'cs2')).toBe(false);
    await b.engine.touchSession('cs1', 1000);
    clock.advance(1001);
    expect(await a.engine.expiredSessions(clock.now())).toEqual(['cs1']);
    expect(await a.engine.deleteSession('cs1')).toMatchObject({ id: 'cs1' });
    expect(await b.engine.userSessions('cu')).toEqual([]);
  });

  it('resumes the clients of a node killed with SIGKILL on another node, nothing lost or twice', {
    timeout: 120_000,
  }, async () => {
    const TOTAL = 2000;
    const start = (name: string) =>
      NodeProcess.start({ name, redisUrl: '', clusterNodes: cluster.urls, prefix }).then((n) => {
        cleanups.defer(() => n.stop());
        return n;
      });
    const [victim, survivor] = await Promise.all([start('cn1'), start('cn2')]);
    const open = async (url: string) => {
      const c = await RawClient.open(url);
      cleanups.defer(async () => c.ws.terminate());
      return c;
    };
    const clients = await Promise.all(
      range(0, 3).map(async (i) => {
        const c = await open((i % 2 ? survivor : victim).url);
        const welcome = await c.hello({ token: `cu${i}` });
        c.send({ t: 'join', id: 'j', room: 'ck' });
        await c.next((f) => f.t === 'res' && f.id === 'j');
        return { conns: [c], welcome, user: `cu${i}` };
      }),
    );
    let published = 0;
    const publishing = (async () => {
      for (const n of range(1, TOTAL)) {
        await survivor.request('sendToRoom', 'ck', n);
        published = n;
      }
    })();
    await clients[0]!.conns[0]!.collect((f) => f.t === 'msg' && f.stream === 'room:ck', 200);
    await victim.signal('SIGKILL');
    expect(published).toBeLessThan(TOTAL);
    for (const c of clients.filter((_, i) => i % 2 === 0)) {
      const old = c.conns[0]!;
      await old.closedPromise();
      const next = await open(survivor.url);
      const w = await next.hello({
        token: c.user,
        resume: {
          sessionId: c.welcome.sessionId,
          resumeToken: c.welcome.resumeToken,
          cursors: cursorsOf(old.frames),
        },
      });
      expect(w.resumed).toBe(true);
      c.conns.push(next);
    }
    await publishing;
    for (const c of clients) {
      await c.conns.at(-1)!.next((f) => f.t === 'msg' && f.stream === 'room:ck' && f.data.n === TOTAL);
      const frames: AnyFrame[] = c.conns.flatMap((x) => x.frames);
      const got = frames.filter((f) => f.t === 'msg' && f.stream === 'room:ck');
      expect(got.map((f) => f.data.n)).toEqual(range(1, TOTAL));
      expect(frames.filter((f) => f.t === 'gap')).toEqual([]);
    }
  });
});
