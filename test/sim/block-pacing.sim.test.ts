/**
 * The floor under the block interval (RuntimeOptions.minBlockIntervalMs, `[consensus]
 * min_block_interval_ms`) with every engine that proposes back to back: under light load each
 * committed block that holds transactions is stamped at least the interval after its parent, the
 * run stays safe and live, and every transaction is committed. Without the floor (the control)
 * the same runs commit blocks closer together than that, so the check can fail. And under the
 * sweep's faults (every network, node, clock and storage fault; f Byzantine in the sweep's
 * modes), a network whose nodes pace at the node's default stays safe and, after healing, live —
 * for every engine. A busy node's floor stretches (busy_block_interval_ms): saturated, half-way
 * and idle it paces at the busy floor, between the two and at the minimum; and under the sweep
 * faults with every node saturated at the bound (250 ms), every engine stays safe and live.
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
import { PACE_LOAD_HIGH, PACE_LOAD_LOW } from '../../src/runtime/block-pipeline.ts';
import { replayCommand, runSimulation } from '../../src/sim/simulation.ts';
import { sweepOptions } from './sweep-options.ts';

const ENGINES = [tendermint, pbft, hotstuff, raft, multipaxos] as EngineModule<unknown>[];
const INTERVAL_MS = 250;
const TXS = 400;

/** Gaps (ms) between each committed block with transactions and its parent, on node 0's chain. */
async function run(
  engine: EngineModule<unknown>,
  minBlockIntervalMs: number,
  busy: { busyBlockIntervalMs: number; load: number } | Record<string, never> = {},
) {
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
    ...busy,
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

describe('the floor stretches on a busy node (busy_block_interval_ms)', () => {
  // Each node reports itself busy through the runtime's load port (a real node: its event loop).
  const MIN_MS = 50;
  const BUSY_MS = 250;
  for (const engine of [tendermint, hotstuff] as EngineModule<unknown>[]) {
    it(`${engine.name}: saturated, blocks come ${BUSY_MS} ms apart at least; half-way, at least ${(MIN_MS + BUSY_MS) / 2}; idle, the minimum`, async () => {
      const gapsAt = async (load: number) => {
        const { r, gaps } = await run(engine, MIN_MS, { busyBlockIntervalMs: BUSY_MS, load });
        expect(r.safe, JSON.stringify(r.violations.slice(0, 3))).toBe(true);
        expect(r.live, r.livenessFailure).toBe(true);
        expect(r.committedTxs).toBe(TXS);
        expect(gaps.length).toBeGreaterThan(5);
        return gaps;
      };
      const saturated = await gapsAt(1);
      expect(Math.min(...saturated)).toBeGreaterThanOrEqual(BUSY_MS);
      const half = await gapsAt((PACE_LOAD_LOW + PACE_LOAD_HIGH) / 2);
      expect(Math.min(...half)).toBeGreaterThanOrEqual((MIN_MS + BUSY_MS) / 2);
      expect(Math.min(...half)).toBeLessThan(BUSY_MS);
      // The control: idle, the same busy floor does not apply.
      const idle = await gapsAt(0);
      expect(Math.min(...idle)).toBeGreaterThanOrEqual(MIN_MS);
      expect(Math.min(...idle)).toBeLessThan((MIN_MS + BUSY_MS) / 2);
      expect(idle.length).toBeGreaterThan(saturated.length);
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

  // Saturated: every node's floor stretched to 250 ms, the bound of both settings (the other
  // validators' proposal timeouts run while a proposer waits).
  for (const { engine, seeds } of runs.map((r) => ({ ...r, seeds: r.seeds === 12 ? 4 : 2 }))) {
    it(`${engine.name}: seeds 1–${seeds} of the sweep with every node saturated (floor stretched to 250 ms): safe, then live after healing`, async () => {
      for (let seed = 1; seed <= seeds; seed++) {
        const r = await runSimulation({
          ...sweepOptions(engine, seed),
          minBlockIntervalMs: 100,
          busyBlockIntervalMs: 250,
          load: 1,
        });
        expect(r.safe, `seed ${seed}: ${JSON.stringify(r.violations.slice(0, 3))}`).toBe(true);
        expect(r.live, `seed ${seed}: ${r.livenessFailure}`).toBe(true);
      }
    }, 600_000);
  }

  it("a paced run's replay command says so (and an unpaced one does not)", () => {
    const o = sweepOptions(tendermint as EngineModule<unknown>, 1);
    expect(replayCommand({ ...o, minBlockIntervalMs: 100 })).toContain(' --min-block-interval 100');
    expect(replayCommand(o)).not.toContain('--min-block-interval');
    const busy = replayCommand({ ...o, minBlockIntervalMs: 50, busyBlockIntervalMs: 250, load: 0.4 });
    expect(busy).toContain(' --min-block-interval 50 --busy-block-interval 250 --load 0.4');
    expect(replayCommand(o)).not.toMatch(/--busy-block-interval|--load/);
    // Never one of the pair alone (the command refuses that): a busy floor left unset is the minimum.
    expect(replayCommand({ ...o, minBlockIntervalMs: 50, load: 1 })).toContain(
      ' --busy-block-interval 50 --load 1',
    );
    expect(replayCommand({ ...o, busyBlockIntervalMs: 250 })).not.toContain('--busy-block-interval');
  });
});
