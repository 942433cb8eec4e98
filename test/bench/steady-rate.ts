/**
 * The committed rate once the pipeline is full, for `bench:node`'s "steady tx/s" column.
 *
 * "committed tx/s" counts what committed inside the sending window, so even a system that keeps
 * up with the offered rate shows less than it: what was sent in the window's last p50 or so
 * commits after it (at 4,000 offered and a 300 ms p50 over 20 s, about 60 tx/s less). This rate
 * counts the commits timed in the window's last three quarters, per second of that span: the
 * offered rate when the system keeps up, its capacity when it falls behind.
 */
export interface BlockCommit {
  /** When the block's commit was seen (ms, same clock as the window). */
  readonly at: number;
  /** The benchmark's own transactions in it. */
  readonly txs: number;
}

/** The share of the window left out at its start, while the first transactions are in flight. */
export const WARM_SHARE = 0.25;

/**
 * The blocks timed in the window's last three quarters give the rate: the transactions of all but
 * the first of them over the time from the first to the last. (Counting every block over the
 * span's length would move by a whole block's transactions as one more or less falls inside it,
 * up to ±36 tx/s at 4,000 offered over 30 s: as much as the shortfall this rate is for.) With
 * fewer than two such blocks it is what they hold over the span.
 */
export function steadyRate(commits: readonly BlockCommit[], windowStart: number, windowEnd: number): number {
  if (!(windowEnd > windowStart)) throw new RangeError('steadyRate: the window must have a positive length');
  const from = windowStart + WARM_SHARE * (windowEnd - windowStart);
  const inside = commits.filter((c) => c.at > from && c.at <= windowEnd).sort((a, b) => a.at - b.at);
  const first = inside[0];
  const last = inside.at(-1);
  if (first === undefined || last === undefined || last.at === first.at)
    return inside.reduce((n, c) => n + c.txs, 0) / ((windowEnd - from) / 1000);
  let txs = 0;
  for (const c of inside.slice(1)) txs += c.txs;
  return txs / ((last.at - first.at) / 1000);
}
