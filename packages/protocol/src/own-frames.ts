import { ProtocolError } from './errors.js';
import { applyRule, array, bool, int, object, optional, type Rule, text } from './rules.js';
import type { ClientFrame } from './unions.js';
import {
  EPOCH_LENGTH,
  ID_LENGTH,
  isAscii,
  isPrintable,
  MAX_CURSORS,
  MAX_REWIND,
  ROOM_LENGTH,
  SECRET_LENGTH,
  STREAM_LENGTH,
  TOKEN_LENGTH,
  TYPE_LENGTH,
} from './wire.js';

// What a client checks of a frame it built itself before sending it: the rules of
// CLIENT_FRAME_SCHEMAS (frames.ts) in plain code (rules.ts), with the wire's predicates, so a
// browser bundles none of the client-frame schemas (nor the zod integers, literals and
// refinements they need). Servers still decode every client frame with the exact schemas. Each
// rule reports the error code the schema's first issue maps to; test/own-frames.test.ts proves
// that whatever these rules accept, the schemas accept with the same text, and what they
// refuse, the schemas refuse with the same code.

// The wire's predicates (isWireId, isWireRoom...) are these with their lengths.
const ascii = (max: number) => text(max, (v) => isAscii(v, max));
const printable = (max: number) => text(max, (v) => isPrintable(v, max));

const id = ascii(ID_LENGTH);
/**
 * The rule of a room name (`isWireRoom`, failing with the schema's code), for
 * `@holdfast/protocol/rules`: what the client checks of the rooms it keeps in storage.
 */
export const roomRule: Rule = printable(ROOM_LENGTH);
const token = ascii(TOKEN_LENGTH);
const secret = ascii(SECRET_LENGTH);
const offset = int(0);
const cursor = object({
  stream: printable(STREAM_LENGTH),
  epoch: ascii(EPOCH_LENGTH),
  offset,
});
const ping = object({ ts: optional(offset) });

/**
 * The rule of a `hello`'s `resume` (session, resume token, cursors), for
 * `@holdfast/protocol/rules`: what a client also keeps in storage, and checks when it reads it
 * back. Its output is the resume with its known fields only.
 */
export const resumeRule: Rule = object({
  sessionId: secret,
  resumeToken: secret,
  cursors: array(cursor, 0, MAX_CURSORS),
  snapshots: optional(bool),
});

const RULES: Record<ClientFrame['t'], Rule> = {
  hello: object({ version: int(1, 65535), token: optional(token), resume: optional(resumeRule) }),
  pub: object({ id, type: ascii(TYPE_LENGTH) }),
  ack: object({ cursors: array(cursor, 1, MAX_CURSORS) }),
  join: object({
    id,
    room: roomRule,
    rewind: optional(object({ count: optional(int(1, MAX_REWIND)), ageMs: optional(int(1)) })),
  }),
  leave: object({ id, room: roomRule }),
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
  const { t } = frame;
  if (!Object.hasOwn(RULES, t)) return new ProtocolError('UNKNOWN_FRAME_TYPE', 'Unknown frame type');
  const r = applyRule(RULES[t], frame, `Cannot encode "${t}"`);
  return r instanceof ProtocolError ? r : undefined;
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
