import type { ServerFrame, StreamStatus } from '@holdfast/protocol';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_OPTIONS, type GapEvent, type MessageMeta } from '../src/index.js';
import { clientOf, nextEvent, reach, type TestClient } from './support/app.js';
import { ManualClock } from './support/clock.js';
import { type FakeConnection, startFakeServer } from './support/fake-server.js';

const tick = (offset: number, stream = 'broadcast', epoch = 'e1'): ServerFrame => ({
  t: 'msg',
  stream,
  epoch,
  offset,
  type: 'tick',
  data: { n: offset },
  ts: 1000 + offset,
});

/** Collect `tick` messages; `until(n)` resolves once the tick with `n` arrived. */
function ticks(client: TestClient) {
  const got: { n: number; meta: MessageMeta }[] = [];
  let waiter: { n: number; resolve: () => void } | undefined;
  client.on('tick', (data, meta) => {
    got.push({ n: data.n, meta });
    if (waiter && data.n === waiter.n) waiter.resolve();
  });
  const until = (n: number) =>
    got.some((g) => g.n === n)
      ? Promise.resolve()
      : new Promise<void>((resolve) => (waiter = { n, resolve }));
  return { got, ns: () => got.map((g) => g.n), until };
}

const recovered = (stream: string, offset: number): StreamStatus => ({
  stream,
  epoch: 'e1',
  offset,
  status: 'recovered',
});

