/**
 * TransparencyLog against a naive recursive reference: every root, inclusion proof and consistency
 * proof up to size 64 (plus samples from a bigger tree), checked against the reference and both
 * verifiers, with sampled single-bit corruptions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import type { KvStore } from '../../ledger/kv.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { NodeCache } from '../../ledger/log/cache.ts';
import {
  emptyRoot,
  encodeTreeHead,
  LogError,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootOfEntries,
  TransparencyLog,
  verifyConsistency,
  verifyInclusion,
} from '../../ledger/log/index.ts';
import { LogKeys, nodeLocation, trailingOnes } from '../../ledger/log/layout.ts';
import {
  consistencyPlan,
  floorLog2,
  inclusionPlan,
  perfectRanges,
  splitPoint,
} from '../../ledger/log/plan.ts';

/**
 * Naive RFC 9162 §2.1 reference for the log tests: MTH, PATH and SUBPROOF written as the RFC's
 * recursive definitions over an in-memory leaf list, plus structural verifiers that recompute roots by
 * following the same recursion. Independent of ledger/log's iterative planning and the RFC's
 * step-list verifiers, so the two can be checked against each other.
 */

function splitK(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

class ReferenceTree {
  readonly leaves: Uint8Array[];
  readonly #memo = new Map<string, Uint8Array>();

  constructor(entries: readonly Uint8Array[]) {
    this.leaves = entries.map(leafHash);
  }

  /** MTH(D[start:start+n]). */
  mth(start: number, n: number): Uint8Array {
    if (n === 0) return emptyRoot();
    if (n === 1) return this.leaves[start] as Uint8Array;
    const key = `${start}+${n}`;
    const hit = this.#memo.get(key);
    if (hit) return hit;
    const k = splitK(n);
    const r = nodeHash(this.mth(start, k), this.mth(start + k, n - k));
    this.#memo.set(key, r);
    return r;
  }

  root(n: number): Uint8Array {
    return this.mth(0, n);
  }

  /** PATH(m, D[start:start+n]). */
  path(m: number, start: number, n: number): Uint8Array[] {
    if (n <= 1) return [];
    const k = splitK(n);
    return m < k
      ? [...this.path(m, start, k), this.mth(start + k, n - k)]
      : [...this.path(m - k, start + k, n - k), this.mth(start, k)];
  }

  /** PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true). */
  consistency(m: number, n: number): Uint8Array[] {
    if (m === 0 || m === n) return [];
    return this.#subproof(m, 0, n, true);
  }

  #subproof(m: number, start: number, n: number, b: boolean): Uint8Array[] {
    if (m === n) return b ? [] : [this.mth(start, m)];
    const k = splitK(n);
    return m <= k
      ? [...this.#subproof(m, start, k, b), this.mth(start + k, n - k)]
      : [...this.#subproof(m - k, start + k, n - k, false), this.mth(start, k)];
  }
}

function sameHash(a: Uint8Array | undefined, b: Uint8Array): boolean {
  return a !== undefined && a.length === 32 && b.length === 32 && toHex(a) === toHex(b);
}

/** Recomputes the root by walking PATH's recursion top-down, consuming the proof from its end. */
function refVerifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (leaf.length !== 32 || proof.some((p) => p.length !== 32)) return false;
  const walk = (m: number, n: number, end: number): Uint8Array | undefined => {
    if (n === 1) return end === 0 ? leaf : undefined;
    if (end === 0) return undefined;
    const k = splitK(n);
    const sib = proof[end - 1] as Uint8Array;
    if (m < k) {
      const l = walk(m, k, end - 1);
      return l && nodeHash(l, sib);
    }
    const r = walk(m - k, n - k, end - 1);
    return r && nodeHash(sib, r);
  };
  return sameHash(walk(index, size, proof.length), root);
}

/** Recomputes (old root, new root) by walking SUBPROOF's recursion, consuming the proof from its end. */
function refVerifyConsistency(
  size1: number,
  size2: number,
  root1: Uint8Array,
  root2: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size1 > size2)
    return false;
  if (root1.length !== 32 || root2.length !== 32 || proof.some((p) => p.length !== 32)) return false;
  if (size1 === 0)
    return proof.length === 0 && sameHash(root1, emptyRoot()) && (size2 > 0 || sameHash(root2, root1));
  if (size1 === size2) return proof.length === 0 && sameHash(root1, root2);
  type Pair = { old: Uint8Array; cur: Uint8Array };
  const walk = (m: number, n: number, b: boolean, end: number): Pair | undefined => {
    if (m === n) {
      if (b) return end === 0 ? { old: root1, cur: root1 } : undefined;
      return end === 1 ? { old: proof[0] as Uint8Array, cur: proof[0] as Uint8Array } : undefined;
    }
    if (end === 0) return undefined;
    const k = splitK(n);
    const sib = proof[end - 1] as Uint8Array;
    if (m <= k) {
      const r = walk(m, k, b, end - 1);
      return r && { old: r.old, cur: nodeHash(r.cur, sib) };
    }
    const r = walk(m - k, n - k, false, end - 1);
    return r && { old: nodeHash(sib, r.old), cur: nodeHash(sib, r.cur) };
  };
  const got = walk(size1, size2, true, proof.length);
  return got !== undefined && sameHash(got.old, root1) && sameHash(got.cur, root2);
}

