/**
 * Validator sets that change while the simulator's faults run (staking-sweep.ts): for each engine
 * a few seeds of the standard sweep with the set churning, safe (agreement, and every honest node
 * running each epoch with the same set) and live after healing. `npm run test:long` runs more.
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { multipaxos } from '../../consensus/multipaxos/index.ts';
import { pbft } from '../../consensus/pbft/index.ts';
import { raft } from '../../consensus/raft/index.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { stakingSweepOptions } from './staking-sweep.ts';

const SEEDS = 3;

describe('validator sets that change under faults (simulator)', () => {
  // (Algorand crosses epochs in staking-epochs.sim.test.ts; its sweeps, slower, run in test:long.)
  for (const engine of [tendermint, pbft, hotstuff, raft, multipaxos] as EngineModule<unknown>[]) {
    it(`${engine.name}: seeds 1–${SEEDS} × 60 s of faults with the set churning: safe, one set per epoch, live`, async () => {
      const failures: string[] = [];
      let epochs = 0;
      for (let seed = 1; seed <= SEEDS; seed++) {
        const r = await runSimulation(stakingSweepOptions(engine, seed));
        epochs = Math.max(epochs, Math.floor(r.committedHeight / 6));
        if (!r.safe || !r.live)
          failures.push(
            `seed ${seed}: ${r.safe ? `liveness (${r.livenessFailure})` : `${r.violations[0]?.kind}: ${r.violations[0]?.detail}`}`,
          );
      }
      expect(failures, failures.join('\n')).toEqual([]);
      // (Engines without empty blocks make blocks only for the workload's transactions.)
      expect(epochs).toBeGreaterThanOrEqual(engine.emptyBlocks ? 3 : 2);
    }, 600_000);
  }
});
