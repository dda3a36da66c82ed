import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClientEnvironment } from '../src/index.js';
import { clientOf, nextEvent, reach, recordStates } from './support/app.js';
import { ManualClock } from './support/clock.js';
import { DEFAULT_LIMITS, startExpiringServer, startFakeServer } from './support/fake-server.js';

const fastBeat = { heartbeat: { intervalMs: 1000, timeoutMs: 2000 } };

/** A page whose `online` and `visibilitychange` events the test fires. */
class FakePage implements ClientEnvironment {
  readonly listeners = new Map<string, Set<() => void>>();
  readonly document = {
    visibilityState: 'visible',
    addEventListener: (type: string, fn: () => void) => this.addEventListener(type, fn),
    removeEventListener: (type: string, fn: () => void) => this.removeEventListener(type, fn),
  };
  addEventListener(type: string, fn: () => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(fn);
  }
  removeEventListener(type: string, fn: () => void): void {
    this.listeners.get(type)?.delete(fn);
  }
  fire(type: string): void {
    for (const fn of this.listeners.get(type) ?? []) fn();
  }
  get count(): number {
    return [...this.listeners.values()].reduce((n, s) => n + s.size, 0);
  }
}

/** A `ws` WebSocket that checks, at every construction, that no earlier socket is still open. */
function trackingWebSocket() {
  const sockets: WebSocket[] = [];
  const violations: string[] = [];
  class Tracking extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      const live = sockets.filter(
        (s) => s.readyState === WebSocket.OPEN || s.readyState === WebSocket.CONNECTING,
      );
      if (live.length > 0)
        violations.push(`socket ${sockets.length + 1} opened while ${live.length} still open`);
      super(url, protocols);
      sockets.push(this);
    }
  }
  return { Tracking, sockets, violations };
}

describe('heartbeat watchdog', () => {
  it('detects a silent (half-open) server, closes, and resumes with its cursors', async () => {
    await using server = await startFakeServer({ welcome: () => fastBeat });
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    const ticks: number[] = [];
    client.on('tick', (d) => ticks.push(d.n));
    await client.connect();
    const first = await server.nextConnection();
    const got = new Promise((resolve) => client.once('tick', resolve));
    first.send({
      t: 'msg',
      stream: 'broadcast',
      epoch: 'e1',
      offset: 1,
      type: 'tick',
      data: { n: 1 },
      ts: 1,
    });
    await got;

    // The server stays silent from now on, its socket open.
    await clock.advance(1999);
    expect(client.state.status).toBe('connected');
    await clock.advance(1);
    expect(client.state).toMatchObject({
      status: 'reconnecting',
      attempt: 1,
      lastClose: { code: 4408, reason: 'Heartbeat timeout' },
    });
    await first.closed;

    await clock.advance(750);
    const second = await server.nextConnection();
    const hello = await second.next('hello');
    expect(hello.resume).toEqual({
      sessionId: 's1',
      resumeToken: 'r-s1',
      cursors: [
        { stream: 'session:s1', epoch: 'e1', offset: 0 },
        { stream: 'broadcast', epoch: 'e1', offset: 1 },
      ],
    });
    await reach(client, 'connected');
    expect(client.state).toEqual({ status: 'connected', sessionId: 's1', resumed: true });
    expect(ticks).toEqual([1]);
  });

  it('counts every server frame as a sign of life, and answers ping with pong', async () => {
    await using server = await startFakeServer({ welcome: () => fastBeat });
    const clock = new ManualClock();
    const client = clientOf(server, { clock });
    await client.connect();
    const conn = await server.nextConnection();

    await clock.advance(1500);
    conn.send({ t: 'ping', ts: 42 });
    expect(await conn.next('pong')).toEqual({ t: 'pong', ts: 42 });
    await clock.advance(1999);
    expect(client.state.status).toBe('connected');
    await clock.advance(1);
    expect(client.state).toMatchObject({ status: 'reconnecting', lastClose: { code: 4408 } });
  });
});

