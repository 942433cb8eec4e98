/**
 * The code base's one bounded cache: derived values (parsed keys, addresses, verification
 * results), store reads, seen-sets, keyed by a string — typically the latin1 or hex form of the
 * input bytes — or a number. Pure and bounded: `max` entries at most.
 *
 * Two generations, not an ordered list (the "hashlru" scheme): new entries go into the young map;
 * when it holds max/2 they become the old map and the previous old map is dropped whole. A hit in
 * the old map moves the entry up, so whatever is used within the last max/2 insertions survives.
 *
 * Why not one Map evicting `map.keys().next()`: V8 leaves a deleted entry as a hole in the map's
 * table until the table is rebuilt, and an iterator walks the holes, so taking the oldest key
 * after deleting from the front costs time proportional to the holes. With 200,000 entries that
 * measured 45 µs per eviction (and 1 µs here), and every insertion into a full cache evicts.
 */
export class LruCache<V, K extends string | number = string> {
  readonly #half: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  /** `max` ≥ 2. Once warm the cache holds between max/2 and max entries. */
  constructor(max: number) {
    if (!Number.isInteger(max) || max < 2)
      throw new RangeError(`LruCache: max must be an integer ≥ 2, got ${max}`);
    this.#half = Math.floor(max / 2);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  /** The value for `key`, or undefined; a hit counts as a use. */
  get(key: K): V | undefined {
    const young = this.#young.get(key);
    if (young !== undefined) return young;
    const old = this.#old.get(key);
    if (old !== undefined) this.set(key, old);
    return old;
  }

  /** Whether `key` is cached (not counted as a use). */
  has(key: K): boolean {
    return this.#young.has(key) || this.#old.has(key);
  }

  set(key: K, value: V): void {
    this.#young.set(key, value);
    this.#old.delete(key); // a key is never in both
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
  }

  delete(key: K): void {
    this.#young.delete(key);
    this.#old.delete(key);
  }

  /** The cached value for `key`, or `make()`'s, remembered. `make` must not return undefined. */
  getOrMake(key: K, make: () => V): V {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const value = make();
    this.set(key, value);
    return value;
  }

  clear(): void {
    this.#young.clear();
    this.#old.clear();
  }
}
