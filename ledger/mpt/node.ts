/**
 * In-memory trie nodes and their Ethereum RLP form.
 *
 *   leaf      = [HP(path, leaf=true),  value]
 *   extension = [HP(path, leaf=false), ref(child)]          (child is always a branch)
 *   branch    = [ref(c0), …, ref(c15), value or '']
 *   ref(n)    = keccak256(rlp(n)) if |rlp(n)| >= 32, else n's RLP structure inlined.
 *
 * Nodes form a mutable tree owned by one trie instance. A child that has not been loaded from the
 * store yet is a `HashNode`. Each node caches its encoding (`enc`) and, when it is referenced by
 * hash, its `hash`; `enc === undefined` means "dirty". Invariants kept by the mutation code:
 * a dirty node's ancestors are dirty, and an unsaved node's ancestors are unsaved.
 */
import { type NestedUint8Array, RLP } from '@ethereumjs/rlp';
import { equalBytes } from '../../crypto/bytes.ts';
import { keccak256 } from '../../crypto/hash.ts';
import { decodeRlp, RlpRefusal } from '../rlp-decode.ts';
import type { TrieErrorCode } from './errors.ts';
import { TrieError } from './errors.ts';
import { hexPrefixDecode, hexPrefixEncode, type Nibbles } from './nibbles.ts';

export const BRANCH = 0;
export const EXTENSION = 1;
export const LEAF = 2;
export const HASH = 3;

/** RLP structure as accepted by `RLP.encode` / returned by `RLP.decode`. */
export type Raw = Uint8Array | NestedUint8Array;

const EMPTY = new Uint8Array(0);

/** Node references shorter than this are inlined into their parent. */
export const INLINE_LIMIT = 32;

abstract class Cached {
  /** RLP encoding; undefined = dirty, must be re-encoded. */
  enc: Uint8Array | undefined = undefined;
  /** keccak256(enc), set when |enc| >= 32 (and on the root). */
  hash: Uint8Array | undefined = undefined;
  /** RLP structure, kept only for inline (< 32 byte) nodes: the parent embeds it. */
  raw: Raw | undefined = undefined;
  /** The node is in the store (or embedded in a stored parent) under its current encoding. */
  saved = false;
}

export class BranchNode extends Cached {
  readonly kind = BRANCH;
  readonly children: Array<TrieNode | null> = [
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
  ];
  value: Uint8Array | null = null;
}

export class ExtensionNode extends Cached {
  readonly kind = EXTENSION;
  path: Nibbles;
  child: TrieNode;
  constructor(path: Nibbles, child: TrieNode) {
    super();
    this.path = path;
    this.child = child;
  }
}

export class LeafNode extends Cached {
  readonly kind = LEAF;
  path: Nibbles;
  value: Uint8Array;
  constructor(path: Nibbles, value: Uint8Array) {
    super();
    this.path = path;
    this.value = value;
  }
}

/** A child known only by hash; replaced by the decoded node when first needed. */
export class HashNode {
  readonly kind = HASH;
  readonly hash: Uint8Array;
  constructor(hash: Uint8Array) {
    this.hash = hash;
  }
}

export type LoadedNode = BranchNode | ExtensionNode | LeafNode;
export type TrieNode = LoadedNode | HashNode;

export function invalidate(n: LoadedNode): void {
  n.enc = undefined;
  n.hash = undefined;
  n.raw = undefined;
  n.saved = false;
}

/** Ensures `n.enc` (and `n.hash` when referenced by hash), encoding dirty descendants first. */
export function encodeNode(n: LoadedNode): Uint8Array {
  if (n.enc !== undefined) return n.enc;
  let raw: Raw;
  if (n.kind === LEAF) {
    raw = [hexPrefixEncode(n.path, true), n.value];
  } else if (n.kind === EXTENSION) {
    raw = [hexPrefixEncode(n.path, false), childRef(n.child)];
  } else {
    const items: Raw[] = new Array(17);
    for (let i = 0; i < 16; i++) {
      const c = n.children[i] as TrieNode | null;
      items[i] = c === null ? EMPTY : childRef(c);
    }
    items[16] = n.value ?? EMPTY;
    raw = items;
  }
  const enc = RLP.encode(raw);
  n.enc = enc;
  if (enc.length >= INLINE_LIMIT) n.hash = keccak256(enc);
  else n.raw = raw;
  return enc;
}

