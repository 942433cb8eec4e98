/**
 * Membership requests: a validator asks, by a signed `membership` transaction, that the engine
 * run with these voters and these learners (validators that follow the log without voting). The
 * ledger only judges and records the request; the engine (Raft: learners and joint consensus)
 * reads the committed record and carries it out. Like a cluster admin's `member add` in etcd: the
 * chain is permissioned, so any validator may ask, and only validators may be named.
 *
 * State (hashed again by the secure trie, so a state proof covers it):
 *
 *   0x09 → RLP([seq, [voter…], [learner…]]): the latest request; seq counts executed requests
 *          from 1, so the engine can tell a new request from one it has carried out.
 *
 * Only a chain without staking whose engine carries out requests (rules.membership) executes
 * them: with staking the set changes by stake (ledger/staking). Every check happens before any
 * write: a failed request consumes the nonce and nothing else.
 */
import { toHex } from '../crypto/bytes.ts';
import { InvariantError, invariant, VerityError } from '../crypto/errors.ts';
import { ADDRESS_LENGTH } from './address.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  DecodeError,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from './codec.ts';
import { OK, type Receipt, type ReceiptFailureCode } from './receipt.ts';
import type { StakingRules } from './staking/lifecycle.ts';
import type { Account, LedgerState } from './state.ts';
import {
  type EncodedTransaction,
  MAX_MEMBERSHIP_LEARNERS,
  MAX_MEMBERSHIP_VOTERS,
  validateOperation,
} from './tx.ts';

/** The latest executed membership request. */
export interface MembershipRequest {
  /** 1 for the first request executed on the chain, then one more for each. */
  readonly seq: number;
  readonly voters: readonly Uint8Array[];
  readonly learners: readonly Uint8Array[];
}

/** The state key of the latest request (0x03–0x08 are staking's: ledger/staking/records.ts). */
export const MEMBERSHIP_KEY = new Uint8Array([0x09]);

/** A list item is at most 1 + 20 bytes, plus list and seq headers. */
const MAX_RECORD_BYTES = (MAX_MEMBERSHIP_VOTERS + MAX_MEMBERSHIP_LEARNERS) * (ADDRESS_LENGTH + 1) + 32;

export function encodeMembershipRequest(r: MembershipRequest): Uint8Array {
  return rlpEncode([r.seq, [...r.voters], [...r.learners]]);
}

function addresses(item: RlpItem | undefined, what: string): Uint8Array[] {
  return asList(item, what).map((a, i) => asBytes(a, `${what}[${i}]`, { length: ADDRESS_LENGTH }));
}

/**
 * Strict: only what `membershipOperation` writes decodes. Anything else in the state is a broken
 * invariant (the state root committed to it), not an input to tolerate.
 */
export function decodeMembershipRequest(bytes: Uint8Array): MembershipRequest {
  try {
    const f = asList(rlpDecodeStrict(bytes, MAX_RECORD_BYTES, 'membership request'), 'membership request', 3);
    const seq = asSafeUint(f[0], 'membership.seq');
    const voters = addresses(f[1], 'membership.voters');
    const learners = addresses(f[2], 'membership.learners');
    if (seq < 1) throw new DecodeError('MALFORMED', 'membership.seq must be at least 1');
    validateOperation({ type: 'membership', voters, learners });
    return { seq, voters, learners };
  } catch (e) {
    if (!(e instanceof VerityError)) throw e;
    throw new InvariantError(`the stored membership request is malformed: ${e.message}`);
  }
}

/** The latest membership request executed in `state`, or undefined if there has been none. */
export async function readMembershipRequest(state: LedgerState): Promise<MembershipRequest | undefined> {
  const raw = await state.getEntry(MEMBERSHIP_KEY);
  return raw === undefined ? undefined : decodeMembershipRequest(raw);
}

/** Executes a `membership` operation of `etx`. `bumped`: the sender's account with its nonce used. */
export async function membershipOperation(
  state: LedgerState,
  etx: EncodedTransaction,
  bumped: Account,
  rules: StakingRules,
): Promise<Receipt> {
  const op = etx.tx.op;
  invariant(op.type === 'membership', () => `not a membership operation: ${op.type}`);
  const failed = (code: ReceiptFailureCode) => state.consume(etx.from, bumped, code);
  const validators = rules.membership?.validators;
  if (validators === undefined || rules.staking !== undefined) return failed('MEMBERSHIP_UNSUPPORTED');
  const known = new Set(validators.map(toHex));
  if (!known.has(toHex(etx.from))) return failed('NOT_A_VALIDATOR');
  if (![...op.voters, ...op.learners].every((a) => known.has(toHex(a)))) return failed('UNKNOWN_MEMBER');
  const seq = ((await readMembershipRequest(state))?.seq ?? 0) + 1;
  await state.setAccount(etx.from, bumped);
  state.setEntry(MEMBERSHIP_KEY, encodeMembershipRequest({ seq, voters: op.voters, learners: op.learners }));
  return OK;
}
