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
  /**
   * H(m)^{sk_i} tagged with the share's index. A non-object share → CryptoError INVALID_ARGUMENT,
   * an index outside 1..BLS_THRESHOLD_MAX_N → THRESHOLD_PARAMS, a bad secret key or a non-bytes
   * message → INVALID_LENGTH / INVALID_KEY.
   */
  signShare(share: ThresholdShare, message: Uint8Array): PartialSignature;
  /**
   * Whether `partial.signature` is a valid BLS signature on `message` under `sharePublicKey` and
   * `partial.index` is in range. The caller looks the key up by `partial.index`: the index itself
   * is not bound into the signature. Never throws; any malformed input → false.
   */
  verifyShare(sharePublicKey: Uint8Array, message: Uint8Array, partial: PartialSignature): boolean;
  /**
   * Lagrange interpolation at 0 in the exponent: σ = Π σ_i^{λ_i} over
   *  - the `t` partials with the lowest indices, when `t` is given (the output then does not
   *    depend on which or how many extra partials arrived);
   *  - all given partials, when `t` is omitted — correct whenever at least the deal's threshold
   *    of them are valid (interpolating more points of a degree t−1 polynomial gives the same a0).
   * Any t distinct valid partials give byte-identical output.
   *
   * Typed errors (CryptoError):
   *  - THRESHOLD_PARAMS: `t` given but not an integer in 1..BLS_THRESHOLD_MAX_N; a malformed `check`;
   *  - THRESHOLD_NOT_ENOUGH_PARTIALS: fewer than `t` partials (or none);
   *  - THRESHOLD_DUPLICATE_INDEX: two partials with one index;
   *  - THRESHOLD_BAD_PARTIAL (meta.index): a malformed partial — not an object, index not an
   *    integer in 1..BLS_THRESHOLD_MAX_N, signature not 96 bytes, not a point on the curve, not in
   *    the G2 subgroup, or the point at infinity. Every given partial is checked, used or not.
   *
   * Without `check`, a well-formed but WRONG partial (a valid G2 point that is not H(m)^{sk_i}:
   * another share's signature, a signature on another message, a random subgroup point) cannot
   * be detected: the result is then a well-formed signature that fails `verify` under the group
   * key. That is what `verifyShare` (per partial, before combining) or `check` is for.
   *
   * With `check`, the result is verified before it is returned:
   *  - `groupPublicKey`: σ must verify on `message` under it (one pairing check);
   *  - `sharePublicKeys`: each used partial is checked with verifyShare — up front when there is
   *    no group key, otherwise only if σ fails. A used partial that fails (or whose index has no
   *    key) → THRESHOLD_BAD_PARTIAL with meta.index (the lowest bad index) and meta.indices (all).
   *  - σ fails under the group key but no culprit is known → THRESHOLD_BAD_PARTIAL without
   *    meta.index when no share keys were given ("some used partial is bad", meta.indices = the
   *    used ones; or, with `t` omitted, fewer than the deal's threshold were given); when every
   *    used partial verifies under its share key, the inputs are inconsistent:
   *    THRESHOLD_NOT_ENOUGH_PARTIALS if `t` was omitted (fewer partials than the deal's
   *    threshold), THRESHOLD_PARAMS if it was given (share keys of another deal, or a wrong t).
   */
  combine(partials: readonly PartialSignature[], t?: number, check?: ThresholdCombineCheck): Uint8Array;
}

/** Optional verification context for `threshold.combine`: `message` and at least one key source. */
export interface ThresholdCombineCheck {
  /** The message every partial signs. */
  readonly message: Uint8Array;
  /** The deal's group key (`ThresholdDeal.groupPublicKey`). */
  readonly groupPublicKey?: Uint8Array | undefined;
  /** Share public keys by share index (a Map, or a lookup returning undefined for unknown indices). */
  readonly sharePublicKeys?:
    | ReadonlyMap<number, Uint8Array>
    | ((index: number) => Uint8Array | undefined)
    | undefined;
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
