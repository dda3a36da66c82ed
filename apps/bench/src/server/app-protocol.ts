import { defineProtocol } from '@holdfast/protocol';
import { z } from 'zod';

const tick = z.object({
  ch: z.string().max(64),
  id: z.int().nonnegative(),
  ts: z.number(),
  text: z.string().max(256),
});
const echo = z.object({ seq: z.int().nonnegative(), text: z.string().max(256) });

/** The app protocol of the Holdfast target: a 150-byte tick the server sends, an echo request. */
export const benchProtocol = defineProtocol({
  server: { tick },
  requests: { echo: { request: echo, response: echo } },
});
