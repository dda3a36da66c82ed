import type { Except, StoredMessage } from './engine.js';

/** One retained entry: a plain message, or a growing one (docs/PROTOCOL.md §10.2). */
interface Entry extends StoredMessage {
  bytes: number;
  /** When its position was written (ms). */
  at: number;
  /** Growing: the offset of the message's first `msg` (its key). */
  start?: number | undefined;
}

/**
 * A slot of the log: an entry, or the position an entry had before it moved to a newer one (a
 * tombstone, a plain number: no allocation). Positions increase strictly along the array.
 */
type Slot = Entry | number;

const positionOf = (s: Slot): number => (typeof s === 'number' ? s : s.offset);

/**
 * A bounded in-memory log of one stream, entries in position order: offsets, retention by
 * count, bytes and age (oldest position first), growing messages (one entry each, moved to the
 * newest position on each append: updated in place when it is the newest already, else leaving
 * a tombstone; tombstones are compacted away), reads by position (binary search).
 */
export class StreamLog {
  readonly epoch: string;
  /** Last offset appended. */
  offset = 0;
  private slots: Slot[] = [];
  private start = 0;
  private bytes = 0;
  /** Live entries. */
  private live = 0;
  /** Tombstones between `start` and the end. */
  private dead = 0;
  /** Position of the last entry dropped by retention (0: none). */
  private dropped = 0;
  /** Open growing messages by start offset (created on the first one). */
  private growing: Map<number, Entry> | undefined;

  constructor(epoch: string) {
    this.epoch = epoch;
  }

  /** Number of retained entries. */
  get size(): number {
    return this.live;
  }

  /** Retained bytes. */
  get retainedBytes(): number {
    return this.bytes;
  }

  /** One more than the position of the last entry dropped (PROTOCOL.md §10.2). */
  get first(): number {
    return this.dropped + 1;
  }

  /** Append a message (`open`: it grows by appends; `start` is its offset). */
  append(
    frame: string,
    except: Except | undefined,
    at: number,
    maxMessages: number,
    maxBytes: number,
    open?: boolean,
  ): StoredMessage {
    this.offset += 1;
    const entry: Entry = open
      ? {
          offset: this.offset,
          frame,
          except,
          bytes: frame.length,
          at,
          parts: undefined,
          open: true,
          start: this.offset,
        }
      : { offset: this.offset, frame, except, bytes: frame.length, at };
    if (open) {
      if (!this.growing) this.growing = new Map();
      this.growing.set(this.offset, entry);
    }
    this.slots.push(entry);
    this.live += 1;
    this.bytes += entry.bytes;
    this.enforce(maxMessages, maxBytes);
    return entry;
  }

  /** The open growing message that started at `start`, if retained. */
  openEntry(start: number): StoredMessage | undefined {
    return this.growing?.get(start);
  }

  /**
   * Append one part to open message `start` at the next offset (the caller checked it is open):
   * `frame` is the `app` frame; `snapshot` (a complete `msg` frame) replaces the entry's
   * snapshot and pending parts. Returns the message's `except`.
   */
  appendPart(
    start: number,
    frame: string,
    snapshot: string | undefined,
    end: boolean,
    at: number,
    maxMessages: number,
    maxBytes: number,
  ): Except | undefined {
    const e = this.growing!.get(start)!;
    this.offset += 1;
    const last = this.slots.length - 1;
    if (this.slots[last] !== e) {
      // Leave the old position as a tombstone (a number) and move the entry to the end.
      const i = this.indexOf(e.offset);
      this.slots[i] = e.offset;
      this.dead += 1;
      this.slots.push(e);
    }
    e.offset = this.offset;
    e.at = at;
    if (snapshot !== undefined) {
      this.bytes += snapshot.length - e.bytes;
      e.frame = snapshot;
      e.parts = undefined;
      e.bytes = snapshot.length;
    } else {
      if (e.parts) e.parts.push(frame);
      else e.parts = [frame];
      e.bytes += frame.length;
      this.bytes += frame.length;
    }
    if (end) {
      e.open = undefined;
      this.growing!.delete(start);
    }
    this.enforce(maxMessages, maxBytes);
    if (this.dead > 32 && this.dead * 2 > this.slots.length - this.start) this.compact();
    return e.except;
  }

  /** Drop entries whose position was written before `before` (ms). */
  trimAge(before: number): void {
    for (;;) {
      const e = this.oldest();
      if (!e || e.at >= before) return;
      this.dropOldest();
    }
  }

  /** Retained entries with position > after, at most limit (open ones as copies). */
  read(after: number, limit: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    if (this.live === 0 || after >= this.offset) return out;
    for (let i = this.lowerBound(after + 1); i < this.slots.length && out.length < limit; i++) {
      const s = this.slots[i]!;
      if (typeof s !== 'number') out.push(s.open ? copy(s) : s);
    }
    return out;
  }

  /** Open entries at positions <= upTo (copies). */
  openUpTo(upTo: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    if (!this.growing || this.growing.size === 0) return out;
    for (const e of this.growing.values()) if (e.offset <= upTo) out.push(copy(e));
    return out.sort((a, b) => a.offset - b.offset);
  }

  /**
   * R of a rewind (PROTOCOL.md §10.5): just below the oldest of the newest `count` entries
   * whose position was written at or after `since`; the head when none.
   */
  rewindPoint(count: number, since: number): { offset: number; count: number } {
    let n = 0;
    let r = this.offset;
    for (let i = this.slots.length - 1; i >= this.start && n < count; i--) {
      const s = this.slots[i]!;
      if (typeof s === 'number') continue;
      if (s.at < since) break;
      n += 1;
      r = s.offset - 1;
    }
    return { offset: r, count: n };
  }

  private oldest(): Entry | undefined {
    while (this.start < this.slots.length) {
      const s = this.slots[this.start]!;
      if (typeof s !== 'number') return s;
      this.slots[this.start] = undefined as never;
      this.start += 1;
      this.dead -= 1;
    }
    return undefined;
  }

  private enforce(maxMessages: number, maxBytes: number): void {
    while (this.live > maxMessages || (this.bytes > maxBytes && this.live > 1)) this.dropOldest();
  }

  private dropOldest(): void {
    const e = this.oldest();
    if (!e) return;
    this.bytes -= e.bytes;
    this.live -= 1;
    this.dropped = e.offset;
    if (e.open) this.growing!.delete(e.start!);
    this.slots[this.start] = undefined as never;
    this.start += 1;
    if (this.start > 1024 && this.start * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.start);
      this.start = 0;
    }
  }

  /** Drop the tombstones. */
  private compact(): void {
    const next: Slot[] = [];
    for (let i = this.start; i < this.slots.length; i++) {
      const s = this.slots[i]!;
      if (typeof s !== 'number') next.push(s);
    }
    this.slots = next;
    this.start = 0;
    this.dead = 0;
  }

  /** Index of the first slot at position >= p. */
  private lowerBound(p: number): number {
    let lo = this.start;
    let hi = this.slots.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (positionOf(this.slots[mid]!) < p) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private indexOf(position: number): number {
    return this.lowerBound(position);
  }
}

function copy(e: Entry): StoredMessage {
  return {
    offset: e.offset,
    frame: e.frame,
    parts: e.parts ? e.parts.slice() : undefined,
    open: e.open,
    except: e.except,
  };
}
