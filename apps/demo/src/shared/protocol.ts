import { defineProtocol } from '@holdfast/protocol';
import { z } from 'zod';

/** A room name as the demo allows it. */
export const RoomName = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes');

/** A chat line as stored and broadcast. */
export const ChatLine = z.object({
  id: z.string(),
  room: z.string(),
  from: z.string(),
  text: z.string(),
  nonce: z.string().max(64).optional(),
  at: z.number(),
});
export type ChatLine = z.infer<typeof ChatLine>;

/** Events of a simulated agent run (the seeds' streaming reasoning / multi-agent progress). */
export const AgentEvent = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('started'), runId: z.string(), total: z.int().positive(), task: z.string() }),
  z.object({ kind: z.literal('plan'), runId: z.string(), steps: z.array(z.string()).max(10) }),
  z.object({
    kind: z.literal('step'),
    runId: z.string(),
    index: z.int().positive(),
    total: z.int().positive(),
    agent: z.string(),
    thought: z.string(),
    confidence: z.number().min(0).max(1),
    costUsd: z.number().nonnegative(),
  }),
  z.object({ kind: z.literal('final'), runId: z.string(), answer: z.string(), totalCostUsd: z.number() }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;

/** The demo's app protocol, shared by its server and its web UI. */
export const demo = defineProtocol({
  client: {
    say: z.object({
      room: RoomName,
      text: z.string().trim().min(1, 'say something').max(280),
      nonce: z.string().max(64),
    }),
    typing: z.object({ room: RoomName }),
  },
  server: {
    said: ChatLine,
    agent: AgentEvent,
    typing: z.object({ room: z.string(), user: z.string() }),
  },
  requests: {
    startRun: {
      request: z.object({
        steps: z.int().min(1).max(2000),
        intervalMs: z.int().min(0).max(5000),
        task: z.string().max(200),
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
