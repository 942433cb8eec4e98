/**
 * The validator lifecycle, executed by the state machine (ledger/state.ts) on a chain whose
 * genesis enables staking:
 *
 *   register-validator → candidate (its ed25519 key is the sender; BLS key with proof of
 *   possession; optional VRF key, never the ed25519 key) · stake → bonded · unstake → unbonding
 *   for `unbondingPeriod` blocks, still slashable, then paid to the balance · evidence → slashed
 *   (a fraction burned) and tombstoned or jailed · unjail → active again after the jail term.
 *
 * At the end of an epoch's last block the next epoch's set is computed from the candidates'
 * bonded stake (ledger/staking/power.ts) and stored in state; it is in force from the next block.
 * Every check happens before any write, so a failed operation consumes the nonce and nothing else.
 */

import { bls } from '../../crypto/bls/index.ts';
import { compareBytes, equalBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { invariant } from '../../crypto/errors.ts';
import { sha256 } from '../../crypto/hash.ts';
import { LruCache } from '../../crypto/lru.ts';
import { vrf } from '../../crypto/vrf.ts';
import { addressFromPublicKey } from '../address.ts';
import { OK, type Receipt, type ReceiptFailureCode } from '../receipt.ts';
import type { Account, LedgerState } from '../state.ts';
import type { EncodedTransaction } from '../tx.ts';
import { peerIdFromEd25519, type ValidatorInfo, ValidatorSet } from '../validators.ts';
import { epochOf, epochStart, isEpochEnd, MAX_REGISTERED_VALIDATORS, type StakingConfig } from './config.ts';
import { churnLimited, selectValidators } from './power.ts';
import {
  BURNED_KEY,
  decodeAddressList,
  decodeAmount,
  decodeValidatorList,
  decodeValidatorRecord,
  encodeAddressList,
  encodeAmount,
  encodeValidatorList,
  encodeValidatorRecord,
  epochSetKey,
  REGISTRY_KEY,
  slashedKey,
  unbondingDueKey,
  type ValidatorRecord,
  validatorKey,
} from './records.ts';

/**
 * What evidence proves, as judged by the engine's own rules (consensus/evidence.ts): which
 * validator misbehaved, in which epoch, and an id of the infraction (one slot of one validator),
 * so that one infraction is slashed once however many pairs of its messages are reported.
 */
export type EvidenceVerdict =
  | {
      readonly ok: true;
      readonly address: Uint8Array;
      readonly epoch: number;
      readonly infraction: Uint8Array;
    }
  /** `epoch`: the epoch the evidence names, when it could be read that far. */
  | { readonly ok: false; readonly reason: string; readonly epoch?: number };

/** Checks evidence bytes against the set of the epoch they name (`setOf`, read from state). */
export type EvidenceVerifier = (
  evidence: Uint8Array,
  setOf: (epoch: number) => Promise<ValidatorSet | undefined>,
) => Promise<EvidenceVerdict>;

export interface StakingRules {
  /** The block being executed. */
  readonly height: number;
  /** Genesis `staking`; undefined: the set is fixed at genesis. */
  readonly staking?: StakingConfig;
  /** Required with `staking`: every node must judge evidence alike. */
  readonly verifyEvidence?: EvidenceVerifier;
  /** Evidence executed so far in this block (the per-block bound); set by applyBlock. */
  readonly evidenceSeen?: { count: number };
  /**
   * Present only on a chain without staking whose engine carries out `membership` requests
   * (ledger/membership.ts): `validators`, the addresses of the chain's validators, who alone may
   * ask and be named. Absent: a membership request fails with MEMBERSHIP_UNSUPPORTED.
   */
  readonly membership?: { readonly validators: readonly Uint8Array[] };
}

async function readRecord(state: LedgerState, address: Uint8Array): Promise<ValidatorRecord | undefined> {
  const raw = await state.getEntry(validatorKey(address));
  return raw === undefined ? undefined : decodeValidatorRecord(raw);
}

function writeRecord(state: LedgerState, address: Uint8Array, record: ValidatorRecord): void {
  state.setEntry(validatorKey(address), encodeValidatorRecord(record));
}

async function readList(state: LedgerState, key: Uint8Array): Promise<Uint8Array[]> {
  const raw = await state.getEntry(key);
  return raw === undefined ? [] : decodeAddressList(raw);
}

/** Inserts `address` into the sorted list at `key` (no duplicates). */
async function addToList(state: LedgerState, key: Uint8Array, address: Uint8Array): Promise<void> {
  const list = await readList(state, key);
  if (list.some((a) => equalBytes(a, address))) return;
  list.push(address);
  list.sort(compareBytes);
  state.setEntry(key, encodeAddressList(list));
}

export async function registeredValidators(state: LedgerState): Promise<Uint8Array[]> {
  return readList(state, REGISTRY_KEY);
}

export async function validatorRecord(
  state: LedgerState,
  address: Uint8Array,
): Promise<ValidatorRecord | undefined> {
  return readRecord(state, address);
}

export async function burnedStake(state: LedgerState): Promise<bigint> {
  const raw = await state.getEntry(BURNED_KEY);
  return raw === undefined ? 0n : decodeAmount(raw);
}

/** Sets are rebuilt from the same bytes on every block: build each once. */
const sets = new LruCache<ValidatorSet>(64);

/** The validator set stored for `epoch`, or undefined if none is (not yet computed, or pruned). */
export async function storedSet(state: LedgerState, epoch: number): Promise<ValidatorSet | undefined> {
  const raw = await state.getEntry(epochSetKey(epoch));
  if (raw === undefined) return undefined;
  return sets.getOrMake(toHex(sha256(raw)), () => new ValidatorSet(decodeValidatorList(raw)));
}

/**
 * The set in force at block `height`, read from the state of any block of the epoch before it or
 * later (the set is stored at the end of the previous epoch and kept while evidence can name it).
 */
export async function validatorSetAt(
  state: LedgerState,
  height: number,
  staking: StakingConfig,
): Promise<ValidatorSet | undefined> {
  return storedSet(state, epochOf(height, staking.epochLength));
}

/** Genesis: the genesis validators become candidates with stake power × powerUnit, and epoch 0's set. */
export async function writeGenesisStaking(
  state: LedgerState,
  validators: readonly ValidatorInfo[],
  staking: StakingConfig,
): Promise<void> {
  const addresses: Uint8Array[] = [];
  for (const v of validators) {
    const address = addressFromPublicKey(v.publicKey);
    addresses.push(address);
    const account = await state.getAccount(address);
    await state.setAccount(address, {
      ...account,
      stake: account.stake + BigInt(v.power) * staking.powerUnit,
    });
    writeRecord(state, address, {
      name: v.name,
      publicKey: v.publicKey,
      blsPublicKey: v.blsPublicKey,
      blsPop: v.blsPop,
      vrfPublicKey: v.vrfPublicKey ?? new Uint8Array(0),
      status: 'active',
      jailedUntil: 0,
      unbonding: [],
    });
  }
  state.setEntry(REGISTRY_KEY, encodeAddressList(addresses.sort(compareBytes)));
  state.setEntry(epochSetKey(0), encodeValidatorList(validators));
}

/** A staking operation of `etx` (staking on). `bumped`: the sender's account with its nonce used. */
export async function stakingOperation(
  state: LedgerState,
  etx: EncodedTransaction,
  bumped: Account,
  rules: StakingRules,
): Promise<Receipt> {
  const staking = rules.staking;
  invariant(staking !== undefined, 'stakingOperation without staking rules');
  const from = etx.from;
  const failed = (code: ReceiptFailureCode) => state.consume(from, bumped, code);
  const op = etx.tx.op;
  switch (op.type) {
    case 'register-validator': {
      const permitted = staking.mode === 'open' || staking.allow.some((a) => equalBytes(a, from));
      if (!permitted) return failed('NOT_PERMITTED');
      if ((await readRecord(state, from)) !== undefined) return failed('ALREADY_REGISTERED');
      if (!bls.popVerify(op.blsPublicKey, op.blsPop)) return failed('INVALID_VALIDATOR_KEY');
      if (
        op.vrfPublicKey.length > 0 &&
        (!vrf.isValidPublicKey(op.vrfPublicKey) || equalBytes(op.vrfPublicKey, etx.tx.sender))
      )
        return failed('INVALID_VALIDATOR_KEY');
      const registry = await registeredValidators(state);
      if (registry.length >= MAX_REGISTERED_VALIDATORS) return failed('REGISTRY_FULL');
      // Two validators with one BLS key would count one aggregate signature twice.
      for (const other of registry) {
        const r = await readRecord(state, other);
        if (
          r !== undefined &&
          (equalBytes(r.blsPublicKey, op.blsPublicKey) ||
            (op.vrfPublicKey.length > 0 && equalBytes(r.vrfPublicKey, op.vrfPublicKey)))
        )
          return failed('DUPLICATE_VALIDATOR_KEY');
      }
      await state.setAccount(from, bumped);
      writeRecord(state, from, {
        name: op.name,
        publicKey: etx.tx.sender,
        blsPublicKey: op.blsPublicKey,
        blsPop: op.blsPop,
        vrfPublicKey: op.vrfPublicKey,
        status: 'active',
        jailedUntil: 0,
        unbonding: [],
      });
      await addToList(state, REGISTRY_KEY, from);
      return OK;
    }
    case 'stake': {
      const record = await readRecord(state, from);
      if (record === undefined) return failed('NOT_A_VALIDATOR');
      if (record.status === 'tombstoned') return failed('VALIDATOR_TOMBSTONED');
      if (bumped.balance < op.amount) return failed('INSUFFICIENT_FUNDS');
      await state.setAccount(from, {
        ...bumped,
        balance: bumped.balance - op.amount,
        stake: bumped.stake + op.amount,
      });
      return OK;
    }
    case 'unstake': {
      const record = await readRecord(state, from);
      if (record === undefined) return failed('NOT_A_VALIDATOR');
      if (bumped.stake < op.amount) return failed('INSUFFICIENT_STAKE');
      if (record.unbonding.length >= staking.maxUnbondingEntries) return failed('TOO_MANY_UNBONDINGS');
      const completesAt = rules.height + staking.unbondingPeriod;
      await state.setAccount(from, { ...bumped, stake: bumped.stake - op.amount });
      writeRecord(state, from, {
        ...record,
        unbonding: [...record.unbonding, { createdAt: rules.height, completesAt, amount: op.amount }],
      });
      await addToList(state, unbondingDueKey(completesAt), from);
      return OK;
    }
    case 'unjail': {
      const record = await readRecord(state, from);
      if (record === undefined) return failed('NOT_A_VALIDATOR');
      if (record.status === 'tombstoned') return failed('VALIDATOR_TOMBSTONED');
      if (record.status === 'active') return failed('NOT_JAILED');
      if (record.jailedUntil > rules.height) return failed('STILL_JAILED');
      await state.setAccount(from, bumped);
      writeRecord(state, from, { ...record, status: 'active' });
      return OK;
    }
    case 'evidence':
      return executeEvidence(state, op.evidence, from, bumped, staking, rules);
    default:
      invariant(false, `not a staking operation: ${op.type}`);
  }
}

async function executeEvidence(
  state: LedgerState,
  evidence: Uint8Array,
  from: Uint8Array,
  bumped: Account,
  staking: StakingConfig,
  rules: StakingRules,
): Promise<Receipt> {
  const failed = (code: ReceiptFailureCode) => state.consume(from, bumped, code);
  invariant(rules.verifyEvidence !== undefined, 'staking rules without an evidence verifier');
  const seen = rules.evidenceSeen ?? { count: 0 };
  if (seen.count >= staking.maxEvidencePerBlock) return failed('EVIDENCE_LIMIT');
  seen.count++;
  const verdict = await rules.verifyEvidence(evidence, (epoch) => storedSet(state, epoch));
  // Stake that backed epoch e may have started unbonding at its first block; it is paid out
  // unbondingPeriod blocks later, and evidence older than that could no longer reach it. (The
  // set of such an epoch may be pruned already, so this is judged before validity.)
  const tooOld = (epoch: number) =>
    rules.height - epochStart(epoch, staking.epochLength) >= staking.unbondingPeriod;
  if (verdict.epoch !== undefined && tooOld(verdict.epoch)) return failed('EVIDENCE_TOO_OLD');
  if (!verdict.ok) return failed('EVIDENCE_INVALID');
  const { address, epoch } = verdict;
  if (epoch > epochOf(rules.height, staking.epochLength)) return failed('EVIDENCE_INVALID');
  const record = await readRecord(state, address);
  const set = await storedSet(state, epoch);
  const member = set?.byAddress(address);
  if (record === undefined || member === undefined) return failed('EVIDENCE_INVALID');
  if (record.status === 'tombstoned') return failed('VALIDATOR_TOMBSTONED');
  const infraction = slashedKey(sha256(utf8(`${toHex(address)}/${toHex(verdict.infraction)}`)));
  if ((await state.getEntry(infraction)) !== undefined) return failed('EVIDENCE_DUPLICATE');

  await state.setAccount(from, bumped); // first: the reporter may be the offender
  const permille = BigInt(staking.doubleSign.slashPermille);
  let remaining = (BigInt(member.power) * staking.powerUnit * permille) / 1000n;
  let burned = 0n;
  // Stake that backed the epoch's power: unbondings begun after its set was computed (at the end
  // of block e·L), then what is still bonded. Stake bonded later never backed it and is not touched.
  const backedFrom = epoch * staking.epochLength;
  const unbonding = record.unbonding.map((u) => {
    if (u.createdAt <= backedFrom || remaining === 0n) return u;
    const cut = min(min((u.amount * permille) / 1000n, remaining), u.amount);
    remaining -= cut;
    burned += cut;
    return { ...u, amount: u.amount - cut };
  });
  const account = await state.getAccount(address);
  const fromBonded = min(remaining, account.stake);
  burned += fromBonded;
  await state.setAccount(address, { ...account, stake: account.stake - fromBonded });
  writeRecord(state, address, {
    ...record,
    unbonding: unbonding.filter((u) => u.amount > 0n),
    ...(staking.doubleSign.penalty === 'tombstone'
      ? { status: 'tombstoned' as const }
      : { status: 'jailed' as const, jailedUntil: rules.height + staking.doubleSign.jailBlocks }),
  });
  state.setEntry(BURNED_KEY, encodeAmount((await burnedStake(state)) + burned));
  state.setEntry(infraction, encodeAmount(BigInt(rules.height)));
  return OK;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/** The end of block `rules.height`: pay out matured unbondings; at an epoch's end, the next set. */
export async function endBlock(state: LedgerState, rules: StakingRules): Promise<void> {
  const staking = rules.staking;
  invariant(staking !== undefined, 'endBlock without staking rules');
  const h = rules.height;
  const dueKey = unbondingDueKey(h);
  for (const address of await readList(state, dueKey)) {
    const record = await readRecord(state, address);
    if (record === undefined) continue;
    const matured = record.unbonding.filter((u) => u.completesAt <= h);
    if (matured.length === 0) continue;
    const paid = matured.reduce((sum, u) => sum + u.amount, 0n);
    const account = await state.getAccount(address);
    await state.setAccount(address, { ...account, balance: account.balance + paid });
    writeRecord(state, address, { ...record, unbonding: record.unbonding.filter((u) => u.completesAt > h) });
  }
  state.setEntry(dueKey, undefined);
  if (!isEpochEnd(h, staking.epochLength)) return;

  const next = h / staking.epochLength;
  const candidates = [];
  const records = new Map<string, ValidatorRecord>();
  for (const address of await registeredValidators(state)) {
    const record = await readRecord(state, address);
    invariant(record !== undefined, 'a registered validator has no record');
    records.set(toHex(address), record);
    const account = await state.getAccount(address);
    candidates.push({ address, stake: account.stake, active: record.status === 'active' });
  }
  const target = selectValidators(candidates, staking.powerUnit, staking.maxValidators);
  let chosen = target;
  if (staking.churnLimit > 0) {
    const previous = await state.getEntry(epochSetKey(next - 1));
    invariant(previous !== undefined, `no validator set stored for epoch ${next - 1}`);
    const current = decodeValidatorList(previous).map((v) => ({
      address: addressFromPublicKey(v.publicKey),
      power: v.power,
    }));
    // Penalties do not queue: a seat whose holder is no longer active is given up at once.
    const forced = new Set(
      current.map((w) => toHex(w.address)).filter((a) => records.get(a)?.status !== 'active'),
    );
    chosen = churnLimited(current, target, staking.churnLimit, staking.maxValidators, forced);
  }
  if (chosen.length > 0) {
    const infos: ValidatorInfo[] = chosen.map(({ address, power }) => {
      const r = records.get(toHex(address)) as ValidatorRecord;
      return {
        name: r.name,
        publicKey: r.publicKey,
        blsPublicKey: r.blsPublicKey,
        blsPop: r.blsPop,
        peerId: peerIdFromEd25519(r.publicKey),
        power,
        ...(r.vrfPublicKey.length === 0 ? {} : { vrfPublicKey: r.vrfPublicKey }),
      };
    });
    state.setEntry(epochSetKey(next), encodeValidatorList(infos));
  } else {
    // Nobody left with stake: a chain without validators could never make another block, so the
    // last set carries on (its stake is unbonding or slashed, which the operators will see).
    const previous = await state.getEntry(epochSetKey(next - 1));
    invariant(previous !== undefined, `no validator set stored for epoch ${next - 1}`);
    state.setEntry(epochSetKey(next), previous);
  }
  // Sets that evidence can no longer name (older than the unbonding period) leave the state.
  for (let e = Math.floor((h - staking.unbondingPeriod) / staking.epochLength); e >= 0; e--) {
    if ((await state.getEntry(epochSetKey(e))) === undefined) break;
    state.setEntry(epochSetKey(e), undefined);
  }
}
