// The app's protocol, declared once and shared by its server and its clients.
import { defineProtocol } from '@holdfast/protocol';
import { z } from 'zod';

export const chat = defineProtocol({
  client: { say: z.object({ room: z.string().min(1), text: z.string().max(500) }) },
  server: { said: z.object({ room: z.string(), from: z.string(), text: z.string() }) },
  requests: { history: { request: z.object({ room: z.string() }), response: z.array(z.string()) } },
});
