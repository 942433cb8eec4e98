/**
 * RFC 9162 transparency log over a KvStore.
 *
 * Append keeps the right frontier (the perfect subtrees composing [0, size), ≤ 53 hashes) in memory,
 * so it reads nothing: per entry one leaf hash, amortised one node hash, and one put (the leaf record
 * of layout.ts, carrying the entry and the subtree hashes it completes), all in ONE store batch with
 * the new tree head. Proofs and past roots are planned by pure arithmetic (plan.ts) and read only the
 * O(log n) stored perfect subtrees they need; the tree is never rebuilt.
 */
import { equalBytes } from '../../crypto/bytes.ts';
import { invariant } from '../../crypto/errors.ts';
import type { KvOp, KvStore } from '../kv.ts';
import { MemoryKvStore } from '../kv.ts';
import { NodeCache } from './cache.ts';
import { LogError } from './errors.ts';
import type { Frontier } from './frontier.ts';
import { checkEntry, emptyFrontier, frontierRoot, pushLeaf } from './frontier.ts';
import { emptyRoot, HASH_BYTES, leafHash, nodeHash } from './hashing.ts';
import { DEFAULT_PREFIX, LogKeys, nodeLocation, recordHashBytes, trailingOnes } from './layout.ts';
import type { NodeRef, ProofItem } from './plan.ts';
import { consistencyPlan, inclusionPlan, perfectRanges } from './plan.ts';
import type { TreeHead } from './tree-head.ts';
import { decodeTreeHead, encodeTreeHead } from './tree-head.ts';

export interface TransparencyLogOptions {
  /** Where the log lives; default a fresh MemoryKvStore. */
  readonly store?: KvStore;
  /** Key prefix for every record of this log; default "l:". */
  readonly prefix?: Uint8Array;
  /** Node hashes kept in memory for proofs (cache.ts); default 65 536 (a few MB), 0 disables. */
  readonly cacheNodes?: number;
}

/**
 * What `previewAppend` predicts: the size and root after the entries, and what lets the prediction
 * be extended (`previewAppend(more, preview)`) and the append reuse its hashing
 * (`append(entries, preview)`) — the frontier after it, the entries' leaf hashes, and each entry's
 * record hashes (its leaf, then the subtree hashes it completes, as layout.ts stores them), which
 * an append from the state the preview started from writes as they are.
 */
export interface LogPreview {
  readonly size: number;
  readonly root: Uint8Array;
  readonly frontier: Frontier;
  readonly leaves: readonly Uint8Array[];
  /** The size and frontier it extended. */
  readonly start: number;
  readonly startFrontier: Frontier;
  /** Every entry's record hashes, concatenated in entry order. */
  readonly hashes: Uint8Array;
}

function sameFrontier(a: Frontier, b: Frontier): boolean {
  for (let level = 0; level < a.length || level < b.length; level++) {
    const x = a[level];
    const y = b[level];
    if (x === y) continue;
    if (x === undefined || y === undefined || !equalBytes(x, y)) return false;
  }
  return true;
}

export interface AppendResult {
  /** Index of the first appended entry (the size before the append). */
  readonly firstIndex: number;
  /** Size after the append. */
  readonly size: number;
  /** Root of the tree of `size` leaves. */
  readonly root: Uint8Array;
}

/** Nodes this high that append writes go straight into the cache: 1 in 256 nodes, and recent ones are hot. */
const CACHE_ON_WRITE_MIN_LEVEL = 8;
const DEFAULT_CACHE_NODES = 65_536;

function checkCount(x: unknown, what: string): asserts x is number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) {
    throw new LogError('INVALID_ARGUMENT', `${what} must be a safe non-negative integer, got ${String(x)}`);
  }
}

/** MTH of a range from its perfect subtrees (biggest first): fold right to left. */
function foldRange(hashes: readonly Uint8Array[], from: number, to: number): Uint8Array {
  let r = hashes[to - 1] as Uint8Array;
  if (to - from === 1) return r.slice(); // a copy: the hash may be shared with the cache
  for (let i = to - 2; i >= from; i--) r = nodeHash(hashes[i] as Uint8Array, r);
  return r;
}

