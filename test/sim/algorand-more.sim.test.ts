/** Algorand BA* under the simulator: seeds 26–50 of the standard suite (see algorand.sim.test.ts). */
import { algorand } from '../../consensus/algorand/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { MIN_HEIGHT } from './algorand-min-height.ts';
import { engineSimSuite } from './sweep.ts';

engineSimSuite(algorand as EngineModule<unknown>, 25, { from: 26, controls: false, minHeight: MIN_HEIGHT });
