/**
 * `GET /validators?height=H`: the set in force at block H (default: the next block), and
 * `GET /validator?address=A`: a candidate's staking record. On a chain without staking the set is
 * the genesis set at every height, in epoch 0.
 */
import { toHex } from '../../crypto/bytes.ts';
import { formatAddress } from '../../ledger/address.ts';
import type { ChainStore } from '../../ledger/chain.ts';
import { epochOf } from '../../ledger/staking/config.ts';
import { validatorRecord, validatorSetAt } from '../../ledger/staking/lifecycle.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';

export function setJson(set: ValidatorSet): Record<string, unknown> {
  return {
    validators: set.validators.map((v) => ({
      address: formatAddress(v.address),
      power: v.power,
      name: v.name,
      index: v.index,
      peerId: v.peerId,
    })),
    totalPower: set.totalPower,
    validatorsHash: toHex(set.hash),
  };
}

/** The set at `height` (≤ head + 1: later sets are not computed yet), or undefined. */
export async function validatorsAtHeight(
  chain: ChainStore,
  height: number,
): Promise<{ epoch: number; set: ValidatorSet } | undefined> {
  const staking = chain.genesis.staking;
  if (height > chain.height + 1) return undefined;
  if (staking === undefined) return { epoch: 0, set: chain.genesis.validators };
  // Block H's set was stored by the end of block H − 1 (the end of the epoch before), and stays in
  // state for the unbonding period: the state after H − 1 holds it.
  const state = await chain.stateAt(Math.max(0, height - 1));
  const set = await validatorSetAt(state, height, staking);
  return set === undefined ? undefined : { epoch: epochOf(height, staking.epochLength), set };
}

export async function candidateJson(
  chain: ChainStore,
  address: Uint8Array,
): Promise<Record<string, unknown> | undefined> {
  const state = await chain.stateAt();
  const record = chain.genesis.staking === undefined ? undefined : await validatorRecord(state, address);
  if (record === undefined) return undefined;
  const account = await state.getAccount(address);
  return {
    address: formatAddress(address),
    name: record.name,
    status: record.status,
    ...(record.status === 'jailed' ? { jailedUntil: record.jailedUntil } : {}),
    bonded: account.stake.toString(),
    unbonding: record.unbonding.map((u) => ({
      amount: u.amount.toString(),
      createdAt: u.createdAt,
      completesAt: u.completesAt,
    })),
    blsPublicKey: toHex(record.blsPublicKey),
    vrfPublicKey: record.vrfPublicKey.length === 0 ? null : toHex(record.vrfPublicKey),
    height: chain.height,
  };
}
