import type { HoldfastError, WelcomeFrame } from '@holdfast/protocol';
import type { Calls } from './calls.js';
import { ErrorCode, Streams } from './protocol.js';
import type { JoinResult } from './types.js';

/** What {@link Rooms} asks of its client. */
export interface RoomsHandlers {
  /** Write a frame to the current connection. */
  send(text: string): void;
  /** Note a change of the persisted state. */
  persist(): void;
  /** Report an error (an `error` event). */
  report(error: unknown): void;
}

/**
 * The rooms the client is in or is joining: remembered (and persisted) from the `join()`,
 * kept in step with `sub` frames, and joined again when the server starts a new session.
 */
export class Rooms {
  /** The room names. */
  readonly names = new Set<string>();
  readonly #calls: Calls;
  readonly #h: RoomsHandlers;

  /** Joins and leaves go through the client's `calls`. */
  constructor(calls: Calls, handlers: RoomsHandlers) {
    this.#calls = calls;
    this.#h = handlers;
  }

  /** Join `room`; it is forgotten again when the server refuses (not when the client stops). */
  async join(room: string): Promise<JoinResult> {
    const done = this.#calls.control({ t: 'join', room });
    this.names.add(room);
    this.#h.persist();
    try {
      return (await done) as JoinResult;
    } catch (error) {
      if ((error as HoldfastError).code !== ErrorCode.ClientClosed) this.names.delete(room);
      throw error;
    }
  }

  /** Leave `room`. */
  async leave(room: string): Promise<void> {
    const done = this.#calls.control({ t: 'leave', room });
    this.names.delete(room);
    this.#h.persist();
    await done;
  }

  /** After a welcome: resend pending joins/leaves, join remembered rooms the session lacks. */
  resubscribe(w: WelcomeFrame): void {
    const listed = new Set(w.streams.map((s) => s.stream));
    const covered = new Set<string>();
    for (const { text, room } of this.#calls.controls.rooms()) {
      this.#h.send(text);
      covered.add(room);
    }
    for (const room of this.names) {
      if (covered.has(room) || (w.resumed && listed.has(Streams.room(room)))) continue;
      this.#calls.control({ t: 'join', room }, true).catch((error: HoldfastError) => {
        if (error.code === ErrorCode.ClientClosed) return;
        this.names.delete(room);
        this.#h.persist();
        this.#h.report(error);
      });
    }
  }
}
