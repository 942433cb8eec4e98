/**
 * Pure tree arithmetic: which perfect subtrees make up a range, and which subtree hashes an RFC 9162
 * PATH (§2.1.3.1) or SUBPROOF (§2.1.4.1) consists of. The log then only reads those stored nodes;
 * nothing here touches storage, so proof generation never rebuilds the tree.
 *
 * Sizes go up to 2^53 - 1, so arithmetic uses division and powers of two, never 32-bit bit operators.
 */

/** A perfect subtree: covers leaves [index·2^level, (index+1)·2^level). */
export interface NodeRef {
  readonly level: number;
  readonly index: number;
}

/**
 * One hash of a proof: the MTH of a leaf range, given as the perfect subtrees that compose it, left to
 * right. A single ref is a stored node; several are folded right to left (MTH splits at the largest
 * power of two, so the leftmost subtree is the biggest).
 */
export type ProofItem = readonly NodeRef[];

/** ⌊log2 n⌋ for 1 ≤ n ≤ 2^53, exact (Math.log2 alone can round up just below a power of two). */
export function floorLog2(n: number): number {
  let l = Math.floor(Math.log2(n));
  if (2 ** l > n) l--;
  else if (2 ** (l + 1) <= n) l++;
  return l;
}

/** The split point k of RFC 9162 §2.1.1: the largest power of two strictly less than n (n ≥ 2). */
export function splitPoint(n: number): number {
  return 2 ** floorLog2(n - 1);
}

/**
 * The perfect subtrees composing leaves [start, start+count), biggest first. Requires `start` to be a
 * multiple of the biggest part, which holds for every range MTH produces.
 */
export function perfectRanges(start: number, count: number): NodeRef[] {
  const out: NodeRef[] = [];
  let pos = start;
  let rest = count;
  while (rest > 0) {
    const level = floorLog2(rest);
    const width = 2 ** level;
    out.push({ level, index: pos / width });
    pos += width;
    rest -= width;
  }
  return out;
}

/** PATH(index, D[0:size]) as subtree ranges, in RFC order (leaf's sibling first). 0 ≤ index < size. */
export function inclusionPlan(index: number, size: number): ProofItem[] {
  const topDown: ProofItem[] = [];
  let start = 0;
  let n = size;
  let m = index;
  while (n > 1) {
    const k = splitPoint(n);
    if (m < k) {
      // Leaf in the left (perfect) half: the sibling is the right part, possibly not perfect.
      topDown.push(perfectRanges(start + k, n - k));
      n = k;
    } else {
      topDown.push([{ level: floorLog2(k), index: start / k }]);
      start += k;
      m -= k;
      n -= k;
    }
  }
  return topDown.reverse();
}

/** SUBPROOF(size1, D[0:size2], true) as subtree ranges, in RFC order. 0 ≤ size1 ≤ size2. */
export function consistencyPlan(size1: number, size2: number): ProofItem[] {
  if (size1 === 0 || size1 === size2) return [];
  const topDown: ProofItem[] = [];
  let start = 0;
  let n = size2;
  let m = size1;
  let whole = true; // RFC's `b`: the current subtree's root is root1 itself, so it is not emitted.
  while (m !== n) {
    const k = splitPoint(n);
    if (m <= k) {
      topDown.push(perfectRanges(start + k, n - k));
      n = k;
    } else {
      topDown.push([{ level: floorLog2(k), index: start / k }]);
      start += k;
      m -= k;
      n -= k;
      whole = false;
    }
  }
  if (!whole) topDown.push(perfectRanges(start, n));
  return topDown.reverse();
}
