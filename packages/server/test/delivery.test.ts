import { cursorsOf, ManualClock } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/index.js';
import { startServer } from './support/fixture.js';

describe('sessions and delivery', () => {
  it('creates a session with new streams and delivers session, user, room and broadcast messages', async () => {
    const { server, connect } = await startServer({ authorizeJoin: () => true });
    const c = await connect();
    const welcome = await c.hello();
    expect(welcome).toMatchObject({
      t: 'welcome',
      version: 1,
      resumed: false,
      heartbeat: { intervalMs: 25000, timeoutMs: 55000 },
    });
    expect(welcome.streams.map((s: any) => [s.stream.split(':')[0], s.status, s.offset])).toEqual([
      ['session', 'new', 0],
      ['user', 'new', 0],
      ['broadcast', 'new', 0],
    ]);
    c.send({ t: 'join', id: 'j1', room: 'general' });
    const sub = await c.next((f) => f.t === 'sub');
    expect(sub).toMatchObject({ op: 'join', room: 'general', stream: 'room:general', offset: 0 });
    expect(await c.next((f) => f.t === 'res' && f.id === 'j1')).toMatchObject({
      ok: true,
      result: { stream: 'room:general' },
    });

    expect(await server.sendToSession(welcome.sessionId, 'tick', { n: 1 })).toBe(1);
    expect(await server.sendToUser(welcome.user, 'tick', { n: 2 })).toBe(1);
    expect(await server.sendToRoom('general', 'tick', { n: 3 })).toBe(1);
    expect(await server.broadcast('tick', { n: 4 })).toBe(1);
    const got = await c.collect((f) => f.t === 'msg', 4);
    expect(got.map((m) => [m.stream.split(':')[0], m.offset, m.type, m.data.n])).toEqual([
      ['session', 1, 'tick', 1],
      ['user', 1, 'tick', 2],
      ['room', 1, 'tick', 3],
      ['broadcast', 1, 'tick', 4],
    ]);
  });

  it('validates server sends against the protocol', async () => {
    const { server, connect } = await startServer();
    const c = await connect();
    const w = await c.hello();
    await expect(server.sendToSession(w.sessionId, 'tick', { n: 1.5 })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    await expect(server.sendToSession(w.sessionId, 'nope' as never, {} as never)).rejects.toMatchObject({
      code: 'UNKNOWN_MESSAGE_TYPE',
    });
  });

  it('excepts sessions and users, counts recipients, and delivers a multi-room send once per session', async () => {
    const { server, connect } = await startServer();
    const a = await connect();
    const b = await connect();
    const c = await connect();
    const [wa, wb, wc] = [await a.hello(), await b.hello(), await c.hello()];
    await server.join(wa.sessionId, 'x');
    await server.join(wa.sessionId, 'y');
    await server.join(wb.sessionId, 'x');
    await server.join(wc.sessionId, 'y');
    expect(await server.sendToRoom(['x', 'y'], 'tick', { n: 1 })).toBe(3);
    expect(await server.sendToRoom('x', 'tick', { n: 2 }, { except: { sessions: [wa.sessionId] } })).toBe(1);
    expect(await server.sendToRoom('y', 'tick', { n: 3 }, { except: { users: [wc.user] } })).toBe(1);
    expect(await server.broadcast('tick', { n: 4 }, { except: { users: [wb.user] } })).toBe(2);
    await a.collect((f) => f.t === 'msg', 3);
    await b.collect((f) => f.t === 'msg', 2);
    await c.collect((f) => f.t === 'msg', 2);
    // A marker the slowest path sees last, so nothing else is in flight.
    await server.broadcast('tick', { n: 99 });
    for (const x of [a, b, c]) await x.next((f) => f.t === 'msg' && f.data.n === 99);
    const ns = (x: typeof a) => x.msgs().map((m) => m.data.n);
    expect(ns(a)).toEqual([1, 3, 4, 99]);
    expect(ns(b)).toEqual([1, 2, 99]);
    expect(ns(c)).toEqual([1, 4, 99]);
  });

  it('resumes after a cut mid-stream of 10,000 messages with zero loss and zero duplicates', async () => {
    const { server, connect } = await startServer({ retention: { maxMessages: 20_000 } });
    const c1 = await connect();
    const w = await c1.hello();
    const total = 10_000;
    let cutAt = 0;
    const publishing = (async () => {
      for (let n = 1; n <= total; n++) {
        await server.sendToSession(w.sessionId, 'tick', { n });
        // Let socket I/O run now and then, so the client really is mid-stream when cut.
        if (n % 50 === 0) await new Promise((r) => setImmediate(r));
        if (!cutAt && c1.msgs().length >= 2_500) {
          cutAt = c1.msgs().length;
          c1.ws.terminate();
        }
      }
    })();
    await c1.closedPromise();
    const received = c1.msgs().map((m) => m.data.n as number);
    const c2 = await connect();
    const w2 = await c2.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: cursorsOf(c1.frames) },
    });
    expect(w2.resumed).toBe(true);
    expect(w2.streams.find((s: any) => s.stream.startsWith('session:')).status).toBe('recovered');
    await publishing;
    await c2.next((f) => f.t === 'msg' && f.data.n === total);
    const all = [...received, ...c2.msgs().map((m) => m.data.n as number)];
    expect(cutAt).toBeGreaterThanOrEqual(2_500);
    expect(received.length).toBeLessThan(total);
    expect(all.length).toBe(total);
    expect(all).toEqual(Array.from({ length: total }, (_, i) => i + 1));
  });

  it('merges replay with live publishes racing it, by offset', async () => {
    // An engine whose reads are slow, so live messages arrive while the replay runs.
    class SlowReads extends MemoryEngine {
      gate: Promise<void> | undefined;
      override async read(stream: string, after: number, limit: number) {
        const r = await super.read(stream, after, limit);
        if (this.gate && stream.startsWith('session:')) await this.gate;
        return r;
      }
    }
    const engine = new SlowReads();
    const { server, connect } = await startServer({ engine });
    const c1 = await connect();
    const w = await c1.hello();
    for (let n = 1; n <= 50; n++) await server.sendToSession(w.sessionId, 'tick', { n });
    await c1.next((f) => f.t === 'msg' && f.data.n === 50);
    await c1.terminate();
    for (let n = 51; n <= 100; n++) await server.sendToSession(w.sessionId, 'tick', { n });
    let open!: () => void;
    engine.gate = new Promise((r) => {
      open = r;
    });
    const c2 = await connect();
    const welcome = c2.hello({
      resume: {
        sessionId: w.sessionId,
        resumeToken: w.resumeToken,
        cursors: cursorsOf(c1.frames.slice(0, 1 + 25)),
      },
    });
    await welcome;
    // The replay read is parked on the gate: publish live messages now.
    for (let n = 101; n <= 150; n++) await server.sendToSession(w.sessionId, 'tick', { n });
    open();
    await c2.next((f) => f.t === 'msg' && f.data.n === 150);
    const ns = c2.msgs().map((m) => m.data.n);
    const cursor = cursorsOf(c1.frames.slice(0, 1 + 25)).find((c) => c.stream.startsWith('session:'))!.offset;
    expect(ns).toEqual(Array.from({ length: 150 - cursor }, (_, i) => cursor + 1 + i));
  });

  it('reports a gap when retention no longer covers the cursor, then delivers what is retained', async () => {
    const { server, connect } = await startServer({ retention: { maxMessages: 10 } });
    const c1 = await connect();
    const w = await c1.hello();
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await c1.next((f) => f.t === 'msg');
    await c1.terminate();
    for (let n = 2; n <= 30; n++) await server.sendToSession(w.sessionId, 'tick', { n });
    const c2 = await connect();
    const w2 = await c2.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: cursorsOf(c1.frames) },
    });
    const s = w2.streams.find((x: any) => x.stream === `session:${w.sessionId}`);
    expect(s).toMatchObject({ status: 'gap', reason: 'retention', from: 2, to: 20, offset: 20 });
    await c2.next((f) => f.t === 'msg' && f.data.n === 30);
    expect(c2.msgs().map((m) => m.data.n)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(server.stats().counters.gaps).toBe(1);
  });

  it('reports an unknown gap for a made-up epoch and for a cursor ahead of the head', async () => {
    const { server, connect } = await startServer();
    const c1 = await connect();
    const w = await c1.hello();
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await c1.next((f) => f.t === 'msg');
    await c1.terminate();
    const sessionStream = `session:${w.sessionId}`;
    const userStream = `user:${w.user}`;
    const c2 = await connect();
    const w2 = await c2.hello({
      resume: {
        sessionId: w.sessionId,
        resumeToken: w.resumeToken,
        cursors: [
          { stream: sessionStream, epoch: 'forged', offset: 0 },
          { stream: userStream, epoch: w.streams[1].epoch, offset: 1e6 },
        ],
      },
    });
    // A made-up epoch: the cursor is ignored; the server's own cursor (the last ack, never
    // below the subscription start, here the session's creation at 0) is used instead.
    const forged = w2.streams.find((s: any) => s.stream === sessionStream);
    expect(forged).toMatchObject({ status: 'gap', reason: 'unknown', offset: 0 });
    expect(forged.from).toBeUndefined();
    expect(w2.streams.find((s: any) => s.stream === userStream)).toMatchObject({
      status: 'gap',
      reason: 'unknown',
      offset: 0,
    });
    await c2.next((f) => f.t === 'msg' && f.data.n === 1);
  });

  it('never replays below the subscription start: a room cursor at 0 or of a made-up epoch starts at the join', async () => {
    const { server, connect } = await startServer({ authorizeJoin: () => true });
    for (let n = 1; n <= 5; n++) await server.broadcast('tick', { n });
    await server.sendToRoom('lobby', 'tick', { n: 1 });
    const c1 = await connect();
    const w = await c1.hello();
    c1.send({ t: 'join', id: 'j', room: 'lobby' });
    const res = await c1.next((f) => f.t === 'res' && f.id === 'j');
    expect(res.result).toMatchObject({ stream: 'room:lobby', offset: 1 });
    await server.sendToRoom('lobby', 'tick', { n: 2 });
    await c1.next((f) => f.t === 'msg' && f.stream === 'room:lobby');
    await c1.terminate();
    for (const forged of [
      { stream: 'room:lobby', epoch: res.result.epoch, offset: 0 },
      { stream: 'room:lobby', epoch: 'made-up', offset: 0 },
    ]) {
      const c = await connect();
      const r = await c.hello({
        resume: {
          sessionId: w.sessionId,
          resumeToken: w.resumeToken,
          cursors: [forged, { stream: 'broadcast', epoch: w.streams[2].epoch, offset: 0 }],
        },
      });
      expect(r.streams.find((s: any) => s.stream === 'broadcast')).toMatchObject({
        status: 'recovered',
        offset: 5,
      });
      expect(r.streams.find((s: any) => s.stream === 'room:lobby')).toMatchObject(
        forged.epoch === 'made-up'
          ? { status: 'gap', reason: 'unknown' }
          : { status: 'recovered', offset: 1 },
      );
      // The room's message from after the join only (from before it: never).
      const got = await c.next((f) => f.t === 'msg' && f.stream === 'room:lobby');
      expect(got.data.n).toBe(2);
      c.send({ t: 'ping', ts: 1 });
      await c.next((f) => f.t === 'pong');
      expect(c.msgs().filter((f) => f.stream !== 'room:lobby' || f.data.n !== 2)).toEqual([]);
      await c.terminate();
    }
  });

  it('refuses to resume another user’s session, or with a wrong resume token, without leaking it', async () => {
    const { server, connect } = await startServer({
      authenticate: ({ token }) => (token ? { user: token } : null),
    });
    const alice = await connect();
    const wa = await alice.hello({ token: 'alice' });
    await server.sendToSession(wa.sessionId, 'tick', { n: 1 });
    const mallory = await connect();
    const wm = await mallory.hello({
      token: 'mallory',
      resume: { sessionId: wa.sessionId, resumeToken: wa.resumeToken, cursors: [] },
    });
    expect(wm).toMatchObject({ resumed: false, resumeError: 'forbidden', user: 'mallory' });
    expect(wm.sessionId).not.toBe(wa.sessionId);
    const guess = await connect();
    const wg = await guess.hello({
      token: 'alice',
      resume: { sessionId: wa.sessionId, resumeToken: 'guess', cursors: [] },
    });
    // A wrong resume token answers like an unknown session: `expired` (only a token holder
    // learns the session exists).
    expect(wg).toMatchObject({ resumed: false, resumeError: 'expired' });
    await server.sendToSession(wa.sessionId, 'tick', { n: 2 });
    await alice.next((f) => f.t === 'msg' && f.data.n === 2);
    expect(mallory.msgs()).toEqual([]);
    expect(guess.msgs()).toEqual([]);
  });

  it('tells a client whose session expired: the new session’s streams once each, a gap at the head for those it held', async () => {
    const { server, connect } = await startServer();
    for (let n = 1; n <= 4; n++) await server.broadcast('tick', { n });
    const c = await connect();
    const w = await c.hello({
      resume: {
        sessionId: 's_gone',
        resumeToken: 'x',
        cursors: [
          { stream: 'room:a', epoch: 'e', offset: 5 },
          { stream: 'broadcast', epoch: 'old-epoch', offset: 9 },
          { stream: 'user:someone', epoch: 'e', offset: 2 },
        ],
      },
    });
    expect(w).toMatchObject({ resumed: false, resumeError: 'expired' });
    // Only the new session's three streams; the client's other cursors are not echoed.
    expect(w.streams.map((s: any) => s.stream).sort()).toEqual(
      ['broadcast', `session:${w.sessionId}`, `user:${w.user}`].sort(),
    );
    const epoch = w.streams.find((s: any) => s.stream === 'broadcast').epoch;
    // Another epoch: everything of the head's epoch (1..head) is lost to this client.
    expect(w.streams.find((s: any) => s.stream === 'broadcast')).toEqual({
      stream: 'broadcast',
      epoch,
      offset: 4,
      status: 'gap',
      reason: 'expired',
      from: 1,
      to: 4,
    });
    expect(w.streams.find((s: any) => s.stream === `session:${w.sessionId}`)).toMatchObject({
      status: 'new',
    });
    // Same epoch: cursor + 1 .. head.
    const c2 = await connect();
    const w2 = await c2.hello({
      resume: { sessionId: 's_gone', resumeToken: 'x', cursors: [{ stream: 'broadcast', epoch, offset: 1 }] },
    });
    expect(w2.streams.find((s: any) => s.stream === 'broadcast')).toMatchObject({
      offset: 4,
      from: 2,
      to: 4,
    });
    // Nothing lost: no range.
    const c3 = await connect();
    const w3 = await c3.hello({
      resume: { sessionId: 's_gone', resumeToken: 'x', cursors: [{ stream: 'broadcast', epoch, offset: 4 }] },
    });
    const entry = w3.streams.find((s: any) => s.stream === 'broadcast');
    expect(entry).toMatchObject({ status: 'gap', reason: 'expired', offset: 4 });
    expect(entry.from).toBeUndefined();
    // The new session's streams are live: the next broadcast arrives on every connection.
    await server.broadcast('tick', { n: 5 });
    for (const x of [c, c2, c3]) expect((await x.next((f) => f.t === 'msg')).data.n).toBe(5);
  });

  it('replaces the older connection of a resumed session (never two sockets per session)', async () => {
    const { server, connect } = await startServer();
    const c1 = await connect();
    const w = await c1.hello();
    const c2 = await connect();
    await c2.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: cursorsOf(c1.frames) },
    });
    expect((await c1.closedPromise()).code).toBe(1001);
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await c2.next((f) => f.t === 'msg');
    expect(server.countConnections({ sessionId: w.sessionId })).toBe(1);
    // The session's connection here is the newer one: replies reach it, stats count it once.
    c2.send({ t: 'join', id: 'j', room: 'lobby' });
    expect((await c2.next((f) => f.t === 'res' && f.id === 'j')).error.code).toBe('FORBIDDEN');
    expect(server.stats().sessions).toBe(1);
    expect(server.bufferedAmountOf(w.sessionId)).toBe(0);
    expect(await server.userSessions(w.user)).toEqual([{ sessionId: w.sessionId, connectedHere: true }]);
    // Once it closes, the session is no longer connected here (and stays resumable).
    const gone = new Promise((resolve) => server.on('disconnect', resolve));
    await c2.close();
    await gone;
    expect(server.stats().sessions).toBe(0);
    expect(server.bufferedAmountOf(w.sessionId)).toBeUndefined();
    expect(await server.userSessions(w.user)).toEqual([{ sessionId: w.sessionId, connectedHere: false }]);
  });
});

