/**
 * The inactivity leak — this engine's equivalent of Ethereum's: when so much stake is offline that
 * no checkpoint gets more than 2/3 of it, finality resumes anyway, with the stake that is still
 * voting, once the stall has lasted long enough.
 *
 * Ethereum drains the balances of validators that do not attest while finality is stalled, until
 * those who do hold 2/3 of what remains. That needs per-branch balances — state that every fork
 * computes for itself — which this engine does not keep: stake here is the ledger's, and the
 * ledger only moves on finality. So the leak is carried by the link instead of by balances:
 *
 *  - A link source → target spans `target.epoch − source.epoch` epochs. Honest validators vote from
 *    their latest justified checkpoint, so the span of the links they sign is how long their
 *    chain has gone without a justification.
 *  - Up to `leakAfter` epochs, a link needs more than 2/3 of the stake, as Casper says. Beyond, the
 *    threshold falls by 1/24 of the stake per epoch — 16/24, 15/24, … — to a floor of more than
 *    1/2, reached four epochs later.
 *  - A checkpoint justified by a leaked link is finalized by a link to the next epoch that clears
 *    the same threshold; a light client sees both links in the certificate and checks the same.
 *    The next checkpoint needs a full 2/3 again (its link spans one epoch), so while the stake
 *    stays offline, finality comes back once every `leakAfter` + 2 to + 6 epochs, not every epoch.
 *
 * What it costs. Casper's accountable safety says two conflicting finalized checkpoints convict
 * the signers common to two of their links (a double vote or a surround vote, which honest
 * signers refuse): at least q₁ + q₂ − 1 of the stake for thresholds q₁, q₂. With 2/3 each that is
 * 1/3. Under the leak it shrinks — 1/6 against a full link, and only "somebody" (more than 0)
 * between two links at the floor. Because no threshold ever falls to 1/2 or below, two disjoint
 * groups — the two sides of a partition — can never both finalize, and a coalition holding half
 * the stake or less can never finalize on its own. Ethereum's leak gives up even that: a
 * partition that lasts long enough finalizes on both sides.
 */
import type { ValidatorSet } from '../../ledger/validators.ts';

/**
 * A link's span in epochs: target's epoch minus source's. (A source may sit off an epoch start:
 * the instance's start — genesis, or the base block of a staking epoch — is a checkpoint at its
 * own slot.)
 */
export function spanEpochs(sourceSlot: number, targetSlot: number, slotsPerEpoch: number): number {
  return Math.floor(targetSlot / slotsPerEpoch) - Math.floor(sourceSlot / slotsPerEpoch);
}

/** Denominator of the leak's steps: the threshold moves in 24ths of the stake. */
const STEPS = 24;
/** 2/3 and 1/2, in 24ths. */
const FULL = 16;
const FLOOR = 12;

/** The fraction of the stake (numerator over 24) a link must exceed, by its span in epochs. */
export function leakShare(spanEpochs: number, leakAfter: number): number {
  if (leakAfter === 0 || spanEpochs <= leakAfter) return FULL;
  return Math.max(FLOOR, FULL - (spanEpochs - leakAfter));
}

/**
 * The smallest power a link's signers must hold. A span within `leakAfter` (or a leak turned off,
 * `leakAfter` 0) needs the set's quorum — more than 2/3, exactly as every other engine counts it;
 * a longer one, more than share/24 of the total.
 */
export function linkQuorum(validators: ValidatorSet, spanEpochs: number, leakAfter: number): number {
  const share = leakShare(spanEpochs, leakAfter);
  if (share === FULL) return validators.quorumPower;
  return Math.floor((validators.totalPower * share) / STEPS) + 1;
}

/** "more than 14/24 of the stake (a link over 6 epochs: inactivity leak)", for people. */
export function describeQuorum(spanEpochs: number, leakAfter: number): string | undefined {
  const share = leakShare(spanEpochs, leakAfter);
  if (share === FULL) return undefined;
  return `inactivity leak: a link over ${spanEpochs} epochs needs more than ${share}/${STEPS} of the stake`;
}
