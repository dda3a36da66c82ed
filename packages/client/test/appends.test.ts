import type { ServerFrame, StreamStatus } from '@holdfast/protocol';
import { describe, expect, it } from 'vitest';
import { type GrowingMeta, memoryStorage } from '../src/index.js';
import { clientOf, reach, type TestClient } from './support/app.js';
import { ManualClock } from './support/clock.js';
import { type FakeConnection, startFakeServer } from './support/fake-server.js';

// The client's rule for growing messages (docs/PROTOCOL.md §10.3), fed frame by frame by a
// scripted server over a real socket: what is applied, what is dropped, what listeners see.

const B = 'broadcast';
const start = (offset: number, data: unknown = '', epoch = 'e1', stream = B): ServerFrame => ({
  t: 'msg',
  stream,
  epoch,
  offset,
  type: 'answer',
  data,
  ts: 1000 + offset,
  open: true,
});
const snap = (offset: number, from: number, data: string, open = true): ServerFrame => ({
  t: 'msg',
  stream: B,
  epoch: 'e1',
  offset,
  start: from,
  type: 'answer',
  data,
  ts: 1000 + offset,
  ...(open ? { open: true as const } : {}),
});
const app = (offset: number, from: number, data?: unknown, end = false, epoch = 'e1'): ServerFrame => ({
  t: 'app',
  stream: B,
  epoch,
  offset,
  start: from,
  ...(data !== undefined ? { data } : {}),
  ...(end ? { end: true as const } : {}),
  ts: 1000 + offset,
});
const tick = (offset: number, stream = B): ServerFrame => ({
  t: 'msg',
  stream,
  epoch: 'e1',
  offset,
  type: 'tick',
  data: { n: offset },
  ts: 1,
});
const recovered = (stream: string, offset: number, epoch = 'e1'): StreamStatus => ({
  stream,
  epoch,
  offset,
  status: 'recovered',
});

/** Record every update of `answer` and `run` messages; `sync(conn, n)` waits for frames sent before tick `n`. */
function record(client: TestClient) {
  const got: { value: unknown; meta: GrowingMeta<string> }[] = [];
  const ticks: number[] = [];
  client.on('answer', (value, meta) => got.push({ value, meta }));
  client.on('run', (value, meta) => got.push({ value, meta }));
  const waiters = new Map<number, () => void>();
  client.on('tick', ({ n }) => {
    ticks.push(n);
    waiters.get(n)?.();
  });
  return {
    got,
    ticks,
    values: () => got.map((g) => g.value),
    /** Send tick `n` after the frames already sent and wait for it: everything before it was handled. */
    sync(conn: FakeConnection, n: number, stream = B) {
      const done = new Promise<void>((resolve) => waiters.set(n, resolve));
      conn.send(tick(n, stream));
      return done;
    },
  };
}

