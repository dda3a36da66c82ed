// The wire's constants, field rules as plain predicates, and stream names: no zod, so a bundle
// that only needs these (a browser client) leaves the schemas out (bundlers keep the top-level
// schema calls of any module they include). fields.ts builds the field schemas from the same rules.

/** The protocol version this package speaks (sent in `hello.version`). */
export const PROTOCOL_VERSION = 1;
/** Every protocol version this package can speak. */
export const SUPPORTED_VERSIONS: readonly number[] = [1];
/** The WebSocket subprotocol naming this protocol version. */
export const SUBPROTOCOL = 'holdfast.v1';
/** Prefix of the optional subprotocol entry that carries a token: `holdfast.token.<token>`. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'holdfast.token.';

// The limits the protocol's own code checks, as constants a bundler inlines (a bundle that uses
// a few of them does not carry the `WireLimits` table and its names). `WireLimits` is made of them.
export const ID_LENGTH = 64;
export const TYPE_LENGTH = 64;
export const ROOM_LENGTH = 128;
export const STREAM_LENGTH = 160;
export const EPOCH_LENGTH = 32;
export const SECRET_LENGTH = 128;
export const TOKEN_LENGTH = 8192;
export const MAX_CURSORS = 1024;
export const MAX_DEPTH = 64;
export const MAX_REWIND = 10_000;

/** Size limits of fields on the wire. Anything larger is a `STRING_TOO_LONG`/`ARRAY_TOO_LONG`. */
export const WireLimits = {
  /** Client message ids and request ids. */
  idLength: ID_LENGTH,
  /** App message type names. */
  typeLength: TYPE_LENGTH,
  /** Room names. */
  roomLength: ROOM_LENGTH,
  /** Stream names (`room:<name>` etc.). */
  streamLength: STREAM_LENGTH,
  /** Epoch strings. */
  epochLength: EPOCH_LENGTH,
  /** Session ids and resume tokens. */
  secretLength: SECRET_LENGTH,
  /** Auth tokens (JWTs). */
  tokenLength: TOKEN_LENGTH,
  /** Cursors in one `hello` or `ack`. */
  cursors: MAX_CURSORS,
  /** Error messages. */
  messageLength: 1024,
  /** Nesting depth of `data`. */
  depth: MAX_DEPTH,
  /** Messages one `join` may ask to rewind (extension `rewind`). */
  rewind: MAX_REWIND,
  /** Entries of `welcome.extensions`. */
  extensions: 32,
} as const;

// The character rules (fields.ts builds the schemas' regex checks from the same expressions).
// Printable, no control characters (C0, DEL, C1), no lone surrogates.
// biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
export const noControl = /^[^\u0000-\u001f\u007f-\u009f]*$/;
export const visibleAscii = /^[\x21-\x7e]+$/;
export const noLoneSurrogate = (s: string) => s.isWellFormed();

/**
 * The `id` rule of the schemas as a plain predicate (1–64 visible ASCII characters), for code
 * that checks a frame by hand on a hot path and must agree with the schema.
 */
export function isWireId(value: unknown): value is string {
  return isAscii(value, ID_LENGTH);
}

/** The `type` rule of the schemas as a plain predicate (1–64 visible ASCII characters). */
export function isWireType(value: unknown): value is string {
  return isAscii(value, TYPE_LENGTH);
}

/** The `stream` rule of the schemas as a plain predicate (1–160 characters, no control characters, well-formed). */
export function isWireStream(value: unknown): value is string {
  return isPrintable(value, STREAM_LENGTH);
}

/** The `room` rule of the schemas as a plain predicate (1–128 characters, no control characters, well-formed). */
export function isWireRoom(value: unknown): value is string {
  return isPrintable(value, ROOM_LENGTH);
}

/** The `token` rule of the schemas as a plain predicate (1–8192 visible ASCII characters). */
export function isWireToken(value: unknown): value is string {
  return isAscii(value, TOKEN_LENGTH);
}

/** 1 to `max` visible ASCII characters (ids, types, epochs, secrets, tokens). */
export const isAscii = (value: unknown, max: number): value is string =>
  typeof value === 'string' && value.length > 0 && value.length <= max && visibleAscii.test(value);
/** 1 to `max` characters, no control characters, well-formed (rooms, streams). */
export const isPrintable = (value: unknown, max: number): value is string =>
  typeof value === 'string' &&
  value.length > 0 &&
  value.length <= max &&
  noControl.test(value) &&
  noLoneSurrogate(value);

/**
 * The stream of room `name` (`Streams.room`, as a function of its own: a bundle that imports it
 * alone leaves the rest of `Streams` out).
 *
 * @example
 * ```ts
 * roomStream('lobby'); // 'room:lobby'
 * ```
 */
export const roomStream = (name: string): string => `room:${name}`;

/**
 * The room name of a `room:` stream, or undefined (`Streams.roomOf`, as a function of its own).
 *
 * @example
 * ```ts
 * roomOfStream('room:lobby'); // 'lobby'
 * roomOfStream('user:u1'); // undefined
 * ```
 */
export const roomOfStream = (streamName: string): string | undefined =>
  streamName.startsWith('room:') ? streamName.slice(5) : undefined;

/** Stream names: `session:<id>`, `user:<id>`, `room:<name>`, and `broadcast`. */
export const Streams = {
  /** The direct stream of one session. */
  session: (sessionId: string) => `session:${sessionId}`,
  /** The stream of all sessions of one user. */
  user: (userId: string) => `user:${userId}`,
  /** The stream of one room. */
  room: roomStream,
  /** The stream every session receives. */
  broadcast: 'broadcast',
  /** The room name of a `room:` stream, or undefined. */
  roomOf: roomOfStream,
} as const;
