import { HoldfastError } from './protocol.js';

/** Frames the client sends outside the outbox (less their id), each answered by a `res` with that id. */
export type ControlFrame =
  | { t: 'join' | 'leave'; room: string; rewind?: { count?: number; ageMs?: number } }
  | { t: 'refresh'; token: string };

/** A caller's promise. */
export interface Caller {
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/** How a `res` ended. */
export type Outcome = { ok: true; result: unknown } | { ok: false; error: HoldfastError };

/** Settle a caller's promise with an outcome. */
export const settle = (caller: Caller | undefined, outcome: Outcome) =>
  outcome.ok ? caller?.resolve(outcome.result) : caller?.reject(outcome.error);

/** The `CLIENT_CLOSED` error pending calls reject with when the client stops or disconnects. */
export const closedError = (message = 'Client closed', details?: Record<string, unknown>) =>
  new HoldfastError('CLIENT_CLOSED', message, { details });

/** Promises waiting for the same moment (the next `welcome`), all settled at once. */
export class Waiters {
  #list: Caller[] = [];

  /** A promise settled at the next {@link Waiters.settle}. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => this.#list.push({ resolve, reject }));
  }

  /** Resolve every waiting promise, or reject them all with `error`. */
  settle(error?: unknown): void {
    const list = this.#list;
    this.#list = [];
    for (const w of list)
      settle(w, error ? { ok: false, error: error as HoldfastError } : { ok: true, result: undefined });
  }
}

/** A control frame waiting for its `res`. */
interface Control extends Caller {
  text: string;
  /** The room of a `join`/`leave`: those are resent after a reconnect. None for a `refresh`. */
  room: string | undefined;
}

/**
 * The `join`, `leave` and `refresh` frames waiting for their `res`, by id. Unlike outbox
 * messages they are not persisted nor bounded: rooms are persisted as a set and re-joined
 * instead, and a refresh only makes sense on its own connection.
 */
export class Controls {
  readonly #byId = new Map<string, Control>();

  /** Wait for the `res` to control frame `text` sent with `id` (`room`: of a join or leave). */
  add(id: string, text: string, room: string | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => this.#byId.set(id, { text, room, resolve, reject }));
  }

  /** Settle control `id` with the outcome of its `res`; false when `id` is not a control's. */
  settle(id: string, outcome: Outcome): boolean {
    const control = this.#byId.get(id);
    if (!control) return false;
    this.#byId.delete(id);
    settle(control, outcome);
    return true;
  }

  /** Drop the `rewind` of pending joins of `room` (it was granted: a resend would rewind twice). */
  unrewind(room: string): void {
    for (const c of this.#byId.values()) {
      if (c.room === room) c.text = c.text.replace(/,"rewind":\{[^}]*\}/, '');
    }
  }

  /** The pending joins and leaves, in send order: resent after a reconnect. */
  rooms(): { text: string; room: string }[] {
    return [...this.#byId.values()].filter((c): c is Control & { room: string } => c.room !== undefined);
  }

  /**
   * Reject the controls that belonged to the connection (it ended: refreshes), or all of them
   * with `all` (the client stopped).
   */
  reject(error: HoldfastError, all?: boolean): void {
    for (const [id, c] of this.#byId) {
      if (!all && c.room !== undefined) continue;
      this.#byId.delete(id);
      c.reject(error);
    }
  }
}
