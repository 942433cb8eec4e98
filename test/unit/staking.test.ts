/**
 * The staking lifecycle of the ledger state machine (ledger/staking): genesis config, registration,
 * bonding and unbonding, epoch sets, the stake → power mapping, slashing, supply conservation and
 * state proofs of the staking entries.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bls } from '../../crypto/bls/index.ts';
import { compareBytes, fromHex, toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';
import { formatAddress } from '../../ledger/address.ts';
import { buildGenesisState, type Genesis, parseGenesis } from '../../ledger/genesis.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { MerklePatriciaTrie, verifyMptProof } from '../../ledger/mpt/index.ts';
import type { Receipt } from '../../ledger/receipt.ts';
import { epochOf, parseStakingConfig, type StakingConfig } from '../../ledger/staking/config.ts';
import {
  burnedStake,
  type EvidenceVerifier,
  endBlock,
  registeredValidators,
  type StakingRules,
  storedSet,
  validatorRecord,
  validatorSetAt,
} from '../../ledger/staking/lifecycle.ts';
import { churnLimited, selectValidators } from '../../ledger/staking/power.ts';
import { decodeValidatorRecord, epochSetKey, validatorKey } from '../../ledger/staking/records.ts';
import { applyBlock, type LedgerState } from '../../ledger/state.ts';
import { type EncodedTransaction, type Operation, signTransaction } from '../../ledger/tx.ts';
import { MAX_TOTAL_POWER } from '../../ledger/validators.ts';
import { makeTestChain, type TestKey } from '../helpers/chain.ts';

const BALANCE = 10_000n;
const code = (r: Receipt) => (r.ok ? 'OK' : r.code);
type Keys = [TestKey, TestKey, TestKey, ...TestKey[]];
type Ev = { address: string; epoch: number; slot: number; valid?: boolean };

/**
 * A stand-in for the engine's evidence verifier (the real one, consensus/evidence.ts, is wired into
 * the node later): the evidence bytes are JSON {address, epoch, slot, valid?, pair?}; it names the
 * epoch, and the infraction is the slot (so two different pairs of one slot are one infraction).
 */
const fakeVerifier: EvidenceVerifier = async (bytes, setOf) => {
  const e = JSON.parse(Buffer.from(bytes).toString('utf8')) as Ev;
  if (e.valid === false) return { ok: false, reason: 'forged', epoch: e.epoch };
  if ((await setOf(e.epoch)) === undefined) return { ok: false, reason: 'no set', epoch: e.epoch };
  return { ok: true, address: fromHex(e.address), epoch: e.epoch, infraction: utf8(`slot:${e.slot}`) };
};
const evidence = (who: TestKey, epoch: number, slot: number, extra = {}): Operation => ({
  type: 'evidence',
  evidence: utf8(JSON.stringify({ address: toHex(who.address), epoch, slot, ...extra })),
});
const stake = (amount: bigint): Operation => ({ type: 'stake', amount });
const unstake = (amount: bigint): Operation => ({ type: 'unstake', amount });
const UNJAIL: Operation = { type: 'unjail' };

type BlsKey = { publicKey: Uint8Array; pop: Uint8Array };
const blsKeys = new Map<string, BlsKey>();
function blsOf(k: TestKey) {
  const id = toHex(k.publicKey);
  if (!blsKeys.has(id)) {
    const kp = bls.keygen(sha256(utf8(`staking-test-bls:${id}`)));
    blsKeys.set(id, { publicKey: kp.publicKey, pop: bls.popProve(kp.secretKey) });
  }
  return blsKeys.get(id)!;
}
const vrfKeyOf = (k: TestKey) =>
  vrf.publicKeyFromSecret(sha256(utf8(`staking-test-vrf:${toHex(k.address)}`)));
/** Users are named u0, u1, …; genesis validators v0, v1, … (test/helpers/chain.ts). */
const names = new Map<string, string>();
function register(k: TestKey, o: { bls?: BlsKey; vrf?: Uint8Array } = {}): Operation {
  const { publicKey: blsPublicKey, pop: blsPop } = o.bls ?? blsOf(k);
  const name = names.get(toHex(k.address)) ?? 'nameless';
  return { type: 'register-validator', name, blsPublicKey, blsPop, vrfPublicKey: o.vrf ?? new Uint8Array(0) };
}

interface ChainOpts {
  label: string;
  powers?: number[];
  users?: number;
  /** The genesis `staking` section (absent: no staking); `allow` as user indices. */
  staking?: Record<string, unknown>;
  allow?: number[];
}

function makeGenesis(o: ChainOpts) {
  const powers = o.powers ?? [10];
  const { label, users = 3 } = o;
  const tc = makeTestChain({ validators: powers.length, powers, accounts: users, balance: BALANCE, label });
  for (const [i, k] of tc.accounts.entries()) names.set(toHex(k.address), `u${i}`);
  for (const [i, k] of tc.validators.entries()) names.set(toHex(k.address), `v${i}`);
  const accounts = [
    ...(tc.genesisJson.accounts as unknown[]),
    ...tc.validators.map((v) => ({ address: formatAddress(v.address), balance: BALANCE.toString() })),
  ];
  const allow = (o.allow ?? []).map((i) => formatAddress(tc.accounts[i]!.address));
  const staking =
    o.staking === undefined ? {} : { staking: { ...o.staking, ...(allow.length ? { allow } : {}) } };
  const genesis = parseGenesis({ ...tc.genesisJson, accounts, ...staking });
  return { genesis, v: tc.validators as Keys, u: tc.accounts as Keys };
}

