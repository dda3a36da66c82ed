import { request } from 'node:http';
import { ManualClock, RawClient } from '@holdfast/testkit';
import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { startServer } from './support/fixture.js';

describe('refusals and limits, each with its documented close code', () => {
  it('4406 for an unsupported version, 4400 for garbage or frames before hello, 4400 for binary', async () => {
    const { connect } = await startServer();
    const v = await connect();
    v.send({ t: 'hello', version: 99 });
    expect((await v.closedPromise()).code).toBe(4406);

    const g = await connect();
    g.send('not json');
    expect(await g.next((f) => f.t === 'error')).toMatchObject({ error: { code: 'INVALID_JSON' } });
    expect((await g.closedPromise()).code).toBe(4400);

    const early = await connect();
    early.send({ t: 'pub', id: 'x', type: 'note', data: { n: 1 } });
    expect(await early.next((f) => f.t === 'error')).toMatchObject({ error: { code: 'UNEXPECTED_FRAME' } });
    expect((await early.closedPromise()).code).toBe(4400);

    const bin = await connect();
    bin.ws.send(Buffer.from('{"t":"hello","version":1}'), { binary: true });
    expect(await bin.next((f) => f.t === 'error')).toMatchObject({ error: { code: 'BINARY_FRAME' } });
    expect((await bin.closedPromise()).code).toBe(4400);
  });

  it('4401 when authenticate refuses or the token already expired', async () => {
    const { connect } = await startServer({
      authenticate: ({ token }) =>
        token === 'good' ? { user: 'u' } : token === 'old' ? { user: 'u', expiresAt: Date.now() - 1 } : null,
    });
    for (const token of [undefined, 'bad', 'old']) {
      const c = await connect();
      c.send({ t: 'hello', version: 1, ...(token ? { token } : {}) });
      expect((await c.closedPromise()).code).toBe(4401);
    }
    const ok = await connect();
    expect((await ok.hello({ token: 'good' })).user).toBe('u');
  });

  it('takes the token from the subprotocol list without echoing it back', async () => {
    const seen: (string | undefined)[] = [];
    const { url } = await startServer({
      authenticate: ({ token, tokenSource }) => {
        seen.push(`${tokenSource}:${token}`);
        return { user: 'sub-user' };
      },
    });
    const c = await RawClient.open(url, { protocols: ['holdfast.v1', 'holdfast.token.abc.def'] });
    expect(c.ws.protocol).toBe('holdfast.v1');
    expect((await c.hello()).user).toBe('sub-user');
    expect(seen).toEqual(['subprotocol:abc.def']);
    c.ws.terminate();
  });

  it('4409 past the connections-per-user limit', async () => {
    const { connect } = await startServer({
      authenticate: () => ({ user: 'same' }),
      limits: { connectionsPerUser: 2 },
    });
    const a = await connect();
    await a.hello();
    const b = await connect();
    await b.hello();
    const c = await connect();
    c.send({ t: 'hello', version: 1 });
    expect(await c.closedPromise()).toMatchObject({ code: 4409 });
    await a.close();
    const d = await connect();
    expect((await d.hello()).user).toBe('same');
  });

  it('4403 for origins outside the exact allowlist (including look-alikes and null)', async () => {
    const { url } = await startServer({ origins: ['https://app.example.com'] });
    const codeFor = async (origin?: string) => {
      const c = await RawClient.open(url, origin ? { headers: { origin } } : {});
      if (c.closed) return c.closed.code;
      const code = (await Promise.race([c.closedPromise(), c.hello().then(() => 0)])) as
        | number
        | { code: number };
      c.ws.terminate();
      return typeof code === 'number' ? code : code.code;
    };
    expect(await codeFor('https://app.example.com.evil.com')).toBe(4403);
    expect(await codeFor('null')).toBe(4403);
    expect(await codeFor('http://app.example.com')).toBe(4403);
    expect(await codeFor('https://app.example.com')).toBe(0);
    expect(await codeFor(undefined)).toBe(0);
  });

  it('1009 for a frame above maxPayload, while one at the limit is accepted', async () => {
    const { server, connect } = await startServer({ limits: { maxPayload: 1024 } });
    server.handle('note', () => 'ok');
    const c = await connect();
    await c.hello();
    const frame = (pad: number) =>
      `{"t":"pub","id":"m","type":"note","data":{"n":1,"p":"${'x'.repeat(pad)}"}}`;
    const base = frame(0).length;
    c.send(frame(1024 - base));
    expect(await c.next((f) => f.t === 'res')).toMatchObject({ ok: true });
    c.send(frame(1025 - base));
    expect((await c.closedPromise()).code).toBe(1009);
  });

  it('4429 with a retry-after hint when a connection floods frames', async () => {
    const { connect } = await startServer({ limits: { messagesPerSecond: 10, burst: 20 } });
    const c = await connect();
    await c.hello();
    for (let i = 0; i < 50; i++) c.send({ t: 'ping', ts: i });
    const closed = await c.closedPromise();
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/retryAfterMs=\d+/);
    // The flood was cut at the burst: at most 20 pongs (hello took one token).
    expect(c.frames.filter((f) => f.t === 'pong').length).toBeLessThanOrEqual(19);
  });

  it('LIMIT_EXCEEDED past rooms per session, FORBIDDEN when authorizeJoin refuses', async () => {
    const { connect } = await startServer({
      limits: { roomsPerSession: 2 },
      authorizeJoin: ({ room }) => room !== 'secret',
    });
    const c = await connect();
    await c.hello();
    const join = async (id: string, room: string) => {
      c.send({ t: 'join', id, room });
      return c.next((f) => f.t === 'res' && f.id === id);
    };
    expect((await join('1', 'secret')).error.code).toBe('FORBIDDEN');
    expect((await join('2', 'a')).ok).toBe(true);
    expect((await join('3', '__proto__')).ok).toBe(true);
    expect((await join('4', 'c')).error.code).toBe('LIMIT_EXCEEDED');
    expect((await join('5', 'a')).ok).toBe(true);
  });

  it('4408 when no hello arrives in time, and the heartbeat closes silent connections with 4408 (injected time)', async () => {
    const clock = new ManualClock();
    const { server, connect } = await startServer({
      clock,
      limits: { helloTimeoutMs: 5000 },
      heartbeat: { intervalMs: 1000, timeoutMs: 2500 },
    });
    const silent = await connect();
    clock.advance(5000);
    expect(silent.closed).toBeUndefined();
    clock.advance(1000);
    expect((await silent.closedPromise()).code).toBe(4408);

    const alive = await connect();
    await alive.hello();
    const mute = await connect({ autoPong: false });
    const w = await mute.hello();
    clock.advance(1000);
    await alive.next((f) => f.t === 'ping');
    await mute.next((f) => f.t === 'ping');
    // alive answered; keep it answering through the next beats.
    clock.advance(1000);
    await alive.collect((f) => f.t === 'ping', 2);
    const pongs = () => alive.frames.filter((f) => f.t === 'ping').length;
    expect(pongs()).toBe(2);
    // The server has read alive's pongs (frames of one socket are read in order).
    alive.send({ t: 'ping', ts: 1 });
    await alive.next((f) => f.t === 'pong' && f.ts === 1);
    clock.advance(1001);
    // Closed with 4408, a close handshake (docs/PROTOCOL.md §4.6), not terminated (1006).
    const closed = await mute.closedPromise();
    expect(closed.code).toBe(4408);
    expect(alive.closed).toBeUndefined();
    await vi.waitFor(() => expect(server.countConnections({ sessionId: w.sessionId })).toBe(0));
    // The timed-out session stays resumable.
    const back = await connect();
    expect(
      (await back.hello({ resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: [] } }))
        .resumed,
    ).toBe(true);
  });

  it('expires a session after the resume window and fires session:expired', async () => {
    const clock = new ManualClock();
    const { server, connect } = await startServer({ clock, resumeWindowMs: 10_000 });
    const expired: string[] = [];
    server.on('session:expired', ({ sessionId }) => expired.push(sessionId));
    const c = await connect();
    const w = await c.hello();
    await server.join(w.sessionId, 'r');
    await c.close();
    await expect.poll(() => server.stats().sessions).toBe(0);
    clock.advance(9_000);
    await Promise.resolve();
    expect(expired).toEqual([]);
    clock.advance(2_000);
    await expect.poll(() => expired).toEqual([w.sessionId]);
    expect(await server.presence('r')).toEqual([]);
    const again = await connect();
    expect(
      await again.hello({ resume: { sessionId: w.sessionId, resumeToken: w.resumeToken, cursors: [] } }),
    ).toMatchObject({
      resumed: false,
      resumeError: 'expired',
    });
  });

  it('closes a slow consumer that stops reading with 4008 and keeps memory bounded', async () => {
    const { server, connect } = await startServer({ limits: { highWaterMark: 256 * 1024 } });
    const fast = await connect();
    const wf = await fast.hello();
    const slow = await connect();
    const ws = await slow.hello();
    await server.join(wf.sessionId, 'feed');
    await server.join(ws.sessionId, 'feed');
    // Stop reading on the slow client's TCP socket.
    (slow.ws as any)._socket.pause();
    const disconnects: number[] = [];
    server.on('disconnect', ({ code, sessionId }) => {
      if (sessionId === ws.sessionId) disconnects.push(code);
    });
    const gone = new Promise<void>((resolve) => server.on('disconnect', () => resolve()));
    const payload = 'x'.repeat(150);
    let n = 0;
    const slowClosed = () => server.stats().counters.closes['4008'] === 1;
    while (!slowClosed() && n < 500_000) {
      for (let i = 0; i < 200; i++)
        await server.sendToRoom('feed', 'said', { from: 'srv', text: `${n++}:${payload}` });
      await new Promise((r) => setImmediate(r));
    }
    expect(slowClosed()).toBe(true);
    // A peer that does not read cannot complete the close handshake: the sweep cuts it.
    await gone;
    expect(disconnects.length).toBe(1);
    // The fast client got everything, in order.
    await fast.next((f) => f.t === 'msg' && f.data.text.startsWith(`${n - 1}:`));
    expect(fast.msgs().length).toBe(n);
    // Memory bound: the server stopped writing to the slow socket once over the mark.
    expect(server.countConnections({ sessionId: ws.sessionId })).toBe(0);
  });

  it('stays up and keeps serving others through hostile handshakes', async () => {
    const { server, url, connect } = await startServer();
    const good = await connect();
    const w = await good.hello();
    // A huge subprotocol list and thousands of headers: refused by the HTTP layer, not a crash.
    const port = new URL(url).port;
    const status = await new Promise<number | undefined>((resolve) => {
      const headers: Record<string, string> = {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Protocol': Array.from({ length: 3000 }, (_, i) => `p${i}`).join(', '),
      };
      for (let i = 0; i < 3000; i++) headers[`x-h${i}`] = 'v';
      const req = request({ host: '127.0.0.1', port, path: '/ws', headers });
      req.on('response', (res) => resolve(res.statusCode));
      req.on('upgrade', () => resolve(101));
      req.on('error', () => resolve(undefined));
      req.end();
    });
    expect(status).toBe(431);
    // A client offering only protocols the server does not speak gets none back and gives up.
    const raw = new WebSocket(url, ['other-protocol']);
    const failed = new Promise<Error>((resolve) => raw.on('error', resolve));
    expect((await failed).message).toMatch(/no subprotocol/);
    await server.sendToSession(w.sessionId, 'tick', { n: 1 });
    await good.next((f) => f.t === 'msg');
  });
});