/** How a parent refers to `c`: its 32-byte hash, or its RLP structure when inlined. */
export function childRef(c: TrieNode): Raw {
  if (c.kind === HASH) return c.hash;
  const enc = encodeNode(c);
  return enc.length >= INLINE_LIMIT ? (c.hash as Uint8Array) : (c.raw as Raw);
}

/** Calls `fn` for every hash reference in a decoded node structure (inline children included). */
export function forEachHashRef(raw: Raw, fn: (hash: Uint8Array) => void): void {
  if (!Array.isArray(raw)) return;
  if (raw.length === 17) {
    for (let i = 0; i < 16; i++) visitRef(raw[i] as Raw, fn);
  } else if (raw.length === 2) {
    const hp = raw[0];
    if (hp instanceof Uint8Array && hp.length > 0 && (hp[0] as number) >> 4 < 2) visitRef(raw[1] as Raw, fn);
  }
}

function visitRef(ref: Raw, fn: (hash: Uint8Array) => void): void {
  if (ref instanceof Uint8Array) {
    if (ref.length === 32) fn(ref);
  } else {
    forEachHashRef(ref, fn);
  }
}

/**
 * Strict decoding of one node's RLP structure; `code` is the error to raise (store vs proof).
 * `hash` = keccak256(enc) when the caller already computed it (saves re-hashing a hashed node).
 */
export function nodeFromRaw(raw: Raw, enc: Uint8Array, code: TrieErrorCode, hash?: Uint8Array): LoadedNode {
  const fail = (why: string): never => {
    throw new TrieError(code, `malformed trie node: ${why}`);
  };
  if (!Array.isArray(raw)) return fail('not a list');
  let node: LoadedNode;
  if (raw.length === 17) {
    const b = new BranchNode();
    let entries = 0;
    for (let i = 0; i < 16; i++) {
      const c = refFromRaw(raw[i] as Raw, code);
      if (c !== null) entries++;
      b.children[i] = c;
    }
    const v = raw[16] as Raw;
    if (!(v instanceof Uint8Array)) return fail('branch value is a list');
    if (v.length > 0) {
      b.value = v;
      entries++;
    }
    if (entries < 2) fail('branch with fewer than two entries');
    node = b;
  } else if (raw.length === 2) {
    const hp = raw[0] as Raw;
    if (!(hp instanceof Uint8Array)) return fail('path is a list');
    const decoded = hexPrefixDecode(hp);
    if (decoded === undefined) return fail('bad hex-prefix path');
    const second = raw[1] as Raw;
    if (decoded.leaf) {
      if (!(second instanceof Uint8Array) || second.length === 0) return fail('leaf value');
      node = new LeafNode(decoded.path, second);
    } else {
      if (decoded.path.length === 0) return fail('empty extension path');
      const child = refFromRaw(second, code);
      if (child === null) return fail('extension without child');
      if (child.kind !== HASH && child.kind !== BRANCH) return fail('extension child is not a branch');
      node = new ExtensionNode(decoded.path, child);
    }
  } else {
    return fail(`list of ${raw.length} items`);
  }
  node.enc = enc;
  node.saved = true;
  if (enc.length >= INLINE_LIMIT) node.hash = hash ?? keccak256(enc);
  else node.raw = raw;
  if (hash !== undefined) node.hash = hash; // a small root is still known by its hash
  return node;
}

function refFromRaw(ref: Raw, code: TrieErrorCode): TrieNode | null {
  if (ref instanceof Uint8Array) {
    if (ref.length === 0) return null;
    if (ref.length === 32) return new HashNode(ref);
    throw new TrieError(code, `malformed trie node: reference of ${ref.length} bytes`);
  }
  const enc = RLP.encode(ref);
  if (enc.length >= INLINE_LIMIT) throw new TrieError(code, 'malformed trie node: oversized inline node');
  return nodeFromRaw(ref, enc, code);
}

/** Decodes a node read from the store under `hash`, checking that the bytes hash to it. */
export function decodeStoredNode(enc: Uint8Array, hash: Uint8Array): LoadedNode {
  let raw: Raw;
  try {
    raw = decodeRlp(enc) as Raw;
  } catch (err) {
    if (!(err instanceof RlpRefusal)) throw err;
    throw new TrieError('CORRUPT_NODE', `stored trie node does not decode: ${err.message}`);
  }
  if (!equalBytes(keccak256(enc), hash)) {
    throw new TrieError('CORRUPT_NODE', 'stored trie node does not match its hash');
  }
  return nodeFromRaw(raw, enc, 'CORRUPT_NODE', hash);
}