const freshState = async (genesis: Genesis) =>
  buildGenesisState(genesis, await MerklePatriciaTrie.create({ store: new MemoryKvStore(), secure: true }));

/** A chain driven block by block through applyBlock, with nonces tracked per sender. */
class Chain {
  height = 0;
  readonly nonces = new Map<string, number>();
  readonly genesis: Genesis;
  readonly v: Keys;
  readonly u: Keys;
  readonly state: LedgerState;
  constructor(g: ReturnType<typeof makeGenesis>, state: LedgerState) {
    [this.genesis, this.v, this.u, this.state] = [g.genesis, g.v, g.u, state];
  }
  static async create(o: ChainOpts): Promise<Chain> {
    const g = makeGenesis(o);
    return new Chain(g, await freshState(g.genesis));
  }
  /** Applies the next block with the given (sender, operation) pairs; returns the receipt codes. */
  async block(...txs: Array<[TestKey, Operation]>): Promise<string[]> {
    this.height++;
    const signed = txs.map(([k, op]) => {
      const nonce = this.nonces.get(toHex(k.address)) ?? 0;
      this.nonces.set(toHex(k.address), nonce + 1);
      return signTransaction({ chainId: this.genesis.chainId, sender: k.publicKey, nonce, op }, k.secretKey);
    });
    const { staking } = this.genesis;
    const rules = { height: this.height, ...(staking && { staking, verifyEvidence: fakeVerifier }) };
    return (await applyBlock(this.state, signed, rules)).receipts.map(code);
  }
  async run(k: TestKey, op: Operation): Promise<string> {
    return (await this.block([k, op]))[0] as string;
  }
  async until(height: number): Promise<void> {
    while (this.height < height) await this.block();
  }
  account(k: TestKey) {
    return this.state.getAccount(k.address);
  }
  record(k: TestKey) {
    return validatorRecord(this.state, k.address);
  }
  /** The stored set of `epoch` as name=power, in set order. */
  async set(epoch: number): Promise<string[] | undefined> {
    return (await storedSet(this.state, epoch))?.validators.map((v) => `${v.name}=${v.power}`);
  }
}

describe('staking config', () => {
  const parse = (raw: unknown) => parseStakingConfig(raw, (path, reason) => new Error(`${path}: ${reason}`));

  it('fills in the defaults', () => {
    expect(parse({})).toEqual({
      mode: 'permissioned',
      allow: [],
      epochLength: 20,
      unbondingPeriod: 100,
      powerUnit: 1000n,
      maxValidators: 64,
      churnLimit: 0,
      maxUnbondingEntries: 7,
      maxEvidencePerBlock: 8,
      trustingPeriod: 66, // ⌊2/3 of the unbonding period⌋
      doubleSign: { slashPermille: 50, penalty: 'tombstone', jailBlocks: 100 },
    });
    // The trusting period stays below the unbonding period (the signers' stake still slashable).
    expect(parse({ trustingPeriod: 99 }).trustingPeriod).toBe(99);
    expect(() => parse({ trustingPeriod: 100 })).toThrow(/^staking\.trustingPeriod/);
  });

  it('refuses a short unbonding period, unknown keys, an allow-list in open mode, bad power units', () => {
    expect(parse({ epochLength: 20, unbondingPeriod: 40 }).unbondingPeriod).toBe(40);
    expect(() => parse({ epochLength: 20, unbondingPeriod: 39 })).toThrow(
      /^staking\.unbondingPeriod: .*two epochs/,
    );
    expect(() => parse({ epochLength: 60 })).toThrow(/^staking\.unbondingPeriod/); // default 100 < 120
    expect(() => parse({ epochLenght: 20 })).toThrow(/^staking\.epochLenght: unknown setting/);
    expect(() => parse({ doubleSign: { slashPercent: 5 } })).toThrow(
      /^staking\.doubleSign\.slashPercent: unknown/,
    );
    const someone = formatAddress(new Uint8Array(20).fill(7));
    expect(parse({ allow: [someone] }).allow).toHaveLength(1);
    expect(() => parse({ mode: 'open', allow: [someone] })).toThrow(/^staking\.allow: /);
    expect(() => parse({ allow: ['verity1nonsense'] })).toThrow(/^staking\.allow\[0\]/);
    expect(parse({ powerUnit: '1' }).powerUnit).toBe(1n);
    for (const bad of ['0', '-5', '01', '1e3', '', 1000, (1n << 128n).toString()])
      expect(() => parse({ powerUnit: bad }), String(bad)).toThrow(/^staking\.powerUnit/);
    expect(() => parse({ doubleSign: { penalty: 'fine' } })).toThrow(/^staking\.doubleSign\.penalty/);
    expect(() => parse([])).toThrow(/^staking: must be an object/);
  });

  it('refuses a genesis with both `staking` and a `threshold` key', () => {
    const json = makeTestChain({ validators: 4, label: 'staking-threshold' }).genesisJson;
    const deal = bls.threshold.deal(3, 4, sha256(utf8('staking-test-threshold-deal')));
    const threshold = {
      threshold: 3,
      groupPublicKey: toHex(deal.groupPublicKey),
      commitments: deal.commitments.map(toHex),
      sharePublicKeys: deal.shares.map((s) => toHex(s.publicKey)),
    };
    expect(parseGenesis({ ...json, threshold }).threshold?.threshold).toBe(3); // valid on its own
    expect(parseGenesis({ ...json, staking: {} }).staking?.epochLength).toBe(20);
    const message = expect.stringMatching(/staking.*threshold/);
    expect(() => parseGenesis({ ...json, threshold, staking: {} })).toThrow(
      expect.objectContaining({ code: 'GENESIS_INVALID', message }),
    );
  });
  // Found by this test: genesis counted a name's UTF-16 units while staking records decode names
  // with a 64-*byte* limit, so such a genesis parsed and its first epoch end halted the chain.
  it('a genesis validator named with 64 two-byte characters is refused at genesis', async () => {
    const json = structuredClone(makeTestChain({ validators: 1, label: 'st-name' }).genesisJson);
    (json.validators as Array<{ name: string }>)[0]!.name = 'é'.repeat(64); // 128 bytes of UTF-8
    expect(() => parseGenesis({ ...json, staking: { epochLength: 2, unbondingPeriod: 4 } })).toThrow(
      expect.objectContaining({ code: 'GENESIS_INVALID' }),
    );
    // Control: 32 of them (64 bytes) is a name that works through an epoch end.
    (json.validators as Array<{ name: string }>)[0]!.name = 'é'.repeat(32);
    const genesis = parseGenesis({ ...json, staking: { epochLength: 2, unbondingPeriod: 4 } });
    const state = await freshState(genesis);
    const rules = { staking: genesis.staking!, verifyEvidence: fakeVerifier };
    for (const height of [1, 2]) await applyBlock(state, [], { ...rules, height });
    expect((await storedSet(state, 1))?.validators[0]?.name).toBe('é'.repeat(32));
  });
});

