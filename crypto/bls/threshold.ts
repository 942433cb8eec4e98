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
 *    multiplication (noble's interleaved wNAF). Every partial is decoded and subgroup-checked
 *    (malformed → typed error), but a well-formed WRONG partial cannot be told from a right one
 *    without keys: pass `check` ({ message, groupPublicKey and/or sharePublicKeys }) to have the
 *    result verified and the culprit named, or drop bad partials first with verifyShare.
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
import type {
  BlsCore,
  BlsThreshold,
  G2Point,
  PartialSignature,
  ThresholdCombineCheck,
  ThresholdShare,
} from './types.ts';

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

type ShareKeyLookup = (index: number) => Uint8Array | undefined;

interface ParsedCheck {
  readonly message: Uint8Array;
  readonly groupPublicKey: Uint8Array | undefined;
  readonly shareKey: ShareKeyLookup | undefined;
}

function parseCheck(check: unknown, core: BlsCore): ParsedCheck {
  const bad = (why: string) => new CryptoError('THRESHOLD_PARAMS', `combine: invalid check: ${why}`);
  if (typeof check !== 'object' || check === null) throw bad('must be an object');
  const c = check as Partial<ThresholdCombineCheck>;
  if (!isBytes(c.message)) throw bad('message must be a Uint8Array');
  const { groupPublicKey, sharePublicKeys } = c;
  if (groupPublicKey !== undefined && !(isBytes(groupPublicKey) && safeKeyValidate(core, groupPublicKey))) {
    throw bad('groupPublicKey is not a valid BLS public key');
  }
  let shareKey: ShareKeyLookup | undefined;
  if (sharePublicKeys instanceof Map) shareKey = (i) => sharePublicKeys.get(i);
  else if (typeof sharePublicKeys === 'function') shareKey = sharePublicKeys as ShareKeyLookup;
  else if (sharePublicKeys !== undefined) throw bad('sharePublicKeys must be a Map or a function');
  if (groupPublicKey === undefined && shareKey === undefined) {
    throw bad('needs groupPublicKey or sharePublicKeys (or both)');
  }
  return { message: c.message, groupPublicKey, shareKey };
}

function safeKeyValidate(core: BlsCore, publicKey: Uint8Array): boolean {
  try {
    return core.keyValidate(publicKey);
  } catch {
    return false;
  }
}

export function createThreshold(core: BlsCore, signer: Signer): BlsThreshold {
  const verifyShare = (sharePublicKey: unknown, message: unknown, partial: unknown): boolean => {
    try {
      const p = partial as Partial<PartialSignature> | null;
      if (typeof p !== 'object' || p === null || !isIndex(p.index) || !isBytes(p.signature)) return false;
      return signer.verify(sharePublicKey as Uint8Array, message as Uint8Array, p.signature);
    } catch {
      return false;
    }
  };

  /** The used partials that fail verifyShare under their share key (or have none), by index. */
  const badPartials = (used: readonly PartialSignature[], check: ParsedCheck): number[] => {
    const lookup = check.shareKey as ShareKeyLookup;
    return used
      .filter((p) => {
        let key: Uint8Array | undefined;
        try {
          key = lookup(p.index);
        } catch {
          key = undefined;
        }
        return key === undefined || !verifyShare(key, check.message, p);
      })
      .map((p) => p.index);
  };

  const throwBad = (bad: readonly number[]): never => {
    const index = bad[0] as number;
    throw new CryptoError(
      'THRESHOLD_BAD_PARTIAL',
      `partial ${index} does not verify under its share public key${bad.length > 1 ? ` (bad: ${bad.join(', ')})` : ''}`,
      { index, indices: [...bad] },
    );
  };

  return {
    deal(t, n, seed) {
      if (!Number.isSafeInteger(t) || !Number.isSafeInteger(n) || t < 1 || t > n || n > BLS_THRESHOLD_MAX_N) {
        throw new CryptoError(
          'THRESHOLD_PARAMS',
          `invalid threshold parameters t=${String(t)} n=${String(n)}`,
          {
            t,
            n,
            maxN: BLS_THRESHOLD_MAX_N,
          },
        );
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
      if (typeof share !== 'object' || share === null) {
        throw new CryptoError('INVALID_ARGUMENT', 'signShare: share must be a { index, secretKey } object');
      }
      if (!isIndex(share.index)) {
        throw new CryptoError('THRESHOLD_PARAMS', `share index out of range: ${String(share.index)}`);
      }
      return { index: share.index, signature: signer.sign(share.secretKey, message) };
    },

    verifyShare,

    combine(partials, t, check) {
      if (t !== undefined && (!Number.isSafeInteger(t) || t < 1 || t > BLS_THRESHOLD_MAX_N)) {
        throw new CryptoError('THRESHOLD_PARAMS', `invalid threshold t=${String(t)}`, {
          t: typeof t === 'symbol' ? String(t) : t,
        });
      }
      if (!Array.isArray(partials))
        throw new CryptoError('THRESHOLD_BAD_PARTIAL', 'partials must be an array');
      const seen = new Set<number>();
      (partials as readonly unknown[]).forEach((p, position) => {
        const q = p as Partial<PartialSignature> | null;
        if (
          q === null ||
          typeof q !== 'object' ||
          !isIndex(q.index) ||
          !isBytes(q.signature) ||
          q.signature.length !== BLS_SIGNATURE_LENGTH
        ) {
          const index =
            q !== null && typeof q === 'object' && typeof q.index === 'number' ? q.index : undefined;
          throw new CryptoError(
            'THRESHOLD_BAD_PARTIAL',
            `malformed partial signature at position ${position}`,
            {
              position,
              ...(index === undefined ? {} : { index }),
            },
          );
        }
        if (seen.has(q.index)) {
          throw new CryptoError('THRESHOLD_DUPLICATE_INDEX', `duplicate partial index ${q.index}`, {
            index: q.index,
          });
        }
        seen.add(q.index);
      });
      const need = t ?? 1;
      if (partials.length < need) {
        throw new CryptoError(
          'THRESHOLD_NOT_ENOUGH_PARTIALS',
          `need ${need} partials, got ${partials.length}`,
          { t: need, got: partials.length },
        );
      }
      const ctx = check === undefined ? undefined : parseCheck(check, core);
      // Decode (and subgroup-check) every partial, used or not: a malformed one is an error.
      const sorted = [...partials].sort((a, b) => a.index - b.index);
      const points = sorted.map((p) => {
        const point = core.g2FromSignature(p.signature);
        if (point === null) {
          throw new CryptoError(
            'THRESHOLD_BAD_PARTIAL',
            `partial ${p.index} is not a valid G2 signature (encoding, subgroup or infinity)`,
            { index: p.index },
          );
        }
        return point;
      });
      // Deterministic choice: the t lowest indices. Any t valid partials interpolate to the
      // same point, so the output does not depend on which t arrived first.
      const used = t === undefined ? sorted : sorted.slice(0, t);
      if (ctx !== undefined && ctx.groupPublicKey === undefined) {
        const bad = badPartials(used, ctx);
        if (bad.length > 0) throwBad(bad);
      }
      const lambdas = lagrangeAtZero(used.map((p) => BigInt(p.index)));
      const signature = core.g2ToSignature(g2MultiScalarMul(points.slice(0, used.length), lambdas));
      if (ctx === undefined || ctx.groupPublicKey === undefined) return signature;
      if (signer.verify(ctx.groupPublicKey, ctx.message, signature)) return signature;
      const indices = used.map((p) => p.index);
      if (ctx.shareKey === undefined) {
        throw new CryptoError(
          'THRESHOLD_BAD_PARTIAL',
          'the combined signature does not verify under the group key: some used partial is bad' +
            (t === undefined ? ', or fewer than the deal threshold were given' : '') +
            ' (pass sharePublicKeys to identify it)',
          { indices },
        );
      }
      const bad = badPartials(used, ctx);
      if (bad.length > 0) throwBad(bad);
      if (t === undefined) {
        throw new CryptoError(
          'THRESHOLD_NOT_ENOUGH_PARTIALS',
          `all ${used.length} partials are valid shares but do not combine to a signature under the group key: fewer than the deal threshold (or share keys of another deal)`,
          { got: used.length, indices },
        );
      }
      throw new CryptoError(
        'THRESHOLD_PARAMS',
        `all ${used.length} used partials are valid shares but do not combine to a signature under the group key: t=${t} is below the deal threshold, or the share keys belong to another deal`,
        { t, indices },
      );
    },
  };
}
