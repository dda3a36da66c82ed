import {
  type ClientOptions,
  createClient,
  type HoldfastClient,
  type MessageListener,
  type RequestOptions,
  type SendOptions,
} from '@holdfast/client';
import {
  type AnyProtocol,
  type AppendDeltas,
  type ClientMessageInputs,
  ErrorCode,
  HoldfastError,
  type RequestInputs,
  type Responses,
  type ServerMessages,
} from '@holdfast/protocol';
import {
  createContext,
  createElement,
  type ReactElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import { type ActionState, type Settled, useAction } from './action.js';
import type { HoldfastGap } from './gaps.js';
import { MessageBuffer, type MessageFilter, type Received } from './messages.js';
import type { PresenceMember } from './presence.js';
import type { RoomState } from './rooms.js';
import { type ConnectionSnapshot, HoldfastStore, type HoldfastStoreOptions } from './store.js';

type ServerType<P extends AnyProtocol> = keyof ServerMessages<P> & string;
type SendType<P extends AnyProtocol> = keyof ClientMessageInputs<P> & string;
type RequestType<P extends AnyProtocol> = keyof RequestInputs<P> & string;
type AppendType<P extends AnyProtocol> = keyof AppendDeltas<P> & ServerType<P>;

/** Props of the provider made by {@link createHoldfastHooks}. */
export interface HoldfastProviderProps<P extends AnyProtocol> {
  /** A client the app made (and closes). Takes precedence over `options`. */
  client?: HoldfastClient<P>;
  /**
   * Options to create the client with (the protocol is the factory's). The provider creates
   * it in the browser only (never during a server render), and closes it on unmount. Include
   * `plugins: [appends]` when the protocol declares `appends` (`createClient` throws without),
   * and `tokenRefresh` for in-band refresh of an expiring token.
   */
  options?: Omit<ClientOptions<P>, 'protocol'>;
  /**
   * Call `client.connect()` on mount. Turning it to `false` later closes a client the
   * provider created (not one passed as `client`).
   * @default true
   */
  connect?: boolean;
  /** Options of the store behind the hooks (deferral, gaps kept, error sink); read on mount. */
  store?: HoldfastStoreOptions;
  children?: ReactNode;
}

/** Options of `usePresence`. */
export interface PresenceOptions<P extends AnyProtocol> {
  /**
   * Loads the members present now, on mount and after every reconnect (presence events are
   * volatile: the client only learns changes while connected). Without it, members are those
   * seen joining since the component mounted.
   */
  load?: (room: string, client: HoldfastClient<P>) => Promise<readonly PresenceMember[]>;
}

/** Options of `useGaps`. */
export interface GapsOptions {
  /** Only gaps of this room's stream. */
  room?: string;
  /** Called once per gap reported while the component is mounted. */
  onGap?: (gap: HoldfastGap) => void;
}

/** What `useGaps` returns. */
export interface GapsResult {
  /** Gaps reported since the provider mounted (and not dismissed), oldest first. */
  gaps: readonly HoldfastGap[];
  /** Forget these gaps (default: the ones this hook shows). */
  dismiss(gaps?: readonly HoldfastGap[]): void;
}

/** What `useSend` returns: the latest call's state, the call, and `reset`. */
export type SendResult<P extends AnyProtocol, K extends SendType<P>> = ActionState<unknown> & {
  send(data: ClientMessageInputs<P>[K]): Promise<Settled<unknown>>;
  reset(): void;
};

/** What `useRequest` returns: the latest call's state (typed result), the call, and `reset`. */
export type RequestResult<P extends AnyProtocol, K extends RequestType<P>> = ActionState<Responses<P>[K]> & {
  request(data: RequestInputs<P>[K]): Promise<Settled<Responses<P>[K]>>;
  reset(): void;
};

/** The provider and hooks bound to one protocol. See {@link createHoldfastHooks}. */
export interface HoldfastHooks<P extends AnyProtocol> {
  /** Holds one client for the hooks below it. */
  HoldfastProvider(props: HoldfastProviderProps<P>): ReactElement;
  /** The client, or `null` during a server render of a provider given `options`. */
  useClient(): HoldfastClient<P> | null;
  /** The connection state union with the reason of its last change; re-renders on changes only. */
  useConnectionState(): ConnectionSnapshot;
  /** Call `handler` for every message `type` (of `room` only, if given) while mounted. Never re-renders. */
  useMessage<K extends ServerType<P>>(
    type: K,
    handler: MessageListener<P, K>,
    options?: { room?: string },
  ): void;
  /**
   * The last `limit` messages of some types and/or a room; re-renders only when one matches. A
   * growing message (an AI answer streamed token by token) is one entry, updated in place.
   */
  useMessages<K extends ServerType<P> = ServerType<P>>(filter?: MessageFilter<K>): readonly Received<P, K>[];
  /**
   * The newest message of appendable type `type` (of `room` only, if given) as it grows: `data`
   * is its value folded so far, `meta.done` whether it is complete; undefined before the first.
   * The client needs plugin `appends` (`options.plugins`).
   */
  useGrowing<K extends AppendType<P>>(type: K, options?: { room?: string }): Received<P, K> | undefined;
  /** Hold `room` (joined while any component holds it); its state. `null` holds nothing. */
  useRoom(room: string | null | undefined): RoomState;
  /** Hold `room` and return its members, sorted by user. */
  usePresence(room: string | null | undefined, options?: PresenceOptions<P>): readonly PresenceMember[];
  /** Send app message `type`, with the latest call's status, result and typed error. */
  useSend<K extends SendType<P>>(type: K, options?: SendOptions): SendResult<P, K>;
  /** Send request `type`, with the latest call's status, typed result and typed error. */
  useRequest<K extends RequestType<P>>(type: K, options?: RequestOptions): RequestResult<P, K>;
  /** Gaps (messages that will never arrive) reported since the provider mounted, kept for later mounts. */
  useGaps(options?: GapsOptions): GapsResult;
}

const noopSubscribe = () => () => {};
const SERVER_CONNECTION: ConnectionSnapshot = Object.freeze({ status: 'idle', transition: undefined });
const IDLE_ROOM: RoomState = Object.freeze({ status: 'idle' });
const NO_MEMBERS: readonly PresenceMember[] = Object.freeze([]);
const NO_MESSAGES: readonly never[] = Object.freeze([]);
const NO_GAPS: readonly HoldfastGap[] = Object.freeze([]);
const noClient = () =>
  Promise.reject(new HoldfastError(ErrorCode.ClientClosed, 'No Holdfast client (server render)'));

/** A server render, or a browser: only the browser creates clients. Reads no global but `typeof`. */
const inBrowser = () => typeof window !== 'undefined';

/**
 * Make the provider and hooks of an app protocol: message names, payloads, request results
 * and errors are inferred in components exactly as with `client.on` and `client.request`.
 * Call it once, at module level, next to the protocol.
 *
 * @example
 * ```tsx
 * export const { HoldfastProvider, useRoom, useMessages, useSend } = createHoldfastHooks(chat);
 *
 * function Room({ room }: { room: string }) {
 *   useRoom(room);
 *   const lines = useMessages({ type: 'said', room, limit: 100 });
 *   const { send, status } = useSend('say');
 *   return <ChatView lines={lines.map((m) => m.data)} onSay={(text) => send({ room, text })} busy={status === 'pending'} />;
 * }
 * ```
 */
export function createHoldfastHooks<P extends AnyProtocol>(protocol: P): HoldfastHooks<P> {
  // `undefined`: no provider above (a bug); `null`: a server render without a client.
  const Context = createContext<HoldfastStore<P> | null | undefined>(undefined);
  Context.displayName = 'Holdfast';

  function useStore(): HoldfastStore<P> | null {
    const store = useContext(Context);
    if (store === undefined) throw new Error('Holdfast hooks must be used inside <HoldfastProvider>');
    return store;
  }

  /** Hold `room` in the store's registry while mounted. */
  function useHold(store: HoldfastStore<P> | null, room: string | null | undefined): void {
    useEffect(() => {
      if (!store || !room) return;
      store.rooms.acquire(room);
      return () => store.rooms.release(room);
    }, [store, room]);
  }

  function HoldfastProvider(props: HoldfastProviderProps<P>): ReactElement {
    const { client, options, connect = true, children } = props;
    const [owned] = useState(() =>
      client || !options || !inBrowser() ? undefined : createClient({ ...options, protocol }),
    );
    const active = client ?? owned;
    const storeOptions = useRef(props.store);
    const store = useMemo(() => (active ? new HoldfastStore(active, storeOptions.current) : null), [active]);
    const closing = useRef(false);
    useEffect(() => {
      if (!store) return;
      const stop = store.start();
      closing.current = false;
      if (connect) store.client.connect().catch(store.report);
      return () => {
        stop();
        if (!owned || store.client !== owned) return;
        // Deferred: StrictMode's immediate remount cancels it and keeps the one connection.
        closing.current = true;
        store.defer(() => {
          if (closing.current) owned.close();
        });
      };
    }, [store, connect, owned]);
    return createElement(Context.Provider, { value: store }, children);
  }

  function useClient(): HoldfastClient<P> | null {
    return useStore()?.client ?? null;
  }

  function useConnectionState(): ConnectionSnapshot {
    const store = useStore();
    return useSyncExternalStore(
      store ? store.subscribeConnection : noopSubscribe,
      store ? store.getConnection : () => SERVER_CONNECTION,
      () => SERVER_CONNECTION,
    );
  }

  function useMessage<K extends ServerType<P>>(
    type: K,
    handler: MessageListener<P, K>,
    options: { room?: string } = {},
  ): void {
    const client = useStore()?.client;
    const latest = useRef(handler);
    latest.current = handler;
    const { room } = options;
    useEffect(() => {
      if (!client) return;
      return client.on(type, (data, meta) => {
        if (room === undefined || meta.room === room) latest.current(data, meta);
      });
    }, [client, type, room]);
  }

  function useMessages<K extends ServerType<P> = ServerType<P>>(
    filter: MessageFilter<K> = {},
  ): readonly Received<P, K>[] {
    const client = useStore()?.client;
    const { room, limit } = filter;
    const types = (
      filter.type === undefined ? Object.keys(protocol.server) : ([] as string[]).concat(filter.type)
    ) as K[];
    const key = types.join('\0');
    // biome-ignore lint/correctness/useExhaustiveDependencies: `key` stands for `types`
    const buffer = useMemo(
      () => (client ? new MessageBuffer<P, K>(client, types, { room, limit }) : undefined),
      [client, key, room, limit],
    );
    return useSyncExternalStore(
      buffer ? buffer.subscribe : noopSubscribe,
      buffer ? buffer.getSnapshot : () => NO_MESSAGES,
      () => NO_MESSAGES,
    );
  }

  function useGrowing<K extends AppendType<P>>(
    type: K,
    options: { room?: string } = {},
  ): Received<P, K> | undefined {
    return useMessages<K>({ type, room: options.room, limit: 1 }).at(-1);
  }

  function useRoom(room: string | null | undefined): RoomState {
    const store = useStore();
    useHold(store, room);
    const subscribe = useCallback(
      (listener: () => void) => (store && room ? store.rooms.subscribe(room, listener) : () => {}),
      [store, room],
    );
    return useSyncExternalStore(
      subscribe,
      () => (store && room ? store.rooms.get(room) : IDLE_ROOM),
      () => IDLE_ROOM,
    );
  }

  function usePresence(
    room: string | null | undefined,
    options: PresenceOptions<P> = {},
  ): readonly PresenceMember[] {
    const store = useStore();
    useHold(store, room);
    const load = useRef(options.load);
    load.current = options.load;
    const subscribe = useCallback(
      (listener: () => void) => {
        if (!store || !room) return () => {};
        const release = store.holdPresence(
          room,
          load.current && ((r) => (load.current ? load.current(r, store.client) : Promise.resolve([]))),
        );
        const off = store.presenceOf(room)!.signal.subscribe(listener);
        return () => {
          off();
          release();
        };
      },
      [store, room],
    );
    return useSyncExternalStore(
      subscribe,
      () => (store && room ? (store.presenceOf(room)?.members ?? NO_MEMBERS) : NO_MEMBERS),
      () => NO_MEMBERS,
    );
  }

  function useSend<K extends SendType<P>>(type: K, options?: SendOptions): SendResult<P, K> {
    const client = useStore()?.client;
    const [state, send, reset] = useAction((data: ClientMessageInputs<P>[K]) =>
      client ? client.send(type, data, options) : noClient(),
    );
    return { ...state, send, reset };
  }

  function useRequest<K extends RequestType<P>>(type: K, options?: RequestOptions): RequestResult<P, K> {
    const client = useStore()?.client;
    const [state, request, reset] = useAction(
      (data: RequestInputs<P>[K]): Promise<Responses<P>[K]> =>
        client ? client.request(type, data, options) : noClient(),
    );
    return { ...state, request, reset };
  }

  function useGaps(options: GapsOptions = {}): GapsResult {
    const store = useStore();
    const { room } = options;
    const cache = useRef<{
      all: readonly HoldfastGap[];
      room: string | undefined;
      mine: readonly HoldfastGap[];
    }>(undefined);
    const select = useCallback(
      (all: readonly HoldfastGap[]) => {
        const c = cache.current;
        if (c && c.all === all && c.room === room) return c.mine;
        const mine = room === undefined ? all : all.filter((g) => g.room === room);
        // Keep the previous array when the filtered content did not change: no re-render.
        const same = c && c.mine.length === mine.length && c.mine.every((g, i) => g === mine[i]);
        cache.current = { all, room, mine: same ? c.mine : mine };
        return cache.current.mine;
      },
      [room],
    );
    const gaps = useSyncExternalStore(
      store ? store.gaps.signal.subscribe : noopSubscribe,
      () => (store ? select(store.gaps.gaps) : NO_GAPS),
      () => NO_GAPS,
    );
    const onGap = useRef(options.onGap);
    onGap.current = options.onGap;
    useEffect(() => {
      if (!store) return;
      let seen = store.gaps.gaps.at(-1)?.seq ?? 0;
      return store.gaps.signal.subscribe(() => {
        for (const g of store.gaps.gaps) {
          if (g.seq <= seen) continue;
          seen = g.seq;
          if (room === undefined || g.room === room) onGap.current?.(g);
        }
      });
    }, [store, room]);
    const dismiss = useCallback(
      (which: readonly HoldfastGap[] = gaps) => {
        const seqs = new Set(which.map((g) => g.seq));
        store?.gaps.dismiss((g) => seqs.has(g.seq));
      },
      [store, gaps],
    );
    return { gaps, dismiss };
  }

  return {
    HoldfastProvider,
    useClient,
    useConnectionState,
    useMessage,
    useMessages,
    useGrowing,
    useRoom,
    usePresence,
    useSend,
    useRequest,
    useGaps,
  };
}
