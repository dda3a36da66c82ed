// Extension `appends` on a single redis-server, beyond the shared contract (test/appends-suite.ts,
// run by the engine suite): app frames lost by pub/sub and filled from history, what one append
// costs, and a deleted session taking its growing messages with it.
import { encodeAppBody, encodeMsgBody } from '@holdfast/protocol';
import type { StoredMessage } from '@holdfast/server';
import { Cleanups, SpecClient } from '@holdfast/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisEngine, type RedisEngine, type RedisEngineOptions } from '../src/index.js';
import { StreamWatch } from '../src/stream-watch.js';
import { defer, startNode } from './support/fixture.js';
import { Recorder, range } from './support/recorder.js';
import { TestRedis, uniquePrefix } from './support/redis-server.js';

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

async function node(options: RedisEngineOptions = {}): Promise<{ engine: RedisEngine; rec: Recorder }> {
  const engine = createRedisEngine({ url: redis.url, prefix, ...options });
  const rec = new Recorder();
  cleanups.defer(() => engine.close());
  await engine.start(rec.listeners);
  return { engine, rec };
}

const opening = `${encodeMsgBody('answer', '', 1)},"open":true`;

/**
 * The values of the growing messages in what a node delivered, folded by the client's rule
 * (docs/PROTOCOL.md §10.3): a start or snapshot applies when newer than what is held, an app
 * when its offset is above the message's `at`. Throws on an app of a message never started.
 */
function fold(delivered: StoredMessage[]): Map<number, string> {
  const held = new Map<number, { at: number; value: string }>();
  for (const m of delivered) {
    for (const text of [m.frame, ...(m.parts ?? [])]) {
      const f = JSON.parse(text) as { t: string; offset: number; start?: number; open?: true; data?: string };
      if (f.t === 'msg') {
        if (f.start === undefined && f.open === undefined) continue;
        const key = f.start ?? f.offset;
        const h = held.get(key);
        if (!h || h.at < f.offset) held.set(key, { at: f.offset, value: f.data ?? '' });
      } else {
        const h = held.get(f.start!);
        if (!h) throw new Error(`app ${f.offset} of message ${f.start} without its start`);
        if (h.at < f.offset) held.set(f.start!, { at: f.offset, value: h.value + (f.data ?? '') });
      }
    }
  }
  return new Map([...held].map(([k, h]) => [k, h.value]));
}

