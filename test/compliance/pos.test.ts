import { pos } from '../../consensus/pos/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

// No `params`: the simulator runs an engine with its simParams (slotMs 1000, slotsPerEpoch 4).
// Not slotless: a BLOCK's double-sign slot is its slot, an ATTEST's its target's epoch-start slot
// (consensus/pos/messages.ts), and those are the "heights" the guard and the suite see.
engineCompliance(pos as EngineModule<unknown>, {
  sampleMessage: () => ({ type: 'get', hash: new Uint8Array(32) }),
  // A restarted engine never signs anything else for a slot it signed in: it proposes at a slot's
  // start and attests a third into its one attestation slot of the epoch, both on the slot timer,
  // and a restart inside the slot waits for the next one (an attestation timer armed for the old
  // slot is dropped by its token). Its own unfinalized blocks come back from the WAL, so it does
  // not propose again over one. The guard has nothing to refuse (0 in compliance-restart, and 0
  // with crashes after every signature of slots 3–30 of any validator, restarts 1–300 ms later).
  resignsAfterRestart: false,
  // Proof of Stake does not read `lost`; the guard has nothing to refuse in the suite's runs
  // because the suite's crash window (slots 3–6 of validator 1) holds one signature of it, its
  // attestation for target 4 (slot 5: the RANDAO schedule of the simulator's genesis, the same in
  // the suite's seeds, gives it no block before slot 15). After that WAL loss the fence bounds slot
  // 4, and the engine, driven by the clock, next signs 4>8 at slot 9 — not under the fence. (With
  // crashes after its block proposals too, the fence does refuse: re-proposals of the crashed
  // slot, and attestations whose source is below a fenced block slot.)
  mutesAfterLoss: true,
  // For the same reason, with the WAL and the fence both lost the engine signs nothing twice in
  // compliance-wiped-0..5: nothing brings slot 5's attestation timer back. Its amnesia does show
  // after a block proposal (the restart's first slot timer, armed on the local clock before any
  // peer's clock reading, fires while the validators' median clock is still in that slot, and
  // the engine builds for it again), outside the suite's window.
  amnesiaDoubleSigns: false,
  // Each of the 16 workload accounts keeps one transaction in flight and a block commits only when
  // its checkpoint is finalized, two to three epochs (8–12 s) later, so the 60 transactions take
  // four rounds: the last 12 commit with the finalization at 33.35 s. Committed heights move only
  // at finalizations, so the liveness phase ends at the first one after the workload: any
  // duration above 29.36 s (the one before) ends at 33.35 s and passes, with the same cost up to
  // 33.35 s; 20–29 s stop one epoch early with 32 or 48 committed. 32 s leaves 2.6 s of margin.
  durationMs: 32_000,
});
