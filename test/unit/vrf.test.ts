/**
 * ECVRF-EDWARDS25519-SHA512-TAI behaviour beyond the RFC vectors: roundtrips, malleability and
 * malformed-input rejection, and forged proofs that only key validation (§5.4.5) stops.
 */
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, fromHex, toHex } from '../../crypto/bytes.ts';
import { ed25519Backend, sodiumAvailable } from '../../crypto/ed25519.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { sha512 } from '../../crypto/hash.ts';
import {
  proofToHash,
  prove,
  proverFor,
  publicKeyFromSecret,
  VRF_OUTPUT_LENGTH,
  VRF_PROOF_LENGTH,
  verify,
  vrf,
  vrfInternals,
  vrfProver,
} from '../../crypto/vrf.ts';

const Point = ed25519.Point;
const L = Point.Fn.ORDER;
const P = Point.Fp.ORDER;

// A fixed key and proof reused by the negative tests (RFC 8032 §7.1 TEST 2 seed).
const SK = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
const PK = publicKeyFromSecret(SK);
const ALPHA = new TextEncoder().encode('verity round 42');
const PI = prove(SK, ALPHA);
const BETA = proofToHash(PI);

function withS(pi: Uint8Array, s: bigint): Uint8Array {
  const out = pi.slice();
  out.set(numberToBytesLE(s, 32), 48);
  return out;
}

function withC(pi: Uint8Array, c: bigint): Uint8Array {
  const out = pi.slice();
  out.set(numberToBytesLE(c, 16), 32);
  return out;
}

/** Independent §5.4.3 challenge: SHA-512(0x03 || 0x02 || Y || H || Gamma || U || V || 0x00)[0..16). */
function challenge(
  y: Uint8Array,
  h: Uint8Array,
  gamma: EdwardsPoint,
  u: EdwardsPoint,
  v: EdwardsPoint,
): bigint {
  const str = concatBytes(
    Uint8Array.of(0x03, 0x02),
    y,
    h,
    gamma.toBytes(),
    u.toBytes(),
    v.toBytes(),
    Uint8Array.of(0x00),
  );
  return bytesToNumberLE(sha512(str).subarray(0, 16));
}

function expectCryptoError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(CryptoError);
  expect((caught as CryptoError).code).toBe(code);
}

describe('vrf: prove/verify roundtrip', () => {
  it('exposes the named API on the vrf object', () => {
    expect(vrf.prove).toBe(prove);
    expect(vrf.verify).toBe(verify);
    expect(vrf.proofToHash).toBe(proofToHash);
    expect(vrf.publicKeyFromSecret).toBe(publicKeyFromSecret);
  });

  it('verifies honest proofs on random keys and alphas; beta = proofToHash(pi); deterministic', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 0, maxLength: 100 }),
        (sk, alpha) => {
          const pk = publicKeyFromSecret(sk);
          // The VRF key is the Ed25519 key for the same seed.
          expect(toHex(pk)).toBe(toHex(ed25519.getPublicKey(sk)));
          const pi = prove(sk, alpha);
          expect(pi.length).toBe(VRF_PROOF_LENGTH);
          const beta = verify(pk, pi, alpha);
          expect(beta).not.toBeNull();
          expect((beta as Uint8Array).length).toBe(VRF_OUTPUT_LENGTH);
          expect(toHex(proofToHash(pi))).toBe(toHex(beta as Uint8Array));
          expect(toHex(prove(sk, alpha))).toBe(toHex(pi));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('gives different outputs for different alphas and different keys', () => {
    const other = prove(SK, new TextEncoder().encode('verity round 43'));
    expect(equalBytes(proofToHash(other), BETA)).toBe(false);
    const sk2 = SK.slice();
    sk2[0] = (sk2[0] as number) ^ 1;
    expect(equalBytes(proofToHash(prove(sk2, ALPHA)), BETA)).toBe(false);
  });

  it('does not mutate its inputs', () => {
    const sk = SK.slice();
    const alpha = ALPHA.slice();
    const pi = prove(sk, alpha);
    const pk = PK.slice();
    verify(pk, pi, alpha);
    proofToHash(pi);
    expect(toHex(sk)).toBe(toHex(SK));
    expect(toHex(alpha)).toBe(toHex(ALPHA));
    expect(toHex(pk)).toBe(toHex(PK));
    expect(toHex(pi)).toBe(toHex(PI));
  });
});

