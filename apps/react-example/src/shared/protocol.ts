import { defineProtocol } from '@holdfast/protocol';
// zod/mini: its functions tree-shake, so the web bundle carries only the zod it uses.
import * as z from 'zod/mini';

/** A room name as the example allows it. */
export const RoomName = z
  .string()
  .check(z.minLength(1), z.maxLength(40), z.regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes'));

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
    say: z.object({
      room: RoomName,
      text: z.string().check(z.trim(), z.minLength(1, 'say something'), z.maxLength(280)),
    }),
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
        steps: z.int().check(z.minimum(1), z.maximum(500)),
        intervalMs: z.int().check(z.minimum(0), z.maximum(2000)),
      }),
      response: z.object({ job: z.string(), total: z.int() }),
    },
  },
});
export type Example = typeof example;
