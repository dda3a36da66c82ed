import { ManualClock, type RawClient } from '@holdfast/testkit';
import { describe, expect, it, vi } from 'vitest';
import { startServer } from './support/fixture.js';

// Presence follows connections (docs/PROTOCOL.md §4.5): present while connected, plus a grace;
// presence events of one user in one room coalesced to one per window (issue 14).

async function room(options: { presenceGraceMs?: number; presenceIntervalMs?: number } = {}) {
  const clock = new ManualClock();
  const started = await startServer({
    clock,
    authenticate: ({ token }) => ({ user: token ?? 'nobody' }),
    authorizeJoin: () => true,
    ...options,
  });
  const member = async (user: string) => {
    const c = await started.connect();
    const w = await c.hello({ token: user });
    c.send({ t: 'join', id: 'j', room: 'r' });
    await c.next((f) => f.t === 'res' && f.id === 'j');
    return { c, w };
  };
  return { ...started, clock, member };
}

const events = (c: RawClient, user: string) =>
  c.frames.filter((f) => f.t === 'presence' && f.user === user).map((f) => [f.event, f.sessions]);

describe('presence follows connections', () => {
  it('a dropped member stays present for the grace, then leaves; still a member, present again when it resumes', async () => {
    const { server, clock, member, connect } = await room({ presenceGraceMs: 5000, presenceIntervalMs: 0 });
    const watcher = await member('watcher');
    const ann = await member('ann');
    await watcher.c.next((f) => f.t === 'presence' && f.user === 'ann');
    await ann.c.terminate();
    await vi.waitFor(() => expect(server.countConnections({ user: 'ann' })).toBe(0));
    clock.advance(4000);
    expect(await server.presence('r')).toContainEqual({ user: 'ann', sessions: 1 });
    clock.advance(2000);
    await watcher.c.next((f) => f.t === 'presence' && f.event === 'leave' && f.user === 'ann');
    expect(await server.presence('r')).toEqual([{ user: 'watcher', sessions: 1 }]);
    // Membership outlives presence: the session is still in the room, and present again on resume.
    expect(await server.engine.roomSessions('r')).toContain(ann.w.sessionId);
    const back = await connect();
    await back.hello({
      token: 'ann',
      resume: { sessionId: ann.w.sessionId, resumeToken: ann.w.resumeToken, cursors: [] },
    });
    await watcher.c.collect((f) => f.t === 'presence' && f.user === 'ann', 3);
    expect(events(watcher.c, 'ann')).toEqual([
      ['join', 1],
      ['leave', 0],
      ['join', 1],
    ]);
  });

  it('a resume within the grace: no presence event at all', async () => {
    const { server, clock, member, connect } = await room({ presenceGraceMs: 5000, presenceIntervalMs: 0 });
    const watcher = await member('watcher');
    const ann = await member('ann');
    await watcher.c.next((f) => f.t === 'presence' && f.user === 'ann');
    await ann.c.terminate();
    await vi.waitFor(() => expect(server.countConnections({ user: 'ann' })).toBe(0));
    clock.advance(2000);
    const back = await connect();
    await back.hello({
      token: 'ann',
      resume: { sessionId: ann.w.sessionId, resumeToken: ann.w.resumeToken, cursors: [] },
    });
    clock.advance(10_000);
    // A frame the watcher gets after any presence the grace could have caused.
    await server.sendToRoom('r', 'tick', { n: 1 });
    await watcher.c.next((f) => f.t === 'msg');
    expect(events(watcher.c, 'ann')).toEqual([['join', 1]]);
    expect(await server.presence('r')).toContainEqual({ user: 'ann', sessions: 1 });
  });

  it('a close with 4000 (logout) ends the session: leave at once, resume fails', async () => {
    const { server, member, connect } = await room({ presenceGraceMs: 60_000, presenceIntervalMs: 0 });
    const watcher = await member('watcher');
    const ann = await member('ann');
    ann.c.ws.close(4000);
    await watcher.c.next((f) => f.t === 'presence' && f.event === 'leave' && f.user === 'ann');
    expect(await server.engine.getSession(ann.w.sessionId)).toBeUndefined();
    const back = await connect();
    const w = await back.hello({
      token: 'ann',
      resume: { sessionId: ann.w.sessionId, resumeToken: ann.w.resumeToken, cursors: [] },
    });
    expect(w).toMatchObject({ resumed: false, resumeError: 'expired' });
  });

  it('join/leave toggles within a window make one event per window, none when the count is back', async () => {
    const { server, clock, member } = await room({ presenceIntervalMs: 1000 });
    const watcher = await member('watcher');
    const ann = await member('ann');
    for (let i = 0; i < 10; i++) {
      ann.c.send({ t: 'leave', id: `l${i}`, room: 'r' });
      ann.c.send({ t: 'join', id: `j${i}`, room: 'r' });
    }
    await ann.c.next((f) => f.t === 'res' && f.id === 'j9');
    expect(events(watcher.c, 'ann')).toEqual([['join', 1]]);
    expect(server.stats().counters.presenceCoalesced).toBe(20);
    // At the window's end the count is where it was: nothing to say.
    clock.advance(1000);
    ann.c.send({ t: 'leave', id: 'last', room: 'r' });
    await ann.c.next((f) => f.t === 'res' && f.id === 'last');
    await watcher.c.next((f) => f.t === 'presence' && f.event === 'leave');
    expect(events(watcher.c, 'ann')).toEqual([
      ['join', 1],
      ['leave', 0],
    ]);
    // A change held in a window goes out at its end.
    ann.c.send({ t: 'join', id: 'again', room: 'r' });
    await ann.c.next((f) => f.t === 'res' && f.id === 'again');
    expect(events(watcher.c, 'ann')).toHaveLength(2);
    clock.advance(1000);
    await watcher.c.collect((f) => f.t === 'presence' && f.user === 'ann', 3);
    expect(events(watcher.c, 'ann')).toEqual([
      ['join', 1],
      ['leave', 0],
      ['join', 1],
    ]);
  });
});