describe('register-validator', () => {
  it('permissioned: only listed senders; checks the PoP, the VRF key, duplicate keys, re-registration', async () => {
    const c = await Chain.create({ label: 'st-reg', users: 3, staking: {}, allow: [0] });
    const [u0, u1] = c.u;
    const v0 = c.genesis.validators.validators[0]!;
    expect(
      await c.block(
        [u1, register(u1)],
        [u0, register(u0, { bls: { publicKey: blsOf(u0).publicKey, pop: blsOf(u1).pop } })],
        [u0, register(u0, { vrf: u0.publicKey })],
        [u0, register(u0, { bls: { publicKey: v0.blsPublicKey, pop: v0.blsPop } })],
        [u0, register(u0, { vrf: vrfKeyOf(u0) })],
        [u0, register(u0)],
      ),
    ).toEqual([
      'NOT_PERMITTED',
      'INVALID_VALIDATOR_KEY',
      'INVALID_VALIDATOR_KEY',
      'DUPLICATE_VALIDATOR_KEY',
      'OK',
      'ALREADY_REGISTERED',
    ]);
    expect(await c.record(u1)).toBeUndefined();
    expect(await c.account(u1)).toEqual({ nonce: 1, balance: BALANCE, stake: 0n });
    expect(await c.account(u0)).toEqual({ nonce: 5, balance: BALANCE, stake: 0n });
    const rec = (await c.record(u0))!;
    expect(rec).toMatchObject({ name: 'u0', status: 'active', jailedUntil: 0, unbonding: [] });
    expect([rec.publicKey, rec.blsPublicKey, rec.vrfPublicKey].map(toHex)).toEqual(
      [u0.publicKey, blsOf(u0).publicKey, vrfKeyOf(u0)].map(toHex),
    );
    const registry = (await registeredValidators(c.state)).map(toHex);
    expect(registry).toEqual([u0.address, c.v[0].address].map(toHex).sort());
  });

  it('open: anyone may register, but not with a BLS or VRF key already registered', async () => {
    const c = await Chain.create({ label: 'st-open', users: 3, staking: { mode: 'open' } });
    const [u0, u1, u2] = c.u;
    expect(
      await c.block(
        [u1, register(u1, { vrf: vrfKeyOf(u1) })],
        [u2, register(u2, { bls: blsOf(u1) })],
        [u2, register(u2, { vrf: vrfKeyOf(u1) })],
        [u0, register(u0)],
      ),
    ).toEqual(['OK', 'DUPLICATE_VALIDATOR_KEY', 'DUPLICATE_VALIDATOR_KEY', 'OK']);
    expect(await c.record(u2)).toBeUndefined();
  });

  it('without a staking config: the new operations fail, stake and unstake are instant', async () => {
    const c = await Chain.create({ label: 'st-none', users: 2 });
    const [u0, u1] = c.u;
    const ops = [register(u0), UNJAIL, evidence(u1, 0, 0), stake(100n), unstake(40n)];
    expect(await c.block(...ops.map((op): [TestKey, Operation] => [u0, op]))).toEqual([
      'STAKING_DISABLED',
      'STAKING_DISABLED',
      'STAKING_DISABLED',
      'OK',
      'OK',
    ]);
    expect(await c.account(u0)).toEqual({ nonce: 5, balance: BALANCE - 60n, stake: 60n });
    expect(await c.record(u0)).toBeUndefined();
  });
});

