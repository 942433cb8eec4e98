/**
 * Voting power from stake, the same on every node: integers only, no rounding choices left open.
 *
 *  - power = ⌊bonded stake / powerUnit⌋; a candidate with power 0 is not in the set;
 *  - only active candidates (not jailed, not tombstoned) count;
 *  - the set is the `maxValidators` largest by power, ties broken by address (ascending), and is
 *    kept in that order (CometBFT orders its sets the same way);
 *  - if the powers add up to more than MAX_TOTAL_POWER (sums must stay exact), every power is
 *    halved (⌊p/2⌋) until they fit, dropping candidates that reach 0: halving keeps the ratios
 *    within one unit and never reorders the set.
 */
import { compareBytes } from '../../crypto/bytes.ts';
import { MAX_TOTAL_POWER } from '../validators.ts';

export interface Candidate {
  readonly address: Uint8Array;
  readonly stake: bigint;
  readonly active: boolean;
}

export interface Weighted {
  readonly address: Uint8Array;
  readonly power: number;
}

export function selectValidators(
  candidates: readonly Candidate[],
  powerUnit: bigint,
  maxValidators: number,
): Weighted[] {
  let chosen = candidates
    .filter((c) => c.active && c.stake >= powerUnit)
    .map((c) => ({ address: c.address, power: c.stake / powerUnit }))
    .sort((a, b) => (a.power === b.power ? compareBytes(a.address, b.address) : a.power > b.power ? -1 : 1))
    .slice(0, maxValidators);
  const cap = BigInt(MAX_TOTAL_POWER);
  while (chosen.reduce((sum, c) => sum + c.power, 0n) > cap) {
    chosen = chosen.map((c) => ({ address: c.address, power: c.power / 2n })).filter((c) => c.power > 0n);
  }
  return chosen.map((c) => ({ address: c.address, power: Number(c.power) }));
}
