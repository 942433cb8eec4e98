/**
 * A small least-recently-used cache of derived values (parsed keys, addresses) keyed by a string
 * — typically the latin1 form of the input bytes. Pure and bounded: `max` entries at most.
 */
export class LruCache<V> {
  readonly #max: number;
  readonly #map = new Map<string, V>();

  constructor(max: number) {
    this.#max = max;
  }

  /** The cached value for `key`, or `make()`'s, remembered (evicting the least recently used). */
  get(key: string, make: () => V): V {
    const hit = this.#map.get(key);
    if (hit !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    const value = make();
    this.#map.set(key, value);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value as string);
    return value;
  }
}
