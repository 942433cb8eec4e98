/**
 * The storage port every persistent structure is written against. Implementations: the in-memory
 * store below (tests, simulator) and `src/storage/level-kv.ts` (disk). `batch` is atomic: after a
 * crash either all of its operations are visible or none is.
 */
import { byteKey } from '../crypto/bytes.ts';
import { VerityError } from '../crypto/errors.ts';
import { LruCache } from '../crypto/lru.ts';

/**
 * A store failed underneath us: the node's own fault, never a peer's. `STORAGE_FULL` (no space
 * left), `STORAGE_IO` (a read or write failed), `STORAGE_CORRUPT` (the store's own checksums or
 * structure are damaged), `STORAGE_LOCKED` (another process holds it), `STORAGE_CLOSED` (used
 * after close), `STORAGE_REMOVED` (the node's home or a store's directory was deleted or replaced
 * while it ran: src/node/home-watch.ts). `meta.path` names the store's directory when known.
 */
export type StorageErrorCode =
  | 'STORAGE_FULL'
  | 'STORAGE_IO'
  | 'STORAGE_CORRUPT'
  | 'STORAGE_LOCKED'
  | 'STORAGE_CLOSED'
  | 'STORAGE_REMOVED';

export class StorageError extends VerityError<StorageErrorCode> {}

export type KvOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

export interface KvIterateOptions {
  /** Iterate from the largest key down. */
  readonly reverse?: boolean;
  /** Stop after this many entries. */
  readonly limit?: number;
}

/**
 * Log bytes a store's own recovery threw away when it opened: LevelDB skips a log record that fails
 * its CRC and carries on (it has no strict mode to turn on from here), so writes it acknowledged
 * may be gone without an error. `file` is the log's name ('' where LevelDB named none, `bytes`
 * then 0), `reason` LevelDB's own words.
 */
export interface RecoveryDrop {
  readonly file: string;
  readonly bytes: number;
  readonly reason: string;
}

export interface KvStore {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  batch(ops: readonly KvOp[]): Promise<void>;
  /** Entries whose key starts with `prefix`, in byte order of the key. */
  iterate(prefix: Uint8Array, opts?: KvIterateOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]>;
  close(): Promise<void>;
  /**
   * What opening this store dropped of its own log, kept until acknowledged (a store that never
   * drops has neither method).
   */
  droppedOnOpen?(): readonly RecoveryDrop[];
  acknowledgeDrops?(): Promise<void>;
}

