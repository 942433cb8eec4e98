import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

engineCompliance(tendermint as EngineModule<unknown>, {
  sampleMessage: () => ({ type: 'prevote', height: 1, round: 0, id: new Uint8Array(32).fill(1) }),
});
