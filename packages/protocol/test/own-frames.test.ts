import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_TYPES,
  type ClientFrame,
  checkClientFrame,
  decodeClientFrame,
  encodeClientFrame,
  encodeOwnClientFrame,
  isWireRoom,
  isWireToken,
  JoinSchema,
  ProtocolError,
  RefreshSchema,
} from '../src/index.js';
import { validFrames } from './fixtures.js';

// The plain-code rules a browser client checks its own frames with (own-frames.ts) against the
// exact client-frame schemas the server decodes them with.

const clientFrames = validFrames.filter((f) => (CLIENT_FRAME_TYPES as readonly string[]).includes(f.t));

/** Values of every JSON type, near the boundaries the exact schemas check. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.string(),
  fc.string({ minLength: 60, maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom(
    '',
    'room:a',
    'e1',
    '\u0000',
    '\u0085',
    '\ud800',
    'a\udc00b',
    'x'.repeat(65),
    'x'.repeat(200),
  ),
  fc.constantFrom('x'.repeat(8192), 'x'.repeat(8193), 'x'.repeat(128), 'x'.repeat(129), 'x'.repeat(161)),
  fc.constantFrom(
    ' '.repeat(64),
    '\u0000'.repeat(128),
    '\u0000'.repeat(129),
    '\ud800'.repeat(160),
    ' '.repeat(8192),
  ),
  fc.integer(),
  fc.nat(),
  fc.maxSafeNat(),
  fc.constantFrom(
    -1,
    0,
    1,
    1.5,
    -0.5,
    10_000,
    10_001,
    65535,
    65536,
    2 ** 53,
    -(2 ** 60),
    Number.MAX_SAFE_INTEGER,
  ),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constant(Array.from({ length: 1025 }, (_, i) => ({ stream: `s${i}`, epoch: 'e', offset: i }))),
);

/** A valid frame with some of its values (at any depth) replaced or removed. */
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

const frames = fc.oneof(...clientFrames.map(variant)) as fc.Arbitrary<ClientFrame>;

/** What the exact schema says: the encoded text, or the error code it throws. */
function exact(frame: ClientFrame): { text: string } | { code: string } {
  try {
    return { text: encodeClientFrame(frame) };
  } catch (error) {
    expect(error).toBeInstanceOf(ProtocolError);
    return { code: (error as ProtocolError).code };
  }
}

describe("the client's own-frame checks (no zod in the browser encoder)", () => {
  it('cover every client frame type', () => {
    for (const t of CLIENT_FRAME_TYPES) {
      expect(checkClientFrame({ t } as ClientFrame)?.code).not.toBe('UNKNOWN_FRAME_TYPE');
    }
  });

  it('accept only what the exact schemas accept (same text, decoded by the server), and refuse with the same code', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(frames, (frame) => {
        const want = exact(frame);
        const error = checkClientFrame(frame);
        if (error) {
          refused++;
          expect(error).toBeInstanceOf(ProtocolError);
          expect(want).toEqual({ code: error.code });
          expect(() => encodeOwnClientFrame(frame)).toThrow(error.message);
          return;
        }
        accepted++;
        const text = encodeOwnClientFrame(frame);
        // The fixtures' keys are in the schema's order, as the client builds its frames.
        expect(want).toEqual({ text });
        const decoded = decodeClientFrame(text);
        expect(decoded.ok && decoded.frame).toEqual(JSON.parse(text));
      }),
      { numRuns: 3000 },
    );
    // Both branches were exercised.
    expect(accepted).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(300);
  });

  it('check app-supplied room names, rewinds and tokens as the schemas do', () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        for (const rewind of [{ count: value }, { ageMs: value }]) {
          const frame = { t: 'join', id: 'j1', room: 'a', rewind } as ClientFrame;
          expect(checkClientFrame(frame)?.code).toBe((exact(frame) as { code?: string }).code);
        }
        const join = { t: 'join', id: 'j1', room: value } as ClientFrame;
        expect(isWireRoom(value)).toBe(JoinSchema.safeParse(join).success);
        expect(checkClientFrame(join)?.code).toBe((exact(join) as { code?: string }).code);
        const refresh = { t: 'refresh', id: 'r1', token: value } as ClientFrame;
        expect(isWireToken(value)).toBe(RefreshSchema.safeParse(refresh).success);
        expect(checkClientFrame(refresh)?.code).toBe((exact(refresh) as { code?: string }).code);
      }),
      { numRuns: 2000 },
    );
  });

  it('say where and what in the error', () => {
    const error = checkClientFrame({ t: 'join', id: 'j1', room: 'a\u0000' });
    expect(error).toMatchObject({
      code: 'INVALID_FORMAT',
      issues: [{ path: ['room'], message: 'INVALID_FORMAT' }],
    });
    expect(checkClientFrame({ t: 'join', id: 'j1', room: 'a', rewind: { count: 1.5 } })).toMatchObject({
      code: 'NOT_AN_INTEGER',
      issues: [{ path: ['rewind', 'count'] }],
    });
  });
});
