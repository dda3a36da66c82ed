import { describe, expect, it } from 'vitest';
import {
  CloseCode,
  closeCodeTable,
  closeReason,
  describeClose,
  isRetryable,
  parseRetryAfter,
} from '../src/index.js';

describe('close codes', () => {
  it('classifies every code in the table', () => {
    const retryable = closeCodeTable()
      .filter((c) => c.retryable)
      .map((c) => c.code);
    expect(retryable.sort()).toEqual([1001, 1005, 1006, 1011, 1012, 1013, 4008, 4408, 4429, 4500]);
    const terminal = closeCodeTable()
      .filter((c) => !c.retryable)
      .map((c) => c.code);
    expect(terminal.sort()).toEqual([1000, 1009, 4000, 4400, 4401, 4403, 4406, 4409, 4413]);
  });

  it('has a table entry for every named code', () => {
    for (const code of Object.values(CloseCode)) {
      expect(describeClose(code).name).not.toBe('unknown');
      expect(describeClose(code).reason.length).toBeGreaterThan(0);
    }
  });

  it('treats unknown codes as network trouble and refusals as terminal', () => {
    expect(isRetryable(4999)).toBe(true);
    expect(isRetryable(1008)).toBe(false);
    expect(describeClose(1008).name).toBe('refused');
    expect(isRetryable(CloseCode.Unauthorized)).toBe(false);
    expect(isRetryable(CloseCode.Restart)).toBe(true);
  });

  it('builds reasons under the 123-byte limit with a retry-after hint', () => {
    const r = closeReason(CloseCode.RateLimited, 'x'.repeat(500), 1500);
    expect(Buffer.byteLength(r)).toBeLessThanOrEqual(123);
    expect(parseRetryAfter(r)).toBe(1500);
    expect(closeReason(CloseCode.Forbidden, 'origin ☃')).toBe('Forbidden: origin ?');
    expect(parseRetryAfter('Rate limited')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });
});
