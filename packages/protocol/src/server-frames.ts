import * as z from 'zod/mini';
import { appType, ascii, epoch, id, offset, room, secret, stream, timestamp, version } from './fields.js';
import { CLIENT_FRAME_SCHEMAS, PingSchema, PongSchema } from './frames.js';
import { WireLimits } from './wire.js';

// The exact schemas of server frames: what servers encode (and what `decode` checks). A module of
// its own, so bundles that do not use them (browser clients) leave it out whole: bundlers keep
// the unused schemas of a module they include, as zod's calls are not known to be pure.

const message = z.string().check(z.maxLength(WireLimits.messageLength));
const user = z.string().check(z.maxLength(256));
const gapReason = z.enum(['retention', 'epoch', 'expired', 'forbidden', 'unknown']);

/** Where a frame error or validation problem is. */
export const IssueSchema = z.object({
  path: z.array(z.union([z.string().check(z.maxLength(256)), z.int()])).check(z.maxLength(32)),
  message,
});

/** The body of an error in `res` and `error` frames. */
export const ErrorBodySchema = z.object({
  code: z.string().check(z.minLength(1), z.maxLength(64)),
  message,
  issues: z.optional(z.array(IssueSchema).check(z.maxLength(64))),
  details: z.optional(z.record(z.string().check(z.maxLength(64)), z.unknown())),
});
// ---------------------------------------------------------------- server -> client

/** How a stream fared on (re)connect. */
export const StreamStatusSchema = z.object({
  stream,
  epoch,
  /** The cursor the server delivers after: replay (if any) starts at offset + 1. */
  offset,
  /** `new`: nothing to recover; `recovered`: replay follows; `gap`: history was lost. */
  status: z.enum(['new', 'recovered', 'gap']),
  /** For gaps: the first offset that could not be delivered (inclusive). */
  from: z.optional(offset),
  /** For gaps: the last offset that could not be delivered (inclusive). */
  to: z.optional(offset),
  /** For gaps: why. */
  reason: z.optional(gapReason),
});

/** Answer to `hello`: the session, its secrets, stream statuses, heartbeat and limits. */
export const WelcomeSchema = z.object({
  t: z.literal('welcome'),
  version,
  sessionId: secret,
  resumeToken: secret,
  resumed: z.boolean(),
  /** Why a requested resume did not happen (`expired`, `forbidden`). */
  resumeError: z.optional(z.enum(['expired', 'forbidden'])),
  user: z.optional(user),
  streams: z.array(StreamStatusSchema).check(z.maxLength(4096)),
  /** Optional extensions of v1 the server supports (docs/PROTOCOL.md §10): `appends`, `rewind`. */
  extensions: z.optional(z.array(ascii(64)).check(z.maxLength(WireLimits.extensions))),
  heartbeat: z.object({
    intervalMs: z.int().check(z.positive()),
    timeoutMs: z.int().check(z.positive()),
  }),
  limits: z.object({
    maxPayload: z.int().check(z.positive()),
    maxRooms: z.int().check(z.nonnegative()),
    messagesPerSecond: z.number().check(z.nonnegative()),
    /** Token-bucket size of the frame rate limit (docs/PROTOCOL.md §3); optional for servers before v1's clarification. */
    burst: z.optional(z.number().check(z.nonnegative())),
    tokenExpiresAt: z.optional(timestamp),
  }),
});

/** A retained, ordered server message in a stream. */
export const MsgSchema = z.object({
  t: z.literal('msg'),
  stream,
  epoch,
  offset: offset.check(z.minimum(1)),
  type: appType,
  data: z.optional(z.unknown()),
  ts: timestamp,
  /**
   * Extension `appends` (docs/PROTOCOL.md §10): present on a snapshot, the offset of the `msg`
   * that started the message it replaces (`data` is then the value folded up to `offset`).
   */
  start: z.optional(offset.check(z.minimum(1))),
  /** Extension `appends`: the message is open, `app` frames will follow. */
  open: z.optional(z.literal(true)),
});

/**
 * Extension `appends` (docs/PROTOCOL.md §10): one delta appended to the open message that
 * started at `start`, at its own stream `offset`; `end` closes the message.
 */
export const AppSchema = z.object({
  t: z.literal('app'),
  stream,
  epoch,
  offset: offset.check(z.minimum(1)),
  start: offset.check(z.minimum(1)),
  data: z.optional(z.unknown()),
  end: z.optional(z.literal(true)),
  ts: z.optional(timestamp),
});

/** A volatile (at-most-once, never replayed) server message. */
export const VolSchema = z.object({
  t: z.literal('vol'),
  stream: z.optional(stream),
  type: appType,
  data: z.optional(z.unknown()),
  ts: timestamp,
});

/** The answer to a client frame with an id (`pub`, `join`, `leave`, `refresh`). */
export const ResSchema = z.object({
  t: z.literal('res'),
  id,
  ok: z.boolean(),
  result: z.optional(z.unknown()),
  error: z.optional(ErrorBodySchema),
});

/** The session joined or left a room (by the server's or its own doing). */
export const SubSchema = z.object({
  t: z.literal('sub'),
  op: z.enum(['join', 'leave']),
  room,
  stream,
  epoch: z.optional(epoch),
  /** For joins: the offset the session's cursor starts at. */
  offset: z.optional(offset),
});

/** Someone joined or left a room the session is in (volatile). */
export const PresenceSchema = z.object({
  t: z.literal('presence'),
  room,
  event: z.enum(['join', 'leave']),
  user,
  /** How many of that user's sessions are in the room now. */
  sessions: z.int().check(z.nonnegative()),
});

/** History was lost on a stream while connected (e.g. the store was flushed). */
export const GapSchema = z.object({
  t: z.literal('gap'),
  stream,
  epoch,
  from: offset,
  to: offset,
  reason: gapReason,
});

/**
 * An error not tied to a request's answer; a close may follow. With `id` (code
 * `UNAVAILABLE`): the server could not record that client message, which is not answered;
 * the client resends it after a delay.
 */
export const ErrorFrameSchema = z.object({
  t: z.literal('error'),
  id: z.optional(id),
  error: ErrorBodySchema,
});
/** Schema of each frame type a server sends, by `t` (what clients decode and servers encode). */
export const SERVER_FRAME_SCHEMAS: ReadonlyMap<string, z.ZodMiniType> = /* @__PURE__ */ new Map<
  string,
  z.ZodMiniType
>([
  ['welcome', WelcomeSchema],
  ['msg', MsgSchema],
  ['app', AppSchema],
  ['vol', VolSchema],
  ['res', ResSchema],
  ['sub', SubSchema],
  ['presence', PresenceSchema],
  ['gap', GapSchema],
  ['error', ErrorFrameSchema],
  ['ping', PingSchema],
  ['pong', PongSchema],
]);

const merged = <K, V>(...maps: ReadonlyMap<K, V>[]) => new Map(maps.flatMap((m) => [...m]));

/** Schema for each frame type of either direction, for O(1) lookup by `t`. */
// A pure call whose arguments are plain references: unlike a spread in `new Map([...])`, which
// bundlers must keep (iteration may have effects), it is dropped whole when unused, and with it
// the schemas of the direction a bundle does not decode.
export const FRAME_SCHEMAS: ReadonlyMap<string, z.ZodMiniType> = /* @__PURE__ */ merged(
  CLIENT_FRAME_SCHEMAS,
  SERVER_FRAME_SCHEMAS,
);
