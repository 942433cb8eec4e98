import { pbft } from '../../consensus/pbft/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineSimSuite } from './sweep.ts';

engineSimSuite(pbft as EngineModule<unknown>);
