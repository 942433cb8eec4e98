/**
 * The staking lifecycle through the chain store: blocks carry the hash of the set in force at
 * their height, the set changes only at an epoch boundary, and a block signed for the old set
 * after the boundary is refused. (The lifecycle's own rules: test/unit/staking.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { sealEnvelope } from '../../consensus/envelope.ts';
import { encodeEquivocation, equivocation, stakingEvidenceVerifier } from '../../consensus/evidence.ts';
import { tendermintCodec } from '../../consensus/tendermint/messages.ts';
import type { MessageCodec } from '../../consensus/types.ts';
import { bls } from '../../crypto/bls/index.ts';
import { equalBytes, fromHex, toHex, utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { decodeHeader, encodeHeader, headerHash } from '../../ledger/block.ts';
import { bundleGuarantees, verifyBundle } from '../../ledger/bundle.ts';
import {
  commitVoteBytes,
  encodeCertificate,
  LEDGER_CERTIFICATE_SCHEMES,
  type QuorumCertificate,
} from '../../ledger/certificate.ts';
import { type ChainError, ChainStore } from '../../ledger/chain.ts';
import { type Genesis, parseGenesis, trustAnchor } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { MerklePatriciaTrie } from '../../ledger/mpt/index.ts';
import { buildAccountProof } from '../../ledger/proofs.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { burnedStake, type EvidenceVerifier, validatorRecord } from '../../ledger/staking/lifecycle.ts';
import { encodeValidatorList, epochSetKey } from '../../ledger/staking/records.ts';
import { type EncodedTransaction, type Operation, signTransaction } from '../../ledger/tx.ts';
import { validatorsAtHeight } from '../../src/rpc/validators.ts';
import { makeTestChain, quorumCertificate, type TestChain, type TestKey, testKey } from '../helpers/chain.ts';

/** Evidence is not exercised here; a chain with staking must still be given a verifier. */
const refuseAll: EvidenceVerifier = async () => ({ ok: false, reason: 'not under test' });

function stakingChain(): { chain: TestChain; genesis: Genesis } {
  const chain = makeTestChain({ label: 'staking-chain', powers: [10, 10, 10, 10] });
  const genesis = parseGenesis({
    ...chain.genesisJson,
    staking: { mode: 'open', epochLength: 4, unbondingPeriod: 8, powerUnit: '100', maxValidators: 8 },
  });
  return { chain, genesis };
}

async function open(genesis: Genesis): Promise<ChainStore> {
  return ChainStore.open(new MemoryKvStore(), genesis, {
    schemes: LEDGER_CERTIFICATE_SCHEMES,
    verifyEvidence: refuseAll,
  });
}

const nonces = new Map<string, number>();
function tx(genesis: Genesis, key: TestKey, op: Operation): EncodedTransaction {
  const id = Buffer.from(key.publicKey).toString('hex');
  const nonce = nonces.get(id) ?? 0;
  nonces.set(id, nonce + 1);
  return signTransaction({ chainId: genesis.chainId, sender: key.publicKey, nonce, op }, key.secretKey);
}

async function commitNext(store: ChainStore, chain: TestChain, txs: EncodedTransaction[], proposer = 0) {
  const executed = await store.propose({
    txs,
    time: { ms: store.head.time.ms + 1000, logical: 0 },
    proposer: (chain.validators[proposer] as TestKey).address,
    engineData: new Uint8Array(0),
  });
  await store.commit(executed, quorumCertificate(chain, executed.block.header.height, executed.hash));
  return executed;
}

