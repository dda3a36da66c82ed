import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_TYPES,
  decode,
  encode,
  encodeMsgBody,
  encodeMsgFrame,
  FRAME_SCHEMAS,
  FrameSchema,
  ProtocolError,
  SERVER_FRAME_TYPES,
} from '../src/index.js';
import { validFrames } from './fixtures.js';

const errorOf = (raw: unknown, from: 'client' | 'server' | 'any' = 'any', opts = {}) => {
  const r = decode(raw, from, opts);
  if (r.ok) throw new Error(`expected an error, decoded ${JSON.stringify(r.frame)}`);
  expect(r.error).toBeInstanceOf(ProtocolError);
  return r.error;
};

describe('valid frames', () => {
  it('has an example of every frame type', () => {
    const covered = new Set(validFrames.map((f) => f.t));
    expect([...FRAME_SCHEMAS.keys()].filter((t) => !covered.has(t as never))).toEqual([]);
  });

  it.each(validFrames.map((f) => [f.t, f] as const))('%s round-trips through encode/decode', (_t, frame) => {
    const text = encode(frame);
    const r = decode(text);
    expect(r).toEqual({ ok: true, frame });
    expect(FrameSchema.safeParse(frame).success).toBe(true);
  });

  it('accepts client frames only from clients and server frames only from servers', () => {
    for (const frame of validFrames) {
      const text = encode(frame);
      const fromClient = (CLIENT_FRAME_TYPES as readonly string[]).includes(frame.t);
      const fromServer = (SERVER_FRAME_TYPES as readonly string[]).includes(frame.t);
      expect(decode(text, 'client').ok).toBe(fromClient);
      expect(decode(text, 'server').ok).toBe(fromServer);
    }
    expect(errorOf(encode(validFrames.find((f) => f.t === 'welcome')!), 'client').code).toBe(
      'UNKNOWN_FRAME_TYPE',
    );
  });

  it('drops unknown fields (forward compatible)', () => {
    const r = decode('{"t":"ping","ts":5,"future":true}');
    expect(r).toEqual({ ok: true, frame: { t: 'ping', ts: 5 } });
  });

  it('encodes msg frames from parts exactly like encode()', () => {
    const body = encodeMsgBody('chat', { text: 'héllo "x"' }, 42);
    const text = encodeMsgFrame('room:a"b', 'e1', 7, body);
    const frame = {
      t: 'msg',
      stream: 'room:a"b',
      epoch: 'e1',
      offset: 7,
      type: 'chat',
      data: { text: 'héllo "x"' },
      ts: 42,
    };
    expect(JSON.parse(text)).toEqual(frame);
    expect(decode(text, 'server')).toEqual({ ok: true, frame });
    expect(JSON.parse(encodeMsgFrame('s', 'e', 1, encodeMsgBody('t', undefined, 1)))).toEqual({
      t: 'msg',
      stream: 's',
      epoch: 'e',
      offset: 1,
      type: 't',
      ts: 1,
    });
  });
});

