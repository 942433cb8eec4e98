/**
 * Proof of Work under the simulator: a sweep with one Byzantine miner in every behaviour the fault
 * model lists (selfish mining and a private chain included) under every fault; the negative
 * control — a private chain with most of the hash power reverts a committed block, and the node
 * that committed it halts loudly (FINALITY_REVERTED, a violation); and determinism.
 */
import { describe, expect, it } from 'vitest';
import { pow } from '../../consensus/pow/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { runSimulation, type SimOptions } from '../../src/sim/simulation.ts';
import { expectClean, sweep, sweepOptions } from './sweep.ts';

const engine = pow as EngineModule<unknown>;

const privateChain = (byzantine: number, seed: string, extra: Partial<SimOptions> = {}): SimOptions => ({
  engine,
  nodes: 4,
  byzantine,
  byzantineMode: 'private-chain',
  faults: new Set(['loss', 'reorder']),
  seed,
  // The honest quarter mines a block every 4 s on average and needs 18 for a commit: 120 s.
  durationMs: 120_000,
  txs: 40,
  ...extra,
});

describe('pow under the simulator', () => {
  it('12 seeds × 60 s of faults (n ∈ {4, 7}, one Byzantine miner in every mode): safe, then live after healing', async () => {
    const result = await sweep(engine, 1, 12);
    expectClean(result);
  }, 900_000);

  it('negative control: a private chain with 3 of 4 miners reverts a committed block, and the checker says so', async () => {
    let caught = 0;
    for (let s = 1; s <= 3 && caught === 0; s++) {
      const r = await runSimulation(privateChain(3, `pow-negative-${s}`));
      expect(r.tolerated).toBe(false);
      caught = r.violations.filter((v) => v.kind === 'halt' && v.detail.includes('FINALITY_REVERTED')).length;
    }
    expect(caught).toBeGreaterThan(0);
  }, 300_000);

  it('a private chain with 1 of 4 miners and no partition reverts nothing', async () => {
    for (const seed of ['pow-minority-1', 'pow-minority-2']) {
      const r = await runSimulation(privateChain(1, seed));
      expect(r.tolerated).toBe(true);
      expect(r.violations, JSON.stringify(r.violations.slice(0, 2))).toEqual([]);
      expect(r.live).toBe(true);
      expect(r.committedHeight).toBeGreaterThan(20);
    }
  }, 300_000);

  it('is deterministic: same seed, same trace hash; another seed, another trace', async () => {
    const a = await runSimulation(sweepOptions(engine, 5));
    const b = await runSimulation(sweepOptions(engine, 5));
    const c = await runSimulation(sweepOptions(engine, 3));
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.committedHeight).toBe(b.committedHeight);
    expect(c.traceHash).not.toBe(a.traceHash);
  }, 300_000);
});
