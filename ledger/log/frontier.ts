/**
 * The right frontier ("compact range" of [0, size)): frontier[level] holds the hash of the perfect
 * subtree of 2^level leaves that the binary decomposition of `size` puts at that level, or undefined
 * when that bit of size is 0. It is all that is needed to extend the tree and to compute its root.
 */
import { invariant } from '../../crypto/errors.ts';
import { LogError } from './errors.ts';
import { emptyRoot, HASH_BYTES, leafHash, nodeHash } from './hashing.ts';

/** Levels 0..53 cover every safe-integer size. */
export const MAX_LEVELS = 54;

export type Frontier = Array<Uint8Array | undefined>;

export function emptyFrontier(): Frontier {
  return new Array<Uint8Array | undefined>(MAX_LEVELS).fill(undefined);
}

/**
 * Adds the leaf hash at index `size` (mutating `frontier`): each set low bit of the index is a
 * completed left sibling to merge with. If `record` is given, every node completed on the way up is
 * also written into it at offset 32·level (the leaf record layout of layout.ts).
 */
export function pushLeaf(frontier: Frontier, size: number, leaf: Uint8Array, record?: Uint8Array): void {
  let h = leaf;
  let level = 0;
  let idx = size;
  while (idx % 2 === 1) {
    // A set bit of the index is a completed left subtree: the frontier holds it at that level.
    const left = frontier[level];
    invariant(left !== undefined, () => `frontier has no subtree at level ${level} for leaf ${size}`);
    h = nodeHash(left, h);
    frontier[level] = undefined;
    level++;
    idx = (idx - 1) / 2;
    record?.set(h, HASH_BYTES * level);
  }
  frontier[level] = h;
}

/** Root from the frontier: the perfect subtrees, folded from the smallest (rightmost) up. */
export function frontierRoot(frontier: Frontier): Uint8Array {
  let r: Uint8Array | undefined;
  for (const f of frontier) if (f !== undefined) r = r === undefined ? f : nodeHash(f, r);
  return r ?? emptyRoot();
}

export function checkEntry(entry: unknown, i: number): Uint8Array {
  if (!(entry instanceof Uint8Array))
    throw new LogError('INVALID_ARGUMENT', `entry ${i} is not a Uint8Array`);
  return entry;
}

/** MTH of a list of entries (e.g. a block's transactions): O(n) hashes, O(log n) memory. */
export function rootOfEntries(entries: readonly Uint8Array[]): Uint8Array {
  const frontier = emptyFrontier();
  for (let i = 0; i < entries.length; i++) pushLeaf(frontier, i, leafHash(checkEntry(entries[i], i)));
  return frontierRoot(frontier);
}
