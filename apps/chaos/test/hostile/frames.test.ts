import { CLIENT_FRAME_TYPES } from '@holdfast/protocol';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { record } from '../support/figures.js';
import { startServer } from '../support/fixture.js';
import { Canary, FORBIDDEN_SPELLINGS, isUtf8, opened, outcome } from '../support/hostile.js';
import { runs } from '../support/scale.js';
import { recordNotes } from '../support/traffic.js';

// Hostile frames, property-based, against one live server per property. Each run sends a batch
// of inputs on fresh connections at once; each input must get the error code and close code
// docs/PROTOCOL.md gives it, and a canary connection must still round-trip after every batch.

const clientTypes = new Set<string>(CLIENT_FRAME_TYPES);
/** Object keys that are not `t` and not forbidden (forbidden keys have their own property). */
const plainKey = fc
  .string({ maxLength: 8 })
  .filter((k) => k !== 't' && k !== '__proto__' && k !== 'constructor');
const plainJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.string({ maxLength: 10 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(plainKey, tie('value'), { maxKeys: 3 }),
  ),
})).value;

interface Input {
  text: string;
  error: string;
}

/** Frames that cannot be decoded, each with the documented error code. */
const undecodable: fc.Arbitrary<Input> = fc.oneof(
  fc
    .string({ unit: 'binary', maxLength: 40 })
    .filter((s) => {
      try {
        JSON.parse(s);
        return false;
      } catch {
        return true;
      }
    })
    .map((text) => ({ text, error: 'INVALID_JSON' })),
  fc
    .oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.string(),
      fc.constant(null),
      fc.array(plainJson, { maxLength: 3 }),
    )
    .map((v) => ({ text: JSON.stringify(v), error: 'NOT_AN_OBJECT' })),
  fc
    .dictionary(plainKey, plainJson, { maxKeys: 4 })
    .map((o) => ({ text: JSON.stringify(o), error: 'MISSING_FRAME_TYPE' })),
  fc
    .oneof(
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.integer(), { maxLength: 2 }),
      fc.dictionary(plainKey, fc.integer(), { maxKeys: 2 }),
    )
    .map((t) => ({ text: JSON.stringify({ t }), error: 'INVALID_FRAME_TYPE' })),
  fc
    .oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('welcome', 'msg', 'res', 'gap', 'sub', 'error', 'vol', 'presence', 'HELLO', 'hello '),
    )
    .filter((t) => !clientTypes.has(t))
    .map((t) => ({ text: JSON.stringify({ t, id: 'x' }), error: 'UNKNOWN_FRAME_TYPE' })),
);

/** A JSON number (as raw text, to reach values JSON.stringify cannot write) and its error code. */
const badInteger: fc.Arbitrary<{ raw: string; error: string }> = fc.oneof(
  fc.integer({ min: -(2 ** 31), max: -1 }).map((v) => ({ raw: String(v), error: 'NUMBER_OUT_OF_RANGE' })),
  fc
    .double({ min: 0.001, max: 1e12, noNaN: true })
    .filter((v) => !Number.isInteger(v))
    .map((v) => ({ raw: String(v), error: 'NOT_AN_INTEGER' })),
  fc
    .bigInt({ min: 2n ** 53n, max: 10n ** 40n })
    .map((v) => ({ raw: v.toString(), error: 'NUMBER_OUT_OF_RANGE' })),
  fc
    .oneof(fc.string({ maxLength: 6 }), fc.constant(null), fc.boolean(), fc.constant([]), fc.constant({}))
    .map((v) => ({
      raw: JSON.stringify(v),
      error: 'INVALID_FIELD_TYPE',
    })),
);

/** An id-like string value that breaks its rule (1–`max` visible ASCII), and its code. */
const badId = (max: number): fc.Arbitrary<{ raw: string; error: string }> =>
  fc.oneof(
    fc.constant({ raw: '""', error: 'STRING_TOO_SHORT' }),
    fc
      .string({ minLength: max + 1, maxLength: max + 300, unit: fc.constantFrom('a', 'Z', '9', '-') })
      .map((s) => ({ raw: JSON.stringify(s), error: 'STRING_TOO_LONG' })),
    fc
      .tuple(
        fc.string({ maxLength: 10, unit: fc.constantFrom('a', 'b') }),
        fc.constantFrom(' ', '\u0000', '\u007f', 'é', '\n', '\u00a0', '\ud800'),
      )
      .map(([s, bad]) => ({ raw: JSON.stringify(`${s}${bad}${s}`), error: 'INVALID_FORMAT' })),
    fc
      .oneof(fc.integer(), fc.constant(null), fc.constant(true), fc.constant(['x']))
      .map((v) => ({ raw: JSON.stringify(v), error: 'INVALID_FIELD_TYPE' })),
  );

