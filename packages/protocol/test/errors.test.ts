import { describe, expect, it } from 'vitest';
import { ErrorCode, HoldfastError } from '../src/index.js';

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
