import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineSimSuite } from './sweep.ts';

engineSimSuite(tendermint as EngineModule<unknown>);
