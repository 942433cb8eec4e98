/**
 * Synchronous trie algorithms on the in-memory tree: lookup, insert, remove, path collection.
 *
 * They never await. When they reach a child that is still a `HashNode` they stop *before mutating
 * anything* and return a `Missing` naming the parent slot to load; the async caller loads that node
 * and retries. With the working set in memory (the common case) an operation costs no await at all.
 *
 * insert/remove return the new subtree root, `undefined` when nothing changed (so unchanged paths
 * keep their cached hashes), or a `Missing`.
 */
import { equalBytes } from '../../crypto/bytes.ts';
import { invariant } from '../../crypto/errors.ts';
import {
  commonPrefixLength,
  EMPTY_NIBBLES,
  equalNibblesAt,
  joinNibbles,
  type Nibbles,
  startsWithAt,
} from './nibbles.ts';
import {
  BRANCH,
  BranchNode,
  EXTENSION,
  ExtensionNode,
  HASH,
  type HashNode,
  invalidate,
  LEAF,
  LeafNode,
  type LoadedNode,
  type TrieNode,
} from './node.ts';

/** The operation needs `node`, found at `parent.children[slot]` / `parent.child` (slot -1) / the root (parent null). */
export class Missing {
  readonly parent: BranchNode | ExtensionNode | null;
  readonly slot: number;
  readonly node: HashNode;
  constructor(parent: BranchNode | ExtensionNode | null, slot: number, node: HashNode) {
    this.parent = parent;
    this.slot = slot;
    this.node = node;
  }
}

/** Value stored under `key` (nibbles), `null` if absent. */
export function lookup(root: TrieNode | null, key: Nibbles): Uint8Array | null | Missing {
  let node = root;
  let parent: BranchNode | ExtensionNode | null = null;
  let slot = -1;
  let pos = 0;
  while (node !== null) {
    switch (node.kind) {
      case HASH:
        return new Missing(parent, slot, node);
      case LEAF:
        return equalNibblesAt(node.path, key, pos) ? node.value : null;
      case EXTENSION:
        if (!startsWithAt(node.path, key, pos)) return null;
        pos += node.path.length;
        parent = node;
        slot = -1;
        node = node.child;
        break;
      case BRANCH:
        if (pos === key.length) return node.value;
        parent = node;
        slot = key[pos++] as number;
        node = node.children[slot] as TrieNode | null;
        break;
    }
  }
  return null;
}

/** Every node on the path of `key` from the root, inline ones included (for proofs). */
export function pathNodes(root: TrieNode | null, key: Nibbles): LoadedNode[] | Missing {
  const out: LoadedNode[] = [];
  let node = root;
  let parent: BranchNode | ExtensionNode | null = null;
  let slot = -1;
  let pos = 0;
  while (node !== null) {
    if (node.kind === HASH) return new Missing(parent, slot, node);
    out.push(node);
    if (node.kind === LEAF) break;
    if (node.kind === EXTENSION) {
      if (!startsWithAt(node.path, key, pos)) break;
      pos += node.path.length;
      parent = node;
      slot = -1;
      node = node.child;
    } else {
      if (pos === key.length) break;
      parent = node;
      slot = key[pos++] as number;
      node = node.children[slot] as TrieNode | null;
    }
  }
  return out;
}

function missingRoot(root: TrieNode): Missing | undefined {
  return root.kind === HASH ? new Missing(null, -1, root) : undefined;
}

/** Inserts or overwrites `key` (non-empty `value`). */
export function insert(
  root: TrieNode | null,
  key: Nibbles,
  value: Uint8Array,
): TrieNode | undefined | Missing {
  if (root === null) return new LeafNode(key, value);
  return missingRoot(root) ?? ins(root as LoadedNode, key, 0, value);
}

