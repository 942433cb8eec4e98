/**
 * Algorand BA* under the simulator: the standard suite (sweep.ts), seeds 1–25 here with the
 * negative control and the determinism check, seeds 26–50 in algorand-more.sim.test.ts (VRF
 * proofs make these runs the costliest of any engine: two files run side by side).
 */
import { describe, it } from 'vitest';
import { algorand } from '../../consensus/algorand/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { MIN_HEIGHT } from './algorand-min-height.ts';
import { engineSimSuite, expectClean, sweep } from './sweep.ts';

engineSimSuite(algorand as EngineModule<unknown>, 25, { minHeight: MIN_HEIGHT });

describe('algorand: seeds that once failed in npm run test:long', () => {
  // Misaligned BinaryBA* steps: after the partition healed, one honest node kept timing out steps
  // alone, ahead of the two others, and each side stayed short of a quorum for the rest of a long
  // period. A step no longer times out alone while others are seen behind it (#aloneAhead).
  it('seed 100015 (invalid-sig, one node steps ahead) is live', async () => {
    expectClean(await sweep(algorand as EngineModule<unknown>, 100015, 100015), MIN_HEIGHT);
  });
});