describe('staking through the chain store', () => {
  it('a bonded candidate joins at the epoch boundary and an unbonded validator leaves', async () => {
    nonces.clear();
    const { chain, genesis } = stakingChain();
    const store = await open(genesis);
    const joiner = chain.accounts[0] as TestKey;
    const blsKey = bls.keygen(sha256(utf8('staking-chain:joiner')));
    const leaver = chain.validators[3] as TestKey;
    const genesisHash = genesis.validators.hash;

    // Block 1: the joiner registers and bonds 2,500 (power 25); validator 3 unbonds all 1,000.
    await commitNext(store, chain, [
      tx(genesis, joiner, {
        type: 'register-validator',
        name: 'joiner',
        blsPublicKey: blsKey.publicKey,
        blsPop: bls.popProve(blsKey.secretKey),
        vrfPublicKey: new Uint8Array(0),
      }),
      tx(genesis, joiner, { type: 'stake', amount: 2500n }),
      tx(genesis, leaver, { type: 'unstake', amount: 1000n }),
    ]);
    // The rest of epoch 0 (blocks 2–4) still carries the genesis set.
    for (let h = 2; h <= 4; h++) {
      const b = await commitNext(store, chain, []);
      expect(equalBytes(b.block.header.validatorsHash, genesisHash)).toBe(true);
    }
    const next = await store.validatorsFor(5);
    expect(next.validators.map((v) => [v.name, v.power])).toEqual([
      ['joiner', 25],
      ...['v0', 'v1', 'v2']
        .map((n, i) => [n, 10, chain.validators[i] as TestKey] as const)
        .sort((a, b) => Buffer.compare(Buffer.from(a[2].address), Buffer.from(b[2].address)))
        .map(([n, p]) => [n, p]),
    ]);
    expect(next.byAddress(leaver.address)).toBeUndefined();
    const b5 = await commitNext(store, chain, []);
    expect(equalBytes(b5.block.header.validatorsHash, next.hash)).toBe(true);
    expect((await validatorsAtHeight(store, 5))?.epoch).toBe(1);
    expect((await validatorsAtHeight(store, 3))?.set.hash).toEqual(genesisHash);
    // Not computed yet: the set of epoch 2 is known once block 8 is.
    expect(await validatorsAtHeight(store, 9)).toBeUndefined();

    // The unbonding is paid at block 1 + 8 = 9, not before.
    for (let h = 6; h <= 8; h++) await commitNext(store, chain, []);
    expect((await (await store.stateAt()).getAccount(leaver.address)).balance).toBe(0n);
    await commitNext(store, chain, []);
    expect((await (await store.stateAt()).getAccount(leaver.address)).balance).toBe(1000n);
  });

  it('after the boundary, a block proposed by a departed validator or naming the old set is refused', async () => {
    nonces.clear();
    const { chain, genesis } = stakingChain();
    const store = await open(genesis);
    const leaver = chain.validators[3] as TestKey;
    await commitNext(store, chain, [tx(genesis, leaver, { type: 'unstake', amount: 1000n })]);
    for (let h = 2; h <= 4; h++) await commitNext(store, chain, []);

    // Proposals for block 5, the first of epoch 1, judged against the set of epoch 1.
    const proposedByLeaver = await store.propose({
      txs: [],
      time: { ms: store.head.time.ms + 1000, logical: 0 },
      proposer: leaver.address,
      engineData: new Uint8Array(0),
    });
    await expect(store.validateAndExecute(proposedByLeaver.block)).rejects.toMatchObject({
      code: 'BLOCK_REJECTED',
      message: expect.stringContaining('proposer is not a validator'),
    });
    const honest = await store.propose({
      txs: [],
      time: { ms: store.head.time.ms + 1000, logical: 0 },
      proposer: (chain.validators[0] as TestKey).address,
      engineData: new Uint8Array(0),
    });
    const oldSet = {
      ...honest.block,
      header: { ...honest.block.header, validatorsHash: genesis.validators.hash },
    };
    const err = (await store.validateAndExecute(oldSet).catch((e) => e)) as ChainError;
    expect(err.code).toBe('BLOCK_REJECTED');
    expect(err.message).toContain('validatorsHash');
    // Control: the honest proposal itself validates.
    await expect(store.validateAndExecute(honest.block)).resolves.toBeDefined();
  });

  it('real double-sign evidence in a transaction slashes and tombstones the validator, who leaves the next set', async () => {
    nonces.clear();
    const { chain, genesis } = stakingChain();
    const store = await ChainStore.open(new MemoryKvStore(), genesis, {
      schemes: LEDGER_CERTIFICATE_SCHEMES,
      verifyEvidence: stakingEvidenceVerifier({
        engine: 'tendermint',
        chainId: genesis.chainId,
        codec: tendermintCodec as MessageCodec<unknown>,
      }),
    });
    const offender = chain.validators[2] as TestKey;
    const vote = (fill: number) => {
      const msg = { type: 'prevote' as const, height: 1, round: 0, id: new Uint8Array(32).fill(fill) };
      const seal = sealEnvelope(tendermintCodec, msg, genesis.chainId, 2, offender.secretKey);
      return { envelope: seal.bytes, hash: sha256(tendermintCodec.signingBytes(msg, genesis.chainId)) };
    };
    const evidence = encodeEquivocation(
      equivocation(
        {
          engine: 'tendermint',
          chainId: genesis.chainId,
          validator: 2,
          slot: { height: 1, round: 0, step: 1 },
        },
        vote(1),
        vote(2),
      ),
    );
    const reporter = chain.accounts[1] as TestKey;
    const b1 = await commitNext(store, chain, [
      tx(genesis, reporter, { type: 'evidence', evidence }),
      tx(genesis, reporter, { type: 'evidence', evidence }),
    ]);
    // The second report of the same infraction finds the validator already tombstoned.
    expect(b1.receipts).toEqual([{ ok: true }, { ok: false, code: 'VALIDATOR_TOMBSTONED' }]);
    const state = await store.stateAt();
    // 5% (the default) of power 10 × unit 100 = 50 burned from the 1,000 bonded.
    expect((await state.getAccount(offender.address)).stake).toBe(950n);
    expect(await burnedStake(state)).toBe(50n);
    expect((await validatorRecord(state, offender.address))?.status).toBe('tombstoned');
    for (let h = 2; h <= 4; h++) await commitNext(store, chain, []);
    expect((await store.validatorsFor(5)).byAddress(offender.address)).toBeUndefined();
  });

  it('a chain without staking keeps the genesis set at every height', async () => {
    const chain = makeTestChain({ label: 'no-staking' });
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, {
      schemes: LEDGER_CERTIFICATE_SCHEMES,
    });
    for (let h = 1; h <= 3; h++) await commitNext(store, chain, []);
    expect((await store.validatorsFor(100)).hash).toEqual(chain.genesis.validators.hash);
    expect((await validatorsAtHeight(store, 2))?.epoch).toBe(0);
  });
});

