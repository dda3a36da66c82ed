/**
 * Bookkeeping per message id for the "exactly once, in order" checks. Ids are `${stream}#${n}`:
 * `n` counts from 1 in each logical stream.
 */

/** How one received sequence compares with `1..expected` (or with itself when `expected` is undefined). */
export interface SequenceCheck {
  /** Messages received (with duplicates). */
  received: number;
  /** Distinct message numbers received. */
  unique: number;
  /** Messages received more than once (extra copies). */
  duplicates: number;
  /** Times a number arrived after a higher one. */
  outOfOrder: number;
  /** How many of 1..expected never arrived. */
  missing: number;
  /** The first few missing numbers, to read a failure. */
  firstMissing: number[];
}

/** Check a sequence of numbers as received against `1..expected`. */
export function checkSequence(got: readonly number[], expected?: number): SequenceCheck {
  const seen = new Set<number>();
  let duplicates = 0;
  let outOfOrder = 0;
  let last = Number.NEGATIVE_INFINITY;
  for (const n of got) {
    if (seen.has(n)) duplicates++;
    seen.add(n);
    if (n < last) outOfOrder++;
    last = Math.max(last, n);
  }
  const firstMissing: number[] = [];
  let missing = 0;
  if (expected !== undefined) {
    for (let n = 1; n <= expected; n++) {
      if (seen.has(n)) continue;
      missing++;
      if (firstMissing.length < 10) firstMissing.push(n);
    }
  }
  return { received: got.length, unique: seen.size, duplicates, outOfOrder, missing, firstMissing };
}

/** Numbers received per logical stream, in arrival order. */
export class Received {
  readonly streams = new Map<string, number[]>();

  add(stream: string, n: number): void {
    let list = this.streams.get(stream);
    if (!list) {
      list = [];
      this.streams.set(stream, list);
    }
    list.push(n);
  }

  get(stream: string): number[] {
    return this.streams.get(stream) ?? [];
  }

  /** Messages received over all streams. */
  get total(): number {
    let n = 0;
    for (const list of this.streams.values()) n += list.length;
    return n;
  }
}

/**
 * Server-side record of client messages: how many times a handler ran per id, and the first-run
 * order per sender.
 */
export class Handled {
  readonly runs = new Map<string, number>();
  readonly order = new Map<string, number[]>();

  /** A handler ran for message `k` of sender `c`. */
  add(c: string, k: number): void {
    const id = `${c}#${k}`;
    const before = this.runs.get(id) ?? 0;
    this.runs.set(id, before + 1);
    if (before > 0) return;
    let list = this.order.get(c);
    if (!list) {
      list = [];
      this.order.set(c, list);
    }
    list.push(k);
  }

  /** How often message `k` of sender `c` was handled. */
  count(c: string, k: number): number {
    return this.runs.get(`${c}#${k}`) ?? 0;
  }

  /** Ids handled more than once. */
  twice(): string[] {
    return [...this.runs].filter(([, n]) => n > 1).map(([id]) => id);
  }
}
