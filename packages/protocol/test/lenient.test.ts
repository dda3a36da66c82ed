import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_TYPES,
  checkServerFrame,
  decodeServerFrame,
  decodeServerFrameLenient,
  SERVER_FRAME_SCHEMAS,
  SERVER_FRAME_TYPES,
} from '../src/index.js';
import { validFrames } from './fixtures.js';

const serverFrames = validFrames.filter((f) => (SERVER_FRAME_TYPES as readonly string[]).includes(f.t));

/** Values of every JSON type, near the boundaries the exact schemas check. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ minLength: 60, maxLength: 300 }),
  fc.constantFrom('', 'room:a', 'e1', '\u0000', '\ud800', 'x'.repeat(65), 'x'.repeat(200)),
  fc.integer(),
  fc.nat(),
  fc.maxSafeNat(),
  fc.constantFrom(-1, 0, 1, 1.5, 65535, 65536, 2 ** 53, Number.MAX_SAFE_INTEGER),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom('new', 'recovered', 'gap', 'join', 'leave', 'retention', 'expired', 'forbidden'),
  fc.constant([]),
  fc.constant({}),
);

/** A valid server frame with some of its values (at any depth) replaced or removed. */
function variant(frame: unknown): fc.Arbitrary<unknown> {
  if (Array.isArray(frame)) return fc.tuple(...frame.map(variant));
  if (typeof frame === 'object' && frame !== null) {
    const entries = Object.entries(frame).map(([k, v]) =>
      k === 't'
        ? fc.constant([k, v] as const)
        : fc.oneof(
            { weight: 4, arbitrary: variant(v).map((x) => [k, x] as const) },
            { weight: 1, arbitrary: anyValue.map((x) => [k, x] as const) },
            { weight: 1, arbitrary: fc.constant(undefined) },
          ),
    );
    return fc.tuple(...entries).map((es) => Object.fromEntries(es.filter((e) => e !== undefined)));
  }
  return fc.oneof({ weight: 3, arbitrary: fc.constant(frame) }, { weight: 1, arbitrary: anyValue });
}

const frames = fc.oneof(...serverFrames.map(variant)).map((f) => JSON.stringify(f));

