/**
 * Public-key derivation per key-file type, so a decoded key file can be checked against itself.
 * An unknown type → CryptoError INVALID_ARGUMENT; a bad secret → the key type's own typed error.
 */
import { bls } from './bls/index.ts';
import { ed25519 } from './ed25519.ts';
import { CryptoError } from './errors.ts';
import type { KeyType } from './keyfile.ts';
import { vrf } from './vrf.ts';

export function derivePublicKey(type: KeyType, secretKey: Uint8Array): Uint8Array {
  switch (type) {
    case 'ed25519':
      return ed25519.publicKeyFromSecret(secretKey);
    case 'bls12-381':
    case 'bls12-381-threshold-share':
      return bls.secretKeyToPublicKey(secretKey);
    case 'ecvrf-edwards25519':
      return vrf.publicKeyFromSecret(secretKey);
    default:
      throw new CryptoError('INVALID_ARGUMENT', `unknown key type ${JSON.stringify(String(type))}`);
  }
}
