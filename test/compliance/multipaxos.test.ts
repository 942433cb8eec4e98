import { multipaxos } from '../../consensus/multipaxos/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

engineCompliance(multipaxos as EngineModule<unknown>, {
  sampleMessage: () => ({ type: 'prepare', ballot: { round: 1, node: 0 }, head: 0, from: 0 }),
  // Like Raft: a restarted acceptor re-sends what it persisted before replying; its amnesia shows
  // as a second promise or acceptance in a ballot, which needs a contested round
  // (test/unit/multipaxos-paper.test.ts).
  resignsAfterRestart: false,
  amnesiaDoubleSigns: false,
});