describe('light clients across epochs (bundle version 2)', () => {
  /** Commit certificate signed by the set in force at the block's height, in its epoch's domain. */
  async function certify(store: ChainStore, keys: TestKey[], height: number, hash: Uint8Array) {
    const set = await store.validatorsFor(height);
    const epoch = store.epochOf(height);
    const msg = commitVoteBytes(signingDomain(store.genesis.chainId, epoch), height, 0, hash);
    const votes = set.validators.map((v) => {
      const key = keys.find((k) => equalBytes(k.publicKey, v.publicKey)) as TestKey;
      return { validator: v.index, signature: ed25519.sign(msg, key.secretKey) };
    });
    return { kind: 'ed25519-quorum' as const, height, blockHash: hash, round: 0, votes };
  }

  async function threeEpochs() {
    nonces.clear();
    const { chain, genesis } = stakingChain();
    const store = await open(genesis);
    const joiner = chain.accounts[0] as TestKey;
    const keys = [...chain.validators, joiner];
    const blsKey = bls.keygen(sha256(utf8('staking-chain:joiner')));
    for (let h = 1; h <= 10; h++) {
      const txs =
        h === 1
          ? [
              tx(genesis, joiner, {
                type: 'register-validator',
                name: 'joiner',
                blsPublicKey: blsKey.publicKey,
                blsPop: bls.popProve(blsKey.secretKey),
                vrfPublicKey: new Uint8Array(0),
              }),
              tx(genesis, joiner, { type: 'stake', amount: 2500n }),
              tx(genesis, chain.validators[3] as TestKey, { type: 'unstake', amount: 1000n }),
            ]
          : [];
      const executed = await store.propose({
        txs,
        time: { ms: store.head.time.ms + 1000, logical: 0 },
        proposer: (chain.validators[0] as TestKey).address,
        engineData: new Uint8Array(0),
      });
      await store.commit(executed, await certify(store, keys, h, executed.hash));
    }
    return { chain, genesis, store, joiner };
  }

  it('a proof from epoch 2 verifies against genesis alone, through both transitions', async () => {
    const { genesis, store, joiner } = await threeEpochs();
    const bundle = await buildAccountProof(store, joiner.address);
    expect(bundle.version).toBe(2);
    expect((bundle as { epochs?: unknown[] }).epochs).toHaveLength(2);
    const r = verifyBundle(JSON.parse(JSON.stringify(bundle)), trustAnchor(genesis));
    expect(r.ok, JSON.stringify(r)).toBe(true);
    if (r.ok) {
      expect(r.value.epochs).toBe(2);
      expect(r.value.stake).toBe('2500');
      expect(bundleGuarantees(r.value).join(' ')).toMatch(/2 epoch transitions/);
    }
    // An epoch-0 proof stays version 1, with no transitions.
    const early = await buildAccountProof(store, joiner.address, 3);
    expect(early.version).toBe(1);
    expect(verifyBundle(JSON.parse(JSON.stringify(early)), trustAnchor(genesis)).ok).toBe(true);
  });

  it('negative controls: transitions missing, a transition that proves another set, and a fork signed by the old set', async () => {
    const { chain, genesis, store, joiner } = await threeEpochs();
    const trust = trustAnchor(genesis);
    const bundle = JSON.parse(JSON.stringify(await buildAccountProof(store, joiner.address))) as Record<
      string,
      unknown
    > & { epochs: Array<Record<string, unknown>> };
    // Without its transitions, a header of epoch 2 names a set genesis does not.
    const { epochs, ...v1 } = bundle;
    const missing = verifyBundle({ ...v1, version: 1 }, trust);
    expect(missing).toMatchObject({ ok: false, code: 'BAD_CERTIFICATE' });
    if (!missing.ok) expect(missing.reason).toMatch(/epoch 2/);
    // The transitions swapped: each is certified, but not at the height its position demands.
    const swapped = verifyBundle({ ...bundle, epochs: [epochs[1], epochs[0]] }, trust);
    expect(swapped).toMatchObject({ ok: false });
    // Epoch 1's proof attached to epoch 2's header: no set of epoch 2 is proven there.
    const wrongProof = verifyBundle(
      { ...bundle, epochs: [epochs[0], { ...epochs[1], proof: (epochs[0] as { proof: unknown }).proof }] },
      trust,
    );
    expect(wrongProof).toMatchObject({ ok: false, code: 'BAD_PROOF' });
    // Long range: the genesis set — v3 has unbonded since — certifies a different block 10 of its
    // own, with its own validatorsHash, in epoch 2's domain. The walked set refuses it.
    const head = store.head;
    const fork = { ...head, stateRoot: new Uint8Array(32).fill(7), validatorsHash: genesis.validators.hash };
    const forkHash = headerHash(fork);
    const msg = commitVoteBytes(signingDomain(genesis.chainId, 2), 10, 0, forkHash);
    const forged = {
      kind: 'ed25519-quorum' as const,
      height: 10,
      blockHash: forkHash,
      round: 0,
      votes: chain.validators.map((k, i) => ({ validator: i, signature: ed25519.sign(msg, k.secretKey) })),
    };
    const longRange = verifyBundle(
      {
        ...bundle,
        header: toHex(encodeHeader(fork)),
        certificate: toHex(encodeCertificate(forged, LEDGER_CERTIFICATE_SCHEMES)),
      },
      trust,
    );
    expect(longRange).toMatchObject({ ok: false, code: 'BAD_CERTIFICATE' });
    // Control: the same walk accepts the real bundle.
    expect(verifyBundle(bundle, trust).ok).toBe(true);
  });
});