describe('delivery', () => {
  it('delivers each msg once, in order, dropping offsets at or below the cursor; skips are not loss', async () => {
    await using server = await startFakeServer({ welcome: () => ({ streams: [recovered('broadcast', 5)] }) });
    const client = clientOf(server);
    const t = ticks(client);
    const gaps: GapEvent[] = [];
    client.events.on('gap', (g) => gaps.push(g));
    await client.connect();
    const conn = await server.nextConnection();
    for (const offset of [4, 5, 6, 6, 5, 8, 9]) conn.send(tick(offset));
    await t.until(9);
    expect(t.ns()).toEqual([6, 8, 9]);
    expect(gaps).toEqual([]);
    expect(t.got[0]!.meta).toEqual({
      stream: 'broadcast',
      epoch: 'e1',
      offset: 6,
      ts: 1006,
      volatile: false,
      room: undefined,
    });
  });

  it('drops messages replayed after a reconnect that it already delivered', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const t = ticks(client);
    await client.connect();
    const first = await server.nextConnection();
    first.send(tick(1));
    first.send(tick(2));
    await t.until(2);
    first.close(1012, 'restart');
    await reach(client, 'reconnecting');
    await clock.advance(750);
    const second = await server.nextConnection();
    expect((await second.next('hello')).resume?.cursors).toContainEqual({
      stream: 'broadcast',
      epoch: 'e1',
      offset: 2,
    });
    await reach(client, 'connected');
    // A server whose replay overlaps the cursor (it resends 1 and 2).
    for (const offset of [1, 2, 3]) second.send(tick(offset));
    await t.until(3);
    expect(t.ns()).toEqual([1, 2, 3]);
  });

  it('accepts a new epoch of a stream (its offsets restart)', async () => {
    await using server = await startFakeServer({ welcome: () => ({ streams: [recovered('broadcast', 7)] }) });
    const client = clientOf(server);
    const t = ticks(client);
    await client.connect();
    const conn = await server.nextConnection();
    conn.send(tick(8));
    conn.send({ ...tick(1, 'broadcast', 'e2'), data: { n: 100 } } as ServerFrame);
    await t.until(100);
    expect(t.ns()).toEqual([8, 100]);
  });

  it('raises a gap event for every gap stream in the welcome', async () => {
    await using server = await startFakeServer({
      welcome: () => ({
        resumed: true,
        streams: [
          recovered('broadcast', 3),
          { stream: 'room:a', epoch: 'e1', offset: 9, status: 'gap', from: 4, to: 9, reason: 'retention' },
          { stream: 'user:u', epoch: 'e7', offset: 0, status: 'gap', reason: 'epoch' },
        ],
      }),
    });
    const client = clientOf(server);
    const gaps: GapEvent[] = [];
    client.events.on('gap', (g) => gaps.push(g));
    await client.connect();
    expect(gaps).toEqual([
      { stream: 'room:a', epoch: 'e1', from: 4, to: 9, reason: 'retention', source: 'welcome' },
      { stream: 'user:u', epoch: 'e7', from: undefined, to: undefined, reason: 'epoch', source: 'welcome' },
    ]);
  });

  it('raises gap events for every stream it held when the resume failed (resumeError)', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const t = ticks(client);
    await client.connect();
    const first = await server.nextConnection();
    first.send(tick(4));
    await t.until(4);
    server.sessions.clear(); // the server lost the session
    first.close(1012, 'restart');
    await reach(client, 'reconnecting');
    const gaps: GapEvent[] = [];
    client.events.on('gap', (g) => gaps.push(g));
    const welcome = nextEvent(client, 'welcome');
    await clock.advance(750);
    expect(await welcome).toMatchObject({ sessionId: 's2', resumed: false, resumeError: 'expired' });
    expect(gaps).toEqual([
      { stream: 'session:s1', epoch: 'e1', reason: 'expired', source: 'welcome' },
      { stream: 'broadcast', epoch: 'e1', reason: 'expired', source: 'welcome' },
    ]);
  });

  it('raises gap frames as gap events and moves the cursor past the lost range', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    const t = ticks(client);
    await client.connect();
    const conn = await server.nextConnection();
    const gap = nextEvent(client, 'gap');
    conn.send({ t: 'gap', stream: 'broadcast', epoch: 'e1', from: 1, to: 5, reason: 'retention' });
    expect(await gap).toEqual({
      stream: 'broadcast',
      epoch: 'e1',
      from: 1,
      to: 5,
      reason: 'retention',
      source: 'frame',
    });
    for (const offset of [5, 6]) conn.send(tick(offset));
    await t.until(6);
    expect(t.ns()).toEqual([6]);
  });

  it('delivers vol frames to the same listeners with meta.volatile', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    await client.connect();
    const conn = await server.nextConnection();
    const got = new Promise<[unknown, MessageMeta]>((resolve) =>
      client.once('said', (d, m) => resolve([d, m])),
    );
    conn.send({ t: 'vol', stream: 'room:x', type: 'said', data: { text: 'typing' }, ts: 5 });
    expect(await got).toEqual([{ text: 'typing' }, { stream: 'room:x', ts: 5, volatile: true, room: 'x' }]);
  });

  it('reports app data that fails the schema as an error and does not deliver it', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    const t = ticks(client);
    await client.connect();
    const conn = await server.nextConnection();
    const errors: Error[] = [];
    client.events.on('error', (e) => errors.push(e));
    conn.send({ ...tick(1), data: { n: 'one' } } as ServerFrame);
    conn.send({ ...tick(2), type: 'unknown' } as ServerFrame);
    conn.send(tick(3));
    await t.until(3);
    expect(t.ns()).toEqual([3]);
    expect(errors.map((e) => (e as { code?: string }).code)).toEqual([
      'VALIDATION_FAILED',
      'UNKNOWN_MESSAGE_TYPE',
    ]);
  });

  it('reports a throwing app listener as an error event and keeps delivering', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    client.on('tick', (d) => {
      if (d.n === 1) throw new Error('app bug');
    });
    const t = ticks(client);
    await client.connect();
    const conn = await server.nextConnection();
    const error = nextEvent(client, 'error');
    conn.send(tick(1));
    conn.send(tick(2));
    expect(await error).toMatchObject({ message: 'app bug' });
    await t.until(2);
  });

  it('unsubscribes app and lifecycle listeners with the function on() returns', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    const seen: number[] = [];
    const off = client.on('tick', (d) => seen.push(d.n));
    const states: string[] = [];
    const offState = client.events.on('state', ({ next }) => states.push(next.status));
    const t = ticks(client);
    await client.connect();
    offState();
    const conn = await server.nextConnection();
    conn.send(tick(1));
    await t.until(1);
    off();
    conn.send(tick(2));
    await t.until(2);
    client.close();
    expect(seen).toEqual([1]);
    expect(states).toEqual(['connecting', 'connected']);
  });

  it('acks cursors in batches of ack.maxCount', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock, ack: { maxCount: 3 } });
    const t = ticks(client);
    await client.connect();
    const conn = await server.nextConnection();
    for (const offset of [1, 2, 3, 4]) conn.send(tick(offset));
    conn.send(tick(1, 'session:s1'));
    expect(await conn.next('ack')).toEqual({
      t: 'ack',
      cursors: [{ stream: 'broadcast', epoch: 'e1', offset: 3 }],
    });
    await t.until(1);
    expect(received(conn, 'ack')).toBe(1);
  });

  it('acks once per 500 messages by default (the timer decides below that rate)', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const t = ticks(client);
    await client.connect();
    const conn = await server.nextConnection();
    for (let offset = 1; offset <= 499; offset++) conn.send(tick(offset));
    conn.send({ t: 'ping', ts: 1 });
    await t.until(499);
    // The pong is written after any ack due before it: none at 499 messages.
    await conn.next('pong');
    expect(received(conn, 'ack')).toBe(0);
    conn.send(tick(500));
    expect(await conn.next('ack')).toEqual({
      t: 'ack',
      cursors: [{ stream: 'broadcast', epoch: 'e1', offset: 500 }],
    });
  });

  it('acks ack.delayMs after the first unacked message: delay - 1 does nothing, + 1 does', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const t = ticks(client);
    await client.connect();
    const conn = await server.nextConnection();
    conn.send(tick(1));
    conn.send(tick(2));
    conn.send({ t: 'ping', ts: 1 });
    await t.until(2);
    await clock.advance(DEFAULT_CLIENT_OPTIONS.ack.delayMs - 1);
    // The pong is written after any ack due before it: none yet.
    await conn.next('pong');
    expect(received(conn, 'ack')).toBe(0);
    await clock.advance(1);
    expect(await conn.next('ack')).toEqual({
      t: 'ack',
      cursors: [{ stream: 'broadcast', epoch: 'e1', offset: 2 }],
    });
  });
});

