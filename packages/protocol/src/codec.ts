import type * as z from 'zod/mini';
import { safeParse as zSafeParse } from 'zod/mini';
import { type Issue, ProtocolError, type ProtocolErrorCode } from './errors.js';
import { CLIENT_FRAME_SCHEMAS } from './frames.js';
import { checkServerFrame } from './lenient.js';
import { FRAME_SCHEMAS, SERVER_FRAME_SCHEMAS } from './server-frames.js';
import type { ClientFrame, Frame, ServerFrame } from './unions.js';
import { isWireId, isWireType, MAX_DEPTH } from './wire.js';

/** The outcome of {@link decode}: a typed frame or a typed error, never a throw. */
export type DecodeResult<F> = { ok: true; frame: F } | { ok: false; error: ProtocolError };

/** Options of {@link decode}. */
export interface DecodeOptions {
  /**
   * Maximum size of the frame in bytes (UTF-8).
   * @default 65536
   */
  maxBytes?: number;
  /**
   * Maximum nesting depth of the whole frame (the frame object itself is depth 1).
   * @default 64
   */
  maxDepth?: number;
  /**
   * Options passed to zod's `safeParse` of the frame schemas, e.g. {@link ENGLISH_MESSAGES}
   * (what `@holdfast/server` passes). None by default: the messages are then those of the
   * locale the app configured with `z.config()`, or zod's default ones.
   */
  parse?: ParseOptions;
}

/**
 * Options for zod's `safeParse` that the codec and the validators of {@link defineProtocol}
 * accept, e.g. {@link ENGLISH_MESSAGES}.
 */
export type ParseOptions = z.core.ParseContext<z.core.$ZodIssue>;

/** Which peer sent the frame: `'client'` frames are decoded by servers and vice versa. */
export type Direction = 'client' | 'server' | 'any';

/** Frame schemas by `t`: one direction's, or both. */
type Schemas = ReadonlyMap<string, z.ZodMiniType>;

/**
 * How a decoder checks a frame (parsed JSON, `t` a string) by its type: the decoded frame or
 * its error, or undefined when `t` is no frame type it knows.
 */
type Check = (
  frame: Record<string, unknown>,
  t: string,
  options: DecodeOptions,
) => DecodeResult<Frame> | undefined;

/** Keys that must never reach an object the app sees (prototype pollution). */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor']);

const fail = (code: ProtocolErrorCode, message: string, issues?: Issue[]) => ({
  ok: false as const,
  error: new ProtocolError(code, message, { issues }),
});

let encoder: InstanceType<typeof TextEncoder> | undefined; // not `TextEncoder`: compiles without the DOM lib
/**
 * The length of `text` in UTF-8 bytes (what a WebSocket text frame of it carries).
 *
 * @example
 * ```ts
 * utf8Length('héllo'); // 6
 * ```
 */
export function utf8Length(text: string): number {
  encoder ??= new TextEncoder();
  return encoder.encode(text).length;
}

/**
 * Walk a parsed JSON value without recursion (so 100k levels cannot overflow the stack),
 * checking depth and forbidden keys. Returns an error or undefined.
 */
export function checkJsonValue(value: unknown, maxDepth: number): ProtocolError | undefined {
  // Two parallel stacks (values, depths) and only objects pushed: no allocation per value.
  if (typeof value !== 'object' || value === null) return undefined;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const v = values.pop()!;
    const d = depths.pop()!;
    if (d > maxDepth) return new ProtocolError('TOO_DEEP', `Nesting deeper than ${maxDepth} levels`);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (typeof child === 'object' && child !== null) {
          values.push(child);
          depths.push(d + 1);
        }
      }
    } else {
      // JSON.parse makes plain objects: for-in sees exactly their own keys (even "__proto__").
      for (const key in v) {
        if (FORBIDDEN_KEYS.has(key)) {
          return new ProtocolError('FORBIDDEN_KEY', `Forbidden key "${key}"`);
        }
        const child: unknown = (v as Record<string, unknown>)[key];
        if (typeof child === 'object' && child !== null) {
          values.push(child);
          depths.push(d + 1);
        }
      }
    }
  }
  return undefined;
}

/**
 * A `pub` frame checked by hand, as `PubSchema` would: the most frequent client frame with a
 * body, so it skips the schema machinery. Undefined when anything is off, and the schema then
 * reports exactly what.
 */
