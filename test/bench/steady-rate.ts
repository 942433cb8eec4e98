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

export function steadyRate(commits: readonly BlockCommit[], windowStart: number, windowEnd: number): number {
  if (!(windowEnd > windowStart)) throw new RangeError('steadyRate: the window must have a positive length');
  const from = windowStart + WARM_SHARE * (windowEnd - windowStart);
  let txs = 0;
  for (const c of commits) if (c.at > from && c.at <= windowEnd) txs += c.txs;
  return txs / ((windowEnd - from) / 1000);
}
