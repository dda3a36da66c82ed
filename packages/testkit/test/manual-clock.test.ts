import { describe, expect, it } from 'vitest';
import { ManualClock } from '../src/index.js';

/** Resolves after one real I/O turn: stands for a reply from a server. */
const io = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('ManualClock', () => {
  it('runs due timers in time order when advanced, and intervals again', () => {
    const clock = new ManualClock(0);
    const seen: string[] = [];
    clock.setTimeout(() => seen.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => seen.push(`a@${clock.now()}`), 10);
    const every = clock.setInterval(() => seen.push(`i@${clock.now()}`), 15);
    clock.advance(30);
    clock.clearInterval(every);
    clock.advance(30);
    expect(seen).toEqual(['a@10', 'i@15', 'b@20', 'i@30']);
    expect(clock.now()).toBe(60);
  });

  it('runUntil drives a poll that waits on the clock between I/O', async () => {
    const clock = new ManualClock(0);
    const poll = async (): Promise<number> => {
      let wait = 20;
      for (let attempt = 1; ; attempt++) {
        await io();
        if (clock.now() >= 100) return attempt;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, wait));
        wait *= 2;
      }
    };
    // 0 -> 20 -> 60 -> 140: the fourth attempt sees the time past 100.
    expect(await clock.runUntil(poll())).toBe(4);
    expect(clock.now()).toBe(140);
  });

  it('runUntil passes a rejection through', async () => {
    const clock = new ManualClock(0);
    const failing = (async () => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 5));
      throw new Error('late failure');
    })();
    await expect(clock.runUntil(failing)).rejects.toThrow('late failure');
  });
});
