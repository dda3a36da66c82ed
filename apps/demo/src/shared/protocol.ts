import { defineProtocol } from '@holdfast/protocol';
// zod/mini: its functions tree-shake, so the web bundle carries only the zod it uses.
import * as z from 'zod/mini';

/** A room name as the demo allows it. */
export const RoomName = z
  .string()
  .check(z.minLength(1), z.maxLength(40), z.regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes'));

/** A chat line as stored and broadcast. */
export const ChatLine = z.object({
  id: z.string(),
  room: z.string(),
  from: z.string(),
  text: z.string(),
  nonce: z.optional(z.string().check(z.maxLength(64))),
  at: z.number(),
});
export type ChatLine = z.infer<typeof ChatLine>;

const positive = z.int().check(z.positive());

/** Events of a simulated agent run (the seeds' streaming reasoning / multi-agent progress). */
export const AgentEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('started'), runId: z.string(), total: positive, task: z.string() }),
  z.object({ kind: z.literal('plan'), runId: z.string(), steps: z.array(z.string()).check(z.maxLength(10)) }),
  z.object({
    kind: z.literal('step'),
    runId: z.string(),
    index: positive,
    total: positive,
    agent: z.string(),
    thought: z.string(),
    confidence: z.number().check(z.minimum(0), z.maximum(1)),
    costUsd: z.number().check(z.nonnegative()),
  }),
  z.object({ kind: z.literal('final'), runId: z.string(), answer: z.string(), totalCostUsd: z.number() }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

/** The demo's app protocol, shared by its server and its web UI. */
export const demo = defineProtocol({
  client: {
    say: z.object({
      room: RoomName,
      text: z.string().check(z.trim(), z.minLength(1, 'say something'), z.maxLength(280)),
      nonce: z.string().check(z.maxLength(64)),
    }),
    typing: z.object({ room: RoomName }),
  },
  server: {
    said: ChatLine,
    agent: AgentEvent,
    typing: z.object({ room: z.string(), user: z.string() }),
    /** After a resume: the offsets the replay covers per stream (`from`..`to` inclusive). */
    resumed: z.object({
      streams: z.array(z.object({ stream: z.string(), from: z.int(), to: z.int() })).check(z.maxLength(4096)),
    }),
  },
  requests: {
    startRun: {
      request: z.object({
        steps: z.int().check(z.minimum(1), z.maximum(2000)),
        intervalMs: z.int().check(z.minimum(5), z.maximum(5000)),
        task: z.string().check(z.maxLength(200)),
      }),
      response: z.object({ runId: z.string() }),
    },
    members: {
      request: z.object({ room: RoomName }),
      response: z.array(z.object({ user: z.string(), sessions: z.int() })),
    },
  },
});
export type Demo = typeof demo;
