/**
 * `membership` transactions (ledger/membership.ts): the operation's wire form and its strict
 * decoding, execution by the state machine (who may ask, who may be named, the request record and
 * its sequence number), and the committed request as the chain store reports it.
 */
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { InvariantError } from '../../crypto/errors.ts';
import { formatAddress } from '../../ledger/address.ts';
import { LEDGER_CERTIFICATE_SCHEMES } from '../../ledger/certificate.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { type RlpInput, type RlpItem, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import { buildGenesisState, type Genesis, parseGenesis } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { MEMBERSHIP_KEY, type MembershipRequest, readMembershipRequest } from '../../ledger/membership.ts';
import { MerklePatriciaTrie } from '../../ledger/mpt/index.ts';
import type { Receipt } from '../../ledger/receipt.ts';
import type { EvidenceVerifier, StakingRules } from '../../ledger/staking/lifecycle.ts';
import { applyBlock, type LedgerState } from '../../ledger/state.ts';
import {
  decodeTransaction,
  type EncodedTransaction,
  type Operation,
  signTransaction,
  TX_VERSION,
  type TxError,
} from '../../ledger/tx.ts';
import { operationToJson } from '../../ledger/tx-json.ts';
import { makeTestChain, quorumCertificate, type TestChain, type TestKey } from '../helpers/chain.ts';

const chain = makeTestChain({ label: 'membership', validators: 3, accounts: 2 });
const [v0, v1, v2] = chain.validators as [TestKey, TestKey, TestKey];
const outsider = chain.accounts[0] as TestKey;
const VALIDATORS = chain.validators.map((v) => v.address);
const code = (r: Receipt) => (r.ok ? 'OK' : r.code);
const membership = (voters: TestKey[], learners: TestKey[] = []): Operation => ({
  type: 'membership',
  voters: voters.map((k) => k.address),
  learners: learners.map((k) => k.address),
});
const hexes = (list: readonly Uint8Array[]) => list.map(toHex);
const shown = (r: MembershipRequest | undefined) =>
  r === undefined ? undefined : { seq: r.seq, voters: hexes(r.voters), learners: hexes(r.learners) };

function sign(
  key: TestKey,
  nonce: number,
  op: Operation,
  genesis: Genesis = chain.genesis,
): EncodedTransaction {
  return signTransaction({ chainId: genesis.chainId, sender: key.publicKey, nonce, op }, key.secretKey);
}

/** Wire bytes with `op` as the operation item, unchecked (the signature is not what is tested). */
function wire(op: RlpInput): Uint8Array {
  return rlpEncode([TX_VERSION, utf8(chain.genesis.chainId), v0.publicKey, 0, op, new Uint8Array(64)]);
}

function decodeCode(bytes: Uint8Array): string | undefined {
  try {
    decodeTransaction(bytes);
    return undefined;
  } catch (e) {
    return (e as TxError).code;
  }
}

describe('membership operation: wire form', () => {
  it('round-trips as [8, [voter…], [learner…]] and prints its addresses', () => {
    for (const [voters, learners] of [
      [[v0, v1], [v2]],
      [[v2], []],
    ] as const) {
      const op = membership([...voters], [...learners]);
      const etx = sign(v0, 0, op);
      const decoded = decodeTransaction(etx.bytes);
      expect(decoded.tx.op).toEqual(op);
      expect(toHex(decoded.id)).toBe(toHex(etx.id));
      const fields = rlpDecodeStrict(etx.bytes, 1 << 16) as RlpItem[];
      const wireOp = fields[4] as [Uint8Array, Uint8Array[], Uint8Array[]];
      expect(Array.from(wireOp[0])).toEqual([8]);
      expect(hexes(wireOp[1])).toEqual(voters.map((k) => toHex(k.address)));
      expect(hexes(wireOp[2])).toEqual(learners.map((k) => toHex(k.address)));
    }
    expect(operationToJson(membership([v0, v1], [v2]))).toEqual({
      type: 'membership',
      voters: [formatAddress(v0.address), formatAddress(v1.address)],
      learners: [formatAddress(v2.address)],
    });
  });

  it('decodes strictly: address lengths, duplicates, an empty voter list, list sizes and field counts', () => {
    const a = v0.address;
    const b = v1.address;
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) => {
        const x = new Uint8Array(20);
        x[0] = i;
        x[1] = 0xaa;
        return x;
      });
    // The control: the same builder with valid fields decodes.
    expect(decodeCode(wire([8, [a], [b]]))).toBeUndefined();
    expect(decodeCode(wire([8, many(64), many(64).map((x) => x.map((y, j) => (j === 1 ? 0xbb : y)))]))).toBe(
      undefined,
    );
    const cases: Array<[string, RlpInput, string]> = [
      ['short voter address', [8, [a.subarray(0, 19)], []], 'TX_MALFORMED'],
      ['long learner address', [8, [a], [new Uint8Array(21)]], 'TX_MALFORMED'],
      ['duplicate across lists', [8, [a], [a]], 'TX_INVALID_FIELD'],
      ['duplicate within voters', [8, [a, b, a], []], 'TX_INVALID_FIELD'],
      ['duplicate within learners', [8, [a], [b, b]], 'TX_INVALID_FIELD'],
      ['empty voters', [8, [], [b]], 'TX_INVALID_FIELD'],
      ['65 voters', [8, many(65), []], 'TX_MALFORMED'],
      ['65 learners', [8, [a], many(65)], 'TX_MALFORMED'],
      ['trailing field', [8, [a], [], 0], 'TX_MALFORMED'],
      ['learners missing', [8, [a]], 'TX_MALFORMED'],
      ['voters not a list', [8, a, []], 'TX_MALFORMED'],
      ['an address that is a list', [8, [[a]], []], 'TX_MALFORMED'],
    ];
    for (const [what, op, expected] of cases) expect(decodeCode(wire(op)), what).toBe(expected);
  });

  it('is refused when built with invalid fields', () => {
    for (const op of [
      membership([]),
      membership([v0], [v0]),
      { type: 'membership', voters: [v0.address.subarray(1)], learners: [] } as Operation,
    ])
      expect(() => sign(v0, 0, op)).toThrow(expect.objectContaining({ code: 'TX_INVALID_FIELD' }));
  });
});

