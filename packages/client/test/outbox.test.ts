import { HoldfastError } from '@holdfast/protocol';
import { describe, expect, it } from 'vitest';
import type { AckEvent } from '../src/index.js';
import { clientOf, nextEvent, reach } from './support/app.js';
import { ManualClock } from './support/clock.js';
import { startFakeServer } from './support/fake-server.js';

const failure = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as HoldfastError,
  );

describe('outbox', () => {
  it('queues messages sent while offline and sends them after the welcome, in order, resolving on res', async () => {
    await using server = await startFakeServer({
      answer: (pub) => ({ result: { echoed: (pub.data as { text: string }).text } }),
    });
    const client = clientOf(server);
    const sent = ['a', 'b', 'c'].map((text) => client.send('say', { text }));
    expect(client.pending().map((p) => [p.type, p.state, p.data])).toEqual([
      ['say', 'queued', { text: 'a' }],
      ['say', 'queued', { text: 'b' }],
      ['say', 'queued', { text: 'c' }],
    ]);
    await client.connect();
    expect(await Promise.all(sent)).toEqual([{ echoed: 'a' }, { echoed: 'b' }, { echoed: 'c' }]);
    const conn = await server.nextConnection();
    const pubs = conn.received.filter((f) => f.t === 'pub');
    expect(pubs.map((p) => (p.data as { text: string }).text)).toEqual(['a', 'b', 'c']);
    expect(new Set(pubs.map((p) => p.id)).size).toBe(3);
    expect(client.pending()).toEqual([]);
  });

  it('resends unanswered messages after a reconnect with the same ids, in order', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    await client.connect();
    const first = await server.nextConnection();
    const a = client.send('say', { text: 'a' });
    const b = client.send('say', { text: 'b' });
    const ids = [(await first.next('pub')).id, (await first.next('pub')).id];
    expect(client.pending().map((p) => [p.id, p.state])).toEqual([
      [ids[0], 'sent'],
      [ids[1], 'sent'],
    ]);

    first.close(1012, 'restart');
    await reach(client, 'reconnecting');
    expect(client.pending().map((p) => p.state)).toEqual(['queued', 'queued']);
    const c = client.send('say', { text: 'c' });
    await clock.advance(750);
    const second = await server.nextConnection();
    const resent = [await second.next('pub'), await second.next('pub'), await second.next('pub')];
    expect(resent.map((p) => p.id).slice(0, 2)).toEqual(ids);
    expect(resent.map((p) => (p.data as { text: string }).text)).toEqual(['a', 'b', 'c']);
    for (const p of resent) second.send({ t: 'res', id: p.id, ok: true, result: p.id });
    expect(await Promise.all([a, b, c])).toEqual(resent.map((p) => p.id));
  });

  it('rejects with the server error of an error res, and reports every outcome as an ack event', async () => {
    await using server = await startFakeServer({
      answer: (pub) =>
        (pub.data as { text: string }).text === 'bad'
          ? { error: { code: 'FORBIDDEN', message: 'not you' } }
          : { result: 1 },
    });
    const client = clientOf(server);
    const acks: AckEvent[] = [];
    client.events.on('ack', (a) => acks.push(a));
    await client.connect();
    const error = await failure(client.send('say', { text: 'bad' }));
    expect(error).toBeInstanceOf(HoldfastError);
    expect(error).toMatchObject({ code: 'FORBIDDEN', message: 'not you' });
    expect(await client.send('say', { text: 'ok' })).toBe(1);
    expect(acks).toEqual([
      { id: expect.any(String), type: 'say', ok: false, error },
      { id: expect.any(String), type: 'say', ok: true, result: 1 },
    ]);
  });

  it('rejects OUTBOX_OVERFLOW past outbox.maxCount or outbox.maxBytes', async () => {
    await using server = await startFakeServer();
    const byCount = clientOf(server, { outbox: { maxCount: 2 } });
    const kept = [failure(byCount.send('say', { text: 'a' })), failure(byCount.send('say', { text: 'b' }))];
    expect(await failure(byCount.send('say', { text: 'c' }))).toMatchObject({ code: 'OUTBOX_OVERFLOW' });
    expect(byCount.pending()).toHaveLength(2);

    const byBytes = clientOf(server, { outbox: { maxBytes: 200 } });
    kept.push(failure(byBytes.send('blob', { data: 'x'.repeat(100) })));
    expect(await failure(byBytes.send('blob', { data: 'x'.repeat(100) }))).toMatchObject({
      code: 'OUTBOX_OVERFLOW',
    });
    expect(byBytes.pending()).toHaveLength(1);

    byCount.close();
    byBytes.close();
    for (const e of await Promise.all(kept)) expect(e).toMatchObject({ code: 'CLIENT_CLOSED' });
  });

  it('rejects invalid data with VALIDATION_FAILED and sends nothing', async () => {
    await using server = await startFakeServer({ answer: () => ({ result: 'ok' }) });
    const client = clientOf(server);
    await client.connect();
    const error = await failure(client.send('say', { text: 'x'.repeat(101) }));
    expect(error).toMatchObject({ code: 'VALIDATION_FAILED', issues: [{ path: ['text'] }] });
    // @ts-expect-error: a server message type cannot be sent
    expect(await failure(client.send('said', { text: 'x' }))).toMatchObject({ code: 'UNKNOWN_MESSAGE_TYPE' });
    expect(client.pending()).toEqual([]);
    await client.send('say', { text: 'valid' });
    const conn = await server.nextConnection();
    expect(conn.received.filter((f) => f.t === 'pub')).toEqual([
      { t: 'pub', id: expect.any(String), type: 'say', data: { text: 'valid' } },
    ]);
  });

  it("rejects MESSAGE_TOO_BIG above the server's maxPayload, also for messages queued before the welcome", async () => {
    await using server = await startFakeServer({
      welcome: () => ({ limits: { maxPayload: 200, maxRooms: 1, messagesPerSecond: 1 } }),
    });
    const client = clientOf(server);
    const early = client.send('blob', { data: 'y'.repeat(300) });
    await client.connect();
    expect(await failure(early)).toMatchObject({ code: 'MESSAGE_TOO_BIG' });
    expect(await failure(client.send('blob', { data: 'z'.repeat(300) }))).toMatchObject({
      code: 'MESSAGE_TOO_BIG',
      details: { maxPayload: 200 },
    });
    expect(client.pending()).toEqual([]);
  });

  it('times out a send after timeoutMs: dropped if never written, kept (and acked later) if written', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const unsent = failure(client.send('say', { text: 'offline' }, { timeoutMs: 1000 }));
    await clock.advance(999);
    expect(client.pending()).toHaveLength(1);
    await clock.advance(1);
    expect(await unsent).toMatchObject({ code: 'TIMEOUT' });
    expect(client.pending()).toEqual([]);

    await client.connect();
    const conn = await server.nextConnection();
    const written = failure(client.send('say', { text: 'online' }, { timeoutMs: 1000 }));
    const pub = await conn.next('pub');
    await clock.advance(1000);
    expect(await written).toMatchObject({ code: 'TIMEOUT' });
    expect(client.pending().map((p) => p.id)).toEqual([pub.id]);
    const ack = nextEvent(client, 'ack');
    conn.send({ t: 'res', id: pub.id, ok: true, result: 'late' });
    expect(await ack).toEqual({ id: pub.id, type: 'say', ok: true, result: 'late' });
    expect(client.pending()).toEqual([]);
    expect(conn.received.filter((f) => f.t === 'pub')).toHaveLength(1);
  });

  it('rejects pending messages with CLIENT_CLOSED on close(), and any send after it', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    await client.connect();
    const pending = failure(client.send('say', { text: 'a' }));
    const request = failure(client.request('echo', { text: 'a' }));
    client.close();
    expect(await pending).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(await request).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(client.state).toEqual({ status: 'closed', code: 1000, reason: 'Client closed' });
    expect(client.pending()).toEqual([]);
    expect(await failure(client.send('say', { text: 'b' }))).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(await failure(client.join('x'))).toMatchObject({ code: 'CLIENT_CLOSED' });
    expect((await server.nextConnection().then((c) => c.closed)).code).toBe(1000);
  });

  it('rejects pending messages with CLIENT_CLOSED when the client fails', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    await client.connect();
    const pending = failure(client.send('say', { text: 'a' }));
    (await server.nextConnection()).close(4401, 'token expired');
    expect(await pending).toMatchObject({ code: 'CLIENT_CLOSED', details: { code: 4401 } });
    expect(await failure(client.send('say', { text: 'b' }))).toMatchObject({ code: 'CLIENT_CLOSED' });
  });
});

