/**
 * Bounded cache of node hashes. Nodes are immutable once written, so a cached hash can only go stale
 * if a write that was staged (StagedKvStore) is later discarded; the log clears the cache on reload.
 *
 * An `LruCache` (crypto/lru.ts: two generations, no delete/re-insert churn on a hit — a Map-order
 * LRU profiled at ~30 % of proof generation): the top of the tree, on every proof's path, stays
 * resident. A capacity below 2 turns the cache off.
 */
import { LruCache } from '../../crypto/lru.ts';

/** Indexes below 2^47 give a unique safe-integer key index·64 + level; beyond, nodes are not cached. */
const MAX_KEYED_INDEX = 2 ** 47;

function keyOf(level: number, index: number): number {
  return index < MAX_KEYED_INDEX ? index * 64 + level : -1;
}

export class NodeCache {
  readonly #cache: LruCache<Uint8Array, number> | undefined;

  constructor(capacity: number) {
    this.#cache = capacity >= 2 ? new LruCache(capacity) : undefined;
  }

  get size(): number {
    return this.#cache?.size ?? 0;
  }

  get(level: number, index: number): Uint8Array | undefined {
    const k = keyOf(level, index);
    return k < 0 ? undefined : this.#cache?.get(k);
  }

  set(level: number, index: number, hash: Uint8Array): void {
    const k = keyOf(level, index);
    if (k >= 0) this.#cache?.set(k, hash);
  }

  clear(): void {
    this.#cache?.clear();
  }
}
