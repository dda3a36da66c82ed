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

/** One step of an agent run (the seeds' streaming reasoning / multi-agent progress). */
export const RunStep = z.object({
  index: positive,
  agent: z.string(),
  thought: z.string(),
  confidence: z.number().check(z.minimum(0), z.maximum(1)),
  costUsd: z.number().check(z.nonnegative()),
});
export type RunStep = z.infer<typeof RunStep>;

/**
 * An agent run as it stands: one message of the run's room that grows by appends (extension
 * `appends`): its plan, its steps, then its answer token by token, then its total cost.
 */
export const Run = z.object({
  runId: z.string(),
  task: z.string(),
  /** Steps the run will take. */
  total: positive,
  /** Tokens of the answer, when complete. */
  tokens: z.int().check(z.nonnegative()),
  plan: z.array(z.string()).check(z.maxLength(10)),
  steps: z.array(RunStep),
  answer: z.string(),
  totalCostUsd: z.optional(z.number()),
  /** Ended before its last step (its session ended, or the server stopped it). */
  stopped: z.optional(z.boolean()),
});
export type Run = z.infer<typeof Run>;

/** One append to a run. */
export const RunDelta = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('plan'), steps: z.array(z.string()).check(z.maxLength(10)) }),
  z.object({ kind: z.literal('step'), step: RunStep }),
  z.object({ kind: z.literal('token'), text: z.string().check(z.maxLength(64)) }),
  z.object({ kind: z.literal('final'), totalCostUsd: z.number(), stopped: z.optional(z.boolean()) }),
]);
export type RunDelta = z.infer<typeof RunDelta>;

/** A run after one more delta (pure: a new object, `run` untouched). */
export function foldRun(run: Run, delta: RunDelta): Run {
  switch (delta.kind) {
    case 'plan':
      return { ...run, plan: delta.steps };
    case 'step':
      return { ...run, steps: [...run.steps, delta.step] };
    case 'token':
      return { ...run, answer: run.answer + delta.text };
    case 'final':
      return {
        ...run,
        totalCostUsd: delta.totalCostUsd,
        ...(delta.stopped ? { stopped: true } : {}),
      };
  }
}

/** The demo's app protocol, shared by its server and its web UI. */
export const demo = defineProtocol({
  client: {
    say: z.object({
      room: RoomName,
      // Messages of their own: the browser client bundles no zod locale ("Invalid input" otherwise).
      text: z
        .string()
        .check(z.trim(), z.minLength(1, 'say something'), z.maxLength(280, 'at most 280 characters')),
      nonce: z.string().check(z.maxLength(64)),
    }),
    typing: z.object({ room: RoomName }),
  },
  server: {
    said: ChatLine,
    run: Run,
    typing: z.object({ room: z.string(), user: z.string() }),
    /** After a resume: the offsets the replay covers per stream (`from`..`to` inclusive). */
    resumed: z.object({
      streams: z.array(z.object({ stream: z.string(), from: z.int(), to: z.int() })).check(z.maxLength(4096)),
    }),
  },
  appends: {
    run: { delta: RunDelta, fold: foldRun },
  },
  requests: {
    startRun: {
      request: z.object({
        steps: z.int().check(z.minimum(1), z.maximum(2000)),
        intervalMs: z.int().check(z.minimum(5), z.maximum(5000)),
        task: z.string().check(z.maxLength(200)),
        /** Tokens of the answer, streamed after the steps. @default 200 */
        tokens: z.optional(z.int().check(z.minimum(0), z.maximum(5000))),
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
