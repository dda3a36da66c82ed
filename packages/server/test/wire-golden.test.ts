/**
 * The exact bytes of every frame the server writes, captured over real sockets with a manual
 * clock, counted ids and a fixed engine epoch. Any change here is a change on the wire.
 */

import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import { ManualClock } from '@holdfast/testkit';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type AuthRequest, type IdSource, MemoryEngine } from '../src/index.js';
import { defer, startServer } from './support/fixture.js';

/** Counted ids and secrets: the same run gives the same bytes. */
function countedIds(): IdSource {
  let n = 0;
  return { id: (prefix) => `${prefix}${++n}`, secret: () => `secret${++n}` };
}

/** A socket that keeps every text frame exactly as received. */
class Tap {
  readonly texts: string[] = [];
  private waiters: { pred: (s: string) => boolean; resolve: (s: string) => void }[] = [];
  readonly ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  constructor(url: string) {
    this.ws = new WebSocket(url, ['holdfast.v1']);
    this.ws.on('error', () => {});
    this.ws.on('message', (data) => {
      const s = String(data);
      this.texts.push(s);
      for (const w of [...this.waiters])
        if (w.pred(s)) {
          this.waiters.splice(this.waiters.indexOf(w), 1);
          w.resolve(s);
        }
    });
    this.closed = new Promise((resolve) =>
      this.ws.on('close', (code, r) => resolve({ code, reason: String(r) })),
    );
    defer(async () => this.ws.terminate());
  }
  static async open(url: string): Promise<Tap> {
    const t = new Tap(url);
    await new Promise((r) => t.ws.once('open', r));
    return t;
  }
  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }
  /** Frames already returned by `next`. */
  private taken = 0;
  /** The first frame, after those already taken, that contains `needle` (waits for it). */
  next(needle: string): Promise<string> {
    const take = (s: string): string => {
      this.taken = this.texts.indexOf(s, this.taken) + 1;
      return s;
    };
    const found = this.texts.slice(this.taken).find((s) => s.includes(needle));
    if (found) return Promise.resolve(take(found));
    return new Promise<string>((resolve) =>
      this.waiters.push({ pred: (s) => s.includes(needle), resolve: (s) => resolve(take(s)) }),
    );
  }
}

async function golden() {
  const clock = new ManualClock(1_700_000_000_000);
  const engine = new MemoryEngine({
    clock,
    epoch: 'E',
    retention: { maxMessages: 2, maxBytes: 2 ** 30, maxAgeMs: 3_600_000 },
  });
  const { server, url } = await startServer({
    clock,
    ids: countedIds(),
    engine,
    authorizeJoin: ({ room }) => room !== 'closed',
    heartbeat: { intervalMs: 1000, timeoutMs: 60_000 },
    // Every presence event on the wire, none merged (coalescing has its own tests).
    presenceIntervalMs: 0,
    sweepIntervalMs: 10,
    authenticate: ({ token }: AuthRequest) =>
      token === 'bad'
        ? null
        : { user: token?.startsWith('u:') ? token.slice(2) : 'alice', expiresAt: 1_700_000_600_000 },
  });
  server.handle('add', ({ a, b }) => a + b);
  server.handle('note', () => undefined);
  server.handle('bad', () => 42 as unknown as string);
  server.handle('boom', ({ kind }) => {
    if (kind === 'typed') throw new HoldfastError(ErrorCode.Forbidden, 'typed refusal');
    throw new Error('plain');
  });
  return { clock, engine, server, url };
}