describe('bond, unbond, payout', () => {
  it('bonds balance to stake; unbonding is paid exactly unbondingPeriod blocks later; entries are bounded', async () => {
    const staking = {
      mode: 'open',
      epochLength: 4,
      unbondingPeriod: 8,
      powerUnit: '100',
      maxUnbondingEntries: 2,
    };
    const c = await Chain.create({ label: 'st-bond', users: 2, staking });
    const [u0, u1] = c.u;
    expect(await c.block([u1, stake(1n)], [u1, unstake(1n)])).toEqual(['NOT_A_VALIDATOR', 'NOT_A_VALIDATOR']);
    expect(await c.account(u1)).toEqual({ nonce: 2, balance: BALANCE, stake: 0n });
    const h2 = await c.block([u0, register(u0)], [u0, stake(500n)], [u0, stake(BALANCE)]);
    expect(h2).toEqual(['OK', 'OK', 'INSUFFICIENT_FUNDS']);
    expect(await c.account(u0)).toEqual({ nonce: 3, balance: BALANCE - 500n, stake: 500n });
    expect(await c.block([u0, unstake(200n)], [u0, unstake(301n)])).toEqual(['OK', 'INSUFFICIENT_STAKE']); // h3
    expect(await c.account(u0)).toMatchObject({ balance: BALANCE - 500n, stake: 300n });
    expect((await c.record(u0))?.unbonding).toEqual([{ createdAt: 3, completesAt: 11, amount: 200n }]);
    expect(await c.block([u0, unstake(10n)], [u0, unstake(10n)])).toEqual(['OK', 'TOO_MANY_UNBONDINGS']); // h4
    expect(await c.account(u0)).toMatchObject({ nonce: 7, stake: 290n });
    await c.until(10);
    expect(await c.account(u0)).toMatchObject({ balance: BALANCE - 500n, stake: 290n });
    await c.block(); // h11 = 3 + 8
    expect(await c.account(u0)).toMatchObject({ balance: BALANCE - 300n, stake: 290n });
    expect((await c.record(u0))?.unbonding).toEqual([{ createdAt: 4, completesAt: 12, amount: 10n }]);
    expect(await c.run(u0, unstake(5n))).toBe('OK'); // h12: a slot is free again
    expect(await c.account(u0)).toMatchObject({ balance: BALANCE - 290n, stake: 285n });
  });
});

describe('epoch sets', () => {
  it('recomputes the set only at epoch ends: power = ⌊stake/unit⌋, order, truncation, departures', async () => {
    const staking = { mode: 'open', epochLength: 4, unbondingPeriod: 8, powerUnit: '100', maxValidators: 3 };
    const c = await Chain.create({ label: 'st-epoch', powers: [5, 3], users: 2, staking });
    const [v0, v1] = c.v;
    const [u0, u1] = c.u;
    const genesisHash = toHex(c.genesis.validators.hash);
    const hashAt = async (h: number) => toHex((await validatorSetAt(c.state, h, c.genesis.staking!))!.hash);
    expect(await hashAt(1)).toBe(genesisHash);
    expect(await c.account(v0)).toMatchObject({ stake: 500n });
    await c.block([u0, register(u0)], [u0, stake(350n)], [u1, register(u1)], [u1, stake(1000n)]);
    await c.until(3);
    expect(await c.set(1)).toBeUndefined();
    expect(await hashAt(4)).toBe(genesisHash);
    await c.block(); // h4: epoch 0's last block
    // u0 (350 → power 3) ties v1; by address, only the lower fits in maxValidators = 3.
    const [low, high] = [v1, u0]
      .sort((a, b) => compareBytes(a.address, b.address))
      .map((k) => names.get(toHex(k.address)));
    expect(await c.set(1)).toEqual(['u1=10', 'v0=5', `${low}=3`]);
    expect(await c.set(0)).toEqual(['v0=5', 'v1=3']);
    expect(await hashAt(5)).toBe(toHex((await storedSet(c.state, 1))!.hash));
    expect(await c.run(v0, unstake(500n))).toBe('OK'); // h5
    await c.until(7);
    expect(await c.set(2)).toBeUndefined(); // unchanged mid-epoch
    expect(await c.set(1)).toContain('v0=5');
    await c.block(); // h8
    expect(await c.set(2)).toEqual(['u1=10', `${low}=3`, `${high}=3`]);
    expect(await c.run(u0, unstake(51n))).toBe('OK'); // 299 → power 2
    await c.until(12);
    expect(await c.set(3)).toEqual(['u1=10', 'v1=3', 'u0=2']);
  });

  it('with a churn limit, validators join and leave one epoch at a time; a jailed one leaves at once', async () => {
    const staking = {
      mode: 'open',
      epochLength: 4,
      unbondingPeriod: 8,
      powerUnit: '100',
      churnLimit: 1,
      doubleSign: { penalty: 'jail', jailBlocks: 100 },
    };
    const c = await Chain.create({ label: 'st-churn', powers: [5, 3], users: 3, staking });
    const [v0, v1] = c.v;
    const [u0, u1, u2] = c.u;
    // Three candidates bond in epoch 0: 10, 8 and 6 units.
    await c.block([u0, register(u0)], [u0, stake(1000n)], [u1, register(u1)], [u1, stake(800n)]);
    await c.block([u2, register(u2)], [u2, stake(600n)]);
    await c.until(4);
    expect(await c.set(1)).toEqual(['u0=10', 'v0=5', 'v1=3']); // the strongest first
    await c.until(8);
    expect(await c.set(2)).toEqual(['u0=10', 'u1=8', 'v0=5', 'v1=3']);
    // v0 and v1 unbond everything: one leaves per epoch, the weaker first; the one waiting keeps its power.
    expect(await c.block([v0, unstake(500n)], [v1, unstake(300n)])).toEqual(['OK', 'OK']); // h9
    await c.until(12);
    expect(await c.set(3)).toEqual(['u0=10', 'u1=8', 'u2=6', 'v0=5']); // v1 out, u2 in
    // A penalty does not queue: evidence against u1 jails it, and it leaves with v0 at the next end.
    expect(await c.run(u0, evidence(u1, 3, 1))).toBe('OK'); // h13
    await c.until(16);
    expect(await c.set(4)).toEqual(['u0=10', 'u2=6']);
    // Without the limit the whole change lands at once (the same chain, churnLimit 0).
    const free = await Chain.create({
      label: 'st-churn',
      powers: [5, 3],
      users: 3,
      staking: { ...staking, churnLimit: 0 },
    });
    await free.block(
      [free.u[0], register(free.u[0])],
      [free.u[0], stake(1000n)],
      [free.u[1], register(free.u[1])],
      [free.u[1], stake(800n)],
    );
    await free.block([free.u[2], register(free.u[2])], [free.u[2], stake(600n)]);
    await free.until(4);
    expect(await free.set(1)).toEqual(['u0=10', 'u1=8', 'u2=6', 'v0=5', 'v1=3']);
  });

  it('keeps the previous set when every validator leaves', async () => {
    const staking = { mode: 'open', epochLength: 4, unbondingPeriod: 8, powerUnit: '100' };
    const c = await Chain.create({ label: 'st-empty', powers: [2], users: 1, staking });
    const [v0] = c.v;
    const [u0] = c.u;
    await c.block([u0, register(u0)], [u0, stake(300n)]);
    await c.until(4);
    expect(await c.set(1)).toEqual(['u0=3', 'v0=2']); // not the genesis set
    expect(await c.block([v0, unstake(200n)], [u0, unstake(300n)])).toEqual(['OK', 'OK']);
    await c.until(12);
    expect(await c.account(v0)).toMatchObject({ stake: 0n });
    for (const epoch of [2, 3]) expect(await c.set(epoch)).toEqual(['u0=3', 'v0=2']);
  });
});

