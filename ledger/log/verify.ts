/**
 * Pure proof verifiers, RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2 (consistency), written straight
 * from the RFC's step lists. They take untrusted input: anything malformed (non-integer or
 * out-of-range sizes, hashes that are not 32-byte Uint8Arrays, proofs of the wrong length) yields
 * `false` / `undefined`, never an exception.
 */
import { equalBytes } from '../../crypto/bytes.ts';
import { emptyRoot, HASH_BYTES, nodeHash } from './hashing.ts';
import { floorLog2 } from './plan.ts';

/** No valid proof for a tree of < 2^53 leaves is longer than this; caps work on hostile input. */
const MAX_PROOF_HASHES = 128;

const EMPTY_ROOT = emptyRoot();

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === HASH_BYTES;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function isProof(x: unknown): x is readonly Uint8Array[] {
  if (!Array.isArray(x) || x.length > MAX_PROOF_HASHES) return false;
  for (const h of x) if (!isHash(h)) return false;
  return true;
}

/** x >> 1 for integers up to 2^53 (the >> operator truncates to 32 bits). */
function half(x: number): number {
  return (x - (x % 2)) / 2;
}

function odd(x: number): boolean {
  return x % 2 === 1;
}

/**
 * The root an inclusion proof implies for `leafHash` at `index` in a tree of `size` leaves, or
 * `undefined` if the arguments cannot describe a valid proof. RFC 9162 §2.1.3.2 steps 1–6 (minus the
 * final comparison).
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array | undefined {
  try {
    if (!isHash(leafHash) || !isCount(index) || !isCount(size) || index >= size || !isProof(proof)) {
      return undefined;
    }
    let fn = index;
    let sn = size - 1;
    let r = leafHash;
    for (const p of proof) {
      if (sn === 0) return undefined; // trailing hashes
      if (odd(fn) || fn === sn) {
        r = nodeHash(p, r);
        // Climb past levels where this node is a lone right-edge node (no sibling in the proof).
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        r = nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 ? r.slice() : undefined; // sn > 0: hashes missing
  } catch {
    return undefined; // hostile objects (throwing getters, proxies) are simply invalid
  }
}

export function verifyInclusion(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  try {
    const computed = rootFromInclusionProof(leafHash, index, size, proof);
    return computed !== undefined && isHash(root) && equalBytes(computed, root);
  } catch {
    return false;
  }
}

/**
 * Whether `proof` shows that the tree of `size1` leaves with `root1` is a prefix of the tree of `size2`
 * leaves with `root2`. RFC 9162 §2.1.4.2. Edge cases, stricter than "anything goes" for trivial sizes:
 * size1 = size2 needs an empty proof and equal roots; size1 = 0 needs an empty proof and root1 equal
 * to the empty-tree hash (the only valid size-0 root).
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  try {
    if (!isCount(size1) || !isCount(size2) || size1 > size2 || !isHash(root1) || !isHash(root2)) return false;
    if (!isProof(proof)) return false;
    if (size1 === 0) {
      const emptyOk = equalBytes(root1, EMPTY_ROOT);
      return proof.length === 0 && emptyOk && (size2 !== 0 || equalBytes(root2, EMPTY_ROOT));
    }
    if (size1 === size2) return proof.length === 0 && equalBytes(root1, root2);
    if (proof.length === 0) return false;

    // Step 1: a power-of-two size1 is a complete subtree of size2, so the proof omits its root.
    const path = 2 ** floorLog2(size1) === size1 ? [root1, ...proof] : proof;
    // Steps 2–3.
    let fn = size1 - 1;
    let sn = size2 - 1;
    while (odd(fn)) {
      fn = half(fn);
      sn = half(sn);
    }
    // Step 4.
    let fr = path[0] as Uint8Array;
    let sr = fr;
    // Step 5.
    for (let i = 1; i < path.length; i++) {
      const c = path[i] as Uint8Array;
      if (sn === 0) return false; // trailing hashes
      if (odd(fn) || fn === sn) {
        fr = nodeHash(c, fr);
        sr = nodeHash(c, sr);
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        sr = nodeHash(sr, c);
      }
      fn = half(fn);
      sn = half(sn);
    }
    // Step 6.
    return sn === 0 && equalBytes(fr, root1) && equalBytes(sr, root2);
  } catch {
    return false;
  }
}
