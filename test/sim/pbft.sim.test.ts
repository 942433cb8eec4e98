/**
 * PBFT under the simulator: the standard suite (sweep.ts) and the seeds that once stalled in
 * `npm run test:long`, replayed with the options they failed with. Each is also scripted step by
 * step in test/unit/pbft.test.ts (the `sweep-…` tests), independent of the simulator's schedule.
 */
import { describe, it } from 'vitest';
import { pbft } from '../../consensus/pbft/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { asFound, engineSimSuite, expectClean, sweep } from './sweep.ts';

engineSimSuite(pbft as EngineModule<unknown>);

describe('pbft: seeds that once stalled in npm run test:long', () => {
  // n = 4, one Byzantine validator, every fault; the mode is pinned to the one each seed failed
  // with (the sweep's rotation gives the same today).
  const seeds = [
    // Two honest replicas missed view 6's NEW-VIEW while the third installed it and moved on to
    // view 7: it dropped that NEW-VIEW and ignored their VIEW-CHANGE(6)s, so nothing could
    // complete view 6 or reach 7 (engine.ts, #nv: the NEW-VIEW is now kept and forwarded).
    { seed: 100293, mode: 'garbage' },
    // The honest replicas that signed CHECKPOINT(4) all crashed and lost block 4 (their chain's
    // last, unsynced write): everyone sat below a stable checkpoint no store could serve
    // (engine.ts, #onCommitted: the checkpoint block is now kept in the WAL and recommitted).
    { seed: 100467, mode: 'equivocate' },
  ] as const;
  for (const { seed, mode } of seeds)
    it(`seed ${seed} (${mode}) is live`, async () => {
      expectClean(
        await sweep(pbft as EngineModule<unknown>, seed, seed, undefined, (s) => ({
          ...asFound(pbft as EngineModule<unknown>, s),
          byzantineMode: mode,
        })),
      );
    }, 60_000);
});