function keyBytes(s: string): Uint8Array {
  const b = Buffer.from(s, 'latin1');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * In-memory store. Values are copied on write so callers can reuse buffers. Latin-1 strings keep
 * byte order under string comparison, so prefix iteration is a sort of matching keys.
 */
export class MemoryKvStore implements KvStore {
  readonly #data = new Map<string, Uint8Array>();
  #closed = false;

  get size(): number {
    return this.#data.size;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getSync(key);
  }

  /** Synchronous read, for pure cores that run over an in-memory store (the simulator). */
  getSync(key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen();
    return this.#data.get(byteKey(key));
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    this.batchSync(ops);
  }

  batchSync(ops: readonly KvOp[]): void {
    this.#checkOpen();
    for (const op of ops) {
      if (op.type === 'put') this.#data.set(byteKey(op.key), op.value.slice());
      else this.#data.delete(byteKey(op.key));
    }
  }

  async *iterate(
    prefix: Uint8Array,
    opts: KvIterateOptions = {},
  ): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    for (const entry of this.entriesSync(prefix, opts)) yield entry;
  }

  entriesSync(prefix: Uint8Array, opts: KvIterateOptions = {}): Array<readonly [Uint8Array, Uint8Array]> {
    this.#checkOpen();
    const p = byteKey(prefix);
    const keys: string[] = [];
    for (const k of this.#data.keys()) if (k.startsWith(p)) keys.push(k);
    keys.sort();
    if (opts.reverse) keys.reverse();
    const limited = opts.limit === undefined ? keys : keys.slice(0, opts.limit);
    return limited.map((k) => [keyBytes(k), this.#data.get(k) as Uint8Array] as const);
  }

  /** A deep copy: what a crashed process would find on "disk" at this instant. */
  clone(): MemoryKvStore {
    const copy = new MemoryKvStore();
    for (const [k, v] of this.#data) copy.#data.set(k, v.slice());
    return copy;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw new StorageError('STORAGE_CLOSED', 'MemoryKvStore is closed');
  }
}

/**
 * A write overlay on another store: writes are staged in memory, reads see them, and `flush()`
 * writes everything staged as one atomic batch on the base store. This is how a block commit
 * combines the trie, the log and the indexes into a single atomic write without those structures
 * knowing about each other.
 */
export class StagedKvStore implements KvStore {
  #base: KvStore;
  /** latin1 key → value, or `null` for a staged delete. Insertion order = write order. */
  readonly #staged = new Map<string, Uint8Array | null>();

  constructor(base: KvStore) {
    this.#base = base;
  }

  get pending(): number {
    return this.#staged.size;
  }

  /**
   * Reads fall through to `base` from now on. For an overlay whose base's writes have since
   * reached `base` (a committed parent block's): a chain of such overlays would keep every one
   * alive and make each read walk it.
   */
  rebase(base: KvStore): void {
    this.#base = base;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const staged = this.#staged.get(byteKey(key));
    if (staged === null) return undefined;
    if (staged !== undefined) return staged;
    return this.#base.get(key);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    // `slice`, not a slab-carved copy (crypto/bytes.ts): staged trie nodes end in the read cache.
    for (const op of ops) this.#staged.set(byteKey(op.key), op.type === 'put' ? op.value.slice() : null);
  }

  async *iterate(
    prefix: Uint8Array,
    opts: KvIterateOptions = {},
  ): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    // Merge the base range with staged writes; correctness over speed (used for small ranges).
    const p = byteKey(prefix);
    const merged = new Map<string, Uint8Array>();
    for await (const [k, v] of this.#base.iterate(prefix)) merged.set(byteKey(k), v);
    for (const [k, v] of this.#staged) {
      if (!k.startsWith(p)) continue;
      if (v === null) merged.delete(k);
      else merged.set(k, v);
    }
    const keys = [...merged.keys()].sort();
    if (opts.reverse) keys.reverse();
    const limited = opts.limit === undefined ? keys : keys.slice(0, opts.limit);
    for (const k of limited) yield [keyBytes(k), merged.get(k) as Uint8Array] as const;
  }

  /**
   * Writes every staged operation, then `more` (written, never staged: for operations nothing
   * reads back through this overlay before the write), in one atomic batch on the base store, and
   * clears the overlay. `more`'s values are not copied: the base may keep them (CachingKvStore
   * does), so they must not be modified afterwards.
   */
  async flush(more: readonly KvOp[] = []): Promise<void> {
    const ops = this.takeOps();
    try {
      await this.#base.batch(more.length === 0 ? ops : ops.concat(more));
    } catch (e) {
      // Nothing reached the base: put the writes back so the caller can retry or discard.
      await this.batch(ops);
      throw e;
    }
  }

  /** Removes and returns every staged operation (to move them into another store's batch). */
  takeOps(): KvOp[] {
    const ops: KvOp[] = [];
    for (const [k, v] of this.#staged) {
      ops.push(v === null ? { type: 'del', key: keyBytes(k) } : { type: 'put', key: keyBytes(k), value: v });
    }
    this.#staged.clear();
    return ops;
  }

  /** Drops every staged write (the commit was abandoned). */
  discard(): void {
    this.#staged.clear();
  }

  async close(): Promise<void> {
    this.#staged.clear();
  }
}

/**
 * A write-through read cache in front of a slow store (LevelDB reads are asynchronous round
 * trips to a thread pool). Every write goes through `batch`, so the cache never disagrees with
 * the store. Two parts, each bounded by entry count (`maxEntries`, and a quarter of it for the
 * reads of keys not kept on write); the least recently used entries go first (crypto/lru.ts).
 */
export class CachingKvStore implements KvStore {
  readonly #base: KvStore;
  /** Keys `cacheWrite` keeps, written through: latin1 key → value, or `null` for one known absent. */
  readonly #cache: LruCache<Uint8Array | null>;
  /** Reads of the other keys, until the next batch that writes any of them (see `batch`). */
  readonly #reads: LruCache<Uint8Array | null>;
  readonly #cacheWrite: (key: Uint8Array) => boolean;
  /** Counts batches started and finished: a read that overlapped one does not fill the cache. */
  #writes = 0;

  /**
   * `maxEntries` bounds the cache (once warm it keeps at least half as many; see crypto/lru.ts),
   * and a quarter of it the reads of other keys. `cacheWrite` says which keys to keep when written
   * (default: all) — the state trie's nodes, read again and again. A key written and never read
   * (an index entry, a log record) need not push read-hot ones out, or cost memory and collector
   * time until it ages out; and the reads of such keys are dropped whole by any write to one,
   * rather than each written key being looked up to update an entry (a string made and two map
   * probes per write: about a microsecond each, with several per committed transaction).
   */
  constructor(base: KvStore, maxEntries = 200_000, cacheWrite: (key: Uint8Array) => boolean = () => true) {
    this.#base = base;
    this.#cache = new LruCache(maxEntries);
    this.#reads = new LruCache(Math.max(2, Math.floor(maxEntries / 4)));
    this.#cacheWrite = cacheWrite;
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const cache = this.#cacheWrite(key) ? this.#cache : this.#reads;
    const k = byteKey(key);
    const hit = cache.get(k);
    if (hit !== undefined) return hit === null ? undefined : hit;
    // A write may land while the base read is in flight (LevelDB reads are asynchronous): the read
    // then returns what was there before, which is fine for this caller but must not be cached —
    // it would hide the write from every later reader (a negative entry outliving the put).
    const writes = this.#writes;
    const v = await this.#base.get(key);
    if (this.#writes === writes) cache.set(k, v ?? null);
    return v;
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    this.#writes++;
    await this.#base.batch(ops);
    this.#writes++;
    let other = false;
    for (const op of ops) {
      if (this.#cacheWrite(op.key)) this.#cache.set(byteKey(op.key), op.type === 'put' ? op.value : null);
      else other = true;
    }
    if (other) this.#reads.clear();
  }

  iterate(prefix: Uint8Array, opts?: KvIterateOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    return this.#base.iterate(prefix, opts);
  }

  close(): Promise<void> {
    this.#cache.clear();
    this.#reads.clear();
    return this.#base.close();
  }
}
