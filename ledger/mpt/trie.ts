/**
 * Ethereum-compatible Merkle-Patricia trie over a `KvStore`.
 *
 * Same key/value set ⇒ same root as Ethereum's (go-ethereum's / @ethereumjs/mpt's) trie. In
 * `secure` mode keys are keccak256-hashed before insertion, as Ethereum's state trie does.
 *
 * In memory the trie is a mutable tree of decoded nodes; children not needed yet stay as hashes and
 * are loaded on demand. Mutations only invalidate cached encodings along their path; `root()` and
 * `commit()` re-encode and hash just those dirty nodes. `commit()` writes everything new in ONE
 * `store.batch` call; the trie can be reopened from the store and any committed root it retains.
 *
 * Pruning policy (`pruning` option):
 * - `'archive'` (default): nodes are content-addressed and never deleted, so every root ever
 *   committed stays readable and provable.
 * - `{ keepRoots: N }`: every stored node carries a reference count (stored parents referencing it
 *   by hash, plus one per retained root), updated in the same atomic batch as the commit; the root of
 *   each commit is journaled under its commit number. Commit c keeps the roots of commits
 *   c-N+1..c and releases older ones; a node is deleted when its count reaches zero, i.e. when it is
 *   reachable only from released roots. A node re-created by a later commit (same content, same
 *   hash) just gains a reference, so sharing across roots is safe. Reading a released root fails
 *   with MISSING_ROOT / MISSING_NODE. The mode is recorded in the store; switching an existing store
 *   between archive and pruning is refused (PRUNING_MODE_MISMATCH) since archive nodes carry no counts.
 *
 * Concurrency contract: all async operations (get, put, del, batch, commit, createProof, evict) run
 * one at a time in call order on an internal queue, so each sees the effects of every operation
 * called before it, even if not awaited. `root()` is synchronous and refuses (BUSY) while any queued
 * operation has not settled — await writes before asking for the root. One writer per
 * (store, prefix): two writable instances on the same store must not commit concurrently.
 *
 * Failure: if `commit()`'s batch fails, nothing is marked saved and the commit can be retried; the
 * store still holds the previous root intact. If the store later drops an acknowledged write (e.g. a
 * StagedKvStore that is discarded), discard this instance and reopen at the last durable root. A
 * MISSING_NODE / CORRUPT_NODE error in the middle of `batch()` may leave it partially applied:
 * discard the instance.
 */
import { keccak256 } from '../../crypto/hash.ts';
import { type KvStore, MemoryKvStore } from '../kv.ts';
import { planArchiveCommit, planPruningCommit } from './commit.ts';
import { EMPTY_ROOT, MAX_KEY_BYTES } from './constants.ts';
import { TrieError } from './errors.ts';
import { DEFAULT_PREFIX, decodeMeta, Layout, MODE_ARCHIVE, MODE_PRUNE, type TrieMeta } from './layout.ts';
import { insert, lookup, Missing, pathNodes, remove } from './mutate.ts';
import { bytesToNibbles, type Nibbles } from './nibbles.ts';
import {
  BRANCH,
  decodeStoredNode,
  EXTENSION,
  encodeNode,
  HASH,
  HashNode,
  INLINE_LIMIT,
  type LoadedNode,
  type TrieNode,
} from './node.ts';

export type PruningPolicy = 'archive' | { readonly keepRoots: number };

export interface TrieOptions {
  /** Backing store; default a fresh MemoryKvStore. */
  readonly store?: KvStore;
  /** Hash keys with keccak256 before use (Ethereum's "secure trie"). Default false. */
  readonly secure?: boolean;
  /** Open at this root; it must be in the store (else MISSING_ROOT). Default the empty root. */
  readonly root?: Uint8Array;
  /** Prefix of every store key this trie writes. Default `m:`. */
  readonly prefix?: Uint8Array;
  /** Default 'archive'. See the header of this file. */
  readonly pruning?: PruningPolicy;
}

export type TrieOp =
  | { readonly type: 'put'; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: Uint8Array };

interface Config {
  readonly store: KvStore;
  readonly layout: Layout;
  readonly secure: boolean;
  readonly keepRoots: number; // 0 = archive
}

export class MerklePatriciaTrie {
  static readonly EMPTY_ROOT: Uint8Array = EMPTY_ROOT;

  readonly #cfg: Config;
  readonly #readOnly: boolean;
  #root: TrieNode | null;
  #tail: Promise<unknown> = Promise.resolve();
  #pending = 0;

  private constructor(cfg: Config, root: TrieNode | null, readOnly: boolean) {
    this.#cfg = cfg;
    this.#root = root;
    this.#readOnly = readOnly;
  }

  static async create(opts: TrieOptions = {}): Promise<MerklePatriciaTrie> {
    if (opts.prefix !== undefined && !(opts.prefix instanceof Uint8Array)) {
      throw new TrieError('INVALID_OPTIONS', 'prefix must be a Uint8Array');
    }
    const cfg: Config = {
      store: opts.store ?? new MemoryKvStore(),
      layout: new Layout(opts.prefix ?? DEFAULT_PREFIX),
      secure: opts.secure ?? false,
      keepRoots: keepRootsOf(opts.pruning),
    };
    return new MerklePatriciaTrie(cfg, await openRoot(cfg, opts.root ?? EMPTY_ROOT), false);
  }