describe('vrf: verify rejects tampering', () => {
  it('accepts the reference proof (control for the cases below)', () => {
    expect(toHex(verify(PK, PI, ALPHA) as Uint8Array)).toBe(toHex(BETA));
  });

  it('rejects every single-bit flip of pi', () => {
    const rejected: number[] = [];
    for (let bit = 0; bit < VRF_PROOF_LENGTH * 8; bit++) {
      const pi = PI.slice();
      pi[bit >> 3] = (pi[bit >> 3] as number) ^ (1 << (bit & 7));
      if (verify(PK, pi, ALPHA) === null) rejected.push(bit);
    }
    expect(rejected.length).toBe(VRF_PROOF_LENGTH * 8);
  });

  it('rejects every single-bit flip of the public key', () => {
    let accepted = 0;
    for (let bit = 0; bit < 256; bit++) {
      const pk = PK.slice();
      pk[bit >> 3] = (pk[bit >> 3] as number) ^ (1 << (bit & 7));
      if (verify(pk, PI, ALPHA) !== null) accepted++;
    }
    expect(accepted).toBe(0);
  });

  it('rejects a wrong alpha and a wrong public key', () => {
    expect(verify(PK, PI, new TextEncoder().encode('verity round 43'))).toBeNull();
    expect(verify(PK, PI, new Uint8Array())).toBeNull();
    expect(verify(PK, PI, concatBytes(ALPHA, Uint8Array.of(0)))).toBeNull();
    const otherPk = publicKeyFromSecret(new Uint8Array(32).fill(9));
    expect(verify(otherPk, PI, ALPHA)).toBeNull();
  });

  it('rejects s >= q, including s + q (same value mod q: a lax reduction would accept it)', () => {
    const s = bytesToNumberLE(PI.subarray(48, 80));
    for (const bad of [L, L + 1n, s + L, 2n ** 256n - 1n]) {
      const pi = withS(PI, bad);
      expect(verify(PK, pi, ALPHA)).toBeNull();
      expectCryptoError(() => proofToHash(pi), 'INVALID_KEY');
    }
    // Control: s = q - 1 is in range, so it gets past decoding (and then fails the challenge).
    expect(() => proofToHash(withS(PI, L - 1n))).not.toThrow();
  });

  it('handles c = 0 (and s = 0, Gamma = identity) without throwing', () => {
    const identity = Point.ZERO.toBytes();
    const cases = [
      withC(PI, 0n),
      withS(withC(PI, 0n), 0n),
      concatBytes(identity, new Uint8Array(16), new Uint8Array(32)),
      concatBytes(identity, PI.subarray(32, 48), new Uint8Array(32)),
    ];
    for (const pi of cases) {
      expect(() => verify(PK, pi, ALPHA)).not.toThrow();
      expect(verify(PK, pi, ALPHA)).toBeNull();
    }
  });

  it('rejects a Gamma that does not decode; proofToHash reports INVALID_KEY', () => {
    // y = p is a non-canonical encoding of y = 0; 0x02 00..00 (y = 2) is not on the curve.
    const badGammas = [numberToBytesLE(P, 32), numberToBytesLE(2n, 32)];
    for (const g of badGammas) {
      expect(() => Point.fromBytes(g)).toThrow();
      const pi = concatBytes(g, PI.subarray(32));
      expect(verify(PK, pi, ALPHA)).toBeNull();
      expectCryptoError(() => proofToHash(pi), 'INVALID_KEY');
    }
  });

  it('rejects a non-canonical Gamma encoding (y >= p) that lax decoding would accept', () => {
    const g = numberToBytesLE(3n + P, 32);
    expect(() => Point.fromBytes(g, true)).not.toThrow();
    const pi = concatBytes(g, PI.subarray(32));
    expect(verify(PK, pi, ALPHA)).toBeNull();
    expectCryptoError(() => proofToHash(pi), 'INVALID_KEY');
  });

  it('proof_to_hash clears the cofactor: Gamma + T (T torsion) has the same beta but does not verify', () => {
    const t8 = Point.fromBytes(fromHex(ED25519_TORSION_SUBGROUP[3] as string));
    const gamma = Point.fromBytes(PI.subarray(0, 32));
    const pi = concatBytes(gamma.add(t8).toBytes(), PI.subarray(32));
    expect(toHex(proofToHash(pi))).toBe(toHex(BETA));
    expect(verify(PK, pi, ALPHA)).toBeNull();
  });
});

