import type { ConnectionState, HoldfastClient, TransitionReason } from '@holdfast/client';
import { type AnyProtocol, ErrorCode, HoldfastError } from '@holdfast/protocol';
import { GapLog } from './gaps.js';
import { type PresenceLoader, RoomPresence } from './presence.js';
import { RoomRegistry } from './rooms.js';
import { type Defer, microtask, Signal } from './signal.js';

/**
 * The connection state union with `transition`, the reason of its last change (undefined
 * before the store saw one). (`reason` is taken: `closed` and `failed` carry the close reason.)
 */
export type ConnectionSnapshot = ConnectionState & { transition: TransitionReason | undefined };

/** Options of a {@link HoldfastStore}. */
export interface HoldfastStoreOptions {
  /**
   * How a release (a room's last holder unmounting, the provider unmounting) waits for a
   * remount that cancels it.
   * @default queueMicrotask
   */
  defer?: Defer;
  /**
   * Gaps kept for components that mount later.
   * @default 100
   */
  gapLimit?: number;
  /**
   * Where errors no caller receives go (a failed `leave`, a failed presence load).
   * `CLIENT_CLOSED` is never reported. @default console.error
   */
  onError?: (error: unknown) => void;
}

/**
 * What the hooks read: one client's connection state, held rooms, presence and gaps, each
 * with its own listeners so a change re-renders only the components that read it. Created by
 * the provider; usable without React (it has no React import).
 */
export class HoldfastStore<P extends AnyProtocol> {
  /** The rooms components hold. */
  readonly rooms: RoomRegistry;
  /** The gaps reported since {@link HoldfastStore.start}. */
  readonly gaps: GapLog;
  readonly defer: Defer;
  readonly report: (error: unknown) => void;
  readonly #connection = new Signal();
  #snapshot: ConnectionSnapshot;
  readonly #presence = new Map<string, RoomPresence>();
  #starts = 0;
  #stop: (() => void) | undefined;

  constructor(
    readonly client: HoldfastClient<P>,
    options: HoldfastStoreOptions = {},
  ) {
    this.defer = options.defer ?? microtask;
    const onError = options.onError ?? ((error: unknown) => console.error(error));
    this.report = (error) => {
      if (!(error instanceof HoldfastError && error.code === ErrorCode.ClientClosed)) onError(error);
    };
    this.rooms = new RoomRegistry(client, this.defer, this.report);
    this.gaps = new GapLog(options.gapLimit ?? 100);
    this.#snapshot = { ...client.state, transition: undefined };
  }

  /**
   * Listen to the client (state, gaps, rooms, presence, reconnects) until the returned
   * function is called. Counted: nested starts share one set of listeners.
   */
  start(): () => void {
    if (this.#starts++ === 0) {
      const events = this.client.events;
      const offs = [
        events.on('state', ({ next, reason }) => {
          this.#snapshot = { ...next, transition: reason };
          this.#connection.notify();
        }),
        events.on('gap', (gap) => this.gaps.add(gap)),
        events.on('room', ({ op, room }) => this.rooms.serverChange(room, op)),
        events.on('presence', (event) => this.#presence.get(event.room)?.apply(event)),
        // Presence is volatile: what changed while disconnected is only known by loading again.
        events.on('welcome', () => {
          for (const p of this.#presence.values()) p.load();
        }),
      ];
      this.#stop = () => {
        for (const off of offs) off();
      };
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      if (--this.#starts === 0) this.#stop?.();
    };
  }

  /** Listen to connection state changes. */
  subscribeConnection = (listener: () => void): (() => void) => this.#connection.subscribe(listener);

  /** The connection state and its transition reason (a stable object between changes). */
  getConnection = (): ConnectionSnapshot => {
    if (this.#snapshot.status !== this.client.state.status) {
      this.#snapshot = { ...this.client.state, transition: undefined };
    }
    return this.#snapshot;
  };

  /**
   * Track the presence of `room` until the returned function is called (counted, and the last
   * release is deferred like a room's). The first holder's `load` seeds it.
   */
  holdPresence(room: string, load: PresenceLoader | undefined): () => void {
    let presence = this.#presence.get(room);
    if (!presence) {
      presence = new RoomPresence(room, load, this.report);
      this.#presence.set(room, presence);
      // Not connected yet: the next `welcome` loads it (see `start`), once.
      if (this.client.state.status === 'connected') presence.load();
    }
    const tracked = presence;
    tracked.holders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--tracked.holders > 0) return;
      this.defer(() => {
        if (tracked.holders === 0 && this.#presence.get(room) === tracked) this.#presence.delete(room);
      });
    };
  }

  /** The presence tracker of `room` while held. */
  presenceOf(room: string): RoomPresence | undefined {
    return this.#presence.get(room);
  }
}
