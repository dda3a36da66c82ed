import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_SCHEMAS,
  CLIENT_FRAME_TYPES,
  decode,
  decodeClientFrame,
  decodeServerFrame,
  encode,
  encodeClientFrame,
  encodeServerFrame,
  FRAME_SCHEMAS,
  type Frame,
  SERVER_FRAME_SCHEMAS,
  SERVER_FRAME_TYPES,
} from '../src/index.js';
import { validFrames } from './fixtures.js';

// The direction-specific functions exist so a bundle (the browser client) links only what its
// direction needs; they must answer exactly as decode(raw, from) and encode(frame) do.

const outcome = (f: () => string) => {
  try {
    return { text: f() };
  } catch (e) {
    const { name, code, message, issues } = e as {
      name: string;
      code: string;
      message: string;
      issues: unknown;
    };
    return { error: { name, code, message, issues } };
  }
};

const unknownType = {
  error: { name: 'ProtocolError', code: 'UNKNOWN_FRAME_TYPE', message: 'Unknown frame type' },
};

/** A valid frame with one field replaced by an arbitrary JSON value (or removed). */
const mutatedFrame = fc
  .record({
    frame: fc.constantFrom(...validFrames),
    at: fc.nat(),
    value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(-1, 1.5, '', 'a\u0000b', 'x'.repeat(300))),
  })
  .map(({ frame, at, value }) => {
    const copy = structuredClone(frame) as Record<string, unknown>;
    const slots: [Record<string, unknown>, string][] = [];
    const walk = (o: Record<string, unknown>) => {
      for (const k of Object.keys(o)) {
        slots.push([o, k]);
        if (o[k] && typeof o[k] === 'object') walk(o[k] as Record<string, unknown>);
      }
    };
    walk(copy);
    const [o, k] = slots[at % slots.length]!;
    if (at % 7 === 0) delete o[k];
    else o[k] = value;
    return copy;
  });

// Property runs are CPU-bound: a loaded machine needs more than the 5 s default.
describe('direction-specific decode and encode', { timeout: 60_000 }, () => {
  it('split the frame schemas by the direction of their types', () => {
    expect([...CLIENT_FRAME_SCHEMAS.keys()]).toEqual([...CLIENT_FRAME_TYPES]);
    expect([...SERVER_FRAME_SCHEMAS.keys()]).toEqual([...SERVER_FRAME_TYPES]);
    for (const [t, schema] of FRAME_SCHEMAS) {
      expect(CLIENT_FRAME_SCHEMAS.get(t) ?? SERVER_FRAME_SCHEMAS.get(t)).toBe(schema);
    }
  });

  it('decodeServerFrame and decodeClientFrame answer as decode(raw, from)', () => {
    const raw = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.json({ maxDepth: 4 }),
      mutatedFrame.map((f) => JSON.stringify(f)),
      fc.constantFrom(...validFrames.map((f) => JSON.stringify(f))),
    );
    fc.assert(
      fc.property(raw, fc.constantFrom(undefined, { maxBytes: 64 }, { maxDepth: 2 }), (text, options) => {
        expect(decodeServerFrame(text, options)).toEqual(decode(text, 'server', options));
        expect(decodeClientFrame(text, options)).toEqual(decode(text, 'client', options));
      }),
      { numRuns: 2_000 },
    );
    expect(decodeServerFrame(new Uint8Array([1])).ok).toBe(false);
  });

  it('encodeClientFrame and encodeServerFrame answer as encode(frame), in their direction only', () => {
    fc.assert(
      fc.property(fc.oneof(fc.constantFrom(...validFrames), mutatedFrame), (value) => {
        const frame = value as Frame;
        const expected = outcome(() => encode(frame));
        const clientSends = (CLIENT_FRAME_TYPES as readonly unknown[]).includes(frame.t);
        const serverSends = (SERVER_FRAME_TYPES as readonly unknown[]).includes(frame.t);
        expect(outcome(() => encodeClientFrame(frame as never))).toEqual(
          clientSends ? expected : unknownType,
        );
        expect(outcome(() => encodeServerFrame(frame as never))).toEqual(
          serverSends ? expected : unknownType,
        );
      }),
      { numRuns: 2_000 },
    );
  });
});
