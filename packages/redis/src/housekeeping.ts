import type { Link } from './link.js';

/** One periodic task: how often, and what it does. */
export interface Chore {
  /** Name, for error reports. */
  name: string;
  /** Period (ms). */
  everyMs: number;
  /** The work; a rejection is reported, not thrown. */
  run: () => Promise<void>;
}

/**
 * Periodic housekeeping, driven by the server's sweep (no timer of its own): each chore
 * (renew leases, renew slots, trim watched streams) runs at its own pace on the injected
 * clock, never twice at once; failures are reported through the link.
 */
export class Housekeeping {
  private readonly tasks = new Map<string, { next: number; running: boolean }>();

  constructor(
    private readonly link: Link,
    private readonly chores: readonly Chore[],
  ) {}

  /** Start the chores that are due (the first call only schedules them). */
  sweep(): void {
    if (this.link.state !== 'started') return;
    const now = this.link.clock.now();
    for (const chore of this.chores) this.every(chore, now);
  }

  private every(chore: Chore, now: number): void {
    let t = this.tasks.get(chore.name);
    if (!t) {
      t = { next: now + chore.everyMs, running: false };
      this.tasks.set(chore.name, t);
      return;
    }
    if (t.running || now < t.next) return;
    t.running = true;
    t.next = now + chore.everyMs;
    const task = t;
    chore
      .run()
      .catch((err) => this.link.report(chore.name, err))
      .finally(() => {
        task.running = false;
      });
  }
}
