import { type Issue, ProtocolError, type ProtocolErrorCode } from './errors.js';
import type { ClientFrame } from './unions.js';
import { isAscii, isPrintable, isWireId, isWireRoom, isWireToken, isWireType, WireLimits } from './wire.js';

// What a client checks of a frame it built itself before sending it: the rules of
// CLIENT_FRAME_SCHEMAS (frames.ts) in plain code, with the wire's predicates, so a browser
// bundles none of the client-frame schemas (nor the zod integers, literals and refinements they
// need). Servers still decode every client frame with the exact schemas. Each rule reports the
// error code the schema's first issue maps to; test/own-frames.test.ts proves that whatever
// these rules accept, the schemas accept with the same text, and what they refuse, the schemas
// refuse with the same code.

/** A problem: its code and where. */
type Found = { code: ProtocolErrorCode; path: (string | number)[] } | undefined;
type Rule = (value: unknown) => Found;

const found = (code: ProtocolErrorCode): Found => ({ code, path: [] });
const WRONG_TYPE = found('INVALID_FIELD_TYPE');

/** A string field: `ok` is its predicate; when it fails, the code says why (as the schema's checks would, in their order). */
const text =
  (max: number, ok: (value: unknown) => boolean): Rule =>
  (v) =>
    ok(v)
      ? undefined
      : typeof v !== 'string'
        ? WRONG_TYPE
        : found(!v ? 'STRING_TOO_SHORT' : v.length > max ? 'STRING_TOO_LONG' : 'INVALID_FORMAT');
const ascii = (max: number) => text(max, (v) => isAscii(v, max));

/** An integer from `min` to `max` (`z.int()`: at most 2^53 - 1). */
const int =
  (min: number, max = Number.MAX_SAFE_INTEGER): Rule =>
  (v) =>
    typeof v !== 'number' || !Number.isFinite(v)
      ? WRONG_TYPE
      : !Number.isInteger(v)
        ? found('NOT_AN_INTEGER')
        : v < min || v > max
          ? found('NUMBER_OUT_OF_RANGE')
          : undefined;

const optional =
  (rule: Rule): Rule =>
  (v) =>
    v === undefined ? undefined : rule(v);

const within = (key: string | number, f: Found): Found => f && { code: f.code, path: [key, ...f.path] };

/** An object: its fields in the schema's order (its first issue is the first field's). */
const object =
  (shape: Record<string, Rule>): Rule =>
  (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return WRONG_TYPE;
    for (const key in shape) {
      const f = shape[key]!((v as Record<string, unknown>)[key]);
      if (f) return within(key, f);
    }
  };

/** An array of `min` to `max` items (the items are checked first, as zod does). */
const array =
  (item: Rule, min: number): Rule =>
  (v) => {
    if (!Array.isArray(v)) return WRONG_TYPE;
    for (let i = 0; i < v.length; i++) {
      const f = item(v[i]);
      if (f) return within(i, f);
    }
    if (v.length > WireLimits.cursors) return found('ARRAY_TOO_LONG');
    if (v.length < min) return WRONG_TYPE;
  };

const id = text(WireLimits.idLength, isWireId);
const room = text(WireLimits.roomLength, isWireRoom);
const token = text(WireLimits.tokenLength, isWireToken);
const secret = ascii(WireLimits.secretLength);
const offset = int(0);
const cursor = object({
  stream: text(WireLimits.streamLength, (v) => isPrintable(v, WireLimits.streamLength)),
  epoch: ascii(WireLimits.epochLength),
  offset,
});
const ping = object({ ts: optional(offset) });

/** The `resume` of a `hello`: what a client also keeps in storage. */
const resume = object({
  sessionId: secret,
  resumeToken: secret,
  cursors: array(cursor, 0),
  snapshots: optional((v) => (typeof v === 'boolean' ? undefined : WRONG_TYPE)),
});

const RULES: Record<ClientFrame['t'], Rule> = {
  hello: object({ version: int(1, 65535), token: optional(token), resume: optional(resume) }),
  pub: object({ id, type: text(WireLimits.typeLength, isWireType) }),
  ack: object({ cursors: array(cursor, 1) }),
  join: object({
    id,
    room,
    rewind: optional(object({ count: optional(int(1, WireLimits.rewind)), ageMs: optional(int(1)) })),
  }),
  leave: object({ id, room }),
  refresh: object({ id, token }),
  ping,
  pong: ping,
};

/**
 * Check a client frame by the rules of its schema, in plain code: undefined when the schema
 * accepts it, else a {@link ProtocolError} with the code `encodeClientFrame` would throw
 * (`INVALID_FIELD_TYPE`, `STRING_TOO_LONG`, `INVALID_FORMAT`...). Unknown keys are not looked
 * at (the schema would strip them).
 *
 * @example
 * ```ts
 * const error = checkClientFrame({ t: 'join', id: 'j1', room: '' }); // STRING_TOO_SHORT at room
 * ```
 */
export function checkClientFrame(frame: ClientFrame): ProtocolError | undefined {
  const rule = Object.hasOwn(RULES, frame.t) ? RULES[frame.t] : undefined;
  if (!rule) return new ProtocolError('UNKNOWN_FRAME_TYPE', 'Unknown frame type');
  const f = rule(frame);
  if (!f) return;
  const issue: Issue = { path: f.path, message: f.code };
  return new ProtocolError(f.code, `Cannot encode "${frame.t}" at ${f.path.join('.')}: ${f.code}`, {
    issues: [issue],
  });
}

/**
 * What a client sends: a frame it built itself (no unknown keys, keys in the schema's order),
 * checked by {@link checkClientFrame} and serialized. The same text as `encodeClientFrame` for
 * such a frame, without zod.
 *
 * @throws {ProtocolError} when a field breaks its rule (e.g. a room name with control characters).
 *
 * @example
 * ```ts
 * ws.send(encodeOwnClientFrame({ t: 'leave', id: 'k3j9x2-4', room: 'lobby' }));
 * ```
 */
export function encodeOwnClientFrame(frame: ClientFrame): string {
  const error = checkClientFrame(frame);
  if (error) throw error;
  return JSON.stringify(frame);
}
