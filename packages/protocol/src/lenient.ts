import { ProtocolError } from './errors.js';
import {
  applyRule,
  array,
  bool,
  fail,
  int,
  object,
  oneOf,
  optional,
  type Rule,
  str,
  wrongType,
} from './rules.js';
import type { ServerFrame } from './unions.js';

// What a browser client validates of server frames, in plain code (rules.ts): every field's
// JSON type, every required field, integers and their lower bounds, and the allowed values of
// enumerations, each failing with the error code the exact schema (server-frames.ts) reports
// for it. Left out: length limits, character rules and upper bounds of fields the client only
// reads (they are checked where they protect a peer: by the exact schemas on the server, and by
// own-frames.ts on every frame the client sends). No zod: the client bundles none of the frame
// schemas, only what the app's own schemas need. test/lenient.test.ts proves that it accepts
// every frame the exact schemas accept, with the same output, and fails a structurally wrong
// frame with the same code.

const any: Rule = (v) => v;
/** An issue's path item: a string or an integer (a failed `z.union` is `INVALID_FRAME`). */
const key: Rule = (v) => (typeof v === 'string' || Number.isInteger(v) ? v : fail('INVALID_FRAME'));
/** `details`: a JSON object of any fields (`z.record`). */
const record: Rule = (v) => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : wrongType());

const offset = int(0);
const positive = int(1);
const nonnegative = int(0, Infinity, true);
const gapReason = oneOf('retention', 'epoch', 'expired', 'forbidden', 'unknown');
const joinLeave = oneOf('join', 'leave');
const yes = optional(oneOf(true));
const errorBody = object({
  code: str,
  message: str,
  issues: optional(array(object({ path: array(key), message: str }))),
  details: optional(record),
});
const ping = object({ t: any, ts: optional(offset) });

/**
 * The client's rule of each frame type a server sends: the structure of `SERVER_FRAME_SCHEMAS`
 * without their length limits, character rules and upper bounds.
 */
const RULES: Record<ServerFrame['t'], Rule> = {
  welcome: object({
    t: any,
    version: positive,
    sessionId: str,
    resumeToken: str,
    resumed: bool,
    resumeError: optional(oneOf('expired', 'forbidden')),
    user: optional(str),
    streams: array(
      object({
        stream: str,
        epoch: str,
        offset,
        status: oneOf('new', 'recovered', 'gap'),
        from: optional(offset),
        to: optional(offset),
        reason: optional(gapReason),
      }),
    ),
    extensions: optional(array(str)),
    heartbeat: object({ intervalMs: positive, timeoutMs: positive }),
    limits: object({
      maxPayload: positive,
      maxRooms: offset,
      messagesPerSecond: nonnegative,
      burst: optional(nonnegative),
      tokenExpiresAt: optional(offset),
    }),
  }),
  msg: object({
    t: any,
    stream: str,
    epoch: str,
    offset: positive,
    type: str,
    data: any,
    ts: offset,
    start: optional(positive),
    open: yes,
  }),
  app: object({
    t: any,
    stream: str,
    epoch: str,
    offset: positive,
    start: positive,
    data: any,
    end: yes,
    ts: optional(offset),
  }),
  vol: object({ t: any, stream: optional(str), type: str, data: any, ts: offset }),
  res: object({ t: any, id: str, ok: bool, result: any, error: optional(errorBody) }),
  sub: object({
    t: any,
    op: joinLeave,
    room: str,
    stream: str,
    epoch: optional(str),
    offset: optional(offset),
  }),
  presence: object({ t: any, room: str, event: joinLeave, user: str, sessions: offset }),
  gap: object({ t: any, stream: str, epoch: str, from: offset, to: offset, reason: gapReason }),
  error: object({ t: any, id: optional(str), error: errorBody }),
  ping,
  pong: ping,
};

/**
 * Check a server frame (parsed JSON whose `t` is `t`) by the client's lenient rules: a decode
 * result, `{ ok: true, frame }` with the frame as decoded (known fields only) or `{ ok: false,
 * error }` with a {@link ProtocolError} of the code `decodeServerFrame` reports for a
 * structurally wrong frame (`Invalid "msg" frame at offset: NOT_AN_INTEGER`); undefined when `t`
 * is no server frame type. What `decodeServerFrameLenient` runs after its JSON checks.
 *
 * @example
 * ```ts
 * checkServerFrame({ t: 'pong', ts: 1.5 }, 'pong'); // { ok: false, error: ProtocolError NOT_AN_INTEGER at ts }
 * ```
 */
export function checkServerFrame(
  frame: object,
  t: string,
): { ok: true; frame: ServerFrame } | { ok: false; error: ProtocolError } | undefined {
  if (!Object.hasOwn(RULES, t)) return undefined;
  const r = applyRule(RULES[t as ServerFrame['t']], frame, `Invalid "${t}" frame`);
  return r instanceof ProtocolError ? { ok: false, error: r } : { ok: true, frame: r as ServerFrame };
}
