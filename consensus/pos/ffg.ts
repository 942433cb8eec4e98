/**
 * Casper FFG over one node's view (Buterin & Griffith 2017; Gasper §4): the votes it has seen —
 * each validator's BLS signature on a link source → target, or aggregates of them carried by
 * blocks and certificates — and what they justify and finalize.
 *
 *  - The chain's start (genesis, or the committed block the engine started on) is justified.
 *  - A checkpoint is justified when validators holding more than 2/3 of the stake voted a link to
 *    it from a justified checkpoint it descends from — or, for a link spanning more than
 *    `leakAfter` epochs, less, down to more than 1/2 (the inactivity leak: leak.ts).
 *  - A justified checkpoint C is finalized when such a link goes from C to the checkpoint of the
 *    very next epoch (Gasper's 1-finality: what the common case gives, two epochs after C), its
 *    signers clearing the threshold of the link that justified C.
 *
 * Votes are checked (the signature, under the epoch's domain and the voter's key) before they are
 * counted; an aggregate is checked once, with one pairing (fast aggregate verify). Safety does
 * not rest on this view: two conflicting finalized checkpoints need more than 1/3 of the stake to
 * sign two votes that break a slashing rule (same target, or one surrounding the other), which
 * honest validators' signers refuse (src/runtime/signing-guard.ts) — that is accountable safety.
 */
