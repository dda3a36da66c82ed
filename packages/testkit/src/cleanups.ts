/**
 * What a test set up and must undo, undone in reverse order after it: the suites' shared
 * `defer`. Register `afterEach(() => cleanups.run())` once per fixture module.
 *
 * @example
 * ```ts
 * const cleanups = new Cleanups();
 * afterEach(() => cleanups.run());
 * export const defer = cleanups.defer;
 * defer(() => server.close());
 * ```
 */
export class Cleanups {
  private readonly fns: (() => unknown)[] = [];

  /** Register something to undo after the current test. */
  readonly defer = (fn: () => unknown): void => {
    this.fns.push(fn);
  };

  /** Undo everything registered, last first (each awaited before the next). */
  async run(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) await fn();
  }
}
