/**
 * Algorand BA* under the simulator: the standard suite (sweep.ts), seeds 1–25 here with the
 * negative control and the determinism check, seeds 26–50 in algorand-more.sim.test.ts (VRF
 * proofs make these runs the costliest of any engine: two files run side by side).
 */
import { algorand } from '../../consensus/algorand/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { MIN_HEIGHT } from './algorand-min-height.ts';
import { engineSimSuite } from './sweep.ts';

engineSimSuite(algorand as EngineModule<unknown>, 25, { minHeight: MIN_HEIGHT });
