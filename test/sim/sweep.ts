/**
 * Shared simulator sweeps for engine tests: many seeds, n ∈ {4, 7}, f Byzantine validators
 * rotating through every mode, every network and node fault, 60 simulated seconds of faults and
 * then a healed liveness phase. Each failure names the command that replays it.
 */
import { expect } from 'vitest';
import type { EngineModule } from '../../consensus/types.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { replayCommand, runSimulation } from '../../src/sim/simulation.ts';
import { sweepOptions } from './sweep-options.ts';

export { sweepOptions };

export async function sweep(
  engine: EngineModule<unknown>,
  seeds: number,
  params?: EngineParams,
): Promise<{ heights: number[]; failures: string[] }> {
  const failures: string[] = [];
  const heights: number[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
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

export function expectClean(result: { heights: number[]; failures: string[] }): void {
  expect(result.failures, result.failures.join('\n')).toEqual([]);
  // Every run made real progress, not just the liveness phase's minimum.
  expect(Math.min(...result.heights)).toBeGreaterThanOrEqual(3);
}
