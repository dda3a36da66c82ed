import type { Cursor } from '@holdfast/protocol';
import type { ResolvedOptions } from './options.js';

/** Most cursors in one `hello` or `ack` frame (`WireLimits.cursors`). */
const MAX_CURSORS = 1024;

/**
 * The client's position in every stream (`{epoch, offset}` of the last message it holds), the
 * duplicate filter, and the batching of cumulative acks.
 */
export class Cursors {
  /** By stream. Entries are replaced, never changed, so they can be handed out as they are. */
  readonly #map = new Map<string, Cursor>();
  /** Streams whose cursor moved since the last ack (always a subset of `#map`'s keys). */
  readonly #unacked = new Set<string>();
  /** Messages accepted since the last ack. */
  #count = 0;
  #timer: unknown;
  readonly #o: ResolvedOptions;
  readonly #write: (cursors: Cursor[]) => boolean;

  /**
   * Uses the client's `clock` and `ack` options. `write` sends an `ack` frame; it returns
   * false when offline (the acks then wait).
   */
  constructor(o: ResolvedOptions, write: (cursors: Cursor[]) => boolean) {
    this.#o = o;
    this.#write = write;
  }

  /**
   * A `msg` arrived: returns false for a duplicate (at or below the cursor, same epoch),
   * otherwise advances the cursor and schedules an ack. Skipped offsets are normal.
   */
  accept(stream: string, epoch: string, offset: number): boolean {
    if (!this.advance(stream, epoch, offset)) return false;
    this.#unacked.add(stream);
    if (++this.#count >= this.#o.ack.maxCount) this.flush();
    else this.#timer ??= this.#o.clock.setTimeout(() => this.flush(), this.#o.ack.delayMs);
    return true;
  }

  /**
   * Move a cursor forward (as a message or the server announced: join, gap), never backward
   * in one epoch unless `back` (a rewind, docs/PROTOCOL.md §10.5). Returns whether it moved.
   */
  advance(stream: string, epoch: string, offset: number, back?: boolean): boolean {
    const c = this.#map.get(stream);
    if (!back && c && c.epoch === epoch && offset <= c.offset) return false;
    this.#map.set(stream, { stream, epoch, offset });
    return true;
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
    for (const { stream, epoch, offset } of cursors) this.#map.set(stream, { stream, epoch, offset });
  }

  /** Every cursor, for `hello.resume` and persistence (at most 1024). */
  list(): Cursor[] {
    return [...this.#map.values()].slice(0, MAX_CURSORS);
  }

  /** Send the pending acks now (if connected). */
  flush(): void {
    this.#stop();
    if (this.#unacked.size === 0) return;
    const cursors = [...this.#unacked].slice(0, MAX_CURSORS).map((stream) => this.#map.get(stream)!);
    if (!this.#write(cursors)) return;
    for (const c of cursors) this.#unacked.delete(c.stream);
    this.#count = this.#unacked.size;
  }

  /** Drop pending acks and their timer (disconnected: the next `hello` carries the cursors). */
  cancel(): void {
    this.#stop();
    this.#unacked.clear();
    this.#count = 0;
  }

  #stop(): void {
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