describe('skipping verification (bundle version 2 with skip steps)', () => {
  /** Ten epochs of 4 blocks, a new validator joining every epoch; unbonding 40, trusting 26 blocks. */
  async function tenEpochs() {
    const chain = makeTestChain({
      label: 'staking-skip',
      powers: [10, 10, 10, 10],
      accounts: 1,
      balance: 10n ** 9n,
    });
    const genesis = parseGenesis({
      ...chain.genesisJson,
      staking: { mode: 'open', epochLength: 4, unbondingPeriod: 40, powerUnit: '100', maxValidators: 64 },
    });
    const store = await open(genesis);
    const keys: TestKey[] = [...chain.validators];
    const funder = chain.accounts[0] as TestKey;
    let funderNonce = 0;
    for (let h = 1; h <= 41; h++) {
      const txs: EncodedTransaction[] = [];
      if (h % 4 === 1 && h < 40) {
        const joiner = testKey(`staking-skip-joiner-${h}`);
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
        const b = bls.keygen(sha256(utf8(`staking-skip-bls-${h}`)));
        const op = (nonce: number, o: Operation) =>
          signTransaction(
            { chainId: genesis.chainId, sender: joiner.publicKey, nonce, op: o },
            joiner.secretKey,
          );
        txs.push(
          op(0, {
            type: 'register-validator',
            name: `j${h}`,
            blsPublicKey: b.publicKey,
            blsPop: bls.popProve(b.secretKey),
            vrfPublicKey: new Uint8Array(0),
          }),
          op(1, { type: 'stake', amount: 1000n }),
        );
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
    }
    return { genesis, store, funder };
  }

  it('skips epochs within the trusting period, verifies like the sequential walk, and is smaller', async () => {
    const { genesis, store, funder } = await tenEpochs();
    const trust = trustAnchor(genesis);
    expect(trust.trustingPeriod).toBe(26);
    const skipping = JSON.parse(JSON.stringify(await buildAccountProof(store, funder.address)));
    const sequential = JSON.parse(
      JSON.stringify(await buildAccountProof(store, funder.address, undefined, { skipping: false })),
    );
    expect(sequential.epochs).toHaveLength(10);
    expect(skipping.epochs.length).toBeLessThan(10);
    const a = verifyBundle(skipping, trust);
    const b = verifyBundle(sequential, trust);
    expect(a.ok && b.ok, JSON.stringify([a, b]).slice(0, 400)).toBe(true);
    if (a.ok && b.ok) {
      expect(a.value.epochs).toBe(10);
      expect(b.value.epochs).toBe(10);
      expect(a.value.skipped).toBeGreaterThan(0);
      expect(a.value.balance).toBe(b.value.balance);
      expect(bundleGuarantees(a.value).join(' ')).toMatch(/more than 1\/3/);
    }
    expect(JSON.stringify(skipping).length).toBeLessThan(JSON.stringify(sequential).length);
  });

  it('negative controls: a skip beyond the trusting period, and a skip signed by strangers, are refused', async () => {
    const { genesis, store, funder } = await tenEpochs();
    const trust = trustAnchor(genesis);
    const bundle = JSON.parse(JSON.stringify(await buildAccountProof(store, funder.address)));
    // The same skips, judged by a client that trusts a set for 4 blocks only.
    const short = verifyBundle(bundle, { ...trust, trustingPeriod: 4 });
    expect(short).toMatchObject({ ok: false, code: 'BAD_CERTIFICATE' });
    if (!short.ok) expect(short.reason).toMatch(/trusting period/);
    // A fork: strangers (a set of their own, named by a forged header at the first skip's height,
    // certifying it in full and proving a set of their own) — none of them in the trusted set.
    const first = bundle.epochs.findIndex((e: { set?: string }) => e.set !== undefined);
    expect(first).toBeGreaterThanOrEqual(0);
    const step = bundle.epochs[first] as { epoch: number; header: string };
    const strangers = makeTestChain({ label: 'strangers', powers: [10, 10, 10, 10] });
    const theirSet = strangers.genesis.validators;
    const trie = await MerklePatriciaTrie.create({ secure: true });
    await trie.put(epochSetKey(step.epoch), encodeValidatorList(theirSet.validators));
    const real = decodeHeader(fromHex(step.header));
    const forged = { ...real, stateRoot: trie.root(), validatorsHash: theirSet.hash };
    const forgedHash = headerHash(forged);
    const msg = commitVoteBytes(signingDomain(genesis.chainId, step.epoch - 1), real.height, 0, forgedHash);
    const cert = {
      kind: 'ed25519-quorum' as const,
      height: real.height,
      blockHash: forgedHash,
      round: 0,
      votes: strangers.validators.map((k, i) => ({
        validator: i,
        signature: ed25519.sign(msg, k.secretKey),
      })),
    };
    const forgedBundle = {
      ...bundle,
      epochs: [
        ...bundle.epochs.slice(0, first),
        {
          ...step,
          header: toHex(encodeHeader(forged)),
          certificate: toHex(encodeCertificate(cert, LEDGER_CERTIFICATE_SCHEMES)),
          set: toHex(encodeValidatorList(theirSet.validators)),
          proof: (await trie.createProof(epochSetKey(step.epoch))).map(toHex),
        },
      ],
    };
    const refused = verifyBundle(forgedBundle, trust);
    expect(refused).toMatchObject({ ok: false, code: 'BAD_CERTIFICATE' });
    if (!refused.ok) expect(refused.reason).toMatch(/not more than 1\/3/);
    // Control: the real bundle verifies.
    expect(verifyBundle(bundle, trust).ok).toBe(true);
  });
});
