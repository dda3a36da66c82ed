import { describe, expect, it } from 'vitest';
import { Emitter } from '../src/events.js';

type Events = Record<string, (n: number, tag?: string) => void>;

describe('Emitter', () => {
  it('calls listeners in order with every argument, until unsubscribed', () => {
    const e = new Emitter<Events>();
    const seen: string[] = [];
    const off = e.on('a', (n, tag) => seen.push(`1:${n}${tag}`));
    e.on('a', (n) => seen.push(`2:${n}`));
    e.emit('a', 1, 'x');
    off();
    e.emit('a', 2);
    e.emit('b', 3);
    expect(seen).toEqual(['1:1x', '2:1', '2:2']);
  });

  it('calls a once listener once; off() with the listener removes it before it fires', () => {
    const e = new Emitter<Events>();
    const seen: number[] = [];
    const listener = (n: number) => seen.push(n);
    e.once('a', listener);
    e.emit('a', 1);
    e.emit('a', 2);
    e.once('a', listener);
    e.off('a', listener);
    e.emit('a', 3);
    const off = e.once('a', listener);
    off();
    e.emit('a', 4);
    expect(seen).toEqual([1]);
  });

  it('applies listeners added or removed during an emit from the next one', () => {
    const e = new Emitter<Events>();
    const seen: string[] = [];
    const second = (n: number) => seen.push(`second:${n}`);
    e.on('a', (n) => {
      seen.push(`first:${n}`);
      if (n === 1) {
        e.off('a', second);
        e.on('a', (m) => seen.push(`late:${m}`));
      }
    });
    e.on('a', second);
    e.emit('a', 1);
    e.emit('a', 2);
    expect(seen).toEqual(['first:1', 'second:1', 'first:2', 'late:2']);
  });

  it('accepts any event name, Object.prototype ones included', () => {
    const e = new Emitter<Events>();
    const seen: string[] = [];
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      e.on(name, (n) => seen.push(`${name}:${n}`));
      e.emit(name, 1);
    }
    expect(seen).toEqual(['constructor:1', '__proto__:1', 'toString:1', 'hasOwnProperty:1']);
  });

  it("lets a listener's throw reach the caller of emit", () => {
    const e = new Emitter<Events>();
    e.on('a', () => {
      throw new Error('app bug');
    });
    expect(() => e.emit('a', 1)).toThrow('app bug');
  });
});
