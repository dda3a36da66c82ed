// A typical browser app (issue 17's: client + protocol + a few app schemas in zod/mini): a chat
// protocol with zod/mini schemas, a client, and its use. app-mini-storage.js adds persistence.
import { createClient } from '@holdfast/client';
import { defineProtocol } from '@holdfast/protocol';
import * as z from 'zod/mini';

const room = z.string().check(z.minLength(1), z.maxLength(40), z.regex(/^[a-z0-9-]+$/));
const line = z.object({ id: z.string(), room, from: z.string(), text: z.string(), at: z.number() });
const chat = defineProtocol({
  client: { say: z.object({ room, text: z.string().check(z.maxLength(280)) }), typing: z.object({ room }) },
  server: { said: line, typing: z.object({ room, user: z.string() }) },
  requests: { history: { request: z.object({ room }), response: z.array(line) } },
});

const client = createClient({ url: '/ws', protocol: chat });
client.on('said', (data, meta) => console.log(data.text, meta.offset));
client.events.on('state', ({ next }) => console.log(next.status));
await client.connect();
await client.join('lobby');
await client.send('say', { room: 'lobby', text: 'hi' });
console.log(await client.request('history', { room: 'lobby' }));