describe('vrf: public key validation (§5.4.5)', () => {
  const torsion = ED25519_TORSION_SUBGROUP.map((h) => fromHex(h));

  it('the eight torsion encodings are distinct canonical small-order points (fixture check)', () => {
    expect(new Set(ED25519_TORSION_SUBGROUP).size).toBe(8);
    for (const enc of torsion) {
      const pt = Point.fromBytes(enc);
      expect(pt.isSmallOrder()).toBe(true);
      expect(toHex(pt.toBytes())).toBe(toHex(enc));
    }
    expect(ED25519_TORSION_SUBGROUP).toContain(
      '0100000000000000000000000000000000000000000000000000000000000000',
    );
  });

  it('rejects forged proofs under each small-order key that satisfy the verification equations', () => {
    // With Y of order dividing 8 and Gamma = identity: U = [s]B - [c mod 8]Y and V = [s]H no
    // longer bind the prover to any secret, so c can be computed after guessing c mod 8. Only
    // validate_key stops these.
    const gamma = Point.ZERO;
    for (const yEnc of torsion) {
      const y = Point.fromBytes(yEnc);
      const hBytes = vrfInternals.encodeToCurve(yEnc, ALPHA);
      const h = Point.fromBytes(hBytes);
      let forged: Uint8Array | null = null;
      for (let s = 1n; forged === null && s < 200n; s++) {
        for (let r = 0n; r < 8n; r++) {
          const u = Point.BASE.multiply(s).subtract(y.multiplyUnsafe(r));
          const v = h.multiply(s);
          const c = challenge(yEnc, hBytes, gamma, u, v);
          if (c % 8n !== r) continue;
          // The equations of §5.3 steps 8-11 hold for this (Gamma, c, s).
          const uCheck = Point.BASE.multiply(s).subtract(y.multiplyUnsafe(c));
          const vCheck = h.multiply(s).subtract(gamma.multiplyUnsafe(c));
          expect(challenge(yEnc, hBytes, gamma, uCheck, vCheck)).toBe(c);
          forged = concatBytes(gamma.toBytes(), numberToBytesLE(c, 16), numberToBytesLE(s, 32));
          break;
        }
      }
      expect(forged).not.toBeNull();
      expect(verify(yEnc, forged as Uint8Array, ALPHA)).toBeNull();
    }
  });

  it('rejects every torsion key against an honest proof', () => {
    for (const enc of torsion) expect(verify(enc, PI, ALPHA)).toBeNull();
  });

  it('rejects non-canonical encodings (y >= p) of points that are not small order', () => {
    // y + p for these y decode under ZIP-215 rules to full-order-component points, so only the
    // RFC 8032 canonicity check rejects them.
    let checked = 0;
    for (const y of [3n, 4n, 5n, 6n, 9n, 10n, 14n, 15n, 16n, 18n]) {
      for (const sign of [0, 0x80]) {
        const enc = numberToBytesLE(y + P, 32);
        enc[31] = (enc[31] as number) | sign;
        const lax = Point.fromBytes(enc, true);
        expect(lax.isSmallOrder()).toBe(false);
        expect(verify(enc, PI, ALPHA)).toBeNull();
        checked++;
      }
    }
    expect(checked).toBe(20);
  });

  it('rejects "negative zero" encodings (x = 0 with the sign bit set)', () => {
    const identityNeg = fromHex('0100000000000000000000000000000000000000000000000000000000000080');
    const minusOneNeg = fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff');
    for (const enc of [identityNeg, minusOneNeg]) {
      expect(() => Point.fromBytes(enc, true)).not.toThrow();
      expect(verify(enc, PI, ALPHA)).toBeNull();
    }
  });

  it('rejects a y that is not on the curve', () => {
    const enc = numberToBytesLE(2n, 32);
    expect(() => Point.fromBytes(enc, true)).toThrow();
    expect(verify(enc, PI, ALPHA)).toBeNull();
  });
});