describe('the lenient server-frame rules (what browser clients decode, without zod)', () => {
  it('cover the same frame types as SERVER_FRAME_SCHEMAS', () => {
    expect([...SERVER_FRAME_SCHEMAS.keys()].sort()).toEqual([...SERVER_FRAME_TYPES].sort());
    for (const t of SERVER_FRAME_TYPES) expect(checkServerFrame({ t }, t), t).toBeDefined();
    for (const t of [...CLIENT_FRAME_TYPES, 'constructor', 'toString', '__proto__']) {
      if (!(SERVER_FRAME_TYPES as readonly string[]).includes(t))
        expect(checkServerFrame({ t }, t), t).toBeUndefined();
    }
  });

  it('accept every frame the exact schemas accept, with the same frame', () => {
    let accepted = 0;
    fc.assert(
      fc.property(frames, (text) => {
        const exact = decodeServerFrame(text);
        if (!exact.ok) return;
        accepted += 1;
        expect(decodeServerFrameLenient(text)).toEqual(exact);
      }),
      { numRuns: 4_000 },
    );
    expect(accepted).toBeGreaterThan(200); // the property saw valid frames, not only rejects
  });

  it('reject what they accept only for limits, formats and upper bounds the exact schemas check', () => {
    // The codes the lenient schemas may leave to the exact ones (the upper bound of a number is
    // a NUMBER_OUT_OF_RANGE; its lower bound is checked, see the next test).
    const lenientOn = new Set([
      'STRING_TOO_LONG',
      'STRING_TOO_SHORT',
      'ARRAY_TOO_LONG',
      'INVALID_FORMAT',
      'NUMBER_OUT_OF_RANGE',
    ]);
    fc.assert(
      fc.property(frames, (text) => {
        const exact = decodeServerFrame(text);
        const lenient = decodeServerFrameLenient(text);
        if (lenient.ok && !exact.ok) {
          expect(lenientOn.has(exact.error.code), exact.error.code).toBe(true);
        }
        if (!lenient.ok) expect(exact.ok).toBe(false);
      }),
      { numRuns: 4_000 },
    );
  });

  it('fail a structurally wrong frame with the code of the exact schemas', () => {
    // One wrong field in an otherwise valid frame: both report that field.
    const cases: [string, Record<string, unknown>][] = [];
    for (const frame of serverFrames) {
      for (const [key, value] of Object.entries(frame)) {
        if (key === 't') continue;
        const bad =
          typeof value === 'string'
            ? 42
            : typeof value === 'number'
              ? 'x'
              : typeof value === 'boolean'
                ? 1
                : 'x';
        cases.push([`${frame.t}.${key} of a wrong type`, { ...frame, [key]: bad }]);
        const { [key]: _, ...missing } = frame as Record<string, unknown>;
        cases.push([`${frame.t} without ${key}`, missing]);
        if (typeof value === 'number') {
          cases.push([`${frame.t}.${key} fractional`, { ...frame, [key]: value + 0.5 }]);
          cases.push([`${frame.t}.${key} negative`, { ...frame, [key]: -1 }]);
          cases.push([`${frame.t}.${key} above 2^53 - 1`, { ...frame, [key]: 2 ** 60 }]);
        }
      }
    }
    cases.push(['an unknown t', { t: 'hello', version: 1 }]);
    cases.push(['a sub with an unknown op', { t: 'sub', op: 'stay', room: 'a', stream: 'room:a' }]);
    cases.push([
      'a gap with an unknown reason',
      { t: 'gap', stream: 's', epoch: 'e', from: 1, to: 2, reason: 'x' },
    ]);
    cases.push([
      'an issue path of booleans',
      { t: 'error', error: { code: 'X', message: 'm', issues: [{ path: [true], message: 'm' }] } },
    ]);
    cases.push([
      'details that are an array',
      { t: 'error', error: { code: 'X', message: 'm', details: [] } },
    ]);
    let failures = 0;
    for (const [what, frame] of cases) {
      const text = JSON.stringify(frame);
      const exact = decodeServerFrame(text);
      const lenient = decodeServerFrameLenient(text);
      if (exact.ok) {
        expect(lenient, what).toEqual(exact); // e.g. an optional field left out
        continue;
      }
      failures += 1;
      expect(lenient.ok, what).toBe(false);
      if (!lenient.ok) expect(lenient.error.code, what).toBe(exact.error.code);
    }
    expect(failures).toBeGreaterThan(100);
  });
});

describe('decodeServerFrameLenient', () => {
  it('says where and what, and leaves unknown keys out as the schemas do', () => {
    const r = decodeServerFrameLenient(
      '{"t":"welcome","version":1,"sessionId":"s","resumeToken":"r","resumed":false,"streams":[{"stream":"a","epoch":"e","offset":-1,"status":"new"}]}',
    );
    expect(r).toMatchObject({
      ok: false,
      error: {
        code: 'NUMBER_OUT_OF_RANGE',
        message: 'Invalid "welcome" frame at streams.0.offset: NUMBER_OUT_OF_RANGE',
        issues: [{ path: ['streams', 0, 'offset'], message: 'NUMBER_OUT_OF_RANGE' }],
      },
    });
    const text = '{"t":"presence","room":"a","event":"join","user":"u","sessions":1,"extra":{"x":1}}';
    expect(decodeServerFrameLenient(text)).toEqual({
      ok: true,
      frame: { t: 'presence', room: 'a', event: 'join', user: 'u', sessions: 1 },
    });
    expect(decodeServerFrameLenient(text)).toEqual(decodeServerFrame(text));
  });
});
