/**
 * Every error Holdfast raises or sends carries a stable string `code` from this table.
 * The codes are part of the public contract: they never change meaning, and the full
 * list lives in docs/PROTOCOL.md ("Error codes").
 */
export const ErrorCode = {
  // --- decoding a frame (ProtocolError) ---
  /** The frame is not valid JSON text. */
  InvalidJson: 'INVALID_JSON',
  /** The frame arrived as a binary WebSocket message; Holdfast speaks text only. */
  BinaryFrame: 'BINARY_FRAME',
  /** The frame is larger than the allowed number of bytes. */
  FrameTooLarge: 'FRAME_TOO_LARGE',
  /** The JSON is valid but not an object (an array, a string, a number, null). */
  NotAnObject: 'NOT_AN_OBJECT',
  /** The object has no `t` field. */
  MissingFrameType: 'MISSING_FRAME_TYPE',
  /** `t` is not a string. */
  InvalidFrameType: 'INVALID_FRAME_TYPE',
  /** `t` names no frame of this protocol (or none valid in this direction). */
  UnknownFrameType: 'UNKNOWN_FRAME_TYPE',
  /** A field has the wrong JSON type (or a required field is missing). */
  InvalidFieldType: 'INVALID_FIELD_TYPE',
  /** A number that must be an integer is fractional. */
  NotAnInteger: 'NOT_AN_INTEGER',
  /** A number is negative, too large (offsets above 2^53 - 1) or otherwise out of range. */
  NumberOutOfRange: 'NUMBER_OUT_OF_RANGE',
  /** A string is longer than its field allows. */
  StringTooLong: 'STRING_TOO_LONG',
  /** A string that must not be empty is empty. */
  StringTooShort: 'STRING_TOO_SHORT',
  /** A string does not match its field's format (control characters, bad characters). */
  InvalidFormat: 'INVALID_FORMAT',
  /** A field holds a value outside its enumeration (e.g. an unknown `op`). */
  InvalidValue: 'INVALID_VALUE',
  /** An array is longer than its field allows. */
  ArrayTooLong: 'ARRAY_TOO_LONG',
  /** The payload nests deeper than the allowed depth. */
  TooDeep: 'TOO_DEEP',
  /** The payload contains a `__proto__` or `constructor` key anywhere. */
  ForbiddenKey: 'FORBIDDEN_KEY',
  /** Any other schema violation. */
  InvalidFrame: 'INVALID_FRAME',

  // --- application level (HoldfastError, sent in `res` and `error` frames) ---
  /** The message's data failed the app schema from defineProtocol(). */
  ValidationFailed: 'VALIDATION_FAILED',
  /** The message type is not declared in the app protocol. */
  UnknownMessageType: 'UNKNOWN_MESSAGE_TYPE',
  /** No handler is registered for a declared message type. */
  NoHandler: 'NO_HANDLER',
  /** The handler threw; the message is still acknowledged as handled (once). */
  HandlerError: 'HANDLER_ERROR',
  /** The action is not allowed for this session (e.g. a join refused by authorizeJoin). */
  Forbidden: 'FORBIDDEN',
  /** Authentication failed or the token expired. */
  Unauthorized: 'UNAUTHORIZED',
  /** A per-connection or per-session limit was reached (rooms per session, ...). */
  LimitExceeded: 'LIMIT_EXCEEDED',
  /** The connection sends faster than its rate limit. */
  RateLimited: 'RATE_LIMITED',
  /** A frame arrived that is not allowed in the current connection state. */
  UnexpectedFrame: 'UNEXPECTED_FRAME',
  /** An ack named a stream the session is not subscribed to or an offset it was never sent. */
  InvalidAck: 'INVALID_ACK',
  /**
   * The message was handled (once), but its answer was too large for the server to keep for a
   * resend (`limits.dedupeBytes`); a resend of its id gets this instead of the answer.
   */
  AnswerNotKept: 'ANSWER_NOT_KEPT',
  /** The server could not complete the operation (storage unavailable, ...). Retry later. */
  Unavailable: 'UNAVAILABLE',
  /**
   * Server-side API (extension `appends`): an append to a growing message that is not open any
   * more (ended, dropped by retention, or its stream's epoch changed).
   */
  MessageClosed: 'MESSAGE_CLOSED',
  /** An internal error on the server; details are logged, never sent. */
  Internal: 'INTERNAL',

  // --- client side only ---
  /** A send or request got no answer in time. */
  Timeout: 'TIMEOUT',
  /** The client's offline outbox is full (by count or bytes). */
  OutboxOverflow: 'OUTBOX_OVERFLOW',
  /** The client was closed by the app or failed terminally before the answer came. */
  ClientClosed: 'CLIENT_CLOSED',
  /** The message is larger than the server's announced maxPayload. */
  MessageTooBig: 'MESSAGE_TOO_BIG',
  /** The server does not offer what was asked (an optional extension it does not list in `welcome`). */
  Unsupported: 'UNSUPPORTED',
} as const;

