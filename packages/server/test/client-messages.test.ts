import { CloseCode, type Cursor, HoldfastError } from '@holdfast/protocol';
import { cursorsOf } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { MemoryEngine } from '../src/index.js';
import { startServer } from './support/fixture.js';

describe('client messages and requests', () => {
  it('runs the handler and acks with its result; requests return the typed response', async () => {
    const { server, connect } = await startServer();
    const seen: unknown[] = [];
    server.handle('note', (data, ctx) => {
      seen.push([data.n, ctx.messageId, typeof ctx.sessionId]);
      return { stored: data.n };
    });
    server.handle('add', ({ a, b }) => a + b);
    const c = await connect();
    await c.hello();
    c.send({ t: 'pub', id: 'm1', type: 'note', data: { n: 7 } });
    c.send({ t: 'pub', id: 'r1', type: 'add', data: { a: 2, b: 3 } });
    expect(await c.next((f) => f.t === 'res' && f.id === 'm1')).toEqual({
      t: 'res',
      id: 'm1',
      ok: true,
      result: { stored: 7 },
    });
    expect(await c.next((f) => f.t === 'res' && f.id === 'r1')).toEqual({
      t: 'res',
      id: 'r1',
      ok: true,
      result: 5,
    });
    expect(seen).toEqual([[7, 'm1', 'string']]);
  });

  it('answers invalid data, unknown types, missing handlers and throwing handlers with typed errors', async () => {
    const { server, connect } = await startServer();
    server.handle('boom', ({ kind }) => {
      if (kind === 'typed') throw new HoldfastError('FORBIDDEN', 'not you');
      throw new Error('secret internals');
    });
    server.handle('bad', () => 42 as never);
    const c = await connect();
    await c.hello();
    const ask = async (id: string, type: string, data: unknown) => {
      c.send({ t: 'pub', id, type, data });
      return c.next((f) => f.t === 'res' && f.id === id);
    };
    const invalid = await ask('a', 'say', { room: '', text: 'x' });
    expect(invalid).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', issues: [{ path: ['room'] }] },
    });
    expect((await ask('b', 'launch', {})).error.code).toBe('UNKNOWN_MESSAGE_TYPE');
    expect((await ask('b2', 'said', {})).error.code).toBe('UNKNOWN_MESSAGE_TYPE');
    expect((await ask('c', 'note', { n: 1 })).error.code).toBe('NO_HANDLER');
    const plain = await ask('d', 'boom', { kind: 'plain' });
    expect(plain.error).toEqual({ code: 'HANDLER_ERROR', message: 'Handler for "boom" failed' });
    expect((await ask('e', 'boom', { kind: 'typed' })).error).toEqual({
      code: 'FORBIDDEN',
      message: 'not you',
    });
    expect((await ask('f', 'bad', {})).error.code).toBe('HANDLER_ERROR');
    // The connection survives all of it.
    expect(c.closed).toBeUndefined();
    expect(server.stats().counters.handlerErrors).toBe(2);
  });

  it('runs a handler once per message id, even when resent after a reconnect or while still running', async () => {
    const { server, connect } = await startServer();
    const runs: number[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let started!: () => void;
    const secondStarted = new Promise<void>((r) => {
      started = r;
    });
    server.handle('note', async ({ n }) => {
      runs.push(n);
      if (n === 2) {
        started();
        await gate;
      }
      return n * 10;
    });
    const c1 = await connect();
    const w = await c1.hello();
    c1.send({ t: 'pub', id: 'once-1', type: 'note', data: { n: 1 } });
    await c1.next((f) => f.t === 'res' && f.id === 'once-1');
    c1.send({ t: 'pub', id: 'once-2', type: 'note', data: { n: 2 } });
    // Wait until the second handler is running, then cut before its ack.
    await secondStarted;
    await c1.terminate();
    const c2 = await connect();
    await c2.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: cursorsOf(c1.frames) },
    });
    c2.send({ t: 'pub', id: 'once-1', type: 'note', data: { n: 1 } });
    c2.send({ t: 'pub', id: 'once-2', type: 'note', data: { n: 2 } });
    expect(await c2.next((f) => f.t === 'res' && f.id === 'once-1')).toMatchObject({ ok: true, result: 10 });
    release();
    expect(await c2.next((f) => f.t === 'res' && f.id === 'once-2')).toMatchObject({ ok: true, result: 20 });
    expect(runs).toEqual([1, 2]);
    expect(server.stats().counters.duplicates).toBe(2);
  });

  it('does not ack a message whose handled-record could not be stored; the resend runs it then', async () => {
    // A memory engine whose store fails once: the override must run (no synchronous bypass).
    let failures = 1;
    class Flaky extends MemoryEngine {
      override async putHandled(...args: Parameters<MemoryEngine['putHandled']>): Promise<void> {
        if (failures-- > 0) throw new Error('store down');
        return super.putHandled(...args);
      }
    }
    const { server, connect } = await startServer({ engine: new Flaky() });
    server.on('error', () => {});
    const runs: number[] = [];
    server.handle('add', ({ a, b }) => {
      runs.push(a);
      return a + b;
    });
    const c = await connect();
    await c.hello();
    c.send({ t: 'pub', id: 'r1', type: 'add', data: { a: 1, b: 2 } });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    expect(c.frames.some((f) => f.t === 'res')).toBe(false);
    c.send({ t: 'pub', id: 'r1', type: 'add', data: { a: 1, b: 2 } });
    expect(await c.next((f) => f.t === 'res' && f.id === 'r1')).toMatchObject({ ok: true, result: 3 });
    expect(runs).toEqual([1, 1]);
    expect(server.stats().counters.engineErrors).toBe(1);
  });

  it('offers a pull-style inbox for types without a handler, acking when taken', async () => {
    const { server, connect } = await startServer();
    const c = await connect();
    const w = await c.hello();
    const inbox = server.inbox(w.sessionId);
    await expect(inbox.receive({ timeoutMs: 10 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    c.send({ t: 'pub', id: 'p1', type: 'pulled', data: { v: 'one' } });
    c.send({ t: 'pub', id: 'p2', type: 'pulled', data: { v: 'two' } });
    const first = await inbox.receive({ timeoutMs: 5000 });
    expect(first).toMatchObject({ id: 'p1', type: 'pulled', data: { v: 'one' }, sessionId: w.sessionId });
    expect(await c.next((f) => f.t === 'res' && f.id === 'p1')).toMatchObject({ ok: true });
    const it = inbox[Symbol.asyncIterator]();
    expect((await it.next()).value).toMatchObject({ id: 'p2' });
    await c.next((f) => f.t === 'res' && f.id === 'p2');
    inbox.close();
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('acks: rejects acks for unknown streams or offsets never sent, ignores stale ones', async () => {
    const { server, connect } = await startServer();
    const c = await connect();
    const w = await c.hello();
    const s = w.streams[0];
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await c.next((f) => f.t === 'msg');
    c.send({ t: 'ack', cursors: [{ stream: s.stream, epoch: s.epoch, offset: 5 }] });
    expect(await c.next((f) => f.t === 'error')).toMatchObject({
      error: { code: 'INVALID_ACK', issues: [{ path: ['cursors', 0, 'offset'] }] },
    });
    const n = c.frames.length;
    c.send({ t: 'ack', cursors: [{ stream: 'room:nope', epoch: s.epoch, offset: 1 }] });
    expect(await c.next((f) => f.t === 'error', n)).toMatchObject({ error: { code: 'INVALID_ACK' } });
    c.send({ t: 'ack', cursors: [{ stream: s.stream, epoch: s.epoch, offset: 1 }] });
    c.send({ t: 'ack', cursors: [{ stream: s.stream, epoch: s.epoch, offset: 0 }] });
    c.send({ t: 'ping', ts: 3 });
    await c.next((f) => f.t === 'pong' && f.ts === 3);
    expect(c.frames.filter((f) => f.t === 'error').length).toBe(2);
    expect(c.closed).toBeUndefined();
    // The backwards ack did not move the stored cursor: a resume without cursors starts after 1.
    await c.terminate();
    const c2 = await connect();
    const w2 = await c2.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: [] },
    });
    expect(w2.streams[0]).toMatchObject({ stream: s.stream, status: 'recovered', offset: 1 });
  });

  it('acks: stores the cursors of every stream one ack lists, a repeated stream at its highest offset', async () => {
    const { server, connect } = await startServer();
    const c = await connect();
    const w = await c.hello();
    const [session, , broadcast] = w.streams;
    for (let n = 1; n <= 3; n++) await server.sendToSession(w.sessionId, 'tick', { n });
    for (let n = 1; n <= 2; n++) await server.broadcast('tick', { n });
    await c.collect((f) => f.t === 'msg', 5);
    const at = (st: Cursor, offset: number) => ({ stream: st.stream, epoch: st.epoch, offset });
    c.send({ t: 'ack', cursors: [at(session, 2), at(broadcast, 2), at(session, 3)] });
    c.send({ t: 'ping', ts: 1 });
    await c.next((f) => f.t === 'pong');
    expect(c.frames.filter((f) => f.t === 'error')).toEqual([]);
    await c.terminate();
    const c2 = await connect();
    const w2 = await c2.hello({
      resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: [] },
    });
    const offsets = Object.fromEntries(w2.streams.map((s: Cursor) => [s.stream, s.offset]));
    expect(offsets[session.stream]).toBe(3);
    expect(offsets[broadcast.stream]).toBe(2);
  });

  // Acks have a hand-written fast path: anything it does not fully accept must still get the
  // generic decoder's typed error and close code.
  it.each([
    [
      'a fractional offset',
      'NOT_AN_INTEGER',
      (s: Cursor) => ({ t: 'ack', cursors: [{ ...s, offset: 1.5 }] }),
    ],
    [
      'a negative offset',
      'NUMBER_OUT_OF_RANGE',
      (s: Cursor) => ({ t: 'ack', cursors: [{ ...s, offset: -1 }] }),
    ],
    ['no cursors', 'INVALID_FIELD_TYPE', () => ({ t: 'ack', cursors: [] })],
    ['a cursor that is not an object', 'INVALID_FIELD_TYPE', () => ({ t: 'ack', cursors: ['broadcast'] })],
    ['a numeric epoch', 'INVALID_FIELD_TYPE', (s: Cursor) => ({ t: 'ack', cursors: [{ ...s, epoch: 7 }] })],
  ])('acks: %s is a protocol error (%s), as for any frame', async (_name, code, ack) => {
    const { server, connect } = await startServer();
    const c = await connect();
    const w = await c.hello();
    const s = w.streams[0] as Cursor;
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await c.next((f) => f.t === 'msg');
    c.send(ack({ stream: s.stream, epoch: s.epoch, offset: 1 }));
    expect(await c.next((f) => f.t === 'error')).toMatchObject({ error: { code } });
    expect((await c.closedPromise()).code).toBe(CloseCode.BadProtocol);
  });
});