describe('page environment', () => {
  it('retries at once when the browser comes back online', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    const page = new FakePage();
    const client = clientOf(server, { clock, environment: page });
    await client.connect();
    const reconnecting = reach(client, 'reconnecting');
    (await server.nextConnection()).close(1012, 'restart');
    await reconnecting;
    page.fire('online');
    expect(client.state).toEqual({ status: 'connecting', attempt: 1 });
    await reach(client, 'connected');
    page.fire('online');
    expect(client.state.status).toBe('connected');
  });

  it('reconnects at once when a hidden page becomes visible after missing heartbeats', async () => {
    await using server = await startFakeServer({
      welcome: () => ({ heartbeat: { intervalMs: 1000, timeoutMs: 60_000 } }),
    });
    const clock = new ManualClock();
    const page = new FakePage();
    const client = clientOf(server, { clock, environment: page });
    const states = recordStates(client);
    await client.connect();
    const first = await server.nextConnection();

    await clock.advance(1000);
    page.fire('visibilitychange');
    expect(client.state.status).toBe('connected');

    page.document.visibilityState = 'hidden';
    await clock.advance(1);
    page.fire('visibilitychange');
    expect(client.state.status).toBe('connected');

    page.document.visibilityState = 'visible';
    page.fire('visibilitychange');
    expect(client.state.status).toBe('connecting');
    await first.closed;
    const hello = await (await server.nextConnection()).next('hello');
    expect(hello.resume?.sessionId).toBe('s1');
    await reach(client, 'connected');
    expect(states).toEqual([
      'connecting:connect',
      'connected:welcome',
      'connecting:visible',
      'connected:welcome',
    ]);
  });

  it('removes its page listeners when closed', async () => {
    await using server = await startFakeServer();
    const page = new FakePage();
    const client = clientOf(server, { environment: page });
    await client.connect();
    expect(page.count).toBe(2);
    client.close();
    expect(page.count).toBe(0);
  });
});

describe('sockets', () => {
  it('never has two sockets open: the old one is closed before a new one is created', async () => {
    await using server = await startFakeServer({ welcome: () => fastBeat });
    const clock = new ManualClock();
    const page = new FakePage();
    const { Tracking, sockets, violations } = trackingWebSocket();
    const client = clientOf(server, { clock, environment: page, WebSocket: Tracking });
    await Promise.all([client.connect(), client.connect()]);

    // Heartbeat timeout, then retry.
    await clock.advance(2000);
    await clock.advance(750);
    await reach(client, 'connected');
    // Visible after missed beats, from a connected state.
    await clock.advance(1500);
    page.fire('visibilitychange');
    await reach(client, 'connected');
    // Server close, then online while waiting to retry.
    const reconnecting = reach(client, 'reconnecting');
    server.connections.at(-1)!.close(1012, 'restart');
    await reconnecting;
    page.fire('online');
    await reach(client, 'connected');
    // close() then connect() again.
    client.close();
    await client.connect();

    expect(violations).toEqual([]);
    expect(sockets).toHaveLength(5);
    expect(sockets.filter((s) => s.readyState === WebSocket.OPEN)).toHaveLength(1);
    await Promise.all(server.connections.slice(0, -1).map((c) => c.closed));
    expect(server.openCount()).toBe(1);
  });

  it('offers the holdfast.v1 subprotocol', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    await client.connect();
    expect((await server.nextConnection()).offered).toEqual(['holdfast.v1']);
  });

  it('ignores undecodable frames (error event) and keeps the connection', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server);
    await client.connect();
    const conn = await server.nextConnection();
    const error = nextEvent(client, 'error');
    conn.sendRaw('{"t":"nope"}');
    expect(await error).toMatchObject({ code: 'UNKNOWN_FRAME_TYPE' });
    const error2 = nextEvent(client, 'error');
    conn.send({ t: 'error', error: { code: 'INVALID_ACK', message: 'bad ack' } });
    expect(await error2).toMatchObject({ code: 'INVALID_ACK', message: 'bad ack' });
    expect(client.state.status).toBe('connected');
  });

  it('fails at once on a WebSocket that cannot be created', async () => {
    await using server = await startFakeServer();
    const client = clientOf(server, { url: 'not a url' });
    const error = nextEvent(client, 'error');
    await expect(client.connect()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(await error).toBeInstanceOf(Error);
    expect(client.state).toMatchObject({ status: 'failed', code: 1006 });
  });
});

