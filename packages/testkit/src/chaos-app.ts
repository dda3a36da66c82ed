import { defineProtocol } from '@holdfast/protocol';
import { z } from 'zod';

/**
 * The app protocol of the chaos suite, shared by its in-process servers and its child
 * server processes (which load the built testkit). `tick.s` names the logical stream a
 * message belongs to and `n` its number in it, so the receiver can check exactly-once and
 * order per message id `${s}#${n}`.
 */
export const chaosApp = defineProtocol({
  client: {
    note: z.object({ c: z.string().min(1).max(64), k: z.int().nonnegative(), pad: z.string().optional() }),
    say: z.object({ room: z.string().min(1).max(128), text: z.string().max(200) }),
  },
  server: {
    tick: z.object({ s: z.string(), n: z.int(), pad: z.string().optional() }),
    said: z.object({ from: z.string(), text: z.string() }),
    /** Extension `appends` (§10): a growing text, one token per delta. */
    answer: z.string(),
  },
  requests: {
    echo: { request: z.object({ n: z.int() }), response: z.int() },
  },
  appends: { answer: { delta: z.string() } },
});

/** The type of {@link chaosApp}. */
export type ChaosApp = typeof chaosApp;
