import { describe, expect, it } from 'vitest';
import { pbft } from '../../consensus/pbft/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { expectClean, sweep, sweepOptions } from './sweep.ts';

const engine = pbft as EngineModule<unknown>;

describe('pbft under the simulator', () => {
  it('50 seeds × 60 s of faults (n ∈ {4, 7}, f Byzantine in every mode): safe, then live after healing', async () => {
    expectClean(await sweep(engine, 50));
  }, 900_000);

  it('negative control: twins holding more than 1/3 of the power break agreement, and the checker says so', async () => {
    let caught = 0;
    for (let s = 1; s <= 3; s++) {
      const r = await runSimulation({
        engine,
        nodes: 4,
        byzantine: 2,
        byzantineMode: 'twins',
        faults: new Set(['partition']),
        seed: `negative-${s}`,
        durationMs: 30_000,
        txs: 50,
      });
      expect(r.tolerated).toBe(false);
      if (r.violations.some((v) => v.kind === 'agreement')) caught++;
    }
    expect(caught).toBeGreaterThan(0);
  });

  it('is deterministic: same seed, same trace hash; another seed, another trace', async () => {
    const a = await runSimulation(sweepOptions(engine, 3));
    const b = await runSimulation(sweepOptions(engine, 3));
    const c = await runSimulation(sweepOptions(engine, 5));
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.committedHeight).toBe(b.committedHeight);
    expect(c.traceHash).not.toBe(a.traceHash);
  });
});
