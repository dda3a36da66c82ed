/**
 * Where a client keeps its session, cursors, rooms and outbox between page loads. Methods may
 * be synchronous or return promises. Values are strings (JSON).
 *
 * @example
 * ```ts
 * const storage: ClientStorage = {
 *   get: (key) => idb.get(key),
 *   set: (key, value) => idb.set(key, value),
 *   remove: (key) => idb.del(key),
 * };
 * ```
 */
export interface ClientStorage {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  set(key: string, value: string): void | Promise<void>;
  remove(key: string): void | Promise<void>;
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
 * A {@link ClientStorage} over a Web Storage object. Prefer `sessionStorage`: it is per tab,
 * so two tabs never resume the same session (which would make them take turns).
 *
 * @example
 * ```ts
 * createClient({ url, protocol, storage: webStorage(window.sessionStorage) });
 * ```
 */
export function webStorage(storage: WebStorageLike): ClientStorage {
  return {
    get: (key) => storage.getItem(key),
    set: (key, value) => storage.setItem(key, value),
    remove: (key) => storage.removeItem(key),
  };
}

/**
 * A {@link ClientStorage} in memory: survives a new client instance, not a page reload. For
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
export function memoryStorage(): ClientStorage {
  const values = new Map<string, string>();
  return {
    get: (key) => values.get(key),
    set: (key, value) => {
      values.set(key, value);
    },
    remove: (key) => {
      values.delete(key);
    },
  };
}
