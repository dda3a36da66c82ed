import * as z from 'zod/mini';

// What a browser client validates of server frames: every field's JSON type, every required
// field, integers and their lower bounds, and the allowed values of enumerations, each failing
// with the issue code the exact schema (frames.ts) reports, so decoding gives the same typed
// error codes. Left out: length limits, character rules and upper bounds of fields the client
// only reads (they are checked where they protect a peer: by the exact schemas on the server,
// and by own-frames.ts, the same rules in plain code, on every frame the client sends). Built
// only from the zod/mini parts an app's own schemas typically use (string, number, object,
// array, optional, unknown, custom checks), so the client bundles none of the int formats,
// refinements, literals, enums, unions and records the exact schemas need. test/lenient.test.ts proves it accepts every frame the exact schemas do,
// with the same output.

type Payload = z.core.ParsePayload<unknown>;
type RawIssue = z.core.$ZodRawIssue;
const push = (p: Payload, issue: Omit<RawIssue, 'input'>) =>
  p.issues.push({ ...issue, input: p.value } as RawIssue);

/** An integer from `min` to 2^53 - 1 (as `z.int()` with `z.minimum(min)`, no other bound). */
const int = (min: number) =>
  z.number().check(
    z.check((p: Payload) => {
      const v = p.value as number;
      if (!Number.isInteger(v)) push(p, { code: 'invalid_type', expected: 'int' });
      else if (v > Number.MAX_SAFE_INTEGER)
        push(p, { code: 'too_big', origin: 'int', maximum: Number.MAX_SAFE_INTEGER, inclusive: true });
      else if (v < min) push(p, { code: 'too_small', origin: 'number', minimum: min, inclusive: true });
    }),
  );

/** A number of at least 0. */
const nonnegative = z.number().check(
  z.check((p: Payload) => {
    if ((p.value as number) < 0)
      push(p, { code: 'too_small', origin: 'number', minimum: 0, inclusive: true });
  }),
);

/** One of `values` (as `z.enum(values)` or `z.literal(value)`: anything else, of any type, is `invalid_value`). */
const oneOf = <const T extends string | boolean>(values: readonly T[]) =>
  z.unknown().check(
    z.check((p: Payload) => {
      if (!values.includes(p.value as T)) push(p, { code: 'invalid_value', values: [...values] });
    }),
  ) as unknown as z.ZodMiniType<T>;

/** A string or an integer (an issue's path item). */
const key = z.unknown().check(
  z.check((p: Payload) => {
    if (typeof p.value !== 'string' && !Number.isInteger(p.value))
      push(p, { code: 'invalid_union', errors: [] });
  }),
) as unknown as z.ZodMiniType<string | number>;

/** A boolean (as `z.boolean()`, without bundling it: the client's other schemas do not need it). */
const bool = z.unknown().check(
  z.check((p: Payload) => {
    if (typeof p.value !== 'boolean') push(p, { code: 'invalid_type', expected: 'boolean' });
  }),
) as unknown as z.ZodMiniType<boolean>;

const str = z.string();
const t = str; // already matched: frames are looked up by `t`
const offset = int(0);
const gapReason = oneOf(['retention', 'epoch', 'expired', 'forbidden', 'unknown']);
const joinLeave = oneOf(['join', 'leave']);
const data = z.optional(z.unknown());
const errorBody = z.object({
  code: str,
  message: str,
  issues: z.optional(z.array(z.object({ path: z.array(key), message: str }))),
  details: z.optional(z.looseObject({})),
});
const ping = z.object({ t, ts: z.optional(offset) });
const yes = z.optional(oneOf([true]));

/**
 * The client's schema of each frame type a server sends, by `t`: the structure of
 * `SERVER_FRAME_SCHEMAS` without their length limits, character rules and upper bounds. Every
 * frame those accept is accepted with the same output; a wrong type, a missing field, a
 * fractional or negative number or an unknown value fails with the same issue code.
 */
export const LENIENT_SERVER_FRAME_SCHEMAS: ReadonlyMap<string, z.ZodMiniType> = /* @__PURE__ */ new Map<
  string,
  z.ZodMiniType
>([
  [
    'welcome',
    z.object({
      t,
      version: int(1),
      sessionId: str,
      resumeToken: str,
      resumed: bool,
      resumeError: z.optional(oneOf(['expired', 'forbidden'])),
      user: z.optional(str),
      extensions: z.optional(z.array(str)),
      streams: z.array(
        z.object({
          stream: str,
          epoch: str,
          offset,
          status: oneOf(['new', 'recovered', 'gap']),
          from: z.optional(offset),
          to: z.optional(offset),
          reason: z.optional(gapReason),
        }),
      ),
      heartbeat: z.object({ intervalMs: int(1), timeoutMs: int(1) }),
      limits: z.object({
        maxPayload: int(1),
        maxRooms: offset,
        messagesPerSecond: nonnegative,
        burst: z.optional(nonnegative),
        tokenExpiresAt: z.optional(offset),
      }),
    }),
  ],
  [
    'msg',
    z.object({
      t,
      stream: str,
      epoch: str,
      offset: int(1),
      type: str,
      data,
      ts: offset,
      start: z.optional(int(1)),
      open: yes,
    }),
  ],
  [
    'app',
    z.object({
      t,
      stream: str,
      epoch: str,
      offset: int(1),
      start: int(1),
      data,
      end: yes,
      ts: z.optional(offset),
    }),
  ],
  ['vol', z.object({ t, stream: z.optional(str), type: str, data, ts: offset })],
  ['res', z.object({ t, id: str, ok: bool, result: data, error: z.optional(errorBody) })],
  [
    'sub',
    z.object({
      t,
      op: joinLeave,
      room: str,
      stream: str,
      epoch: z.optional(str),
      offset: z.optional(offset),
    }),
  ],
  ['presence', z.object({ t, room: str, event: joinLeave, user: str, sessions: offset })],
  ['gap', z.object({ t, stream: str, epoch: str, from: offset, to: offset, reason: gapReason })],
  ['error', z.object({ t, id: z.optional(str), error: errorBody })],
  ['ping', ping],
  ['pong', ping],
]);
