// Several server processes on one Redis, clients spread over them. The nodes are child
// processes (test/support/node-main.ts) so that one can be killed with SIGKILL; the test
// process publishes through an in-process server of its own on the same Redis.
import { readFile } from 'node:fs/promises';
import { createServer, type HoldfastServer } from '@holdfast/server';
import { type AnyFrame, type App, app, cursorsOf, RawClient } from '@holdfast/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine } from '../src/index.js';
import { type NodeConfig, NodeProcess } from './support/cluster.js';
import { defer } from './support/fixture.js';
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

async function startNodes(
  count: number,
  config: Partial<NodeConfig> = {},
  on = redis,
): Promise<NodeProcess[]> {
  const nodes = await Promise.all(
    range(1, count).map((i) =>
      NodeProcess.start({ name: `node${i}`, redisUrl: on.url, prefix, ...config }).then((n) => {
        defer(() => n.stop());
        return n;
      }),
    ),
  );
  return nodes;
}

/** A server in this process, without a port, to publish from (and an engine to look at Redis). */
async function publisher(on = redis): Promise<{ server: HoldfastServer<App>; engine: RedisEngine }> {
  const engine = createRedisEngine({
    url: on.url,
    prefix,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
  });
  const server = createServer<App>({ protocol: app, engine });
  server.on('error', () => {});
  await server.ready();
  defer(() => server.close());
  return { server, engine };
}

async function client(url: string): Promise<RawClient> {
  const c = await RawClient.open(url);
  defer(async () => c.ws.terminate());
  return c;
}

async function join(c: RawClient, room: string): Promise<void> {
  c.send({ t: 'join', id: `join-${room}`, room });
  const res = await c.next((f) => f.t === 'res' && f.id === `join-${room}`);
  expect(res.ok).toBe(true);
}

const msgsOf = (frames: AnyFrame[], stream: string) =>
  frames.filter((f) => f.t === 'msg' && f.stream === stream);

/** Poll a condition with a deadline, for states no event announces (another process's). */
async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Wait until a process is stopped (SIGSTOP took effect). */
async function stoppedProcess(pid: number): Promise<void> {
  await eventually(`process ${pid} to stop`, async () => {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
    return state === 'T' || state === 't';
  });
}

/** Handler runs per `sessionId/messageId`, counted in Redis by the nodes. */
async function handlerRuns(): Promise<Map<string, number>> {
  const flat = (await redis.command(['HGETALL', `${prefix}test:runs`])) as string[];
  const out = new Map<string, number>();
  for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
  return out;
}

