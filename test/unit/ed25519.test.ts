/**
 * ed25519: differential against @noble/curves (zip215: false) with the known split explained and
 * asserted, and the verification rule of crypto/ed25519.ts pinned — strict RFC 8032 encodings,
 * canonical S, small-order A and R rejected, cofactorless equation.
 */
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { ed25519 as noble } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../crypto/bytes.ts';
import {
  ed25519,
  isCanonicalPointEncoding,
  isCanonicalScalar,
  isSmallOrderEncoding,
  passesPrecheck,
} from '../../crypto/ed25519.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { challenge, L, P, Point, sigOf, torsionPoints } from '../helpers/ed25519-points.ts';
import { seededBytes } from '../helpers/seeded.ts';

function le(n: bigint, len = 32): Uint8Array {
  const out = new Uint8Array(len);
  let x = n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function nobleVerify(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try {
    return noble.verify(sig, msg, pk, { zip215: false });
  } catch {
    return false;
  }
}

/** The cofactorless equation [S]B == R + [k]A, evaluated independently with noble's arithmetic. */
function cofactorlessHolds(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  const R = Point.fromBytes(sig.subarray(0, 32));
  const A = Point.fromBytes(pk);
  const S = bytesToNumberLE(sig.subarray(32));
  const lhs = S === 0n ? Point.ZERO : Point.BASE.multiply(S);
  return lhs.equals(R.add(A.multiplyUnsafe(challenge(sig.subarray(0, 32), pk, msg))));
}

const TORSION = torsionPoints();
const T8 = TORSION[1] as EdwardsPoint; // order 8

/** A signer with a known scalar: a = the clamped scalar of `seed`, A = [a]B. */
function signerOf(seed: Uint8Array): { a: bigint; A: EdwardsPoint } {
  const { scalar, point } = noble.utils.getExtendedPublicKey(seed);
  return { a: scalar, A: point };
}

describe('ed25519 differential vs @noble/curves (zip215: false)', () => {
  const rand = seededBytes('ed25519-diff');

  it('agrees on keys, signatures and verification for random inputs', () => {
    for (let i = 0; i < 100; i++) {
      const seed = rand(32);
      const msg = rand(i * 7);
      const ours = ed25519.keygen(seed);
      expect(toHex(ours.publicKey)).toBe(toHex(noble.getPublicKey(seed)));
      const sig = ed25519.sign(msg, seed);
      expect(toHex(sig)).toBe(toHex(noble.sign(msg, seed)));
      expect(ed25519.verify(sig, msg, ours.publicKey)).toBe(true);
      expect(nobleVerify(sig, msg, ours.publicKey)).toBe(true);
    }
  });

  it('agrees on every single-bit corruption of signature, message and key', () => {
    const seed = rand(32);
    const msg = rand(40);
    const { publicKey } = ed25519.keygen(seed);
    const sig = ed25519.sign(msg, seed);
    for (let bit = 0; bit < 512; bit++) {
      const bad = sig.slice();
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(ed25519.verify(bad, msg, publicKey)).toBe(false);
      expect(nobleVerify(bad, msg, publicKey)).toBe(false);
    }
    for (let bit = 0; bit < 256; bit++) {
      const badPk = publicKey.slice();
      badPk[bit >> 3] = (badPk[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(ed25519.verify(sig, msg, badPk)).toBe(nobleVerify(sig, msg, badPk));
      expect(ed25519.verify(sig, msg, badPk)).toBe(false);
      const badMsg = msg.slice();
      badMsg[bit % msg.length] = (badMsg[bit % msg.length] as number) ^ 1;
      expect(ed25519.verify(sig, badMsg, publicKey)).toBe(false);
    }
  });

  it('agrees on random garbage signatures and keys', () => {
    for (let i = 0; i < 200; i++) {
      const sig = rand(64);
      const pk = rand(32);
      const msg = rand(16);
      expect(ed25519.verify(sig, msg, pk)).toBe(nobleVerify(sig, msg, pk));
    }
  });

  // The known split. noble (even with zip215: false) checks the COFACTORED equation
  // [8]([S]B − R − [k]A) = 0 and does not reject small-order R; we check the cofactorless one and
  // reject small-order A and R. So every signature we accept noble accepts, and the converse fails
  // exactly when A or R has a torsion component (or R is of small order). Honest signers — keys and
  // nonces derived per RFC 8032 — never produce such points, hence "agree" on everything above.
  const { a, A } = signerOf(rand(32));
  const aBytes = A.toBytes();

  it('split 1: mixed-order key A + T (T of order 8) — noble always accepts, we accept iff 8 | k', () => {
    const mixed = A.add(T8).toBytes();
    expect(isSmallOrderEncoding(mixed)).toBe(false);
    const verdicts = { accepted: 0, rejected: 0 };
    for (let i = 0; i < 64; i++) {
      const msg = rand(20);
      const r = bytesToNumberLE(rand(64)) % L;
      const R = Point.BASE.multiply(r);
      const k = challenge(R.toBytes(), mixed, msg);
      const sig = sigOf(R, r + k * a); // what a signer holding a would send for the key A + T
      expect(nobleVerify(sig, msg, mixed)).toBe(true);
      // [S]B − R − [k](A + T) = −[k]T, which is 0 exactly when 8 divides k.
      const ours = ed25519.verify(sig, msg, mixed);
      expect(ours).toBe(k % 8n === 0n);
      expect(ours).toBe(cofactorlessHolds(sig, msg, mixed));
      verdicts[ours ? 'accepted' : 'rejected']++;
    }
    // Both branches exercised (k mod 8 is uniform: about 8 of 64 accepted).
    expect(verdicts.accepted).toBeGreaterThan(0);
    expect(verdicts.rejected).toBeGreaterThan(verdicts.accepted);
  });

  it('split 2: mixed-order R + T — noble accepts, we reject (cofactorless)', () => {
    for (let i = 0; i < 8; i++) {
      const msg = rand(12);
      const r = bytesToNumberLE(rand(64)) % L;
      const R = Point.BASE.multiply(r).add(T8);
      const sig = sigOf(R, r + challenge(R.toBytes(), aBytes, msg) * a);
      expect(nobleVerify(sig, msg, aBytes)).toBe(true);
      expect(ed25519.verify(sig, msg, aBytes)).toBe(false);
    }
  });

  it('split 3: small-order R — the identity with S = k·a satisfies even the cofactorless equation; we reject it', () => {
    const msg = rand(12);
    const R = Point.ZERO;
    const sig = sigOf(R, challenge(R.toBytes(), aBytes, msg) * a);
    expect(cofactorlessHolds(sig, msg, aBytes)).toBe(true);
    expect(nobleVerify(sig, msg, aBytes)).toBe(true);
    expect(ed25519.verify(sig, msg, aBytes)).toBe(false);
    // The other seven small-order R, with S = k·a: cofactored-valid (noble), rejected here.
    for (const T of TORSION.slice(1)) {
      const s = sigOf(T, challenge(T.toBytes(), aBytes, msg) * a);
      expect(nobleVerify(s, msg, aBytes)).toBe(true);
      expect(ed25519.verify(s, msg, aBytes)).toBe(false);
    }
  });

  it('no split on small-order A: both reject (noble strict mode rejects small-order keys too)', () => {
    for (const T of TORSION) {
      const sig = sigOf(Point.BASE, 1n); // R = B, S = 1: [1]B = B + [k]T whenever [k]T = 0
      expect(ed25519.verify(sig, new Uint8Array(0), T.toBytes())).toBe(false);
      expect(nobleVerify(sig, new Uint8Array(0), T.toBytes())).toBe(false);
    }
  });

  it('on random inputs, whatever we accept noble accepts', () => {
    for (let i = 0; i < 64; i++) {
      const seed = rand(32);
      const msg = rand(8);
      const sig = ed25519.sign(msg, seed);
      const pk = ed25519.keygen(seed).publicKey;
      const variants: [Uint8Array, Uint8Array][] = [
        [sig, pk],
        [concatBytes(sig.subarray(0, 32), rand(32)), pk],
        [concatBytes(rand(32), sig.subarray(32)), pk],
        [sig, rand(32)],
      ];
      for (const [s, k] of variants) if (ed25519.verify(s, msg, k)) expect(nobleVerify(s, msg, k)).toBe(true);
    }
  });
});

describe('ed25519 verification rule: small-order points', () => {
  const { a, A } = signerOf(new Uint8Array(32).fill(3));
  const aBytes = A.toBytes();

  it('isSmallOrderEncoding flags exactly the 8 points of E[8], and only their canonical encodings', () => {
    const encodings = TORSION.map((T) => toHex(T.toBytes()));
    expect(new Set(encodings).size).toBe(8);
    for (const T of TORSION) {
      expect(T.isSmallOrder()).toBe(true);
      expect(T.multiplyUnsafe(8n).is0()).toBe(true);
      expect(isSmallOrderEncoding(T.toBytes())).toBe(true);
      expect(isCanonicalPointEncoding(T.toBytes())).toBe(true);
    }
    // Prime-order and mixed-order points are not flagged.
    const rand = seededBytes('ed25519-not-small');
    for (let i = 0; i < 50; i++) {
      const P = Point.BASE.multiply((bytesToNumberLE(rand(64)) % (L - 1n)) + 1n);
      expect(isSmallOrderEncoding(P.toBytes())).toBe(false);
      expect(isSmallOrderEncoding(P.add(TORSION[(i % 7) + 1] as EdwardsPoint).toBytes())).toBe(false);
    }
    // Non-canonical encodings of small-order points (y + p for y = 0, 1; sign bit on x = 0):
    // not in the list, but already refused by the canonical-encoding check.
    for (const nc of [le(P), le(P + 1n), le(P + 2n ** 255n), le(1n + 2n ** 255n), le(P - 1n + 2n ** 255n)]) {
      expect(isSmallOrderEncoding(nc)).toBe(false);
      expect(isCanonicalPointEncoding(nc)).toBe(false);
    }
    expect(isSmallOrderEncoding(new Uint8Array(31))).toBe(false);
  });

  it('rejects every small-order public key, even with a signature satisfying the equation', () => {
    const rand = seededBytes('ed25519-small-A');
    for (const T of TORSION) {
      const pk = T.toBytes();
      // Find a message with [k]T = 0; then R = [r]B, S = r satisfies [S]B = R + [k]T.
      for (let tries = 0; ; tries++) {
        expect(tries).toBeLessThan(200);
        const msg = rand(8);
        const r = bytesToNumberLE(rand(64)) % L;
        const R = Point.BASE.multiply(r);
        if (!T.multiplyUnsafe(challenge(R.toBytes(), pk, msg)).is0()) continue;
        const sig = sigOf(R, r);
        expect(cofactorlessHolds(sig, msg, pk)).toBe(true);
        // Our own rule refuses it (OpenSSL 3.5 would too, but the verdict must not depend on that).
        expect(passesPrecheck(sig, pk)).toBe(false);
        expect(ed25519.verify(sig, msg, pk)).toBe(false);
        break;
      }
    }
  });

  it('rejects the identity as R although [S]B = R + [k]A holds, and accepts the honest signature', () => {
    const msg = new Uint8Array([9, 9]);
    const forged = sigOf(Point.ZERO, challenge(Point.ZERO.toBytes(), aBytes, msg) * a);
    expect(cofactorlessHolds(forged, msg, aBytes)).toBe(true);
    expect(passesPrecheck(forged, aBytes)).toBe(false);
    expect(ed25519.verify(forged, msg, aBytes)).toBe(false);
    for (const T of TORSION) expect(passesPrecheck(sigOf(T, 1n), aBytes)).toBe(false);
    // Control: the same key's real signature passes (so the rejection is about R).
    const honest = ed25519.sign(msg, new Uint8Array(32).fill(3));
    expect(passesPrecheck(honest, aBytes)).toBe(true);
    expect(ed25519.verify(honest, msg, aBytes)).toBe(true);
    // A mixed-order key or R is not refused by the precheck: the equation decides (split 1/2).
    expect(passesPrecheck(honest, A.add(T8).toBytes())).toBe(true);
    expect(passesPrecheck(sigOf(Point.BASE.add(T8), 1n), aBytes)).toBe(true);
  });
});

describe('ed25519 strictness', () => {
  const seed = new Uint8Array(32).fill(7);
  const msg = new Uint8Array([1, 2, 3]);
  const { publicKey } = ed25519.keygen(seed);
  const sig = ed25519.sign(msg, seed);

  it('rejects non-canonical S (S + L), which a lax verifier accepts', () => {
    const s = BigInt(`0x${toHex(sig.slice(32).reverse())}`);
    const malleated = concatBytes(sig.slice(0, 32), le(s + L));
    expect(ed25519.verify(malleated, msg, publicKey)).toBe(false);
    expect(isCanonicalScalar(le(L))).toBe(false);
    expect(isCanonicalScalar(le(L - 1n))).toBe(true);
    expect(isCanonicalScalar(le(2n ** 256n - 1n))).toBe(false);
  });

  it('classifies point encodings: y ≥ p and x = 0 with sign bit are non-canonical', () => {
    expect(isCanonicalPointEncoding(le(P))).toBe(false);
    expect(isCanonicalPointEncoding(le(P + 1n))).toBe(false);
    expect(isCanonicalPointEncoding(le(2n ** 255n - 1n))).toBe(false);
    expect(isCanonicalPointEncoding(le(P - 1n))).toBe(true);
    expect(isCanonicalPointEncoding(le(P - 1n + 2n ** 255n))).toBe(false);
    expect(isCanonicalPointEncoding(le(1n))).toBe(true);
    expect(isCanonicalPointEncoding(le(1n + 2n ** 255n))).toBe(false);
    expect(isCanonicalPointEncoding(publicKey)).toBe(true);
  });

  it('rejects a non-canonical encoding of the public key even where it decodes to the same point', () => {
    // y = 1 (the identity) encoded as y + p: same point, non-canonical bytes.
    expect(ed25519.verify(sig, msg, le(P + 1n))).toBe(false);
  });

  it('returns false, never throws, for malformed lengths and types', () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(63), new Uint8Array(65), sig.slice(0, 10)]) {
      expect(ed25519.verify(bad, msg, publicKey)).toBe(false);
    }
    for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33)]) {
      expect(ed25519.verify(sig, msg, bad)).toBe(false);
    }
    expect(ed25519.verify('x' as unknown as Uint8Array, msg, publicKey)).toBe(false);
    expect(ed25519.verify(sig, msg, null as unknown as Uint8Array)).toBe(false);
  });

  it('wrong-type inputs: keygen / sign / publicKeyFromSecret throw CryptoError, verify returns false', () => {
    const junk: unknown[] = [null, 123, 'seed', {}, [1, 2, 3], true, 1n, new ArrayBuffer(32)];
    for (const bad of junk) {
      const b = bad as Uint8Array;
      for (const call of [
        () => ed25519.keygen(b),
        () => ed25519.publicKeyFromSecret(b),
        () => ed25519.sign(msg, b),
        () => ed25519.sign(b, seed),
      ]) {
        expect(call).toThrow(CryptoError);
        expect(call).toThrow(expect.objectContaining({ code: 'INVALID_LENGTH' }));
      }
      expect(ed25519.verify(b, msg, publicKey)).toBe(false);
      expect(ed25519.verify(sig, b, publicKey)).toBe(false);
      expect(ed25519.verify(sig, msg, b)).toBe(false);
    }
    // publicKeyFromSecret(undefined) is an error, not the key of a fresh random seed.
    expect(() => ed25519.publicKeyFromSecret(undefined as unknown as Uint8Array)).toThrow(CryptoError);
  });

  it('sign and keygen throw a typed error on bad secret key lengths', () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(64)]) {
      expect(() => ed25519.sign(msg, bad)).toThrow(CryptoError);
      expect(() => ed25519.keygen(bad)).toThrow(CryptoError);
      try {
        ed25519.sign(msg, bad);
      } catch (e) {
        expect((e as CryptoError).code).toBe('INVALID_LENGTH');
      }
    }
  });

  it('keygen without a seed draws a fresh key', () => {
    const a = ed25519.keygen();
    const b = ed25519.keygen();
    expect(toHex(a.secretKey)).not.toBe(toHex(b.secretKey));
    expect(ed25519.verify(ed25519.sign(msg, a.secretKey), msg, a.publicKey)).toBe(true);
  });
});
