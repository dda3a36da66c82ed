import type { HoldfastClient } from '@holdfast/client';
import type { AnyProtocol, HoldfastError } from '@holdfast/protocol';
import { toHoldfastError } from './errors.js';
import { type Defer, Signal } from './signal.js';

/**
 * Where a room stands for the components that hold it.
 *
 * - `idle`: no component holds it.
 * - `joining`: a `join` is on its way (or waits for the connection).
 * - `joined`: the server answered the `join`.
 * - `left`: the server removed the session from the room while components held it.
 * - `failed`: the server refused the `join` (`error` says why).
 */
export type RoomState =
  | { status: 'idle' }
  | { status: 'joining' }
  | { status: 'joined' }
  | { status: 'left' }
  | { status: 'failed'; error: HoldfastError };

const IDLE: RoomState = Object.freeze({ status: 'idle' });

interface Held {
  /** Components holding the room. */
  count: number;
  state: RoomState;
  /** A release brought `count` to 0: the `leave` goes out unless someone holds it again first. */
  leaving: boolean;
  readonly signal: Signal;
}

/**
 * Rooms held by components, reference-counted: the first holder joins, the last one to let go
 * leaves. A release is deferred (a microtask by default), so an unmount followed at once by a
 * mount of the same room (React StrictMode's double effects, a `key` change, a route swap)
 * cancels the `leave` and sends no second `join`: one `join` frame on the wire, not two.
 */
export class RoomRegistry {
  readonly #held = new Map<string, Held>();
  /** Listeners of rooms not held (yet): kept so a later hold notifies them. */
  readonly #signals = new Map<string, Signal>();

  constructor(
    /** Any client: only its `join` and `leave` are used, which do not depend on the protocol. */
    private readonly client: Pick<HoldfastClient<AnyProtocol>, 'join' | 'leave'>,
    private readonly defer: Defer,
    /** Where a failed `leave` goes (a closed client's `CLIENT_CLOSED` is filtered out before). */
    private readonly report: (error: unknown) => void,
  ) {}

  /** Hold `room`: joins it when nobody held it. Pair every call with {@link RoomRegistry.release}. */
  acquire(room: string): void {
    const held = this.#held.get(room);
    if (held) {
      held.count++;
      held.leaving = false;
      return;
    }
    const entry: Held = {
      count: 1,
      state: { status: 'joining' },
      leaving: false,
      signal: this.#signal(room),
    };
    this.#held.set(room, entry);
    entry.signal.notify();
    this.client.join(room).then(
      () => this.#set(room, entry, { status: 'joined' }),
      (error: unknown) => this.#set(room, entry, { status: 'failed', error: toHoldfastError(error) }),
    );
  }

  /** Let go of `room`; the last holder's release leaves it, after the deferral. */
  release(room: string): void {
    const held = this.#held.get(room);
    if (!held || held.count === 0) return;
    held.count--;
    if (held.count > 0) return;
    held.leaving = true;
    this.defer(() => {
      if (!held.leaving || this.#held.get(room) !== held) return;
      this.#held.delete(room);
      held.signal.notify();
      if (held.signal.size === 0) this.#signals.delete(room);
      this.client.leave(room).catch(this.report);
    });
  }

  /** How many components hold `room`. */
  holders(room: string): number {
    return this.#held.get(room)?.count ?? 0;
  }

  /** The state of `room` (a stable object between changes). */
  get(room: string): RoomState {
    return this.#held.get(room)?.state ?? IDLE;
  }

  /** Listen to changes of `room`'s state. */
  subscribe(room: string, listener: () => void): () => void {
    const off = this.#signal(room).subscribe(listener);
    return () => {
      off();
      const signal = this.#signals.get(room);
      if (signal && signal.size === 0 && !this.#held.has(room)) this.#signals.delete(room);
    };
  }

  /** The server joined or removed the session (a `room` event of the client). */
  serverChange(room: string, op: 'join' | 'leave'): void {
    const held = this.#held.get(room);
    if (held) this.#set(room, held, { status: op === 'join' ? 'joined' : 'left' });
  }

  #signal(room: string): Signal {
    const known = this.#signals.get(room);
    if (known) return known;
    const signal = new Signal();
    this.#signals.set(room, signal);
    return signal;
  }

  /** Set the state of a hold, unless the room was let go and held anew since. */
  #set(room: string, entry: Held, state: RoomState): void {
    if (this.#held.get(room) !== entry) return;
    entry.state = state;
    entry.signal.notify();
  }
}
