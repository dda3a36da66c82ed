import type { AuthorizeJoin } from '@holdfast/server';
import { RawClient } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { recordNotes } from '../support/traffic.js';

// Issue 14, item 3: an in-band `refresh` kept the first token's claims. A revoked role kept
// working (ctx.data, authorizeJoin) for as long as the client kept refreshing.

/** `p`, or a failure after `ms` (a bound on a frame that must come, not a sleep). */
function within<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`nothing after ${ms} ms`)), ms);
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

/** Tokens are `user:role`. */
const authenticate = ({ token }: { token: string | undefined }) => {
  const [user, role] = (token ?? '').split(':');
  return user && role ? { user, data: { role } } : null;
};
const adminsOnly: AuthorizeJoin = ({ room, data }) => room !== 'admins' || data?.role === 'admin';

describe('refresh with fewer rights', () => {
  it('replaces ctx.data and what authorizeJoin sees; with reauthorizeRoom, rooms no longer allowed are left', async () => {
    const { server, url, errors } = await startServer({
      authenticate,
      authorizeJoin: adminsOnly,
      reauthorizeRoom: adminsOnly,
    });
    recordNotes(server);
    (
      server as unknown as { handle(t: string, h: (d: unknown, ctx: { data: unknown }) => unknown): void }
    ).handle('say', (_d, ctx) => (ctx.data as { role: string }).role);
    const c = await RawClient.open(url);
    await c.hello({ token: 'alice:admin' });
    c.send({ t: 'join', id: 'j1', room: 'admins' });
    expect(await c.next((f) => f.t === 'res' && f.id === 'j1')).toMatchObject({ ok: true });
    c.send({ t: 'join', id: 'j2', room: 'lobby' });
    expect(await c.next((f) => f.t === 'res' && f.id === 'j2')).toMatchObject({ ok: true });

    // The role is revoked: the next token says `user`.
    c.send({ t: 'refresh', id: 'r1', token: 'alice:user' });
    expect(await c.next((f) => f.t === 'res' && f.id === 'r1')).toMatchObject({ ok: true });
    // Rooms re-checked: `admins` left (a `sub` leave frame), `lobby` kept.
    await within(c.next((f) => f.t === 'sub' && f.op === 'leave' && f.room === 'admins'));
    expect(await server.presence('admins')).toEqual([]);
    expect(await server.presence('lobby')).toEqual([{ user: 'alice', sessions: 1 }]);

    c.send({ t: 'pub', id: 'p1', type: 'say', data: { room: 'lobby', text: 'who am I' } });
    expect(await c.next((f) => f.t === 'res' && f.id === 'p1')).toMatchObject({ ok: true, result: 'user' });
    c.send({ t: 'join', id: 'j3', room: 'admins' });
    expect(await c.next((f) => f.t === 'res' && f.id === 'j3')).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(c.closed).toBeUndefined();
    expect(errors).toEqual([]);
    record('hostile-refresh-claims', { roomsBefore: 2, roomsAfter: 1, framesWrittenForRefresh: 2 });
  });

  it('without reauthorizeRoom, memberships stay but the new data applies to handlers and later joins', async () => {
    const { server, url, errors } = await startServer({ authenticate, authorizeJoin: adminsOnly });
    recordNotes(server);
    (
      server as unknown as { handle(t: string, h: (d: unknown, ctx: { data: unknown }) => unknown): void }
    ).handle('say', (_d, ctx) => (ctx.data as { role: string }).role);
    const c = await RawClient.open(url);
    await c.hello({ token: 'alice:admin' });
    c.send({ t: 'refresh', id: 'r1', token: 'alice:user' });
    expect(await c.next((f) => f.t === 'res' && f.id === 'r1')).toMatchObject({ ok: true });
    c.send({ t: 'pub', id: 'p1', type: 'say', data: { room: 'lobby', text: 'who am I' } });
    expect(await c.next((f) => f.t === 'res' && f.id === 'p1')).toMatchObject({ ok: true, result: 'user' });
    c.send({ t: 'join', id: 'j1', room: 'admins' });
    expect(await c.next((f) => f.t === 'res' && f.id === 'j1')).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(errors).toEqual([]);
  });
});