const freshState = async (genesis: Genesis = chain.genesis) =>
  buildGenesisState(genesis, await MerklePatriciaTrie.create({ store: new MemoryKvStore(), secure: true }));
const SUPPORTED: StakingRules = { height: 1, membership: { validators: VALIDATORS } };

async function run(state: LedgerState, rules: StakingRules, ...txs: EncodedTransaction[]): Promise<string[]> {
  return (await applyBlock(state, txs, rules)).receipts.map(code);
}

describe('membership operation: execution', () => {
  it('fails with MEMBERSHIP_UNSUPPORTED where the engine does not carry it out, or with staking: nonce used, no record', async () => {
    const stakingGenesis = parseGenesis({
      ...chain.genesisJson,
      staking: { mode: 'open', epochLength: 4, unbondingPeriod: 8, powerUnit: '1', maxValidators: 8 },
    });
    const withStaking: StakingRules = {
      ...SUPPORTED,
      staking: stakingGenesis.staking as NonNullable<Genesis['staking']>,
      verifyEvidence: async () => ({ ok: false, reason: 'not under test' }),
    };
    for (const [rules, genesis] of [
      [{ height: 1 }, chain.genesis],
      [withStaking, stakingGenesis],
    ] as const) {
      const state = await freshState(genesis);
      const before = await state.getAccount(v0.address);
      expect(await run(state, rules, sign(v0, 0, membership([v0, v1]), genesis))).toEqual([
        'MEMBERSHIP_UNSUPPORTED',
      ]);
      expect((await state.getAccount(v0.address)).nonce).toBe(before.nonce + 1);
      expect(await state.getEntry(MEMBERSHIP_KEY)).toBeUndefined();
      expect(await readMembershipRequest(state)).toBeUndefined();
    }
  });

  it('only a validator may ask (NOT_A_VALIDATOR), and only validators may be named (UNKNOWN_MEMBER)', async () => {
    const state = await freshState();
    const root = async () => {
      await state.flush();
      return toHex(state.root());
    };
    const start = await root();
    expect(await run(state, SUPPORTED, sign(outsider, 0, membership([v0, v1])))).toEqual(['NOT_A_VALIDATOR']);
    expect((await state.getAccount(outsider.address)).nonce).toBe(1);
    expect(await run(state, SUPPORTED, sign(v0, 0, membership([v0, outsider])))).toEqual(['UNKNOWN_MEMBER']);
    expect(await run(state, SUPPORTED, sign(v0, 1, membership([v0], [outsider])))).toEqual([
      'UNKNOWN_MEMBER',
    ]);
    expect((await state.getAccount(v0.address)).nonce).toBe(2);
    expect(await readMembershipRequest(state)).toBeUndefined();
    // Nothing but the two nonces changed: the same state as genesis with those nonces set.
    const other = await freshState();
    await other.setAccount(outsider.address, { ...(await other.getAccount(outsider.address)), nonce: 1 });
    await other.setAccount(v0.address, { ...(await other.getAccount(v0.address)), nonce: 2 });
    await other.flush();
    expect(await root()).toBe(toHex(other.root()));
    expect(start).not.toBe(toHex(other.root()));
  });

  it('records each request with the next seq; a failed request leaves the record as it was', async () => {
    const state = await freshState();
    expect(await run(state, SUPPORTED, sign(v0, 0, membership([v0, v1], [v2])))).toEqual(['OK']);
    expect(shown(await readMembershipRequest(state))).toEqual({
      seq: 1,
      voters: hexes([v0.address, v1.address]),
      learners: hexes([v2.address]),
    });
    expect(
      await run(
        state,
        { ...SUPPORTED, height: 2 },
        sign(v1, 0, membership([v0, outsider])),
        sign(v1, 1, membership([v2, v1, v0])),
        sign(v1, 5, membership([v0])), // BAD_NONCE: changes nothing
      ),
    ).toEqual(['UNKNOWN_MEMBER', 'OK', 'BAD_NONCE']);
    expect(shown(await readMembershipRequest(state))).toEqual({
      seq: 2,
      voters: hexes([v2.address, v1.address, v0.address]),
      learners: [],
    });
    expect((await state.getAccount(v1.address)).nonce).toBe(2);
  });

  it('a malformed stored request is a broken invariant, not an input', async () => {
    for (const bad of [
      rlpEncode([0, [v0.address], []]), // seq 0
      rlpEncode([1, [], []]), // no voters
      rlpEncode([1, [v0.address], [v0.address]]), // named twice
      rlpEncode([1, [v0.address.subarray(1)], []]),
      rlpEncode([1, [v0.address], [], 0]),
    ]) {
      const state = await freshState();
      state.setEntry(MEMBERSHIP_KEY, bad);
      await expect(readMembershipRequest(state)).rejects.toBeInstanceOf(InvariantError);
    }
    const state = await freshState();
    state.setEntry(MEMBERSHIP_KEY, rlpEncode([1, [v0.address], []]));
    expect((await readMembershipRequest(state))?.seq).toBe(1);
  });
});

