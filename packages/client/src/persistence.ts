import { decode, HelloSchema, JoinSchema } from '@holdfast/protocol';
import { z } from 'zod';
import type { OutboxEntry } from './outbox.js';
import type { ClientStorage } from './storage.js';

/** What a client keeps in storage (version 1). Validated on load; anything else is ignored. */
const PersistedSchema = z.object({
  v: z.literal(1),
  /** Session, resume token and cursors: what `hello.resume` needs. */
  resume: HelloSchema.shape.resume,
  rooms: z.array(JoinSchema.shape.room),
  /** Encoded `pub` frames, in send order. */
  outbox: z.array(z.object({ kind: z.enum(['send', 'request']), text: z.string() })),
  /** The id counter, so a restored client never reuses a stored message's id. */
  seq: z.int().nonnegative(),
  maxPayload: z.int().positive().optional(),
});

/** The persisted client state. */
export type PersistedState = z.output<typeof PersistedSchema>;

/**
 * Read the state; `undefined` when absent or not valid (a warning is reported). Synchronous
 * when the storage is, so a client over `webStorage`/`memoryStorage` is restored at creation.
 */
export function loadState(
  storage: ClientStorage,
  key: string,
  report: (message: string, error: unknown) => void,
): PersistedState | undefined | Promise<PersistedState | undefined> {
  const parse = (text: string | null | undefined): PersistedState | undefined => {
    if (text == null) return undefined;
    try {
      const r = PersistedSchema.safeParse(JSON.parse(text));
      if (r.success) return r.data;
      report('holdfast: ignoring invalid stored state', r.error.issues[0]?.message);
    } catch (error) {
      report('holdfast: could not read stored state', error);
    }
    return undefined;
  };
  const failed = (error: unknown) => {
    report('holdfast: could not read stored state', error);
    return undefined;
  };
  try {
    const got = storage.get(key);
    // Strings and null/undefined are synchronous answers; anything else is a promise (or thenable).
    return typeof got === 'object' && got !== null ? Promise.resolve(got).then(parse, failed) : parse(got);
  } catch (error) {
    return failed(error);
  }
}

/**
 * Outbox entries from stored `pub` frames (any that no longer decode are skipped). They have no
 * caller: their outcome is reported as `ack` events.
 */
export function restoredEntries(stored: PersistedState['outbox'], encoder: TextEncoder): OutboxEntry[] {
  const entries: OutboxEntry[] = [];
  for (const { kind, text } of stored) {
    const r = decode(text, 'client');
    if (!r.ok || r.frame.t !== 'pub') continue;
    const { id, type, data } = r.frame;
    // `written`: it may have reached the server before the reload; a timeout never drops it.
    entries.push({
      id,
      type,
      kind,
      data,
      text,
      bytes: encoder.encode(text).length,
      state: 'queued',
      written: true,
    });
  }
  return entries;
}

/**
 * Writes the state after changes, at most once per microtask (many changes in one task are one
 * write), and in order (an async storage never sees an older state land after a newer one).
 */
export class Persister {
  #scheduled = false;
  #chain: Promise<void> = Promise.resolve();
  readonly #storage: ClientStorage;
  readonly #key: string;
  readonly #snapshot: () => PersistedState;
  readonly #report: (message: string, error: unknown) => void;

  constructor(
    storage: ClientStorage,
    key: string,
    snapshot: () => PersistedState,
    report: (message: string, error: unknown) => void,
  ) {
    this.#storage = storage;
    this.#key = key;
    this.#snapshot = snapshot;
    this.#report = report;
  }

  /** Note a change; the state is written at the end of the current task. */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      const text = JSON.stringify(this.#snapshot());
      this.#chain = this.#chain
        .then(() => this.#storage.set(this.#key, text))
        .catch((error) => this.#report('holdfast: could not write stored state', error));
    });
  }

  /** Resolves when every scheduled write has finished. */
  async flush(): Promise<void> {
    // Let a write scheduled in this task start first.
    await Promise.resolve();
    await this.#chain;
  }
}
