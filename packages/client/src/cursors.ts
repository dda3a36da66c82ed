import type { Cursor } from '@holdfast/protocol';
import type { AckOptions, Clock } from './options.js';

/** Most cursors in one `hello` or `ack` frame (`WireLimits.cursors`). */
const MAX_CURSORS = 1024;

/**
 * The client's position in every stream (`{epoch, offset}` of the last message it holds), the
 * duplicate filter, and the batching of cumulative acks.
 */
export class Cursors {
  readonly #map = new Map<string, { epoch: string; offset: number }>();
  readonly #unacked = new Set<string>();
  #count = 0;
  #timer: unknown;
  readonly #clock: Clock;
  readonly #options: AckOptions;
  readonly #write: (cursors: Cursor[]) => boolean;

  /** `write` sends an `ack` frame; it returns false when offline (the acks then wait). */
  constructor(clock: Clock, options: AckOptions, write: (cursors: Cursor[]) => boolean) {
    this.#clock = clock;
    this.#options = options;
    this.#write = write;
  }

  /**
   * A `msg` arrived: returns false for a duplicate (at or below the cursor, same epoch),
   * otherwise advances the cursor and schedules an ack. Skipped offsets are normal.
   */
  accept(stream: string, epoch: string, offset: number): boolean {
    const c = this.#map.get(stream);
    if (c && c.epoch === epoch && offset <= c.offset) return false;
    this.#map.set(stream, { epoch, offset });
    this.#unacked.add(stream);
    if (++this.#count >= this.#options.maxCount) this.flush();
    else this.#timer ??= this.#clock.setTimeout(() => this.flush(), this.#options.delayMs);
    return true;
  }

  /** Set a cursor as the server announced it (welcome, join, gap). */
  set(stream: string, epoch: string, offset: number): void {
    this.#map.set(stream, { epoch, offset });
  }

  /** The cursor of a stream, if any. */
  get(stream: string): { epoch: string; offset: number } | undefined {
    return this.#map.get(stream);
  }

  /** Forget a stream (left its room). */
  delete(stream: string): void {
    this.#map.delete(stream);
    this.#unacked.delete(stream);
  }

  /** Replace every cursor (after a `welcome`, which lists all subscribed streams). */
  reset(cursors: Iterable<Cursor>): void {
    this.#map.clear();
    this.cancel();
    for (const c of cursors) this.#map.set(c.stream, { epoch: c.epoch, offset: c.offset });
  }

  /** Every cursor, for `hello.resume` and persistence (at most 1024). */
  list(): Cursor[] {
    const out: Cursor[] = [];
    for (const [stream, c] of this.#map) {
      if (out.length === MAX_CURSORS) break;
      out.push({ stream, epoch: c.epoch, offset: c.offset });
    }
    return out;
  }

  /** Send the pending acks now (if connected). */
  flush(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#unacked.size === 0) return;
    const cursors: Cursor[] = [];
    for (const stream of this.#unacked) {
      const c = this.#map.get(stream);
      if (c) cursors.push({ stream, epoch: c.epoch, offset: c.offset });
      if (cursors.length === MAX_CURSORS) break;
    }
    if (cursors.length > 0 && !this.#write(cursors)) return;
    for (const c of cursors) this.#unacked.delete(c.stream);
    this.#count = this.#unacked.size;
  }

  /** Drop pending acks and their timer (disconnected: the next `hello` carries the cursors). */
  cancel(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#unacked.clear();
    this.#count = 0;
  }
}
