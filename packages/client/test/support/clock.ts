import type { Clock } from '../../src/index.js';

/** Let pending promise callbacks and I/O callbacks run (one macrotask turn). Not a sleep. */
export const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock that only moves when the test says so. Timers run in due order; promise callbacks
 * settle between timers.
 */
export class ManualClock implements Clock {
  private t = 1_700_000_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now = (): number => this.t;

  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.timers.delete(handle as number);
  };

  /** Timers waiting. */
  get pending(): number {
    return this.timers.size;
  }

  /** Move time forward by `ms`, running every timer that comes due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await tick();
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
    await tick();
  }
}
