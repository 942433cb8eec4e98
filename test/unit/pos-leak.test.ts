/**
 * consensus/pos/leak.ts: the inactivity leak — a link spanning more than `leakAfter` epochs needs
 * less than 2/3 of the stake, 1/24 less per epoch, never 1/2 or less. Its thresholds as numbers;
 * the safety claim they rest on (any two thresholds add up to more than the whole stake, so the
 * signers of two supermajority links always share a validator); FFG views that justify and
 * finalize through it, and the certificate a light client checks — each with its negative
 * control (the leak off, a short link, half the stake).
 */
import { describe, expect, it } from 'vitest';
import { bitmapOf } from '../../consensus/hotstuff/qc.ts';
import { FfgView } from '../../consensus/pos/ffg.ts';
import { describeQuorum, leakShare, linkQuorum } from '../../consensus/pos/leak.ts';
import { type Checkpoint, type FfgAggregate, ffgMessage } from '../../consensus/pos/rules.ts';
import { bls } from '../../crypto/bls/index.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { blsValidators } from '../helpers/bls-validators.ts';

const CHAIN = 'pos-leak-test';
const SPE = 4;
const LEAK_AFTER = 4;

const NET = blsValidators('pos-leak', [1, 1, 1, 1, 1]);
/** (`pop` false: a placeholder proof of possession, for sets whose powers alone are under test.) */
const validatorSet = (powers: readonly number[], pop = true): ValidatorSet =>
  blsValidators('pos-leak', powers, { pop }).validators;

/** Powers for which any cut could matter: many validators of uneven stake, from a fixed LCG. */
function powersFrom(seed: number): number[] {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x;
  };
  const n = 1 + (next() % 40);
  return Array.from({ length: n }, () => 1 + (next() % (next() % 3 === 0 ? 1_000_000 : 100)));
}

describe('leak thresholds', () => {
  it('asks exactly the set’s 2/3 quorum up to leakAfter epochs, then 1/24 less per epoch to a floor of more than 1/2', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 50].map((g) => leakShare(g, 4))).toEqual([
      16, 16, 16, 16, 15, 14, 13, 12, 12, 12,
    ]);
    // The leak off: 2/3 at any span.
    expect([1, 5, 1000].map((g) => leakShare(g, 0))).toEqual([16, 16, 16]);
    const five = validatorSet([1, 1, 1, 1, 1]);
    expect(five.quorumPower).toBe(4);
    expect([1, 4, 5, 6, 8, 99].map((g) => linkQuorum(five, g, 4))).toEqual([4, 4, 4, 3, 3, 3]);
    // Four equal validators: the floor is more than 2 of 4, so the leak never lowers their 3.
    const four = validatorSet([1, 1, 1, 1]);
    expect([1, 6, 99].map((g) => linkQuorum(four, g, 4))).toEqual([3, 3, 3]);
    expect(describeQuorum(3, 4)).toBeUndefined();
    expect(describeQuorum(6, 4)).toBe(
      'inactivity leak: a link over 6 epochs needs more than 14/24 of the stake',
    );
  });

  it('never asks 1/2 of the stake or less, nor more than the quorum, for 300 uneven sets and every span', () => {
    let lowered = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const set = validatorSet(powersFrom(seed).slice(0, 5), false);
      for (let span = 1; span <= 12; span++) {
        const q = linkQuorum(set, span, LEAK_AFTER);
        expect(2 * q).toBeGreaterThan(set.totalPower);
        expect(q).toBeLessThanOrEqual(set.quorumPower);
        if (q < set.quorumPower) lowered++;
      }
    }
    expect(lowered).toBeGreaterThan(300); // the leak does lower it, for most sets
  });

  it('any two thresholds add up to more than the stake: two supermajority links always share a signer', () => {
    // The accountable-safety argument needs this and nothing more (leak.ts): conflicting finality
    // needs two links that are a double or surround vote, and their common signers are convicted.
    for (let seed = 1; seed <= 300; seed++) {
      const set = validatorSet(powersFrom(seed).slice(0, 5), false);
      for (let a = 1; a <= 10; a++)
        for (let b = 1; b <= 10; b++) {
          const common = linkQuorum(set, a, LEAK_AFTER) + linkQuorum(set, b, LEAK_AFTER) - set.totalPower;
          expect(common).toBeGreaterThan(0);
          // Without the leak, the common signers hold more than 1/3, as Casper says.
          if (a <= LEAK_AFTER && b <= LEAK_AFTER) expect(3 * common).toBeGreaterThan(set.totalPower);
        }
    }
  });
});

// ── FFG views through a stall ──────────────────────────────────────────────────────────────────

const FIVE = NET.validators;
/** One chain of checkpoints, one per epoch: L[k] at slot 4k. */
const L: Checkpoint[] = Array.from({ length: 20 }, (_, k) => ({
  slot: k * SPE,
  root: sha256(utf8(`L${k}`)),
}));
const onChain = (c: Checkpoint) => L.findIndex((x) => toHex(x.root) === toHex(c.root));
const descends = (a: Checkpoint, b: Checkpoint) => {
  const [i, j] = [onChain(a), onChain(b)];
  return i >= 0 && j >= 0 && i <= j;
};

