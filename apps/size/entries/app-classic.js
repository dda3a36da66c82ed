// The typical app of app-mini.js with its schemas in classic zod (the app's choice: not tree-shakable).
import { createClient } from '@holdfast/client';
import { defineProtocol } from '@holdfast/protocol';
import { z } from 'zod';
import { useChat } from './use-chat.js';

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

await useChat(createClient({ url: '/ws', protocol: chat }));
