/**
 * Stand-alone verification of Merkle-Patricia proofs (EIP-1186 style: the RLP of each node on the
 * key's path, root first). Pure and defensive: the input may be hostile, so sizes are capped, every
 * node must hash to the reference its parent holds, the walk consumes at least one key nibble per
 * branch or extension (so it terminates), and every proof element must be used.
 *
 * Inline nodes (< 32 bytes) live inside their parent. Some producers (@ethereumjs/mpt) also list
 * them as separate proof elements; such an element is accepted only where it is exactly the inline
 * node's encoding, so both styles verify and nothing else can be smuggled in.
 */
import { RLP } from '@ethereumjs/rlp';
import { equalBytes } from '../../crypto/bytes.ts';
import { keccak256 } from '../../crypto/hash.ts';
import { EMPTY_ROOT, MAX_KEY_BYTES } from './constants.ts';
import { TrieError } from './errors.ts';
import { bytesToNibbles, equalNibblesAt, startsWithAt } from './nibbles.ts';
import { BRANCH, EXTENSION, HASH, type LoadedNode, nodeFromRaw, type Raw, type TrieNode } from './node.ts';

/** Caps on hostile input. A legitimate path has at most 2 nodes per key nibble plus the root. */
export const MAX_PROOF_NODES = 2 * 2 * MAX_KEY_BYTES + 2;
/** Default cap per proof element: a branch is ≤ 532 bytes + its value; raise for huge values. */
export const MAX_PROOF_NODE_BYTES = 64 * 1024;
export const MAX_PROOF_BYTES = 1024 * 1024;
/**
 * RLP list nesting in a real node is shallow (a hashed node, an inline child < 32 bytes, and at
 * most a few levels inside that). Deeper input is rejected before decoding: @ethereumjs/rlp copies
 * each list's payload per level, so deeply nested input would cost quadratic time.
 */
const MAX_RLP_DEPTH = 8;

export interface VerifyOptions {
  /** The trie hashes keys with keccak256 (Ethereum's secure trie). */
  readonly secure?: boolean;
  /** Per-element size cap (default MAX_PROOF_NODE_BYTES). The total cap is this + MAX_PROOF_BYTES. */
  readonly maxNodeBytes?: number;
}

function invalid(why: string): never {
  throw new TrieError('INVALID_PROOF', `invalid proof: ${why}`);
}

/**
 * Verifies `proof` for `key` against `root`. Returns the value if the proof shows the key is in the
 * trie, `undefined` if it shows the key is absent; throws TrieError INVALID_PROOF otherwise — and
 * only that, whatever the arguments (null options, throwing getters, proxies).
 */
export function verifyMptProof(
  root: Uint8Array,
  key: Uint8Array,
  proof: readonly Uint8Array[],
  opts: VerifyOptions | null | undefined = {},
): Uint8Array | undefined {
  try {
    return verifyUnchecked(root, key, proof, opts ?? {});
  } catch (err) {
    if (err instanceof TrieError && err.code === 'INVALID_PROOF') throw err;
    // Hostile input (throwing getters, proxies, odd subclasses) is still a typed rejection; the
    // thrown value is not inspected, since reading it could throw again.
    return invalid('malformed input');
  }
}

