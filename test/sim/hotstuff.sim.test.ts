/**
 * HotStuff under the simulator. The 50-seed sweep (n ∈ {4, 7}, f Byzantine validators in every
 * mode, every network and node fault, 60 simulated seconds, then a healed liveness phase) is
 * split across the four configurations so it fits the test budget: seeds 1–13 aggregate QCs with
 * the 2-chain rule, 14–26 aggregate with the 3-chain rule, 27–38 threshold with the 2-chain rule,
 * 39–50 threshold with the 3-chain rule. Every range of ≥ 12 consecutive seeds covers both
 * committee sizes and all five Byzantine modes (sweep.ts: odd seeds n = 4, mode = ⌊seed/2⌋ mod 5).
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { replayCommand, runSimulation } from '../../src/sim/simulation.ts';
import { expectClean, sweepOptions } from './sweep.ts';

const engine = hotstuff as EngineModule<unknown>;

async function sweepRange(
  from: number,
  to: number,
  params: EngineParams,
): Promise<{ heights: number[]; failures: string[] }> {
  const failures: string[] = [];
  const heights: number[] = [];
  for (let seed = from; seed <= to; seed++) {
    const o = sweepOptions(engine, seed, params);
    const r = await runSimulation(o);
    heights.push(r.committedHeight);
    if (!r.safe || !r.live) {
      failures.push(
        `${r.safe ? 'liveness' : `safety (${r.violations[0]?.kind}: ${r.violations[0]?.detail})`} — replay: ${replayCommand(o)}`,
      );
    }
  }
  return { heights, failures };
}

const SPLIT = [
  { qc: 'aggregate', chain: 2, from: 1, to: 13 },
  { qc: 'aggregate', chain: 3, from: 14, to: 26 },
  { qc: 'threshold', chain: 2, from: 27, to: 38 },
  { qc: 'threshold', chain: 3, from: 39, to: 50 },
] as const;

describe('hotstuff under the simulator', () => {
  for (const s of SPLIT) {
    it(`seeds ${s.from}–${s.to} × 60 s of faults (qc=${s.qc}, chain=${s.chain}): safe, then live after healing`, async () => {
      expectClean(await sweepRange(s.from, s.to, { qc: s.qc, chain: s.chain }));
    }, 600_000);
  }

  it('negative control: twins holding more than 1/3 of the power break agreement, and the checker says so', async () => {
    // A fast pacemaker, so that each half of a twins partition (1–5 s) gets through the views
    // whose leaders sit on the other side and commits on its own.
    for (const params of [
      { qc: 'aggregate', chain: 2, viewTimeoutMs: 200, emptyBlockIntervalMs: 100 },
      { qc: 'threshold', chain: 3, viewTimeoutMs: 200, emptyBlockIntervalMs: 100 },
    ] as const) {
      let caught = 0;
      for (let s = 1; s <= 3 && caught === 0; s++) {
        const r = await runSimulation({
          engine,
          engineParams: params,
          nodes: 4,
          byzantine: 2,
          byzantineMode: 'twins',
          faults: new Set(['partition']),
          seed: `negative-${s}`,
          durationMs: 15_000,
          txs: 50,
        });
        expect(r.tolerated).toBe(false);
        if (r.violations.some((v) => v.kind === 'agreement')) caught++;
      }
      expect(caught, `${params.qc}/${params.chain}`).toBeGreaterThan(0);
    }
  }, 300_000);

  it('is deterministic: same seed, same trace hash; another seed, another trace', async () => {
    const params = { qc: 'threshold', chain: 2 };
    const a = await runSimulation(sweepOptions(engine, 3, params));
    const b = await runSimulation(sweepOptions(engine, 3, params));
    const c = await runSimulation(sweepOptions(engine, 5, params));
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.committedHeight).toBe(b.committedHeight);
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 300_000);
});
