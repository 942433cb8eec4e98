import { raft } from '../../consensus/raft/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

engineCompliance(raft as EngineModule<unknown>, {
  sampleMessage: () => ({
    type: 'vote-request',
    term: 1,
    lastIndex: 0,
    lastTerm: 0,
    pre: false,
  }),
  resignsAfterRestart: false,
  amnesiaDoubleSigns: false,
});
