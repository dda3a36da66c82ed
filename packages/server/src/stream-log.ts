import type { Except, StoredMessage } from './engine.js';

interface Entry extends StoredMessage {
  bytes: number;
  at: number;
}

/** A bounded in-memory log of one stream: offsets, retention by count, bytes and age. */
export class StreamLog {
  readonly epoch: string;
  /** Last offset appended. */
  offset = 0;
  private entries: Entry[] = [];
  private start = 0;
  private bytes = 0;

  constructor(epoch: string) {
    this.epoch = epoch;
  }

  /** Number of retained messages. */
  get size(): number {
    return this.entries.length - this.start;
  }

  /** Retained bytes. */
  get retainedBytes(): number {
    return this.bytes;
  }

  /** Oldest retained offset, or offset + 1 when empty. */
  get first(): number {
    return this.size > 0 ? this.entries[this.start]!.offset : this.offset + 1;
  }

  append(
    frame: string,
    except: Except | undefined,
    at: number,
    maxMessages: number,
    maxBytes: number,
  ): StoredMessage {
    this.offset += 1;
    const entry: Entry = { offset: this.offset, frame, except, bytes: frame.length, at };
    this.entries.push(entry);
    this.bytes += entry.bytes;
    while (this.size > maxMessages || (this.bytes > maxBytes && this.size > 1)) this.dropOldest();
    return entry;
  }

  /** Drop messages older than `before` (ms). */
  trimAge(before: number): void {
    while (this.size > 0 && this.entries[this.start]!.at < before) this.dropOldest();
  }

  /** Retained messages with offset > after, at most limit. */
  read(after: number, limit: number): StoredMessage[] {
    if (this.size === 0 || after >= this.offset) return [];
    const firstOffset = this.entries[this.start]!.offset;
    const from = this.start + Math.max(0, after + 1 - firstOffset);
    return this.entries.slice(from, from + limit);
  }

  private dropOldest(): void {
    const e = this.entries[this.start]!;
    this.bytes -= e.bytes;
    this.entries[this.start] = undefined as never;
    this.start += 1;
    if (this.start > 1024 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start);
      this.start = 0;
    }
  }
}
