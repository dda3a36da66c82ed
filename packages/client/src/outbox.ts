import type { OutboxOptions } from './options.js';
import { HoldfastError, utf8Length } from './protocol.js';

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
  /** Times the server said it could not record this message (`UNAVAILABLE` with its id). */
  refusals?: number;
  /** The timer of the resend after such a refusal. */
  retryTimer?: unknown;
}

/**
 * A new entry, `queued`, for the `pub` frame `frame` encoded as `text`. `written`: whether it
 * may have reached the server already.
 */
export function outboxEntry(
  kind: OutboxKind,
  { id, type, data }: { id: string; type: string; data?: unknown },
  text: string,
  written: boolean,
): OutboxEntry {
  return { id, type, kind, data, text, bytes: utf8Length(text), state: 'queued', written };
}

/**
 * Messages sent by the app and not yet answered, in send order, bounded by count and bytes.
 */
export class Outbox {
  readonly #entries = new Map<string, OutboxEntry>();
  #bytes = 0;
  readonly #limits: OutboxOptions;

  constructor(limits: OutboxOptions) {
    this.#limits = limits;
  }

  /** Append an entry, or return an `OUTBOX_OVERFLOW` error when it does not fit. */
  add(entry: OutboxEntry): HoldfastError | undefined {
    const { maxCount, maxBytes } = this.#limits;
    if (this.#entries.size + 1 > maxCount || this.#bytes + entry.bytes > maxBytes) {
      return new HoldfastError('OUTBOX_OVERFLOW', 'Outbox full', { details: { maxCount, maxBytes } });
    }
    this.#put(entry);
  }

  /** Put restored entries before the current ones (they were sent earlier). Bounds are not applied. */
  prepend(restored: OutboxEntry[]): void {
    for (const e of [...restored, ...this.clear()]) if (!this.#entries.has(e.id)) this.#put(e);
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
  values(): OutboxEntry[] {
    return [...this.#entries.values()];
  }

  /** Remove every entry and return them. */
  clear(): OutboxEntry[] {
    const all = this.values();
    this.#entries.clear();
    this.#bytes = 0;
    return all;
  }

  #put(e: OutboxEntry): void {
    this.#entries.set(e.id, e);
    this.#bytes += e.bytes;
  }
}
