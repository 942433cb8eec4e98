/**
 * HotStuff under the simulator. The 50-seed sweep (n ∈ {4, 7}, f Byzantine validators in every
 * mode, every network and node fault, 60 simulated seconds, then a healed liveness phase) is
 * split across the four configurations so it fits the test budget: seeds 1–13 aggregate QCs with
 * the 2-chain rule, 14–26 aggregate with the 3-chain rule, 27–38 threshold with the 2-chain rule,
 * 39–50 threshold with the 3-chain rule. Every range of ≥ 12 consecutive seeds runs all six
 * Byzantine modes (replay included) at both committee sizes (sweep-options.ts: odd seeds n = 4,
 * mode = ⌊seed/2⌋ mod 6); every third seed runs one Byzantine validator fewer and damaged WAL
 * records instead (the `corrupt` storage fault).
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { parseScenario, runTwinsScenario } from '../../src/sim/twins.ts';
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
      const result = await sweep(engine, s.from, s.to, { qc: s.qc, chain: s.chain });
      expectClean(result);
      expect(result.walRecordsDamaged).toBeGreaterThan(0);
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

  it('negative control with default parameters: a Twins scenario with chosen leaders breaks agreement', async () => {
    // Random faults with default parameters never found it (eight unseen seeds: issue 18); the
    // leader search did, at its 9th sampled two-round scenario (test/sim/twins-leaders.test.ts).
    // v0 and v1 have twins; in both rounds each side holds an instance of each, and v0 — one
    // instance on each side — leads the first two views.
    const scenario = "v0,v2,v1'|v1,v3,v0' / v0,v1,v2,v0'|v3,v1' ; leaders v0,v0";
    const o = await runTwinsScenario(parseScenario(scenario), { engine });
    expect(o.tolerated).toBe(false);
    expect(o.violations.some((v) => v.kind === 'agreement')).toBe(true);
    // The same partitions under the engine's own leaders stay safe: the leaders are the finding.
    const own = await runTwinsScenario(parseScenario(scenario.split(';')[0] as string), { engine });
    expect(own.safe).toBe(true);
  }, 120_000);

  it('every node loses its last commit at once (an unsynced chain write): the block is still in their WALs and commits again', async () => {
    for (const chain of [2, 3] as const) {
      let lost = 0;
      const r = await runSimulation({
        engine,
        engineParams: { chain },
        nodes: 4,
        byzantine: 0,
        byzantineMode: 'silent',
        faults: new Set(),
        seed: `lose-last-commit-${chain}`,
        durationMs: 15_000,
        txs: 40,
        scenario: (ctl) => {
          // As soon as every node has committed the same latest block: all lose that commit.
          let done = false;
          const heights = () => [0, 1, 2, 3].map((i) => ctl.runtime(i)?.chain.height ?? -1);
          for (let t = 5_000; t < 12_000; t += 5)
            ctl.at(t, async () => {
              const h = heights();
              if (done || h.some((x) => x !== h[0] || x < 3)) return;
              done = true;
              for (const i of [0, 1, 2, 3]) ctl.crash(i, { loseUnsynced: true });
              for (const i of [0, 1, 2, 3]) await ctl.restart(i);
              lost = h[0] as number;
            });
        },
      });
      expect(lost, 'the scenario found a moment when all agreed').toBeGreaterThan(0);
      expect(r.safe, JSON.stringify(r.violations.slice(0, 3))).toBe(true);
      expect(r.live, `${chain}-chain: ${r.livenessFailure}`).toBe(true);
    }
  }, 120_000);

  it('is deterministic: same seed, same trace hash; another seed, another trace', async () => {
    await expectDeterministic(engine, { qc: 'threshold', chain: 2 });
  }, 300_000);
});
