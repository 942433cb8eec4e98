import { describe, expect, it } from 'vitest';
import { ALGORAND_FAULTS } from '../../consensus/algorand/index.ts';
import { BYZANTINE_FAULTS, CRASH_FAULTS, HASH_POWER_FAULTS, tolerates } from '../../consensus/fault-model.ts';
import { ENGINES } from '../../consensus/registry.ts';
import { makeTestChain } from '../helpers/chain.ts';

describe('fault models', () => {
  it('Byzantine: f < n/3, a core of n − f (not 2f + 1: n = 5 needs 4), quorums of > 2/3 of the power', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 10].map((n) => BYZANTINE_FAULTS.tolerated(n))).toEqual([
      0, 0, 0, 1, 1, 1, 2, 3,
    ]);
    expect([1, 4, 5, 7, 10].map((n) => BYZANTINE_FAULTS.livenessCore(n))).toEqual([1, 3, 4, 5, 7]);
    const set = makeTestChain({ validators: 5 }).genesis.validators;
    expect(BYZANTINE_FAULTS.quorumPower(set)).toBe(set.quorumPower);
    // A core of n − f validators holds a quorum of the power; one fewer does not.
    expect(BYZANTINE_FAULTS.livenessCore(5)).toBeGreaterThanOrEqual(set.quorumPower);
    expect(BYZANTINE_FAULTS.livenessCore(5) - 1).toBeLessThan(set.quorumPower);
  });

  it('crash: f < n/2, a core of n − f, majority quorums, and no Byzantine behaviour but silence', () => {
    expect([1, 2, 3, 4, 5, 7].map((n) => CRASH_FAULTS.tolerated(n))).toEqual([0, 0, 1, 1, 2, 3]);
    expect([3, 4, 5].map((n) => CRASH_FAULTS.livenessCore(n))).toEqual([2, 3, 3]);
    const set = makeTestChain({ validators: 4 }).genesis.validators;
    expect(CRASH_FAULTS.quorumPower(set)).toBe(set.majorityPower);
    expect(CRASH_FAULTS.byzantineModes).toEqual(['silent']);
  });

  it('what a run tolerates: at most f, in a behaviour the model admits', () => {
    expect(tolerates(BYZANTINE_FAULTS, 4, 1, 'twins')).toBe(true);
    expect(tolerates(BYZANTINE_FAULTS, 4, 2, 'silent')).toBe(false);
    expect(tolerates(CRASH_FAULTS, 3, 1, 'silent')).toBe(true);
    expect(tolerates(CRASH_FAULTS, 3, 2, 'silent')).toBe(false);
    // One twin is within f = 1 by count, but a crash-fault engine admits no lying validator.
    expect(tolerates(CRASH_FAULTS, 3, 1, 'twins')).toBe(false);
    expect(tolerates(CRASH_FAULTS, 3, 0, 'twins')).toBe(true);
  });

  it('every engine declares one', () => {
    for (const e of Object.values(ENGINES))
      expect([BYZANTINE_FAULTS, CRASH_FAULTS, ALGORAND_FAULTS, HASH_POWER_FAULTS]).toContain(e.faultModel);
  });

  it('Proof of Work: a minority of the hash power, in the mining behaviours it names', () => {
    expect([4, 7].map((n) => HASH_POWER_FAULTS.tolerated(n))).toEqual([1, 3]);
    expect(tolerates(HASH_POWER_FAULTS, 4, 1, 'selfish')).toBe(true);
    expect(tolerates(HASH_POWER_FAULTS, 4, 3, 'private-chain')).toBe(false);
    // Twins and equivocation mean nothing for a chain whose blocks prove themselves by work.
    expect(tolerates(HASH_POWER_FAULTS, 4, 1, 'twins')).toBe(false);
  });

  it("Algorand's full committee: the honest rest must pass T_final = 0.74, stricter than n/3", () => {
    // n = 4: 3 votes pass both thresholds, 1 faulty; n = 7: T_final needs 6, so 1 (BFT: 2).
    expect([4, 7, 10].map((n) => ALGORAND_FAULTS.tolerated(n))).toEqual([1, 1, 2]);
    expect(BYZANTINE_FAULTS.tolerated(7)).toBe(2);
    expect(ALGORAND_FAULTS.livenessCore(7)).toBe(6);
    expect(tolerates(ALGORAND_FAULTS, 7, 2, 'twins')).toBe(false);
    expect(tolerates(ALGORAND_FAULTS, 4, 1, 'equivocate')).toBe(true);
  });
});
