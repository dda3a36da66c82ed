import { describe, expect, it } from 'vitest';
import { type StreamState, StreamTable } from '../src/connection.js';
import { SetMap } from '../src/set-map.js';

describe('SetMap', () => {
  it('keeps one member without a Set and switches both ways as members come and go', () => {
    const m = new SetMap<string, string>();
    expect(m.add('u', 'a')).toBe(true);
    expect(m.add('u', 'a')).toBe(false);
    expect(m.raw('u')).toBe('a');
    expect(m.add('u', 'b')).toBe(true);
    expect(m.raw('u')).toBeInstanceOf(Set);
    expect(m.count('u')).toBe(2);
    expect(m.has('u', 'b')).toBe(true);
    expect(m.delete('u', 'x')).toBe(false);
    expect(m.delete('u', 'a')).toBe(true);
    expect(m.raw('u')).toBe('b');
    expect(m.list('u')).toEqual(['b']);
    expect(m.delete('u', 'a')).toBe(false);
    expect(m.delete('u', 'b')).toBe(true);
    expect(m.hasKey('u')).toBe(false);
    expect(m.count('u')).toBe(0);
    expect(m.size).toBe(0);
  });
});

const state = (stream: string, sent = 0): StreamState => ({
  stream,
  next: undefined,
  epoch: 'e',
  sent,
  acked: 0,
  pending: undefined,
});

describe('StreamTable', () => {
  it('finds, replaces and removes streams, in order, below and above the size that adds an index', () => {
    const t = new StreamTable();
    const names = Array.from({ length: 20 }, (_, i) => `room:r${i}`);
    for (const [i, name] of names.entries()) {
      t.set(state(name, i));
      expect(t.size).toBe(i + 1);
      // Every stream added so far is found, whichever representation the table uses now.
      for (const [j, n] of names.slice(0, i + 1).entries()) expect(t.get(n)?.sent).toBe(j);
    }
    expect(t.keys()).toEqual(names);
    t.set(state('room:r3', 99));
    expect(t.size).toBe(20);
    expect(t.get('room:r3')?.sent).toBe(99);
    for (const name of names.slice(0, 17)) expect(t.delete(name)).toBe(true);
    expect(t.delete('room:r0')).toBe(false);
    expect(t.keys()).toEqual(names.slice(17));
    expect(t.get('room:r18')?.sent).toBe(18);
    expect(t.has('room:r3')).toBe(false);
    t.clear();
    expect(t.size).toBe(0);
    expect(t.get('room:r19')).toBeUndefined();
  });
});
