/**
 * A map from keys to sets of members that keeps a key's only member without a `Set`. Most
 * users have one connection and most streams (`session:<id>`, `user:<id>`) have one
 * subscriber: a `Set` per key would cost about 160 bytes per connection each.
 * Members must not themselves be `Set`s.
 */
export class SetMap<K, V> {
  private readonly map = new Map<K, V | Set<V>>();

  /** Add a member; true if it was not there. */
  add(key: K, value: V): boolean {
    const cur = this.map.get(key);
    if (cur === undefined) {
      this.map.set(key, value);
      return true;
    }
    if (cur instanceof Set) {
      if (cur.has(value)) return false;
      cur.add(value);
      return true;
    }
    if (cur === value) return false;
    this.map.set(key, new Set([cur, value]));
    return true;
  }

  /** Remove a member (the key goes with its last member); true if it was there. */
  delete(key: K, value: V): boolean {
    const cur = this.map.get(key);
    if (cur === undefined) return false;
    if (cur instanceof Set) {
      if (!cur.delete(value)) return false;
      if (cur.size === 1) this.map.set(key, cur.values().next().value as V);
      return true;
    }
    if (cur !== value) return false;
    this.map.delete(key);
    return true;
  }

  /** Is `value` a member of `key`? */
  has(key: K, value: V): boolean {
    const cur = this.map.get(key);
    return cur instanceof Set ? cur.has(value) : cur !== undefined && cur === value;
  }

  /** Does `key` have any member? */
  hasKey(key: K): boolean {
    return this.map.has(key);
  }

  /** Members of `key`. */
  count(key: K): number {
    const cur = this.map.get(key);
    return cur === undefined ? 0 : cur instanceof Set ? cur.size : 1;
  }

  /**
   * The members of `key`: one member, a `Set` of them, or undefined. For hot loops that
   * must not allocate; use `instanceof Set` to tell the cases apart.
   */
  raw(key: K): V | Set<V> | undefined {
    return this.map.get(key);
  }

  /** The members of `key`, as a new array. */
  list(key: K): V[] {
    const cur = this.map.get(key);
    return cur === undefined ? [] : cur instanceof Set ? [...cur] : [cur];
  }

  /** Number of keys. */
  get size(): number {
    return this.map.size;
  }
}
