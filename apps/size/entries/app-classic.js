// The typical app of app-mini.js with its schemas in classic zod (the app's choice: not tree-shakable).
import { createClient } from '@holdfast/client';
import { defineProtocol } from '@holdfast/protocol';
import { z } from 'zod';

const room = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9-]+$/);
const line = z.object({ id: z.string(), room, from: z.string(), text: z.string(), at: z.number() });
const chat = defineProtocol({
  client: { say: z.object({ room, text: z.string().max(280) }), typing: z.object({ room }) },
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
