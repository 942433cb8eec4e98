/**
 * ECVRF-EDWARDS25519-SHA512-TAI, RFC 9381 §5 with suite_string 0x03 (§5.5).
 *
 * Suite parameters: edwards25519 (RFC 8032 encodings), cofactor 8, ptLen = qLen = 32, cLen = 16,
 * Hash = SHA-512, encode_to_curve = try-and-increment (§5.4.1.1) salted with the public key string,
 * nonce generation per RFC 8032 (§5.4.2.2), verification with validate_key (§5.4.5).
 *
 * `prove` multiplies by secret scalars in constant time: on libsodium (its noclamp scalar
 * multiplications, about 20× faster here) when the ed25519 backend is libsodium, else on noble's
 * constant-time `multiply`. Both give the same bytes — a proof is deterministic — and the tests
 * compare them. `verify` only ever sees public data and uses noble's faster variable-time
 * `multiplyUnsafe` (libsodium's multiplications refuse points outside the prime-order subgroup,
 * which validate_key admits).
 */
import { mulAddUnsafe } from '@noble/curves/abstract/curve.js';
import type { EdwardsPoint } from '@noble/curves/abstract/edwards.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { concatBytes, equalBytes } from './bytes.ts';
import { ed25519Backend } from './ed25519.ts';
import { CryptoError } from './errors.ts';
import { sha512 } from './hash.ts';
import { requireSodium, type Sodium } from './sodium.ts';

const Point = ed25519.Point;
/** Prime subgroup order q (RFC 8032 L). */
const L = Point.Fn.ORDER;

export const VRF_SECRET_KEY_LENGTH = 32;
export const VRF_PUBLIC_KEY_LENGTH = 32;
/** pi = Gamma (ptLen 32) || c (cLen 16) || s (qLen 32). */
export const VRF_PROOF_LENGTH = 80;
/** beta = SHA-512 output. */
export const VRF_OUTPUT_LENGTH = 64;

const PT_LEN = 32;
const C_LEN = 16;
const Q_LEN = 32;

const SUITE = 0x03;
const ENCODE_FRONT = 0x01;
const CHALLENGE_FRONT = 0x02;
const PROOF_TO_HASH_FRONT = 0x03;
const BACK = 0x00;

function assertBytes(value: unknown, length: number, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new CryptoError('INVALID_LENGTH', `${what} must be a Uint8Array`);
  if (value.length !== length) {
    throw new CryptoError('INVALID_LENGTH', `${what} must be ${length} bytes, got ${value.length}`);
  }
}

/** RFC 9381 string_to_point: RFC 8032 §5.1.3 strict decoding (y < p, no "negative zero"). */
function stringToPoint(bytes: Uint8Array): EdwardsPoint | null {
  try {
    return Point.fromBytes(bytes, false);
  } catch {
    return null;
  }
}

interface ExpandedSecret {
  readonly x: bigint;
  /** Second half of SHA-512(SK): the RFC 8032 nonce prefix. */
  readonly prefix: Uint8Array;
}

/** RFC 8032 §5.1.5 key expansion: clamp the first half of SHA-512(seed) into the scalar x. */
function expandSecret(secretKey: Uint8Array): ExpandedSecret {
  assertBytes(secretKey, VRF_SECRET_KEY_LENGTH, 'VRF secret key');
  const h = sha512(secretKey);
  const head = h.slice(0, 32);
  head[0] = (head[0] as number) & 248;
  head[31] = ((head[31] as number) & 127) | 64;
  // A clamped value is a multiple of 8 in [2^254, 2^255): never 0 mod L, so `multiply` accepts it.
  return { x: bytesToNumberLE(head) % L, prefix: h.subarray(32) };
}

/**
 * §5.4.1.1 ECVRF_encode_to_curve_try_and_increment. Hash the salt (PK_string) and alpha with a
 * one-byte counter until the first 32 bytes decode as a point; clear the cofactor. The identity is
 * skipped like an invalid string, as in the RFC's reference code.
 */
function encodeToCurve(salt: Uint8Array, alpha: Uint8Array): EdwardsPoint {
  const buf = concatBytes(Uint8Array.of(SUITE, ENCODE_FRONT), salt, alpha, Uint8Array.of(0, BACK));
  const ctrAt = buf.length - 2;
  for (let ctr = 0; ctr < 256; ctr++) {
    buf[ctrAt] = ctr;
    const candidate = stringToPoint(sha512(buf).subarray(0, PT_LEN));
    if (candidate === null) continue;
    const h = candidate.clearCofactor();
    if (!h.is0()) return h;
  }
  // Probability about 2^-256: no valid point for any one-byte counter.
  throw new CryptoError('INVALID_KEY', 'encode_to_curve: no valid point found');
}

/** §5.4.2.2 nonce: SHA-512(prefix || h_string) as a little-endian integer mod q. */
function generateNonce(prefix: Uint8Array, hString: Uint8Array): bigint {
  return bytesToNumberLE(sha512(concatBytes(prefix, hString))) % L;
}