describe('selectValidators', () => {
  const candidates = fc.uniqueArray(
    fc.record({
      address: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      stake: fc.oneof(fc.bigInt(0n, 5_000n), fc.bigInt(0n, 1n << 60n)),
      active: fc.boolean(),
    }),
    { selector: (c) => toHex(c.address), maxLength: 24 },
  );
  const byPowerThenAddress = <T extends { address: Uint8Array; power: bigint | number }>(a: T, b: T) =>
    a.power === b.power ? compareBytes(a.address, b.address) : a.power > b.power ? -1 : 1;

  it('is the top by power then address, halved to fit MAX_TOTAL_POWER, and independent of input order', () => {
    fc.assert(
      fc.property(candidates, fc.bigInt(1n, 1000n), fc.integer({ min: 1, max: 30 }), (cands, unit, max) => {
        const chosen = selectValidators(cands, unit, max);
        const view = (ws: typeof chosen) => ws.map((w) => `${toHex(w.address)}=${w.power}`);
        const sorted = [...cands].sort((a, b) => compareBytes(a.address, b.address));
        for (const order of [[...cands].reverse(), sorted])
          expect(view(selectValidators(order, unit, max))).toEqual(view(chosen));
        expect(chosen.reduce((s, w) => s + w.power, 0)).toBeLessThanOrEqual(MAX_TOTAL_POWER);
        expect(chosen.length).toBeLessThanOrEqual(max);
        expect(chosen.every((w) => w.power > 0)).toBe(true);
        for (let i = 1; i < chosen.length; i++)
          expect(byPowerThenAddress(chosen[i - 1]!, chosen[i]!)).toBe(-1); // strictly ordered
        // Reference: the top `max` active candidates by ⌊stake/unit⌋, every power halved k times,
        // k the least that fits the cap.
        const ref = cands
          .filter((c) => c.active && c.stake >= unit)
          .map((c) => ({ address: c.address, power: c.stake / unit }))
          .sort(byPowerThenAddress)
          .slice(0, max);
        const halved = (k: bigint) =>
          ref.map((r) => ({ ...r, power: r.power >> k })).filter((r) => r.power > 0n);
        let k = 0n;
        while (halved(k).reduce((s, r) => s + r.power, 0n) > BigInt(MAX_TOTAL_POWER)) k++;
        expect(view(chosen)).toEqual(view(halved(k).map((r) => ({ ...r, power: Number(r.power) }))));
      }),
      { numRuns: 50, seed: 7 },
    );
  });
});

