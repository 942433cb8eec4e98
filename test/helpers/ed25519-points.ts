/**
 * Ed25519 arithmetic for the verification-rule tests (test/unit/ed25519*.test.ts), on
 * @noble/curves: the group order, the RFC 8032 challenge, signatures from a chosen R and S, and
 * the torsion subgroup E[8] — computed, not hard-coded.
 */
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { ed25519 as noble } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { concatBytes } from '../../crypto/bytes.ts';
import { sha512 } from '../../crypto/hash.ts';
import { seededBytes } from './seeded.ts';

export const Point = noble.Point;
export const L = 2n ** 252n + 27742317777372353535851937790883648493n;
export const P = 2n ** 255n - 19n;

/** k = SHA-512(R ‖ A ‖ M) mod L, the RFC 8032 challenge. */
export function challenge(R: Uint8Array, A: Uint8Array, msg: Uint8Array): bigint {
  return bytesToNumberLE(sha512(concatBytes(R, A, msg))) % L;
}

/** R ‖ S with S = s mod L. */
export function sigOf(R: EdwardsPoint, s: bigint): Uint8Array {
  return concatBytes(R.toBytes(), numberToBytesLE(((s % L) + L) % L, 32));
}

/**
 * The torsion subgroup E[8]: [L]P of a random curve point P lies in E[8]; take one of order
 * exactly 8 and its multiples 0..7.
 */
export function torsionPoints(seed = 'ed25519-torsion'): EdwardsPoint[] {
  const rand = seededBytes(seed);
  for (;;) {
    let p: EdwardsPoint;
    try {
      p = Point.fromBytes(rand(32));
    } catch {
      continue;
    }
    const t = p.multiplyUnsafe(L - 1n).add(p); // [L]P (noble takes scalars < L)
    if (t.multiplyUnsafe(4n).is0()) continue; // order < 8
    return Array.from({ length: 8 }, (_, j) => (j === 0 ? Point.ZERO : t.multiplyUnsafe(BigInt(j))));
  }
}