describe('write coalescing', () => {
  it('a burst in one tick to a healthy socket is neither dropped nor cut, even with low marks', async () => {
    // Corked bytes count as buffered: the cork must stay under the volatile mark (4 KiB here).
    const { server, connect } = await startServer({ limits: { volatileHighWaterMark: 8192 } });
    const c = await connect();
    await c.hello();
    const text = 'v'.repeat(1000);
    for (let n = 1; n <= 40; n++)
      await server.broadcast('said', { from: String(n), text }, { volatile: true });
    const got = await c.collect((f) => f.t === 'vol' && f.type === 'said', 40);
    expect(got.map((f) => Number(f.data.from))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(server.stats().counters.volatileDrops).toBe(0);
    expect(c.closed).toBeUndefined();
  });
});

describe('fan-out runs (live frames of a tick written as one span per socket)', () => {
  it('keeps each socket’s order across streams, replies and exclusions within one tick', async () => {
    const { server, connect } = await startServer({ authorizeJoin: () => true });
    const [a, b, c] = [await connect(), await connect(), await connect()];
    const [wa, wb] = [await a.hello(), await b.hello(), await c.hello()];
    await server.join(wa.sessionId, 'r');
    await server.join(wb.sessionId, 'r');
    // One tick: the awaits below settle in microtasks, before the end of the tick.
    await server.broadcast('tick', { n: 1 });
    await server.sendToRoom('r', 'tick', { n: 2 });
    await server.broadcast('tick', { n: 3 });
    await server.sendToSession(wa.sessionId, 'tick', { n: 4 });
    await server.broadcast('tick', { n: 5 }, { except: { sessions: [wb.sessionId] } });
    await server.broadcast('tick', { n: 6 });
    const seen = async (cl: typeof a, count: number) =>
      (await cl.collect((f) => f.t === 'msg', count)).map(
        (m) => `${m.stream.split(':')[0]}${m.offset}:${m.data.n}`,
      );
    expect(await seen(a, 6)).toEqual([
      'broadcast1:1',
      'room1:2',
      'broadcast2:3',
      'session1:4',
      'broadcast3:5',
      'broadcast4:6',
    ]);
    expect(await seen(b, 4)).toEqual(['broadcast1:1', 'room1:2', 'broadcast2:3', 'broadcast4:6']);
    expect(await seen(c, 4)).toEqual(['broadcast1:1', 'broadcast2:3', 'broadcast3:5', 'broadcast4:6']);
  });

  it('writes the frames a socket holds for the end of the tick before its close frame', async () => {
    const { server, connect } = await startServer();
    const [a, b] = [await connect(), await connect()];
    const [wa] = [await a.hello(), await b.hello()];
    await server.broadcast('tick', { n: 1 });
    await server.broadcast('tick', { n: 2 });
    await server.disconnect(wa.sessionId, { end: false });
    const closed = await a.closedPromise();
    expect(closed.code).toBe(1012);
    expect(a.msgs().map((m) => m.data.n)).toEqual([1, 2]);
    expect((await b.collect((f) => f.t === 'msg', 2)).map((m) => m.data.n)).toEqual([1, 2]);
  });

  it('a tick’s burst larger than the cork bound reaches every socket in order, none cut', async () => {
    // corkBytes is 4 KiB here: the run is cut about every four frames and written as it goes.
    const { server, connect } = await startServer({ limits: { volatileHighWaterMark: 8192 } });
    const [a, b] = [await connect(), await connect()];
    await a.hello();
    await b.hello();
    const text = 'w'.repeat(1000);
    for (let n = 1; n <= 200; n++) await server.broadcast('said', { from: String(n), text });
    const expected = Array.from({ length: 200 }, (_, i) => i + 1);
    for (const cl of [a, b]) {
      const got = await cl.collect((f) => f.t === 'msg' && f.type === 'said', 200);
      expect(got.map((f) => Number(f.data.from))).toEqual(expected);
      expect(got.map((f) => f.offset)).toEqual(expected);
      expect(cl.closed).toBeUndefined();
    }
    expect(server.stats().counters.closes['4008']).toBeUndefined();
  });
});

describe('fan-out runs and slow consumers', () => {
  it('closes a socket that stops reading at most one frame past the high-water mark', async () => {
    const highWaterMark = 256 * 1024;
    const { server, connect } = await startServer({ limits: { highWaterMark } });
    const [fast, slow] = [await connect(), await connect()];
    const [wf, ws] = [await fast.hello(), await slow.hello()];
    await server.join(wf.sessionId, 'feed');
    await server.join(ws.sessionId, 'feed');
    (slow.ws as any)._socket.pause();
    const text = 'x'.repeat(150);
    let peak = 0;
    let n = 0;
    while (server.stats().counters.closes['4008'] === undefined && n < 500_000) {
      // 200 messages a tick: spans of the tick's runs, cut at the cork bound (32 KiB here).
      for (let i = 0; i < 200; i++)
        await server.sendToRoom('feed', 'said', { from: 'srv', text: `${n++}:${text}` });
      await new Promise((r) => setImmediate(r));
      peak = Math.max(peak, server.bufferedAmountOf(ws.sessionId) ?? 0);
    }
    expect(server.stats().counters.closes['4008']).toBe(1);
    // The largest frame: its JSON (as the server wrote it: same keys, same order) and a 4-byte header.
    await fast.next((f) => f.t === 'msg' && f.data.text.startsWith(`${n - 1}:`));
    const frameBytes = Math.max(...fast.msgs().map((m) => Buffer.byteLength(JSON.stringify(m)))) + 4;
    expect(peak).toBeGreaterThan(highWaterMark);
    expect(peak).toBeLessThanOrEqual(highWaterMark + frameBytes);
  });
});

describe('replay under flow control', () => {
  it('replays a backlog larger than the high-water mark without closing the socket as a slow consumer', async () => {
    // 20 MB of backlog: more than the kernel's socket buffers take, so it would pile up in the process.
    const { server, connect } = await startServer({
      limits: { highWaterMark: 256 * 1024 },
      retention: { maxMessages: 20_000, maxBytes: 64 << 20 },
    });
    const c1 = await connect();
    const w = await c1.hello();
    await c1.terminate();
    const text = 'y'.repeat(1000);
    for (let n = 1; n <= 20_000; n++)
      await server.sendToSession(w.sessionId, 'said', { from: String(n), text });
    const c2 = await connect();
    await c2.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: cursorsOf(c1.frames) },
    });
    await Promise.race([c2.next((f) => f.t === 'msg' && f.data.from === '20000'), c2.closedPromise()]);
    expect(c2.closed).toBeUndefined();
    expect(c2.msgs().map((m) => Number(m.data.from))).toEqual(
      Array.from({ length: 20_000 }, (_, i) => i + 1),
    );
    expect(c2.closed).toBeUndefined();
    expect(server.stats().counters.closes['4008']).toBeUndefined();
    expect(server.stats().heldBytes).toBe(0);
  });

  it('a replay whose socket stops draining: live messages held over the mark are dropped, then 4008', async () => {
    const { server, connect } = await startServer({
      limits: { highWaterMark: 256 * 1024 },
      retention: { maxMessages: 20_000, maxBytes: 64 << 20 },
    });
    const c1 = await connect();
    const w = await c1.hello();
    await c1.terminate();
    const text = 'y'.repeat(1000);
    for (let n = 1; n <= 20_000; n++)
      await server.sendToSession(w.sessionId, 'said', { from: String(n), text });
    const c2 = await connect();
    c2.send({
      t: 'hello',
      version: 1,
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: cursorsOf(c1.frames) },
    });
    await c2.next((f) => f.t === 'welcome');
    // The client stops reading: the replay stalls once the socket's buffers are full.
    (c2.ws as any)._socket.pause();
    const closed = new Promise<void>((resolve) =>
      server.on('disconnect', ({ sessionId }) => sessionId === w.sessionId && resolve()),
    );
    let n = 20_000;
    while (server.stats().counters.closes['4008'] === undefined && n < 40_000) {
      await server.sendToSession(w.sessionId, 'said', { from: String(++n), text });
      // Held live messages never exceed the mark (they are dropped on overflow).
      expect(server.stats().heldBytes).toBeLessThanOrEqual(256 * 1024);
      await new Promise((r) => setImmediate(r));
    }
    expect(server.stats().counters.closes['4008']).toBe(1);
    // A peer that does not read cannot complete the close handshake: the sweep cuts it (1006).
    await closed;
    expect(server.stats().heldBytes).toBe(0);
    // 20 MB of backlog to write and the 2-second close sweep: more than the default 5 s on a busy machine.
  }, 20_000);

  it('two resumes of one session racing leave exactly one socket', async () => {
    const { server, connect } = await startServer();
    const c1 = await connect();
    const w = await c1.hello();
    await c1.terminate();
    const resume = { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: [] };
    const [a, b] = [await connect(), await connect()];
    a.send({ t: 'hello', version: 1, resume });
    b.send({ t: 'hello', version: 1, resume });
    await Promise.all([a.next((f) => f.t === 'welcome'), b.next((f) => f.t === 'welcome')]);
    const firstClosed = await Promise.race([
      a.closedPromise().then(() => a),
      b.closedPromise().then(() => b),
    ]);
    const survivor = firstClosed === a ? b : a;
    expect(firstClosed.closed!.code).toBe(1001);
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await survivor.next((f) => f.t === 'msg');
    expect(server.countConnections({ sessionId: w.sessionId })).toBe(1);
  });
});