/** Where a bad number or id goes: a frame template (`$` is replaced) and whether hello comes first. */
const numberSlots = [
  { hello: true, frame: '{"t":"ack","cursors":[{"stream":"broadcast","epoch":"e1","offset":$}]}' },
  {
    hello: false,
    frame:
      '{"t":"hello","version":1,"resume":{"sessionId":"s","resumeToken":"r","cursors":[{"stream":"broadcast","epoch":"e","offset":$}]}}',
  },
  { hello: true, frame: '{"t":"ping","ts":$}' },
  { hello: true, frame: '{"t":"pong","ts":$}' },
];
/** Where a bad id goes, with the field's length limit (docs/PROTOCOL.md, field limits). */
const idSlots = [
  { hello: true, max: 64, frame: '{"t":"pub","id":$,"type":"echo","data":{"n":1}}' },
  { hello: true, max: 64, frame: '{"t":"pub","id":"p","type":$,"data":{"n":1}}' },
  { hello: true, max: 64, frame: '{"t":"join","id":$,"room":"r"}' },
  { hello: true, max: 64, frame: '{"t":"leave","id":$,"room":"r"}' },
  { hello: true, max: 64, frame: '{"t":"refresh","id":$,"token":"abc"}' },
  { hello: true, max: 32, frame: '{"t":"ack","cursors":[{"stream":"broadcast","epoch":$,"offset":1}]}' },
  {
    hello: false,
    max: 128,
    frame: '{"t":"hello","version":1,"resume":{"sessionId":$,"resumeToken":"r","cursors":[]}}',
  },
  {
    hello: false,
    max: 128,
    frame: '{"t":"hello","version":1,"resume":{"sessionId":"s","resumeToken":$,"cursors":[]}}',
  },
];

