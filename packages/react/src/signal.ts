/** A listener set: what `useSyncExternalStore` subscribes to. No I/O. */
export class Signal {
  readonly #listeners = new Set<() => void>();

  /** Add `listener`; returns the function that removes it. */
  subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  };

  /** How many listeners there are. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Call every listener. */
  notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

/** Schedules a function soon (a microtask by default): how a release waits for a remount. */
export type Defer = (fn: () => void) => void;

/** The default {@link Defer}: after the current task's synchronous work, before any timer. */
export const microtask: Defer = (fn) => queueMicrotask(fn);
