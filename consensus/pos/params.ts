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
  /**
   * Epochs a link may span before the inactivity leak lowers its threshold (leak.ts); 0 turns
   * the leak off (finality then waits for 2/3 of the stake however long it is offline).
   */
  readonly leakAfter: number;
}

export const POS_DEFAULTS = { slotMs: 2000, slotsPerEpoch: 8, leakAfter: 4 };

export function parsePosParams(params: EngineParams): PosParams {
  const n = numberParams(
    'pos',
    params,
    { ...POS_DEFAULTS },
    { slotMs: [50, 600_000], slotsPerEpoch: [2, 64], leakAfter: [0, 1024] },
  );
  for (const [k, v] of Object.entries(n))
    if (!Number.isInteger(v))
      throw new EngineParamsError('ENGINE_PARAMS', `pos: parameter "${k}" must be an integer`);
  return n;
}
