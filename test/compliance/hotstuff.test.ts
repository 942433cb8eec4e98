import { hotstuff } from '../../consensus/hotstuff/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

// Every combination of QC scheme and commit rule goes through the whole suite.
for (const qc of ['aggregate', 'threshold'] as const) {
  for (const chain of [2, 3] as const) {
    engineCompliance(hotstuff as EngineModule<unknown>, {
      label: `hotstuff (qc=${qc}, chain=${chain})`,
      params: { qc, chain },
      sampleMessage: () => ({ type: 'fetch', hashes: [new Uint8Array(32).fill(1)] }),
    });
  }
}