/** Deterministic PRNG (mulberry32) so sampled corruptions are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
  return out;
}

const hexes = (xs: readonly Uint8Array[]) => xs.map(toHex);
const entryOf = (i: number) => utf8(`entry-${i}-${'x'.repeat(i % 7)}`);
const entries = (from: number, to: number) => Array.from({ length: to - from }, (_, j) => entryOf(from + j));

/** Builds a log of `n` entries with irregular batch sizes, so batches cross subtree boundaries. */
async function buildLog(n: number, opts: { cacheNodes?: number } = {}): Promise<TransparencyLog> {
  const log = await TransparencyLog.create(opts);
  const batches = [1, 2, 1, 5, 3, 8, 13, 1, 21];
  let at = 0;
  for (let b = 0; at < n; b++) {
    const take = Math.min(batches[b % batches.length] as number, n - at);
    await log.append(entries(at, at + take));
    at += take;
  }
  return log;
}

const N = 64;

describe('plan arithmetic', () => {
  it('floorLog2 and splitPoint are exact up to 2^53', () => {
    for (let k = 0; k <= 53; k++) {
      expect(floorLog2(2 ** k)).toBe(k);
      if (k > 1) expect(floorLog2(2 ** k - 1)).toBe(k - 1);
      if (k >= 1 && k < 53) expect(floorLog2(2 ** k + 1)).toBe(k);
    }
    expect(floorLog2(Number.MAX_SAFE_INTEGER)).toBe(52);
    for (let n = 2; n <= 300; n++) expect(splitPoint(n)).toBe(splitK(n));
  });

  it('perfectRanges decomposes any prefix into one subtree per set bit', () => {
    expect(perfectRanges(0, 13)).toEqual([
      { level: 3, index: 0 },
      { level: 2, index: 2 },
      { level: 0, index: 12 },
    ]);
    const big = perfectRanges(0, Number.MAX_SAFE_INTEGER);
    expect(big).toHaveLength(53);
    expect(big[52]).toEqual({ level: 0, index: Number.MAX_SAFE_INTEGER - 1 });
  });

  const covered = (items: ReturnType<typeof inclusionPlan>) =>
    items.flat().map((r) => [r.index * 2 ** r.level, (r.index + 1) * 2 ** r.level] as const);
  const isExactCover = (ranges: ReadonlyArray<readonly [number, number]>, size: number) => {
    const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
    let at = 0;
    for (const [s, e] of sorted) {
      if (s !== at) return false;
      at = e;
    }
    return at === size;
  };

  it('inclusion plans cover [0, size) exactly with the leaf, for sizes up to 2^53 - 1', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (size, f) => {
          const index = Math.min(size - 1, Math.floor(f * size));
          const plan = inclusionPlan(index, size);
          expect(plan.length).toBeLessThanOrEqual(Math.ceil(Math.log2(size)) + 1);
          expect(isExactCover([...covered(plan), [index, index + 1]], size)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('consistency plans cover [0, size2) exactly (with the old root when size1 is a power of two)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (size2, f) => {
          const size1 = Math.max(1, Math.min(size2 - 1, Math.floor(f * size2)));
          if (size1 === size2) return;
          const ranges = covered(consistencyPlan(size1, size2));
          if (2 ** floorLog2(size1) === size1) ranges.push([0, size1]);
          expect(isExactCover(ranges, size2)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe(`log vs reference, every pair up to size ${N}`, async () => {
  const log = await buildLog(N);
  const ref = new ReferenceTree(entries(0, N));
  const rand = prng(0x5eed);
  const pick = (n: number) => Math.floor(rand() * n);

  it('append results and every past root', async () => {
    const fresh = await TransparencyLog.create();
    for (let n = 1; n <= N; n++) {
      const r = await fresh.append([entryOf(n - 1)]);
      expect(r.firstIndex).toBe(n - 1);
      expect(r.size).toBe(n);
      expect(toHex(r.root)).toBe(toHex(ref.root(n)));
    }
    for (let n = 0; n <= N; n++) expect(toHex(await log.root(n)), `root(${n})`).toBe(toHex(ref.root(n)));
    expect(toHex(await log.root())).toBe(toHex(ref.root(N)));
    expect(toHex(emptyRoot())).toBe(toHex(ref.root(0)));
  });

  it('every inclusion proof matches PATH and verifies; corruptions are rejected', async () => {
    let checked = 0;
    for (let size = 1; size <= N; size++) {
      const root = ref.root(size);
      for (let index = 0; index < size; index++) {
        const proof = await log.inclusionProof(index, size);
        expect(hexes(proof), `${index}/${size}`).toEqual(hexes(ref.path(index, 0, size)));
        const leaf = ref.leaves[index] as Uint8Array;
        expect(verifyInclusion(leaf, index, size, proof, root)).toBe(true);
        expect(refVerifyInclusion(leaf, index, size, proof, root)).toBe(true);
        expect(toHex(rootFromInclusionProof(leaf, index, size, proof) as Uint8Array)).toBe(toHex(root));

        // One random bit of each proof hash, of the root and of the leaf hash.
        proof.forEach((_, i) => {
          const bad = proof.slice();
          bad[i] = flipBit(proof[i] as Uint8Array, pick(256));
          expect(verifyInclusion(leaf, index, size, bad, root)).toBe(false);
        });
        expect(verifyInclusion(leaf, index, size, proof, flipBit(root, pick(256)))).toBe(false);
        expect(verifyInclusion(flipBit(leaf, pick(256)), index, size, proof, root)).toBe(false);
        // Every bit of the index: the path's sides pin the leaf position, so always rejected.
        for (let b = 0; b < 7; b++)
          expect(verifyInclusion(leaf, index ^ (1 << b), size, proof, root)).toBe(false);
        // Every bit of the size: a proof also fits another size when the path has the same shape
        // there (RFC 9162 binds the size through the signed head), so agree with the reference.
        for (let b = 0; b < 8; b++) {
          const s = size ^ (1 << b);
          expect(verifyInclusion(leaf, index, s, proof, root), `size ${size}→${s}`).toBe(
            refVerifyInclusion(leaf, index, s, proof, root),
          );
        }
        checked++;
      }
    }
    expect(checked).toBe((N * (N + 1)) / 2);
  });

  it('every consistency proof matches SUBPROOF and verifies; corruptions are rejected', async () => {
    let checked = 0;
    for (let size2 = 0; size2 <= N; size2++) {
      const root2 = ref.root(size2);
      for (let size1 = 0; size1 <= size2; size1++) {
        const root1 = ref.root(size1);
        const proof = await log.consistencyProof(size1, size2);
        expect(hexes(proof), `${size1}→${size2}`).toEqual(hexes(ref.consistency(size1, size2)));
        expect(verifyConsistency(size1, size2, root1, root2, proof), `${size1}→${size2}`).toBe(true);
        expect(refVerifyConsistency(size1, size2, root1, root2, proof)).toBe(true);

        proof.forEach((_, i) => {
          const bad = proof.slice();
          bad[i] = flipBit(proof[i] as Uint8Array, pick(256));
          expect(verifyConsistency(size1, size2, root1, root2, bad)).toBe(false);
        });
        expect(verifyConsistency(size1, size2, flipBit(root1, pick(256)), root2, proof)).toBe(false);
        // The empty tree is a prefix of every tree: with size1 = 0 < size2 there is nothing to bind root2 to.
        const root2Bound = size1 > 0 || size2 === 0;
        expect(verifyConsistency(size1, size2, root1, flipBit(root2, pick(256)), proof)).toBe(!root2Bound);
        for (let b = 0; b < 8; b++) {
          const s1 = size1 ^ (1 << b);
          const s2 = size2 ^ (1 << b);
          expect(verifyConsistency(s1, size2, root1, root2, proof), `size1 ${size1}→${s1}`).toBe(
            refVerifyConsistency(s1, size2, root1, root2, proof),
          );
          expect(verifyConsistency(size1, s2, root1, root2, proof), `size2 ${size2}→${s2}`).toBe(
            refVerifyConsistency(size1, s2, root1, root2, proof),
          );
        }
        checked++;
      }
    }
    expect(checked).toBe(((N + 1) * (N + 2)) / 2);
  });

  it('every bit of every hash, for a few pairs', async () => {
    for (const [index, size] of [
      [5, 13],
      [0, 64],
      [62, 63],
    ] as const) {
      const proof = await log.inclusionProof(index, size);
      const root = ref.root(size);
      const leaf = ref.leaves[index] as Uint8Array;
      for (let bit = 0; bit < 256; bit++) {
        expect(verifyInclusion(flipBit(leaf, bit), index, size, proof, root)).toBe(false);
        expect(verifyInclusion(leaf, index, size, proof, flipBit(root, bit))).toBe(false);
        proof.forEach((p, i) => {
          const bad = proof.slice();
          bad[i] = flipBit(p, bit);
          expect(verifyInclusion(leaf, index, size, bad, root)).toBe(false);
        });
      }
    }
    for (const [size1, size2] of [
      [7, 13],
      [32, 63],
      [21, 64],
    ] as const) {
      const proof = await log.consistencyProof(size1, size2);
      const r1 = ref.root(size1);
      const r2 = ref.root(size2);
      for (let bit = 0; bit < 256; bit++) {
        expect(verifyConsistency(size1, size2, flipBit(r1, bit), r2, proof)).toBe(false);
        expect(verifyConsistency(size1, size2, r1, flipBit(r2, bit), proof)).toBe(false);
        proof.forEach((p, i) => {
          const bad = proof.slice();
          bad[i] = flipBit(p, bit);
          expect(verifyConsistency(size1, size2, r1, r2, bad)).toBe(false);
        });
      }
    }
  });

  it('every single-bit corruption of every hash is rejected, exhaustively for every pair up to size 16', async () => {
    // The grid above flips one random bit per hash up to size 64; here every bit of the leaf, the
    // root(s) and every proof hash, for every (index, size) and (size1, size2) with sizes ≤ 16.
    const M = 16;
    let flips = 0;
    for (let size = 1; size <= M; size++) {
      const root = ref.root(size);
      for (let index = 0; index < size; index++) {
        const proof = await log.inclusionProof(index, size);
        const leaf = ref.leaves[index] as Uint8Array;
        for (let bit = 0; bit < 256; bit++) {
          if (verifyInclusion(flipBit(leaf, bit), index, size, proof, root))
            throw new Error(`leaf ${index}/${size} bit ${bit}`);
          if (verifyInclusion(leaf, index, size, proof, flipBit(root, bit)))
            throw new Error(`root ${index}/${size} bit ${bit}`);
          for (let i = 0; i < proof.length; i++) {
            const bad = proof.slice();
            bad[i] = flipBit(proof[i] as Uint8Array, bit);
            if (verifyInclusion(leaf, index, size, bad, root))
              throw new Error(`proof[${i}] ${index}/${size} bit ${bit}`);
          }
          flips += 2 + proof.length;
        }
      }
    }
    for (let size2 = 1; size2 <= M; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const proof = await log.consistencyProof(size1, size2);
        const r1 = ref.root(size1);
        const r2 = ref.root(size2);
        for (let bit = 0; bit < 256; bit++) {
          if (verifyConsistency(size1, size2, flipBit(r1, bit), r2, proof))
            throw new Error(`root1 ${size1}→${size2} bit ${bit}`);
          if (verifyConsistency(size1, size2, r1, flipBit(r2, bit), proof))
            throw new Error(`root2 ${size1}→${size2} bit ${bit}`);
          for (let i = 0; i < proof.length; i++) {
            const bad = proof.slice();
            bad[i] = flipBit(proof[i] as Uint8Array, bit);
            if (verifyConsistency(size1, size2, r1, r2, bad))
              throw new Error(`proof[${i}] ${size1}→${size2} bit ${bit}`);
          }
          flips += 2 + proof.length;
        }
      }
    }
    expect(flips).toBeGreaterThan(200_000);
  });

  it('the verifiers agree with the reference on corrupted sizes over the whole grid', () => {
    // Counts how often a proof legitimately fits other sizes, so the differential check above is not
    // vacuous (both sides always false) and not trivially permissive.
    let fits = 0;
    let total = 0;
    for (let size = 1; size <= 16; size++) {
      for (let index = 0; index < size; index++) {
        const proof = ref.path(index, 0, size);
        for (let s = 1; s <= 16; s++) {
          const want = refVerifyInclusion(ref.leaves[index] as Uint8Array, index, s, proof, ref.root(size));
          expect(verifyInclusion(ref.leaves[index] as Uint8Array, index, s, proof, ref.root(size))).toBe(
            want,
          );
          total++;
          if (want && s !== size) fits++;
        }
      }
    }
    expect(fits).toBeGreaterThan(0);
    expect(fits).toBeLessThan(total / 2);
  });
});

describe('a bigger log: sampled proofs against the reference', async () => {
  const n = 3000;
  const log = await buildLog(n, { cacheNodes: 0 });
  const ref = new ReferenceTree(entries(0, n));
  const rand = prng(7);

  it('roots, inclusion and consistency proofs at random sizes', async () => {
    for (let t = 0; t < 60; t++) {
      const size = 1 + Math.floor(rand() * n);
      const index = Math.floor(rand() * size);
      const size1 = Math.floor(rand() * (size + 1));
      expect(toHex(await log.root(size))).toBe(toHex(ref.root(size)));
      const inc = await log.inclusionProof(index, size);
      expect(hexes(inc)).toEqual(hexes(ref.path(index, 0, size)));
      expect(verifyInclusion(ref.leaves[index] as Uint8Array, index, size, inc, ref.root(size))).toBe(true);
      const con = await log.consistencyProof(size1, size);
      expect(hexes(con)).toEqual(hexes(ref.consistency(size1, size)));
      expect(verifyConsistency(size1, size, ref.root(size1), ref.root(size), con)).toBe(true);
    }
  });

  it('entries read back by index', async () => {
    for (const i of [0, 1, 1023, 1024, n - 1]) expect(await log.getEntry(i)).toEqual(entryOf(i));
  });
});

describe('API contract', () => {
  const code = async (p: Promise<unknown>) => {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(LogError);
      return (e as LogError).code;
    }
    return 'resolved';
  };

  it('out-of-range and malformed arguments to proofs and roots are typed errors', async () => {
    const log = await buildLog(10);
    expect(await code(log.root(11))).toBe('OUT_OF_RANGE');
    expect(await code(log.root(-1))).toBe('INVALID_ARGUMENT');
    expect(await code(log.root(1.5))).toBe('INVALID_ARGUMENT');
    expect(await code(log.inclusionProof(10, 10))).toBe('OUT_OF_RANGE');
    expect(await code(log.inclusionProof(0, 11))).toBe('OUT_OF_RANGE');
    expect(await code(log.inclusionProof(0, 0))).toBe('OUT_OF_RANGE');
    expect(await code(log.inclusionProof(-1, 5))).toBe('INVALID_ARGUMENT');
    expect(await code(log.inclusionProof(Number.NaN, 5))).toBe('INVALID_ARGUMENT');
    expect(await code(log.consistencyProof(6, 5))).toBe('OUT_OF_RANGE');
    expect(await code(log.consistencyProof(1, 11))).toBe('OUT_OF_RANGE');
    expect(await code(log.consistencyProof(2 ** 53, 5))).toBe('INVALID_ARGUMENT');
    expect(await code(log.append([utf8('ok'), 'nope' as unknown as Uint8Array]))).toBe('INVALID_ARGUMENT');
    expect(log.size).toBe(10); // the rejected append wrote nothing
    expect(await log.consistencyProof(0, 10)).toEqual([]);
    expect(await log.consistencyProof(10, 10)).toEqual([]);
  });

  it('rejects bad options and non-array appends', async () => {
    expect(await code(TransparencyLog.create({ cacheNodes: -1 }))).toBe('INVALID_ARGUMENT');
    expect(await code(TransparencyLog.create({ prefix: 'l:' as unknown as Uint8Array }))).toBe(
      'INVALID_ARGUMENT',
    );
    const log = await TransparencyLog.create();
    expect(await code(log.append('abc' as unknown as Uint8Array[]))).toBe('INVALID_ARGUMENT');
    expect(() => log.previewAppend({} as unknown as Uint8Array[])).toThrow(LogError);
  });

  it('at 2^53 - 1 entries (a fake store of all-zero hashes): proofs verify, appends are TOO_LARGE', async () => {
    const MAX = Number.MAX_SAFE_INTEGER;
    const zero = new Uint8Array(32);
    // Frontier: one zero "subtree" per level 0..52; root folds them from the smallest up. Not a real
    // Merkle tree below the frontier, so only proofs made of frontier nodes are checked.
    let root: Uint8Array = zero;
    for (let l = 1; l <= 52; l++) root = nodeHash(zero, root);
    const keys = new LogKeys(utf8('l:'));
    const store = new MemoryKvStore();
    await store.batch([{ type: 'put', key: keys.state, value: encodeTreeHead({ size: MAX, root }) }]);
    const fake: KvStore = {
      get: async (key) => store.getSync(key) ?? new Uint8Array(32 * 54), // any record: zero hashes
      batch: async () => {
        throw new Error('must not write');
      },
      iterate: (prefix) => store.iterate(prefix),
      close: async () => {},
    };
    const log = await TransparencyLog.create({ store: fake });
    expect(log.size).toBe(MAX);
    expect(toHex(await log.root())).toBe(toHex(root));
    const proof = await log.inclusionProof(MAX - 1, MAX);
    expect(proof).toHaveLength(52);
    expect(verifyInclusion(zero, MAX - 1, MAX, proof, root)).toBe(true);
    expect(verifyInclusion(zero, MAX - 2, MAX, proof, root)).toBe(false);
    const old = 2 ** 52;
    const cons = await log.consistencyProof(old, MAX);
    expect(verifyConsistency(old, MAX, await log.root(old), root, cons)).toBe(true);
    expect(await code(log.append([utf8('one too many')]))).toBe('TOO_LARGE');
    expect(() => log.previewAppend([utf8('one too many')])).toThrow(LogError);
  });

  it('getEntry returns undefined outside [0, size) and a copy inside', async () => {
    const log = await buildLog(3);
    for (const i of [-1, 3, 1.5, Number.NaN, 2 ** 60]) expect(await log.getEntry(i)).toBeUndefined();
    const e = (await log.getEntry(1)) as Uint8Array;
    expect(e).toEqual(entryOf(1));
    e.fill(0);
    expect(await log.getEntry(1)).toEqual(entryOf(1));
  });

  it('returned hashes are copies: mutating them does not corrupt the log or its cache', async () => {
    const log = await buildLog(300);
    const before = hexes(await log.inclusionProof(3, 300));
    for (const p of await log.inclusionProof(3, 300)) p.fill(0);
    (await log.root(256)).fill(0);
    (await log.root()).fill(0);
    log.head.root.fill(0);
    expect(hexes(await log.inclusionProof(3, 300))).toEqual(before);
    const ref = new ReferenceTree(entries(0, 300));
    expect(toHex(await log.root(256))).toBe(toHex(ref.root(256)));
    expect(toHex(log.head.root)).toBe(toHex(ref.root(300)));
  });

  it('a preview extends a preview, and an append reuses the leaf hashes of its own preview only', async () => {
    const ref = new ReferenceTree(entries(0, 60));
    const log = await TransparencyLog.create();
    await log.append(entries(0, 7));
    // Two blocks above the committed log: the second predicted on top of the first.
    const first = log.previewAppend(entries(7, 20));
    const second = log.previewAppend(entries(20, 33), first);
    expect([second.size, toHex(second.root)]).toEqual([33, toHex(ref.root(33))]);
    expect(second.leaves).toHaveLength(13);
    // Committing the first keeps the second's prediction valid; appending with it gives the same.
    expect(toHex((await log.append(entries(7, 20), first)).root)).toBe(toHex(ref.root(20)));
    expect(toHex((await log.append(entries(20, 33), second)).root)).toBe(toHex(ref.root(33)));
    // A preview from below the committed size would count entries twice; another log's is refused.
    expect(() => log.previewAppend(entries(33, 34), first)).toThrow(LogError);
    const other = await TransparencyLog.create();
    expect(() => log.previewAppend(entries(33, 34), other.previewAppend([]))).toThrow(LogError);
    // An append ignores a preview it did not make: here one with forged leaf hashes.
    const forged = {
      ...log.previewAppend(entries(33, 40)),
      leaves: entries(33, 40).map(() => new Uint8Array(32)),
    };
    expect(toHex((await log.append(entries(33, 40), forged)).root)).toBe(toHex(ref.root(40)));
    // Its own preview of a different number of entries is a bug in the caller: an invariant.
    await expect(log.append(entries(40, 42), log.previewAppend(entries(40, 43)))).rejects.toThrow(
      /invariant broken/,
    );
    expect(log.size).toBe(40);
  });

  it("an append from its preview's own state writes the preview's subtree hashes; from another branch, computes them", async () => {
    const main = entries(0, 60);
    const fork = entries(100, 160);
    const ref = new ReferenceTree([...main.slice(0, 20), ...fork.slice(20, 33)]);
    const log = await TransparencyLog.create();
    await log.append(main.slice(0, 7));
    // Two blocks above the committed log: 7..20 of main, then 20..33 of the fork on top.
    const a1 = log.previewAppend(main.slice(7, 20));
    const a2 = log.previewAppend(fork.slice(20, 33), a1);
    // A commits: its preview started from this state, so its hashes are written as predicted.
    expect(toHex((await log.append(main.slice(7, 20), a1)).root)).toBe(
      toHex(new ReferenceTree(main.slice(0, 20)).root(20)),
    );
    // a2 started from a1's frontier — the state the log is in now: reused, and right.
    expect(toHex((await log.append(fork.slice(20, 33), a2)).root)).toBe(toHex(ref.root(33)));
    for (const i of [0, 6, 7, 19, 20, 31, 32])
      expect(hexes(await log.inclusionProof(i, 33)), `leaf ${i}`).toEqual(hexes(ref.path(i, 0, 33)));

    // Same size, other contents: a preview made on branch A at size 20 is appended on a log that
    // took branch B. Its start size matches; its start frontier does not: only its leaves are used.
    const other = await TransparencyLog.create();
    await other.append(main.slice(0, 7));
    const onA = other.previewAppend(fork.slice(20, 33), other.previewAppend(main.slice(7, 20)));
    await other.append(fork.slice(7, 20));
    const expected = new ReferenceTree([...main.slice(0, 7), ...fork.slice(7, 33)]);
    expect(toHex((await other.append(fork.slice(20, 33), onA)).root)).toBe(toHex(expected.root(33)));
    for (const i of [0, 7, 20, 32])
      expect(hexes(await other.inclusionProof(i, 33)), `leaf ${i}`).toEqual(hexes(expected.path(i, 0, 33)));
  });

  it('previewAppend and rootOfEntries predict append without writing', async () => {
    const store = new MemoryKvStore();
    const log = await TransparencyLog.create({ store });
    await log.append(entries(0, 11));
    const keysBefore = store.size;
    const preview = log.previewAppend(entries(11, 40));
    expect(store.size).toBe(keysBefore);
    expect(log.size).toBe(11);
    const appended = await log.append(entries(11, 40));
    expect(preview).toMatchObject({ size: appended.size, root: appended.root });
    expect(log.previewAppend([])).toMatchObject({ size: 40, root: await log.root() });
    expect(() => log.previewAppend([1 as unknown as Uint8Array])).toThrow(LogError);
    for (const n of [0, 1, 2, 3, 7, 8, 9, 40]) {
      expect(toHex(rootOfEntries(entries(0, n))), `n=${n}`).toBe(
        toHex(new ReferenceTree(entries(0, n)).root(n)),
      );
    }
    expect(() => rootOfEntries(['x' as unknown as Uint8Array])).toThrow(LogError);
  });

  it('an empty append writes nothing and returns the current head', async () => {
    const log = await buildLog(5);
    const r = await log.append([]);
    expect(r).toEqual({ firstIndex: 5, size: 5, root: await log.root() });
  });

  it('concurrent appends are serialised in call order', async () => {
    const log = await TransparencyLog.create();
    const results = await Promise.all([
      log.append(entries(0, 3)),
      log.append(entries(3, 4)),
      log.append(entries(4, 9)),
    ]);
    expect(results.map((r) => [r.firstIndex, r.size])).toEqual([
      [0, 3],
      [3, 4],
      [4, 9],
    ]);
    expect(toHex(await log.root())).toBe(toHex(new ReferenceTree(entries(0, 9)).root(9)));
  });

  it('logs under different prefixes share a store without interfering', async () => {
    const store = new MemoryKvStore();
    const a = await TransparencyLog.create({ store, prefix: utf8('a/') });
    const b = await TransparencyLog.create({ store, prefix: utf8('b/') });
    await a.append(entries(0, 5));
    await b.append(entries(10, 12));
    expect(store.entriesSync(utf8('a/')).length).toBeGreaterThan(0);
    expect(store.entriesSync(utf8('l:'))).toEqual([]);
    const a2 = await TransparencyLog.create({ store, prefix: utf8('a/') });
    const b2 = await TransparencyLog.create({ store, prefix: utf8('b/') });
    expect([a2.size, b2.size]).toEqual([5, 2]);
    expect(await b2.getEntry(0)).toEqual(entryOf(10));
  });

  it('keys: prefix ‖ tag ‖ big-endian index, also at 2^53 - 1; node locations', () => {
    const keys = new LogKeys(utf8('l:'));
    expect(toHex(keys.state)).toBe('6c3a73');
    expect(toHex(keys.record(258))).toBe('6c3a720000000000000102');
    expect(toHex(keys.record(Number.MAX_SAFE_INTEGER))).toBe('6c3a72001fffffffffffff');
    expect(toHex(keys.record(2 ** 32 + 5))).toBe('6c3a720000000100000005');
    expect([0, 1, 2, 3, 7, 11, 2 ** 40 - 1, Number.MAX_SAFE_INTEGER].map(trailingOnes)).toEqual([
      0, 1, 0, 2, 3, 2, 40, 53,
    ]);
    expect(nodeLocation(0, 5)).toEqual({ record: 5, offset: 0 });
    expect(nodeLocation(3, 1)).toEqual({ record: 15, offset: 96 });
    expect(nodeLocation(52, 1)).toEqual({ record: Number.MAX_SAFE_INTEGER, offset: 52 * 32 });
  });

  it('node cache: bounded, keeps recently used entries, distinguishes level and index', () => {
    const cache = new NodeCache(8);
    const h = (n: number) => new Uint8Array(32).fill(n);
    cache.set(0, 1, h(1));
    cache.set(1, 0, h(2));
    expect(cache.get(0, 1)).toEqual(h(1));
    expect(cache.get(1, 0)).toEqual(h(2));
    expect(cache.get(1, 1)).toBeUndefined();
    for (let i = 100; i < 200; i++) {
      cache.set(0, i, h(i & 0xff));
      if (i % 2 === 0) expect(cache.get(1, 0)).toEqual(h(2)); // used often: survives
      expect(cache.size).toBeLessThanOrEqual(8);
    }
    expect(cache.get(0, 1)).toBeUndefined(); // not used since: evicted
    cache.set(0, 2 ** 50, h(9)); // beyond the numeric key space: simply not cached
    expect(cache.get(0, 2 ** 50)).toBeUndefined();
    cache.clear();
    expect(cache.size).toBe(0);
    const off = new NodeCache(0);
    off.set(0, 0, h(1));
    expect(off.get(0, 0)).toBeUndefined();
  });

  it('leaf and node hashes are domain-separated SHA-256', () => {
    const a = leafHash(utf8('a'));
    expect(toHex(a)).not.toBe(toHex(nodeHash(a, a)));
    // Lengths around the 4096-byte leaf scratch buffer, against a plain SHA-256 of the concatenation.
    for (const n of [0, 1, 31, 100, 4094, 4095, 4096, 10_000]) {
      const entry = new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff);
      expect(toHex(leafHash(entry)), `len ${n}`).toBe(toHex(sha256(concatBytes(new Uint8Array([0]), entry))));
    }
    const l = leafHash(utf8('l'));
    const r = leafHash(utf8('r'));
    expect(toHex(nodeHash(l, r))).toBe(toHex(sha256(concatBytes(new Uint8Array([1]), l, r))));
    // The reused 65-byte scratch must not leak between calls.
    expect(toHex(nodeHash(nodeHash(l, r), r))).toBe(
      toHex(sha256(concatBytes(new Uint8Array([1]), sha256(concatBytes(new Uint8Array([1]), l, r)), r))),
    );
  });
});
