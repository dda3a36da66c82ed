import { cursorsOf } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/index.js';
import { startServer } from './support/fixture.js';

describe('rooms, presence and volatile messages', () => {
  it('delivers presence to members and answers who is in a room', async () => {
    const { server, connect } = await startServer({
      authenticate: ({ token }) => ({ user: token ?? 'nobody' }),
      authorizeJoin: () => true,
    });
    const a = await connect();
    await a.hello({ token: 'ann' });
    const b1 = await connect();
    const wb1 = await b1.hello({ token: 'bob' });
    const b2 = await connect();
    await b2.hello({ token: 'bob' });
    a.send({ t: 'join', id: 'j', room: 'lobby' });
    await a.next((f) => f.t === 'res');
    b1.send({ t: 'join', id: 'j', room: 'lobby' });
    await b1.next((f) => f.t === 'res');
    b2.send({ t: 'join', id: 'j', room: 'lobby' });
    await b2.next((f) => f.t === 'res');
    const seen = await a.collect((f) => f.t === 'presence', 3);
    expect(seen.map((p) => [p.event, p.user, p.sessions])).toEqual([
      ['join', 'ann', 1],
      ['join', 'bob', 1],
      ['join', 'bob', 2],
    ]);
    expect((await server.presence('lobby')).sort((x, y) => x.user.localeCompare(y.user))).toEqual([
      { user: 'ann', sessions: 1 },
      { user: 'bob', sessions: 2 },
    ]);
    expect(server.countConnections({ room: 'lobby' })).toBe(3);
    expect(server.countConnections({ room: 'lobby', user: 'bob' })).toBe(2);
    expect(server.countConnections({ user: 'ann' })).toBe(1);
    b1.send({ t: 'leave', id: 'l', room: 'lobby' });
    expect(await b1.next((f) => f.t === 'sub' && f.op === 'leave')).toMatchObject({ room: 'lobby' });
    await b1.next((f) => f.t === 'res' && f.id === 'l');
    expect(await a.next((f) => f.t === 'presence' && f.event === 'leave')).toMatchObject({
      user: 'bob',
      sessions: 1,
    });
    await server.sendToRoom('lobby', 'tick', { n: 1 });
    await a.next((f) => f.t === 'msg');
    await b2.next((f) => f.t === 'msg');
    expect(b1.msgs()).toEqual([]);
    expect(await server.userSessions('bob')).toEqual(
      expect.arrayContaining([{ sessionId: wb1.sessionId, connectedHere: true }]),
    );
  });

  it('keeps membership across a reconnect, and replays room messages missed meanwhile', async () => {
    const { server, connect } = await startServer();
    const c1 = await connect();
    const w = await c1.hello();
    await server.join(w.sessionId, 'r');
    await c1.next((f) => f.t === 'sub');
    await server.sendToRoom('r', 'tick', { n: 1 });
    await c1.next((f) => f.t === 'msg');
    await c1.terminate();
    await server.sendToRoom('r', 'tick', { n: 2 });
    const c2 = await connect();
    const w2 = await c2.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: cursorsOf(c1.frames) },
    });
    expect(w2.streams.find((s: any) => s.stream === 'room:r')).toMatchObject({
      status: 'recovered',
      offset: 1,
    });
    expect((await c2.next((f) => f.t === 'msg')).data).toEqual({ n: 2 });
  });

  it('sends volatile messages only to connected members, never replayed', async () => {
    const { server, connect } = await startServer();
    const a = await connect();
    const wa = await a.hello();
    const b = await connect();
    const wb = await b.hello();
    await server.join(wa.sessionId, 'v');
    await server.join(wb.sessionId, 'v');
    await b.terminate();
    await server.sendToRoom('v', 'typing', { user: 'x' }, { volatile: true, except: { sessions: [] } });
    expect(await a.next((f) => f.t === 'vol')).toMatchObject({
      stream: 'room:v',
      type: 'typing',
      data: { user: 'x' },
    });
    const b2 = await connect();
    await b2.hello({
      resume: { sessionId: wb.sessionId, resumeToken: wb.resumeToken, cursors: cursorsOf(b.frames) },
    });
    await server.sendToRoom('v', 'tick', { n: 1 });
    await b2.next((f) => f.t === 'msg');
    expect(b2.frames.filter((f) => f.t === 'vol')).toEqual([]);
  });

  it('treats prototype-ish and unicode room names as plain names', async () => {
    const { server, connect } = await startServer({ authorizeJoin: () => true });
    const c = await connect();
    await c.hello();
    for (const [i, room] of [
      '__proto__',
      'hasOwnProperty',
      'constructor',
      'ルーム',
      'a'.repeat(128),
    ].entries()) {
      c.send({ t: 'join', id: `j${i}`, room });
      expect(await c.next((f) => f.t === 'res' && f.id === `j${i}`)).toMatchObject({ ok: true });
      await server.sendToRoom(room, 'tick', { n: i });
      expect(await c.next((f) => f.t === 'msg' && f.stream === `room:${room}`)).toMatchObject({
        data: { n: i },
      });
    }
    c.send({ t: 'join', id: 'bad', room: 'a\u0000b' });
    expect((await c.closedPromise()).code).toBe(4400);
  });
});

describe('the memory engine keeps a session’s rooms', () => {
  it('in join order through joins and leaves, none, one and many', async () => {
    const engine = new MemoryEngine();
    await engine.createSession(
      {
        id: 's1',
        user: 'ann',
        resumeTokenHash: 'h',
        createdAt: 0,
        rooms: ['a'],
        acked: {},
        starts: {},
        data: undefined,
      },
      0,
    );
    const rooms = async () => (await engine.getSession('s1'))!.rooms;
    expect(await rooms()).toEqual(['a']);
    await engine.joinRoom('a', 's1', 'ann');
    await engine.joinRoom('b', 's1', 'ann');
    await engine.joinRoom('c', 's1', 'ann');
    await engine.joinRoom('b', 's1', 'ann');
    expect(await rooms()).toEqual(['a', 'b', 'c']);
    // A record handed out is a copy: changing it changes nothing stored.
    (await engine.getSession('s1'))!.rooms.push('x');
    await engine.leaveRoom('b', 's1', 'ann');
    expect(await rooms()).toEqual(['a', 'c']);
    await engine.leaveRoom('a', 's1', 'ann');
    expect(await rooms()).toEqual(['c']);
    await engine.leaveRoom('zzz', 's1', 'ann');
    expect(await rooms()).toEqual(['c']);
    await engine.leaveRoom('c', 's1', 'ann');
    expect(await rooms()).toEqual([]);
    await engine.joinRoom('d', 's1', 'ann');
    await engine.joinRoom('e', 's1', 'ann');
    expect(await rooms()).toEqual(['d', 'e']);
    expect((await engine.deleteSession('s1'))!.rooms).toEqual(['d', 'e']);
  });
});