const sign = (i: number, s: Checkpoint, t: Checkpoint) =>
  bls.sign(NET.secrets[i] as Uint8Array, ffgMessage(CHAIN, s, t));

function aggregate(
  set: ValidatorSet,
  signers: readonly number[],
  s: Checkpoint,
  t: Checkpoint,
): FfgAggregate {
  return {
    source: s,
    target: t,
    signers: bitmapOf(signers, set.size),
    signature: bls.aggregateSignatures(signers.map((i) => sign(i, s, t))),
  };
}

function vote(view: FfgView, signers: readonly number[], s: Checkpoint, t: Checkpoint): void {
  for (const i of signers) expect(view.addVote(i, s, t, sign(i, s, t))).toBe(true);
}

const view = (leakAfter = LEAK_AFTER, set = FIVE) =>
  new FfgView(set, CHAIN, SPE, L[0] as Checkpoint, () => false, leakAfter);
const at = (k: number) => L[k] as Checkpoint;

describe('FfgView under the leak: 3 of 5 validators online', () => {
  it('justifies only once the link spans 6 epochs, finalizes with the next epoch’s link, then stalls again', () => {
    const v = view();
    // Epochs 1…5: the three vote from the start; 3 of 5 is short of 4, and short of the
    // leak's 15/24 at span 5.
    for (let k = 1; k <= 5; k++) {
      vote(v, [0, 1, 2], at(0), at(k));
      v.evaluate(descends);
      expect(v.latestJustified).toEqual(at(0));
    }
    // Epoch 6: a link over 6 epochs needs more than 14/24 of 5 (3).
    vote(v, [0, 1, 2], at(0), at(6));
    v.evaluate(descends);
    expect(v.latestJustified).toEqual(at(6));
    expect(v.finalized).toEqual(at(0));
    // Epoch 7: 6 → 7 clears the threshold that justified 6: 6 is final. 7 itself is not
    // justified — its link spans one epoch and needs 4.
    vote(v, [0, 1, 2], at(6), at(7));
    v.evaluate(descends);
    expect(v.finalized).toEqual(at(6));
    expect(v.latestJustified).toEqual(at(6));
    expect(v.isJustified(at(7))).toBe(false);
    // The stall starts again from 6: the next justification is at 12, its finality at 12.
    for (let k = 8; k <= 11; k++) vote(v, [0, 1, 2], at(6), at(k));
    v.evaluate(descends);
    expect(v.latestJustified).toEqual(at(6));
    vote(v, [0, 1, 2], at(6), at(12));
    vote(v, [0, 1, 2], at(12), at(13));
    v.evaluate(descends);
    expect(v.finalized).toEqual(at(12));
  });

  it('negative controls: the leak off never justifies; 2 of 5 (less than half) never do, however long', () => {
    const off = view(0);
    const two = view();
    for (let k = 1; k <= 19; k++) {
      vote(off, [0, 1, 2], at(0), at(k));
      vote(two, [0, 1], at(0), at(k));
    }
    off.evaluate(descends);
    two.evaluate(descends);
    expect(off.latestJustified).toEqual(at(0));
    expect(two.latestJustified).toEqual(at(0));
  });

  it('the link finalizing C must clear the threshold of the link that justified C: its span decides, not its signers', () => {
    const v = view();
    vote(v, [0, 1, 2, 3], at(0), at(6)); // 4 of 5 over 6 epochs: justified
    vote(v, [0, 1, 2], at(6), at(7)); // 3 of 5 would do after a leaked justification…
    v.evaluate(descends);
    expect(v.latestJustified).toEqual(at(6));
    expect(v.finalized).toEqual(at(6)); // …and this one was: 4 of 5 clear the leaked threshold too
    const w = view();
    vote(w, [0, 1, 2, 3], at(5), at(6)); // unjustified source: nothing
    vote(w, [0, 1, 2, 3], at(0), at(5));
    vote(w, [0, 1, 2], at(6), at(7));
    w.evaluate(descends);
    // 6 was justified by 5 → 6 (one epoch): 6 → 7 needs 4, and has 3.
    expect(w.justifiedBy(at(6))).toBe(
      `${at(5).slot}:${toHex(at(5).root)}>${at(6).slot}:${toHex(at(6).root)}`,
    );
    expect(w.finalized).toEqual(at(5));
    vote(w, [3], at(6), at(7));
    w.evaluate(descends);
    expect(w.finalized).toEqual(at(6));
  });

  it('adoptFinality takes a leaked proof, and refuses the same signers behind a short link', () => {
    const v = view();
    expect(
      v.adoptFinality(aggregate(FIVE, [0, 1, 2], at(0), at(6)), aggregate(FIVE, [1, 2, 3], at(6), at(7))),
    ).toBe('adopted');
    expect(v.finalized).toEqual(at(6));
    const w = view();
    expect(
      w.adoptFinality(aggregate(FIVE, [0, 1, 2], at(3), at(6)), aggregate(FIVE, [1, 2, 3], at(6), at(7))),
    ).toBe('a link without a supermajority');
    expect(w.finalized).toEqual(at(0));
    const off = view(0);
    expect(
      off.adoptFinality(aggregate(FIVE, [0, 1, 2], at(0), at(6)), aggregate(FIVE, [1, 2, 3], at(6), at(7))),
    ).toBe('a link without a supermajority');
  });
});
