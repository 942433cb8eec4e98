import { pos } from '../../consensus/pos/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { engineCompliance } from './engine-compliance.ts';

// No `params`: the simulator runs an engine with its simParams (slotMs 1000, slotsPerEpoch 4).
// Not slotless: a BLOCK's double-sign slot is its slot, an ATTEST's its target's epoch-start slot
// (consensus/pos/messages.ts), and those are the "heights" the guard and the suite see.
engineCompliance(pos as EngineModule<unknown>, {
  sampleMessage: () => ({ type: 'get', hash: new Uint8Array(32) }),
  // Slots are seconds here, and validator 1 signs a few of them an epoch (its blocks, its one
  // attestation): slots 3–30 hold about ten of its signatures, where the default 3–6 held one.
  crashSlots: [3, 30],
  // A restarted engine never signs anything else for a slot it signed in: it proposes at a slot's
  // start and attests a third into its one attestation slot of the epoch, both on the slot timer;
  // a restart inside the slot waits for the next one (the attestation timer armed for the old
  // slot is dropped by its token), and its own unfinalized blocks come back from the WAL, so it
  // does not propose over one. So the guard has nothing to refuse with the WAL intact.
  resignsAfterRestart: false,
  // With the WAL lost (the fence kept), it does try — the first slot after the restart can be the
  // one it just proposed in, and its next votes may have sources below a fenced slot — and the
  // fence refuses. With both lost, the same re-proposal is a double sign the checker catches.
  // Each of the 16 workload accounts keeps one transaction in flight and a block commits only when
  // its checkpoint is finalized, two to three epochs (8–12 s) later, so the 60 transactions take
  // four rounds: the last commit with the finalization at about 33 s. Committed heights move only
  // at finalizations, so the run ends at the first one after the workload; 32 s leaves margin.
  durationMs: 32_000,
});
