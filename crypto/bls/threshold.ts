/**
 * Threshold BLS (t-of-n) with a trusted dealer, for constant-size HotStuff quorum certificates.
 *
 *  - deal: Shamir sharing of a0 with f(x) = a0 + a1 x + … + a_{t-1} x^{t-1} over Z_r; share i is
 *    (i, f(i), g1^{f(i)}), Feldman commitments C_j = g1^{a_j}, group key C_0. Coefficients come
 *    from HKDF-SHA256 over the seed (48-byte outputs reduced mod r, like KeyGen), so a deal is a
 *    pure function of (t, n, seed).
 *  - partial signature: an ordinary BLS signature by the share key, H(m)^{f(i)}.
 *  - combine: σ = Π σ_i^{λ_i}, λ_i = Π_{j≠i} x_j / (x_j − x_i) (Lagrange at 0) = H(m)^{a0}, an
 *    ordinary signature under the group key. The t·(t−1) products are of small integers; the t
 *    denominators are inverted with one batch inversion; the sum is one G2 multi-scalar
 *    multiplication (noble's interleaved wNAF).
 */
import { interleavedMSMUnsafe } from '@noble/curves/abstract/curve.js';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToBigInt, concatBytes, equalBytes, isBytes, u32be, utf8 } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import {
  BLS_CURVE_ORDER,
  BLS_SIGNATURE_LENGTH,
  BLS_THRESHOLD_MAX_N,
  BLS_THRESHOLD_MIN_SEED_LENGTH,
} from './constants.ts';
import { decodeG1, encodeG1, type G1Point } from './noble.ts';
import { modR, parseSecretKey, scalarToBytes } from './scalar.ts';
import type { BlsCore, BlsThreshold, G2Point, PartialSignature, ThresholdShare } from './types.ts';

const Fr = bls12_381.fields.Fr;
const G2 = bls12_381.G2.Point;

const DEAL_SALT = utf8('VERITY-BLS-THRESHOLD-DEAL-V1');
const COEF_LABEL = utf8('coefficient');

interface Signer {
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

function isIndex(i: unknown): i is number {
  return typeof i === 'number' && Number.isSafeInteger(i) && i >= 1 && i <= BLS_THRESHOLD_MAX_N;
}

/**
 * Coefficient j of deal round `round`: OS2IP(HKDF-Expand(PRK, label | t | round | j | ctr, 48)) mod r,
 * retrying with ctr+1 on zero (probability ~2^-255). t is bound in so that deals of different
 * thresholds from one seed share no coefficients.
 */
function deriveCoefficients(prk: Uint8Array, t: number, round: number): bigint[] {
  const out: bigint[] = [];
  for (let j = 0; j < t; j++) {
    for (let ctr = 0; ; ctr++) {
      const info = concatBytes(COEF_LABEL, u32be(t), u32be(round), u32be(j), u32be(ctr));
      const a = bytesToBigInt(expand(sha256, prk, info, 48)) % BLS_CURVE_ORDER;
      if (a !== 0n) {
        out.push(a);
        break;
      }
    }
  }
  return out;
}

/** f(x) mod r by Horner. */
function evaluate(coefficients: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let j = coefficients.length - 1; j >= 0; j--)
    acc = (acc * x + (coefficients[j] as bigint)) % BLS_CURVE_ORDER;
  return acc;
}

/** Π C_j^{x^j} by Horner in the exponent: ((C_{t-1}·x + C_{t-2})·x + …)·x + C_0. */
function commitmentsAt(commitments: readonly Uint8Array[], index: number): G1Point {
  if (!Array.isArray(commitments) || commitments.length < 1 || commitments.length > BLS_THRESHOLD_MAX_N) {
    throw new CryptoError('THRESHOLD_PARAMS', 'expected 1..BLS_THRESHOLD_MAX_N commitments');
  }
  if (!isIndex(index))
    throw new CryptoError('THRESHOLD_PARAMS', `share index out of range: ${String(index)}`);
  const points = commitments.map((c, j) => {
    try {
      return decodeG1(c);
    } catch (cause) {
      throw new CryptoError('INVALID_KEY', `commitment ${j} is not a valid G1 point`, {
        cause: String(cause),
      });
    }
  });
  const x = BigInt(index);
  let acc = points[points.length - 1] as G1Point;
  for (let j = points.length - 2; j >= 0; j--) acc = acc.multiplyUnsafe(x).add(points[j] as G1Point);
  return acc;
}

/**
 * λ_i at 0 for the abscissas xs (distinct, nonzero, < r):
 *   λ_i = Π_{j≠i} x_j / (x_j − x_i) = (Π_j x_j) / (x_i · Π_{j≠i} (x_j − x_i)).
 */
export function lagrangeAtZero(xs: readonly bigint[]): bigint[] {
  if (new Set(xs).size !== xs.length)
    throw new CryptoError('THRESHOLD_DUPLICATE_INDEX', 'abscissas must be distinct');
  let all = 1n;
  for (const x of xs) all = (all * x) % BLS_CURVE_ORDER;
  const denominators = xs.map((xi) => {
    let d = xi;
    for (const xj of xs) if (xj !== xi) d = (d * (xj - xi)) % BLS_CURVE_ORDER;
    d = modR(d);
    if (d === 0n) throw new CryptoError('THRESHOLD_PARAMS', 'abscissas must be nonzero mod r');
    return d;
  });
  return Fr.invertBatch(denominators).map((inv) => (all * inv) % BLS_CURVE_ORDER);
}

