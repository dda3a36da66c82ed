import { ErrorCode, HoldfastError } from '@holdfast/protocol';
import type { OutboxOptions } from './options.js';

/** Whether an outbox entry is an app message (`send`) or a request (`request`). */
export type OutboxKind = 'send' | 'request';

/**
 * A message waiting for the server's `res`, as listed by `client.pending()`. `queued`: not
 * written on the current connection yet; `sent`: written, waiting for its `res`.
 */
export interface PendingMessage {
  id: string;
  type: string;
  kind: OutboxKind;
  state: 'queued' | 'sent';
  data: unknown;
}

/** One outbox entry: the message, its encoded `pub` frame, and its caller (if still alive). */
export interface OutboxEntry extends PendingMessage {
  /** The encoded `pub` frame, resent as is (same id) after every reconnect. */
  text: string;
  /** UTF-8 size of `text`. */
  bytes: number;
  /** Whether the frame was ever written to a socket (a timed-out entry that was not is dropped). */
  written: boolean;
  /** The caller's promise; absent for entries restored from storage. */
  settle?: { resolve(value: unknown): void; reject(error: unknown): void };
  /** The caller's deadline timer. */
  timer?: unknown;
}

/**
 * Messages sent by the app and not yet answered, in send order, bounded by count and bytes.
 */
export class Outbox {
  #entries = new Map<string, OutboxEntry>();
  #bytes = 0;
  readonly #limits: OutboxOptions;

  constructor(limits: OutboxOptions) {
    this.#limits = limits;
  }

  /** How many messages are held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Append an entry, or return an `OUTBOX_OVERFLOW` error when it does not fit. */
  add(entry: OutboxEntry): HoldfastError | undefined {
    if (this.#entries.size + 1 > this.#limits.maxCount || this.#bytes + entry.bytes > this.#limits.maxBytes) {
      return new HoldfastError(ErrorCode.OutboxOverflow, 'Outbox full', {
        details: { maxCount: this.#limits.maxCount, maxBytes: this.#limits.maxBytes },
      });
    }
    this.#entries.set(entry.id, entry);
    this.#bytes += entry.bytes;
    return undefined;
  }

  /** Put restored entries before the current ones (they were sent earlier). Bounds are not applied. */
  prepend(restored: OutboxEntry[]): void {
    const current = this.#entries;
    this.#entries = new Map();
    for (const e of [...restored, ...current.values()]) {
      if (!this.#entries.has(e.id)) this.#entries.set(e.id, e);
    }
    this.#bytes = 0;
    for (const e of this.#entries.values()) this.#bytes += e.bytes;
  }

  /** Remove and return an entry (its `res` arrived, or it timed out unsent). */
  take(id: string): OutboxEntry | undefined {
    const e = this.#entries.get(id);
    if (e) {
      this.#entries.delete(id);
      this.#bytes -= e.bytes;
    }
    return e;
  }

  /** The entries in send order. */
  values(): IterableIterator<OutboxEntry> {
    return this.#entries.values();
  }

  /** Remove every entry and return them. */
  clear(): OutboxEntry[] {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    this.#bytes = 0;
    return all;
  }
}