/** §5.4.3 challenge over (Y, H, Gamma, U, V): the first cLen bytes of the hash, as bytes. */
function challengeBytes(
  yString: Uint8Array,
  hString: Uint8Array,
  gammaString: Uint8Array,
  uString: Uint8Array,
  vString: Uint8Array,
): Uint8Array {
  const str = concatBytes(
    Uint8Array.of(SUITE, CHALLENGE_FRONT),
    yString,
    hString,
    gammaString,
    uString,
    vString,
    Uint8Array.of(BACK),
  );
  return sha512(str).subarray(0, C_LEN);
}

/**
 * The constant-time multiplications by a secret scalar k (0 <= k < q) that `prove` needs, each
 * returning the product's encoding: [k]B, and [k]P for P in the prime-order subgroup (passed with
 * its encoding, which libsodium takes).
 */
interface SecretMultiplier {
  base(k: bigint): Uint8Array;
  point(k: bigint, p: EdwardsPoint, pString: Uint8Array): Uint8Array;
}

/** noble's `multiply`, which rejects 0 (whose product is the identity). */
const nobleMultiplier: SecretMultiplier = {
  base: (k) => (k === 0n ? Point.ZERO : Point.BASE.multiply(k)).toBytes(),
  point: (k, p) => (k === 0n ? Point.ZERO : p.multiply(k)).toBytes(),
};

/**
 * libsodium's noclamp multiplications. They use the scalar's low 255 bits as given (k < q <
 * 2^253) and throw on a zero product, which for k < q and P of prime order means k = 0 only
 * (a nonce of probability 2^-252): that case is answered like noble's.
 */
function sodiumMultiplier(sodium: Sodium): SecretMultiplier {
  return {
    base: (k) => {
      if (k === 0n) return nobleMultiplier.base(k);
      const q = new Uint8Array(PT_LEN);
      sodium.crypto_scalarmult_ed25519_base_noclamp(q, numberToBytesLE(k, Q_LEN));
      return q;
    },
    point: (k, p, pString) => {
      if (k === 0n) return nobleMultiplier.point(k, p, pString);
      const q = new Uint8Array(PT_LEN);
      sodium.crypto_scalarmult_ed25519_noclamp(q, numberToBytesLE(k, Q_LEN), pString);
      return q;
    },
  };
}

export type VrfProverName = 'sodium' | 'noble';

function multiplierFor(name: VrfProverName): SecretMultiplier {
  return name === 'noble' ? nobleMultiplier : sodiumMultiplier(requireSodium());
}

/** Where `prove` multiplies: libsodium when the process verifies Ed25519 on it, else noble. */
export const vrfProver: VrfProverName = ed25519Backend === 'sodium' ? 'sodium' : 'noble';
const chosenMultiplier = multiplierFor(vrfProver);

interface DecodedProof {
  readonly gamma: EdwardsPoint;
  readonly cBytes: Uint8Array;
  readonly c: bigint;
  readonly s: bigint;
}

/** §5.4.4 ECVRF_decode_proof. Returns a reason instead of throwing so `verify` stays total. */
function decodeProof(proof: Uint8Array): DecodedProof | 'gamma' | 's' {
  const gamma = stringToPoint(proof.subarray(0, PT_LEN));
  if (gamma === null) return 'gamma';
  const cBytes = proof.subarray(PT_LEN, PT_LEN + C_LEN);
  const s = bytesToNumberLE(proof.subarray(PT_LEN + C_LEN, PT_LEN + C_LEN + Q_LEN));
  if (s >= L) return 's';
  return { gamma, cBytes, c: bytesToNumberLE(cBytes), s };
}

/** §5.2 steps 3-5: beta = Hash(suite || 0x03 || point_to_string(8 * Gamma) || 0x00). */
function gammaToHash(gamma: EdwardsPoint): Uint8Array {
  return sha512(
    concatBytes(
      Uint8Array.of(SUITE, PROOF_TO_HASH_FRONT),
      gamma.clearCofactor().toBytes(),
      Uint8Array.of(BACK),
    ),
  );
}

/** The VRF public key for a 32-byte seed: identical to the Ed25519 public key (RFC 8032 §5.1.5). */
export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  return chosenMultiplier.base(expandSecret(secretKey).x);
}

/** §5.1 ECVRF_prove: returns pi (80 bytes). Deterministic for a given key and alpha. */
export function prove(secretKey: Uint8Array, alpha: Uint8Array): Uint8Array {
  return proveWith(chosenMultiplier, secretKey, alpha);
}

/**
 * `prove` on the named multiplier, whatever the process uses: for tests and benchmarks that
 * compare them. 'sodium' throws CryptoError ED25519_BACKEND_UNAVAILABLE if libsodium cannot load.
 */
export function proverFor(name: VrfProverName): typeof prove {
  const multiplier = multiplierFor(name);
  return (secretKey, alpha) => proveWith(multiplier, secretKey, alpha);
}