describe('token sources, per-address limit and logging', () => {
  it('accepts ?token= only when allowed, and redacts it from what authenticate sees of the URL', async () => {
    const seen: string[] = [];
    const authenticate = ({
      token,
      tokenSource,
      url,
    }: {
      token?: string;
      tokenSource?: string;
      url: string;
    }) => {
      seen.push(`${tokenSource}:${token}:${url}`);
      return token ? { user: token } : null;
    };
    const off = await startServer({ authenticate });
    const refused = await RawClient.open(`${off.url}?token=q1`);
    refused.send({ t: 'hello', version: 1 });
    expect((await refused.closedPromise()).code).toBe(4401);
    const on = await startServer({ authenticate, allowQueryToken: true });
    const ok = await RawClient.open(`${on.url}?token=q2&x=1`);
    expect((await ok.hello()).user).toBe('q2');
    ok.ws.terminate();
    expect(seen).toEqual(['undefined:undefined:/ws?token=q1', 'query:q2:/ws?token=REDACTED&x=1']);
  });

  it('4429 with a retry-after hint past the per-address connection limit', async () => {
    const { connect } = await startServer({ limits: { connectionsPerAddress: 2 } });
    const a = await connect();
    const b = await connect();
    await a.hello();
    await b.hello();
    const c = await connect();
    const closed = await c.closedPromise();
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/retryAfterMs=\d+/);
    // Another address is not affected.
    const other = await connect({ localAddress: '127.0.0.2' });
    expect((await other.hello()).resumed).toBe(false);
  });

  it('never logs tokens or payloads', async () => {
    const lines: string[] = [];
    const log = (obj: object, msg?: string) => {
      lines.push(
        JSON.stringify(obj, (_k, v) => (v instanceof Error ? { message: v.message, stack: v.stack } : v)) +
          (msg ?? ''),
      );
    };
    const logger = { debug: log, info: log, warn: log, error: log };
    const { server, connect } = await startServer({
      logger,
      authenticate: ({ token }) => {
        if (token === 'TOPSECRET-TOKEN') throw new Error('bad token');
        return { user: 'u' };
      },
    });
    server.handle('boom', () => {
      throw new Error('handler failed');
    });
    const bad = await connect();
    bad.send({ t: 'hello', version: 1, token: 'TOPSECRET-TOKEN' });
    await bad.closedPromise();
    const c = await connect();
    await c.hello({ token: 'ANOTHER-SECRET' });
    c.send({ t: 'pub', id: 'x', type: 'boom', data: { kind: 'plain', secret: 'PAYLOAD-SECRET' } });
    await c.next((f) => f.t === 'res');
    c.send('{"t":"pub","id":"y","type":"say","data":PAYLOAD-BROKEN');
    await c.closedPromise();
    expect(lines.length).toBeGreaterThan(0);
    const all = lines.join('\n');
    for (const secret of ['TOPSECRET', 'ANOTHER-SECRET', 'PAYLOAD-SECRET', 'PAYLOAD-BROKEN'])
      expect(all).not.toContain(secret);
  });
});