describe('growing messages (§10.3)', () => {
  it('folds appends live, in order, under one key, and forgets the message when it ends', async () => {
    await using server = await startFakeServer({ welcome: () => ({ streams: [recovered(B, 2)] }) });
    const client = clientOf(server);
    const r = record(client);
    await client.connect();
    const conn = await server.nextConnection();
    for (const f of [start(3), app(4, 3, 'Hel'), app(5, 3, 'lo'), app(6, 3, undefined, true)]) conn.send(f);
    // After its end nothing of the message applies any more.
    conn.send(app(7, 3, ' again'));
    await r.sync(conn, 8);
    expect(r.values()).toEqual(['', 'Hel', 'Hello', 'Hello']);
    expect(r.got.map((g) => [g.meta.offset, g.meta.done, g.meta.delta])).toEqual([
      [3, false, undefined],
      [4, false, 'Hel'],
      [5, false, 'lo'],
      [6, true, undefined],
    ]);
    expect(r.got[1]!.meta).toEqual({
      stream: B,
      epoch: 'e1',
      offset: 4,
      ts: 1004,
      volatile: false,
      room: undefined,
      key: 'broadcast e1 3',
      start: 3,
      done: false,
      delta: 'Hel',
    });
    expect(new Set(r.got.map((g) => g.meta.key))).toEqual(new Set(['broadcast e1 3']));
  });

  it('applies each delta exactly once across a reconnect, replays and compacted snapshots', async () => {
    await using server = await startFakeServer({ welcome: () => ({ streams: [recovered(B, 2)] }) });
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const r = record(client);
    await client.connect();
    const first = await server.nextConnection();
    for (const f of [start(3, 'A'), app(4, 3, 'B'), app(5, 3, 'C')]) first.send(f);
    await r.sync(first, 6);
    first.close(1012, 'restart');
    await reach(client, 'reconnecting');
    await clock.advance(750);
    const second = await server.nextConnection();
    const hello = await second.next('hello');
    expect(hello.resume?.cursors).toEqual([{ stream: B, epoch: 'e1', offset: 6 }]);
    expect(hello.resume?.snapshots).toBeUndefined();
    await reach(client, 'connected');
    // A replay after an older cursor (4): the message's snapshot at 4 and its apps after it.
    for (const f of [snap(4, 3, 'AB'), app(5, 3, 'C'), app(7, 3, 'D')]) second.send(f);
    // A compacted snapshot covering apps 8 and 9 (never seen one by one), then a late copy of 8.
    for (const f of [snap(9, 3, 'ABCDEF'), app(8, 3, 'E'), app(10, 3, 'G')]) second.send(f);
    // An app of a message the client does not hold, and the final snapshot.
    for (const f of [app(11, 50, 'zz'), snap(12, 3, 'ABCDEFGH', false), app(13, 3, 'I')]) second.send(f);
    await r.sync(second, 14);
    expect(r.values()).toEqual(['A', 'AB', 'ABC', 'ABCD', 'ABCDEF', 'ABCDEFG', 'ABCDEFGH']);
    expect(r.got.map((g) => g.meta.delta)).toEqual([undefined, 'B', 'C', 'D', undefined, 'G', undefined]);
    expect(r.got.map((g) => g.meta.done)).toEqual([false, false, false, false, false, false, true]);
    expect(r.ticks).toEqual([6, 14]);
  });

  it('moves the cursor to the highest applied offset: a snapshot below it applies but never lowers it', async () => {
    await using server = await startFakeServer({ welcome: () => ({ streams: [recovered(B, 2)] }) });
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const r = record(client);
    await client.connect();
    const first = await server.nextConnection();
    // Like a late join: a plain message at 10, then an open message's snapshot at 6 (<= 10).
    first.send(tick(10));
    first.send(snap(6, 5, 'so far'));
    first.send(app(11, 5, '!'));
    await r.sync(first, 12);
    expect(r.values()).toEqual(['so far', 'so far!']);
    first.close(1012, 'restart');
    await reach(client, 'reconnecting');
    await clock.advance(750);
    const second = await server.nextConnection();
    expect((await second.next('hello')).resume?.cursors).toEqual([{ stream: B, epoch: 'e1', offset: 12 }]);
  });

  it('delivers a whole message of an appendable type once, done, with its key', async () => {
    await using server = await startFakeServer({ welcome: () => ({ streams: [recovered(B, 2)] }) });
    const client = clientOf(server);
    const r = record(client);
    await client.connect();
    const conn = await server.nextConnection();
    const whole: ServerFrame = {
      t: 'msg',
      stream: B,
      epoch: 'e1',
      offset: 3,
      type: 'answer',
      data: 'all',
      ts: 7,
    };
    conn.send(whole);
    conn.send(whole);
    await r.sync(conn, 4);
    expect(r.got).toEqual([
      {
        value: 'all',
        meta: {
          stream: B,
          epoch: 'e1',
          offset: 3,
          ts: 7,
          volatile: false,
          room: undefined,
          key: 'broadcast e1 3',
          start: 3,
          done: true,
          delta: undefined,
        },
      },
    ]);
  });

  it("folds structured deltas with the protocol's fold; invalid deltas are reported, not folded", async () => {
    await using server = await startFakeServer({ welcome: () => ({ streams: [recovered(B, 2)] }) });
    const client = clientOf(server);
    const r = record(client);
    const errors: string[] = [];
    client.events.on('error', (e) => errors.push((e as { code?: string }).code ?? e.message));
    await client.connect();
    const conn = await server.nextConnection();
    conn.send({
      t: 'msg',
      stream: B,
      epoch: 'e1',
      offset: 3,
      type: 'run',
      data: { steps: [] },
      ts: 1,
      open: true,
    });
    for (const f of [app(4, 3, 'plan'), app(5, 3, ''), app(6, 3, 'act'), app(7, 3, 42, true)]) conn.send(f);
    await r.sync(conn, 8);
    expect(errors).toEqual(['VALIDATION_FAILED', 'VALIDATION_FAILED']);
    // The end still says so, with the value as it was.
    expect(r.got.map((g) => [g.value, g.meta.done])).toEqual([
      [{ steps: [] }, false],
      [{ steps: ['plan'] }, false],
      [{ steps: ['plan', 'act'] }, false],
      [{ steps: ['plan', 'act'] }, true],
    ]);
  });

  it('drops the open messages of a stream whose epoch changed (gap frame, welcome)', async () => {
    await using server = await startFakeServer({ welcome: () => ({ streams: [recovered(B, 2)] }) });
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const r = record(client);
    await client.connect();
    const first = await server.nextConnection();
    first.send(start(3, 'x'));
    first.send({ t: 'gap', stream: B, epoch: 'e2', from: 1, to: 0, reason: 'epoch' });
    // Message 3 of epoch e2 is another message, which the client never saw start.
    first.send(app(4, 3, 'y', false, 'e2'));
    first.send({ ...start(5, 'p', 'e2') });
    await r.sync(first, 6);
    expect(r.values()).toEqual(['x', 'p']);
    // The welcome after a reconnect names a new epoch: message 5 of e2 is gone with it.
    first.close(1012, 'restart');
    await reach(client, 'reconnecting');
    server.options.welcome = () => ({ streams: [recovered(B, 0, 'e3')] });
    await clock.advance(750);
    const second = await server.nextConnection();
    await reach(client, 'connected');
    second.send(app(6, 5, 'q', false, 'e2'));
    second.send({ ...app(1, 5, 'q', false, 'e3') });
    await r.sync(second, 7);
    expect(r.values()).toEqual(['x', 'p']);
  });
});

