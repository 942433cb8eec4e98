import { describe, it } from 'vitest';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineSimSuite, expectClean, sweep } from './sweep.ts';

engineSimSuite(tendermint as EngineModule<unknown>);

describe('tendermint: seeds that once stalled in npm run test:long', () => {
  // Honest validators split across two rounds after crash-restarts: the one ahead had lost its
  // previous-round votes (not persisted), or a restart with the chain behind the record let a
  // lower height's record overwrite it. Neither side could reach the quorum that times it out.
  for (const seed of [100345, 100559, 100589, 100629, 100679, 100755])
    it(`seed ${seed} is live`, async () => {
      expectClean(await sweep(tendermint as EngineModule<unknown>, seed, seed));
    });
});
