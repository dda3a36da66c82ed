// A small app as a team would write it against the published packages: Holdfast on an Express
// server with JWT auth and metrics, a Node client that joins a room, sends a message, makes a
// request, is disconnected and resumes without losing the message sent meanwhile.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type ClientEvents, createClient, tokenRefresh } from '@holdfast/client';
import { createServer, statsHandler } from '@holdfast/server';
import { jwtAuthenticator } from '@holdfast/server/jwt';
import { metricsHandler } from '@holdfast/server/metrics';
import express from 'express';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { chat } from './protocol.js';

const secret = 'a-secret-long-enough-for-hs256-signatures';
const history: string[] = [];

const app = express();
const http = app.listen(0, '127.0.0.1');
await once(http, 'listening');
const hf = createServer({
  protocol: chat,
  server: http,
  authenticate: jwtAuthenticator({ secret, audience: 'chat' }),
  authorizeJoin: ({ room }) => room === 'general',
});
app.get('/metrics', metricsHandler(hf));
app.get('/stats', statsHandler(hf));
hf.handle('say', async ({ room, text }, ctx) => {
  history.push(text);
  await hf.sendToRoom(room, 'said', { room, from: ctx.user, text });
});
hf.handle('history', ({ room }) => (room === 'general' ? history : []));

const { port } = http.address() as AddressInfo;
const token = () =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('ada')
    .setAudience('chat')
    .setExpirationTime('10m')
    .sign(new TextEncoder().encode(secret));
const client = createClient({
  url: hf.url(),
  protocol: chat,
  token,
  plugins: [tokenRefresh],
  WebSocket,
  reconnect: { initialDelayMs: 10, minDelayMs: 10 },
});
const said: string[] = [];
client.on('said', (msg, meta) => {
  assert.equal(meta.room, 'general');
  said.push(`${msg.from}: ${msg.text}`);
});
const until = (check: () => boolean, what: string) =>
  new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + 10_000;
    const poll = () =>
      check()
        ? resolve()
        : Date.now() > deadline
          ? reject(new Error(`timed out: ${what}`))
          : setTimeout(poll, 5);
    poll();
  });
const nextWelcome = () =>
  new Promise<Parameters<ClientEvents['welcome']>[0]>((resolve) => {
    const off = client.events.on('welcome', (w) => {
      off();
      resolve(w);
    });
  });

// A room message and a request.
await client.connect();
await client.join('general');
await client.send('say', { room: 'general', text: 'hello' });
await until(() => said.length === 1, 'the room message');
const lines: string[] = await client.request('history', { room: 'general' });
assert.deepEqual(lines, ['hello']);

// A reconnect: the server drops the connection (the session stays), sends while the client is
// away, and the client resumes the same session and gets the message it missed.
const sessionId = client.state.status === 'connected' ? client.state.sessionId : assert.fail('not connected');
const welcome = nextWelcome();
await hf.disconnect(sessionId, { end: false });
await hf.sendToRoom('general', 'said', { room: 'general', from: 'server', text: 'while you were away' });
const w = await welcome;
assert.equal(w.resumed, true);
assert.equal(w.sessionId, sessionId);
await until(() => said.length === 2, 'the missed message');
assert.deepEqual(said, ['ada: hello', 'server: while you were away']);

// The optional entries work when their peers are installed.
const metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text());
assert.match(metrics, /holdfast_resumes_total 1/);
assert.match(metrics, /holdfast_handler_duration_seconds_count\{type="say",outcome="ok"\} 1/);
assert.match(metrics, /holdfast_request_duration_seconds_count\{type="history"\} 1/);
assert.match(metrics, /holdfast_replay_duration_seconds_count 2/);
const stats = (await fetch(`http://127.0.0.1:${port}/stats`).then((r) => r.json())) as { sessions: number };
assert.equal(stats.sessions, 1);

client.close();
await hf.close();
http.close();
console.log('consumer app: ok');