function quickPub(value: Record<string, unknown>): Frame | undefined {
  const { id, type, data } = value;
  let keys = 0;
  for (const _ in value) keys += 1;
  if (!isWireId(id) || !isWireType(type)) return undefined;
  // Exactly the schema's keys: the parsed object is the frame (the schema would only copy it).
  if (keys === (data === undefined ? 3 : 4)) return value as Frame;
  return (data === undefined ? { t: 'pub', id, type } : { t: 'pub', id, type, data }) as Frame;
}

function isBinary(raw: unknown): boolean {
  return (
    raw instanceof ArrayBuffer ||
    ArrayBuffer.isView(raw) ||
    (Array.isArray(raw) && raw.length > 0 && raw.every(ArrayBuffer.isView))
  );
}

/**
 * zod's `safeParse` with `options` used only for a failure's messages. V8 runs a `safeParse`
 * given a non-empty context (such as {@link ENGLISH_MESSAGES}) about 20x slower than one given
 * none (zod spreads the context into a new object per call, 0.2 vs 4-5 µs for a small object
 * schema, measured here), and the context changes nothing but the messages of the issues. So the
 * value is parsed without it, and parsed again with it only when that parse failed: the same
 * result, the options' messages, the fast path for valid input.
 */
export function parseWith<T>(
  schema: z.core.$ZodType<T>,
  value: unknown,
  options: ParseOptions | undefined,
): ReturnType<typeof zSafeParse<z.core.$ZodType<T>>> {
  const r = zSafeParse(schema, value);
  return r.success || !options ? r : zSafeParse(schema, value, options);
}

/** Map a zod issue to the most specific protocol error code. */
function codeOf(issue: z.core.$ZodIssue): ProtocolErrorCode {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? 'NOT_AN_INTEGER' : 'INVALID_FIELD_TYPE';
    case 'too_big':
      if (issue.origin === 'string') return 'STRING_TOO_LONG';
      if (issue.origin === 'array') return 'ARRAY_TOO_LONG';
      return 'NUMBER_OUT_OF_RANGE';
    case 'too_small':
      if (issue.origin === 'string') return 'STRING_TOO_SHORT';
      if (issue.origin === 'array') return 'INVALID_FIELD_TYPE';
      return 'NUMBER_OUT_OF_RANGE';
    case 'invalid_format':
      return 'INVALID_FORMAT';
    case 'custom':
      return 'INVALID_FORMAT';
    case 'invalid_value':
      return 'INVALID_VALUE';
    default:
      return 'INVALID_FRAME';
  }
}

/** Convert zod issues to wire issues (paths and messages only, never input values). */
export function toIssues(issues: readonly z.core.$ZodIssue[]): Issue[] {
  return issues.slice(0, 16).map((i) => ({
    path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
    message: i.message.slice(0, 256),
  }));
}

/**
 * Decode one WebSocket message into a validated frame.
 *
 * Never throws: anything at all (text, binary, non-JSON, hostile JSON) yields either
 * `{ ok: true, frame }` or `{ ok: false, error }` with a {@link ProtocolError} whose `code`
 * says what was wrong. Objects in the result never carry `__proto__` or `constructor` keys.
 *
 * @param raw the message as received (text; binary input yields `BINARY_FRAME`)
 * @param from which side sent it: `'client'` (decoded by servers), `'server'`, or `'any'`
 *
 * @example
 * ```ts
 * const r = decode(text, 'client', { maxBytes: 65536 });
 * if (r.ok && r.frame.t === 'pub') handle(r.frame);
 * ```
 */
export function decode(raw: unknown, from: 'client', options?: DecodeOptions): DecodeResult<ClientFrame>;
export function decode(raw: unknown, from: 'server', options?: DecodeOptions): DecodeResult<ServerFrame>;
export function decode(raw: unknown, from?: Direction, options?: DecodeOptions): DecodeResult<Frame>;
export function decode(
  raw: unknown,
  from: Direction = 'any',
  options: DecodeOptions = {},
): DecodeResult<Frame> {
  return decodeWith(raw, options, from === 'client' ? CLIENT : from === 'server' ? SERVER : ANY);
}

/**
 * {@link decode} of a frame a server sent (what clients decode): the same results as
 * `decode(raw, 'server', options)`, but a bundle that uses only this function leaves out the
 * schemas of client frames.
 *
 * @example
 * ```ts
 * const r = decodeServerFrame(event.data, { maxBytes: 1 << 20 });
 * if (r.ok && r.frame.t === 'msg') show(r.frame);
 * ```
 */
