import * as z from 'zod/mini';

// The wire's constants, field rules and field schemas, shared by the schemas of both
// directions (frames.ts, server-frames.ts). The field schemas are not part of the package's API.

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
export const ascii = (max: number) =>
  z.string().check(z.minLength(1), z.maxLength(max), z.regex(visibleAscii));
export const printable = (max: number) =>
  z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(max),
      z.regex(noControl),
      z.refine(noLoneSurrogate, { message: 'Invalid string: lone surrogate' }),
    );
export const id = ascii(WireLimits.idLength);
export const appType = ascii(WireLimits.typeLength);
export const room = printable(WireLimits.roomLength);
export const stream = printable(WireLimits.streamLength);
export const epoch = ascii(WireLimits.epochLength);
export const secret = ascii(WireLimits.secretLength);
export const token = ascii(WireLimits.tokenLength);
/** Stream offsets: integers from 0 to 2^53 - 1. 0 means "before the first message". */
export const offset = z.int().check(z.nonnegative());
export const timestamp = z.int().check(z.nonnegative());
export const version = z.int().check(z.minimum(1), z.maximum(65535));
