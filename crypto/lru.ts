/**
 * A small least-recently-used cache of derived values (parsed keys, addresses, verification
 * results) keyed by a string — typically the latin1 or hex form of the input bytes — or a number.
 * Pure and bounded: `max` entries at most. The one bounded cache of the code base.
 */
export class LruCache<V, K extends string | number = string> {
  readonly #max: number;
  readonly #map = new Map<K, V>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The cached value for `key`, or `make()`'s, remembered (evicting the least recently used). */
  get(key: K, make: () => V): V {
    const hit = this.#map.get(key);
    if (hit !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    const value = make();
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as K);
    return value;
  }
}
