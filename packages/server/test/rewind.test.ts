import { ErrorCode } from '@holdfast/protocol';
import { ManualClock, SpecClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/index.js';
import { StreamLog } from '../src/stream-log.js';
import { defer, startServer } from './support/fixture.js';

async function spec(url: string): Promise<SpecClient> {
  const c = new SpecClient({ url });
  defer(() => c.close());
  await c.connect();
  return c;
}

const ticks = (c: SpecClient) =>
  c.deliveries.filter((d) => d.stream === 'room:r').map((d) => (d.data as { n: number }).n);

describe('rewind (PROTOCOL.md §10.5)', () => {
  it('joins with the last count messages, then live; the default cap is limits.maxRewind (100)', async () => {
    const { server, url } = await startServer({ authorizeJoin: () => true });
    for (let n = 1; n <= 150; n++) await server.sendToRoom('r', 'tick', { n });
    const a = await spec(url);
    const res = await a.join('r', { rewind: { count: 3 } });
    expect(res.result).toEqual({ stream: 'room:r', epoch: expect.any(String), offset: 147, rewound: 3 });
    await server.sendToRoom('r', 'tick', { n: 151 });
    await a.until(() => ticks(a).length === 4);
    expect(ticks(a)).toEqual([148, 149, 150, 151]);
    const b = await spec(url);
    const capped = await b.join('r', { rewind: { count: 1000 } });
    expect(capped.result).toMatchObject({ offset: 51, rewound: 100 });
    await b.until(() => ticks(b).length === 100);
    expect(ticks(b)[0]).toBe(52);
  });

  it('rewinds by age on the engine clock', async () => {
    const clock = new ManualClock();
    const { server, url } = await startServer({ clock, authorizeJoin: () => true });
    await server.sendToRoom('r', 'tick', { n: 1 });
    clock.advance(60_000);
    await server.sendToRoom('r', 'tick', { n: 2 });
    clock.advance(1000);
    await server.sendToRoom('r', 'tick', { n: 3 });
    const a = await spec(url);
    const res = await a.join('r', { rewind: { ageMs: 30_000 } });
    expect(res.result).toMatchObject({ offset: 1, rewound: 2 });
    await a.until(() => ticks(a).length === 2);
    expect(ticks(a)).toEqual([2, 3]);
  });

  it('lets authorizeJoin cap or refuse the rewind, or refuse the join', async () => {
    const seen: unknown[] = [];
    const { server, url } = await startServer({
      authorizeJoin: ({ room, rewind }) => {
        seen.push(rewind);
        if (room === 'closed') return false;
        if (room === 'r') return { rewind: { count: 2 } };
        return { rewind: false };
      },
    });
    for (let n = 1; n <= 10; n++) await server.sendToRoom('r', 'tick', { n });
    await server.sendToRoom('plain', 'tick', { n: 1 });
    const a = await spec(url);
    expect((await a.join('r', { rewind: { count: 5 } })).result).toMatchObject({ offset: 8, rewound: 2 });
    expect((await a.join('plain', { rewind: { count: 5 } })).result).toMatchObject({ offset: 1, rewound: 0 });
    const refused = await a.join('closed', { rewind: { count: 5 } });
    expect(refused).toMatchObject({ ok: false, error: { code: ErrorCode.Forbidden } });
    expect(seen).toEqual([{ count: 5 }, { count: 5 }, { count: 5 }]);
    await a.until(() => ticks(a).length === 2);
    expect(ticks(a)).toEqual([9, 10]);
  });

  it('moves the start of a room the session is in down, and sends sub again', async () => {
    const { server, url } = await startServer({ authorizeJoin: () => true });
    const a = await spec(url);
    await a.join('r');
    for (let n = 1; n <= 5; n++) await server.sendToRoom('r', 'tick', { n });
    await a.until(() => ticks(a).length === 5);
    const again = await a.join('r', { rewind: { count: 2 } });
    expect(again.result).toMatchObject({ offset: 3, rewound: 2 });
    await a.until(() => ticks(a).length === 7);
    expect(ticks(a)).toEqual([1, 2, 3, 4, 5, 4, 5]);
    expect(a.frames.filter((f) => f.t === 'sub' && f.op === 'join').map((f) => f.offset)).toEqual([0, 3]);
    // Without rewind, joining again changes nothing.
    expect((await a.join('r')).result).toMatchObject({ offset: expect.any(Number) });
    expect(a.frames.filter((f) => f.t === 'sub').length).toBe(2);
    // A resume does not go below the (moved) start: nothing is replayed twice more.
    await a.close();
    await a.connect();
    await server.sendToRoom('r', 'tick', { n: 6 });
    await a.until(() => ticks(a).length === 8);
    expect(ticks(a).slice(7)).toEqual([6]);
  });

  it('gives a rewound join the open messages at or below its start, then the rest', async () => {
    const { server, url } = await startServer({ authorizeJoin: () => true });
    const w = await server.startMessage({ room: 'r' }, 'answer', 'a');
    await w.append('b');
    await server.sendToRoom('r', 'tick', { n: 1 });
    await server.sendToRoom('r', 'tick', { n: 2 });
    const a = await spec(url);
    expect((await a.join('r', { rewind: { count: 1 } })).result).toMatchObject({ offset: 3, rewound: 1 });
    await w.end('c');
    await a.until(() => a.doneMessages.size === 1 && ticks(a).length === 1);
    expect([...a.doneMessages.values()]).toEqual(['abc']);
    expect(ticks(a)).toEqual([2]);
  });

  it("reads a stream's history by count, age and offset (server side)", async () => {
    const clock = new ManualClock();
    const { server } = await startServer({ clock });
    await server.sendToRoom('h', 'tick', { n: 1 });
    const w = await server.startMessage({ room: 'h' }, 'answer', 'a');
    clock.advance(10_000);
    await server.sendToRoom('h', 'tick', { n: 2 });
    await w.append('b');
    const all = await server.history({ room: 'h' });
    expect(all).toMatchObject({ stream: 'room:h', offset: 4, first: 1 });
    expect(all.messages.map((m) => [m.offset, m.start, m.type, m.data, m.open])).toEqual([
      [1, 1, 'tick', { n: 1 }, false],
      [3, 3, 'tick', { n: 2 }, false],
      [4, 2, 'answer', 'ab', true],
    ]);
    expect((await server.history({ room: 'h' }, { count: 1 })).messages.map((m) => m.offset)).toEqual([4]);
    expect((await server.history({ room: 'h' }, { ageMs: 5000 })).messages.map((m) => m.offset)).toEqual([
      3, 4,
    ]);
    expect((await server.history({ room: 'h' }, { after: 1 })).messages.map((m) => m.offset)).toEqual([3, 4]);
    expect((await server.history({ room: 'none' })).messages).toEqual([]);
  });

  it('closes a join with a rewind out of range (4400) and refuses one from the server API', async () => {
    const { server, url, connect } = await startServer({ authorizeJoin: () => true });
    const raw = await connect();
    const w = await raw.hello();
    raw.send({ t: 'join', id: 'j', room: 'r', rewind: { count: 0 } });
    expect(await raw.closedPromise()).toMatchObject({ code: 4400 });
    await expect(server.join(w.sessionId, 'r', { rewind: { count: 10_001 } })).rejects.toMatchObject({
      code: ErrorCode.ValidationFailed,
    });
    expect(url).toContain('ws://');
  });
});

describe('retention per stream kind and by position', () => {
  it('bounds each kind by its own count, bytes and age', async () => {
    const clock = new ManualClock();
    const engine = new MemoryEngine({
      clock,
      retention: {
        maxMessages: 5,
        room: { maxMessages: 2 },
        user: { maxBytes: 300 },
        broadcast: { maxAgeMs: 1000 },
      },
    });
    for (let i = 0; i < 6; i++) {
      await engine.append('session:s', `"type":"tick","data":{"n":${i}},"ts":0`);
      await engine.append('room:r', `"type":"tick","data":{"n":${i}},"ts":0`);
      await engine.append('user:u', `"type":"tick","data":{"n":${i}},"ts":0`);
      await engine.append('broadcast', `"type":"tick","data":{"n":${i}},"ts":0`);
    }
    expect((await engine.read('session:s', 0, 100)).messages).toHaveLength(5);
    expect(await engine.head('room:r')).toMatchObject({ offset: 6, first: 5 });
    const user = await engine.read('user:u', 0, 100);
    expect(user.messages.reduce((n, m) => n + m.frame.length, 0)).toBeLessThanOrEqual(300);
    expect(user.messages.length).toBeLessThan(5);
    clock.advance(1001);
    expect((await engine.read('broadcast', 0, 100)).messages).toHaveLength(0);
    expect((await engine.read('session:s', 0, 100)).messages).toHaveLength(5);
  });

  it('keeps growing entries in position order: tombstones, reads by position, first', () => {
    const log = new StreamLog('e');
    log.append('m1', undefined, 0, 1000, 1e9, true);
    log.append('m2', undefined, 0, 1000, 1e9);
    for (let i = 0; i < 100; i++) {
      log.appendPart(1, `a${i}`, undefined, false, 0, 1000, 1e9);
      log.append(`p${i}`, undefined, 0, 1000, 1e9);
    }
    expect(log.size).toBe(102);
    expect(log.offset).toBe(202);
    // The growing message is at its last app (201), after the plain message at 200.
    expect(log.read(199, 3).map((m) => m.offset)).toEqual([200, 201, 202]);
    expect(log.read(200, 1)[0]).toMatchObject({ offset: 201, frame: 'm1', open: true });
    expect(log.read(200, 1)[0]!.parts).toHaveLength(100);
    expect(log.openUpTo(201).map((m) => m.offset)).toEqual([201]);
    expect(log.first).toBe(1);
    log.appendPart(1, 'end', 'snap', true, 0, 2, 1e9);
    // Count 2: only the two newest positions stay; `first` is past the last one dropped.
    expect(log.read(0, 10).map((m) => m.offset)).toEqual([202, 203]);
    expect(log.read(0, 10)[1]).toMatchObject({ frame: 'snap', parts: undefined });
    expect(log.openEntry(1)).toBeUndefined();
    expect(log.first).toBe(201);
    expect(log.rewindPoint(1, 0)).toEqual({ offset: 202, count: 1 });
    expect(log.rewindPoint(10, 0)).toEqual({ offset: 201, count: 2 });
  });
});
