/**
 * The code base's bounded cache: derived values (parsed keys, addresses, verification results),
 * store reads, seen-sets, log node hashes, keyed by a string — typically the latin1 or hex form of
 * the input bytes — or a number. Pure and bounded. (The consensus engines' own small bounded maps
 * of blocks and orphans, a thousand entries or fewer, keep their own eviction.)
 *
 * Two generations, not an ordered list (the "hashlru" scheme): new entries go into the young map;
 * when it holds max/2 they become the old map and the previous old map is dropped whole. A hit in
 * the old map moves the entry up, so whatever is among the last max/2 distinct keys used survives.
 *
 * Why not one Map evicting `map.keys().next()`: V8 leaves a deleted entry as a hole in the map's
 * table until the table is rebuilt, and an iterator walks the holes, so taking the oldest key
 * after deleting from the front costs time that grows with the holes. `npm run bench:crypto`
 * (--quick) measured 3 µs per insertion into a full cache of 10,000 and 20 µs at 50,000, against
 * 0.2 µs here; at 200,000 a standalone loop climbed from 7 µs to over 100 µs as the holes grew.
 */
export class LruCache<V, K extends string | number = string> {
  readonly #half: number;
  #young = new Map<K, V>();
  #old = new Map<K, V>();

  /**
   * `max` ≥ 2: never more than max − 1 entries, and (deletes aside) at least ⌊max/2⌋ once
   * ⌊max/2⌋ distinct keys have been set.
   */
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
