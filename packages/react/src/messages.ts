import type { GrowingMeta, HoldfastClient, MessageMetaOf } from '@holdfast/client';
import type { AnyProtocol, ServerMessages } from '@holdfast/protocol';
import { Signal } from './signal.js';

/**
 * A server message as the hooks keep it: its type, validated data and where it came from. A
 * growing message (extension `appends`) is one entry, updated in place: `data` is its value
 * folded so far, `meta.done` says whether it is complete.
 */
export type Received<
  P extends AnyProtocol,
  K extends keyof ServerMessages<P> & string = keyof ServerMessages<P> & string,
> = {
  [T in K]: { type: T; data: ServerMessages<P>[T]; meta: MessageMetaOf<P, T> };
}[K];

/** Which messages a {@link MessageBuffer} keeps. */
export interface MessageFilter<K extends string> {
  /** One type or several; every server message type of the protocol when unset. */
  type?: K | readonly K[];
  /** Only messages of this room's stream. */
  room?: string;
  /**
   * How many of the newest messages are kept (at least 1).
   * @default 50
   */
  limit?: number;
}

/**
 * The last `limit` messages matching a filter, as an immutable array replaced on every match
 * (what `useSyncExternalStore` compares). An update of a growing message replaces its entry
 * (same `meta.key`) where it is, or is added at the end when it was not kept. Listens to the
 * client only while subscribed; what it kept survives an unsubscribe/subscribe (StrictMode) as
 * long as the buffer object lives.
 */
export class MessageBuffer<P extends AnyProtocol, K extends keyof ServerMessages<P> & string> {
  readonly #signal = new Signal();
  #items: readonly Received<P, K>[] = Object.freeze([]);
  #off: (() => void) | undefined;
  readonly #types: readonly K[];
  readonly #room: string | undefined;
  readonly #limit: number;

  constructor(
    private readonly client: HoldfastClient<P>,
    types: readonly K[],
    filter: { room?: string | undefined; limit?: number | undefined },
  ) {
    this.#types = types;
    this.#room = filter.room;
    this.#limit = Math.max(1, filter.limit ?? 50);
  }

  /** The kept messages, oldest first. */
  getSnapshot = (): readonly Received<P, K>[] => this.#items;

  /** Listen to changes; the first listener starts listening to the client, the last one stops. */
  subscribe = (listener: () => void): (() => void) => {
    const off = this.#signal.subscribe(listener);
    if (!this.#off) this.#listen();
    return () => {
      off();
      if (this.#signal.size === 0) {
        this.#off?.();
        this.#off = undefined;
      }
    };
  };

  #listen(): void {
    const offs = this.#types.map((type) =>
      this.client.on(type, (data, meta) => {
        if (this.#room !== undefined && meta.room !== this.#room) return;
        const item = { type, data, meta } as Received<P, K>;
        const { key } = meta as Partial<GrowingMeta>;
        const items = [...this.#items];
        const at =
          key === undefined ? -1 : items.findLastIndex((x) => (x.meta as Partial<GrowingMeta>).key === key);
        if (at >= 0) items[at] = item;
        else items.push(item);
        this.#items = Object.freeze(items.slice(-this.#limit));
        this.#signal.notify();
      }),
    );
    this.#off = () => {
      for (const off of offs) off();
    };
  }
}