describe('vrf: malformed inputs', () => {
  it('verify returns null (never throws) for wrong lengths and non-byte inputs', () => {
    const junk: unknown[] = [undefined, null, 'abc', 42, [1, 2, 3], {}, new Uint16Array(40)];
    const badPks = [new Uint8Array(0), PK.subarray(0, 31), concatBytes(PK, Uint8Array.of(0)), ...junk];
    const badPis = [new Uint8Array(0), PI.subarray(0, 79), concatBytes(PI, Uint8Array.of(0)), ...junk];
    for (const pk of badPks) {
      expect(() => verify(pk as Uint8Array, PI, ALPHA)).not.toThrow();
      expect(verify(pk as Uint8Array, PI, ALPHA)).toBeNull();
    }
    for (const pi of badPis) {
      expect(() => verify(PK, pi as Uint8Array, ALPHA)).not.toThrow();
      expect(verify(PK, pi as Uint8Array, ALPHA)).toBeNull();
    }
    for (const alpha of junk) expect(verify(PK, PI, alpha as Uint8Array)).toBeNull();
  });

  it('verify returns null for arbitrary garbage', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 40 }),
        fc.uint8Array({ minLength: 0, maxLength: 100 }),
        fc.uint8Array({ minLength: 0, maxLength: 20 }),
        (pk, pi, alpha) => verify(pk, pi, alpha) === null,
      ),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 80, maxLength: 80 }), (pi) => verify(PK, pi, ALPHA) === null),
      { numRuns: 100 },
    );
  });

  it('proofToHash throws INVALID_LENGTH on a wrong-length proof', () => {
    for (const pi of [new Uint8Array(0), PI.subarray(0, 79), concatBytes(PI, Uint8Array.of(0))]) {
      expectCryptoError(() => proofToHash(pi), 'INVALID_LENGTH');
    }
    expectCryptoError(() => proofToHash('00' as unknown as Uint8Array), 'INVALID_LENGTH');
  });

  it('prove and publicKeyFromSecret throw INVALID_LENGTH on a wrong-length secret key', () => {
    for (const sk of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33), new Uint8Array(64)]) {
      expectCryptoError(() => prove(sk, ALPHA), 'INVALID_LENGTH');
      expectCryptoError(() => publicKeyFromSecret(sk), 'INVALID_LENGTH');
    }
    expectCryptoError(() => prove(SK, 'alpha' as unknown as Uint8Array), 'INVALID_LENGTH');
  });

  it('accepts an empty alpha and a long alpha', () => {
    for (const alpha of [new Uint8Array(0), new Uint8Array(10_000).fill(0xab)]) {
      const pi = prove(SK, alpha);
      expect(verify(PK, pi, alpha)).not.toBeNull();
    }
  });
});

describe('vrf: the libsodium and noble provers', () => {
  it('prove multiplies where Ed25519 verifies: libsodium unless the process was told OpenSSL', () => {
    expect(vrfProver).toBe(ed25519Backend === 'sodium' ? 'sodium' : 'noble');
  });

  it.skipIf(!sodiumAvailable())('multiply alike at the edges of the scalar range and at random', () => {
    const H = vrfInternals.encodeToCurve(PK, ALPHA);
    const scalars = [0n, 1n, 2n, 8n, L - 1n, L - 8n, 2n ** 252n, 2n ** 128n - 1n];
    for (let i = 0; i < 24; i++) scalars.push(bytesToNumberLE(sha512(Uint8Array.of(i))) % L);
    for (const k of scalars) {
      expect(toHex(vrfInternals.multiply('sodium', k)), `[${k}]B`).toBe(
        toHex(vrfInternals.multiply('noble', k)),
      );
      expect(toHex(vrfInternals.multiply('sodium', k, H)), `[${k}]H`).toBe(
        toHex(vrfInternals.multiply('noble', k, H)),
      );
    }
    // Control: the identity is what both give for 0, and it is not what they give for 1.
    expect(toHex(vrfInternals.multiply('sodium', 0n))).toBe(toHex(Point.ZERO.toBytes()));
    expect(toHex(vrfInternals.multiply('sodium', 1n))).toBe(toHex(Point.BASE.toBytes()));
  });

  it.skipIf(!sodiumAvailable())('give the same proof, byte for byte, for random keys and alphas', () => {
    const onSodium = proverFor('sodium');
    const onNoble = proverFor('noble');
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 80 }),
        (sk, alpha) => {
          const pi = onSodium(sk, alpha);
          expect(toHex(pi)).toBe(toHex(onNoble(sk, alpha)));
          expect(verify(publicKeyFromSecret(sk), pi, alpha)).not.toBeNull();
        },
      ),
      { numRuns: 60, seed: 9381 },
    );
  });
});
