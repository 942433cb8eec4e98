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

  it('counts only the blocks after the first quarter and up to the end, from the first to the last', () => {
    const from = WARM_SHARE * 10_000;
    const commits = [
      { at: from, txs: 1_000_000 }, // the boundary itself is warm-up
      { at: from + 1000, txs: 100 }, // the first block inside: its transactions came before it
      { at: from + 2000, txs: 100 },
      { at: 10_000, txs: 100 }, // the window's last instant counts
      { at: 10_001, txs: 1_000_000 },
    ];
    expect(steadyRate(commits, 0, 10_000)).toBeCloseTo(200 / ((10_000 - from - 1000) / 1000), 9);
  });

  it('does not move with where the blocks fall against the window, unlike a count over the span', () => {
    let worstSteady = 0;
    let worstCount = 0;
    for (let phase = 0; phase < 200; phase += 10) {
      const commits = keepingUp(4000, 30_000, 200, 300 + phase);
      worstSteady = Math.max(worstSteady, Math.abs(steadyRate(commits, 0, 30_000) - 4000));
      const counted = commits.filter((c) => c.at > 7_500 && c.at <= 30_000).reduce((n, c) => n + c.txs, 0);
      worstCount = Math.max(worstCount, Math.abs(counted / 22.5 - 4000));
    }
    expect(worstSteady).toBeLessThan(1);
    expect(worstCount).toBeGreaterThan(10); // the negative control: what the estimate avoids
  });

  it('with a single block inside, gives what it holds over the span', () => {
    expect(steadyRate([{ at: 9_000, txs: 750 }], 0, 10_000)).toBeCloseTo(100, 9);
    expect(steadyRate([], 0, 10_000)).toBe(0);
  });

  it('measures from the window start it is given', () => {
    const commits = keepingUp(1000, 20_000, 100, 50).map((c) => ({ ...c, at: c.at + 5_000 }));
    expect(steadyRate(commits, 5_000, 25_000)).toBeCloseTo(1000, 5);
  });

  it('refuses an empty window', () => {
    expect(() => steadyRate([], 10, 10)).toThrow(RangeError);
  });
});
