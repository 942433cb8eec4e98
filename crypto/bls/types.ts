/** Public and internal types of the BLS module. All byte strings are compressed encodings. */
import type { Fp2 } from '@noble/curves/abstract/tower.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';

export type BlsBackendName = 'blst' | 'noble';

/** A G2 point in @noble/curves' representation (threshold combine does its MSM there). */
export type G2Point = WeierstrassPoint<Fp2>;

export interface BlsKeyPair {
  /** 32-byte big-endian scalar, 1 <= sk < r. */
  readonly secretKey: Uint8Array;
  /** 48-byte compressed G1 point. */
  readonly publicKey: Uint8Array;
}

export interface ThresholdShare {
  /** Evaluation point of the dealer polynomial, 1..n. */
  readonly index: number;
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

export interface PartialSignature {
  readonly index: number;
  /** 96-byte compressed G2 point: H(m)^{sk_index}. */
  readonly signature: Uint8Array;
}

export interface ThresholdDeal {
  readonly threshold: number;
  /** g1^{a_0}: the key that combined signatures verify under (same as `commitments[0]`). */
  readonly groupPublicKey: Uint8Array;
  /** Feldman commitments g1^{a_j}, j = 0..t-1. */
  readonly commitments: readonly Uint8Array[];
  readonly shares: readonly ThresholdShare[];
}

export interface BlsThreshold {
  /**
   * Trusted-dealer Shamir sharing of a fresh group key, deterministic from `seed` (>= 32 bytes).
   * t < 1, t > n or n > BLS_THRESHOLD_MAX_N → CryptoError THRESHOLD_PARAMS.
   */
  deal(t: number, n: number, seed: Uint8Array): ThresholdDeal;
  /** Feldman check g1^{sk_i} == Π C_j^{i^j}, plus publicKey == g1^{sk_i}. Never throws. */
  verifyShareAgainstCommitments(share: ThresholdShare, commitments: readonly Uint8Array[]): boolean;
  /** The public key of share `index` derived from the commitments alone: Π C_j^{index^j}. */
  sharePublicKeyFromCommitments(commitments: readonly Uint8Array[], index: number): Uint8Array;
  signShare(share: ThresholdShare, message: Uint8Array): PartialSignature;
  /** Never throws. */
  verifyShare(sharePublicKey: Uint8Array, message: Uint8Array, partial: PartialSignature): boolean;
  /**
   * Lagrange interpolation at 0 in the exponent over the first `t` partials by ascending index.
   * Any t distinct valid partials give byte-identical output. Partials are not verified here
   * (see verifyShare): a wrong but well-formed one yields a signature that fails verify.
   */
  combine(partials: readonly PartialSignature[], t: number): Uint8Array;
}

export interface Bls {
  readonly backend: BlsBackendName;
  /** IETF KeyGen (draft-irtf-cfrg-bls-signature-05 §2.3, empty key_info); ikm >= 32 bytes. */
  keygen(ikm: Uint8Array): BlsKeyPair;
  secretKeyToPublicKey(secretKey: Uint8Array): Uint8Array;
  /** KeyValidate: a valid compressed G1 point, in the r-torsion subgroup, not infinity. Never throws. */
  keyValidate(publicKey: Uint8Array): boolean;
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array;
  aggregatePublicKeys(publicKeys: readonly Uint8Array[]): Uint8Array;
  fastAggregateVerify(publicKeys: readonly Uint8Array[], message: Uint8Array, signature: Uint8Array): boolean;
  aggregateVerify(
    publicKeys: readonly Uint8Array[],
    messages: readonly Uint8Array[],
    signature: Uint8Array,
  ): boolean;
  popProve(secretKey: Uint8Array): Uint8Array;
  popVerify(publicKey: Uint8Array, proof: Uint8Array): boolean;
  readonly threshold: BlsThreshold;
}

/**
 * What a backend implements. The facade (index.ts) has already checked types and lengths, parsed
 * secret keys (1 <= sk < r) and rejected empty lists; the core may throw on anything malformed,
 * and the facade turns that into `false` (verify-style) or a typed error (aggregate-style).
 */
export interface BlsCore {
  readonly name: BlsBackendName;
  keygen(ikm: Uint8Array): Uint8Array;
  skToPk(secretKey: Uint8Array): Uint8Array;
  keyValidate(publicKey: Uint8Array): boolean;
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Subgroup-checked; infinity allowed (spec vector aggregate_infinity_signature). Throws if invalid. */
  aggregateSignatures(signatures: readonly Uint8Array[]): Uint8Array;
  /** Every key KeyValidate'd; the sum may be infinity. Throws if invalid. */
  aggregatePublicKeys(publicKeys: readonly Uint8Array[]): Uint8Array;
  fastAggregateVerify(publicKeys: readonly Uint8Array[], message: Uint8Array, signature: Uint8Array): boolean;
  aggregateVerify(
    publicKeys: readonly Uint8Array[],
    messages: readonly Uint8Array[],
    signature: Uint8Array,
  ): boolean;
  /** Decode a partial signature for the MSM: subgroup-checked, not infinity; null if not. */
  g2FromSignature(signature: Uint8Array): G2Point | null;
  /** Compressed encoding of an arbitrary G2 point (infinity included). */
  g2ToSignature(point: G2Point): Uint8Array;
}
