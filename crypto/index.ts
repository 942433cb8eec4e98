/**
 * Verity's cryptography: hashes, ed25519 (node:crypto), ECVRF (RFC 9381), BLS12-381 (blst or
 * noble) with aggregate and threshold signatures, and key files. Pure: no I/O, no clock.
 */
export { bls, createBls } from './bls/index.ts';
export * from './bytes.ts';
export { ed25519 } from './ed25519.ts';
export { CryptoError, type CryptoErrorCode, VerityError } from './errors.ts';
export { keccak256, sha256, sha512 } from './hash.ts';
export * from './keyfile.ts';
export { derivePublicKey } from './keys.ts';
export { vrf } from './vrf.ts';
