import { describe, expect, it } from 'vitest';
import { failedResumeStatus, resumeStatus } from '../src/resume.js';

// The rows of docs/PROTOCOL.md §4.2, one by one. Head: epoch E, offsets 11..20 retained.
const head = { epoch: 'E', first: 11, offset: 20 };
const at = (epoch: string, offset: number) => ({ epoch, offset });

describe('resume rules (PROTOCOL.md §4.2)', () => {
  it('starts from the client’s cursor, else the last ack, else the subscription start', () => {
    expect(resumeStatus('s', head, at('E', 15), at('E', 12), at('E', 10))).toEqual({
      stream: 's',
      epoch: 'E',
      offset: 15,
      status: 'recovered',
    });
    expect(resumeStatus('s', head, undefined, at('E', 12), at('E', 10))).toMatchObject({ offset: 12 });
    expect(resumeStatus('s', head, undefined, undefined, at('E', 13))).toMatchObject({
      status: 'recovered',
      offset: 13,
    });
  });

  it('raises a cursor below the subscription start to it (nothing lost)', () => {
    expect(resumeStatus('s', head, at('E', 0), at('E', 14), at('E', 14))).toEqual({
      stream: 's',
      epoch: 'E',
      offset: 14,
      status: 'recovered',
    });
  });

  it('reports trimmed messages after the cursor as a retention gap, above the start only', () => {
    expect(resumeStatus('s', head, at('E', 3), undefined, at('E', 0))).toEqual({
      stream: 's',
      epoch: 'E',
      offset: 10,
      status: 'gap',
      reason: 'retention',
      from: 4,
      to: 10,
    });
    expect(resumeStatus('s', head, at('E', 0), undefined, at('E', 6))).toMatchObject({ from: 7, to: 10 });
  });

  it('reports a cursor ahead of the head as unknown, at the head', () => {
    expect(resumeStatus('s', head, at('E', 99), undefined, at('E', 0))).toEqual({
      stream: 's',
      epoch: 'E',
      offset: 20,
      status: 'gap',
      reason: 'unknown',
    });
  });

  it('reports an older epoch of the subscription as an epoch gap: 1..first-1 of the new epoch lost', () => {
    expect(resumeStatus('s', head, at('OLD', 7), at('OLD', 7), at('OLD', 2))).toEqual({
      stream: 's',
      epoch: 'E',
      offset: 10,
      status: 'gap',
      reason: 'epoch',
      from: 1,
      to: 10,
    });
    // Complete new epoch: no range.
    const whole = { epoch: 'E', first: 1, offset: 5 };
    expect(resumeStatus('s', whole, at('OLD', 7), at('OLD', 7), at('OLD', 2))).toEqual({
      stream: 's',
      epoch: 'E',
      offset: 0,
      status: 'gap',
      reason: 'epoch',
    });
  });

  it('ignores a made-up epoch: unknown, at the server’s own cursor, never a replay of the retention', () => {
    // The later of the last ack and the start, of the current epoch.
    expect(resumeStatus('s', head, at('FORGED', 0), at('E', 16), at('E', 12))).toEqual({
      stream: 's',
      epoch: 'E',
      offset: 16,
      status: 'gap',
      reason: 'unknown',
    });
    expect(resumeStatus('s', head, at('FORGED', 0), at('E', 5), at('E', 12))).toMatchObject({ offset: 12 });
    // Neither of the current epoch: the first retained offset - 1.
    expect(resumeStatus('s', head, at('FORGED', 0), at('OLD', 5), at('OLD', 1))).toMatchObject({
      reason: 'unknown',
      offset: 10,
    });
  });
});

describe('failed resume entries (PROTOCOL.md §4.2)', () => {
  it('new without a cursor; else a gap at the head with what of its epoch is lost', () => {
    expect(failedResumeStatus('b', head, undefined, 'expired')).toEqual({
      stream: 'b',
      epoch: 'E',
      offset: 20,
      status: 'new',
    });
    expect(failedResumeStatus('b', head, at('E', 17), 'expired')).toEqual({
      stream: 'b',
      epoch: 'E',
      offset: 20,
      status: 'gap',
      reason: 'expired',
      from: 18,
      to: 20,
    });
    expect(failedResumeStatus('b', head, at('OLD', 17), 'forbidden')).toMatchObject({
      reason: 'forbidden',
      from: 1,
      to: 20,
    });
    const nothingLost = failedResumeStatus('b', head, at('E', 20), 'expired');
    expect(nothingLost).toEqual({ stream: 'b', epoch: 'E', offset: 20, status: 'gap', reason: 'expired' });
    const empty = failedResumeStatus('b', { epoch: 'E', first: 1, offset: 0 }, at('OLD', 3), 'expired');
    expect(empty).toEqual({ stream: 'b', epoch: 'E', offset: 0, status: 'gap', reason: 'expired' });
  });
});
