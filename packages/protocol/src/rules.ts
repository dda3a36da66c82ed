import { ProtocolError, type ProtocolErrorCode } from './errors.js';

// Frame rules in plain code, without zod: what a browser client checks of the frames it builds
// (own-frames.ts) and of the frames a server sends (lenient.ts), so its bundle carries none of
// the frame schemas nor the zod types only they need. A rule returns the value as decoded
// (objects with their known fields only, as a zod object strips unknown keys) or throws a
// `Found`: the error code the exact schema's first issue maps to, and where. Public from
// `@holdfast/protocol/rules` (rules-api.ts), not from the main entry.

/** What a rule throws: the code of the first problem and its path. */
export interface Found {
  code: ProtocolErrorCode;
  path: (string | number)[];
}

/** A field's rule: returns the value as decoded, or throws a {@link Found}. */
export type Rule = (value: unknown) => unknown;

/** Throw a {@link Found} with `code` (its path is filled in by the enclosing objects and arrays). */
export const fail = (code: ProtocolErrorCode): never => {
  throw { code, path: [] } satisfies Found;
};
/** A wrong JSON type, or a missing required field. */
export const wrongType = (): never => fail('INVALID_FIELD_TYPE');

/** Any string. */
export const str: Rule = (v) => (typeof v === 'string' ? v : wrongType());
/** A boolean. */
export const bool: Rule = (v) => (typeof v === 'boolean' ? v : wrongType());
/** One of `values` (as `z.enum(values)` or `z.literal(value)`: anything else, of any type, is `INVALID_VALUE`). */
export const oneOf =
  (...values: unknown[]): Rule =>
  (v) =>
    values.includes(v) ? v : fail('INVALID_VALUE');

/** A string field: `ok` is its predicate; when it fails, the code says why (as the schema's checks would, in their order). */
export const text =
  (max: number, ok: (value: unknown) => boolean): Rule =>
  (v) =>
    ok(v)
      ? v
      : typeof v !== 'string'
        ? wrongType()
        : fail(!v ? 'STRING_TOO_SHORT' : v.length > max ? 'STRING_TOO_LONG' : 'INVALID_FORMAT');

/** A number from `min` to `max`, an integer unless `real` (`z.int()`: at most 2^53 - 1). */
export const int =
  (min: number, max = Number.MAX_SAFE_INTEGER, real?: boolean): Rule =>
  (v) =>
    // Number.isFinite is false for anything but a finite number (it does not convert).
    !Number.isFinite(v)
      ? wrongType()
      : !real && !Number.isInteger(v)
        ? fail('NOT_AN_INTEGER')
        : (v as number) < min || (v as number) > max
          ? fail('NUMBER_OUT_OF_RANGE')
          : v;

/** The field may be absent. */
export const optional =
  (rule: Rule): Rule =>
  (v) =>
    v === undefined ? v : rule(v);

/** An object: its fields in the schema's order (its first issue is the first field's); unknown keys are left out. */
export const object =
  (shape: Record<string, Rule>): Rule =>
  (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return wrongType();
    const out: Record<string, unknown> = {};
    let key = '';
    try {
      for (key in shape) {
        const field = shape[key]!((v as Record<string, unknown>)[key]);
        if (field !== undefined) out[key] = field;
      }
    } catch (found) {
      // Where it was found: under `key`.
      (found as Found).path.unshift(key);
      throw found;
    }
    return out;
  };

/** An array of `min` to `max` items (the items are checked first, as zod does). */
export const array =
  (item: Rule, min = 0, max = Infinity): Rule =>
  (v) => {
    if (!Array.isArray(v)) return wrongType();
    const out: unknown[] = [];
    let i = 0;
    try {
      for (; i < v.length; i++) out.push(item(v[i]));
    } catch (found) {
      (found as Found).path.unshift(i);
      throw found;
    }
    return v.length > max ? fail('ARRAY_TOO_LONG') : v.length < min ? wrongType() : out;
  };

/**
 * Run `rule` on `value`: its output, or the {@link ProtocolError} of what it found, whose
 * message is `<what> at <path>: <code>` (the code in place of zod's localized message).
 */
export function applyRule(rule: Rule, value: unknown, what: string): unknown {
  try {
    return rule(value);
  } catch (found) {
    const { code, path } = found as Found;
    return new ProtocolError(code, `${what} at ${path.join('.')}: ${code}`, {
      issues: [{ path, message: code }],
    });
  }
}