describe('the wire, byte for byte', () => {
  it('welcome, res, error, sub, presence, msg, vol, gap, ping, pong and refresh frames', async () => {
    const { clock, engine, server, url } = await golden();
    const out: string[] = [];

    const a = await Tap.open(url);
    a.send({ t: 'hello', version: 1, token: 'u:alice' });
    out.push(await a.next('"welcome"'));
    const welcome = JSON.parse(out[0]!) as { sessionId: string; resumeToken: string };

    // Requests and messages: ok with and without a result, every error shape of `res`.
    a.send({ t: 'pub', id: 'p1', type: 'add', data: { a: 1, b: 2 } });
    out.push(await a.next('"p1"'));
    a.send({ t: 'pub', id: 'p2', type: 'note', data: { n: 1 } });
    out.push(await a.next('"p2"'));
    a.send({ t: 'pub', id: 'p3', type: 'note', data: { n: 'x' } });
    out.push(await a.next('"p3"'));
    a.send({ t: 'pub', id: 'p4', type: 'pulled', data: { v: 'x' } });
    out.push(await a.next('"p4"'));
    a.send({ t: 'pub', id: 'p5', type: 'boom', data: { kind: 'typed' } });
    out.push(await a.next('"p5"'));
    a.send({ t: 'pub', id: 'p6', type: 'boom', data: { kind: 'plain' } });
    out.push(await a.next('"p6"'));
    a.send({ t: 'pub', id: 'p7', type: 'bad', data: {} });
    out.push(await a.next('"p7"'));
    // A duplicate is answered with the stored res.
    a.send({ t: 'pub', id: 'p1', type: 'add', data: { a: 1, b: 2 } });
    out.push(await a.next('"p1"'));

    // Ping / pong both ways.
    a.send({ t: 'ping', ts: 5 });
    out.push(await a.next('"pong","ts":5'));
    a.send({ t: 'ping' });
    out.push(await a.next('{"t":"pong"}'));
    clock.advance(1000);
    out.push(await a.next('"ping"'));

    // Rooms: join (sub + res), refused join, presence of a second member, msg, vol, leave.
    a.send({ t: 'join', id: 'j1', room: 'r' });
    out.push(await a.next('"sub"'));
    out.push(await a.next('"j1"'));
    a.send({ t: 'join', id: 'j2', room: 'closed' });
    out.push(await a.next('"j2"'));
    const b = await Tap.open(url);
    b.send({ t: 'hello', version: 1, token: 'u:bob' });
    await b.next('"welcome"');
    b.send({ t: 'join', id: 'j3', room: 'r' });
    await b.next('"j3"');
    out.push(await a.next('"presence"'));
    await server.sendToRoom('r', 'said', { from: 'bob', text: 'hi' });
    out.push(await a.next('"msg"'));
    await server.sendToRoom('r', 'typing', { user: 'bob' }, { volatile: true });
    out.push(await a.next('"vol"'));
    await server.sendToSession(welcome.sessionId, 'tick', { n: 1 });
    out.push(await a.next('"tick"'));

    // The stream's history lost while connected: a gap frame, then the message.
    engine.forget('room:r');
    await server.sendToRoom('r', 'said', { from: 'bob', text: 'after' });
    out.push(await a.next('"gap"'));
    out.push(await a.next('"after"'));

    // Acks: a valid one is silent, an invalid one gets an error frame.
    a.send({ t: 'ack', cursors: [{ stream: 'room:r', epoch: 'nope', offset: 1 }] });
    a.send({ t: 'ack', cursors: [{ stream: 'room:zz', epoch: 'E0', offset: 1 }] });
    out.push(await a.next('"INVALID_ACK"'));

    // Refresh: ok, refused, another user.
    a.send({ t: 'refresh', id: 'f1', token: 'u:alice' });
    out.push(await a.next('"f1"'));
    a.send({ t: 'refresh', id: 'f2', token: 'bad' });
    out.push(await a.next('"f2"'));
    a.send({ t: 'refresh', id: 'f3', token: 'u:mallory' });
    out.push(await a.next('"f3"'));

    a.send({ t: 'leave', id: 'l1', room: 'r' });
    out.push(await a.next('"sub"'));
    out.push(await a.next('"l1"'));
    out.push(await b.next('"leave"'));

    // A second hello: error frame, then close.
    a.send({ t: 'hello', version: 1 });
    out.push(await a.next('"error"'));
    out.push(JSON.stringify(await a.closed));

    // Resume with the cursors: recovered streams and the missed messages replayed.
    await server.sendToSession(welcome.sessionId, 'tick', { n: 2 });
    const a2 = await Tap.open(url);
    a2.send({
      t: 'hello',
      version: 1,
      token: 'u:alice',
      resume: { sessionId: welcome.sessionId, resumeToken: welcome.resumeToken, cursors: [] },
    });
    out.push(await a2.next('"welcome"'));
    out.push(await a2.next('"n":2'));

    // A failed resume: a new session, its three streams once each, a gap at the head for a
    // stream the client held (other cursors are not echoed).
    const c = await Tap.open(url);
    c.send({
      t: 'hello',
      version: 1,
      resume: {
        sessionId: 's_gone',
        resumeToken: 'x',
        cursors: [
          { stream: 'room:r', epoch: 'E0', offset: 3 },
          { stream: 'user:alice', epoch: 'E9', offset: 3 },
        ],
      },
    });
    out.push(await c.next('"welcome"'));
    // A wrong resume token: `expired`, like an unknown session.
    const f = await Tap.open(url);
    f.send({
      t: 'hello',
      version: 1,
      resume: { sessionId: welcome.sessionId, resumeToken: 'wrong', cursors: [] },
    });
    out.push(await f.next('"welcome"'));

    // Undecodable and early frames: error frames.
    const d = await Tap.open(url);
    d.send('{"t":"nonsense"}');
    out.push(await d.next('"error"'));
    out.push(JSON.stringify(await d.closed));
    const e = await Tap.open(url);
    e.send({ t: 'pub', id: 'x', type: 'add', data: { a: 1, b: 2 } });
    out.push(await e.next('"error"'));
    out.push(JSON.stringify(await e.closed));

    expect(out).toMatchInlineSnapshot(`
      [
        "{"t":"welcome","version":1,"sessionId":"s_3","resumeToken":"secret2","resumed":false,"user":"alice","streams":[{"stream":"session:s_3","epoch":"E0","offset":0,"status":"new"},{"stream":"user:alice","epoch":"E0","offset":0,"status":"new"},{"stream":"broadcast","epoch":"E0","offset":0,"status":"new"}],"extensions":["appends","rewind"],"heartbeat":{"intervalMs":1000,"timeoutMs":60000},"limits":{"maxPayload":65536,"maxRooms":100,"messagesPerSecond":100,"burst":200,"tokenExpiresAt":1700000600000}}",
        "{"t":"res","id":"p1","ok":true,"result":3}",
        "{"t":"res","id":"p2","ok":true}",
        "{"t":"res","id":"p3","ok":false,"error":{"code":"VALIDATION_FAILED","message":"Invalid \\"note\\" message","issues":[{"path":["n"],"message":"Invalid input: expected number, received string"}]}}",
        "{"t":"res","id":"p4","ok":false,"error":{"code":"NO_HANDLER","message":"No handler for \\"pulled\\""}}",
        "{"t":"res","id":"p5","ok":false,"error":{"code":"FORBIDDEN","message":"typed refusal"}}",
        "{"t":"res","id":"p6","ok":false,"error":{"code":"HANDLER_ERROR","message":"Handler for \\"boom\\" failed"}}",
        "{"t":"res","id":"p7","ok":false,"error":{"code":"HANDLER_ERROR","message":"Handler for \\"bad\\" returned an invalid response"}}",
        "{"t":"res","id":"p1","ok":true,"result":3}",
        "{"t":"pong","ts":5}",
        "{"t":"pong"}",
        "{"t":"ping","ts":1700000001000}",
        "{"t":"sub","op":"join","room":"r","stream":"room:r","epoch":"E0","offset":0}",
        "{"t":"res","id":"j1","ok":true,"result":{"stream":"room:r","epoch":"E0","offset":0}}",
        "{"t":"res","id":"j2","ok":false,"error":{"code":"FORBIDDEN","message":"Not allowed to join this room"}}",
        "{"t":"presence","room":"r","event":"join","user":"bob","sessions":1}",
        "{"t":"msg","stream":"room:r","epoch":"E0","offset":1,"type":"said","data":{"from":"bob","text":"hi"},"ts":1700000001000}",
        "{"t":"vol","stream":"room:r","type":"typing","data":{"user":"bob"},"ts":1700000001000}",
        "{"t":"msg","stream":"session:s_3","epoch":"E0","offset":1,"type":"tick","data":{"n":1},"ts":1700000001000}",
        "{"t":"gap","stream":"room:r","epoch":"E1","from":1,"to":0,"reason":"epoch"}",
        "{"t":"msg","stream":"room:r","epoch":"E1","offset":1,"type":"said","data":{"from":"bob","text":"after"},"ts":1700000001000}",
        "{"t":"error","error":{"code":"INVALID_ACK","message":"Invalid ack","issues":[{"path":["cursors",0,"stream"],"message":"not subscribed to this stream"}]}}",
        "{"t":"res","id":"f1","ok":true,"result":{"expiresAt":1700000600000}}",
        "{"t":"res","id":"f2","ok":false,"error":{"code":"UNAUTHORIZED","message":"Token refused"}}",
        "{"t":"res","id":"f3","ok":false,"error":{"code":"FORBIDDEN","message":"Token is for another user"}}",
        "{"t":"sub","op":"leave","room":"r","stream":"room:r"}",
        "{"t":"res","id":"l1","ok":true}",
        "{"t":"presence","room":"r","event":"leave","user":"alice","sessions":0}",
        "{"t":"error","error":{"code":"UNEXPECTED_FRAME","message":"second hello"}}",
        "{"code":4400,"reason":"Protocol error: second hello"}",
        "{"t":"welcome","version":1,"sessionId":"s_3","resumeToken":"secret2","resumed":true,"user":"alice","streams":[{"stream":"session:s_3","epoch":"E0","offset":0,"status":"recovered"},{"stream":"user:alice","epoch":"E0","offset":0,"status":"recovered"},{"stream":"broadcast","epoch":"E0","offset":0,"status":"recovered"}],"extensions":["appends","rewind"],"heartbeat":{"intervalMs":1000,"timeoutMs":60000},"limits":{"maxPayload":65536,"maxRooms":100,"messagesPerSecond":100,"burst":200,"tokenExpiresAt":1700000600000}}",
        "{"t":"msg","stream":"session:s_3","epoch":"E0","offset":2,"type":"tick","data":{"n":2},"ts":1700000001000}",
        "{"t":"welcome","version":1,"sessionId":"s_10","resumeToken":"secret9","resumed":false,"resumeError":"expired","user":"alice","streams":[{"stream":"session:s_10","epoch":"E0","offset":0,"status":"new"},{"stream":"user:alice","epoch":"E0","offset":0,"status":"gap","reason":"expired"},{"stream":"broadcast","epoch":"E0","offset":0,"status":"new"}],"extensions":["appends","rewind"],"heartbeat":{"intervalMs":1000,"timeoutMs":60000},"limits":{"maxPayload":65536,"maxRooms":100,"messagesPerSecond":100,"burst":200,"tokenExpiresAt":1700000600000}}",
        "{"t":"welcome","version":1,"sessionId":"s_13","resumeToken":"secret12","resumed":false,"resumeError":"expired","user":"alice","streams":[{"stream":"session:s_13","epoch":"E0","offset":0,"status":"new"},{"stream":"user:alice","epoch":"E0","offset":0,"status":"new"},{"stream":"broadcast","epoch":"E0","offset":0,"status":"new"}],"extensions":["appends","rewind"],"heartbeat":{"intervalMs":1000,"timeoutMs":60000},"limits":{"maxPayload":65536,"maxRooms":100,"messagesPerSecond":100,"burst":200,"tokenExpiresAt":1700000600000}}",
        "{"t":"error","error":{"code":"UNKNOWN_FRAME_TYPE","message":"Unknown frame type \\"nonsense\\""}}",
        "{"code":4400,"reason":"Protocol error: UNKNOWN_FRAME_TYPE"}",
        "{"t":"error","error":{"code":"UNEXPECTED_FRAME","message":"\\"pub\\" before welcome"}}",
        "{"code":4400,"reason":"Protocol error: expected hello"}",
      ]
    `);
  });

  it('the error frame of a message whose handled-record could not be stored', async () => {
    class Failing extends MemoryEngine {
      override get handledSync() {
        return {
          get: () => undefined,
          put: () => {
            throw new Error('disk full');
          },
        };
      }
    }
    const { url, server } = await startServer({ engine: new Failing({ epoch: 'E' }), ids: countedIds() });
    server.handle('add', ({ a, b }) => a + b);
    const a = await Tap.open(url);
    a.send({ t: 'hello', version: 1 });
    await a.next('"welcome"');
    a.send({ t: 'pub', id: 'p1', type: 'add', data: { a: 1, b: 2 } });
    expect(await a.next('"error"')).toMatchInlineSnapshot(
      `"{"t":"error","id":"p1","error":{"code":"UNAVAILABLE","message":"Could not record the message; it will be retried"}}"`,
    );
  });
});
