import { defineProtocol } from '@holdfast/protocol';
import { describe, expectTypeOf, it } from 'vitest';
import * as z from 'zod/mini';
import { createClient, type HoldfastClient } from '../src/index.js';

// An app protocol written with zod/mini types the client exactly as one in classic zod.
const chat = defineProtocol({
  client: { say: z.object({ room: z.string(), text: z.string().check(z.maxLength(280)) }) },
  server: { said: z.object({ room: z.string(), text: z.string(), at: z.optional(z.number()) }) },
  requests: { history: { request: z.object({ room: z.string() }), response: z.array(z.string()) } },
});

describe('client typed by a zod/mini protocol', () => {
  const client = createClient({ url: 'ws://x', protocol: chat });

  it('infers the client and its listeners', () => {
    expectTypeOf(client).toEqualTypeOf<HoldfastClient<typeof chat>>();
    client.on('said', (data) => {
      expectTypeOf(data).toEqualTypeOf<{ room: string; text: string; at?: number | undefined }>();
    });
    // @ts-expect-error: not a server message
    client.on('say', () => {});
  });

  it('types send() and request()', () => {
    void client.send('say', { room: 'a', text: 'hi' });
    // @ts-expect-error: text must be a string
    void client.send('say', { room: 'a', text: 1 });
    expectTypeOf(client.request('history', { room: 'a' })).toEqualTypeOf<Promise<string[]>>();
  });
});