describe('three server processes on one Redis', () => {
  it('delivers a room broadcast from any node to every client exactly once', {
    timeout: 120_000,
  }, async () => {
    const nodes = await startNodes(3);
    const clients: RawClient[] = [];
    for (const i of range(0, 11)) {
      const c = await client(nodes[i % 3]!.url);
      await c.hello({ token: `u${i}` });
      await join(c, 'lobby');
      clients.push(c);
    }
    // Every node publishes 100 room messages at once; one broadcast on top.
    await Promise.all(
      nodes.map(async (node, k) => {
        for (const i of range(1, 100)) await node.request('sendToRoom', 'lobby', k * 1000 + i);
      }),
    );
    expect(await nodes[1]!.request('broadcast', 7)).toBe(12);
    const sent = nodes.flatMap((_, k) => range(1, 100).map((i) => k * 1000 + i));
    for (const c of clients) {
      await c.collect((f) => f.t === 'msg' && f.stream === 'room:lobby', 300);
      await c.next((f) => f.t === 'msg' && f.stream === 'broadcast');
      const lobby = c.msgs('room:lobby');
      expect(lobby.map((f) => f.offset)).toEqual(range(1, 300));
      expect(lobby.map((f) => f.data.n as number).sort((a, b) => a - b)).toEqual(sent);
      expect(c.msgs('broadcast').map((f) => f.data.n)).toEqual([7]);
    }
    // The same order on every client (one stream, one order).
    const order = clients[0]!.msgs('room:lobby').map((f) => f.data.n);
    for (const c of clients) expect(c.msgs('room:lobby').map((f) => f.data.n)).toEqual(order);
  });

  it('holds the per-user connection limit across nodes', { timeout: 60_000 }, async () => {
    const nodes = await startNodes(3, { connectionsPerUser: 2 });
    const { engine } = await publisher();
    const c1 = await client(nodes[0]!.url);
    await c1.hello({ token: 'limited' });
    const c2 = await client(nodes[1]!.url);
    await c2.hello({ token: 'limited' });
    const c3 = await client(nodes[2]!.url);
    await expect(c3.hello({ token: 'limited' })).rejects.toThrow(/closed 4409/);
    await c1.close();
    await eventually(
      'the slot to be released',
      async () => (await engine.userConnectionCount('limited')) === 1,
    );
    const c4 = await client(nodes[2]!.url);
    expect((await c4.hello({ token: 'limited' })).user).toBe('limited');
  });

  it('never replays a room from before the join, on another node, whatever cursor the resume sends', {
    timeout: 60_000,
  }, async () => {
    // The subscription start lives in the Redis session record (docs/PROTOCOL.md §2, §4.2).
    const nodes = await startNodes(2);
    const { server } = await publisher();
    for (let n = 1; n <= 5; n++) await server.sendToRoom('hist', 'tick', { n });
    const c1 = await client(nodes[0]!.url);
    const w = await c1.hello({ token: 'reader' });
    await join(c1, 'hist');
    await server.sendToRoom('hist', 'tick', { n: 6 });
    const first = await c1.next((f) => f.t === 'msg' && f.stream === 'room:hist');
    await c1.terminate();
    for (const epoch of [first.epoch as string, 'made-up']) {
      const c = await client(nodes[1]!.url);
      const r = await c.hello({
        token: 'reader',
        resume: {
          sessionId: w.sessionId,
          resumeToken: w.resumeToken,
          cursors: [{ stream: 'room:hist', epoch, offset: 0 }],
        },
      });
      expect(r.resumed).toBe(true);
      expect(r.streams.find((s: AnyFrame) => s.stream === 'room:hist')).toMatchObject(
        epoch === 'made-up' ? { status: 'gap', reason: 'unknown' } : { status: 'recovered', offset: 5 },
      );
      const got = await c.next((f) => f.t === 'msg' && f.stream === 'room:hist');
      expect(got.data).toEqual({ n: 6 });
      c.send({ t: 'ping', ts: 1 });
      await c.next((f) => f.t === 'pong');
      expect(msgsOf(c.frames, 'room:hist')).toHaveLength(1);
      await c.terminate();
    }
  });
});

describe('kill -9 of a node whose user is at connectionsPerUser', () => {
  it('lets its clients resume on another node at once (their own stale slot does not count)', {
    timeout: 60_000,
  }, async () => {
    const nodes = await startNodes(2, { connectionsPerUser: 1 });
    const [victim, survivor] = nodes as [NodeProcess, NodeProcess];
    const c1 = await client(victim.url);
    const welcome = await c1.hello({ token: 'solo' });
    await victim.signal('SIGKILL');
    await c1.closedPromise();
    const c2 = await client(survivor.url);
    const resumed = await c2.hello({
      token: 'solo',
      resume: {
        sessionId: welcome.sessionId,
        resumeToken: welcome.resumeToken,
        cursors: cursorsOf(c1.frames),
      },
    });
    expect(resumed.resumed).toBe(true);
    // The limit still holds for another session of the user.
    const c3 = await client(survivor.url);
    await expect(c3.hello({ token: 'solo' })).rejects.toThrow(/closed 4409/);
  });
});

