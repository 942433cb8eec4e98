/**
 * Turning the dirty part of the in-memory tree into the store operations of one commit.
 *
 * Archive mode writes every new node under its hash and never deletes.
 *
 * Pruning mode keeps a reference count per stored node: the number of stored parent nodes that
 * reference it by hash (once per slot) plus one per retained root. A commit adds references for the
 * new root (writing a node and counting its children only when the node is not already stored —
 * a re-created node just gains a reference), journals the root under its commit number, then
 * releases the roots that fell out of the window; a node whose count reaches zero is deleted and
 * releases its own children. All reads go through an overlay of this commit's pending changes so
 * the planned operations are consistent, and they are written by the caller in one atomic batch.
 */
import { RLP } from '@ethereumjs/rlp';
import { byteKey, equalBytes } from '../../crypto/bytes.ts';
import { invariant } from '../../crypto/errors.ts';
import type { KvOp, KvStore } from '../kv.ts';
import { TrieError } from './errors.ts';
import {
  decodeCount,
  encodeCount,
  encodeMeta,
  type Layout,
  MODE_ARCHIVE,
  MODE_PRUNE,
  type TrieMeta,
} from './layout.ts';
import {
  BRANCH,
  EXTENSION,
  forEachHashRef,
  HASH,
  INLINE_LIMIT,
  type LoadedNode,
  type TrieNode,
} from './node.ts';

export interface CommitPlan {
  readonly ops: KvOp[];
  /** Nodes to mark saved once the batch is durable. */
  readonly saved: LoadedNode[];
}

/** Archive mode: put every unsaved node referenced by hash, plus the root (always stored by hash). */
export function planArchiveCommit(
  root: TrieNode | null,
  layout: Layout,
  meta: TrieMeta | undefined,
): CommitPlan {
  const ops: KvOp[] = [];
  const saved: LoadedNode[] = [];
  if (root !== null && root.kind !== HASH) {
    // A small root may have been inline (hence "saved") before; store it under its hash regardless.
    ops.push({ type: 'put', key: layout.nodeKey(root.hash as Uint8Array), value: root.enc as Uint8Array });
    if (!root.saved) saved.push(root);
    forEachChild(root, (c) => collectUnsaved(c, layout, ops, saved));
  }
  if (meta === undefined) {
    ops.push({
      type: 'put',
      key: layout.metaKey,
      value: encodeMeta({ mode: MODE_ARCHIVE, commits: 0, oldest: 0 }),
    });
  }
  return { ops, saved };
}

function collectUnsaved(n: TrieNode, layout: Layout, ops: KvOp[], saved: LoadedNode[]): void {
  if (n.kind === HASH || n.saved) return; // saved ⇒ the whole subtree is saved
  const enc = n.enc as Uint8Array;
  if (enc.length >= INLINE_LIMIT)
    ops.push({ type: 'put', key: layout.nodeKey(n.hash as Uint8Array), value: enc });
  saved.push(n);
  forEachChild(n, (c) => collectUnsaved(c, layout, ops, saved));
}

function forEachChild(n: LoadedNode, fn: (c: TrieNode) => void): void {
  if (n.kind === BRANCH) {
    for (let i = 0; i < 16; i++) {
      const c = n.children[i] as TrieNode | null;
      if (c !== null) fn(c);
    }
  } else if (n.kind === EXTENSION) {
    fn(n.child);
  }
}

function children(n: LoadedNode): TrieNode[] {
  const out: TrieNode[] = [];
  forEachChild(n, (c) => out.push(c));
  return out;
}

/** Reference-count bookkeeping for one commit, over an overlay of its pending changes. */
class RefPlanner {
  readonly #store: KvStore;
  readonly #layout: Layout;
  readonly #counts = new Map<string, number>();
  readonly #hashes = new Map<string, Uint8Array>();
  readonly #changed = new Set<string>();
  /** hash → node bytes to put, or null to delete. */
  readonly #nodes = new Map<string, Uint8Array | null>();
  readonly saved: LoadedNode[] = [];

  constructor(store: KvStore, layout: Layout) {
    this.#store = store;
    this.#layout = layout;
  }

