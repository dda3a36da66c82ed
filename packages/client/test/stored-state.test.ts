import { describe, expect, it } from 'vitest';
import { parsePersisted, restoredEntries } from '../src/stored-state.js';

// The stored state read back is checked by plain code with the wire's rules (no zod schemas in
// the browser bundle): anything a server would refuse in `hello.resume` is refused here too.

const cursor = { stream: 'room:lobby', epoch: 'e1', offset: 3 };
const valid = {
  v: 1,
  resume: { sessionId: 's1', resumeToken: 'r1', cursors: [cursor], snapshots: true },
  user: 'ann',
  rooms: ['lobby'],
  outbox: [{ kind: 'send', text: '{"t":"pub","id":"a-1","type":"say","data":{"text":"hi"}}' }],
  seq: 2,
  maxPayload: 65536,
};

describe('stored state', () => {
  it('reads a valid state back as a fresh object of the known fields only', () => {
    const extra = {
      ...valid,
      junk: 1,
      resume: { ...valid.resume, junk: 2, cursors: [{ ...cursor, junk: 3 }] },
      outbox: [{ ...valid.outbox[0], junk: 4 }],
    };
    expect(parsePersisted(JSON.parse(JSON.stringify(extra)))).toEqual(valid);
    expect(parsePersisted({ v: 1, rooms: [], outbox: [], seq: 0 })).toEqual({
      v: 1,
      resume: undefined,
      user: undefined,
      rooms: [],
      outbox: [],
      seq: 0,
      maxPayload: undefined,
    });
  });

  it.each([
    ['a wrong version', { v: 2 }],
    ['no version', { v: undefined }],
    ['rooms not an array', { rooms: 'lobby' }],
    ['an outbox entry of another type', { outbox: ['{}'] }],
    ['a negative id counter', { seq: -1 }],
    ['no id counter', { seq: undefined }],
    ['a session id with a space', { resume: { ...valid.resume, sessionId: 'has space' } }],
    ['a negative cursor offset', { resume: { ...valid.resume, cursors: [{ ...cursor, offset: -1 }] } }],
    [
      'a stream with a control character',
      { resume: { ...valid.resume, cursors: [{ ...cursor, stream: 'a\u0000' }] } },
    ],
    ['too many cursors', { resume: { ...valid.resume, cursors: Array(1025).fill(cursor) } }],
    ['snapshots not a boolean', { resume: { ...valid.resume, snapshots: 'yes' } }],
    ['a user over 256 characters', { user: 'u'.repeat(257) }],
    ['an empty room name', { rooms: [''] }],
    ['a room name over 128 characters', { rooms: ['r'.repeat(129)] }],
    ['an unknown outbox kind', { outbox: [{ kind: 'other', text: '{}' }] }],
    ['an outbox entry without text', { outbox: [{ kind: 'send' }] }],
    ['a fractional id counter', { seq: 1.5 }],
    ['a zero maxPayload', { maxPayload: 0 }],
  ])('refuses %s', (_, change) => {
    expect(typeof parsePersisted({ ...valid, ...change })).toBe('string');
  });

  it('says what is wrong and where, with the wire error code', () => {
    expect(parsePersisted({ ...valid, rooms: ['lobby', ''] })).toBe(
      'Invalid stored state at rooms.1: STRING_TOO_SHORT',
    );
    expect(parsePersisted({ ...valid, v: 2 })).toBe('Invalid stored state at v: INVALID_VALUE');
    expect(parsePersisted(null)).toBe('Invalid stored state at : INVALID_FIELD_TYPE');
    expect(
      parsePersisted({ ...valid, resume: { ...valid.resume, cursors: [{ ...cursor, offset: 1.5 }] } }),
    ).toBe('Invalid stored state at resume.cursors.0.offset: NOT_AN_INTEGER');
  });

  it('restores the stored pub frames that decode, whatever their size, and skips the others', () => {
    const big = `{"t":"pub","id":"a-2","type":"say","data":{"text":"${'x'.repeat(70_000)}"}}`;
    const entries = restoredEntries([
      valid.outbox[0] as { kind: 'send'; text: string },
      { kind: 'request', text: '{"t":"pub","id":"has space","type":"say"}' },
      { kind: 'send', text: '{"t":"pub","id":"a-3","type":"say","data":{"__proto__":{"x":1}}}' },
      { kind: 'send', text: '{"t":"join","id":"a-4","room":"lobby"}' },
      { kind: 'send', text: '{not json' },
      { kind: 'request', text: big },
    ]);
    expect(entries.map((e) => [e.id, e.kind, e.written])).toEqual([
      ['a-1', 'send', true],
      ['a-2', 'request', true],
    ]);
    expect(entries[0]).toMatchObject({ type: 'say', data: { text: 'hi' }, state: 'queued' });
  });
});