function verifyUnchecked(
  root: Uint8Array,
  key: Uint8Array,
  input: readonly Uint8Array[],
  opts: VerifyOptions,
): Uint8Array | undefined {
  if (typeof opts !== 'object') invalid('options must be an object');
  const secure = opts.secure;
  if (secure !== undefined && typeof secure !== 'boolean') invalid('options.secure must be a boolean');
  const maxNode = opts.maxNodeBytes ?? MAX_PROOF_NODE_BYTES;
  if (!Number.isSafeInteger(maxNode) || maxNode < 0)
    invalid('options.maxNodeBytes must be a non-negative integer');
  if (!(root instanceof Uint8Array) || root.length !== 32) invalid('root must be 32 bytes');
  if (!(key instanceof Uint8Array)) invalid('key must be a Uint8Array');
  if (!Array.isArray(input)) invalid('proof must be an array');
  const count = input.length;
  if (count > MAX_PROOF_NODES) invalid(`more than ${MAX_PROOF_NODES} nodes`);
  const maxTotal = MAX_PROOF_BYTES + maxNode;
  // One read of each element into a private array: a proxy or getter cannot show the checks
  // below one element and the walk another.
  const proof: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    const el: unknown = input[i];
    if (!(el instanceof Uint8Array)) invalid('proof element is not a Uint8Array');
    if (el.length > maxNode) invalid('proof element too large');
    total += el.length;
    proof.push(el);
  }
  if (total > maxTotal) invalid('proof too large');
  if (!secure && key.length > MAX_KEY_BYTES) invalid('key too long');
  const path = bytesToNibbles(secure ? keccak256(key) : key);

  if (equalBytes(root, EMPTY_ROOT)) {
    if (proof.length !== 0) invalid('the empty trie has no nodes');
    return undefined;
  }

  let next = 0;
  /** The next proof element, which must hash to `hash`. */
  const take = (hash: Uint8Array): LoadedNode => {
    const el = proof[next++];
    if (el === undefined) return invalid('missing node');
    const h = keccak256(el);
    if (!equalBytes(h, hash)) return invalid(`node ${next - 1} does not match its reference`);
    return decode(el, h, next - 1 === 0);
  };

  let node: LoadedNode = take(root);
  let pos = 0;
  let result: Uint8Array | undefined;
  for (;;) {
    let child: TrieNode | null;
    if (node.kind === BRANCH) {
      if (pos === path.length) {
        result = node.value ?? undefined;
        break;
      }
      child = node.children[path[pos] as number] as TrieNode | null;
      pos++;
    } else if (node.kind === EXTENSION) {
      if (!startsWithAt(node.path, path, pos)) break; // diverges: absent
      pos += node.path.length;
      child = node.child;
    } else {
      if (equalNibblesAt(node.path, path, pos)) result = node.value;
      break;
    }
    if (child === null) break; // empty branch slot: absent
    if (child.kind === HASH) {
      node = take(child.hash);
    } else {
      // Inline child: tolerate (only) an exact copy of it as the next element.
      const el = proof[next];
      if (el !== undefined && equalBytes(el, child.enc as Uint8Array)) next++;
      node = child;
    }
  }
  if (next !== proof.length) invalid(`${proof.length - next} unused node(s)`);
  return result === undefined ? undefined : result.slice();
}

function decode(el: Uint8Array, hash: Uint8Array, isRoot: boolean): LoadedNode {
  if (el.length === 0) invalid('empty node');
  if (!rlpShapeOk(el, 0, el.length, 0)) invalid('node is not valid RLP (bounds or nesting)');
  let raw: Raw;
  try {
    raw = RLP.decode(el);
  } catch {
    return invalid('node is not valid RLP');
  }
  // A non-root node referenced by hash is at least 32 bytes; smaller ones must be inlined.
  if (!isRoot && el.length < 32) invalid('hash-referenced node shorter than 32 bytes');
  try {
    return nodeFromRaw(raw, el, 'INVALID_PROOF', hash);
  } catch (err) {
    if (err instanceof TrieError) throw err;
    return invalid('malformed node'); // e.g. a RangeError from absurd nesting
  }
}

/**
 * Linear-time pre-check of RLP framing: every length stays inside its parent and lists nest at
 * most MAX_RLP_DEPTH deep. Canonical-form details are left to RLP.decode.
 */
function rlpShapeOk(b: Uint8Array, start: number, end: number, depth: number): boolean {
  let i = start;
  while (i < end) {
    const p = b[i] as number;
    if (p < 0x80) {
      i++;
      continue;
    }
    let header = 1;
    let len: number;
    if (p <= 0xb7) len = p - 0x80;
    else if (p <= 0xbf || (p >= 0xf8 && p <= 0xff)) {
      const ll = p <= 0xbf ? p - 0xb7 : p - 0xf7;
      if (i + 1 + ll > end) return false;
      len = 0;
      for (let k = 0; k < ll; k++) len = len * 256 + (b[i + 1 + k] as number);
      header += ll;
    } else len = p - 0xc0;
    const itemEnd = i + header + len;
    if (itemEnd > end) return false;
    if (p >= 0xc0) {
      if (depth >= MAX_RLP_DEPTH) return false;
      if (!rlpShapeOk(b, i + header, itemEnd, depth + 1)) return false;
    }
    i = itemEnd;
  }
  return true;
}
