/**
 * Phase 1 of one candidate: the promises and refusals of its ballot, counted by power, the
 * highest-ballot report for every slot, the blocks promises carried — and the rule (A) that turns
 * the reports into what the new leader re-proposes.
 *
 * (A) Adoption. For every open slot t — above the candidate's committed head h — take the report
 *     with the highest ballot among all promises (Paxos's rule, slot by slot). Keep the longest run
 *     v(h+1), v(h+2), … in which v(h+1)'s parent is the committed head and each next one's parent is
 *     the one before; drop everything from the first slot with no report, or whose report does not
 *     extend the run. The leader proposes the run, then new blocks on top of it only: its proposals
 *     in a ballot are one hash chain from its head — no holes, and no block whose parent is not
 *     the block proposed (or committed) one height below.
 *
 * Why dropping never loses a chosen block. Two rules of the engine (engine.ts) make it so:
 *  (C) an acceptor accepts a block for slot s in ballot b only on top of the block it accepted for
 *      s − 1 in the same ballot b, or of a block it committed;
 *  (P) an acceptor promises only to a candidate whose committed head is at least the highest slot
 *      whose accepted record the acceptor may have forgotten (records go once their slot commits,
 *      records.ts) or lost from its WAL: the highest height it ever committed — or one below, if
 *      its chain lost that last commit and it still holds that height's record, the committed
 *      block — and any slot whose record its WAL lost.
 * Let w be chosen for slot s in ballot b — accepted in b by validators holding the Phase-2 quorum
 * — and let a candidate of ballot c > b, with committed head h < s, collect promises holding the
 * Phase-1 quorum. Because Q1 + Q2 > total power, some acceptor a is in both. By (P), a never
 * committed anything above h (the case of h + 1 follows), nor forgot or lost a record above h; so
 * by (C) its acceptance of w sits on an unbroken run of acceptances in ballot b starting at or
 * below h + 1: for every slot t in (h, s], a accepted w's ancestor at t, anc_t(w), in ballot b. It
 * did so before promising c (once it promised c it accepts nothing of a lower ballot), and a
 * slot's record only ever moves to higher ballots, so a's promise reports for every t in (h, s] a
 * ballot ≥ b. Hence (i) no slot in (h, s] lacks a report, and (ii) the highest
 * report at each such t is of a ballot between b and c. Paxos's invariant — every block proposed
 * for t in a ballot after b, up to c, is anc_t(w) — then holds by induction on ballots: it holds in
 * b (one chain per ballot), and a leader of a later ballot adopts at t the highest report, which by
 * (ii) and the induction is anc_t(w). Finally anc_(h+1)(w) names the committed head (committed
 * blocks are ancestors of chosen ones, all on one chain by the same induction over the order of
 * events) and each anc_t(w) names anc_(t−1)(w). So the run (A) keeps reaches s and holds w. What
 * (A) drops — from the first gap or break on — was never chosen; a block proposed there replaces
 * nothing that was.
 *
 * If a committed h + 1 — its chain lost that commit, and (P) lets it serve a candidate at h since
 * it holds the record of h + 1, the committed block y — its run in b may start at h + 2, on y by
 * (C). At h + 1 it reports y, perhaps in a ballot below b; but y was chosen, and the argument
 * applied to y at h + 1 shows that the highest report there is y = anc_(h+1)(w). From h + 2 on, a
 * reports ballots ≥ b as above, so the run still reaches s.
 *
 * Reports gathered after the quorum are merged too (until the leader proposes): the highest ballot
 * over a superset of a Phase-1 quorum is still ≥ b at every such t, so the argument holds.
 */
import { equalBytes } from '../../crypto/bytes.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { type BlockId, blockId } from '../block-id.ts';
import { VoteSet } from '../vote-set.ts';
import { type Ballot, compareBallots } from './ballot.ts';
import type { Proposal, Report } from './messages.ts';

/** A report with who made it (to ask that acceptor for the block). */
export interface Reported extends Report {
  readonly from: number;
}

/**
 * Rule (A): the highest-ballot reports of `best`, contiguous from the committed head (`height`,
 * `hash`), each naming the previous one as its parent.
 */
export function adoptChain(
  best: ReadonlyMap<number, Reported>,
  head: { readonly height: number; readonly hash: Uint8Array },
): Reported[] {
  const out: Reported[] = [];
  let parent = head.hash;
  for (let t = head.height + 1; ; t++) {
    const r = best.get(t);
    if (r === undefined || !equalBytes(r.parent, parent)) return out;
    out.push(r);
    parent = r.hash;
  }
}

export class PhaseOne {
  readonly ballot: Ballot;
  readonly #promises: VoteSet<Uint8Array, 'promise'>;
  readonly #refusals: VoteSet<Uint8Array, 'refusal'>;
  /** The highest-ballot report per slot. */
  readonly #best = new Map<number, Reported>();
  readonly #blocks = new Map<BlockId, Proposal>();
  /** Slots whose block was asked for with a second prepare. */
  readonly #asked = new Set<number>();
  /** Reports of one slot and ballot naming different blocks (a broken acceptor): for the log. */
  conflicts = 0;

  constructor(validators: ValidatorSet, ballot: Ballot) {
    this.ballot = ballot;
    this.#promises = new VoteSet(validators, 1);
    this.#refusals = new VoteSet(validators, 1);
  }

  /** Power that promised. */
  get promisedPower(): number {
    return this.#promises.powerFor('promise');
  }

  /** A promise: counted once per acceptor; its reports and blocks merged every time. */
  promise(
    from: number,
    accepted: readonly Report[],
    blocks: readonly Proposal[],
    signature: Uint8Array,
  ): void {
    this.#promises.add(from, 'promise', signature);
    for (const r of accepted) {
      const prior = this.#best.get(r.slot);
      const order = prior === undefined ? 1 : compareBallots(r.ballot, prior.ballot);
      if (order > 0) this.#best.set(r.slot, { ...r, from });
      else if (order === 0 && prior !== undefined && !equalBytes(prior.hash, r.hash)) this.conflicts++;
    }
    for (const p of blocks) this.#blocks.set(blockId(p.hash), p);
  }

  /** A refusal; returns the refusing power so far. */
  refuse(from: number, signature: Uint8Array): number {
    this.#refusals.add(from, 'refusal', signature);
    return this.#refusals.powerFor('refusal');
  }

  /** Rule (A) over what the promises reported so far. */
  adopted(head: { readonly height: number; readonly hash: Uint8Array }): Reported[] {
    return adoptChain(this.#best, head);
  }

  /** The highest-ballot report of `slot`, if any. */
  reportAt(slot: number): Reported | undefined {
    return this.#best.get(slot);
  }

  block(hash: Uint8Array): Proposal | undefined {
    return this.#blocks.get(blockId(hash));
  }

  /** Whether `validator` promised or refused this ballot. */
  answered(validator: number): boolean {
    return this.#promises.has(validator) || this.#refusals.has(validator);
  }

  /** Whether the block of `slot` is still to be asked for (true once, until `askAgain`). */
  ask(slot: number): boolean {
    if (this.#asked.has(slot)) return false;
    this.#asked.add(slot);
    return true;
  }

  /** The blocks asked for may be asked for once more (the request or its answer was lost). */
  askAgain(): void {
    this.#asked.clear();
  }
}