describe('resume.snapshots', () => {
  it('is sent in the hellos after a restore until a welcome, never on an ordinary reconnect', async () => {
    await using server = await startFakeServer();
    const storage = memoryStorage();
    const clock = new ManualClock();
    const a = clientOf(server, { storage, clock });
    await a.connect();
    const connA = await server.nextConnection();
    connA.close(1012, 'restart');
    await reach(a, 'reconnecting');
    await clock.advance(750);
    const again = await server.nextConnection();
    const resume = (await again.next('hello')).resume;
    expect(resume).toMatchObject({ sessionId: 's1' });
    expect(resume).not.toHaveProperty('snapshots');
    await reach(a, 'connected');
    await a[Symbol.asyncDispose]();

    // A reloaded page: a new client from the same storage. Its first connection is lost before
    // any welcome: the next hello asks again.
    const noWelcome = server.options.welcome;
    server.options.welcome = () => false;
    const b = clientOf(server, { storage, clock });
    void b.connect();
    const b1 = await server.nextConnection();
    expect((await b1.next('hello')).resume?.snapshots).toBe(true);
    b1.close(1012, 'restart');
    await reach(b, 'reconnecting');
    server.options.welcome = noWelcome;
    await clock.advance(750);
    const b2 = await server.nextConnection();
    expect((await b2.next('hello')).resume?.snapshots).toBe(true);
    await reach(b, 'connected');
    b2.close(1012, 'restart');
    await reach(b, 'reconnecting');
    await clock.advance(5000); // a second retry in a row: a longer backoff
    const b3 = await server.nextConnection();
    expect((await b3.next('hello')).resume).not.toHaveProperty('snapshots');
  });
});

describe('join with rewind (§10.5)', () => {
  it('fails with UNSUPPORTED when the welcome lacks extension rewind, waiting for the first welcome', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    const joining = client.join('r', { rewind: { count: 5 } }).catch((e: unknown) => e);
    await client.connect();
    expect(await joining).toMatchObject({ name: 'HoldfastError', code: 'UNSUPPORTED' });
    expect(client.joinedRooms()).toEqual([]);
    expect((await server.nextConnection()).received.map((f) => f.t)).toEqual(['hello']);
  });

  it('moves the cursor back to the sub, delivers the rewound messages again, and never rewinds twice', async () => {
    const joins: unknown[] = [];
    let rewinding: FakeConnection | undefined;
    await using server = await startFakeServer({
      welcome: () => ({ extensions: ['appends', 'rewind'] }),
      room: (f, conn) => {
        if (f.t !== 'join' || (!f.rewind && !rewinding)) return false;
        if (!f.rewind) {
          // Already in the room: the current cursor, no sub (§4.5).
          conn.send({ t: 'res', id: f.id, ok: true, result: { stream: 'room:r', epoch: 'e1', offset: 3 } });
          return true;
        }
        joins.push(f);
        // Granted from 1: sub, the replay after 1, and the socket drops before the res.
        conn.send({ t: 'sub', op: 'join', room: 'r', stream: 'room:r', epoch: 'e1', offset: 1 });
        for (const n of [2, 3]) conn.send(tick(n, 'room:r'));
        rewinding = conn;
        return true;
      },
    });
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const r = record(client);
    await client.connect();
    const first = await server.nextConnection();
    await client.join('r');
    for (const n of [1, 2]) first.send(tick(n, 'room:r'));
    await r.sync(first, 3, 'room:r');
    const again = client.join('r', { rewind: { count: 2 } });
    await new Promise<void>((resolve) => client.on('tick', (_, m) => m.offset === 3 && resolve()));
    expect(r.ticks).toEqual([1, 2, 3, 2, 3]);
    expect(joins).toEqual([{ t: 'join', id: expect.any(String), room: 'r', rewind: { count: 2 } }]);
    rewinding!.ws.terminate();
    await reach(client, 'reconnecting');
    await clock.advance(750);
    const second = await server.nextConnection();
    expect((await second.next('hello')).resume?.cursors).toContainEqual({
      stream: 'room:r',
      epoch: 'e1',
      offset: 3,
    });
    // The join is resent, without its rewind: the server already granted it.
    const resent = await second.next('join');
    expect(resent).toEqual({ t: 'join', id: (joins[0] as { id: string }).id, room: 'r' });
    expect(await again).toEqual({ stream: 'room:r', epoch: 'e1', offset: 3 });
    expect(r.ticks).toEqual([1, 2, 3, 2, 3]);
  });
});
