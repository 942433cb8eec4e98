/**
 * Proof-of-Work parameters (genesis `engine.params`): validated, bounded, defaults filled in.
 *
 * The genesis target is also the easiest target the chain ever accepts (its powLimit, as Bitcoin's
 * test networks use their genesis difficulty): the retarget only makes blocks harder than genesis,
 * so a chain that lost hash power slows to the genesis pace, never below it.
 */
import type { EngineParams } from '../../ledger/genesis.ts';
import { EngineParamsError, numberParams } from '../params.ts';
import { decodeCompactChecked, encodeCompact } from './target.ts';

export interface PowParams {
  /** k: a block is committed once k blocks are mined on top of it on the best chain. */
  readonly confirmations: number;
  /** The ideal block interval the retarget steers toward (ASERT's spacing). */
  readonly blockIntervalMs: number;
  /** ASERT's half-life: a chain this far behind schedule mines at half the difficulty. */
  readonly halfLifeMs: number;
  /** Compact target of block 1 (and the easiest target ever accepted). */
  readonly genesisBits: number;
  /** How often a node announces its best tip (peers that missed blocks fetch them). */
  readonly announceMs: number;
}

/**
 * A target whose expected work (2^21 hashes) takes a few seconds for four miners sharing this
 * two-core machine; the retarget tunes it from there.
 */
export const DEFAULT_GENESIS_BITS = 0x1e07ffff;

export const POW_DEFAULTS = {
  confirmations: 6,
  blockIntervalMs: 5000,
  halfLifeMs: 0, // 0: 48 block intervals
  genesisBits: DEFAULT_GENESIS_BITS,
  announceMs: 2000,
};

export function parsePowParams(params: EngineParams): PowParams {
  const n = numberParams(
    'pow',
    params,
    { ...POW_DEFAULTS },
    {
      confirmations: [1, 100],
      blockIntervalMs: [10, 3_600_000],
      halfLifeMs: [0, 365 * 86_400_000],
      genesisBits: [0, 0xffffffff],
      announceMs: [10, 600_000],
    },
  );
  for (const [k, v] of Object.entries(n))
    if (!Number.isInteger(v))
      throw new EngineParamsError('ENGINE_PARAMS', `pow: parameter "${k}" must be an integer`);
  const bits = decodeCompactChecked(n.genesisBits);
  // A canonical, positive target with room to double (the retarget multiplies it).
  if (
    bits.negative ||
    bits.overflow ||
    bits.target === 0n ||
    bits.target >= 1n << 255n ||
    encodeCompact(bits.target) !== n.genesisBits
  )
    throw new EngineParamsError(
      'ENGINE_PARAMS',
      `pow: genesisBits 0x${n.genesisBits.toString(16)} is not a canonical compact target below 2^255`,
    );
  return { ...n, halfLifeMs: n.halfLifeMs === 0 ? 48 * n.blockIntervalMs : n.halfLifeMs };
}
