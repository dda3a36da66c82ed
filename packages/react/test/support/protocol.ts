import { defineProtocol } from '@holdfast/protocol';
import { z } from 'zod';

/** The protocol of the hook tests: a chat room, a progress stream, a request. */
export const app = defineProtocol({
  client: {
    say: z.object({ room: z.string(), text: z.string().min(1).max(100) }),
  },
  server: {
    said: z.object({ room: z.string(), from: z.string(), text: z.string() }),
    progress: z.object({ job: z.string(), done: z.int(), total: z.int() }),
    notice: z.object({ text: z.string() }),
    /** Appendable (extension `appends`): an answer streamed token by token. */
    answer: z.string(),
  },
  appends: { answer: { delta: z.string() } },
  requests: {
    add: { request: z.object({ a: z.number(), b: z.number() }), response: z.number() },
    members: {
      request: z.object({ room: z.string() }),
      response: z.array(z.object({ user: z.string(), sessions: z.int() })),
    },
  },
});
export type App = typeof app;
