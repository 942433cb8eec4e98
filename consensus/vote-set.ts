/**
 * Votes for one (height, round, kind), weighted by voting power.
 *
 * A validator that votes for two different values is equivocating: the second vote is reported
 * (with the first) as evidence — and still counted, for its own value. Counting an equivocator
 * on both sides is safe: two quorums (> 2/3 of power each) for different values intersect in more
 * than 1/3 of the power, which includes an honest validator, and an honest validator never votes
 * twice. Not counting it would be worse: different nodes would see different "first" votes from
 * the equivocator, and a quorum one node observed could never be reconstructed by another from
 * relayed votes (CometBFT solves the same problem with its peer "maj23" claims).
 * `totalPower` counts each validator once, whatever it voted.
 */
import type { ValidatorSet } from '../ledger/validators.ts';

/** The nil vote's value (no block). */
export const NIL = 'nil' as const;
export type Nil = typeof NIL;

/** Distinct values kept per validator: bounds memory against a vote-spamming equivocator. */
const MAX_VALUES_PER_VALIDATOR = 8;

export interface AddResult<V, T extends string = string> {
  /** The vote was new and counted. */
  readonly added: boolean;
  /** The `verify` hook refused it (a bad signature): not counted. */
  readonly invalid?: boolean;
  /** The validator had already voted for a different value: that earlier vote. */
  readonly conflict?: { readonly value: T; readonly vote: V };
}

/** `V` is what a vote carries (a signature), `T` what it votes for (a block id, nil, a digest). */
export class VoteSet<V, T extends string = string> {
  readonly #validators: ValidatorSet;
  readonly #maxValues: number;
  /** validator → (value → vote), in arrival order. */
  readonly #byValidator = new Map<number, Map<T, V>>();
  readonly #power = new Map<T, number>();
  #total = 0;

  /** `maxValuesPerValidator`: distinct values counted per validator (default 8). */
  constructor(validators: ValidatorSet, maxValuesPerValidator = MAX_VALUES_PER_VALIDATOR) {
    this.#validators = validators;
    this.#maxValues = maxValuesPerValidator;
  }

  /**
   * Counts `vote` of `validator` for `value`. A duplicate, or a value past the per-validator cap,
   * is not counted — and not verified: `verify` (a signature check, say) runs only for a vote
   * that would count, so a flood of copies costs nothing. A vote weighs its validator's power,
   * unless `verify` returns a number: the weight the check established (Algorand's sortition
   * gives each committee vote its count of selected sub-users; 0 is a vote that does not count).
   */
  add(validator: number, value: T, vote: V, verify?: () => boolean | number): AddResult<V, T> {
    let power = this.#validators.at(validator)?.power ?? 0;
    if (power === 0) return { added: false };
    const existing = this.#byValidator.get(validator);
    if (existing?.has(value)) return { added: false };
    let conflict: { value: T; vote: V } | undefined;
    if (existing !== undefined) {
      const [firstValue, firstVote] = existing.entries().next().value as [T, V];
      conflict = { value: firstValue, vote: firstVote };
      if (existing.size >= this.#maxValues) return { added: false, conflict };
    }
    if (verify !== undefined) {
      const checked = verify();
      if (checked === false) return { added: false, invalid: true };
      if (typeof checked === 'number') {
        if (!Number.isSafeInteger(checked) || checked <= 0) return { added: false, invalid: true };
        power = checked;
      }
    }
    let mine = existing;
    if (mine === undefined) {
      this.#byValidator.set(validator, (mine = new Map()));
      this.#total += power;
    }
    mine.set(value, vote);
    this.#power.set(value, (this.#power.get(value) ?? 0) + power);
    return conflict === undefined ? { added: true } : { added: true, conflict };
  }

  has(validator: number): boolean {
    return this.#byValidator.has(validator);
  }

  /** Total power (or weight) of the validators that voted (each once, at its first vote's weight). */
  get totalPower(): number {
    return this.#total;
  }

  powerFor(value: T): number {
    return this.#power.get(value) ?? 0;
  }

  /** Validators that voted for `value` (threshold signatures count shares, not power). */
  countFor(value: T): number {
    let n = 0;
    for (const values of this.#byValidator.values()) if (values.has(value)) n++;
    return n;
  }

  /** A value holding at least `threshold` power (unique for > 2/3 while ≤ 1/3 is Byzantine). */
  valueWith(threshold: number): T | undefined {
    for (const [value, power] of this.#power) if (power >= threshold) return value;
    return undefined;
  }

  /** Votes for `value`, by ascending validator index (canonical certificate order). */
  votesFor(value: T): Array<{ validator: number; vote: V }> {
    const out: Array<{ validator: number; vote: V }> = [];
    for (const [validator, values] of this.#byValidator) {
      const vote = values.get(value);
      if (vote !== undefined) out.push({ validator, vote });
    }
    return out.sort((a, b) => a.validator - b.validator);
  }

  /** Every counted vote, by ascending validator index. */
  all(): Array<{ validator: number; value: T; vote: V }> {
    const out: Array<{ validator: number; value: T; vote: V }> = [];
    for (const [validator, values] of this.#byValidator)
      for (const [value, vote] of values) out.push({ validator, value, vote });
    return out.sort((a, b) => a.validator - b.validator);
  }
}
