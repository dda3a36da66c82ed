import { defineProtocol } from '@holdfast/protocol';
import { describe, expectTypeOf, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import {
  type ConnectionState,
  createClient,
  type GrowingMeta,
  type HoldfastClient,
  type JoinResult,
  type MessageMeta,
  type StateChange,
  type Unsubscribe,
  type WebSocketConstructor,
} from '../src/index.js';
import { type App, app } from './support/app.js';

declare const client: HoldfastClient<App>;

describe('inferred client API', () => {
  it('infers the client type from the protocol option', () => {
    expectTypeOf(createClient({ url: 'ws://x', protocol: app, WebSocket })).toEqualTypeOf<
      HoldfastClient<App>
    >();
  });

  it('types on() listeners from the server messages', () => {
    const off = client.on('said', (data, meta) => {
      expectTypeOf(data).toEqualTypeOf<{ text: string }>();
      expectTypeOf(meta).toEqualTypeOf<MessageMeta>();
    });
    expectTypeOf(off).toEqualTypeOf<Unsubscribe>();
    client.on('tick', (data) => expectTypeOf(data.n).toEqualTypeOf<number>());
    // @ts-expect-error: not a server message
    client.on('nope', () => {});
    // @ts-expect-error: a client message is not a server message
    client.on('say', () => {});
    // @ts-expect-error: lifecycle events are on client.events
    client.on('state', () => {});
    // @ts-expect-error: wrong data type in the listener
    client.on('said', (data: { text: number }) => data);
  });

  it('types growing messages: the folded value, and meta with the delta type (extension appends)', () => {
    client.on('answer', (text, meta) => {
      expectTypeOf(text).toEqualTypeOf<string>();
      expectTypeOf(meta).toEqualTypeOf<GrowingMeta<string>>();
      expectTypeOf(meta.delta).toEqualTypeOf<string | undefined>();
      expectTypeOf(meta.done).toEqualTypeOf<boolean>();
      expectTypeOf(meta.key).toEqualTypeOf<string>();
    });
    client.on('run', (run, meta) => {
      expectTypeOf(run).toEqualTypeOf<{ steps: string[] }>();
      expectTypeOf(meta.start).toEqualTypeOf<number>();
    });
    // Plain types keep the plain meta.
    client.on('tick', (_, meta) => {
      // @ts-expect-error: no key on a plain message
      meta.key;
    });
  });

  it('types join() options and result', () => {
    expectTypeOf(client.join('r', { rewind: { count: 10, ageMs: 60_000 } })).toEqualTypeOf<
      Promise<JoinResult>
    >();
    // @ts-expect-error: a count is a number
    client.join('r', { rewind: { count: '10' } });
  });

  it('types send() data from the client messages', () => {
    expectTypeOf(client.send('say', { text: 'hi' })).toEqualTypeOf<Promise<unknown>>();
    client.send('blob', { data: 'x' }, { timeoutMs: 10 });
    // @ts-expect-error: wrong field type
    client.send('say', { text: 1 });
    // @ts-expect-error: missing field
    client.send('say', {});
    // @ts-expect-error: a server message cannot be sent
    client.send('said', { text: 'x' });
  });

  it('types send() of a request from its declared response', () => {
    expectTypeOf(client.send('echo', { text: 'x' })).toEqualTypeOf<
      Promise<{ text: string; length: number }>
    >();
    // @ts-expect-error: request data is checked as with request()
    client.send('echo', { text: 2 });
  });

  it('types request() data and response', () => {
    expectTypeOf(client.request('echo', { text: 'a' })).toEqualTypeOf<
      Promise<{ text: string; length: number }>
    >();
    // @ts-expect-error: wrong request data
    client.request('echo', { text: 2 });
    // @ts-expect-error: not a request
    client.request('say', { text: 'a' });
  });

  it('uses zod input types for what the app writes and output types for what it reads', () => {
    const p = defineProtocol({
      client: { hit: z.object({ n: z.number().default(1) }) },
      server: { at: z.object({ when: z.string().transform((s) => new Date(s)) }) },
      requests: { now: { request: z.object({}), response: z.string().transform((s) => s.length) } },
    });
    const c = createClient({ url: 'ws://x', protocol: p });
    c.send('hit', {});
    c.on('at', (data) => expectTypeOf(data.when).toEqualTypeOf<Date>());
    expectTypeOf(c.request('now', {})).toEqualTypeOf<Promise<number>>();
  });

  it('types lifecycle events on client.events, separate from app messages', () => {
    const off = client.events.on('state', (change) => {
      expectTypeOf(change).toEqualTypeOf<StateChange>();
    });
    expectTypeOf(off).toEqualTypeOf<Unsubscribe>();
    client.events.on('gap', (gap) => expectTypeOf(gap.stream).toEqualTypeOf<string>());
    client.events.on('error', (e) => expectTypeOf(e).toEqualTypeOf<Error>());
    // @ts-expect-error: app messages are not lifecycle events
    client.events.on('said', () => {});
  });

  it('narrows the state union by status', () => {
    const s: ConnectionState = client.state;
    if (s.status === 'reconnecting') {
      expectTypeOf(s.delayMs).toEqualTypeOf<number>();
      expectTypeOf(s.lastClose).toEqualTypeOf<{ code: number; reason: string }>();
    }
    if (s.status === 'failed') expectTypeOf(s.code).toEqualTypeOf<number>();
    // @ts-expect-error: only reconnecting has retryAt
    s.retryAt;
  });

  it('accepts the ws and the DOM WebSocket classes', () => {
    expectTypeOf(WebSocket).toExtend<WebSocketConstructor>();
    expectTypeOf(globalThis.WebSocket).toExtend<WebSocketConstructor>();
  });
});