/** A stable Holdfast error code, one of {@link ErrorCode}'s values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

// ErrorCode's values as a plain list, for fromBody: a browser bundle that uses the codes as
// literals (the client does) keeps this list but not the table (its names). `satisfies` refuses
// a code the table lacks; test/errors.test.ts checks that every code of the table is here.
const CODES = [
  'INVALID_JSON',
  'BINARY_FRAME',
  'FRAME_TOO_LARGE',
  'NOT_AN_OBJECT',
  'MISSING_FRAME_TYPE',
  'INVALID_FRAME_TYPE',
  'UNKNOWN_FRAME_TYPE',
  'INVALID_FIELD_TYPE',
  'NOT_AN_INTEGER',
  'NUMBER_OUT_OF_RANGE',
  'STRING_TOO_LONG',
  'STRING_TOO_SHORT',
  'INVALID_FORMAT',
  'INVALID_VALUE',
  'ARRAY_TOO_LONG',
  'TOO_DEEP',
  'FORBIDDEN_KEY',
  'INVALID_FRAME',
  'VALIDATION_FAILED',
  'UNKNOWN_MESSAGE_TYPE',
  'NO_HANDLER',
  'HANDLER_ERROR',
  'FORBIDDEN',
  'UNAUTHORIZED',
  'LIMIT_EXCEEDED',
  'RATE_LIMITED',
  'UNEXPECTED_FRAME',
  'INVALID_ACK',
  'ANSWER_NOT_KEPT',
  'UNAVAILABLE',
  'MESSAGE_CLOSED',
  'INTERNAL',
  'TIMEOUT',
  'OUTBOX_OVERFLOW',
  'CLIENT_CLOSED',
  'MESSAGE_TOO_BIG',
  'UNSUPPORTED',
] as const satisfies readonly ErrorCode[];

/** The codes a {@link ProtocolError} can carry: problems decoding or encoding a frame. */
export type ProtocolErrorCode =
  | 'INVALID_JSON'
  | 'BINARY_FRAME'
  | 'FRAME_TOO_LARGE'
  | 'NOT_AN_OBJECT'
  | 'MISSING_FRAME_TYPE'
  | 'INVALID_FRAME_TYPE'
  | 'UNKNOWN_FRAME_TYPE'
  | 'INVALID_FIELD_TYPE'
  | 'NOT_AN_INTEGER'
  | 'NUMBER_OUT_OF_RANGE'
  | 'STRING_TOO_LONG'
  | 'STRING_TOO_SHORT'
  | 'INVALID_FORMAT'
  | 'INVALID_VALUE'
  | 'ARRAY_TOO_LONG'
  | 'TOO_DEEP'
  | 'FORBIDDEN_KEY'
  | 'INVALID_FRAME';

/** One problem found while validating: where (a JSON path) and what. */
export interface Issue {
  /** Path into the validated value, e.g. `['cursors', 0, 'offset']`. */
  path: (string | number)[];
  /** Human-readable description, safe to show (contains no input values). */
  message: string;
}

/**
 * Base class of every error Holdfast throws, rejects with or sends over the wire.
 *
 * @example
 * ```ts
 * try { await client.send('chat', data) } catch (e) {
 *   if (e instanceof HoldfastError && e.code === 'VALIDATION_FAILED') showInline(e.issues)
 * }
 * ```
 */
export class HoldfastError extends Error {
  // `declare`d: set by the constructor (in this order, before `name`, as field definitions would be).
  /** Stable machine-readable code. */
  declare readonly code: ErrorCode;
  /** Validation issues, when the error is about invalid data. */
  declare readonly issues: Issue[] | undefined;
  /** Extra fields that are safe to send to the peer (e.g. `retryAfterMs`). */
  declare readonly details: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { cause?: unknown; issues?: Issue[]; details?: Record<string, unknown> } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues;
    this.details = options.details;
    this.name = 'HoldfastError';
  }

  /** The JSON body used in `res` and `error` frames. Never includes the cause or a stack. */
  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.issues) body.issues = this.issues;
    if (this.details) body.details = this.details;
    return body;
  }

  /** Rebuild an error received in a frame. */
  static fromBody(body: ErrorBody): HoldfastError {
    const code = (CODES as readonly string[]).includes(body.code) ? (body.code as ErrorCode) : 'INTERNAL';
    return new HoldfastError(code, body.message, {
      issues: body.issues || undefined,
      details: body.details || undefined,
    });
  }
}

/** The wire shape of an error (in `res` with `ok: false`, and in `error` frames). */
export interface ErrorBody {
  code: string;
  message: string;
  issues?: Issue[];
  details?: Record<string, unknown>;
}

/**
 * A frame could not be decoded or encoded. `decode()` returns these instead of throwing.
 *
 * @example
 * ```ts
 * const r = decode(text, 'client');
 * if (!r.ok) console.log(r.error.code); // e.g. 'UNKNOWN_FRAME_TYPE'
 * ```
 */
export class ProtocolError extends HoldfastError {
  declare readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string, options: { cause?: unknown; issues?: Issue[] } = {}) {
    super(code, message, options);
    this.name = 'ProtocolError';
  }
}
