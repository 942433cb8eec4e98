/**
 * Leader of each view: weighted round-robin by voting power — the proposer-priority schedule of
 * consensus/proposer.ts with one increment per view (with equal powers, plain round-robin). A
 * view's leader depends only on the view number, so every node agrees without communication.
 * The schedule is sequential; lookups are memoised and a second schedule serves views behind the
 * first one's position, so the usual pattern (current view, next view, a proposal's view) is O(1)
 * amortised.
 */
import type { ValidatorSet } from '../../ledger/validators.ts';
import { ProposerSchedule } from '../proposer.ts';
import type { LeaderOverride } from '../types.ts';

const CACHE = 4096;

export class LeaderSchedule {
  readonly #forward: ProposerSchedule;
  readonly #back: ProposerSchedule;
  #forwardAt = 0;
  readonly #cache = new Map<number, number>();

  constructor(validators: ValidatorSet, override?: LeaderOverride) {
    this.#forward = new ProposerSchedule(validators, override);
    this.#back = new ProposerSchedule(validators, override);
  }

  leader(view: number): number {
    const hit = this.#cache.get(view);
    if (hit !== undefined) return hit;
    let l: number;
    if (view >= this.#forwardAt) {
      l = this.#forward.proposer(view, 0);
      this.#forwardAt = view;
    } else {
      l = this.#back.proposer(view, 0);
    }
    if (this.#cache.size >= CACHE) this.#cache.delete(this.#cache.keys().next().value as number);
    this.#cache.set(view, l);
    return l;
  }
}