describe('kill -9 of a node in the middle of a 10,000-message stream', () => {
  it('resumes its clients on the other nodes with zero loss, zero duplicates, outboxes handled once', {
    timeout: 180_000,
  }, async () => {
    const TOTAL = 10_000;
    const nodes = await startNodes(3);
    const [victim, ...survivors] = nodes as [NodeProcess, NodeProcess, NodeProcess];
    const { server: pub } = await publisher();

    interface Client {
      user: string;
      conns: RawClient[];
      welcome: AnyFrame;
      outbox: { id: string; n: number }[];
    }
    const all: Client[] = [];
    for (const i of range(0, 8)) {
      const c = await client(nodes[i % 3]!.url);
      const user = `k${i}`;
      all.push({ user, conns: [c], welcome: await c.hello({ token: user }), outbox: [] });
      await join(c, 'stream');
    }
    const onVictim = all.filter((_, i) => i % 3 === 0);
    const current = (c: Client) => c.conns.at(-1)!;
    const pubs = (c: Client, tag: string, count: number) => {
      for (const k of range(1, count)) {
        const m = { id: `${c.user}-${tag}${k}`, n: k };
        c.outbox.push(m);
        current(c).send({ t: 'pub', id: m.id, type: 'note', data: { n: m.n } });
      }
    };
    const answered = (c: Client, ids: string[]) =>
      Promise.all(ids.map((id) => current(c).next((f) => f.t === 'res' && f.id === id)));

    // Client messages handled and acknowledged before the crash.
    for (const c of all) pubs(c, 'a', 20);
    for (const c of all) {
      const res = await answered(
        c,
        c.outbox.map((m) => m.id),
      );
      expect(res.every((r) => r.ok)).toBe(true);
    }

    let published = 0;
    const publishing = (async () => {
      for (const n of range(1, TOTAL)) {
        await pub.sendToRoom('stream', 'tick', { n });
        published = n;
      }
    })();

    // Mid-stream: freeze the victim, give its clients unacknowledged messages, then kill it.
    await current(onVictim[0]!).collect((f) => f.t === 'msg' && f.stream === 'room:stream', 3000);
    expect(published).toBeLessThan(TOTAL);
    await victim.signal('SIGSTOP');
    await stoppedProcess(victim.proc.pid!);
    for (const c of onVictim) pubs(c, 'b', 10);
    await victim.signal('SIGKILL');
    expect(victim.exit?.signal).toBe('SIGKILL');
    for (const c of onVictim) await current(c).closedPromise();
    const atKill = published;
    expect(atKill).toBeLessThan(TOTAL);

    // Its clients resume on the other nodes and resend their whole outbox.
    for (const [i, c] of onVictim.entries()) {
      const before = c.conns.flatMap((x) => x.frames);
      const next = await client(survivors[i % 2]!.url);
      c.conns.push(next);
      const welcome = await next.hello({
        token: c.user,
        resume: {
          sessionId: c.welcome.sessionId,
          resumeToken: c.welcome.resumeToken,
          cursors: cursorsOf(before),
        },
      });
      expect(welcome.resumed).toBe(true);
      expect(welcome.streams.find((s: AnyFrame) => s.stream === 'room:stream').status).toBe('recovered');
      for (const m of c.outbox) next.send({ t: 'pub', id: m.id, type: 'note', data: { n: m.n } });
    }
    for (const c of onVictim) {
      const res = await answered(
        c,
        c.outbox.map((m) => m.id),
      );
      expect(res.every((r) => r.ok)).toBe(true);
    }

    await publishing;
    for (const c of all) {
      await current(c).next((f) => f.t === 'msg' && f.stream === 'room:stream' && f.data.n === TOTAL);
    }
    for (const c of all) {
      const frames = c.conns.flatMap((x) => x.frames);
      const got = msgsOf(frames, 'room:stream');
      // Zero loss, zero duplicates, in order, across the crash.
      expect(got.map((f) => f.data.n)).toEqual(range(1, TOTAL));
      expect(got.map((f) => f.offset)).toEqual(range(1, TOTAL));
      expect(frames.filter((f) => f.t === 'gap')).toEqual([]);
    }
    // Every client message was handled exactly once, across nodes and the crash.
    const runs = await handlerRuns();
    for (const c of all) {
      for (const m of c.outbox) expect(runs.get(`${c.welcome.sessionId}/${m.id}`), m.id).toBe(1);
    }
    expect(runs.size).toBe(all.reduce((s, c) => s + c.outbox.length, 0));
    for (const s of survivors) expect(s.exit).toBeUndefined();
  });
});