describe('membership through the chain store', () => {
  async function commitNext(store: ChainStore, c: TestChain, txs: EncodedTransaction[]) {
    const executed = await store.propose({
      txs,
      time: { ms: store.head.time.ms + 1000, logical: 0 },
      proposer: (c.validators[0] as TestKey).address,
      engineData: new Uint8Array(0),
    });
    await store.commit(executed, quorumCertificate(c, executed.block.header.height, executed.hash));
    return executed;
  }

  it('membershipRequest() is the committed request, not one in an executed block', async () => {
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, {
      schemes: LEDGER_CERTIFICATE_SCHEMES,
      membership: true,
    });
    expect(await store.membershipRequest()).toBeUndefined();
    const b1 = await commitNext(store, chain, [sign(v2, 0, membership([v0, v1, v2]))]);
    expect(b1.receipts.map(code)).toEqual(['OK']);
    expect(shown(await store.membershipRequest())).toEqual({
      seq: 1,
      voters: hexes(VALIDATORS),
      learners: [],
    });
    const b2 = await store.propose({
      txs: [sign(v0, 0, membership([v0, v1], [v2]))],
      time: { ms: store.head.time.ms + 1000, logical: 0 },
      proposer: v0.address,
      engineData: new Uint8Array(0),
    });
    expect(b2.receipts.map(code)).toEqual(['OK']);
    expect((await store.membershipRequest())?.seq).toBe(1); // executed, not committed
    await store.commit(b2, quorumCertificate(chain, 2, b2.hash));
    expect(shown(await store.membershipRequest())).toEqual({
      seq: 2,
      voters: hexes([v0.address, v1.address]),
      learners: hexes([v2.address]),
    });
  });

  it('without the option, or on a chain with staking, a request fails with MEMBERSHIP_UNSUPPORTED', async () => {
    const refuseAll: EvidenceVerifier = async () => ({ ok: false, reason: 'not under test' });
    const stakingGenesis = parseGenesis({
      ...chain.genesisJson,
      staking: { mode: 'open', epochLength: 4, unbondingPeriod: 8, powerUnit: '1', maxValidators: 8 },
    });
    for (const [genesis, opts] of [
      [chain.genesis, { schemes: LEDGER_CERTIFICATE_SCHEMES }],
      [chain.genesis, { schemes: LEDGER_CERTIFICATE_SCHEMES, membership: false }],
      [stakingGenesis, { schemes: LEDGER_CERTIFICATE_SCHEMES, membership: true, verifyEvidence: refuseAll }],
    ] as const) {
      const store = await ChainStore.open(new MemoryKvStore(), genesis, opts);
      const b = await commitNext(store, chain, [sign(v0, 0, membership([v0]), genesis)]);
      expect(b.receipts.map(code)).toEqual(['MEMBERSHIP_UNSUPPORTED']);
      expect(await store.membershipRequest()).toBeUndefined();
      expect((await (await store.stateAt()).getAccount(v0.address)).nonce).toBe(1);
    }
  });
});
