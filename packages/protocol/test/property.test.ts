import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, ProtocolError } from '../src/index.js';
import { validFrames } from './fixtures.js';

/** decode's whole contract: a frame or a ProtocolError, never a throw, never a forbidden key. */
function assertContract(raw: unknown) {
  const r = decode(raw, 'any', { maxBytes: 1 << 20 });
  if (r.ok) {
    expect(typeof r.frame.t).toBe('string');
    const stack: unknown[] = [r.frame];
    while (stack.length) {
      const v = stack.pop();
      if (v && typeof v === 'object') {
        for (const k of Object.keys(v)) {
          expect(k === '__proto__' || k === 'constructor').toBe(false);
          stack.push((v as Record<string, unknown>)[k]);
        }
      }
    }
  } else {
    expect(r.error).toBeInstanceOf(ProtocolError);
    expect(typeof r.error.code).toBe('string');
  }
}

const NUM_RUNS = 4_000;

// Thousands of runs per property: CPU-bound, so a loaded machine needs more than the 5 s default.
describe('decode is total (property-based)', { timeout: 60_000 }, () => {
  it('arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), assertContract), {
      numRuns: NUM_RUNS,
    });
  });

  it('arbitrary JSON values', () => {
    fc.assert(fc.property(fc.json({ maxDepth: 6 }), assertContract), { numRuns: NUM_RUNS });
  });

  it('objects with a known frame type and arbitrary fields', () => {
    const t = fc.constantFrom(...validFrames.map((f) => f.t), '__proto__', 'constructor', '');
    const obj = fc
      .record({ t })
      .chain((head) =>
        fc
          .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 6 })
          .map((rest) => ({ ...rest, ...head })),
      );
    fc.assert(
      fc.property(obj, (o) => assertContract(JSON.stringify(o))),
      { numRuns: NUM_RUNS },
    );
  });

  it('mutated valid frames', () => {
    const mutation = fc.record({
      frame: fc.constantFrom(...validFrames.map((f) => encode(f))),
      at: fc.nat(),
      kind: fc.constantFrom('delete', 'insert', 'replace', 'truncate', 'swap-value'),
      text: fc.oneof(
        fc.string({ maxLength: 8 }),
        fc.constantFrom(
          '-1',
          '1.5',
          '9007199254740993',
          '"__proto__":{}',
          'null',
          '[]',
          '{}',
          '"\\ud800"',
          '1e309',
        ),
      ),
    });
    fc.assert(
      fc.property(mutation, ({ frame, at, kind, text }) => {
        const i = at % (frame.length + 1);
        let raw: string;
        if (kind === 'delete') raw = frame.slice(0, i) + frame.slice(i + 1);
        else if (kind === 'insert') raw = frame.slice(0, i) + text + frame.slice(i);
        else if (kind === 'replace') raw = frame.slice(0, i) + text + frame.slice(i + text.length);
        else if (kind === 'truncate') raw = frame.slice(0, i);
        else raw = frame.replace(/:(\d+|"[^"]*"|true|false|null)/, `:${text}`);
        assertContract(raw);
      }),
      { numRuns: NUM_RUNS },
    );
  });
});