describe('churnLimited (activation and exit queues)', () => {
  const weighted = fc.uniqueArray(
    fc.record({
      address: fc.uint8Array({ minLength: 20, maxLength: 20 }),
      power: fc.integer({ min: 1, max: 1000 }),
    }),
    { selector: (w) => toHex(w.address), maxLength: 16 },
  );
  it('moves at most `limit` in and `limit` out of their own accord; forced exits always; within maxValidators', () => {
    fc.assert(
      fc.property(
        weighted,
        weighted,
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer(),
        (cur, all, limit, max, pick) => {
          const target = all.slice(0, max); // (selectValidators' order is not needed for the counts)
          const forced = new Set(cur.filter((_, i) => (pick >> i) & 1).map((w) => toHex(w.address)));
          const next = churnLimited(cur, target, limit, Math.max(max, cur.length), forced);
          const ids = (ws: readonly { address: Uint8Array }[]) => new Set(ws.map((w) => toHex(w.address)));
          const [before, after, wanted] = [ids(cur), ids(next), ids(target)];
          const joined = [...after].filter((a) => !before.has(a));
          const left = [...before].filter((a) => !after.has(a));
          expect(joined.length).toBeLessThanOrEqual(limit);
          expect(joined.every((a) => wanted.has(a))).toBe(true);
          for (const a of forced) expect(after.has(a)).toBe(false);
          expect(left.filter((a) => !forced.has(a)).length).toBeLessThanOrEqual(limit);
          // Whoever both sets want keeps its seat, with the power the target gives.
          for (const w of target)
            if (before.has(toHex(w.address)) && !forced.has(toHex(w.address)))
              expect(next.find((n) => toHex(n.address) === toHex(w.address))?.power).toBe(w.power);
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });

  it('limit 0 is the target itself', () => {
    const a = { address: new Uint8Array(20).fill(1), power: 3 };
    const b = { address: new Uint8Array(20).fill(2), power: 2 };
    expect(churnLimited([a], [b], 0, 10, new Set())).toEqual([b]);
    const c = { address: new Uint8Array(20).fill(3), power: 1 };
    // a and c both leave; one may leave per epoch: c (the weaker) goes, a waits with its power; b joins.
    expect(churnLimited([a, c], [b], 1, 10, new Set())).toEqual([a, b]);
    // Forced, c leaves outside the limit: a goes too.
    expect(churnLimited([a, c], [b], 1, 10, new Set([toHex(c.address)]))).toEqual([b]);
  });
});

describe('slashing', () => {
  const create = (label: string, penalty: 'tombstone' | 'jail') =>
    Chain.create({
      label,
      powers: [10, 10, 10],
      users: 1,
      staking: {
        mode: 'open',
        epochLength: 4,
        unbondingPeriod: 12,
        powerUnit: '100',
        maxEvidencePerBlock: 2,
        doubleSign: { slashPermille: 100, penalty, jailBlocks: 5 },
      },
    });

  it('slashes the power the validator had in the infraction epoch, not stake bonded later; tombstones', async () => {
    const c = await create('st-slash-bond', 'tombstone');
    const [v0] = c.v;
    const [reporter] = c.u;
    await c.until(4); // epoch 1's set: power 10 each
    expect(await c.run(v0, stake(5000n))).toBe('OK'); // h5, after the set was computed
    expect(await c.run(reporter, evidence(v0, 1, 1))).toBe('OK'); // h6
    // 100‰ of power 10 × unit 100 = 100 (not 100‰ of the 6000 bonded now)
    expect(await c.account(v0)).toMatchObject({ stake: 5900n, balance: BALANCE - 5000n });
    expect(await burnedStake(c.state)).toBe(100n);
    expect((await c.record(v0))?.status).toBe('tombstoned');
    // A tombstoned validator is never slashed again, and cannot bond.
    const h7 = await c.block([reporter, evidence(v0, 1, 2)], [v0, stake(1n)], [v0, UNJAIL]);
    expect(h7).toEqual(['VALIDATOR_TOMBSTONED', 'VALIDATOR_TOMBSTONED', 'VALIDATOR_TOMBSTONED']);
    expect(await c.account(v0)).toMatchObject({ stake: 5900n, balance: BALANCE - 5000n, nonce: 3 });
    expect(await burnedStake(c.state)).toBe(100n);
    await c.until(8);
    expect((await c.set(2))?.sort()).toEqual(['v1=10', 'v2=10']);
  });

  it('reaches stake that started unbonding after the infraction epoch began; the payout is reduced', async () => {
    const c = await create('st-slash-unbond', 'tombstone');
    const [, v1] = c.v;
    const [reporter] = c.u;
    await c.until(3);
    expect(await c.run(v1, unstake(200n))).toBe('OK'); // h4: before epoch 1's set (power 8)
    expect(await c.run(v1, unstake(800n))).toBe('OK'); // h5: inside epoch 1
    expect(await c.set(1)).toContain('v1=8');
    expect(await c.run(reporter, evidence(v1, 1, 0))).toBe('OK'); // h6: 100‰ × 8 × 100 = 80
    expect(await c.account(v1)).toMatchObject({ stake: 0n, balance: BALANCE });
    expect((await c.record(v1))?.unbonding).toEqual([
      { createdAt: 4, completesAt: 16, amount: 200n }, // never backed epoch 1: untouched
      { createdAt: 5, completesAt: 17, amount: 720n },
    ]);
    expect(await burnedStake(c.state)).toBe(80n);
    await c.until(15);
    expect((await c.account(v1)).balance).toBe(BALANCE);
    await c.block();
    expect((await c.account(v1)).balance).toBe(BALANCE + 200n);
    await c.block();
    expect((await c.account(v1)).balance).toBe(BALANCE + 920n);
  });

  it('refuses evidence older than the unbonding period from its epoch start, and of non-members', async () => {
    const c = await create('st-slash-old', 'tombstone');
    const [v0, v1, v2] = c.v;
    const [reporter] = c.u;
    await c.until(11);
    // Epoch 0 starts at block 1: its evidence is accepted while height − 1 < 12.
    const h12 = await c.block([reporter, evidence(v2, 0, 0)], [reporter, evidence(reporter, 1, 0)]);
    expect(h12).toEqual(['OK', 'EVIDENCE_INVALID']);
    const h13 = await c.block([reporter, evidence(v0, 0, 0)], [reporter, evidence(v1, 1, 0)]);
    expect(h13).toEqual(['EVIDENCE_TOO_OLD', 'OK']);
    expect(await c.account(v0)).toMatchObject({ stake: 1000n });
    expect((await c.record(v0))?.status).toBe('active');
    expect(await burnedStake(c.state)).toBe(200n);
    expect(await c.set(0)).toBeUndefined(); // pruned: no evidence can name it any more
  });

  it('jails: one infraction is slashed once, unjail only after jailBlocks, then back in the set', async () => {
    const c = await create('st-slash-jail', 'jail');
    const [v0, v1] = c.v;
    const [reporter] = c.u;
    await c.until(4);
    expect(await c.run(reporter, evidence(v0, 1, 7))).toBe('OK'); // h5: jailed until 10
    expect(await c.record(v0)).toMatchObject({ status: 'jailed', jailedUntil: 10 });
    expect(await c.account(v0)).toMatchObject({ stake: 900n });
    const again = evidence(v0, 1, 7, { pair: 'another' }); // other messages, same slot
    const h6 = await c.block([reporter, again], [v0, UNJAIL], [v1, UNJAIL], [reporter, UNJAIL]);
    expect(h6).toEqual(['EVIDENCE_DUPLICATE', 'STILL_JAILED', 'NOT_JAILED', 'NOT_A_VALIDATOR']);
    expect(await burnedStake(c.state)).toBe(100n);
    expect(await c.account(v0)).toMatchObject({ stake: 900n });
    await c.until(8);
    const set2 = (await c.set(2))!;
    expect([...set2].sort()).toEqual(['v1=10', 'v2=10']);
    expect(await c.run(v0, UNJAIL)).toBe('STILL_JAILED'); // h9 < 10
    expect(await c.run(v0, UNJAIL)).toBe('OK'); // h10
    expect((await c.record(v0))?.status).toBe('active');
    await c.until(12);
    expect(await c.set(3)).toEqual([...set2, 'v0=9']);
    expect(await c.run(reporter, evidence(v0, 1, 8))).toBe('OK'); // h13: another slot, another infraction
    expect(await burnedStake(c.state)).toBe(200n);
    expect(await c.account(v0)).toMatchObject({ stake: 800n });
  });

  it('executes at most maxEvidencePerBlock evidence transactions per block', async () => {
    const c = await create('st-slash-limit', 'jail');
    const [v0, v1, v2] = c.v;
    const [reporter] = c.u;
    await c.until(4);
    const h5 = await c.block(...[v0, v1, v2].map((v): [TestKey, Operation] => [reporter, evidence(v, 1, 0)]));
    expect(h5).toEqual(['OK', 'OK', 'EVIDENCE_LIMIT']);
    expect(await c.account(v2)).toMatchObject({ stake: 1000n });
    expect((await c.record(v2))?.status).toBe('active');
    expect(await burnedStake(c.state)).toBe(200n);
    expect(await c.run(reporter, evidence(v2, 1, 0))).toBe('OK'); // next block: room again
    expect(await burnedStake(c.state)).toBe(300n);
  });
});

describe('supply and failures', () => {
  const actor = fc.nat(5); // validators 0..2, users 3..5
  const op = fc.oneof(
    fc.record({ kind: fc.constant('transfer' as const), to: actor, amount: fc.bigInt(1n, 800n) }),
    fc.record({ kind: fc.constant('stake' as const), amount: fc.bigInt(1n, 800n) }),
    fc.record({ kind: fc.constant('unstake' as const), amount: fc.bigInt(1n, 500n) }),
    fc.record({ kind: fc.constant('register' as const), bls: actor }),
    fc.record({
      kind: fc.constant('evidence' as const),
      who: actor,
      back: fc.nat(3),
      slot: fc.nat(2),
      ok: fc.boolean(),
    }),
    fc.record({ kind: fc.constant('unjail' as const) }),
  );
  const tx = fc.record({ sender: actor, skew: fc.constantFrom(0, 0, 0, 0, 0, 1), op });
  const plans = fc.array(fc.array(tx, { maxLength: 6 }), { minLength: 3, maxLength: 10 });
  const genesisFor = new Map<string, ReturnType<typeof makeGenesis>>();
  const genesisOf = (penalty: 'tombstone' | 'jail') => {
    const staking = { mode: 'open', epochLength: 3, unbondingPeriod: 6, powerUnit: '100', maxValidators: 4 };
    const limits = { maxUnbondingEntries: 2, maxEvidencePerBlock: 1 };
    const doubleSign = { slashPermille: 250, penalty, jailBlocks: 2 };
    const g =
      genesisFor.get(penalty) ??
      makeGenesis({ label: 'st-prop', powers: [3, 2, 2], staking: { ...staking, ...limits, doubleSign } });
    genesisFor.set(penalty, g);
    return g;
  };
  type PlanOp = typeof op extends fc.Arbitrary<infer T> ? T : never;
  function operation(o: PlanOp, sender: TestKey, actors: TestKey[], g: Genesis, height: number): Operation {
    switch (o.kind) {
      case 'transfer':
        return { type: 'transfer', to: actors[o.to]!.address, amount: o.amount };
      case 'stake':
        return stake(o.amount);
      case 'unstake':
        return unstake(o.amount);
      case 'register': {
        // The BLS key of actor o.bls: a genesis validator's (a duplicate) or a user's own.
        const v = g.validators.validators[o.bls];
        return register(sender, {
          bls: v ? { publicKey: v.blsPublicKey, pop: v.blsPop } : blsOf(actors[o.bls]!),
        });
      }
      case 'evidence':
        return evidence(actors[o.who]!, Math.max(0, epochOf(height, 3) - o.back), o.slot, { valid: o.ok });
      default:
        return UNJAIL;
    }
  }
  async function supplyOf(s: LedgerState, actors: TestKey[]): Promise<bigint> {
    let sum = await burnedStake(s);
    for (const k of actors) {
      const acc = await s.getAccount(k.address);
      sum += acc.balance + acc.stake;
    }
    for (const addr of await registeredValidators(s))
      for (const u of (await validatorRecord(s, addr))?.unbonding ?? []) sum += u.amount;
    return sum;
  }

  it('conserves Σ balance + Σ stake + Σ unbonding + burned; a failure only uses the nonce', async () => {
    const seen = new Set<string>();
    const run = async (
      penalty: 'tombstone' | 'jail',
      plan: Array<Array<{ sender: number; skew: number; op: PlanOp }>>,
    ) => {
      const g = genesisOf(penalty);
      const staking = g.genesis.staking as StakingConfig;
      const actors = [...g.v, ...g.u];
      // a: transaction by transaction; b: the same, with each failed transaction replaced by a bare
      // nonce bump; c: applyBlock.
      const fresh = () => freshState(g.genesis);
      const [a, b, c] = await Promise.all([fresh(), fresh(), fresh()]);
      const initial = await supplyOf(a, actors);
      expect(initial).toBe(BALANCE * 6n + 700n);
      const nonces = actors.map(() => 0);
      for (const [i, block] of plan.entries()) {
        const height = i + 1;
        const rules = (): StakingRules => ({
          height,
          staking,
          verifyEvidence: fakeVerifier,
          evidenceSeen: { count: 0 },
        });
        const [ra, rb] = [rules(), rules()];
        const txs: EncodedTransaction[] = [];
        for (const t of block) {
          const sender = actors[t.sender]!;
          const nonce = nonces[t.sender]! + t.skew;
          const op = operation(t.op, sender, actors, g.genesis, height);
          const etx = signTransaction(
            { chainId: g.genesis.chainId, sender: sender.publicKey, nonce, op },
            sender.secretKey,
          );
          txs.push(etx);
          const got = await a.applyTransaction(etx, ra);
          seen.add(`${t.op.kind}:${code(got)}`);
          if (got.ok) expect(await b.applyTransaction(etx, rb)).toEqual(got);
          else if (got.code !== 'BAD_NONCE') {
            const acc = await b.getAccount(sender.address);
            await b.setAccount(sender.address, { ...acc, nonce: acc.nonce + 1 });
          }
          if (code(got) === 'BAD_NONCE') expect(t.skew).not.toBe(0);
          else nonces[t.sender]!++;
          await a.flush();
          await b.flush();
          expect(toHex(b.root()), `after ${code(got)}`).toBe(toHex(a.root()));
        }
        await endBlock(a, ra);
        await endBlock(b, rb);
        await a.flush();
        await b.flush();
        expect(toHex(b.root())).toBe(toHex(a.root()));
        expect(toHex((await applyBlock(c, txs, rules())).stateRoot)).toBe(toHex(a.root()));
        expect(await supplyOf(a, actors)).toBe(initial);
        expect(await validatorSetAt(a, height + 1, staking)).toBeDefined(); // always a set for the next block
      }
    };
    await fc.assert(fc.asyncProperty(fc.constantFrom('tombstone' as const, 'jail' as const), plans, run), {
      numRuns: 30,
      seed: 1234,
    });
    // The runs do reach slashing, jail terms and every evidence outcome.
    const outcomes = ['OK', 'EVIDENCE_DUPLICATE', 'EVIDENCE_TOO_OLD', 'EVIDENCE_LIMIT', 'EVIDENCE_INVALID'];
    for (const c of [...outcomes.map((o) => `evidence:${o}`), 'register:OK', 'unstake:OK', 'unjail:OK'])
      expect(seen).toContain(c);
  });
});

describe('proofs', () => {
  it('the validator record and the epoch set are trie entries that a state proof covers', async () => {
    const staking = { mode: 'open', epochLength: 2, unbondingPeriod: 4, powerUnit: '100' };
    const c = await Chain.create({ label: 'st-proof', users: 1, staking });
    const [u0] = c.u;
    await c.block([u0, register(u0)], [u0, stake(300n)]);
    await c.block(); // h2: epoch 1's set
    expect(await c.set(1)).toEqual(['v0=10', 'u0=3']);
    const root = c.state.root();
    for (const key of [validatorKey(u0.address), epochSetKey(1)]) {
      const raw = await c.state.trie.get(key);
      expect(raw).toBeDefined();
      const proven = verifyMptProof(root, key, await c.state.trie.createProof(key), { secure: true });
      expect(toHex(proven!)).toBe(toHex(raw!));
    }
    expect(decodeValidatorRecord((await c.state.trie.get(validatorKey(u0.address)))!).name).toBe('u0');
    await c.state.trie.commit(); // committed, another handle at that root reads the same entries
    const reopened = await c.state.trie.atRoot(root);
    expect(await reopened.get(epochSetKey(1))).toEqual(await c.state.trie.get(epochSetKey(1)));
  });
});
