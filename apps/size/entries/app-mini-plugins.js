// The typical app of app-mini.js with both plugins (and the token provider tokenRefresh calls):
// what the size test expects them to add to its bundle.
import { appends, createClient, tokenRefresh } from '@holdfast/client';
import { defineProtocol } from '@holdfast/protocol';
import * as z from 'zod/mini';

const room = z.string().check(z.minLength(1), z.maxLength(40), z.regex(/^[a-z0-9-]+$/));
const line = z.object({ id: z.string(), room, from: z.string(), text: z.string(), at: z.number() });
const chat = defineProtocol({
  client: { say: z.object({ room, text: z.string().check(z.maxLength(280)) }), typing: z.object({ room }) },
  server: { said: line, typing: z.object({ room, user: z.string() }) },
  requests: { history: { request: z.object({ room }), response: z.array(line) } },
});

const client = createClient({
  url: '/ws',
  protocol: chat,
  token: () => fetch('/token').then((r) => r.text()),
  plugins: [appends, tokenRefresh],
});
client.on('said', (data, meta) => console.log(data.text, meta.offset));
client.events.on('state', ({ next }) => console.log(next.status));
await client.connect();
await client.join('lobby');
await client.send('say', { room: 'lobby', text: 'hi' });
console.log(await client.request('history', { room: 'lobby' }));