export class TransparencyLog {
  readonly #store: KvStore;
  readonly #keys: LogKeys;
  readonly #cache: NodeCache;
  #size = 0;
  #frontier: Frontier = emptyFrontier();
  #root: Uint8Array = emptyRoot();
  /** The previews this log made: only those may extend a preview or lend an append their hashing. */
  readonly #previews = new WeakSet<LogPreview>();
  /** Serialises appends and reloads: each computes from the state the previous one committed. */
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(store: KvStore, keys: LogKeys, cache: NodeCache) {
    this.#store = store;
    this.#keys = keys;
    this.#cache = cache;
  }

  /** Opens the log stored under `prefix` in `store` (empty if nothing is there). */
  static async create(opts: TransparencyLogOptions = {}): Promise<TransparencyLog> {
    const cacheNodes = opts.cacheNodes ?? DEFAULT_CACHE_NODES;
    checkCount(cacheNodes, 'cacheNodes');
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    if (!(prefix instanceof Uint8Array)) {
      throw new LogError('INVALID_ARGUMENT', 'prefix must be a Uint8Array');
    }
    const store = opts.store ?? new MemoryKvStore();
    const log = new TransparencyLog(store, new LogKeys(prefix), new NodeCache(cacheNodes));
    await log.#load();
    return log;
  }

  /** Number of committed entries. */
  get size(): number {
    return this.#size;
  }

  /** The committed right frontier (a copy): with it, ExtendedTree proves leaves not yet appended. */
  frontier(): Frontier {
    return this.#frontier.slice();
  }