export function decodeServerFrame(raw: unknown, options: DecodeOptions = {}): DecodeResult<ServerFrame> {
  return decodeWith(raw, options, SERVER) as DecodeResult<ServerFrame>;
}

/**
 * What a browser client decodes: {@link decodeServerFrame} with the plain-code rules of
 * {@link checkServerFrame} instead of zod schemas, which check the structure of server frames
 * (types, required fields, integers and their lower bounds, enumerated values) but not the
 * length limits and character rules of fields the client only reads. Accepts every frame
 * `decodeServerFrame` accepts, with the same result; a structurally wrong frame fails with the
 * same error code (its message names the code where zod's would give its localized message).
 *
 * @example
 * ```ts
 * const r = decodeServerFrameLenient(event.data, { maxBytes: 1 << 20 });
 * if (!r.ok) report(r.error.code);
 * ```
 */
export function decodeServerFrameLenient(
  raw: unknown,
  options: DecodeOptions = {},
): DecodeResult<ServerFrame> {
  return decodeWith(raw, options, checkServerFrame) as DecodeResult<ServerFrame>;
}

/**
 * {@link decode} of a frame a client sent (what servers decode): the same results as
 * `decode(raw, 'client', options)`, without the schemas of server frames.
 *
 * @example
 * ```ts
 * const r = decodeClientFrame(text, { maxBytes: 65536 });
 * if (!r.ok) reject(r.error.code);
 * ```
 */
export function decodeClientFrame(raw: unknown, options: DecodeOptions = {}): DecodeResult<ClientFrame> {
  return decodeWith(raw, options, CLIENT) as DecodeResult<ClientFrame>;
}

/**
 * The check of a decoder over zod schemas. `pub`: the hand check of `pub` frames, given to the
 * decoders of client frames only.
 */
const bySchema =
  (schemas: Schemas, pub?: typeof quickPub): Check =>
  (value, t, options) => {
    const schema = schemas.get(t);
    if (!schema) return undefined;
    if (t === 'pub' && pub) {
      const frame = pub(value);
      if (frame) return { ok: true, frame };
    }
    const parsed = parseWith(schema, value, options.parse);
    if (parsed.success) return { ok: true, frame: parsed.data as Frame };
    const first = parsed.error.issues[0]!;
    const where = first.path.length ? ` at ${first.path.map(String).join('.')}` : '';
    return fail(
      codeOf(first),
      `Invalid "${t}" frame${where}: ${first.message}`,
      toIssues(parsed.error.issues),
    );
  };

// Pure calls: a bundle keeps only the checks (and so the schemas) it decodes with.
const CLIENT = /* @__PURE__ */ bySchema(CLIENT_FRAME_SCHEMAS, quickPub);
const SERVER = /* @__PURE__ */ bySchema(SERVER_FRAME_SCHEMAS);
const ANY = /* @__PURE__ */ bySchema(FRAME_SCHEMAS, quickPub);

function decodeWith(raw: unknown, options: DecodeOptions, check: Check): DecodeResult<Frame> {
  try {
    return decodeUnsafe(raw, options, check);
  } catch (cause) {
    // Defensive: nothing above is expected to throw, but decode's contract is "never throws".
    return { ok: false, error: new ProtocolError('INVALID_FRAME', 'Frame could not be decoded', { cause }) };
  }
}

