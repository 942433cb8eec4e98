/**
 * Algorand's genesis parameters: checked against the validator set (every validator needs a VRF
 * key; τ is capped at the total stake), and the bound a genesis gets, in words (`config check`).
 */
import { describe, expect, it } from 'vitest';
import {
  ALGORAND_DEFAULTS,
  algorandParams,
  committees,
  describeBound,
  parseAlgorandParams,
} from '../../consensus/algorand/params.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';
import { peerIdFromEd25519, ValidatorSet } from '../../ledger/validators.ts';

function set(powers: number[], withVrf = true): ValidatorSet {
  return new ValidatorSet(
    powers.map((power, i) => {
      const ed = ed25519.keygen(sha256(utf8(`params-ed-${i}`)));
      return {
        name: `v${i}`,
        publicKey: ed.publicKey,
        blsPublicKey: new Uint8Array(48).fill(i + 1), // placeholders, one per validator
        blsPop: new Uint8Array(96),
        peerId: peerIdFromEd25519(ed.publicKey),
        power,
        ...(withVrf ? { vrfPublicKey: vrf.publicKeyFromSecret(sha256(utf8(`params-vrf-${i}`))) } : {}),
      };
    }),
  );
}

describe('algorand parameters', () => {
  it('defaults are the paper’s committee sizes and thresholds; unknown or out-of-range ones are refused', () => {
    expect(algorandParams({})).toEqual(ALGORAND_DEFAULTS);
    expect(ALGORAND_DEFAULTS).toMatchObject({
      tauStep: 2000,
      tauFinal: 10_000,
      thresholdStep: 685,
      thresholdFinal: 740,
    });
    expect(() => algorandParams({ tauStep: 0 })).toThrow(/tauStep/);
    // T ≤ 1/2 would let two values pass one step.
    expect(() => algorandParams({ thresholdStep: 500 })).toThrow(/thresholdStep/);
    expect(() => algorandParams({ lambda: 1 })).toThrow(/unknown parameter "lambda"/);
  });

  it('every validator needs its own VRF key', () => {
    expect(() => parseAlgorandParams({}, set([1, 1, 1, 1], false))).toThrow(/VRF key.*v0, v1, v2, v3/);
    expect(parseAlgorandParams({}, set([1, 1, 1, 1])).bound).toMatch(/full committee/);
  });

  it('τ is capped at the total stake, and a value needs floor(T·τ) + 1', () => {
    const c = committees(ALGORAND_DEFAULTS, set([1, 1, 1, 1]));
    expect(c.everyone).toBe(true);
    expect([c.step.expectedSize, c.step.needed, c.final.needed]).toEqual([4, 3, 3]);
    const seven = committees(ALGORAND_DEFAULTS, set([1, 1, 1, 1, 1, 1, 1]));
    expect([seven.step.needed, seven.final.needed]).toEqual([5, 6]);
  });

  it('states the bound a genesis gets: full committee (classic) or sampled (probabilistic)', () => {
    expect(describeBound(ALGORAND_DEFAULTS, set([1, 1, 1, 1]))).toMatch(
      /faulty power ≤ 1 of 4, live while it is ≤ 1/,
    );
    // n = 7: T_final = 0.74 needs 6 of 7, so one faulty validator, not two.
    expect(describeBound(ALGORAND_DEFAULTS, set([1, 1, 1, 1, 1, 1, 1]))).toMatch(/live while it is ≤ 1 /);
    const sampled = describeBound(
      { ...ALGORAND_DEFAULTS, tauStep: 20, tauFinal: 20 },
      set([1000, 1000, 1000]),
    );
    expect(sampled).toMatch(/sampled committees.*80%/);
    expect(sampled).not.toMatch(/full committee/);
  });
});