  /** Committed size and root. */
  get head(): TreeHead {
    return { size: this.#size, root: this.#root.slice() };
  }

  /**
   * Appends entries with one `store.batch` call (none for an empty list). In-memory state advances only
   * after the batch resolves, so a failed batch leaves the log at its previous size. `preview`, this
   * log's own `previewAppend` of exactly these entries, lends its leaf hashes (each entry is then
   * hashed once, not again here); a preview this log did not make is ignored.
   */
  append(entries: readonly Uint8Array[], preview?: LogPreview): Promise<AppendResult> {
    const own = preview !== undefined && this.#previews.has(preview) ? preview : undefined;
    return this.#exclusive(() => this.#append(entries, own));
  }

  /**
   * Size and root the log would have after appending `entries` to the committed state — or, with
   * `after`, to what an earlier preview of not yet appended entries predicted (a chain of blocks
   * above the committed one) — without writing anything. Reads nothing. `after` must not lie below
   * the committed size (LogError INVALID_ARGUMENT): its entries would be counted twice.
   */
  previewAppend(entries: readonly Uint8Array[], after?: LogPreview): LogPreview {
    if (!Array.isArray(entries)) throw new LogError('INVALID_ARGUMENT', 'entries must be an array');
    if (after !== undefined && (!this.#previews.has(after) || after.size < this.#size))
      throw new LogError(
        'INVALID_ARGUMENT',
        'previewAppend: `after` is not a preview of this log at or above its size',
      );
    const start = after?.size ?? this.#size;
    if (start + entries.length > Number.MAX_SAFE_INTEGER) {
      throw new LogError('TOO_LARGE', `appending ${entries.length} entries would exceed 2^53 - 1`);
    }
    const startFrontier = after?.frontier ?? this.#frontier;
    const frontier = startFrontier.slice();
    let total = 0;
    for (let s = start; s < start + entries.length; s++) total += recordHashBytes(s);
    const hashes = new Uint8Array(total);
    let at = 0;
    const leaves = entries.map((e, i) => {
      const part = hashes.subarray(at, at + recordHashBytes(start + i));
      at += part.length;
      const leaf = leafHash(checkEntry(e, i));
      part.set(leaf, 0);
      pushLeaf(frontier, start + i, leaf, part);
      return leaf;
    });
    const preview: LogPreview = {
      size: start + entries.length,
      root: frontierRoot(frontier),
      frontier,
      leaves,
      start,
      startFrontier,
      hashes,
    };
    this.#previews.add(preview);
    return preview;
  }

  /**
   * Re-reads the committed state from the store and drops cached nodes. Needed after the store was
   * changed behind the log's back, e.g. a StagedKvStore whose staged append was discarded. If it
   * rejects (CORRUPT), the in-memory state is unchanged and the log should not be used further.
   */
  reload(): Promise<void> {
    return this.#exclusive(() => this.#load());
  }

  /** Root of the tree of the first `size` entries (default: current size), 0 ≤ size ≤ this.size. */
  async root(size: number = this.#size): Promise<Uint8Array> {
    checkCount(size, 'size');
    if (size > this.#size) throw new LogError('OUT_OF_RANGE', `size ${size} > log size ${this.#size}`);
    if (size === this.#size) return this.#root.slice();
    if (size === 0) return emptyRoot();
    const [root] = await this.#materialize([perfectRanges(0, size)]);
    return root as Uint8Array;
  }

  /** RFC 9162 §2.1.3.1 PATH(index, D[0:size]); 0 ≤ index < size ≤ this.size. */
  async inclusionProof(index: number, size: number): Promise<Uint8Array[]> {
    checkCount(index, 'index');
    checkCount(size, 'size');
    if (size > this.#size) throw new LogError('OUT_OF_RANGE', `size ${size} > log size ${this.#size}`);
    if (index >= size) throw new LogError('OUT_OF_RANGE', `index ${index} not below size ${size}`);
    return this.#materialize(inclusionPlan(index, size));
  }

  /** RFC 9162 §2.1.4.1 PROOF(size1, D[0:size2]); empty when size1 is 0 or equal to size2. */
  async consistencyProof(size1: number, size2: number): Promise<Uint8Array[]> {
    checkCount(size1, 'size1');
    checkCount(size2, 'size2');
    if (size2 > this.#size) throw new LogError('OUT_OF_RANGE', `size2 ${size2} > log size ${this.#size}`);
    if (size1 > size2) throw new LogError('OUT_OF_RANGE', `size1 ${size1} > size2 ${size2}`);
    return this.#materialize(consistencyPlan(size1, size2));
  }

  /** The entry at `index`, or undefined if there is none (not a valid index, or ≥ size). */
  async getEntry(index: number): Promise<Uint8Array | undefined> {
    if (typeof index !== 'number' || !Number.isSafeInteger(index) || index < 0 || index >= this.#size) {
      return undefined;
    }
    const v = await this.#store.get(this.#keys.record(index));
    const start = recordHashBytes(index);
    if (v === undefined || v.length < start) {
      throw new LogError('CORRUPT', `record ${index} missing or short`, { index });
    }
    return v.slice(start);
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  async #load(): Promise<void> {
    this.#cache.clear();
    const raw = await this.#store.get(this.#keys.state);
    const frontier = emptyFrontier();
    if (raw === undefined) {
      this.#size = 0;
      this.#frontier = frontier;
      this.#root = emptyRoot();
      return;
    }
    let head: TreeHead;
    try {
      head = decodeTreeHead(raw);
    } catch (e) {
      throw new LogError('CORRUPT', `malformed log state record: ${(e as Error).message}`);
    }
    const refs = perfectRanges(0, head.size);
    const hashes = await Promise.all(refs.map((r) => this.#readNode(r)));
    refs.forEach((r, i) => {
      frontier[r.level] = hashes[i];
    });
    const root = frontierRoot(frontier);
    // The stored root must follow from the stored subtrees; catches a store mixed from two histories.
    if (!equalBytes(root, head.root)) {
      throw new LogError('CORRUPT', `stored root does not match the stored subtrees at size ${head.size}`);
    }
    this.#size = head.size;
    this.#frontier = frontier;
    this.#root = root;
  }

  async #append(entries: readonly Uint8Array[], preview?: LogPreview): Promise<AppendResult> {
    if (!Array.isArray(entries)) throw new LogError('INVALID_ARGUMENT', 'entries must be an array');
    invariant(
      preview === undefined || preview.leaves.length === entries.length,
      'append: the preview is of a different number of entries',
    );
    // A preview made from this very state predicted every subtree hash too: written as they are.
    // (One made on another branch, or before other appends, lends only its leaf hashes.)
    const reused =
      preview !== undefined &&
      preview.start === this.#size &&
      sameFrontier(preview.startFrontier, this.#frontier)
        ? preview
        : undefined;
    const first = this.#size;
    const count = entries.length;
    if (count === 0) return { firstIndex: first, size: first, root: this.#root.slice() };
    if (first + count > Number.MAX_SAFE_INTEGER) {
      throw new LogError('TOO_LARGE', `appending ${count} entries would exceed 2^53 - 1`);
    }
    const keys = this.#keys;
    const frontier = (reused?.frontier ?? this.#frontier).slice();
    const ops: KvOp[] = [];
    const hot: Array<[number, number, Uint8Array]> = [];
    // One buffer for all of this batch's records: one allocation instead of one per entry (records
    // exceed V8's on-heap typed-array limit, so each would be a separate off-heap allocation). Stores
    // copy values during batch(), so the views need not outlive it.
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      bytes += HASH_BYTES * (trailingOnes(first + i) + 1) + checkEntry(entries[i], i).length;
    }
    const arena = new Uint8Array(bytes);
    let at = 0;
    let hashesAt = 0;
    let s = first;
    for (let i = 0; i < count; i++) {
      const entry = entries[i] as Uint8Array;
      const hashBytes = HASH_BYTES * (trailingOnes(s) + 1);
      const record = arena.subarray(at, at + hashBytes + entry.length);
      at += record.length;
      if (reused !== undefined) {
        record.set(reused.hashes.subarray(hashesAt, hashesAt + hashBytes), 0);
        hashesAt += hashBytes;
      } else {
        const leaf = preview?.leaves[i] ?? leafHash(entry);
        record.set(leaf, 0);
        pushLeaf(frontier, s, leaf, record);
      }
      record.set(entry, hashBytes);
      ops.push({ type: 'put', key: keys.record(s), value: record });
      for (let level = CACHE_ON_WRITE_MIN_LEVEL; level < hashBytes / HASH_BYTES; level++) {
        const index = (s + 1) / 2 ** level - 1;
        hot.push([level, index, record.slice(HASH_BYTES * level, HASH_BYTES * (level + 1))]);
      }
      s++;
    }
    const root = reused !== undefined ? reused.root.slice() : frontierRoot(frontier);
    ops.push({ type: 'put', key: keys.state, value: encodeTreeHead({ size: s, root }) });
    await this.#store.batch(ops);
    // Only now, with the batch accepted, does the in-memory state move.
    this.#size = s;
    this.#frontier = frontier;
    this.#root = root;
    for (const [level, index, h] of hot) this.#cache.set(level, index, h);
    return { firstIndex: first, size: s, root: root.slice() };
  }

  async #readNode(ref: NodeRef): Promise<Uint8Array> {
    const cached = this.#cache.get(ref.level, ref.index);
    if (cached !== undefined) return cached;
    const { record, offset } = nodeLocation(ref.level, ref.index);
    const v = await this.#store.get(this.#keys.record(record));
    if (v === undefined || v.length < recordHashBytes(record)) {
      const what = `record ${record} holding node (${ref.level}, ${ref.index}) missing or short`;
      throw new LogError('CORRUPT', what, { ...ref });
    }
    const h = v.slice(offset, offset + HASH_BYTES);
    this.#cache.set(ref.level, ref.index, h);
    return h;
  }

  /** Reads every node the items need (in parallel), then folds each item into one hash. */
  async #materialize(items: readonly ProofItem[]): Promise<Uint8Array[]> {
    if (items.length === 0) return [];
    const refs = items.flat();
    const hashes = await Promise.all(refs.map((r) => this.#readNode(r)));
    const out: Uint8Array[] = [];
    let at = 0;
    for (const item of items) {
      out.push(foldRange(hashes, at, at + item.length));
      at += item.length;
    }
    return out;
  }
}