describe('history lost while connected', () => {
  it('sends a gap frame for an epoch change and still delivers the new epoch from its first message', async () => {
    const engine = new MemoryEngine();
    const { server, connect } = await startServer({ engine });
    const c = await connect();
    const w = await c.hello();
    const stream = `session:${w.sessionId}`;
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await server.sendToSession(w.sessionId, 'tick', { n: 2 });
    await c.next((f) => f.t === 'msg' && f.data.n === 2);
    engine.forget(stream);
    await server.sendToSession(w.sessionId, 'tick', { n: 3 });
    const gap = await c.next((f) => f.t === 'gap');
    const msg = await c.next((f) => f.t === 'msg' && f.data.n === 3);
    expect(gap).toMatchObject({ stream, reason: 'epoch', from: 1, to: 0 });
    expect(gap.epoch).not.toBe(w.streams[0].epoch);
    expect(msg).toMatchObject({ epoch: gap.epoch, offset: 1 });
    expect(c.frames.indexOf(gap)).toBeLessThan(c.frames.indexOf(msg));
  });

  it('closes with 1013 at once when storage fails during hello', async () => {
    class Down extends MemoryEngine {
      override async getSession(): Promise<never> {
        throw new Error('storage down');
      }
    }
    const { server, connect } = await startServer({ engine: new Down() });
    const errors: string[] = [];
    server.on('error', (e, ctx) => errors.push(`${ctx.where}: ${e.message}`));
    const c = await connect();
    c.send({ t: 'hello', version: 1, resume: { sessionId: 's_x', resumeToken: 'r', cursors: [] } });
    const closed = await c.closedPromise();
    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(/retryAfterMs=1000/);
    expect(errors).toEqual(['hello: storage down']);
    expect(server.stats().counters.engineErrors).toBe(1);
  });
});

describe('stream logs in the memory engine', () => {
  it("keeps the empty log of a stream this node has subscribers for (the engine asks the server's subscriber table)", async () => {
    const clock = new ManualClock();
    const retention = { maxAgeMs: 1000 };
    const engine = new MemoryEngine({ clock, retention });
    const { server, connect } = await startServer({ engine, clock, authorizeJoin: () => true });
    const member = await connect();
    await member.hello();
    member.send({ t: 'join', id: 'j', room: 'kept' });
    await member.next((f) => f.t === 'res' && f.id === 'j');
    await server.sendToRoom('kept', 'tick', { n: 1 });
    await server.sendToRoom('gone', 'tick', { n: 1 });
    await member.next((f) => f.t === 'msg' && f.stream === 'room:kept');
    clock.advance(2000);
    engine.sweep();
    // Both logs are empty now; only the unwatched one is dropped.
    expect(engine.stats().streams).toBe(1);
    await server.sendToRoom('kept', 'tick', { n: 2 });
    const m = await member.next((f) => f.t === 'msg' && f.data.n === 2);
    expect([m.stream, m.offset]).toEqual(['room:kept', 2]);
    expect(member.frames.filter((f) => f.t === 'gap')).toEqual([]);
  });
});