/**
 * Σ λ_i·P_i by interleaved wNAF (Straus: one shared chain of ~255 doublings, one table addition per
 * nonzero digit). With noble's projective points this beats its Pippenger at every committee size
 * up to BLS_THRESHOLD_MAX_N (Pippenger walks all 255 bits per window and pays 2^c bucket sums):
 * ≈ 255 + t·(255/(W+1) + 2^(W−2)) additions, minimised by W = 4 for tiny t and W = 5 above.
 */
export function g2MultiScalarMul(points: readonly G2Point[], scalars: readonly bigint[]): G2Point {
  if (points.length === 1) return (points[0] as G2Point).multiplyUnsafe(scalars[0] as bigint);
  const window = points.length <= 4 ? 4 : 5;
  return interleavedMSMUnsafe(G2, [...points], window)([...scalars]);
}

export function createThreshold(core: BlsCore, signer: Signer): BlsThreshold {
  return {
    deal(t, n, seed) {
      if (!Number.isSafeInteger(t) || !Number.isSafeInteger(n) || t < 1 || t > n || n > BLS_THRESHOLD_MAX_N) {
        throw new CryptoError('THRESHOLD_PARAMS', `invalid threshold parameters t=${t} n=${n}`, {
          t,
          n,
          maxN: BLS_THRESHOLD_MAX_N,
        });
      }
      if (!isBytes(seed) || seed.length < BLS_THRESHOLD_MIN_SEED_LENGTH) {
        throw new CryptoError(
          'INVALID_LENGTH',
          `deal seed must be at least ${BLS_THRESHOLD_MIN_SEED_LENGTH} bytes`,
        );
      }
      const prk = extract(sha256, seed, DEAL_SALT);
      // A zero share would be an invalid secret key; redraw the whole polynomial (never happens
      // in practice: probability ~n/r).
      for (let round = 0; ; round++) {
        const coefficients = deriveCoefficients(prk, t, round);
        const values: bigint[] = [];
        for (let i = 1; i <= n; i++) values.push(evaluate(coefficients, BigInt(i)));
        if (values.some((v) => v === 0n)) continue;
        const commitments = coefficients.map((a) => core.skToPk(scalarToBytes(a)));
        const shares = values.map((v, k) => {
          const secretKey = scalarToBytes(v);
          return { index: k + 1, secretKey, publicKey: core.skToPk(secretKey) };
        });
        return { threshold: t, groupPublicKey: commitments[0] as Uint8Array, commitments, shares };
      }
    },

    verifyShareAgainstCommitments(share, commitments) {
      try {
        if (!isIndex(share.index) || !isBytes(share.publicKey)) return false;
        parseSecretKey(share.secretKey);
        const expected = encodeG1(commitmentsAt(commitments, share.index));
        const fromSecret = core.skToPk(share.secretKey);
        return equalBytes(expected, fromSecret) && equalBytes(share.publicKey, fromSecret);
      } catch {
        return false;
      }
    },

    sharePublicKeyFromCommitments(commitments, index) {
      return encodeG1(commitmentsAt(commitments, index));
    },

    signShare(share: ThresholdShare, message: Uint8Array): PartialSignature {
      if (!isIndex(share.index)) {
        throw new CryptoError('THRESHOLD_PARAMS', `share index out of range: ${String(share.index)}`);
      }
      return { index: share.index, signature: signer.sign(share.secretKey, message) };
    },

    verifyShare(sharePublicKey, message, partial) {
      try {
        if (!isIndex(partial.index) || !isBytes(partial.signature)) return false;
        return signer.verify(sharePublicKey, message, partial.signature);
      } catch {
        return false;
      }
    },

    combine(partials, t) {
      if (!Number.isSafeInteger(t) || t < 1 || t > BLS_THRESHOLD_MAX_N) {
        throw new CryptoError('THRESHOLD_PARAMS', `invalid threshold t=${t}`, { t });
      }
      if (!Array.isArray(partials))
        throw new CryptoError('THRESHOLD_BAD_PARTIAL', 'partials must be an array');
      const seen = new Set<number>();
      for (const p of partials as readonly unknown[]) {
        const q = p as Partial<PartialSignature> | null;
        if (
          q === null ||
          typeof q !== 'object' ||
          !isIndex(q.index) ||
          !isBytes(q.signature) ||
          q.signature.length !== BLS_SIGNATURE_LENGTH
        ) {
          throw new CryptoError('THRESHOLD_BAD_PARTIAL', 'malformed partial signature');
        }
        if (seen.has(q.index)) {
          throw new CryptoError('THRESHOLD_DUPLICATE_INDEX', `duplicate partial index ${q.index}`, {
            index: q.index,
          });
        }
        seen.add(q.index);
      }
      if (partials.length < t) {
        throw new CryptoError('THRESHOLD_NOT_ENOUGH_PARTIALS', `need ${t} partials, got ${partials.length}`, {
          t,
          got: partials.length,
        });
      }
      // Deterministic choice: the t lowest indices. Any t valid partials interpolate to the
      // same point, so the output does not depend on which t arrived first.
      const chosen = [...partials].sort((a, b) => a.index - b.index).slice(0, t);
      const points = chosen.map((p) => {
        const point = core.g2FromSignature(p.signature);
        if (point === null) {
          throw new CryptoError('THRESHOLD_BAD_PARTIAL', `partial ${p.index} is not a valid G2 signature`, {
            index: p.index,
          });
        }
        return point;
      });
      const lambdas = lagrangeAtZero(chosen.map((p) => BigInt(p.index)));
      return core.g2ToSignature(g2MultiScalarMul(points, lambdas));
    },
  };
}
