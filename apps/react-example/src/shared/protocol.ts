import { defineProtocol } from '@holdfast/protocol';
// Classic zod: on this commit defineProtocol's schema type is classic zod's ZodType, which
// zod/mini schemas do not satisfy. Switch to `import * as z from 'zod/mini'` once it accepts them.
import { z } from 'zod';

/** A room name as the example allows it. */
export const RoomName = z
  .string()
  .min(1)
  .max(40)
  .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes');

/** A chat line as broadcast to the room. */
export const ChatLine = z.object({
  id: z.string(),
  room: z.string(),
  from: z.string(),
  text: z.string(),
  at: z.number(),
});
export type ChatLine = z.infer<typeof ChatLine>;

/** The example's protocol, shared by its server and its React UI. */
export const example = defineProtocol({
  client: {
    say: z.object({ room: RoomName, text: z.string().trim().min(1, 'say something').max(280) }),
  },
  server: {
    said: ChatLine,
    /** A step of a job, broadcast to the room that started it. */
    progress: z.object({ room: z.string(), job: z.string(), by: z.string(), done: z.int(), total: z.int() }),
  },
  requests: {
    members: {
      request: z.object({ room: RoomName }),
      response: z.array(z.object({ user: z.string(), sessions: z.int() })),
    },
    startJob: {
      request: z.object({
        room: RoomName,
        steps: z.int().min(1).max(500),
        intervalMs: z.int().min(0).max(2000),
      }),
      response: z.object({ job: z.string(), total: z.int() }),
    },
  },
});
export type Example = typeof example;
