/**
 * HotStuff under the simulator. The 50-seed sweep (n ∈ {4, 7}, f Byzantine validators in every
 * mode, every network and node fault, 60 simulated seconds, then a healed liveness phase) is
 * split across the four configurations so it fits the test budget: seeds 1–13 aggregate QCs with
 * the 2-chain rule, 14–26 aggregate with the 3-chain rule, 27–38 threshold with the 2-chain rule,
 * 39–50 threshold with the 3-chain rule. Every range of ≥ 12 consecutive seeds runs all six
 * Byzantine modes (replay included) at both committee sizes (sweep-options.ts: odd seeds n = 4,
 * mode = ⌊seed/2⌋ mod 6).
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { expectClean, expectDeterministic, negativeControlCaught, sweep } from './sweep.ts';

const engine = hotstuff as EngineModule<unknown>;

const SPLIT = [
  { qc: 'aggregate', chain: 2, from: 1, to: 13 },
  { qc: 'aggregate', chain: 3, from: 14, to: 26 },
  { qc: 'threshold', chain: 2, from: 27, to: 38 },
  { qc: 'threshold', chain: 3, from: 39, to: 50 },
] as const;

describe('hotstuff under the simulator', () => {
  for (const s of SPLIT) {
    it(`seeds ${s.from}–${s.to} × 60 s of faults (qc=${s.qc}, chain=${s.chain}): safe, then live after healing`, async () => {
      expectClean(await sweep(engine, s.from, s.to, { qc: s.qc, chain: s.chain }));
    }, 600_000);
  }

  it('negative control: twins holding more than 1/3 of the power break agreement, and the checker says so', async () => {
    // A fast pacemaker, so that each half of a twins partition (1–5 s) gets through the views
    // whose leaders sit on the other side and commits on its own.
    for (const params of [
      { qc: 'aggregate', chain: 2, viewTimeoutMs: 200, emptyBlockIntervalMs: 100 },
      { qc: 'threshold', chain: 3, viewTimeoutMs: 200, emptyBlockIntervalMs: 100 },
    ] as const) {
      expect(
        await negativeControlCaught(engine, params, { durationMs: 15_000 }),
        `${params.qc}/${params.chain}`,
      ).toBe(true);
    }
  }, 300_000);

  it('is deterministic: same seed, same trace hash; another seed, another trace', async () => {
    await expectDeterministic(engine, { qc: 'threshold', chain: 2 });
  }, 300_000);
});
