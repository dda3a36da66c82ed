import type { PresenceEvent } from '@holdfast/client';
import { Signal } from './signal.js';

/** A user present in a room, and how many of their sessions are in it. */
export interface PresenceMember {
  user: string;
  sessions: number;
}

/** Loads who is in a room now (e.g. a request the app's server answers with `server.presence(room)`). */
export type PresenceLoader = (room: string) => Promise<readonly PresenceMember[]>;

const NONE: readonly PresenceMember[] = Object.freeze([]);

/**
 * The members of one room, from an optional snapshot (`load`) and the client's `presence`
 * events. Events carry the user's session count *now*, so applying one twice, or over a
 * snapshot that already counted it, gives the same result: events that arrive while a load
 * is in flight are replayed over its answer.
 */
export class RoomPresence {
  readonly signal = new Signal();
  /** Components tracking this room (see `HoldfastStore.holdPresence`). */
  holders = 0;
  #members = new Map<string, number>();
  #snapshot: readonly PresenceMember[] = NONE;
  /** Events seen during the load in flight, or undefined when none is. */
  #during: PresenceEvent[] | undefined;
  #loads = 0;

  constructor(
    readonly room: string,
    private readonly loader: PresenceLoader | undefined,
    private readonly report: (error: unknown) => void,
  ) {}

  /** The members, sorted by user (a stable array between changes). */
  get members(): readonly PresenceMember[] {
    return this.#snapshot;
  }

  /** Apply a presence event of this room. */
  apply(event: PresenceEvent): void {
    this.#during?.push(event);
    this.#set(event.user, event.sessions);
    this.#publish();
  }

  /** Ask the loader for the member list (on hold and after every reconnect: events are volatile). */
  load(): void {
    const loader = this.loader;
    if (!loader) return;
    const load = ++this.#loads;
    this.#during = [];
    loader(this.room).then(
      (members) => {
        if (load !== this.#loads) return;
        const during = this.#during ?? [];
        this.#during = undefined;
        this.#members = new Map();
        for (const m of members) this.#set(m.user, m.sessions);
        for (const e of during) this.#set(e.user, e.sessions);
        this.#publish();
      },
      (error: unknown) => {
        if (load === this.#loads) this.#during = undefined;
        this.report(error);
      },
    );
  }

  #set(user: string, sessions: number): void {
    if (sessions > 0) this.#members.set(user, sessions);
    else this.#members.delete(user);
  }

  #publish(): void {
    const next = [...this.#members]
      .map(([user, sessions]) => ({ user, sessions }))
      .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
    const same =
      next.length === this.#snapshot.length &&
      next.every((m, i) => m.user === this.#snapshot[i]!.user && m.sessions === this.#snapshot[i]!.sessions);
    if (same) return;
    this.#snapshot = Object.freeze(next);
    this.signal.notify();
  }
}
