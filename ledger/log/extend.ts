/**
 * A tree that extends a committed one, held in memory: the first `base` leaves are known only by
 * their right frontier (frontier.ts), the rest by their leaf hashes. Roots of any size ≥ base and
 * inclusion proofs of the appended leaves follow without the committed leaves themselves — what a
 * consensus engine needs to prove, before anything is written, that an uncommitted block is an
 * ancestor of another (the ledger's block-hash history, chain.ts).
 *
 * Why the frontier suffices: a proof for leaf i ≥ base names, left of the leaf, perfect subtrees
 * [lo, lo + 2^l) that are left children with a right sibling holding a leaf ≥ base. When such a
 * subtree lies inside [0, base), lo is a multiple of 2^(l+1) and base falls in its sibling, so bit l
 * of base is set and the subtree is exactly the frontier's node at level l. Subtrees that straddle
 * base split into halves that are either such frontier nodes or appended leaves.
 */
import { LogError } from './errors.ts';
import { type Frontier, frontierRoot, pushLeaf } from './frontier.ts';
import { nodeHash } from './hashing.ts';
import { inclusionPlan } from './plan.ts';

export class ExtendedTree {
  readonly #frontier: Frontier;
  readonly #base: number;
  readonly #leaves: readonly Uint8Array[];
  /** Subtree hashes computed so far, by "level/index": proofs of neighbouring leaves share most. */
  readonly #memo = new Map<string, Uint8Array>();

  /** `frontier` of the first `base` leaves; `leaves` are the leaf hashes of indices base, base+1, … */
  constructor(frontier: Frontier, base: number, leaves: readonly Uint8Array[]) {
    if (!Number.isSafeInteger(base) || base < 0)
      throw new LogError('INVALID_ARGUMENT', `base must be a safe non-negative integer, got ${base}`);
    this.#frontier = frontier.slice();
    this.#base = base;
    this.#leaves = leaves;
  }

  get size(): number {
    return this.#base + this.#leaves.length;
  }

  /** MTH of the first `size` leaves, base ≤ size ≤ this.size. */
  root(size: number = this.size): Uint8Array {
    this.#checkSize(size, this.#base);
    const f = this.#frontier.slice();
    for (let s = this.#base; s < size; s++) pushLeaf(f, s, this.#leaves[s - this.#base] as Uint8Array);
    return frontierRoot(f);
  }

  /** RFC 9162 PATH(index, D[0:size]) for an appended leaf: base ≤ index < size ≤ this.size. */
  inclusionProof(index: number, size: number): Uint8Array[] {
    this.#checkSize(size, this.#base + 1);
    if (!Number.isSafeInteger(index) || index < this.#base || index >= size)
      throw new LogError('OUT_OF_RANGE', `index ${index} is not an appended leaf below size ${size}`);
    return inclusionPlan(index, size).map((item) => {
      // An item is a range split into perfect subtrees, biggest first: fold right to left.
      let r = this.#node(item[item.length - 1]?.level as number, item[item.length - 1]?.index as number);
      for (let i = item.length - 2; i >= 0; i--) {
        const ref = item[i] as { level: number; index: number };
        r = nodeHash(this.#node(ref.level, ref.index), r);
      }
      return r;
    });
  }

  #checkSize(size: number, min: number): void {
    if (!Number.isSafeInteger(size) || size < min || size > this.size)
      throw new LogError('OUT_OF_RANGE', `size ${size} is outside ${min}..${this.size}`);
  }

  #node(level: number, index: number): Uint8Array {
    const key = `${level}/${index}`;
    const known = this.#memo.get(key);
    if (known !== undefined) return known;
    const width = 2 ** level;
    const lo = index * width;
    let h: Uint8Array;
    if (lo + width <= this.#base) {
      const aligned = Math.floor(this.#base / (2 * width)) * 2 * width;
      const f = this.#frontier[level];
      if (lo !== aligned || f === undefined)
        throw new LogError('OUT_OF_RANGE', `subtree (${level}, ${index}) is inside the committed part`);
      h = f;
    } else if (level === 0) {
      h = this.#leaves[lo - this.#base] as Uint8Array;
    } else {
      h = nodeHash(this.#node(level - 1, 2 * index), this.#node(level - 1, 2 * index + 1));
    }
    this.#memo.set(key, h);
    return h;
  }
}
