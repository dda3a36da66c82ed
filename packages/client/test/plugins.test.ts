import { defineProtocol } from '@holdfast/protocol';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { createClient } from '../src/index.js';
import { app, clientOf, nextEvent, reach } from './support/app.js';
import { ManualClock } from './support/clock.js';
import { startExpiringServer, startFakeServer } from './support/fake-server.js';

/** A protocol with no appendable type: a client of it needs no plugin. */
const plain = defineProtocol({ server: { said: z.object({ text: z.string() }) } });

describe('plugin appends', () => {
  it('is required by a protocol that declares appends: createClient throws a TypeError naming them', () => {
    const make = () =>
      createClient({ url: 'ws://127.0.0.1:1/ws', protocol: app, WebSocket, environment: null });
    expect(make).toThrow(TypeError);
    expect(make).toThrow('The protocol declares appends (answer, run): add plugin appends');
    expect(() => createClient({ url: 'ws://127.0.0.1:1/ws', protocol: plain, WebSocket })).not.toThrow();
  });

  it('without it, a growing message from the server is an UNSUPPORTED error, never delivered', async () => {
    await using server = await startFakeServer({
      welcome: () => ({ streams: [{ stream: 'user:u', epoch: 'e', offset: 0, status: 'new' }] }),
    });
    const client = createClient({ url: server.url, protocol: plain, WebSocket, environment: null });
    const seen: string[] = [];
    client.on('said', ({ text }) => seen.push(text));
    await client.connect();
    const conn = await server.nextConnection();
    const error = nextEvent(client, 'error');
    conn.send({
      t: 'msg',
      stream: 'user:u',
      epoch: 'e',
      offset: 1,
      type: 'said',
      data: { text: 'a' },
      ts: 1,
      open: true,
    });
    expect(await error).toMatchObject({ code: 'UNSUPPORTED' });
    const delivered = new Promise<void>((resolve) => client.once('said', () => resolve()));
    conn.send({
      t: 'msg',
      stream: 'user:u',
      epoch: 'e',
      offset: 2,
      type: 'said',
      data: { text: 'b' },
      ts: 2,
    });
    await delivered;
    expect(seen).toEqual(['b']);
    client.close();
  });
});

describe('without plugin tokenRefresh', () => {
  it('sends no refresh: the token provider is asked once per connection only', async () => {
    const clock = new ManualClock();
    const expiresAt = clock.now() + 60_000;
    await using server = await startExpiringServer(expiresAt);
    let n = 0;
    const bare = createClient({
      url: server.url,
      protocol: plain,
      WebSocket,
      environment: null,
      clock,
      token: () => `tok${++n}`,
    });
    await bare.connect();
    const conn = await server.nextConnection();
    await clock.advance(59_999);
    conn.send({ t: 'ping', ts: 1 });
    await conn.next('pong');
    expect(n).toBe(1);
    expect(conn.received.map((f) => f.t)).not.toContain('refresh');
    bare.close();
  });

  it('a connection closed 4401 after its welcome reconnects with a new token from the provider and resumes', async () => {
    const clock = new ManualClock();
    await using server = await startFakeServer();
    const tokens: (string | undefined)[] = [];
    let n = 0;
    const client = createClient({
      url: server.url,
      protocol: plain,
      WebSocket,
      environment: null,
      clock,
      random: () => 0.5,
      token: () => `tok${++n}`,
    });
    await client.connect();
    const first = await server.nextConnection();
    const hello1 = await first.next('hello');
    tokens.push(hello1.token);
    const sessionId = client.state.status === 'connected' ? client.state.sessionId : '';
    const backoff = () => clock.advance(client.state.status === 'reconnecting' ? client.state.delayMs : 0);

    first.close(4401, 'token expired');
    await reach(client, 'reconnecting');
    await backoff();
    const second = await server.nextConnection();
    const hello2 = await second.next('hello');
    tokens.push(hello2.token);
    await reach(client, 'connected');
    expect(tokens).toEqual(['tok1', 'tok2']);
    expect(hello2.resume?.sessionId).toBe(sessionId);

    // Refused again before any welcome: terminal, as 4401 always was.
    server.options.welcome = () => false;
    second.close(4401, 'token expired');
    await reach(client, 'reconnecting');
    await backoff();
    const third = await server.nextConnection();
    await third.next('hello');
    third.close(4401, 'invalid token');
    await reach(client, 'failed');
    expect(client.state).toMatchObject({ status: 'failed', code: 4401 });
  });

  it('a fixed token closed 4401 fails: no provider can give a new one', async () => {
    await using server = await startFakeServer();
    const client = createClient({
      url: server.url,
      protocol: plain,
      WebSocket,
      environment: null,
      token: 'fixed',
    });
    await client.connect();
    const conn = await server.nextConnection();
    conn.close(4401, 'token expired');
    await reach(client, 'failed');
    expect(server.connections).toHaveLength(1);
  });
});

describe('with plugin tokenRefresh', () => {
  it('rescues a client whose in-band refresh failed: the 4401 at the expiry reconnects with a new token', async () => {
    const clock = new ManualClock();
    const expiresAt = clock.now() + 60_000;
    await using server = await startExpiringServer(expiresAt);
    let n = 0;
    const client = clientOf(server, { clock, token: () => `tok${++n}` }); // with plugin tokenRefresh
    await client.connect();
    const first = await server.nextConnection();
    await clock.advance(30_000);
    const refresh = await first.next('refresh');
    const refused = nextEvent(client, 'error');
    first.send({ t: 'res', id: refresh.id, ok: false, error: { code: 'UNAUTHORIZED', message: 'no' } });
    expect(await refused).toMatchObject({ code: 'UNAUTHORIZED' });

    first.close(4401, 'token expired');
    await reach(client, 'reconnecting');
    await clock.advance(client.state.status === 'reconnecting' ? client.state.delayMs : 0);
    const second = await server.nextConnection();
    expect((await second.next('hello')).token).toBe('tok3');
    await reach(client, 'connected');
  });
});
