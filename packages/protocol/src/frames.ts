import * as z from 'zod/mini';
import { appType, epoch, id, offset, room, secret, stream, timestamp, token, version } from './fields.js';
import { WireLimits } from './wire.js';

// The schemas of client frames (what clients encode and servers decode) and of the frames both
// sides send. The server's frames are in server-frames.ts: a browser client, which decodes them
// with lenient.ts, bundles none of them.

/** A position in one stream: the last message the client holds. */
export const CursorSchema = z.object({ stream, epoch, offset });
// ---------------------------------------------------------------- client -> server

/** First frame on every connection: version, optional token, optional resume. */
export const HelloSchema = z.object({
  t: z.literal('hello'),
  version,
  token: z.optional(token),
  resume: z.optional(
    z.object({
      sessionId: secret,
      resumeToken: secret,
      cursors: z.array(CursorSchema).check(z.maxLength(WireLimits.cursors)),
      /**
       * Extension `appends` (docs/PROTOCOL.md §10.4): the client holds no state of its streams'
       * open messages (it was reloaded from persistence); the server sends their snapshots.
       */
      snapshots: z.optional(z.boolean()),
    }),
  ),
});

/** A client-to-server app message (or request), identified by a client-made id. */
export const PubSchema = z.object({
  t: z.literal('pub'),
  id,
  type: appType,
  data: z.optional(z.unknown()),
});

/** Cumulative acknowledgement of the last message the client holds, per stream. */
export const AckSchema = z.object({
  t: z.literal('ack'),
  cursors: z.array(CursorSchema).check(z.minLength(1), z.maxLength(WireLimits.cursors)),
});

/**
 * Extension `rewind` (docs/PROTOCOL.md §10.5): how much of a room's retained past a `join`
 * asks for, by count of messages and/or age. The server may cap or refuse it.
 */
export const RewindSchema = z.object({
  count: z.optional(z.int().check(z.minimum(1), z.maximum(WireLimits.rewind))),
  ageMs: z.optional(z.int().check(z.minimum(1))),
});

/** The client asks to join a room (optionally with its recent past); answered by `res` with the same id. */
export const JoinSchema = z.object({ t: z.literal('join'), id, room, rewind: z.optional(RewindSchema) });
/** The client asks to leave a room; answered by `res` with the same id. */
export const LeaveSchema = z.object({ t: z.literal('leave'), id, room });
/** A new token, in-band, without reconnecting; answered by `res`. */
export const RefreshSchema = z.object({ t: z.literal('refresh'), id, token });

// ---------------------------------------------------------------- both directions

/** Application-level ping (browsers cannot see protocol pings). Answer with `pong`. */
export const PingSchema = z.object({ t: z.literal('ping'), ts: z.optional(timestamp) });
/** Answer to `ping`, echoing its `ts`. */
export const PongSchema = z.object({ t: z.literal('pong'), ts: z.optional(timestamp) });
/** Frame types a client may send. */
export const CLIENT_FRAME_TYPES = [
  'hello',
  'pub',
  'ack',
  'join',
  'leave',
  'refresh',
  'ping',
  'pong',
] as const;
/** Frame types a server may send. */
export const SERVER_FRAME_TYPES = [
  'welcome',
  'msg',
  'app',
  'vol',
  'res',
  'sub',
  'presence',
  'gap',
  'error',
  'ping',
  'pong',
] as const;
/**
 * Schema of each frame type a client sends, by `t` (what servers decode and clients encode).
 * Apart from the server's, so a bundle that only decodes one direction drops the other's schemas.
 */
export const CLIENT_FRAME_SCHEMAS: ReadonlyMap<string, z.ZodMiniType> = /* @__PURE__ */ new Map<
  string,
  z.ZodMiniType
>([
  ['hello', HelloSchema],
  ['pub', PubSchema],
  ['ack', AckSchema],
  ['join', JoinSchema],
  ['leave', LeaveSchema],
  ['refresh', RefreshSchema],
  ['ping', PingSchema],
  ['pong', PongSchema],
]);
