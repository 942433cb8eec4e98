/** Algorand's seeds (consensus/algorand/seed.ts) and BA*'s committee thresholds (committee.ts). */
import { describe, expect, it } from 'vitest';
import { PAPER_FINAL, PAPER_STEP, passes, votesToPass } from '../../consensus/algorand/committee.ts';
import {
  emptyRoundSeed,
  genesisSeed,
  lookBackRound,
  seedAlpha,
  seedFromProof,
} from '../../consensus/algorand/seed.ts';
import { VoteSet } from '../../consensus/vote-set.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';
import { makeTestChain } from '../helpers/chain.ts';

const key = (label: string) => {
  const secret = sha256(utf8(label));
  return { secret, public: vrf.publicKeyFromSecret(secret) };
};

describe('sortition seeds', () => {
  const s0 = genesisSeed(new Uint8Array(32).fill(1));

  it("a round's seed is its proposer's VRF output on (previous seed, round): verified, and nobody's choice", () => {
    const p = key('proposer');
    const proof = vrf.prove(p.secret, seedAlpha(s0, 1));
    const s1 = seedFromProof(s0, 1, p.public, proof) as Uint8Array;
    expect(s1).toHaveLength(32);
    // Deterministic: the same key and input give the same proof and seed (no grinding by retrying).
    expect(toHex(vrf.prove(p.secret, seedAlpha(s0, 1)))).toBe(toHex(proof));
    // The proof is bound to the previous seed, the round and the key.
    expect(seedFromProof(s0, 2, p.public, proof)).toBeUndefined();
    expect(seedFromProof(emptyRoundSeed(s0, 1), 1, p.public, proof)).toBeUndefined();
    expect(seedFromProof(s0, 1, key('other').public, proof)).toBeUndefined();
    const flipped = proof.slice();
    flipped[40] = (flipped[40] as number) ^ 1;
    expect(seedFromProof(s0, 1, p.public, flipped)).toBeUndefined();
  });

  it('an empty round hashes the previous seed with the round; domains are separated', () => {
    const e1 = emptyRoundSeed(s0, 1);
    expect(toHex(e1)).not.toBe(toHex(emptyRoundSeed(s0, 2)));
    expect(toHex(e1)).not.toBe(toHex(s0));
    const p = key('proposer');
    expect(
      toHex(seedFromProof(s0, 1, p.public, vrf.prove(p.secret, seedAlpha(s0, 1))) as Uint8Array),
    ).not.toBe(toHex(e1));
    expect(() => emptyRoundSeed(new Uint8Array(31), 1)).toThrow(/a seed is 32 bytes/);
  });

  it('look-back: r − 1 − (r mod R), constant within a window of R rounds and always in the past', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((r) => lookBackRound(r, 4))).toEqual([0, 0, 0, 3, 3, 3, 3, 7, 7]);
    for (let r = 1; r < 200; r++) {
      const b = lookBackRound(r, 10);
      expect(b).toBeLessThan(r);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBe(Math.max(0, Math.floor(r / 10) * 10 - 1)); // the last round before its window
    }
    expect(lookBackRound(5, 1)).toBe(4);
    expect(() => lookBackRound(0, 4)).toThrow(/round/);
    expect(() => lookBackRound(3, 0)).toThrow(/refresh/);
  });
});

describe('committee thresholds', () => {
  it('a value passes with strictly more than T·τ selected sub-users, computed exactly', () => {
    expect(votesToPass(PAPER_STEP)).toBe(1371); // 0.685 × 2000 = 1370: 1370 is not more
    expect(votesToPass(PAPER_FINAL)).toBe(7401); // 0.74 × 10000 = 7400
    expect(votesToPass({ numerator: 2, denominator: 3, expectedSize: 10 })).toBe(7); // 6.67 → 7
    expect(passes(1370, PAPER_STEP)).toBe(false);
    expect(passes(1371, PAPER_STEP)).toBe(true);
    // Large τ: no floating-point rounding (0.685 × τ is not exact in binary).
    const big = { numerator: 685, denominator: 1000, expectedSize: 2 ** 40 };
    expect(votesToPass(big)).toBe(Number((685n * 2n ** 40n) / 1000n) + 1);
  });

  it('refuses a T that would let two values pass (≤ 1/2), or ≥ 1, and non-integers', () => {
    expect(() => votesToPass({ numerator: 1, denominator: 2, expectedSize: 10 })).toThrow(
      /between 1\/2 and 1/,
    );
    expect(() => votesToPass({ numerator: 3, denominator: 3, expectedSize: 10 })).toThrow(
      /between 1\/2 and 1/,
    );
    expect(() => votesToPass({ numerator: 2, denominator: 3, expectedSize: 0.5 })).toThrow(/expectedSize/);
  });
});

describe('the kit vote set with weights from the verify hook (sortition counts)', () => {
  const chain = makeTestChain({ label: 'weights' });
  it('counts each vote at the weight its check established; 0 or a bad check counts nothing', () => {
    const set = new VoteSet<string>(chain.genesis.validators);
    expect(set.add(0, 'a', 's0', () => 5)).toEqual({ added: true });
    expect(set.add(1, 'a', 's1', () => 3)).toEqual({ added: true });
    expect(set.add(2, 'a', 's2', () => 0)).toEqual({ added: false, invalid: true });
    expect(set.add(3, 'a', 's3', () => false)).toEqual({ added: false, invalid: true });
    expect(set.powerFor('a')).toBe(8);
    // A duplicate is neither verified nor counted again.
    let checked = false;
    expect(
      set.add(0, 'a', 's0', () => {
        checked = true;
        return 5;
      }),
    ).toEqual({ added: false });
    expect(checked).toBe(false);
    // An equivocator counts on both sides and is reported.
    expect(set.add(1, 'b', 's1b', () => 3)).toMatchObject({ added: true, conflict: { value: 'a' } });
    expect(set.powerFor('b')).toBe(3);
    expect(set.totalPower).toBe(8);
    expect(set.valueWith(8)).toBe('a');
    // Without weights: validator power, as before.
    const plain = new VoteSet<string>(chain.genesis.validators);
    plain.add(0, 'x', 'v', () => true);
    expect(plain.powerFor('x')).toBe(chain.genesis.validators.at(0)?.power);
  });
});
