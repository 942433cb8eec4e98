import { pbft } from '../../consensus/pbft/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

engineCompliance(pbft as EngineModule<unknown>, {
  sampleMessage: () => ({
    type: 'prepare',
    view: 0,
    seq: 1,
    digest: new Uint8Array(32).fill(1),
    parent: new Uint8Array(32).fill(2),
  }),
});
