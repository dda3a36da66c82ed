import type { ResolvedOptions } from './options.js';
import { type OutboxEntry, type OutboxKind, outboxEntry } from './outbox.js';
import { type Persist, type Resume, resumeOf, type StoredParts } from './persistence.js';
import {
  applyRule,
  array,
  checkClientFrame,
  checkJsonValue,
  HoldfastError,
  int,
  object,
  oneOf,
  optional,
  resumeRule,
  roomRule,
  str,
  text,
} from './protocol.js';

// What option `storage` adds to a client: its state (session, cursors, rooms, outbox) written
// after changes and read back, checked, at creation. Imported by storage.ts only, so a client
// without a storage does not bundle it.

/** What a client keeps in storage (version 1). Validated on load; anything else is ignored. */
export interface PersistedState {
  v: 1;
  /** Session, resume token and cursors: what `hello.resume` needs. */
  resume?: Resume | undefined;
  /** The user the session (and so the outbox) belongs to (docs/PROTOCOL.md §4.4). */
  user?: string | undefined;
  rooms: string[];
  /** Encoded `pub` frames, in send order. */
  outbox: { kind: OutboxKind; text: string }[];
  /** The id counter, so a restored client never reuses a stored message's id. */
  seq: number;
  maxPayload?: number | undefined;
}

/** The rule of a stored state: the wire's rules (the resume's are those of `hello.resume`). */
const STATE = object({
  v: oneOf(1),
  resume: optional(resumeRule),
  user: optional(text(256, (v) => typeof v === 'string' && v.length <= 256)),
  rooms: array(roomRule),
  outbox: array(object({ kind: oneOf('send', 'request'), text: str })),
  seq: int(0),
  maxPayload: optional(int(1)),
});

/**
 * A stored state read back (parsed JSON), checked by plain code with the wire's rules (the
 * resume by those of `hello.resume`), as a fresh object of the known fields only; a string
 * saying what is wrong otherwise (`Invalid stored state at rooms.0: INVALID_FORMAT`).
 */
export function parsePersisted(value: unknown): PersistedState | string {
  const r = applyRule(STATE, value, 'Invalid stored state');
  return r instanceof HoldfastError ? r.message : (r as PersistedState);
}

/** The state to store: the session (`hello.resume`), rooms, outbox, id counter, frame limit. */
export function snapshot(parts: StoredParts): PersistedState {
  return {
    v: 1,
    resume: resumeOf(parts),
    user: parts.user,
    rooms: [...parts.rooms],
    outbox: parts.calls.outbox.values().map(({ kind, text }) => ({ kind, text })),
    seq: parts.calls.seq,
    maxPayload: parts.calls.maxPayload,
  };
}

/** Put a stored state back into a new client's parts (stored messages go before any sent meanwhile). */
export function restore(state: PersistedState, parts: StoredParts): void {
  parts.user = state.user;
  for (const room of state.rooms) parts.rooms.add(room);
  parts.calls.seq = Math.max(parts.calls.seq, state.seq);
  parts.calls.maxPayload ??= state.maxPayload;
  parts.calls.outbox.prepend(restoredEntries(state.outbox));
  if (!state.resume) return;
  const { cursors, snapshots, ...session } = state.resume;
  parts.session = session;
  parts.snapshots = true;
  parts.cursors.reset(cursors);
}

/**
 * Outbox entries from stored `pub` frames (any that no longer decode are skipped). They have no
 * caller: their outcome is reported as `ack` events.
 */
export function restoredEntries(stored: PersistedState['outbox']): OutboxEntry[] {
  const entries: OutboxEntry[] = [];
  for (const { kind, text } of stored) {
    const frame = pubOf(text);
    // `written`: it may have reached the server before the reload; a timeout never drops it.
    if (frame) entries.push(outboxEntry(kind, frame, text, true));
  }
  return entries;
}

/** A stored `pub` frame's fields, checked as the client checks the frames it sends; undefined when not one. */
function pubOf(text: string): { id: string; type: string; data?: unknown } | undefined {
  let f: { t: 'pub'; id: string; type: string; data?: unknown };
  try {
    f = JSON.parse(text);
  } catch {
    return;
  }
  // Only an object has an own `t` of "pub".
  if (f?.t !== 'pub' || checkJsonValue(f, 64) || checkClientFrame(f)) return;
  return f;
}

/**
 * The client's state in its `storage` under `storageKey`. Writes happen after changes, at most
 * once per microtask (many changes in one task are one write; with an async storage, changes
 * made during a write are one write after it), and in order (an async storage never sees an
 * older state land after a newer one). Failures are logged as warnings.
 */
export class Persister {
  #scheduled = false;
  #chain: Promise<void> = Promise.resolve();
  readonly #o: ResolvedOptions;
  readonly #snapshot: () => PersistedState;

  /** Uses the client's `storage` (set), `storageKey` and `logger` options. */
  constructor(o: ResolvedOptions, snapshot: () => PersistedState) {
    this.#o = o;
    this.#snapshot = snapshot;
  }

  /**
   * Read the state and hand it to `apply`: `undefined` when absent or not valid (a warning is
   * logged). At once when the storage is synchronous, so a client over
   * `webStorage`/`memoryStorage` is restored at creation. Resolves once applied.
   */
  restore(apply: (state: PersistedState | undefined) => void): Promise<void> {
    // JSON.parse may throw: that is a failed read too.
    const parse = (text: string | null | undefined): PersistedState | undefined => {
      if (text == null) return;
      const r = parsePersisted(JSON.parse(text));
      if (typeof r === 'object') return r;
      this.#warn('ignoring invalid stored state', r);
    };
    const failed = (error: unknown): undefined => {
      this.#warn('could not read stored state', error);
    };
    let state: PersistedState | undefined;
    try {
      const got = this.#o.storage!.get(this.#o.storageKey);
      // Strings and null/undefined are synchronous answers; anything else is a promise (or thenable).
      if (typeof got === 'object' && got !== null) {
        return Promise.resolve(got).then(parse).catch(failed).then(apply);
      }
      state = parse(got);
    } catch (error) {
      failed(error);
    }
    return Promise.resolve(apply(state));
  }

  /**
   * Note a change; the state is written at the end of the current task, or after the write in
   * progress (changes made meanwhile are one write).
   */
  schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#chain = this.#chain
      .then(() => {
        this.#scheduled = false;
        return this.#o.storage!.set(this.#o.storageKey, JSON.stringify(this.#snapshot()));
      })
      .catch((error) => this.#warn('could not write stored state', error));
  }

  /** Resolves when every scheduled write has finished. */
  flush(): Promise<void> {
    return this.#chain;
  }

  #warn(message: string, error: unknown): void {
    this.#o.logger?.warn({ error: String(error) }, `holdfast: ${message}`);
  }
}

/**
 * The persistence every storage of storage.ts brings: restore the stored state into `parts`,
 * then write it after each change.
 */
export const persist: Persist = (o, parts, ready) => {
  const persister = new Persister(o, () => snapshot(parts));
  return persister.restore((state) => {
    if (state) restore(state, parts);
    ready(persister);
  });
};
