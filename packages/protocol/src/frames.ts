import * as z from 'zod/mini';

/** The protocol version this package speaks (sent in `hello.version`). */
export const PROTOCOL_VERSION = 1;
/** Every protocol version this package can speak. */
export const SUPPORTED_VERSIONS: readonly number[] = [1];
/** The WebSocket subprotocol naming this protocol version. */
export const SUBPROTOCOL = 'holdfast.v1';
/** Prefix of the optional subprotocol entry that carries a token: `holdfast.token.<token>`. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'holdfast.token.';

/** Size limits of fields on the wire. Anything larger is a `STRING_TOO_LONG`/`ARRAY_TOO_LONG`. */
export const WireLimits = {
  /** Client message ids and request ids. */
  idLength: 64,
  /** App message type names. */
  typeLength: 64,
  /** Room names. */
  roomLength: 128,
  /** Stream names (`room:<name>` etc.). */
  streamLength: 160,
  /** Epoch strings. */
  epochLength: 32,
  /** Session ids and resume tokens. */
  secretLength: 128,
  /** Auth tokens (JWTs). */
  tokenLength: 8192,
  /** Cursors in one `hello` or `ack`. */
  cursors: 1024,
  /** Error messages. */
  messageLength: 1024,
  /** Nesting depth of `data`. */
  depth: 64,
  /** Messages one `join` may ask to rewind (extension `rewind`). */
  rewind: 10_000,
  /** Entries of `welcome.extensions`. */
  extensions: 32,
} as const;

// Printable, no control characters (C0, DEL, C1), no lone surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
const noControl = /^[^\u0000-\u001f\u007f-\u009f]*$/;
const visibleAscii = /^[\x21-\x7e]+$/;
const noLoneSurrogate = (s: string) => s.isWellFormed();

/**
 * The `id` rule of the schemas as a plain predicate (1–64 visible ASCII characters), for code
 * that checks a frame by hand on a hot path and must agree with the schema.
 */
export function isWireId(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= WireLimits.idLength &&
    visibleAscii.test(value)
  );
}

/** The `type` rule of the schemas as a plain predicate (1–64 visible ASCII characters). */
export function isWireType(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= WireLimits.typeLength &&
    visibleAscii.test(value)
  );
}

/** The `stream` rule of the schemas as a plain predicate (1–160 characters, no control characters, well-formed). */
export function isWireStream(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length > 0 &&
    value.length <= WireLimits.streamLength &&
    noControl.test(value) &&
    noLoneSurrogate(value)
  );
}

// Built with `zod/mini`: its functions tree-shake, so an app whose own schemas use `zod/mini`
// ships no classic zod at all. Each check below is the one the classic method of the same name
// adds (`.min()` on strings and arrays is `z.minLength()`, on numbers `z.minimum()`...), in the
// same order, so issues and messages are exactly those of the classic schemas.
const ascii = (max: number) => z.string().check(z.minLength(1), z.maxLength(max), z.regex(visibleAscii));
const printable = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(max),
      z.regex(noControl),
      z.refine(noLoneSurrogate, { message: 'Invalid string: lone surrogate' }),
    );
const id = ascii(WireLimits.idLength);
const appType = ascii(WireLimits.typeLength);
const room = printable(WireLimits.roomLength);
const stream = printable(WireLimits.streamLength);
const epoch = ascii(WireLimits.epochLength);
const secret = ascii(WireLimits.secretLength);
const token = ascii(WireLimits.tokenLength);
/** Stream offsets: integers from 0 to 2^53 - 1. 0 means "before the first message". */
const offset = z.int().check(z.nonnegative());
const timestamp = z.int().check(z.nonnegative());
const message = z.string().check(z.maxLength(WireLimits.messageLength));
const version = z.int().check(z.minimum(1), z.maximum(65535));
const user = z.string().check(z.maxLength(256));
const gapReason = z.enum(['retention', 'epoch', 'expired', 'forbidden', 'unknown']);

/** A position in one stream: the last message the client holds. */
export const CursorSchema = z.object({ stream, epoch, offset });

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

/** Schema for each frame type of either direction, for O(1) lookup by `t`. */
export const FRAME_SCHEMAS: ReadonlyMap<string, z.ZodMiniType> = /* @__PURE__ */ new Map<
  string,
  z.ZodMiniType
>([...CLIENT_FRAME_SCHEMAS, ...SERVER_FRAME_SCHEMAS]);

/** The optional extensions of v1 this package speaks, as announced in `welcome.extensions`. */
export const EXTENSIONS = ['appends', 'rewind'] as const;

/** Stream names: `session:<id>`, `user:<id>`, `room:<name>`, and `broadcast`. */
export const Streams = {
  /** The direct stream of one session. */
  session: (sessionId: string) => `session:${sessionId}`,
  /** The stream of all sessions of one user. */
  user: (userId: string) => `user:${userId}`,
  /** The stream of one room. */
  room: (name: string) => `room:${name}`,
  /** The stream every session receives. */
  broadcast: 'broadcast',
  /** The room name of a `room:` stream, or undefined. */
  roomOf: (streamName: string): string | undefined =>
    streamName.startsWith('room:') ? streamName.slice(5) : undefined,
} as const;
