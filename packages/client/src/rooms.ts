import type { WelcomeFrame } from '@holdfast/protocol';
import type { Calls } from './calls.js';
import { HoldfastError, roomStream } from './protocol.js';
import type { JoinResult } from './types.js';

/** Options of `join()`. */
export interface JoinOptions {
  /**
   * Extension `rewind` (docs/PROTOCOL.md §10.5): also deliver the room's last `count` retained
   * messages and/or those of the last `ageMs`, before live ones (the server may cap or refuse
   * it). Joining a room the client is in again with `rewind` delivers them again.
   */
  rewind?: { count?: number; ageMs?: number };
}

/** What {@link Rooms} asks of its client. */
export interface RoomsHandlers {
  /** Write a frame to the current connection (the result is not looked at). */
  send(text: string): unknown;
  /** Note a change of the persisted state. */
  persist(): void;
  /** Report an error (an `error` event). */
  report(error: unknown): void;
  /** Resolves at the next `welcome` (rejects when the client stops first). */
  welcomed(): Promise<void>;
}

/**
 * The rooms the client is in or is joining: remembered (and persisted) from the `join()`,
 * kept in step with `sub` frames, and joined again when the server starts a new session.
 */
export class Rooms {
  /** The room names. */
  readonly names = new Set<string>();
  /** The extensions of the last `welcome` (undefined before the first). */
  #extensions: readonly string[] | undefined;
  readonly #calls: Calls;
  readonly #h: RoomsHandlers;

  /** Joins and leaves go through the client's `calls`. */
  constructor(calls: Calls, handlers: RoomsHandlers) {
    this.#calls = calls;
    this.#h = handlers;
  }

  /**
   * Join `room`; it is forgotten again when the server refuses (not when the client stops). A
   * `rewind` waits for the first welcome, and fails with `UNSUPPORTED` unless the server has
   * extension `rewind`.
   */
  async join(room: string, { rewind }: JoinOptions = {}): Promise<JoinResult> {
    if (rewind) {
      if (!this.#extensions) await this.#h.welcomed();
      if (!this.#extensions!.includes('rewind')) {
        throw new HoldfastError('UNSUPPORTED', 'The server does not offer extension "rewind"');
      }
    }
    // Only the fields of the frame, in its order (the app's object may hold anything).
    const done = this.#calls.control({
      t: 'join',
      room,
      rewind: rewind && { count: rewind.count, ageMs: rewind.ageMs },
    });
    this.names.add(room);
    this.#h.persist();
    try {
      return (await done) as JoinResult;
    } catch (error) {
      if ((error as HoldfastError).code !== 'CLIENT_CLOSED') this.names.delete(room);
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

  /** A `sub` joined `room`: a resend of its pending join must not rewind again. */
  joined(room: string): void {
    this.names.add(room);
    this.#calls.controls.unrewind(room);
  }

  /** After a welcome: resend pending joins/leaves, join remembered rooms the session lacks. */
  resubscribe(w: WelcomeFrame): void {
    this.#extensions = w.extensions ?? [];
    const listed = new Set(w.streams.map((s) => s.stream));
    const covered = new Set<string>();
    for (const { text, room } of this.#calls.controls.rooms()) {
      this.#h.send(text);
      covered.add(room);
    }
    for (const room of this.names) {
      if (covered.has(room) || (w.resumed && listed.has(roomStream(room)))) continue;
      this.#calls.control({ t: 'join', room }, true).catch((error: HoldfastError) => {
        if (error.code === 'CLIENT_CLOSED') return;
        this.names.delete(room);
        this.#h.persist();
        this.#h.report(error);
      });
    }
  }
}
