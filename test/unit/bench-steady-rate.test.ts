// bench:node's "steady tx/s" (test/bench/steady-rate.ts): the committed rate over the window's last
// three quarters, so a testnet that keeps up shows the offered rate rather than the in-window count.
import { describe, expect, it } from 'vitest';
import { type BlockCommit, steadyRate, WARM_SHARE } from '../bench/steady-rate.ts';

/** A testnet keeping up with `rate` tx/s: a block every `intervalMs`, each a `latencyMs` late. */
function keepingUp(rate: number, windowMs: number, intervalMs: number, latencyMs: number): BlockCommit[] {
  const commits: BlockCommit[] = [];
  for (let sent = 0; sent + intervalMs <= windowMs; sent += intervalMs)
    commits.push({ at: sent + intervalMs + latencyMs, txs: (rate * intervalMs) / 1000 });
  return commits;
}

describe('steadyRate', () => {
  it('gives the offered rate for a testnet that keeps up, where the in-window count falls short', () => {
    const commits = keepingUp(4000, 20_000, 200, 300);
    const inWindow = commits.filter((c) => c.at <= 20_000).reduce((n, c) => n + c.txs, 0) / 20;
    expect(inWindow).toBeLessThan(3950);
    expect(steadyRate(commits, 0, 20_000)).toBeCloseTo(4000, 5);
  });

  it('gives the capacity for a testnet that falls behind', () => {
    // Offered 8,000 and committing 5,000 a second, a block of 1,000 every 200 ms.
    const commits = Array.from({ length: 150 }, (_, i) => ({ at: 400 + 200 * i, txs: 1000 }));
    expect(steadyRate(commits, 0, 20_000)).toBeCloseTo(5000, 5);
  });

  it('counts only the window after its first quarter, and nothing past its end', () => {
    const from = WARM_SHARE * 10_000;
    const commits = [
      { at: from, txs: 1_000_000 }, // the boundary itself is warm-up
      { at: from + 1, txs: 75 },
      { at: 10_000, txs: 75 }, // the window's last instant counts
      { at: 10_001, txs: 1_000_000 },
    ];
    expect(steadyRate(commits, 0, 10_000)).toBe(150 / 7.5);
  });

  it('measures from the window start it is given', () => {
    const commits = keepingUp(1000, 20_000, 100, 50).map((c) => ({ ...c, at: c.at + 5_000 }));
    expect(steadyRate(commits, 5_000, 25_000)).toBeCloseTo(1000, 5);
  });

  it('refuses an empty window', () => {
    expect(() => steadyRate([], 10, 10)).toThrow(RangeError);
  });
});