describe('decode errors, one code each', () => {
  it.each([
    ['not JSON', '{"t":', 'INVALID_JSON'],
    ['empty', '', 'INVALID_JSON'],
    ['number input', 42, 'INVALID_JSON'],
    ['binary Buffer', new Uint8Array([123, 125]), 'BINARY_FRAME'],
    ['binary ArrayBuffer', new ArrayBuffer(2), 'BINARY_FRAME'],
    ['fragments array', [new Uint8Array([1])], 'BINARY_FRAME'],
    ['array', '[1,2]', 'NOT_AN_OBJECT'],
    ['null', 'null', 'NOT_AN_OBJECT'],
    ['string', '"ping"', 'NOT_AN_OBJECT'],
    ['no t', '{"id":"x"}', 'MISSING_FRAME_TYPE'],
    ['numeric t', '{"t":1}', 'INVALID_FRAME_TYPE'],
    ['null t', '{"t":null}', 'INVALID_FRAME_TYPE'],
    ['unknown t', '{"t":"launch"}', 'UNKNOWN_FRAME_TYPE'],
    ['prototype t', '{"t":"__proto__"}', 'UNKNOWN_FRAME_TYPE'],
    ['toString t', '{"t":"toString"}', 'UNKNOWN_FRAME_TYPE'],
    ['wrong field type', '{"t":"pub","id":5,"type":"x"}', 'INVALID_FIELD_TYPE'],
    ['missing field', '{"t":"pub","type":"x"}', 'INVALID_FIELD_TYPE'],
    [
      'negative offset',
      '{"t":"ack","cursors":[{"stream":"s","epoch":"e","offset":-1}]}',
      'NUMBER_OUT_OF_RANGE',
    ],
    [
      'fractional offset',
      '{"t":"ack","cursors":[{"stream":"s","epoch":"e","offset":1.5}]}',
      'NOT_AN_INTEGER',
    ],
    [
      'offset above 2^53',
      '{"t":"ack","cursors":[{"stream":"s","epoch":"e","offset":9007199254740992}]}',
      'NUMBER_OUT_OF_RANGE',
    ],
    [
      'huge offset',
      '{"t":"ack","cursors":[{"stream":"s","epoch":"e","offset":1e308}]}',
      'NUMBER_OUT_OF_RANGE',
    ],
    [
      'string offset',
      '{"t":"ack","cursors":[{"stream":"s","epoch":"e","offset":"1"}]}',
      'INVALID_FIELD_TYPE',
    ],
    ['oversize id', `{"t":"pub","id":"${'x'.repeat(65)}","type":"x"}`, 'STRING_TOO_LONG'],
    ['empty room', '{"t":"join","id":"j","room":""}', 'STRING_TOO_SHORT'],
    ['control char in room', '{"t":"join","id":"j","room":"a\\u0000b"}', 'INVALID_FORMAT'],
    ['lone surrogate room', '{"t":"join","id":"j","room":"a\\ud800b"}', 'INVALID_FORMAT'],
    ['space in id', '{"t":"pub","id":"a b","type":"x"}', 'INVALID_FORMAT'],
    ['bad enum', '{"t":"sub","op":"kick","room":"a","stream":"room:a"}', 'INVALID_VALUE'],
    [
      'too many cursors',
      `{"t":"ack","cursors":[${Array(1025).fill('{"stream":"s","epoch":"e","offset":1}').join(',')}]}`,
      'ARRAY_TOO_LONG',
    ],
    ['__proto__ key', '{"t":"pub","id":"m","type":"x","data":{"__proto__":{"admin":true}}}', 'FORBIDDEN_KEY'],
    [
      'escaped __proto__ key',
      '{"t":"pub","id":"m","type":"x","data":{"\\u005f_proto__":{}}}',
      'FORBIDDEN_KEY',
    ],
    [
      'constructor key',
      '{"t":"pub","id":"m","type":"x","data":[{"constructor":{"prototype":{}}}]}',
      'FORBIDDEN_KEY',
    ],
    ['top-level __proto__', '{"t":"ping","__proto__":{"x":1}}', 'FORBIDDEN_KEY'],
    [
      'deep nesting',
      `{"t":"pub","id":"m","type":"x","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      'TOO_DEEP',
    ],
    ['bad version', '{"t":"hello","version":0}', 'NUMBER_OUT_OF_RANGE'],
  ] as const)('%s -> %s', (_name, raw, code) => {
    expect(errorOf(raw, 'any', { maxBytes: 1_000_000 }).code).toBe(code);
  });

  it('rejects frames over maxBytes, counting UTF-8 bytes', () => {
    const frame = (s: string) => `{"t":"pub","id":"m","type":"x","data":"${s}"}`;
    const base = frame('').length;
    expect(decode(frame('a'.repeat(100 - base)), 'client', { maxBytes: 100 }).ok).toBe(true);
    expect(errorOf(frame('a'.repeat(101 - base)), 'client', { maxBytes: 100 }).code).toBe('FRAME_TOO_LARGE');
    // 'é' is one UTF-16 unit but two UTF-8 bytes
    expect(errorOf(frame('é'.repeat(60)), 'client', { maxBytes: 100 }).code).toBe('FRAME_TOO_LARGE');
  });

  it('keeps data nested exactly at the depth limit and rejects one more level', () => {
    // frame object = depth 1, data array = depth 2
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    expect(decode(`{"t":"pub","id":"m","type":"x","data":${nest(9)}}`, 'client', { maxDepth: 10 }).ok).toBe(
      true,
    );
    expect(
      errorOf(`{"t":"pub","id":"m","type":"x","data":${nest(10)}}`, 'client', { maxDepth: 10 }).code,
    ).toBe('TOO_DEEP');
  });

  it('error messages never echo input values', () => {
    const err = errorOf('{"t":"pub","id":"SECRET TOKEN","type":"x"}');
    expect(err.message).not.toContain('SECRET');
    expect(JSON.stringify(err.issues)).not.toContain('SECRET');
  });
});

describe('encode', () => {
  it('throws a ProtocolError for an invalid frame', () => {
    expect(() => encode({ t: 'msg', stream: 's', epoch: 'e', offset: -1, type: 'x', ts: 1 })).toThrow(
      ProtocolError,
    );
    expect(() => encode({ t: 'nope' } as never)).toThrow(/Unknown frame type/);
  });
});