function ins(
  node: LoadedNode,
  key: Nibbles,
  pos: number,
  value: Uint8Array,
): LoadedNode | undefined | Missing {
  if (node.kind === BRANCH) {
    if (pos === key.length) {
      if (node.value !== null && equalBytes(node.value, value)) return undefined;
      node.value = value;
      invalidate(node);
      return node;
    }
    const slot = key[pos] as number;
    const child = node.children[slot] as TrieNode | null;
    let next: LoadedNode | undefined | Missing;
    if (child === null) next = new LeafNode(key.subarray(pos + 1), value);
    else if (child.kind === HASH) return new Missing(node, slot, child);
    else next = ins(child, key, pos + 1, value);
    if (next === undefined || next instanceof Missing) return next;
    node.children[slot] = next;
    invalidate(node);
    return node;
  }
  const path = node.path;
  const common = commonPrefixLength(path, key, pos);
  if (node.kind === LEAF) {
    if (common === path.length && pos + common === key.length) {
      if (equalBytes(node.value, value)) return undefined;
      node.value = value;
      invalidate(node);
      return node;
    }
  } else if (common === path.length) {
    const child = node.child;
    if (child.kind === HASH) return new Missing(node, -1, child);
    const next = ins(child, key, pos + common, value);
    if (next === undefined || next instanceof Missing) return next;
    node.child = next;
    invalidate(node);
    return node;
  }
  // Paths diverge at `common`: a new branch takes the old node's rest and the new key's rest.
  const branch = new BranchNode();
  if (common === path.length) {
    branch.value = (node as LeafNode).value; // only a leaf can end here; an extension matched fully above
  } else {
    const rest = path.subarray(common + 1);
    const slot = path[common] as number;
    if (node.kind === LEAF) branch.children[slot] = new LeafNode(rest, node.value);
    else branch.children[slot] = rest.length === 0 ? node.child : new ExtensionNode(rest, node.child);
  }
  const at = pos + common;
  if (at === key.length) branch.value = value;
  else branch.children[key[at] as number] = new LeafNode(key.subarray(at + 1), value);
  return common === 0 ? branch : new ExtensionNode(path.subarray(0, common), branch);
}

/** Deletes `key`; returns the new root (`null` = empty trie). */
export function remove(root: TrieNode | null, key: Nibbles): TrieNode | null | undefined | Missing {
  if (root === null) return undefined;
  return missingRoot(root) ?? rem(root as LoadedNode, key, 0);
}

function rem(node: LoadedNode, key: Nibbles, pos: number): LoadedNode | null | undefined | Missing {
  if (node.kind === LEAF) return equalNibblesAt(node.path, key, pos) ? null : undefined;
  if (node.kind === EXTENSION) {
    if (!startsWithAt(node.path, key, pos)) return undefined;
    const child = node.child;
    if (child.kind === HASH) return new Missing(node, -1, child);
    const next = rem(child, key, pos + node.path.length);
    if (next === undefined || next instanceof Missing) return next;
    // An extension's child is a branch, and removing one key never empties a branch at once.
    invariant(next !== null, 'an extension lost its whole child (non-canonical trie)');
    return prependPath(node, node.path, next);
  }
  // Branch. If it has two entries, removing one collapses it into the other: that sibling must be
  // in memory before anything is mutated.
  const target = pos === key.length ? -1 : (key[pos] as number);
  let entries = node.value === null ? 0 : 1;
  for (let i = 0; i < 16; i++) if (node.children[i] !== null) entries++;
  if (entries <= 2) {
    for (let i = 0; i < 16; i++) {
      const c = node.children[i] as TrieNode | null;
      if (i !== target && c !== null && c.kind === HASH) return new Missing(node, i, c);
    }
  }
  if (target === -1) {
    if (node.value === null) return undefined;
    node.value = null;
  } else {
    const child = node.children[target] as TrieNode | null;
    if (child === null) return undefined;
    if (child.kind === HASH) return new Missing(node, target, child);
    const next = rem(child, key, pos + 1);
    if (next === undefined || next instanceof Missing) return next;
    node.children[target] = next;
  }
  invalidate(node);
  return collapse(node);
}

/** Restores canonical form of a branch that may have dropped to one entry. */
function collapse(branch: BranchNode): LoadedNode | null {
  let count = branch.value === null ? 0 : 1;
  let only = -1;
  for (let i = 0; i < 16; i++) {
    if (branch.children[i] !== null) {
      count++;
      only = i;
    }
  }
  if (count >= 2) return branch;
  if (count === 0) return null;
  if (branch.value !== null) return new LeafNode(EMPTY_NIBBLES, branch.value);
  const c = branch.children[only] as LoadedNode; // resolved by the sibling check in rem()
  if (c.kind === BRANCH) return new ExtensionNode(Uint8Array.of(only), c);
  return c.kind === LEAF
    ? new LeafNode(joinNibbles(EMPTY_NIBBLES, only, c.path), c.value)
    : new ExtensionNode(joinNibbles(EMPTY_NIBBLES, only, c.path), c.child);
}

/** `ext` with child `next`: merge when the child became a leaf/extension, else re-point. */
function prependPath(ext: ExtensionNode, path: Nibbles, next: LoadedNode): LoadedNode {
  if (next.kind === LEAF) return new LeafNode(joinNibbles(path, -1, next.path), next.value);
  if (next.kind === EXTENSION) return new ExtensionNode(joinNibbles(path, -1, next.path), next.child);
  ext.child = next;
  invalidate(ext);
  return ext;
}
