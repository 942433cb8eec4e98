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

/**
 * The set of the next epoch under a churn limit (Ethereum's activation and exit queues): from the
 * set in force (`current`) toward the one the stake asks for (`target`, selectValidators), at most
 * `limit` validators join and at most `limit` leave of their own accord per epoch; the others wait
 * in line, joining in the target's order (power, then address) and leaving lowest power first
 * (then address). A validator in `forced` (jailed, tombstoned, no longer registered) leaves at
 * once, outside the limit: a penalty does not queue. Validators in both keep their seat with the
 * power the stake now gives; one waiting to leave keeps the power it had. The set never grows past
 * `maxValidators`, and is halved to fit MAX_TOTAL_POWER as selectValidators' is. Limit 0: none.
 *
 * Why: with the whole set free to change at every epoch boundary, validators holding most of the
 * stake could leave at once — a light client that trusts a set for a while, and the accountability
 * of votes already cast, both assume the set moves slowly.
 */
export function churnLimited(
  current: readonly Weighted[],
  target: readonly Weighted[],
  limit: number,
  maxValidators: number,
  forced: ReadonlySet<string>,
): Weighted[] {
  if (limit <= 0) return [...target];
  const key = (w: Weighted) => Buffer.from(w.address).toString('hex');
  const wanted = new Map(target.map((w) => [key(w), w]));
  const seated = new Set(current.map(key));
  const staying: Weighted[] = [];
  const leaving: Weighted[] = [];
  for (const w of current) {
    if (forced.has(key(w))) continue;
    const t = wanted.get(key(w));
    if (t !== undefined) staying.push(t);
    else leaving.push(w);
  }
  leaving.sort((a, b) => (a.power === b.power ? compareBytes(a.address, b.address) : a.power - b.power));
  const waiting = leaving.slice(limit);
  const room = Math.max(0, maxValidators - staying.length - waiting.length);
  const joining = target.filter((w) => !seated.has(key(w))).slice(0, Math.min(limit, room));
  let next = [...staying, ...waiting, ...joining]
    .map((w) => ({ address: w.address, power: BigInt(w.power) }))
    .sort((a, b) => (a.power === b.power ? compareBytes(a.address, b.address) : a.power > b.power ? -1 : 1));
  const cap = BigInt(MAX_TOTAL_POWER);
  while (next.reduce((sum, c) => sum + c.power, 0n) > cap)
    next = next.map((c) => ({ address: c.address, power: c.power / 2n })).filter((c) => c.power > 0n);
  return next.map((c) => ({ address: c.address, power: Number(c.power) }));
}
