/**
 * Bounded cache of node hashes. Nodes are immutable once written, so a cached hash can only go stale
 * if a write that was staged (StagedKvStore) is later discarded; the log clears the cache on reload.
 *
 * Two generations instead of a strict LRU: inserts go to `young`; when it fills to half the capacity
 * it becomes `old` and the previous `old` is dropped; a hit in `old` is promoted. Entries used
 * within the last half-capacity insertions survive — the top of the tree, on every proof's path, stays
 * resident — and a hit costs one Map lookup, no delete/re-insert churn (which profiled at ~30% of
 * proof generation with a Map-order LRU).
 */

/** Indexes below 2^47 give a unique safe-integer key index·64 + level; beyond, nodes are not cached. */
const MAX_KEYED_INDEX = 2 ** 47;

function keyOf(level: number, index: number): number {
  return index < MAX_KEYED_INDEX ? index * 64 + level : -1;
}

export class NodeCache {
  readonly #half: number;
  #young = new Map<number, Uint8Array>();
  #old = new Map<number, Uint8Array>();

  constructor(capacity: number) {
    this.#half = Math.floor(capacity / 2);
  }

  get size(): number {
    return this.#young.size + this.#old.size;
  }

  get(level: number, index: number): Uint8Array | undefined {
    if (this.#half === 0) return undefined;
    const k = keyOf(level, index);
    const v = this.#young.get(k);
    if (v !== undefined) return v;
    const o = this.#old.get(k);
    if (o !== undefined) this.#insert(k, o);
    return o;
  }

  set(level: number, index: number, hash: Uint8Array): void {
    if (this.#half === 0) return;
    const k = keyOf(level, index);
    if (k >= 0) this.#insert(k, hash);
  }

  clear(): void {
    this.#young = new Map();
    this.#old = new Map();
  }

  #insert(k: number, v: Uint8Array): void {
    if (this.#young.size >= this.#half) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(k, v);
  }
}
