import { pow } from '../../consensus/pow/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

engineCompliance(pow as EngineModule<unknown>, {
  // The suite's runs are 20 simulated seconds: three confirmations of one-second blocks commit in
  // them (the simulator's k = 17 would not).
  params: { confirmations: 3 },
  sampleMessage: () => ({ type: 'get', hash: new Uint8Array(32) }),
  // Nothing a miner sends has a double-sign slot (two blocks at one height is the protocol).
  slotless: true,
  // Every transaction commits three blocks deep, after the workload's 60: a longer run.
  durationMs: 40_000,
});