function proveWith(mul: SecretMultiplier, secretKey: Uint8Array, alpha: Uint8Array): Uint8Array {
  if (!(alpha instanceof Uint8Array)) throw new CryptoError('INVALID_LENGTH', 'alpha must be a Uint8Array');
  const { x, prefix } = expandSecret(secretKey);
  const yString = mul.base(x);
  const h = encodeToCurve(yString, alpha);
  const hString = h.toBytes();
  const gammaString = mul.point(x, h, hString);
  const k = generateNonce(prefix, hString);
  const cBytes = challengeBytes(yString, hString, gammaString, mul.base(k), mul.point(k, h, hString));
  const c = bytesToNumberLE(cBytes);
  const s = (k + c * x) % L;
  return concatBytes(gammaString, cBytes, numberToBytesLE(s, Q_LEN));
}

/**
 * §5.3 ECVRF_verify with validate_key = TRUE. Returns beta (64 bytes) for a valid proof and `null`
 * for anything else — wrong lengths, non-Uint8Array input, invalid or small-order public keys,
 * undecodable Gamma, s >= q, or a failed challenge check. Never throws.
 */
export function verify(publicKey: Uint8Array, proof: Uint8Array, alpha: Uint8Array): Uint8Array | null {
  try {
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== VRF_PUBLIC_KEY_LENGTH) return null;
    if (!(proof instanceof Uint8Array) || proof.length !== VRF_PROOF_LENGTH) return null;
    if (!(alpha instanceof Uint8Array)) return null;
    // Steps 1-3 and §5.4.5: strict decoding (so point_to_string(Y) == PK_string), no small order.
    const y = stringToPoint(publicKey);
    if (y === null || y.isSmallOrder()) return null;
    const d = decodeProof(proof);
    if (typeof d === 'string') return null;
    const h = encodeToCurve(publicKey, alpha);
    // c < 2^128 < q and s < q are in range for the variable-time multiplies; 0 yields the identity.
    // U = [s]B - [c]Y: B uses noble's precomputed table. V = [s]H - [c]Gamma: one shared
    // doubling chain (Strauss-Shamir) for both terms.
    const u = Point.BASE.multiplyUnsafe(d.s).subtract(y.multiplyUnsafe(d.c));
    const v = mulAddUnsafe(Point, [h, d.gamma.negate()], [d.s, d.c]);
    const cPrime = challengeBytes(publicKey, h.toBytes(), d.gamma.toBytes(), u.toBytes(), v.toBytes());
    // c and c' are both cLen-byte little-endian encodings: integer equality is byte equality.
    if (!equalBytes(cPrime, d.cBytes)) return null;
    return gammaToHash(d.gamma);
  } catch {
    return null;
  }
}

/**
 * §5.2 ECVRF_proof_to_hash. Does NOT verify the proof: only use on a proof already checked with
 * `verify` (or produced by `prove`). Malformed proofs throw: wrong length → INVALID_LENGTH,
 * undecodable Gamma or s >= q (§5.4.4) → INVALID_KEY.
 */
export function proofToHash(proof: Uint8Array): Uint8Array {
  assertBytes(proof, VRF_PROOF_LENGTH, 'VRF proof');
  const d = decodeProof(proof);
  if (d === 'gamma') throw new CryptoError('INVALID_KEY', 'VRF proof: Gamma is not a valid point encoding');
  if (d === 's') throw new CryptoError('INVALID_KEY', 'VRF proof: s is not below the group order');
  return gammaToHash(d.gamma);
}

/**
 * Whether `publicKey` is a VRF public key `verify` can accept (§5.4.5 validate_key: a strict
 * encoding of a point not of small order). For checking keys where they are registered.
 */
export function isValidPublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== VRF_PUBLIC_KEY_LENGTH) return false;
  try {
    const y = stringToPoint(publicKey);
    return y !== null && !y.isSmallOrder();
  } catch {
    return false;
  }
}

export const vrf = { prove, verify, proofToHash, publicKeyFromSecret, isValidPublicKey };

/** @internal Intermediate steps, exported for the RFC 9381 Appendix B.3 tests only. */
export const vrfInternals = {
  encodeToCurve: (publicKey: Uint8Array, alpha: Uint8Array): Uint8Array =>
    encodeToCurve(publicKey, alpha).toBytes(),
  secretScalar: (secretKey: Uint8Array): bigint => expandSecret(secretKey).x,
  /** The 64-byte k_string of §5.4.2.2 step 3, before reduction mod q. */
  nonceString: (secretKey: Uint8Array, hString: Uint8Array): Uint8Array =>
    sha512(concatBytes(expandSecret(secretKey).prefix, hString)),
  /** [k]B, or [k]P for `point` a prime-order point's encoding, on the named multiplier. */
  multiply: (name: VrfProverName, k: bigint, point?: Uint8Array): Uint8Array => {
    const mul = multiplierFor(name);
    return point === undefined ? mul.base(k) : mul.point(k, Point.fromBytes(point), point);
  },
};
