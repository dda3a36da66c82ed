import { defineProtocol } from '@holdfast/protocol';
import { z } from 'zod';

/** The app protocol the server and Redis engine suites share (messages, server messages, requests). */
export const app = defineProtocol({
  client: {
    say: z.object({ room: z.string().min(1), text: z.string().max(200) }),
    note: z.object({ n: z.int() }),
    boom: z.object({ kind: z.enum(['plain', 'typed']) }),
    pulled: z.object({ v: z.string() }),
  },
  server: {
    said: z.object({ from: z.string(), text: z.string() }),
    tick: z.object({ n: z.int() }),
    typing: z.object({ user: z.string() }),
  },
  requests: {
    add: { request: z.object({ a: z.number(), b: z.number() }), response: z.number() },
    bad: { request: z.object({}), response: z.string() },
  },
});
export type App = typeof app;
