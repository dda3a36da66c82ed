import type { GapEvent } from '@holdfast/client';
import { Streams } from '@holdfast/protocol';
import { Signal } from './signal.js';

/** A gap the client reported: messages of a stream that will never arrive. */
export interface HoldfastGap extends GapEvent {
  /** Increasing per store: a React key, and what {@link GapLog.dismiss} takes. */
  seq: number;
  /** The room of the stream, for a room stream. */
  room: string | undefined;
}

const NONE: readonly HoldfastGap[] = Object.freeze([]);

/**
 * The gaps reported since the provider mounted, the newest `limit` kept, so a component that
 * mounts after a gap still shows it until it is dismissed.
 */
export class GapLog {
  readonly signal = new Signal();
  #gaps: readonly HoldfastGap[] = NONE;
  #seq = 0;

  constructor(private readonly limit: number) {}

  /** Every gap kept, oldest first (a stable array between changes). */
  get gaps(): readonly HoldfastGap[] {
    return this.#gaps;
  }

  /** Record a gap event. */
  add(gap: GapEvent): void {
    const entry: HoldfastGap = { ...gap, seq: ++this.#seq, room: Streams.roomOf(gap.stream) };
    this.#gaps = Object.freeze([...this.#gaps, entry].slice(-this.limit));
    this.signal.notify();
  }

  /** Forget the gaps that `match` (all of them without a predicate). */
  dismiss(match: (gap: HoldfastGap) => boolean = () => true): void {
    const next = this.#gaps.filter((g) => !match(g));
    if (next.length === this.#gaps.length) return;
    this.#gaps = next.length ? Object.freeze(next) : NONE;
    this.signal.notify();
  }
}
