/**
 * Proof-of-Stake parameters (genesis `engine.params`): validated, bounded, defaults filled in.
 *
 * Time is slots of `slotMs` counted from the genesis time, grouped in epochs of `slotsPerEpoch`.
 * One proposer per slot; every validator attests once per epoch, in the slot of the epoch its
 * index falls on (index mod slotsPerEpoch), a third into it — after the slot's block has had time
 * to arrive, as Ethereum's attesters wait for it.
 */
import type { EngineParams } from '../../ledger/genesis.ts';
import { EngineParamsError, numberParams } from '../params.ts';

export interface PosParams {
  readonly slotMs: number;
  readonly slotsPerEpoch: number;
}

export const POS_DEFAULTS = { slotMs: 2000, slotsPerEpoch: 8 };

export function parsePosParams(params: EngineParams): PosParams {
  const n = numberParams(
    'pos',
    params,
    { ...POS_DEFAULTS },
    { slotMs: [50, 600_000], slotsPerEpoch: [2, 64] },
  );
  for (const [k, v] of Object.entries(n))
    if (!Number.isInteger(v))
      throw new EngineParamsError('ENGINE_PARAMS', `pos: parameter "${k}" must be an integer`);
  return n;
}