describe('request', () => {
  it('resolves with the validated, typed response', async () => {
    await using server = await startFakeServer({
      answer: (pub) => {
        const text = (pub.data as { text: string }).text;
        return { result: { text: text.toUpperCase(), length: text.length, extra: 'stripped' } };
      },
    });
    const client = clientOf(server);
    await client.connect();
    const response = await client.request('echo', { text: 'hey' });
    expect(response).toEqual({ text: 'HEY', length: 3 });
  });

  it('send() of a request type resolves with the response too, validated as by request()', async () => {
    await using server = await startFakeServer({
      answer: (pub) => ({
        result: { text: String((pub.data as { text: string }).text), length: 1, extra: 'x' },
      }),
    });
    const client = clientOf(server);
    await client.connect();
    const response: { text: string; length: number } = await client.send('echo', { text: 'a' });
    expect(response).toEqual({ text: 'a', length: 1 }); // `extra` stripped: the response schema applied
  });

  it('rejects a response that fails the response schema with VALIDATION_FAILED', async () => {
    await using server = await startFakeServer({ answer: () => ({ result: { text: 1 } }) });
    const client = clientOf(server);
    await client.connect();
    expect(await failure(client.request('echo', { text: 'a' }))).toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('times out with TIMEOUT after timeoutMs (default timeouts.requestMs)', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock, timeouts: { requestMs: 5000 } });
    await client.connect();
    const explicit = failure(client.request('echo', { text: 'a' }, { timeoutMs: 1000 }));
    const byDefault = failure(client.request('echo', { text: 'b' }));
    let settled = 0;
    void explicit.then(() => settled++);
    void byDefault.then(() => settled++);
    await clock.advance(999);
    expect(settled).toBe(0);
    await clock.advance(1);
    expect(await explicit).toMatchObject({ code: 'TIMEOUT' });
    await clock.advance(3999);
    expect(settled).toBe(1);
    await clock.advance(1);
    expect(await byDefault).toMatchObject({ code: 'TIMEOUT' });
  });

  it('treats timeoutMs: 0 as an immediate deadline, not as none', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const r = failure(client.request('echo', { text: 'a' }, { timeoutMs: 0 }));
    await clock.advance(0);
    expect(await r).toMatchObject({ code: 'TIMEOUT' });
  });
});
