/**
 * npm run bench:staking — the figures of validator sets that change (ledger/staking), in two
 * sections:
 *
 *  1. From an infraction to the slash: the simulator with one validator equivocating (mode
 *     `equivocate`) on a chain with staking, per engine and seed. Heights on node 0: the block
 *     the first double-signed slot was for (Tendermint and PBFT name a height; HotStuff a view,
 *     so "—"), the height when node 0 first held the evidence, and the block whose evidence
 *     transaction slashed; the offender's stake before and after.
 *  2. Light-client bundles across epochs: an in-process chain (ChainStore, ed25519 quorum
 *     certificates, epochs of 4 blocks, one validator joining every epoch) and, for E epochs, an
 *     account proof at a block of epoch E — its JSON size and the median time of verifyBundle
 *     (sequential verification: one certified transition per epoch; skipping verification is not
 *     built, so there is no second column).
 *
 *   node test/bench/staking.bench.ts [--quick] [--json] [--help]
 */
import { performance } from 'node:perf_hooks';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { pbft } from '../../consensus/pbft/index.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { bls } from '../../crypto/bls/index.ts';
import { equalBytes, utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { verifyBundle } from '../../ledger/bundle.ts';
import {
  commitVoteBytes,
  LEDGER_CERTIFICATE_SCHEMES,
  type QuorumCertificate,
} from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { parseGenesis, trustAnchor } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { buildAccountProof } from '../../ledger/proofs.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { decodeTransaction, type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import { validatorKeys } from '../../src/sim/sim-world.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { makeTestChain, type TestKey, testKey } from '../helpers/chain.ts';

const args = new Set(process.argv.slice(2));
if (args.has('--help')) {
  console.log('node test/bench/staking.bench.ts [--quick] [--json]');
  process.exit(0);
}
const quick = args.has('--quick');
const json = args.has('--json');
const out: Record<string, unknown> = {
  machine: `${process.platform} ${process.arch}, node ${process.version}`,
};
const say = (line: string) => {
  if (!json) console.log(line);
};

// -- 1. infraction → slash ----------------------------------------------------------------------
const STAKING = { mode: 'open', epochLength: 10, unbondingPeriod: 40, powerUnit: '1000', maxValidators: 16 };
const OFFENDER = 2;
const seeds = quick ? 2 : 5;
const slashRows: Array<Record<string, unknown>> = [];
say('1. blocks from an infraction to the slash (n = 4, one validator equivocating, epochs of 10 blocks)');
say('   engine      seed  infraction  detected  slashed  stake before → after');
for (const engine of [tendermint, pbft, hotstuff] as EngineModule<unknown>[]) {
  for (let seed = 1; seed <= seeds; seed++) {
    let detected: number | undefined;
    let slashed: number | undefined;
    let infraction: number | undefined;
    let stakeAfter: bigint | undefined;
    await runSimulation({
      engine,
      nodes: 4,
      byzantine: 1,
      byzantineValidators: [OFFENDER],
      byzantineMode: 'equivocate',
      faults: new Set(),
      durationMs: 15_000,
      txs: 20,
      seed: `bench-staking-${seed}`,
      staking: { config: STAKING },
      scenario: (ctl) => {
        const poll = () => {
          const rt = ctl.runtime(0);
          const held = rt?.equivocations() ?? [];
          if (detected === undefined && held.length > 0) {
            detected = rt?.chain.height;
            const slot = held[0]?.slot;
            infraction = engine.name === 'hotstuff' ? undefined : slot?.height;
          }
          if (detected === undefined) ctl.at(ctl.now() + 50, poll);
        };
        ctl.at(50, poll);
      },
      inspect: async (ctl) => {
        const chain = ctl.runtime(0)?.chain;
        if (chain === undefined) return;
        const offender = addressFromPublicKey(validatorKeys(OFFENDER).ed.publicKey);
        for (let h = 1; h <= chain.height && slashed === undefined; h++) {
          const block = await chain.getBlock(h);
          for (const bytes of block?.txs ?? []) {
            const etx = decodeTransaction(bytes);
            if (etx.tx.op.type !== 'evidence') continue;
            if ((await chain.getTxLocation(etx.id))?.receipt.ok) slashed = h;
          }
        }
        stakeAfter = (await (await chain.stateAt()).getAccount(offender)).stake;
      },
    });
    const row = {
      engine: engine.name,
      seed,
      infraction: infraction ?? null,
      detected: detected ?? null,
      slashed: slashed ?? null,
      stakeBefore: '1000',
      stakeAfter: String(stakeAfter),
    };
    slashRows.push(row);
    say(
      `   ${engine.name.padEnd(10)}  ${String(seed).padStart(4)}  ${String(infraction ?? '—').padStart(10)}  ${String(detected ?? '—').padStart(8)}  ${String(slashed ?? 'never').padStart(7)}  1000 → ${stakeAfter}`,
    );
  }
}
out.slash = slashRows;

// -- 2. bundles across epochs -------------------------------------------------------------------
say('\n2. light-client bundle size and verify time against epochs walked (epochs of 4 blocks)');
say('   epochs   sequential: bytes  verify ms   skipping: steps  bytes  verify ms   (ms: median of 5)');
const L = 4;
const maxEpochs = quick ? 8 : 32;
const chain = makeTestChain({
  label: 'bench-staking',
  powers: [10, 10, 10, 10],
  accounts: 1,
  balance: 10n ** 12n,
});
const genesis = parseGenesis({
  ...chain.genesisJson,
  // Unbonding 10 epochs, so the trusting period (2/3 of it) lets a bundle skip up to 6 at a time.
  staking: { mode: 'open', epochLength: L, unbondingPeriod: 10 * L, powerUnit: '100', maxValidators: 64 },
});
const store = await ChainStore.open(new MemoryKvStore(), genesis, {
  schemes: LEDGER_CERTIFICATE_SCHEMES,
  verifyEvidence: async () => ({ ok: false, reason: 'not used' }),
});
const keys: TestKey[] = [...chain.validators];
const funder = chain.accounts[0] as TestKey;
let funderNonce = 0;
const nonces = new Map<string, number>();
const txOf = (k: TestKey, op: Parameters<typeof signTransaction>[0]['op']): EncodedTransaction => {
  const id = Buffer.from(k.publicKey).toString('hex');
  const nonce = nonces.get(id) ?? 0;
  nonces.set(id, nonce + 1);
  return signTransaction({ chainId: genesis.chainId, sender: k.publicKey, nonce, op }, k.secretKey);
};
const sizes: Array<Record<string, unknown>> = [];
for (let h = 1; h <= maxEpochs * L + 1; h++) {
  const txs: EncodedTransaction[] = [];
  if (h % L === 1) {
    // A new validator each epoch: funded, registered, bonded (joins the set after the next boundary).
    const joiner = testKey(`bench-staking-joiner-${h}`);
    keys.push(joiner);
    txs.push(
      signTransaction(
        {
          chainId: genesis.chainId,
          sender: funder.publicKey,
          nonce: funderNonce++,
          op: { type: 'transfer', to: joiner.address, amount: 10_000n },
        },
        funder.secretKey,
      ),
    );
    const b = bls.keygen(sha256(utf8(`bench-staking-bls-${h}`)));
    txs.push(
      txOf(joiner, {
        type: 'register-validator',
        name: `j${h}`,
        blsPublicKey: b.publicKey,
        blsPop: bls.popProve(b.secretKey),
        vrfPublicKey: new Uint8Array(0),
      }),
    );
    txs.push(txOf(joiner, { type: 'stake', amount: 1000n }));
  }
  const executed = await store.propose({
    txs,
    time: { ms: store.head.time.ms + 1000, logical: 0 },
    proposer: (chain.validators[0] as TestKey).address,
    engineData: new Uint8Array(0),
  });
  const set = await store.validatorsFor(h);
  const msg = commitVoteBytes(signingDomain(genesis.chainId, store.epochOf(h)), h, 0, executed.hash);
  const votes = set.validators.map((v) => ({
    validator: v.index,
    signature: ed25519.sign(
      msg,
      (keys.find((k) => equalBytes(k.publicKey, v.publicKey)) as TestKey).secretKey,
    ),
  }));
  const certificate: QuorumCertificate = {
    kind: 'ed25519-quorum',
    height: h,
    blockHash: executed.hash,
    round: 0,
    votes,
  };
  await store.commit(executed, certificate);
  const epoch = store.epochOf(h);
  if (h % L === 1 && [0, 1, 2, 4, 8, 16, 32].includes(epoch)) {
    const measure = async (skipping: boolean) => {
      const bundle = JSON.parse(
        JSON.stringify(await buildAccountProof(store, funder.address, h, { skipping })),
      );
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        const r = verifyBundle(bundle, trustAnchor(genesis));
        times.push(performance.now() - t0);
        if (!r.ok) throw new Error(`bundle of epoch ${epoch} does not verify: ${r.reason}`);
      }
      times.sort((a, b) => a - b);
      return {
        steps: (bundle.epochs ?? []).length as number,
        bytes: JSON.stringify(bundle).length,
        ms: Number((times[2] as number).toFixed(2)),
      };
    };
    const seq = await measure(false);
    const skip = await measure(true);
    sizes.push({ epochs: epoch, validators: set.size, sequential: seq, skipping: skip });
    say(
      `   ${String(epoch).padStart(6)}   ${String(seq.bytes).padStart(16)}  ${seq.ms.toFixed(2).padStart(9)}   ${String(skip.steps).padStart(15)}  ${String(skip.bytes).padStart(5)}  ${skip.ms.toFixed(2).padStart(9)}   (set of ${set.size})`,
    );
  }
}
out.bundles = sizes;
if (json) console.log(JSON.stringify(out, null, 2));
else say(`\nmachine: ${out.machine}`);
