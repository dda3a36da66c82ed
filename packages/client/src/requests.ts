import { encode, type HoldfastError } from '@holdfast/protocol';

/** Frames the client sends outside the outbox, each answered by a `res` with its id. */
export type ControlFrame =
  | { t: 'join' | 'leave'; id: string; room: string }
  | { t: 'refresh'; id: string; token: string };

/** How a `res` ended. */
export type Outcome = { ok: true; result: unknown } | { ok: false; error: HoldfastError };

interface Pending {
  text: string;
  /** `join`/`leave` are resent after a reconnect; a `refresh` belongs to its connection. */
  resend: boolean;
  room?: string;
  resolve(result: unknown): void;
  reject(error: unknown): void;
}

/**
 * `join`, `leave` and `refresh` requests waiting for their `res`. Unlike outbox messages they
 * are not persisted nor bounded: rooms are persisted as a set and re-joined instead, and a
 * refresh only makes sense on its own connection.
 */
export class ControlRequests {
  readonly #pending = new Map<string, Pending>();

  /**
   * Register a request; returns its encoded frame and a promise of its result.
   * @throws {ProtocolError} when the frame is invalid (e.g. a room name with control characters)
   */
  add(frame: ControlFrame): { text: string; done: Promise<unknown> } {
    const text = encode(frame);
    const done = new Promise((resolve, reject) => {
      const room = frame.t === 'refresh' ? undefined : frame.room;
      this.#pending.set(frame.id, { text, resend: frame.t !== 'refresh', room, resolve, reject });
    });
    return { text, done };
  }

  /** A `res` arrived: settle the request with that id. False when it is not one of ours. */
  settle(id: string, outcome: Outcome): boolean {
    const p = this.#pending.get(id);
    if (!p) return false;
    this.#pending.delete(id);
    if (outcome.ok) p.resolve(outcome.result);
    else p.reject(outcome.error);
    return true;
  }

  /** After a welcome: the frames to send again, in order, and the rooms they are about. */
  resendable(): { texts: string[]; rooms: Set<string> } {
    const texts: string[] = [];
    const rooms = new Set<string>();
    for (const p of this.#pending.values()) {
      if (!p.resend) continue;
      texts.push(p.text);
      if (p.room !== undefined) rooms.add(p.room);
    }
    return { texts, rooms };
  }

  /** The connection ended: reject the requests that belonged to it. */
  dropConnectionBound(error: HoldfastError): void {
    for (const [id, p] of this.#pending) {
      if (p.resend) continue;
      this.#pending.delete(id);
      p.reject(error);
    }
  }

  /** The client stopped: reject everything. */
  rejectAll(error: HoldfastError): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.reject(error);
  }
}
