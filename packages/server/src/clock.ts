/** Time source and timers, injectable so tests can drive time (vi.useFakeTimers works with the default). */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Like the global `setInterval`. */
  setInterval(fn: () => void, ms: number): unknown;
  /** Like the global `clearInterval`. */
  clearInterval(handle: unknown): void;
  /** Like the global `setTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Like the global `clearTimeout`. */
  clearTimeout(handle: unknown): void;
}

/** The real clock. Looks the globals up on every call so fake timers installed later apply. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setInterval: (fn, ms) => {
    const h = setInterval(fn, ms);
    h.unref?.();
    return h;
  },
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * `n` as V8's small integer when it is one. A difference of two epoch-millisecond times (heap
 * numbers) is itself a heap number even when small and whole: stored in an object, it costs a
 * 16-byte box and turns the field into a boxed double for every object of that shape.
 */
export function smallInt(n: number): number {
  const i = n | 0;
  return i === n ? i : n;
}
