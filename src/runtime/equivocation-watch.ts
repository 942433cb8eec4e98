/**
 * Catches equivocation in any engine (consensus/evidence.ts): remembers the first validly signed
 * envelope each validator sent for each slot, and when another one for that slot signs different
 * bytes, the pair is evidence. Bounded: slots two heights below the committed head are forgotten
 * (as the guard forgets its own), height-less (view-change) slots beyond the most recent views,
 * and beyond MAX_SLOTS or MAX_BYTES the oldest first. Evidence kept: one per (validator, slot), at
 * most MAX_EVIDENCE (the earliest are kept: they are what a validator is accountable for first).
 */
import { type Equivocation, equivocation, surrounds } from '../../consensus/evidence.ts';
import type { FfgLink, SignSlot } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';
import { VIEW_SLOT_HEIGHT } from './sign-fence.ts';

const MAX_SLOTS = 16_384;
const MAX_BYTES = 64 * 1024 * 1024;
const MAX_EVIDENCE = 1_024;
const VIEW_ROUNDS_KEPT = 64;
/** Casper FFG votes kept per validator to judge surround votes (the most recent targets). */
const FFG_VOTES_KEPT = 64;

interface Seen {
  readonly slot: SignSlot;
  readonly hash: Uint8Array;
  readonly envelope: Uint8Array;
}

export class EquivocationWatch {
  readonly #engine: string;
  readonly #chainId: string;
  /** The epoch whose messages are observed (its domain and set: ledger/staking). */
  #epoch = 0;
  readonly #seen = new Map<string, Seen>();
  #bytes = 0;
  readonly #evidence = new Map<string, Equivocation>();
  /** Each validator's recent FFG votes (an engine whose codec names them: Proof of Stake). */
  readonly #votes = new Map<number, Array<Seen & { link: FfgLink }>>();

  constructor(engine: string, chainId: string) {
    this.#engine = engine;
    this.#chainId = chainId;
  }

  /**
   * A new epoch: its messages are signed in another domain and index another set, so what was
   * seen in the old one conflicts with nothing in it. Evidence already held is kept.
   */
  enterEpoch(epoch: number): void {
    this.#epoch = epoch;
    this.#seen.clear();
    this.#votes.clear();
    this.#bytes = 0;
  }

  /**
   * A validly signed envelope from `validator` for `slot` whose signing bytes hash to `hash`.
   * Returns new evidence if it conflicts with what that validator signed there before.
   */
  observe(
    validator: number,
    slot: SignSlot,
    hash: Uint8Array,
    envelope: Uint8Array,
  ): Equivocation | undefined {
    const key = keyOf(validator, slot);
    const first = this.#seen.get(key);
    if (first === undefined) {
      this.#seen.set(key, { slot, hash, envelope });
      this.#bytes += envelope.length;
      this.#bound();
      return undefined;
    }
    if (toHex(first.hash) === toHex(hash) || this.#evidence.has(`${this.#epoch}/${key}`)) return undefined;
    const base = {
      engine: this.#engine,
      chainId: this.#chainId,
      ...(this.#epoch === 0 ? {} : { epoch: this.#epoch }),
      validator,
      slot,
    };
    const e = equivocation(base, first, {
      envelope,
      hash,
    });
    return this.add(e) ? e : undefined;
  }

  /**
   * A validly signed FFG vote (codec.ffgLink): new evidence if it surrounds, or is surrounded by,
   * a vote of the same validator seen before — the slot named is the surrounding vote's.
   * (Two votes for one target share a slot: `observe` catches those.)
   */
  observeVote(
    validator: number,
    link: FfgLink,
    slot: SignSlot,
    hash: Uint8Array,
    envelope: Uint8Array,
  ): Equivocation | undefined {
    let votes = this.#votes.get(validator);
    if (votes === undefined) this.#votes.set(validator, (votes = []));
    if (votes.some((v) => v.link.source === link.source && v.link.target === link.target)) return undefined;
    const vote = { slot, hash, envelope, link };
    let found: Equivocation | undefined;
    for (const prior of votes) {
      const [outer, inner] = surrounds(link, prior.link)
        ? [vote, prior]
        : surrounds(prior.link, link)
          ? [prior, vote]
          : [];
      if (outer === undefined || inner === undefined) continue;
      const e = equivocation(
        {
          engine: this.#engine,
          chainId: this.#chainId,
          ...(this.#epoch === 0 ? {} : { epoch: this.#epoch }),
          validator,
          slot: outer.slot,
        },
        outer,
        inner,
      );
      if (this.add(e)) found = e;
      break;
    }
    votes.push(vote);
    if (votes.length > FFG_VOTES_KEPT) votes.shift();
    return found;
  }

  /** Keeps verified evidence (caught here or received); false if it is already known or full. */
  add(e: Equivocation): boolean {
    const key = `${e.epoch ?? 0}/${keyOf(e.validator, e.slot)}`;
    if (this.#evidence.has(key) || this.#evidence.size >= MAX_EVIDENCE) return false;
    this.#evidence.set(key, e);
    return true;
  }

  evidence(): Equivocation[] {
    return [...this.#evidence.values()];
  }

  /** Forgets slots no honest validator signs again once `height` is committed. */
  prune(height: number): void {
    const views: number[] = [];
    for (const s of this.#seen.values()) if (s.slot.height >= VIEW_SLOT_HEIGHT) views.push(s.slot.round);
    views.sort((a, b) => b - a);
    const minView = views.length > VIEW_ROUNDS_KEPT ? (views[VIEW_ROUNDS_KEPT - 1] as number) : 0;
    for (const [key, s] of this.#seen) {
      const old = s.slot.height >= VIEW_SLOT_HEIGHT ? s.slot.round < minView : s.slot.height < height - 2;
      if (old) this.#forget(key, s);
    }
  }

  #bound(): void {
    for (const [key, s] of this.#seen) {
      if (this.#seen.size <= MAX_SLOTS && this.#bytes <= MAX_BYTES) return;
      this.#forget(key, s);
    }
  }

  #forget(key: string, s: Seen): void {
    this.#seen.delete(key);
    this.#bytes -= s.envelope.length;
  }
}

function keyOf(validator: number, slot: SignSlot): string {
  return `${validator}/${slot.height}/${slot.round}/${slot.step}`;
}
