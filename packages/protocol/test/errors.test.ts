import { describe, expect, it } from 'vitest';
import { decode, ErrorCode, HoldfastError, utf8Length } from '../src/index.js';

describe('HoldfastError.fromBody', () => {
  it('keeps every code of the ErrorCode table', () => {
    for (const code of Object.values(ErrorCode)) {
      expect(HoldfastError.fromBody({ code, message: 'm' }).code).toBe(code);
    }
  });

  it('turns a code outside the table into INTERNAL, keeping message, issues and details', () => {
    for (const code of ['NOPE', 'timeout', 'Timeout', '', 'toString', 'constructor']) {
      const e = HoldfastError.fromBody({
        code,
        message: 'from the server',
        issues: [{ path: ['a', 0], message: 'bad' }],
        details: { retryAfterMs: 5 },
      });
      expect(e).toBeInstanceOf(HoldfastError);
      expect(e.code).toBe('INTERNAL');
      expect(e.message).toBe('from the server');
      expect(e.issues).toEqual([{ path: ['a', 0], message: 'bad' }]);
      expect(e.details).toEqual({ retryAfterMs: 5 });
    }
  });

  it('leaves issues and details out when the body has none (or null)', () => {
    const e = HoldfastError.fromBody({ code: 'FORBIDDEN', message: 'no' });
    expect([e.issues, e.details]).toEqual([undefined, undefined]);
    expect(e.toBody()).toStrictEqual({ code: 'FORBIDDEN', message: 'no' });
    const n = HoldfastError.fromBody({
      code: 'FORBIDDEN',
      message: 'no',
      issues: null,
      details: null,
    } as never);
    expect(n.toBody()).toStrictEqual({ code: 'FORBIDDEN', message: 'no' });
  });

  it('gives back what toBody sent', () => {
    const e = new HoldfastError('RATE_LIMITED', 'slow down', { details: { retryAfterMs: 100 } });
    expect(HoldfastError.fromBody(e.toBody()).toBody()).toEqual(e.toBody());
  });
});

describe('utf8Length', () => {
  it('counts UTF-8 bytes, as decode counts them against maxBytes', () => {
    expect(utf8Length('')).toBe(0);
    expect(utf8Length('hello')).toBe(5);
    expect(utf8Length('héllo')).toBe(6);
    expect(utf8Length('€')).toBe(3);
    expect(utf8Length('😀')).toBe(4);
    const text = JSON.stringify({ t: 'ping', pad: 'é'.repeat(10) });
    const codeAt = (maxBytes: number) => {
      const r = decode(text, 'server', { maxBytes });
      return r.ok ? undefined : r.error.code;
    };
    expect(codeAt(utf8Length(text))).toBeUndefined();
    expect(codeAt(utf8Length(text) - 1)).toBe('FRAME_TOO_LARGE');
  });
});