  /** A read-only view of a past (or any stored) root, sharing this trie's store and options. */
  async atRoot(root: Uint8Array): Promise<MerklePatriciaTrie> {
    return new MerklePatriciaTrie(this.#cfg, await openRoot(this.#cfg, root), true);
  }

  get secure(): boolean {
    return this.#cfg.secure;
  }

  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Value under `key`, or undefined. */
  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const path = this.#path(key);
    return this.#enqueue(async () => {
      for (;;) {
        const r = lookup(this.#root, path);
        if (r instanceof Missing) await this.#load(r);
        else return r === null ? undefined : r.slice();
      }
    });
  }

  /** Sets `key` to `value`; an empty value deletes the key (Ethereum semantics). */
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    const path = this.#path(key);
    checkValue(value);
    const v = value.slice(); // callers may reuse their buffer
    return this.#enqueue(() => this.#apply(path, v));
  }

  async del(key: Uint8Array): Promise<void> {
    const path = this.#path(key);
    return this.#enqueue(() => this.#apply(path, EMPTY_VALUE));
  }

  // Public methods are `async` so that validation errors surface as rejections; each one enqueues
  // synchronously (before its first await), which is what keeps call order = execution order.

  /** Applies `ops` in order (later ops win). Inputs are validated before anything is applied. */
  async batch(ops: readonly TrieOp[]): Promise<void> {
    const paths: Nibbles[] = new Array(ops.length);
    const values: Uint8Array[] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as TrieOp;
      paths[i] = this.#path(op.key);
      if (op.type === 'put') {
        checkValue(op.value);
        values[i] = op.value.slice();
      } else if (op.type === 'del') {
        values[i] = EMPTY_VALUE;
      } else {
        throw new TrieError('INVALID_OPTIONS', `unknown batch op type at index ${i}`);
      }
    }
    return this.#enqueue(async () => {
      if (paths.length > 1) await this.#prefetch(paths);
      for (let i = 0; i < paths.length; i++) await this.#apply(paths[i] as Nibbles, values[i] as Uint8Array);
    });
  }

  /** Root hash of the current contents, uncommitted changes included. Hashes only dirty nodes. */
  root(): Uint8Array {
    if (this.#pending > 0)
      throw new TrieError('BUSY', 'root() called while trie operations are still pending');
    return this.#rootHash().slice();
  }

  /** Persists every new node in one atomic `store.batch`; returns the committed root. */
  commit(): Promise<Uint8Array> {
    return this.#enqueue(async () => {
      if (this.#readOnly) throw new TrieError('READ_ONLY', 'cannot commit a read-only trie view');
      const { store, layout, keepRoots } = this.#cfg;
      const rootHash = this.#rootHash();
      const metaBytes = await store.get(layout.metaKey);
      const meta: TrieMeta | undefined = metaBytes === undefined ? undefined : decodeMeta(metaBytes);
      const wanted = keepRoots > 0 ? MODE_PRUNE : MODE_ARCHIVE;
      if (meta !== undefined && meta.mode !== wanted) {
        throw new TrieError('PRUNING_MODE_MISMATCH', 'store was written with a different pruning mode', {
          stored: meta.mode === MODE_PRUNE ? 'keepRoots' : 'archive',
        });
      }
      const plan =
        keepRoots > 0
          ? await planPruningCommit(this.#root, rootHash, EMPTY_ROOT, layout, store, keepRoots, meta)
          : planArchiveCommit(this.#root, layout, meta);
      await store.batch(plan.ops);
      for (const n of plan.saved) n.saved = true; // only once the batch is acknowledged
      return rootHash.slice();
    });
  }

  /**
   * RLP-encoded nodes from the root along `key`'s path: every node referenced by hash (inline nodes
   * are inside their parent). Proves inclusion, or absence when the key is not in the trie. Proves
   * against the current `root()`, uncommitted changes included.
   */
  async createProof(key: Uint8Array): Promise<Uint8Array[]> {
    const path = this.#path(key);
    return this.#enqueue(async () => {
      for (;;) {
        const r = pathNodes(this.#root, path);
        if (r instanceof Missing) {
          await this.#load(r);
          continue;
        }
        this.#rootHash(); // encodes dirty nodes
        return r
          .filter((n, i) => i === 0 || (n.enc as Uint8Array).length >= INLINE_LIMIT)
          .map((n) => n.enc as Uint8Array);
      }
    });
  }

  /**
   * Forgets in-memory nodes that are already in the store (they are reloaded on demand). Bounds the
   * memory of a long-running writer; uncommitted changes are kept.
   */
  evict(): Promise<void> {
    return this.#enqueue(async () => {
      // The root itself stays: a small root is only stored under its hash once committed as root.
      if (this.#root !== null && this.#root.kind !== HASH) evictSaved(this.#root);
    });
  }

  #path(key: Uint8Array): Nibbles {
    if (!(key instanceof Uint8Array)) throw new TrieError('INVALID_KEY', 'key must be a Uint8Array');
    if (this.#cfg.secure) return bytesToNibbles(keccak256(key));
    if (key.length > MAX_KEY_BYTES)
      throw new TrieError('INVALID_KEY', `key longer than ${MAX_KEY_BYTES} bytes`);
    return bytesToNibbles(key);
  }

  async #apply(path: Nibbles, value: Uint8Array): Promise<void> {
    if (this.#readOnly) throw new TrieError('READ_ONLY', 'cannot write to a read-only trie view');
    for (;;) {
      const r = value.length === 0 ? remove(this.#root, path) : insert(this.#root, path, value);
      if (r instanceof Missing) {
        await this.#load(r);
        continue;
      }
      if (r !== undefined) this.#root = r;
      return;
    }
  }

  #rootHash(): Uint8Array {
    const root = this.#root;
    if (root === null) return EMPTY_ROOT;
    if (root.kind === HASH) return root.hash;
    const enc = encodeNode(root);
    root.hash ??= keccak256(enc); // a small root is still hashed (and stored under its hash)
    return root.hash;
  }

  /**
   * Loads, level by level and concurrently, every stored node on the paths of `paths`, so a bulk
   * update of a cold trie pays one round of store latency per trie level instead of one per node.
   * (Siblings needed when a delete collapses a branch are still loaded on demand by #apply.)
   */
  async #prefetch(paths: readonly Nibbles[]): Promise<void> {
    for (;;) {
      const wanted = new Map<HashNode, Missing>();
      for (const p of paths) {
        const r = lookup(this.#root, p);
        if (r instanceof Missing && !wanted.has(r.node)) wanted.set(r.node, r);
      }
      if (wanted.size === 0) return;
      await Promise.all(Array.from(wanted.values(), (m) => this.#load(m)));
    }
  }

  /** Loads the node `m` names and swaps it into its slot (if the slot still holds it). */
  async #load(m: Missing): Promise<void> {
    const { store, layout } = this.#cfg;
    const bytes = await store.get(layout.nodeKey(m.node.hash));
    if (bytes === undefined) {
      throw new TrieError('MISSING_NODE', 'trie node missing from the store (pruned or lost)', {
        hash: Buffer.from(m.node.hash).toString('hex'),
      });
    }
    const node = decodeStoredNode(bytes, m.node.hash);
    const p = m.parent;
    if (p === null) {
      if (this.#root === m.node) this.#root = node;
    } else if (p.kind === BRANCH) {
      if (p.children[m.slot] === m.node) p.children[m.slot] = node;
    } else if (p.child === m.node) {
      p.child = node;
    }
  }

  /** Serializes operations: each runs after the previous one settled, in call order. */
  #enqueue<T>(fn: () => Promise<T>): Promise<T> {
    this.#pending++;
    const run = this.#tail.then(fn);
    const done = run.finally(() => {
      this.#pending--;
    });
    this.#tail = done.catch(noop);
    return done;
  }
}