function decodeUnsafe(raw: unknown, options: DecodeOptions, check: Check): DecodeResult<Frame> {
  const maxBytes = options.maxBytes ?? 65536;
  const maxDepth = options.maxDepth ?? MAX_DEPTH;
  if (typeof raw !== 'string') {
    if (isBinary(raw)) return fail('BINARY_FRAME', 'Binary frames are not supported; send JSON text');
    return fail('INVALID_JSON', 'Expected JSON text');
  }
  if (raw.length > maxBytes || (raw.length * 3 > maxBytes && utf8Length(raw) > maxBytes)) {
    return fail('FRAME_TOO_LARGE', `Frame larger than ${maxBytes} bytes`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return fail('INVALID_JSON', 'Frame is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('NOT_AN_OBJECT', 'Frame must be a JSON object');
  }
  const bad = checkJsonValue(value, maxDepth);
  if (bad) return { ok: false, error: bad };
  const t = (value as { t?: unknown }).t;
  if (t === undefined) return fail('MISSING_FRAME_TYPE', 'Frame has no "t" field');
  if (typeof t !== 'string') return fail('INVALID_FRAME_TYPE', 'Frame field "t" must be a string');
  return (
    check(value as Record<string, unknown>, t, options) ??
    fail('UNKNOWN_FRAME_TYPE', `Unknown frame type "${t.slice(0, 32)}"`)
  );
}

/**
 * Validate a frame and serialize it to JSON text. `options` are passed to zod's `safeParse`
 * (e.g. {@link ENGLISH_MESSAGES} for English messages whatever the app configured).
 *
 * @throws {ProtocolError} when the frame does not match its schema (a programming error).
 *
 * @example
 * ```ts
 * ws.send(encode({ t: 'ping', ts: Date.now() }));
 * ```
 */
export function encode(frame: Frame, options?: ParseOptions): string {
  return encodeWith(frame, FRAME_SCHEMAS, options);
}

/**
 * {@link encode} of a frame a client sends: the same text and errors, without the schemas of
 * server frames (a server frame type is `UNKNOWN_FRAME_TYPE`).
 *
 * @throws {ProtocolError} when the frame does not match its schema.
 *
 * @example
 * ```ts
 * ws.send(encodeClientFrame({ t: 'join', id: 'j1', room: 'lobby' }));
 * ```
 */
export function encodeClientFrame(frame: ClientFrame, options?: ParseOptions): string {
  return encodeWith(frame, CLIENT_FRAME_SCHEMAS, options);
}

/**
 * {@link encode} of a frame a server sends: the same text and errors, without the schemas of
 * client frames (a client-only frame type is `UNKNOWN_FRAME_TYPE`).
 *
 * @throws {ProtocolError} when the frame does not match its schema.
 *
 * @example
 * ```ts
 * ws.send(encodeServerFrame({ t: 'pong', ts: Date.now() }));
 * ```
 */
export function encodeServerFrame(frame: ServerFrame, options?: ParseOptions): string {
  return encodeWith(frame, SERVER_FRAME_SCHEMAS, options);
}

function encodeWith(frame: Frame, schemas: Schemas, options: ParseOptions | undefined): string {
  const schema = schemas.get((frame as { t?: unknown }).t as string);
  if (!schema) throw new ProtocolError('UNKNOWN_FRAME_TYPE', 'Unknown frame type');
  const parsed = parseWith(schema, frame, options);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw new ProtocolError(codeOf(first), `Cannot encode "${frame.t}": ${first.message}`, {
      issues: toIssues(parsed.error.issues),
    });
  }
  return JSON.stringify(parsed.data);
}

/**
 * Build a `msg` frame from parts whose validity the caller guarantees (the stream name and
 * epoch come from the server's own state, `body` from {@link encodeMsgBody} after app
 * validation). Used on the broadcast hot path: the body is serialized once per message and
 * only the small header is joined per stream.
 */
export function encodeMsgFrame(stream: string, epoch: string, offset: number, body: string): string {
  return `{"t":"msg","stream":${JSON.stringify(stream)},"epoch":${JSON.stringify(epoch)},"offset":${offset},${body}}`;
}

/** Serialize the part of a `msg`/`vol` frame that does not depend on the stream position. */
export function encodeMsgBody(type: string, data: unknown, ts: number): string {
  const d = data === undefined ? '' : `,"data":${JSON.stringify(data)}`;
  return `"type":${JSON.stringify(type)}${d},"ts":${ts}`;
}

/**
 * Extension `appends`: serialize the part of an `app` frame that does not depend on its stream
 * position (`start`: the offset of the message's `msg`; `data`: one validated delta).
 */
export function encodeAppBody(start: number, data: unknown, end: boolean): string {
  const d = data === undefined ? '' : `,"data":${JSON.stringify(data)}`;
  return `"start":${start}${d}${end ? ',"end":true' : ''}`;
}

/** Extension `appends`: build an `app` frame from trusted parts, like {@link encodeMsgFrame}. */
export function encodeAppFrame(stream: string, epoch: string, offset: number, body: string): string {
  return `{"t":"app","stream":${JSON.stringify(stream)},"epoch":${JSON.stringify(epoch)},"offset":${offset},${body}}`;
}
