// The typical app's protocol: a chat with a few zod/mini schemas (the app-mini*.js entries share it).
import { defineProtocol } from '@holdfast/protocol';
import * as z from 'zod/mini';

const room = z.string().check(z.minLength(1), z.maxLength(40), z.regex(/^[a-z0-9-]+$/));
const line = z.object({ id: z.string(), room, from: z.string(), text: z.string(), at: z.number() });

/** The chat protocol of the typical app. */
export const chat = defineProtocol({
  client: { say: z.object({ room, text: z.string().check(z.maxLength(280)) }), typing: z.object({ room }) },
  server: { said: line, typing: z.object({ room, user: z.string() }) },
  requests: { history: { request: z.object({ room }), response: z.array(line) } },
});
