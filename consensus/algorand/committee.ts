/**
 * Committee thresholds of BA* (Gilad et al. SOSP 2017, §7 and Algorithm 5 CountVotes): a step's
 * value wins once the selected sub-users voting for it exceed T·τ, where τ is the step's expected
 * committee size and T the fraction (the paper's defaults: τ_step = 2,000 with T_step = 0.685;
 * τ_final = 10,000 with T_final = 0.74). T is kept as a ratio of integers and the comparison is
 * exact, so every node agrees on whether a count passed. The tally itself is the kit's VoteSet
 * (consensus/vote-set.ts), each vote weighted by its sortition count j (its `verify` hook returns
 * j), so duplicates are ignored and an equivocator is reported as in every other engine.
 */
import { SortitionError } from './sortition.ts';

export interface CommitteeThreshold {
  /** T as numerator / denominator, 1/2 < T < 1 (a smaller T could let two values pass). */
  readonly numerator: number;
  readonly denominator: number;
  /** τ: the expected committee size of the step. */
  readonly expectedSize: number;
}

/** The paper's parameters (Table 1 / §10). */
export const PAPER_STEP: CommitteeThreshold = { numerator: 685, denominator: 1000, expectedSize: 2000 };
export const PAPER_FINAL: CommitteeThreshold = { numerator: 74, denominator: 100, expectedSize: 10_000 };

/** The smallest vote count that exceeds T·τ: floor(T·τ) + 1, computed exactly. */
export function votesToPass(t: CommitteeThreshold): number {
  const { numerator: n, denominator: d, expectedSize: tau } = t;
  for (const [v, name] of [
    [n, 'numerator'],
    [d, 'denominator'],
    [tau, 'expectedSize'],
  ] as const)
    if (!Number.isSafeInteger(v) || v < 1)
      throw new SortitionError('SORTITION_INVALID_ARGUMENT', `${name} must be a positive integer`, {
        field: name,
      });
  if (2 * n <= d || n >= d)
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', 'T must lie strictly between 1/2 and 1', {
      field: 'numerator',
    });
  return Number((BigInt(n) * BigInt(tau)) / BigInt(d)) + 1;
}

/** Whether `votes` selected sub-users exceed T·τ (exactly: votes·den > num·τ). */
export function passes(votes: number, t: CommitteeThreshold): boolean {
  return votes >= votesToPass(t);
}