import { bls } from '../../crypto/bls/index.ts';
import { concatBytes, toHex, u32be, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { LruCache } from '../../crypto/lru.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { bitmapIndices, bitmapOf } from '../hotstuff/qc.ts';
import { linkQuorum, spanEpochs } from './leak.ts';
import { type Checkpoint, checkpointId, type FfgAggregate, ffgMessage, linkId } from './rules.ts';

interface Link {
  readonly source: Checkpoint;
  readonly target: Checkpoint;
  /** Individual signatures, by validator. */
  readonly votes: Map<number, Uint8Array>;
  /** The aggregate with the most signers seen for this link (a block's or a certificate's). */
  best: { signers: number[]; signature: Uint8Array } | undefined;
}

const verified = new LruCache<boolean>(50_000);
/** Votes of one validator for one target that a view counts (an honest one casts one). */
const MAX_VOTES_PER_TARGET = 4;

/** One BLS check of an FFG signature (single or aggregate), memoised by its inputs. */
export function verifyFfg(
  validators: ValidatorSet,
  domain: string,
  source: Checkpoint,
  target: Checkpoint,
  signers: readonly number[],
  signature: Uint8Array,
): boolean {
  if (signers.length === 0) return false;
  const message = ffgMessage(domain, source, target);
  const keys = signers.map((i) => validators.at(i)?.blsPublicKey);
  if (keys.some((k) => k === undefined)) return false;
  const id = toHex(
    // (Indices as u32 — a byte each would fold validator 256 onto 0 — and every part fixed or
    // length-prefixed, so no two inputs share a key.)
    sha256(
      concatBytes(
        u32be(utf8(domain).length),
        utf8(domain),
        validators.hash,
        u32be(message.length),
        message,
        u32be(signers.length),
        ...signers.map(u32be),
        signature,
      ),
    ),
  );
  return verified.getOrMake(id, () => {
    try {
      return bls.fastAggregateVerify(keys as Uint8Array[], message, signature);
    } catch {
      return false;
    }
  });
}

/** An aggregate's signers, if its bitmap is canonical for the set and names somebody. */
export function aggregateSigners(a: FfgAggregate, validators: ValidatorSet): number[] | undefined {
  const s = bitmapIndices(a.signers, validators.size);
  return s === undefined || s.length === 0 ? undefined : s;
}

export class FfgView {
  readonly #validators: ValidatorSet;
  readonly #domain: string;
  readonly #slotsPerEpoch: number;
  readonly #leakAfter: number;
  readonly #links = new Map<string, Link>();
  /** Votes counted per validator and target slot: `${slot}/${validator}` → how many. */
  readonly #voted = new Map<string, number>();
  /** Justified checkpoints, by id, with the link that justified each (undefined for the start). */
  readonly #justified = new Map<string, { cp: Checkpoint; by: string | undefined }>();
  #latestJustified: Checkpoint;
  #finalized: Checkpoint;
  /** The link that finalized `#finalized` (undefined for the start). */
  #finalizedBy: string | undefined;

  /** Whether a checkpoint is the instance's start (genesis, or the epoch's base block): final for everyone. */
  readonly #isStart: (c: Checkpoint) => boolean;

  constructor(
    validators: ValidatorSet,
    domain: string,
    slotsPerEpoch: number,
    start: Checkpoint,
    isStart: (c: Checkpoint) => boolean = () => false,
    leakAfter = 0,
  ) {
    this.#isStart = isStart;
    this.#leakAfter = leakAfter;
    this.#validators = validators;
    this.#domain = domain;
    this.#slotsPerEpoch = slotsPerEpoch;
    this.#justified.set(checkpointId(start), { cp: start, by: undefined });
    this.#latestJustified = start;
    this.#finalized = start;
  }

  get latestJustified(): Checkpoint {
    return this.#latestJustified;
  }

  get finalized(): Checkpoint {
    return this.#finalized;
  }

  isJustified(c: Checkpoint): boolean {
    return this.#justified.has(checkpointId(c)) || this.#isStart(c);
  }

  #link(source: Checkpoint, target: Checkpoint): Link {
    const id = linkId(source, target);
    let l = this.#links.get(id);
    if (l === undefined) this.#links.set(id, (l = { source, target, votes: new Map(), best: undefined }));
    return l;
  }

  /**
   * A validator's vote, its signature checked by the caller (verifyFfg). A second vote for one
   * target is a double vote (the runtime keeps the evidence); it still counts, as Casper's views
   * count every vote they hold, but only the first few per validator and target: without a bound,
   * one Byzantine validator could grow this view with links of its own making.
   */
  addVote(validator: number, source: Checkpoint, target: Checkpoint, signature: Uint8Array): boolean {
    const key = `${target.slot}/${validator}`;
    const count = this.#voted.get(key) ?? 0;
    if (count >= MAX_VOTES_PER_TARGET) return false;
    const l = this.#link(source, target);
    if (l.votes.has(validator)) return false;
    this.#voted.set(key, count + 1);
    l.votes.set(validator, signature);
    return true;
  }

  /**
   * An aggregate from a block or a certificate: checked, then kept if it adds stake — merged with
   * the one held when their signers are disjoint (the sum of two aggregates of disjoint signers is
   * the aggregate of their union), else whichever holds more stake.
   */
  addAggregate(a: FfgAggregate): 'added' | 'known' | string {
    const signers = aggregateSigners(a, this.#validators);
    if (signers === undefined) return 'a malformed signer bitmap';
    const best = this.#links.get(linkId(a.source, a.target))?.best;
    const held = new Set(best?.signers ?? []);
    const disjoint = best !== undefined && signers.every((v) => !held.has(v));
    const power = (xs: Iterable<number>) => this.#validators.powerOf(xs);
    if (best !== undefined && !disjoint && power(best.signers) >= power(signers)) return 'known';
    if (!verifyFfg(this.#validators, this.#domain, a.source, a.target, signers, a.signature))
      return 'an aggregate signature that does not verify';
    this.#link(a.source, a.target).best =
      best !== undefined && disjoint
        ? {
            signers: [...best.signers, ...signers].sort((x, y) => x - y),
            signature: bls.aggregateSignatures([best.signature, a.signature]),
          }
        : { signers, signature: a.signature };
    return 'added';
  }

  /** The power a link's signers need: more than 2/3, less for a long link (the leak). */
  #quorum(source: Checkpoint, target: Checkpoint): number {
    const span = spanEpochs(source.slot, target.slot, this.#slotsPerEpoch);
    return linkQuorum(this.#validators, span, this.#leakAfter);
  }

  /** What a link finalizing C must clear: the threshold of the link that justified C (full for a start). */
  #finalizeQuorum(c: Checkpoint): number {
    const by = this.justifiedBy(c);
    const l = by === undefined ? undefined : this.#links.get(by);
    return l === undefined ? this.#validators.quorumPower : this.#quorum(l.source, l.target);
  }

  #signers(l: Link): Set<number> {
    const s = new Set<number>(l.best?.signers ?? []);
    for (const v of l.votes.keys()) s.add(v);
    return s;
  }

  /** One aggregate of everything known for a link: the best aggregate plus the votes it lacks. */
  aggregateOf(id: string): FfgAggregate | undefined {
    const l = this.#links.get(id);
    if (l === undefined) return undefined;
    const inBest = new Set(l.best?.signers ?? []);
    const extra = [...l.votes].filter(([v]) => !inBest.has(v));
    const sigs = [...(l.best === undefined ? [] : [l.best.signature]), ...extra.map(([, s]) => s)];
    if (sigs.length === 0) return undefined;
    return {
      source: l.source,
      target: l.target,
      signers: bitmapOf(this.#signers(l), this.#validators.size),
      signature: sigs.length === 1 ? (sigs[0] as Uint8Array) : bls.aggregateSignatures(sigs),
    };
  }

  /** The link that justified a checkpoint, and the one that finalized the latest finalized. */
  justifiedBy(c: Checkpoint): string | undefined {
    return this.#justified.get(checkpointId(c))?.by;
  }

  get finalizedBy(): string | undefined {
    return this.#finalizedBy;
  }

  /**
   * Applies the rules until nothing changes. `descends(a, b)`: whether b's root is a descendant of
   * (or is) a's root — undefined when this node cannot tell yet (it lacks a block). Returns
   * whether the latest justified or finalized checkpoint moved.
   */
  evaluate(descends: (a: Checkpoint, b: Checkpoint) => boolean | undefined): boolean {
    const before = `${checkpointId(this.#latestJustified)}|${checkpointId(this.#finalized)}`;
    for (let changed = true; changed; ) {
      changed = false;
      for (const [id, l] of this.#links) {
        if (this.#justified.has(checkpointId(l.target)) || !this.isJustified(l.source)) continue;
        if (l.target.slot <= this.#finalized.slot) continue;
        if (this.#validators.powerOf(this.#signers(l)) < this.#quorum(l.source, l.target)) continue;
        if (descends(l.source, l.target) !== true) continue;
        this.#justified.set(checkpointId(l.target), { cp: l.target, by: id });
        if (l.target.slot > this.#latestJustified.slot) this.#latestJustified = l.target;
        changed = true;
      }
    }
    for (const [id, l] of this.#links) {
      if (l.target.slot !== l.source.slot + this.#slotsPerEpoch) continue;
      if (descends(l.source, l.target) !== true) continue;
      if (l.source.slot <= this.#finalized.slot) continue;
      // (The link need not justify its target: under the leak, it clears the threshold of the
      // long link that justified its source, while a one-epoch link justifies only with 2/3.)
      if (!this.isJustified(l.source)) continue;
      if (this.#validators.powerOf(this.#signers(l)) < this.#finalizeQuorum(l.source)) continue;
      this.#finalized = l.source;
      this.#finalizedBy = id;
    }
    return before !== `${checkpointId(this.#latestJustified)}|${checkpointId(this.#finalized)}`;
  }

  /**
   * Adopts a finality proof — a link justifying C and one from C to the next epoch's checkpoint,
   * each signed by more than 2/3 of the stake, or by what the leak asks of the first link's span
   * (checked here) — as a light client does, without the chain of justifications below C: a node
   * that missed those votes (partitioned, restarted, synced) catches up from a block or a
   * certificate. Sound while less than 1/3 of the stake is Byzantine (every threshold, the
   * leak's too, exceeds 1/2, so the second link has honest signers): they had C justified in
   * their views.
   */
  adoptFinality(justify: FfgAggregate, finalize: FfgAggregate): 'adopted' | 'known' | string {
    const c = justify.target;
    if (
      checkpointId(finalize.source) !== checkpointId(c) ||
      finalize.target.slot !== c.slot + this.#slotsPerEpoch
    )
      return 'the links do not finalize one checkpoint';
    if (c.slot <= this.#finalized.slot) return 'known';
    const quorum = this.#quorum(justify.source, c);
    for (const a of [justify, finalize]) {
      const r = this.addAggregate(a);
      if (r !== 'added' && r !== 'known') return r;
      const l = this.#links.get(linkId(a.source, a.target)) as Link;
      if (this.#validators.powerOf(this.#signers(l)) < quorum) return 'a link without a supermajority';
    }
    this.#justified.set(checkpointId(c), { cp: c, by: linkId(justify.source, c) });
    // The second link justifies the next checkpoint only if it clears a one-epoch link's 2/3 —
    // as evaluate() counts it, so that views that adopted and views that counted vote from the
    // same source.
    const next = this.#links.get(linkId(c, finalize.target)) as Link;
    if (this.#validators.powerOf(this.#signers(next)) >= this.#quorum(c, finalize.target)) {
      this.#justified.set(checkpointId(finalize.target), {
        cp: finalize.target,
        by: linkId(c, finalize.target),
      });
      if (finalize.target.slot > this.#latestJustified.slot) this.#latestJustified = finalize.target;
    } else if (c.slot > this.#latestJustified.slot) this.#latestJustified = c;
    this.#finalized = c;
    this.#finalizedBy = linkId(c, finalize.target);
    return 'adopted';
  }

  /**
   * A checkpoint this node committed through (its own commit, or block sync's, whose certificate
   * proved it final): justified and finalized from now on, with the votes seen so far kept.
   */
  anchor(c: Checkpoint): void {
    if (c.slot <= this.#finalized.slot) return;
    if (!this.#justified.has(checkpointId(c))) this.#justified.set(checkpointId(c), { cp: c, by: undefined });
    if (c.slot > this.#latestJustified.slot) this.#latestJustified = c;
    this.#finalized = c;
    this.#finalizedBy = undefined;
  }

  /** Justified checkpoints from the latest finalized one up to the latest justified, in order, with their links. */
  justificationChain(): string[] {
    const out: string[] = [];
    let c: Checkpoint | undefined = this.#latestJustified;
    while (c !== undefined && c.slot > this.#finalized.slot) {
      const by = this.justifiedBy(c);
      if (by === undefined) break;
      out.push(by);
      c = this.#links.get(by)?.source;
    }
    return out.reverse();
  }

  /** Forgets links whose target is at or below the finalized checkpoint (they decide nothing now). */
  prune(): void {
    const f = this.#finalized;
    const keep = new Set([this.#finalizedBy, this.justifiedBy(f), this.justifiedBy(this.#latestJustified)]);
    for (const [id, l] of this.#links) if (l.target.slot <= f.slot && !keep.has(id)) this.#links.delete(id);
    for (const key of this.#voted.keys())
      if (Number(key.slice(0, key.indexOf('/'))) <= f.slot) this.#voted.delete(key);
    for (const [id, j] of this.#justified) if (j.cp.slot < f.slot) this.#justified.delete(id);
  }
}