describe('rooms', () => {
  it('joins and leaves rooms, tracking cursors and emitting room events', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    const t = ticks(client);
    const rooms: string[] = [];
    client.events.on('room', (r) => rooms.push(`${r.op}:${r.room}:${r.stream}`));
    await client.connect();
    const conn = await server.nextConnection();

    expect(await client.join('lobby')).toEqual({ stream: 'room:lobby', epoch: 'e1', offset: 0 });
    expect(client.joinedRooms()).toEqual(['lobby']);
    conn.send(tick(1, 'room:lobby'));
    await t.until(1);
    expect(t.got[0]!.meta.room).toBe('lobby');

    await client.leave('lobby');
    expect(client.joinedRooms()).toEqual([]);
    expect(rooms).toEqual(['join:lobby:room:lobby', 'leave:lobby:room:lobby']);
  });

  it('follows joins and leaves made by the server, and presence', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    await client.connect();
    const conn = await server.nextConnection();
    const room = nextEvent(client, 'room');
    conn.send({ t: 'sub', op: 'join', room: 'ops', stream: 'room:ops', epoch: 'e1', offset: 12 });
    expect(await room).toEqual({ op: 'join', room: 'ops', stream: 'room:ops' });
    expect(client.joinedRooms()).toEqual(['ops']);
    const presence = nextEvent(client, 'presence');
    conn.send({ t: 'presence', room: 'ops', event: 'join', user: 'bob', sessions: 2 });
    expect(await presence).toEqual({ room: 'ops', event: 'join', user: 'bob', sessions: 2 });
  });

  it('sends a join made offline after the welcome', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    const joined = client.join('lobby');
    await client.connect();
    expect(await joined).toMatchObject({ stream: 'room:lobby' });
    const conn = await server.nextConnection();
    expect(conn.received.map((f) => f.t)).toEqual(['hello', 'join']);
  });

  it('re-joins its rooms after a welcome with a new session, not after a resume', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    await client.connect();
    await client.join('lobby');
    const drop = async () => {
      server.connections.at(-1)!.close(1012, 'restart');
      await reach(client, 'reconnecting');
      await clock.advance(1250);
      await reach(client, 'connected');
      return server.connections.at(-1)!;
    };

    // Resumed: the session still has the room.
    const resumed = await drop();
    void client.send('say', { text: 'after resume' });
    await resumed.next('pub');
    expect(resumed.received.map((f) => f.t)).toEqual(['hello', 'pub']);
    resumed.send({ t: 'res', id: (resumed.received[1] as { id: string }).id, ok: true });

    // New session: the client joins again by itself.
    server.sessions.clear();
    const fresh = await drop();
    expect((await fresh.next('join')).room).toBe('lobby');
    expect(client.state).toMatchObject({ resumed: false });
  });
});

function received(conn: FakeConnection, t: string): number {
  return conn.received.filter((f) => f.t === t).length;
}
