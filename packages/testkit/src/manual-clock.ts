/**
 * A clock the test moves by hand: `advance(ms)` runs due timers in order.
 *
 * It implements the `Clock` of `@holdfast/server` (the one clock interface; the Redis engine
 * takes the same). Structurally: testkit cannot import the server, whose tests depend on
 * testkit; every suite that passes it as a server's or engine's `clock` checks the fit.
 */
export class ManualClock {
  private t: number;
  private seq = 0;
  private timers = new Map<number, { at: number; every?: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setInterval(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, every: ms, fn });
    return id;
  }

  clearInterval(h: unknown): void {
    this.timers.delete(h as number);
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(h: unknown): void {
    this.timers.delete(h as number);
  }

  /** Move time forward, running every timer that falls due, in time order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; every?: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      const [id, timer] = next;
      this.t = timer.at;
      if (timer.every) timer.at += timer.every;
      else this.timers.delete(id);
      timer.fn();
    }
    this.t = end;
  }

  /**
   * Drive time until `promise` settles: let pending I/O run for one turn, then jump to the
   * next timer, and again. For code that waits on the clock between real I/O (a poll with
   * backoff against Redis). Never gives up by itself: the test's timeout bounds it.
   */
  async runUntil<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    const watched = promise.finally(() => {
      settled = true;
    });
    watched.catch(() => {});
    while (!settled) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (settled) break;
      let next: { at: number } | undefined;
      for (const t of this.timers.values()) if (!next || t.at < next.at) next = t;
      if (next) this.advance(Math.max(0, next.at - this.t));
    }
    return watched;
  }
}