const EMPTY_VALUE = new Uint8Array(0);

function noop(): void {}

function checkValue(value: unknown): void {
  if (!(value instanceof Uint8Array)) throw new TrieError('INVALID_VALUE', 'value must be a Uint8Array');
}

function keepRootsOf(p: PruningPolicy | undefined): number {
  if (p === undefined || p === 'archive') return 0;
  const n = typeof p === 'object' && p !== null ? p.keepRoots : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new TrieError('INVALID_OPTIONS', "pruning must be 'archive' or { keepRoots: integer >= 1 }");
  }
  return n;
}

async function openRoot(cfg: Config, root: Uint8Array): Promise<TrieNode | null> {
  if (!(root instanceof Uint8Array) || root.length !== 32) {
    throw new TrieError('INVALID_OPTIONS', 'root must be a 32-byte Uint8Array');
  }
  if (equalRoot(root, EMPTY_ROOT)) return null;
  const bytes = await cfg.store.get(cfg.layout.nodeKey(root));
  if (bytes === undefined) {
    throw new TrieError('MISSING_ROOT', 'root not found in the store', {
      root: Buffer.from(root).toString('hex'),
    });
  }
  return decodeStoredNode(bytes, root.slice());
}

function equalRoot(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 32; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Replaces every saved, hash-referenced descendant of the unsaved frontier by its HashNode. */
function evictSaved(n: LoadedNode): void {
  const swap = (c: TrieNode): TrieNode => {
    if (c.kind === HASH) return c;
    if (c.saved && (c.enc as Uint8Array).length >= INLINE_LIMIT) return new HashNode(c.hash as Uint8Array);
    if (!c.saved) evictSaved(c);
    return c;
  };
  if (n.kind === BRANCH) {
    for (let i = 0; i < 16; i++) {
      const c = n.children[i] as TrieNode | null;
      if (c !== null) n.children[i] = swap(c);
    }
  } else if (n.kind === EXTENSION) {
    n.child = swap(n.child);
  }
}