describe('appends on one Redis', () => {
  it('fills app frames pub/sub lost from history: every delta folded once, in order', async () => {
    const a = await node();
    const b = await node({ reconnect: { initialDelayMs: 20, maxDelayMs: 50 } });
    const s = 'room:lost-apps';
    b.engine.watch(s);
    await b.engine.read(s, 0, 0);
    const first = await a.engine.append(s, opening, undefined, { open: true });
    const sent = new Map<number, string>([[first.offset, '']]);
    let n = 0;
    /** One step: a delta to the first message, a plain message, and every 5th step a new message. */
    const step = async () => {
      n += 1;
      await a.engine.appendPart(s, first.offset, encodeAppBody(first.offset, `a${n} `, false));
      sent.set(first.offset, `${sent.get(first.offset)}a${n} `);
      await a.engine.append(s, encodeMsgBody('tick', { n }, n));
      if (n % 5 === 0) {
        const other = await a.engine.append(s, opening, undefined, { open: true });
        sent.set(other.offset, '');
        for (const k of range(1, 3)) {
          await a.engine.appendPart(s, other.offset, encodeAppBody(other.offset, `m${k}`, false));
          sent.set(other.offset, `${sent.get(other.offset)}m${k}`);
        }
      }
    };
    for (const _ of range(1, 5)) await step();
    let reconnected = false;
    b.engine.on('connection', ({ connection, state }) => {
      if (connection === 'subscriber' && state === 'ready') reconnected = true;
    });
    await redis.command(['CLIENT', 'KILL', 'TYPE', 'pubsub']);
    while (!reconnected) await step();
    for (const _ of range(1, 10)) await step();
    const head = (await a.engine.head(s)).offset;
    await b.rec.signal.until(() => b.rec.offsets(s).at(-1) === head);
    const offsets = b.rec.offsets(s);
    // Positions only grow (a growing message's entry may come from history ahead of its frames).
    expect(offsets.every((o, i) => i === 0 || o > offsets[i - 1]!)).toBe(true);
    expect(fold(b.rec.messages.get(s)!.map((m) => m.message))).toEqual(sent);
    expect(b.engine.status().reconnects).toBeGreaterThanOrEqual(1);
  });

  it('fills a hole from history up to the end: a growing entry further on holds frames of the hole', async () => {
    const { engine } = await node();
    const s = 'room:hole';
    const { epoch } = await engine.append(s, opening, undefined, { open: true }); // 1
    await engine.appendPart(s, 1, encodeAppBody(1, 'a', false)); // 2
    await engine.append(s, encodeMsgBody('tick', {}, 3)); // 3
    await engine.appendPart(s, 1, encodeAppBody(1, 'b', false)); // 4
    await engine.append(s, encodeMsgBody('tick', {}, 5)); // 5
    await engine.appendPart(s, 1, encodeAppBody(1, 'c', false)); // 6
    const live = new Map(
      (await engine.read(s, 0, 10)).messages
        .flatMap((m) => [m.frame, ...(m.parts ?? [])])
        .map((frame) => {
          const offset = (JSON.parse(frame) as { offset: number }).offset;
          return [offset, { epoch, message: { offset, frame } }] as const;
        }),
    );
    const delivered: StoredMessage[] = [];
    const watch = new StreamWatch(
      s,
      'unused',
      (_e, m) => delivered.push(m),
      (after) => engine.read(s, after, 500),
      (err) => {
        throw err;
      },
    );
    watch.position(epoch, 0);
    // Pub/sub brings 1, loses 2 (an app of message 1), then brings the rest.
    watch.push(live.get(1)!);
    for (const o of [3, 4, 5, 6]) watch.push(live.get(o)!);
    await watch.ready;
    expect(fold(delivered)).toEqual(new Map([[1, 'abc']]));
    expect(watch.offset).toBe(6);
  });

  it('costs one script call and one publish per append, with or without a snapshot', async () => {
    const { engine } = await node();
    const s = 'room:part-cost';
    await engine.append(s, opening, undefined, { open: true });
    const calls = async () => {
      const info = String(await redis.command(['INFO', 'commandstats']));
      const count = (cmd: string) => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
      return { scripts: count('evalsha') + count('eval'), publish: count('spublish') };
    };
    const before = await calls();
    for (const k of range(1, 50)) {
      const snapshot = k % 10 === 0 ? `${encodeMsgBody('answer', 'x'.repeat(k), 1)},"open":true` : undefined;
      await engine.appendPart(s, 1, encodeAppBody(1, 'x', false), snapshot ? { snapshot } : {});
    }
    const after = await calls();
    expect(after.scripts - before.scripts).toBe(50);
    expect(after.publish - before.publish).toBe(50);
  });

  it('deletes the growing messages of a session stream with the session', async () => {
    const { engine } = await node();
    const record = {
      id: 'sess1',
      user: 'u1',
      resumeTokenHash: 'h',
      createdAt: 1,
      rooms: [],
      acked: {},
      starts: {},
    };
    await engine.createSession(record, 60_000);
    const s = 'session:sess1';
    await engine.append(s, opening, undefined, { open: true });
    await engine.appendPart(s, 1, encodeAppBody(1, 'x', false));
    await engine.append(s, opening, undefined, { open: true });
    const keys = async () => (await redis.command(['KEYS', `${prefix}{s:${s}}*`])) as string[];
    expect((await keys()).length).toBeGreaterThan(3);
    expect(await engine.deleteSession('sess1')).toMatchObject({ id: 'sess1' });
    expect(await keys()).toEqual([]);
  });

  it('streams an answer written on one node to live, late and reloaded clients of another, each delta once', async () => {
    const a = await startNode(redis.url, prefix);
    const b = await startNode(redis.url, prefix);
    const client = async (token: string) => {
      const c = new SpecClient({ url: b.url, token });
      defer(() => c.close());
      await c.connect();
      return c;
    };
    const tokens = (from: number, to: number) => range(from, to - 1).map((n) => `t${n} `);
    const live = await client('alice');
    expect(live.welcomes[0]!.extensions).toEqual(['appends', 'rewind']);
    expect((await live.join('r')).ok).toBe(true);
    const w = await a.server.startMessage({ room: 'r' }, 'answer', '>');
    // ~9 KB of tokens: the writer compacts (a snapshot once the parts reach 4 KiB).
    for (const t of tokens(0, 1500)) void w.append(t);
    await live.until(() => live.growth.length === 1501);
    const late = await client('bob');
    const joined = late.join('r');
    for (const t of tokens(1500, 1600)) void w.append(t);
    expect((await joined).ok).toBe(true);
    await live.close();
    for (const t of tokens(1600, 2500)) void w.append(t);
    await w.append('t2500 ');
    live.reload();
    await live.connect();
    for (const t of tokens(2501, 2600)) void w.append(t);
    await w.end();
    const full = `>${tokens(0, 2600).join('')}`;
    for (const c of [live, late]) {
      await c.until(() => c.doneMessages.size === 1);
      const values = c.growth.map((g) => g.value as string);
      // Every value the client went through is a prefix of the next: no delta twice, none lost.
      expect(
        values.every((v, i) => full.startsWith(v) && (i === 0 || v.length >= values[i - 1]!.length)),
      ).toBe(true);
      expect(values.at(-1)).toBe(full);
      expect(c.orphanApps).toEqual([]);
    }
    // The late joiner and the reloaded client got the folded text, not one frame per token.
    expect(late.growth[0]!.kind).toBe('snapshot');
    const resumed = live.frames.slice(live.frames.indexOf(live.welcomes[1]!));
    expect(resumed.filter((f) => f.t === 'app').length).toBeLessThan(1000);
  });

  it('rewinds a room on another node: the last entries by position, a growing message as one', async () => {
    const a = await startNode(redis.url, prefix);
    const b = await startNode(redis.url, prefix);
    for (const n of range(1, 5)) await a.server.sendToRoom('r', 'tick', { n });
    const w = await a.server.startMessage({ room: 'r' }, 'answer', '>'); // 6
    for (const t of ['a', 'b', 'c']) await w.append(t); // 7, 8, 9: the message's position is 9
    await a.server.sendToRoom('r', 'tick', { n: 10 });
    const c = new SpecClient({ url: b.url, token: 'carol' });
    defer(() => c.close());
    await c.connect();
    const res = await c.join('r', { rewind: { count: 3 } });
    expect(res.result).toEqual({ stream: 'room:r', epoch: expect.any(String), offset: 4, rewound: 3 });
    await w.end('!');
    await c.until(() => c.doneMessages.size === 1);
    expect(c.deliveries.filter((d) => d.type === 'tick').map((d) => (d.data as { n: number }).n)).toEqual([
      5, 10,
    ]);
    expect([...c.doneMessages.values()]).toEqual(['>abc!']);
    expect(c.orphanApps).toEqual([]);
  });
});
