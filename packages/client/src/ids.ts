/**
 * Message ids, unique per client: a random base36 prefix per client instance and a counter
 * (`k3j9x2-1`, `k3j9x2-2`...). The counter is persisted with the outbox so a restored client
 * never reuses the id of a stored message, even with the same prefix.
 */
export class Ids {
  /** The next counter value. */
  seq = 1;
  readonly #prefix: string;

  constructor(random: () => number) {
    this.#prefix = Math.floor(random() * 36 ** 8).toString(36);
  }

  /** A new id. */
  next(): string {
    return `${this.#prefix}-${(this.seq++).toString(36)}`;
  }
}
