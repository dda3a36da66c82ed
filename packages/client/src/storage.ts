import type { ClientStorage, PersistentStorage } from './options.js';
import { persist } from './stored-state.js';

/**
 * The storage of option `storage` over an adapter of your own (IndexedDB, React Native's
 * AsyncStorage...): its methods are called as the adapter's.
 *
 * @example
 * ```ts
 * const storage = persistentStorage({
 *   get: (key) => idb.get(key),
 *   set: (key, value) => idb.set(key, value),
 *   remove: (key) => idb.del(key),
 * });
 * createClient({ url, protocol, storage });
 * ```
 */
export function persistentStorage(adapter: ClientStorage): PersistentStorage {
  return {
    get: (key) => adapter.get(key),
    set: (key, value) => adapter.set(key, value),
    remove: (key) => adapter.remove(key),
    persistence: persist,
  };
}

/**
 * The part of a Web Storage object (`sessionStorage`, `localStorage`) that {@link webStorage}
 * uses, described by its shape so the types compile without the DOM lib.
 */
export interface WebStorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * A {@link PersistentStorage} over a Web Storage object. Prefer `sessionStorage`: it is per tab,
 * so two tabs never resume the same session (which would make them take turns).
 *
 * @example
 * ```ts
 * createClient({ url, protocol, storage: webStorage(window.sessionStorage) });
 * ```
 */
export function webStorage(storage: WebStorageLike): PersistentStorage {
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => storage.removeItem(key),
    persistence: persist,
  };
}

/**
 * A {@link PersistentStorage} in memory: survives a new client instance, not a page reload. For
 * tests and for Node processes that recreate clients.
 *
 * @example
 * ```ts
 * const storage = memoryStorage();
 * const a = createClient({ url, protocol, storage });
 * // later, a new instance resumes a's session and resends its outbox:
 * const b = createClient({ url, protocol, storage });
 * ```
 */
export function memoryStorage(): PersistentStorage {
  const values = new Map<string, string>();
  return {
    get: (key) => values.get(key),
    set: (key, value) => {
      values.set(key, value);
    },
    remove: (key) => {
      values.delete(key);
    },
    persistence: persist,
  };
}
