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
    /** Extension `appends`: an AI answer, token by token (text concatenation). */
    answer: z.string(),
    /** Extension `appends`: an agent run, step by step (a declared fold). */
    run: z.object({ steps: z.array(z.string()) }),
  },
  requests: {
    add: { request: z.object({ a: z.number(), b: z.number() }), response: z.number() },
    bad: { request: z.object({}), response: z.string() },
  },
  appends: {
    answer: { delta: z.string().max(1000) },
    run: {
      delta: z.object({ step: z.string() }),
      fold: (run: { steps: string[] }, d: { step: string }) => ({ steps: [...run.steps, d.step] }),
    },
  },
});
export type App = typeof app;