  async #count(hash: Uint8Array, k: string): Promise<number> {
    const cached = this.#counts.get(k);
    if (cached !== undefined) return cached;
    const v = await this.#store.get(this.#layout.refKey(hash));
    const c = v === undefined ? 0 : decodeCount(v);
    this.#counts.set(k, c);
    this.#hashes.set(k, hash);
    return c;
  }

  #set(k: string, c: number): void {
    this.#counts.set(k, c);
    this.#changed.add(k);
  }

  /** One more reference to `n` (which is referenced by hash, or is the root). */
  async addNode(n: TrieNode): Promise<void> {
    const h = n.hash as Uint8Array;
    const k = byteKey(h);
    const c = await this.#count(h, k);
    this.#set(k, c + 1);
    if (n.kind === HASH) {
      if (c === 0) throw new TrieError('MISSING_NODE', 'a referenced trie node is not in the store');
      return;
    }
    if (c > 0) {
      // Already stored (unchanged, or re-created with identical content): its children are counted.
      this.#markSaved(n);
      return;
    }
    this.#nodes.set(k, n.enc as Uint8Array);
    if (!n.saved) this.saved.push(n);
    await this.#addChildren(n);
  }

  async #addChildren(n: LoadedNode): Promise<void> {
    for (const c of children(n)) {
      if (c.kind !== HASH && (c.enc as Uint8Array).length < INLINE_LIMIT) {
        if (!c.saved) this.saved.push(c);
        await this.#addChildren(c); // inline nodes hold no hash references, but stay generic
      } else {
        await this.addNode(c);
      }
    }
  }

  #markSaved(n: LoadedNode): void {
    if (n.saved) return;
    this.saved.push(n);
    forEachChild(n, (c) => {
      if (c.kind !== HASH) this.#markSaved(c);
    });
  }

  /** Drops one reference to the stored node `hash`; deletes it (and releases its children) at zero. */
  async release(hash: Uint8Array): Promise<void> {
    const k = byteKey(hash);
    const c = await this.#count(hash, k);
    if (c === 0) throw new TrieError('CORRUPT_NODE', 'trie reference count underflow');
    this.#set(k, c - 1);
    if (c > 1) return;
    const pending = this.#nodes.get(k);
    this.#nodes.set(k, null);
    const enc = pending ?? (await this.#store.get(this.#layout.nodeKey(hash)));
    if (enc === undefined) throw new TrieError('MISSING_NODE', 'a counted trie node is not in the store');
    const refs: Uint8Array[] = [];
    forEachHashRef(RLP.decode(enc), (r) => refs.push(r));
    for (const r of refs) await this.release(r);
  }

  ops(): KvOp[] {
    const ops: KvOp[] = [];
    for (const k of this.#changed) {
      const c = this.#counts.get(k);
      const hash = this.#hashes.get(k);
      invariant(c !== undefined && hash !== undefined, 'a changed trie node has no count or hash');
      const key = this.#layout.refKey(hash);
      ops.push(c > 0 ? { type: 'put', key, value: encodeCount(c) } : { type: 'del', key });
    }
    for (const [k, v] of this.#nodes) {
      const key = this.#layout.nodeKey(this.#hashes.get(k) as Uint8Array);
      ops.push(v === null ? { type: 'del', key } : { type: 'put', key, value: v });
    }
    return ops;
  }
}

export async function planPruningCommit(
  root: TrieNode | null,
  rootHash: Uint8Array,
  emptyRoot: Uint8Array,
  layout: Layout,
  store: KvStore,
  keepRoots: number,
  meta: TrieMeta | undefined,
): Promise<CommitPlan> {
  const planner = new RefPlanner(store, layout);
  const commit = (meta?.commits ?? 0) + 1;
  if (root !== null) await planner.addNode(root); // the new root's hold (adds before releases)
  const journal: KvOp[] = [{ type: 'put', key: layout.journalKey(commit), value: rootHash }];
  let oldest = meta === undefined || meta.commits === 0 ? 1 : meta.oldest;
  for (; oldest <= commit - keepRoots; oldest++) {
    const key = layout.journalKey(oldest);
    const old = await store.get(key);
    if (old !== undefined && !equalBytes(old, emptyRoot)) await planner.release(old);
    journal.push({ type: 'del', key });
  }
  const ops = planner.ops();
  ops.push(...journal);
  ops.push({
    type: 'put',
    key: layout.metaKey,
    value: encodeMeta({ mode: MODE_PRUNE, commits: commit, oldest }),
  });
  return { ops, saved: planner.saved };
}
