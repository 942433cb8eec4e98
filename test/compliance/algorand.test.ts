import { algorand } from '../../consensus/algorand/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

engineCompliance(algorand as EngineModule<unknown>, {
  sampleMessage: () => ({
    type: 'vote',
    height: 1,
    period: 0,
    step: 3,
    parent: new Uint8Array(32).fill(2),
    value: new Uint8Array(32).fill(1),
    proof: new Uint8Array(80).fill(3),
  }),
  // The position record holds the period's own votes: a restarted node resumes the very step and
  // re-sends what it signed, so the guard has nothing to refuse (consensus/algorand/records.ts).
  resignsAfterRestart: false,
  // Told that its WAL lost records, it signs nothing up to that height (it may have left it).
  mutesAfterLoss: true,
});
