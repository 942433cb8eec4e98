/**
 * The floor under the block interval (RuntimeOptions.minBlockIntervalMs, `[consensus]
 * min_block_interval_ms`) with every engine that proposes back to back: under light load each
 * committed block that holds transactions is stamped at least the interval after its parent, the
 * run stays safe and live, and every transaction is committed. Without the floor (the control)
 * the same runs commit blocks closer together than that, so the check can fail. And under the
 * sweep's faults (every network, node, clock and storage fault; f Byzantine in the sweep's
 * modes), a network whose nodes pace at the node's default stays safe and, after healing, live —
 * for every engine.
 */
import { describe, expect, it } from 'vitest';
import { algorand } from '../../consensus/algorand/index.ts';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { multipaxos } from '../../consensus/multipaxos/index.ts';
import { pbft } from '../../consensus/pbft/index.ts';
import { pos } from '../../consensus/pos/index.ts';
import { pow } from '../../consensus/pow/index.ts';
import { raft } from '../../consensus/raft/index.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { replayCommand, runSimulation } from '../../src/sim/simulation.ts';
import { sweepOptions } from './sweep-options.ts';

const ENGINES = [tendermint, pbft, hotstuff, raft, multipaxos] as EngineModule<unknown>[];
const INTERVAL_MS = 250;
const TXS = 400;

/** Gaps (ms) between each committed block with transactions and its parent, on node 0's chain. */
async function run(engine: EngineModule<unknown>, minBlockIntervalMs: number) {
  const gaps: number[] = [];
  const r = await runSimulation({
    engine,
    nodes: 4,
    byzantine: 0,
    byzantineMode: 'silent',
    faults: new Set(),
    seed: `pacing-${engine.name}`,
    durationMs: 30_000,
    txs: TXS,
    minBlockIntervalMs,
    inspect: async (ctl) => {
      const chain = ctl.runtime(0)?.chain;
      if (chain === undefined) return;
      let parent = (await chain.getBlock(1))?.header;
      for (let h = 2; h <= chain.height; h++) {
        const header = (await chain.getBlock(h))?.header;
        if (header === undefined || parent === undefined) throw new Error(`no block ${h - 1} or ${h}`);
        if (header.txCount > 0) gaps.push(header.time.ms - parent.time.ms);
        parent = header;
      }
    },
  });
  return { r, gaps };
}

describe('a floor under the block interval (min_block_interval_ms)', () => {
  for (const engine of ENGINES) {
    it(`${engine.name}: blocks with transactions come at least ${INTERVAL_MS} ms after their parent; safe, live, everything committed`, async () => {
      const paced = await run(engine, INTERVAL_MS);
      expect(paced.r.safe, JSON.stringify(paced.r.violations.slice(0, 3))).toBe(true);
      expect(paced.r.live, paced.r.livenessFailure).toBe(true);
      expect(paced.r.committedTxs).toBe(TXS);
      expect(paced.gaps.length).toBeGreaterThan(10);
      expect(Math.min(...paced.gaps)).toBeGreaterThanOrEqual(INTERVAL_MS);

      // The control: back to back, some blocks come sooner than the floor, and there are more of them.
      const free = await run(engine, 0);
      expect(free.r.safe).toBe(true);
      expect(free.r.committedTxs).toBe(TXS);
      expect(Math.min(...free.gaps)).toBeLessThan(INTERVAL_MS);
      expect(free.gaps.length).toBeGreaterThan(paced.gaps.length);
    }, 300_000);
  }
});

describe('pacing under the sweep faults', () => {
  // Every engine: a real node paces whatever it runs. The three that do not build back to back
  // rarely wait (but their timeouts run while they do): four seeds each, both sizes.
  const runs = [
    ...ENGINES.map((engine) => ({ engine, seeds: 12 })),
    ...([algorand, pos, pow] as EngineModule<unknown>[]).map((engine) => ({ engine, seeds: 4 })),
  ];
  for (const { engine, seeds } of runs) {
    it(`${engine.name}: seeds 1–${seeds} of the sweep${seeds === 12 ? ' (every Byzantine mode at both sizes)' : ''} with every node pacing at 100 ms: safe, then live after healing`, async () => {
      for (let seed = 1; seed <= seeds; seed++) {
        const r = await runSimulation({ ...sweepOptions(engine, seed), minBlockIntervalMs: 100 });
        expect(r.safe, `seed ${seed}: ${JSON.stringify(r.violations.slice(0, 3))}`).toBe(true);
        expect(r.live, `seed ${seed}: ${r.livenessFailure}`).toBe(true);
      }
    }, 600_000);
  }

  it("a paced run's replay command says so (and an unpaced one does not)", () => {
    const o = sweepOptions(tendermint as EngineModule<unknown>, 1);
    expect(replayCommand({ ...o, minBlockIntervalMs: 100 })).toContain(' --min-block-interval 100');
    expect(replayCommand(o)).not.toContain('--min-block-interval');
  });
});