describe('tokens', () => {
  it('calls the provider on every attempt and sends the token in hello', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    let n = 0;
    const client = clientOf(server, { clock, token: async () => `tok${++n}` });
    await client.connect();
    const first = await server.nextConnection();
    expect(await first.next('hello')).toMatchObject({ token: 'tok1' });
    first.close(1012, 'restart');
    await reach(client, 'reconnecting');
    await clock.advance(750);
    expect(await (await server.nextConnection()).next('hello')).toMatchObject({ token: 'tok2' });
  });

  it('can carry the token as a subprotocol entry or in the query string instead', async () => {
    await using server = await startFakeServer();
    const sub = clientOf(server, { token: 'abc', tokenTransport: 'subprotocol' });
    await sub.connect();
    const a = await server.nextConnection();
    expect(a.offered).toEqual(['holdfast.v1', 'holdfast.token.abc']);
    expect((await a.next('hello')).token).toBeUndefined();

    const query = clientOf(server, { token: 'a b', tokenTransport: 'query', url: `${server.url}/ws?x=1` });
    await query.connect();
    const b = await server.nextConnection();
    expect(b.url).toBe('/ws?x=1&token=a%20b');
    expect((await b.next('hello')).token).toBeUndefined();
  });

  it('retries when the token provider throws, reporting an error', async () => {
    await using server = await startFakeServer();
    const clock = new ManualClock();
    let fail = true;
    const client = clientOf(server, {
      clock,
      token: () => {
        if (fail) throw new Error('offline');
        return 'ok';
      },
    });
    const error = nextEvent(client, 'error');
    const connected = client.connect();
    expect(await error).toMatchObject({ code: 'UNAUTHORIZED', message: 'Token provider failed' });
    expect(client.state).toMatchObject({ status: 'reconnecting', lastClose: { code: 1006 } });
    fail = false;
    await clock.advance(750);
    await connected;
  });

  it('refreshes the token in-band before it expires, without reconnecting', async () => {
    const clock = new ManualClock();
    const expiresAt = clock.now() + 60_000;
    await using server = await startExpiringServer(expiresAt);
    let n = 0;
    const client = clientOf(server, { clock, token: () => `tok${++n}` });
    await client.connect();
    const conn = await server.nextConnection();

    await clock.advance(29_999);
    expect(n).toBe(1);
    await clock.advance(1);
    const refresh = await conn.next('refresh');
    expect(refresh.token).toBe('tok2');
    conn.send({ t: 'res', id: refresh.id, ok: true, result: { expiresAt: expiresAt + 60_000 } });

    // The next refresh follows the new expiry; a refused one is an error event, not a disconnect.
    await clock.advance(59_999);
    expect(n).toBe(2);
    await clock.advance(1);
    const second = await conn.next('refresh');
    const error = nextEvent(client, 'error');
    conn.send({ t: 'res', id: second.id, ok: false, error: { code: 'UNAUTHORIZED', message: 'expired' } });
    expect(await error).toMatchObject({ code: 'UNAUTHORIZED' });
    expect(client.state.status).toBe('connected');
    expect(server.connections).toHaveLength(1);
  });

  it('reports a throwing provider during refresh as an error and stays connected', async () => {
    const clock = new ManualClock();
    await using server = await startFakeServer({
      welcome: () => ({ limits: { ...DEFAULT_LIMITS, tokenExpiresAt: clock.now() + 40_000 } }),
    });
    let n = 0;
    const client = clientOf(server, {
      clock,
      refreshBeforeMs: 10_000,
      token: () => {
        if (++n > 1) throw new Error('nope');
        return 'tok';
      },
    });
    await client.connect();
    const error = nextEvent(client, 'error');
    await clock.advance(30_000);
    expect(await error).toMatchObject({ code: 'UNAUTHORIZED', message: 'Token refresh failed' });
    expect(client.state.status).toBe('connected');
  });
});
