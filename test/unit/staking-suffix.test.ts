/**
 * An engine that certifies a block through descendants (HotStuff) builds above its epoch's last
 * block while that block is not committed: the epoch's suffix, signed by the epoch's own set. The
 * suffix has no bound — under faults the certified chain can grow for as long as no commit rule
 * completes — so the set must stay available however far it runs, though the suffix blocks' own
 * states prune it once they pass an epoch end more than the unbonding period later. The staking
 * sweep found this (HotStuff, staking-sweep 200029, 200049, 200067, 200075): six suffix blocks
 * certified during the faults, the seventh could be neither built nor judged, and no honest node
 * ever committed again.
 */
import { describe, expect, it } from 'vitest';
import { equalBytes } from '../../crypto/bytes.ts';
import type { Block } from '../../ledger/block.ts';
import { LEDGER_CERTIFICATE_SCHEMES } from '../../ledger/certificate.ts';
import { ChainStore, type ExecutedBlock } from '../../ledger/chain.ts';
import { parseGenesis } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import type { EvidenceVerifier } from '../../ledger/staking/lifecycle.ts';
import { makeTestChain, quorumCertificate, type TestKey } from '../helpers/chain.ts';

const refuseAll: EvidenceVerifier = async () => ({ ok: false, reason: 'not under test' });

describe("an epoch's suffix", () => {
  it('can be built and judged far past the epoch ends at which its own states prune the set', async () => {
    const chain = makeTestChain({ label: 'staking-suffix', powers: [10, 10, 10, 10] });
    // Epoch 0 is blocks 1–4; its set leaves the state at the end of block 8 (unbonding period 8).
    const genesis = parseGenesis({
      ...chain.genesisJson,
      staking: { mode: 'open', epochLength: 4, unbondingPeriod: 8, powerUnit: '100', maxValidators: 8 },
    });
    const open = () =>
      ChainStore.open(new MemoryKvStore(), genesis, {
        schemes: LEDGER_CERTIFICATE_SCHEMES,
        verifyEvidence: refuseAll,
      });
    const builder = await open();
    const judge = await open();
    // A judge whose committed head lags (at block 1, still in epoch 0) must agree: the set it reads
    // for a suffix block comes from its own committed state, not the builder's.
    const lagging = await open();
    const proposer = (chain.validators[0] as TestKey).address;
    const blocks: Block[] = []; // blocks 2–16, for the lagging judge
    // Blocks 1–3 commit on both stores: the head lies in epoch 0, whose last block (4) is pending.
    for (let h = 1; h <= 3; h++) {
      const b = await builder.propose({
        txs: [],
        time: { ms: builder.head.time.ms + 1000, logical: 0 },
        proposer,
        engineData: new Uint8Array(0),
      });
      const cert = quorumCertificate(chain, h, b.hash);
      await builder.commit(b, cert);
      await judge.commit(await judge.validateAndExecute(b.block), cert);
      if (h === 1) await lagging.commit(await lagging.validateAndExecute(b.block), cert);
      else blocks.push(b.block);
    }
    // Epoch 0's engine builds block 4 and a suffix above it, three epoch ends long; another node
    // judges each block on its executed parent, as a validator does before it votes.
    let built: ExecutedBlock | undefined;
    let lagged: ExecutedBlock | undefined;
    let judged: ExecutedBlock | undefined;
    for (let h = 4; h <= 16; h++) {
      built = await builder.propose({
        txs: [],
        time: { ms: (built?.block.header.time.ms ?? builder.head.time.ms) + 1000, logical: 0 },
        proposer,
        engineData: new Uint8Array(0),
        epoch: 0,
        ...(built === undefined ? {} : { parent: built }),
      });
      expect(built.block.header.height).toBe(h);
      expect(built.suffix === true).toBe(h > 4);
      expect(equalBytes(built.block.header.validatorsHash, genesis.validators.hash)).toBe(true);
      judged = await judge.validateAndExecute(built.block, {
        epoch: 0,
        ...(judged === undefined ? {} : { parent: judged }),
      });
      expect(equalBytes(judged.hash, built.hash)).toBe(true);
      blocks.push(built.block);
    }
    for (const block of blocks) {
      lagged = await lagging.validateAndExecute(block, {
        epoch: 0,
        ...(lagged === undefined ? {} : { parent: lagged }),
      });
      expect(lagged.suffix === true).toBe(block.header.height > 4);
    }
    expect(lagged?.block.header.height).toBe(16);
  });
});
