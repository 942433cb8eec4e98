/**
 * BLS12-381 constants for the ciphersuite used by Verity: the Ethereum consensus one,
 * `BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_` (draft-irtf-cfrg-bls-signature-05 §4.2.3),
 * minimal-pubkey-size variant — public keys are compressed G1 points (48 bytes), signatures are
 * compressed G2 points (96 bytes).
 */

/** Domain separation tag for message signatures (hash_to_point). */
export const BLS_DST_SIGNATURE = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';
/** Domain separation tag for proofs of possession (hash_pubkey_to_point), draft-05 §3.3. */
export const BLS_DST_POP = 'BLS_POP_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';

export const BLS_SECRET_KEY_LENGTH = 32;
export const BLS_PUBLIC_KEY_LENGTH = 48;
export const BLS_SIGNATURE_LENGTH = 96;
/** KeyGen input keying material must be at least 32 bytes (draft-05 §2.3). */
export const BLS_MIN_IKM_LENGTH = 32;

/** r, the order of G1, G2 and of the scalar field. */
export const BLS_CURVE_ORDER = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;

/** Largest committee a threshold deal / combine accepts; share indices are 1..BLS_THRESHOLD_MAX_N. */
export const BLS_THRESHOLD_MAX_N = 1024;
/** A dealer seed is secret keying material: same floor as KeyGen. */
export const BLS_THRESHOLD_MIN_SEED_LENGTH = 32;
