/**
 * Multi-Paxos under the simulator: the standard suite (sweep.ts) with the crash-fault sweep (n ∈
 * {3, 5, 7}, f silent validators or f − 1 and damaged WALs, every network, node and clock fault),
 * the twin negative control, and determinism.
 */
import { multipaxos } from '../../consensus/multipaxos/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineSimSuite } from './sweep.ts';

engineSimSuite(multipaxos as EngineModule<unknown>);