describe.runIf(canSpawnRedis)('Redis restarted mid-stream', () => {
  it('crashes no process; clients end with everything or an honest gap', { timeout: 180_000 }, async () => {
    const own = await TestRedis.start();
    defer(() => own.stop());
    const nodes = await startNodes(3, {}, own);
    const { server: pub, engine: pubEngine } = await publisher(own);
    const clients: { c: RawClient; welcome: AnyFrame; user: string }[] = [];
    for (const i of range(0, 5)) {
      const c = await client(nodes[i % 3]!.url);
      const user = `r${i}`;
      clients.push({ c, user, welcome: await c.hello({ token: user }) });
      await join(c, 'rs');
    }

    const ok: number[] = [];
    const refused: unknown[] = [];
    const failedDuringOutage: number[] = [];
    let n = 0;
    for (const i of range(1, 1000)) {
      n = i;
      await pub.sendToRoom('rs', 'tick', { n });
      ok.push(n);
    }
    const beforeRestart = ok.length;

    // Redis dies while the nodes are still delivering: sends fail fast, nothing crashes.
    await own.kill();
    for (const _ of range(1, 20)) {
      n += 1;
      await pub.sendToRoom('rs', 'tick', { n }).then(
        () => ok.push(n),
        (err: unknown) => {
          refused.push(err);
          failedDuringOutage.push(n);
        },
      );
    }
    expect(failedDuringOutage.length).toBe(20);
    expect(refused.every((e) => (e as { code?: string }).code === 'UNAVAILABLE')).toBe(true);
    const sender = clients[0]!.c;
    sender.send({ t: 'pub', id: 'during-outage', type: 'note', data: { n: 1 } });
    expect((await sender.next((f) => f.t === 'error')).error.code).toBe('UNAVAILABLE');
    const stats = await nodes[0]!.request<{ server: { counters: { engineErrors: number } } }>('stats');
    expect(stats.server.counters.engineErrors).toBeGreaterThanOrEqual(1);

    await own.restart();
    await Promise.all([...nodes.map((node) => node.request('waitReady')), waitReady(pubEngine)]);
    const afterFrom = ok.length;
    for (const _ of range(1, 1000)) {
      n += 1;
      await pub.sendToRoom('rs', 'tick', { n });
      ok.push(n);
    }
    const last = ok.at(-1)!;
    const oldEpoch = ok.slice(0, beforeRestart);
    const newEpoch = ok.slice(afterFrom);

    for (const { c } of clients) {
      await c.next((f) => f.t === 'msg' && f.stream === 'room:rs' && f.data.n === last);
      expect(c.closed).toBeUndefined();
      // Old epoch: a prefix of what was published before the restart, in order; then exactly
      // one gap frame announcing the new epoch; then everything published after, in order.
      const seq = c.frames.filter((f) => (f.t === 'msg' || f.t === 'gap') && f.stream === 'room:rs');
      const gapAt = seq.findIndex((f) => f.t === 'gap');
      expect(gapAt).toBeGreaterThanOrEqual(0);
      expect(seq[gapAt]).toMatchObject({ reason: 'epoch' });
      const before = seq.slice(0, gapAt);
      const after = seq.slice(gapAt + 1);
      expect(after.every((f) => f.t === 'msg' && f.epoch === seq[gapAt]!.epoch)).toBe(true);
      expect(before.map((f) => f.data.n)).toEqual(oldEpoch.slice(0, before.length));
      expect(after.map((f) => f.data.n)).toEqual(newEpoch);
      expect(after.map((f) => f.offset)).toEqual(range(1, newEpoch.length));
      for (const lost of failedDuringOutage) expect(seq.some((f) => f.data?.n === lost)).toBe(false);
    }

    // A client that reconnects now finds its session gone with Redis: told so, not silently.
    const { c: old, welcome, user } = clients[1]!;
    await old.terminate();
    const again = await client(nodes[2]!.url);
    const w = await again.hello({
      token: user,
      resume: {
        sessionId: welcome.sessionId,
        resumeToken: welcome.resumeToken,
        cursors: cursorsOf(old.frames),
      },
    });
    expect(w).toMatchObject({ resumed: false, resumeError: 'expired' });
    // The new session's three streams, once each: gaps where the client held a cursor; its room
    // is not listed (the client re-joins it, docs/PROTOCOL.md §4.2).
    expect(w.streams).toHaveLength(3);
    expect(w.streams.filter((s: AnyFrame) => s.status === 'gap').map((s: AnyFrame) => s.stream)).toEqual([
      `user:${user}`,
      'broadcast',
    ]);
    expect(w.streams.every((s: AnyFrame) => s.reason === undefined || s.reason === 'expired')).toBe(true);

    // No process crashed.
    for (const node of nodes) {
      expect(node.exit).toBeUndefined();
      expect(await node.request('stats')).toBeDefined();
    }
  });
});

function waitReady(engine: RedisEngine): Promise<void> {
  return new Promise((resolve) => {
    const up = () => engine.status().commands === 'ready' && engine.status().subscriber === 'ready';
    if (up()) return resolve();
    const off = engine.on('connection', () => {
      if (!up()) return;
      off();
      resolve();
    });
  });
}
