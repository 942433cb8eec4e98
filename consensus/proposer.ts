/**
 * Weighted proposer rotation with proposer priorities (the CometBFT algorithm): every increment,
 * each validator's priority grows by its power and the highest-priority validator proposes, then
 * pays the total power back. Over time each validator proposes in proportion to its power, and
 * turns interleave instead of coming in runs. Priorities are kept centred and bounded
 * (rescaled when their spread exceeds 2 × total power) so they stay exact in doubles.
 *
 * The proposer of (height, round) is the one after `height` increments (one per committed block,
 * from genesis) plus `round` more, so it depends only on (height, round).
 */
import type { ValidatorSet } from '../ledger/validators.ts';
import type { LeaderOverride } from './types.ts';

export class ProposerSchedule {
  readonly #validators: ValidatorSet;
  readonly #override: LeaderOverride | undefined;
  /** Priorities at round 0 of `#height`. */
  #base: number[];
  #height = 0;
  /** Small memo of (height, round) lookups at the current height. */
  #roundCache = new Map<number, number>();

  /** `override`: a harness's leader at a rotation position (EngineContext.leaderOverride). */
  constructor(validators: ValidatorSet, override?: LeaderOverride) {
    this.#validators = validators;
    this.#override = override;
    this.#base = validators.validators.map(() => 0);
  }

  proposer(height: number, round: number): number {
    const forced = this.#override?.(height + round);
    if (forced !== undefined && forced >= 0 && forced < this.#validators.size) return forced;
    if (height < this.#height) {
      // Rare (an engine asking about the past): recompute from genesis.
      this.#base = this.#validators.validators.map(() => 0);
      this.#height = 0;
    }
    while (this.#height < height) {
      increment(this.#base, this.#validators);
      this.#height++;
      this.#roundCache.clear();
    }
    const cached = this.#roundCache.get(round);
    if (cached !== undefined) return cached;
    const p = this.#base.slice();
    let chosen = 0;
    for (let r = 0; r <= round; r++) chosen = increment(p, this.#validators);
    if (this.#roundCache.size < 64) this.#roundCache.set(round, chosen);
    return chosen;
  }
}

/** One increment in place; returns the chosen proposer. Ties go to the lower index. */
function increment(p: number[], validators: ValidatorSet): number {
  const total = validators.totalPower;
  // Rescale when the spread grows too wide, then centre on zero.
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (const x of p) {
    if (x > max) max = x;
    if (x < min) min = x;
  }
  const spread = max - min;
  if (spread > 2 * total) {
    const ratio = Math.ceil(spread / (2 * total));
    for (let i = 0; i < p.length; i++) p[i] = Math.trunc((p[i] as number) / ratio);
  }
  let sum = 0;
  for (const x of p) sum += x;
  const avg = Math.trunc(sum / p.length);
  for (let i = 0; i < p.length; i++) p[i] = (p[i] as number) - avg;
  let best = 0;
  for (let i = 0; i < p.length; i++) {
    p[i] = (p[i] as number) + (validators.at(i)?.power ?? 0);
    if ((p[i] as number) > (p[best] as number)) best = i;
  }
  p[best] = (p[best] as number) - total;
  return best;
}