describe('hostile frames get their documented error and close code; the server and the others carry on', () => {
  it('non-JSON, non-objects, missing/unknown/non-string types: error code, then 4400', async () => {
    const { server, url, errors } = await startServer({ limits: { connectionsPerAddress: 1000 } });
    recordNotes(server);
    const canary = await Canary.open(url);
    let inputs = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(undecodable, fc.boolean()), { minLength: 1, maxLength: 6 }),
        async (batch) => {
          await Promise.all(
            batch.map(async ([input, hello]) => {
              const c = await opened(url, hello);
              const from = c.frames.length;
              c.send(input.text);
              expect(await outcome(c, from)).toEqual({ error: input.error, close: 4400 });
              inputs++;
            }),
          );
          await canary.check();
        },
      ),
      { numRuns: runs(100) },
    );
    expect(server.stats().connections).toBe(1);
    expect(errors).toEqual([]);
    record('hostile-undecodable', { inputs, canaryChecks: canary.checks });
  });

  it('offsets, timestamps and versions that are negative, fractional, huge or not numbers; ids that break their rule', async () => {
    const { server, url, errors } = await startServer({ limits: { connectionsPerAddress: 1000 } });
    recordNotes(server);
    const canary = await Canary.open(url);
    let inputs = 0;
    const field = fc.oneof(
      fc.tuple(fc.constantFrom(...numberSlots), badInteger),
      fc.constantFrom(...idSlots).chain((slot) => fc.tuple(fc.constant(slot), badId(slot.max))),
      badInteger.map((v) => [{ hello: false, frame: '{"t":"hello","version":$}' }, v] as const),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(field, { minLength: 1, maxLength: 6 }), async (batch) => {
        await Promise.all(
          batch.map(async ([slot, bad]) => {
            const c = await opened(url, slot.hello);
            const from = c.frames.length;
            c.send(slot.frame.replace('$', bad.raw));
            expect(await outcome(c, from)).toEqual({ error: bad.error, close: 4400 });
            inputs++;
          }),
        );
        await canary.check();
      }),
      { numRuns: runs(100) },
    );
    expect(errors).toEqual([]);
    record('hostile-fields', { inputs, canaryChecks: canary.checks });
  });

  it('__proto__ and constructor keys anywhere, plain or escaped: FORBIDDEN_KEY, 4400, nothing polluted or handled', async () => {
    const { server, url, errors } = await startServer({ limits: { connectionsPerAddress: 1000 } });
    const handled = recordNotes(server);
    const canary = await Canary.open(url);
    let inputs = 0;
    const SLOT = '"FORBIDDEN_SLOT_KEY"';
    // A JSON value with the slot key somewhere inside (or at the top of the frame).
    const carrier = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(`{${SLOT}:{"polluted":true}}`),
        fc.constant(`{${SLOT}:{"prototype":{"polluted":true}}}`),
        fc.tuple(tie('value'), plainJson).map(([v, other]) => `[${JSON.stringify(other)},${v}]`),
        fc.tuple(plainKey, tie('value')).map(([k, v]) => `{${JSON.stringify(k)}:${v}}`),
      ),
    })).value as fc.Arbitrary<string>;
    const frame = fc.oneof(
      carrier.map((v) => ({ hello: true, text: `{"t":"pub","id":"p","type":"note","data":${v}}` })),
      carrier.map((v) => ({
        hello: true,
        text: `{"t":"pub","id":"p","type":"echo","data":{"n":1,"x":${v}}}`,
      })),
      fc.constant({
        hello: true,
        text: `{"t":"pub","id":"p","type":"echo",${SLOT}:{"polluted":true},"data":{"n":1}}`,
      }),
      carrier.map((v) => ({ hello: false, text: `{"t":"hello","version":1,"extra":${v}}` })),
      carrier.map((v) => ({ hello: true, text: `{"t":"join","id":"j","room":"r","x":${v}}` })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(frame, fc.constantFrom(...FORBIDDEN_SPELLINGS)), { minLength: 1, maxLength: 6 }),
        async (batch) => {
          await Promise.all(
            batch.map(async ([f, key]) => {
              const c = await opened(url, f.hello);
              const from = c.frames.length;
              c.send(f.text.replace(SLOT, key));
              expect(await outcome(c, from)).toEqual({ error: 'FORBIDDEN_KEY', close: 4400 });
              inputs++;
            }),
          );
          expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
          expect(Object.prototype).not.toHaveProperty('polluted');
          await canary.check();
        },
      ),
      { numRuns: runs(100) },
    );
    expect(handled.runs.size).toBe(0);
    expect(errors).toEqual([]);
    record('hostile-forbidden-keys', { inputs, canaryChecks: canary.checks });
  });

  it('payloads at maxPayload are handled and one byte over is refused with 1009, in any UTF-8 width', async () => {
    const maxPayload = 4096;
    const { server, url, errors } = await startServer({
      limits: { maxPayload, connectionsPerAddress: 1000 },
    });
    const handled = recordNotes(server);
    const canary = await Canary.open(url);
    const encoder = new TextEncoder();
    const sizes: number[] = [];
    /** A pub frame of exactly `bytes` UTF-8 bytes, padded with `unit` then ASCII. */
    const frameOf = (k: number, bytes: number, unit: string) => {
      const base = `{"t":"pub","id":"s${k}","type":"note","data":{"c":"size","k":${k},"pad":""}}`;
      let pad = '';
      const room = bytes - encoder.encode(base).length;
      const w = encoder.encode(unit).length;
      pad += unit.repeat(Math.floor(room / w));
      pad += 'x'.repeat(room - encoder.encode(pad).length);
      const text = base.replace('"pad":""', `"pad":"${pad}"`);
      expect(encoder.encode(text).length).toBe(bytes);
      return text;
    };
    let k = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: -64, max: 64 }), fc.constantFrom('a', 'é', '€', '😀')), {
          minLength: 1,
          maxLength: 6,
        }),
        async (batch) => {
          await Promise.all(
            batch.map(async ([delta, unit]) => {
              const id = ++k;
              const bytes = maxPayload + delta;
              sizes.push(bytes);
              const c = await opened(url, true);
              c.send(frameOf(id, bytes, unit));
              if (bytes <= maxPayload) {
                expect(await c.next((f) => f.t === 'res' && f.id === `s${id}`)).toMatchObject({
                  ok: true,
                  result: id,
                });
                await c.close();
              } else {
                expect((await c.closedPromise()).code).toBe(1009);
                expect(handled.count('size', id)).toBe(0);
              }
            }),
          );
          await canary.check();
        },
      ),
      { numRuns: runs(60) },
    );
    // The exact boundary, explicitly.
    for (const [bytes, ok] of [
      [maxPayload, true],
      [maxPayload + 1, false],
    ] as const) {
      const c = await opened(url, true);
      c.send(frameOf(++k, bytes, '€'));
      if (ok) expect(await c.next((f) => f.t === 'res')).toMatchObject({ ok: true });
      else expect((await c.closedPromise()).code).toBe(1009);
      await c.close();
    }
    expect(errors).toEqual([]);
    record('hostile-payload-size', { maxPayload, inputs: sizes.length + 2, canaryChecks: canary.checks });
  });

  it('nesting 100,000 levels deep is refused with TOO_DEEP and 4400; 64 levels are fine', async () => {
    const { server, url, errors } = await startServer({ limits: { maxPayload: 1024 * 1024 } });
    recordNotes(server);
    const canary = await Canary.open(url);
    const deep = (levels: number, kind: 'array' | 'object') =>
      kind === 'array'
        ? `${'['.repeat(levels)}${']'.repeat(levels)}`
        : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    for (const kind of ['array', 'object'] as const) {
      for (const hello of [true, false]) {
        const c = await opened(url, hello);
        const from = c.frames.length;
        c.send(
          hello
            ? `{"t":"pub","id":"d","type":"echo","data":${deep(100_000, kind)}}`
            : `{"t":"hello","version":1,"x":${deep(100_000, kind)}}`,
        );
        expect(await outcome(c, from)).toEqual({ error: 'TOO_DEEP', close: 4400 });
        await canary.check();
      }
      // The frame object is level 1: data nested 63 levels deep is at the limit of 64.
      const ok = await opened(url, true);
      ok.send(`{"t":"pub","id":"ok","type":"echo","data":${deep(63, kind)}}`);
      expect(await ok.next((f) => f.t === 'res')).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED' },
      });
      ok.send(`{"t":"pub","id":"over","type":"echo","data":${deep(64, kind)}}`);
      expect(await outcome(ok, 0)).toEqual({ error: 'TOO_DEEP', close: 4400 });
    }
    expect(errors).toEqual([]);
    record('hostile-depth', { levels: 100_000, canaryChecks: canary.checks });
  });

  it('invalid UTF-8 in a text frame is refused by the WebSocket layer (1007); binary frames get BINARY_FRAME and 4400', async () => {
    const { server, url, errors } = await startServer({ limits: { connectionsPerAddress: 1000 } });
    recordNotes(server);
    const canary = await Canary.open(url);
    let inputs = 0;
    const invalidUtf8 = fc.uint8Array({ minLength: 1, maxLength: 64 }).filter((b) => !isUtf8(b));
    const input = fc.oneof(
      invalidUtf8.map((bytes) => ({ bytes, binary: false })),
      // Valid JSON inside a (JSON-text-looking) invalid sequence: still invalid UTF-8.
      invalidUtf8.map((b) => ({
        bytes: Buffer.concat([Buffer.from('{"t":"ping","x":"'), b, Buffer.from('"}')]),
        binary: false,
      })),
      fc.uint8Array({ maxLength: 64 }).map((bytes) => ({ bytes, binary: true })),
      fc.constant({ bytes: Buffer.from('{"t":"hello","version":1}'), binary: true }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(input, fc.boolean()), { minLength: 1, maxLength: 6 }),
        async (batch) => {
          await Promise.all(
            batch.map(async ([{ bytes, binary }, hello]) => {
              const c = await opened(url, hello);
              const from = c.frames.length;
              c.ws.send(Buffer.from(bytes), { binary });
              expect(await outcome(c, from)).toEqual(
                binary ? { error: 'BINARY_FRAME', close: 4400 } : { close: 1007 },
              );
              inputs++;
            }),
          );
          await canary.check();
        },
      ),
      { numRuns: runs(100) },
    );
    // Lone surrogates are valid JSON escapes: refused where a field forbids them.
    const c = await opened(url, true);
    c.send('{"t":"join","id":"j","room":"a\\ud800b"}');
    expect(await outcome(c, 0)).toEqual({ error: 'INVALID_FORMAT', close: 4400 });
    expect(errors).toEqual([]);
    record('hostile-utf8-binary', { inputs: inputs + 1, canaryChecks: canary.checks });
  });
});
