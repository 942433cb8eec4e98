/** Scalar-field helpers shared by both backends: secret-key parsing and IETF KeyGen. */
import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToBigInt, concatBytes, isBytes, utf8 } from '../bytes.ts';
import { CryptoError } from '../errors.ts';
import { BLS_CURVE_ORDER, BLS_MIN_IKM_LENGTH, BLS_SECRET_KEY_LENGTH } from './constants.ts';

const KEYGEN_SALT = utf8('BLS-SIG-KEYGEN-SALT-');
// L = ceil((3 * ceil(log2(r))) / 16) = 48: 128 bits more than r, so the mod-r bias is negligible.
const KEYGEN_L = 48;

/** Strict secret-key decoding: exactly 32 bytes, big-endian, 1 <= sk < r. */
export function parseSecretKey(secretKey: unknown): bigint {
  if (!isBytes(secretKey) || secretKey.length !== BLS_SECRET_KEY_LENGTH) {
    throw new CryptoError('INVALID_LENGTH', `BLS secret key must be ${BLS_SECRET_KEY_LENGTH} bytes`, {
      length: isBytes(secretKey) ? secretKey.length : null,
    });
  }
  const sk = bytesToBigInt(secretKey);
  if (sk === 0n || sk >= BLS_CURVE_ORDER) {
    throw new CryptoError('INVALID_KEY', 'BLS secret key must be in [1, r)');
  }
  return sk;
}

export function scalarToBytes(x: bigint): Uint8Array {
  const out = new Uint8Array(BLS_SECRET_KEY_LENGTH);
  let v = x;
  for (let i = BLS_SECRET_KEY_LENGTH - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function modR(x: bigint): bigint {
  const m = x % BLS_CURVE_ORDER;
  return m < 0n ? m + BLS_CURVE_ORDER : m;
}

export function assertIkm(ikm: unknown): asserts ikm is Uint8Array {
  if (!isBytes(ikm) || ikm.length < BLS_MIN_IKM_LENGTH) {
    throw new CryptoError('INVALID_LENGTH', `BLS KeyGen needs at least ${BLS_MIN_IKM_LENGTH} bytes of IKM`, {
      length: isBytes(ikm) ? ikm.length : null,
    });
  }
}

/**
 * KeyGen of draft-irtf-cfrg-bls-signature-05 §2.3 (= EIP-2333 HKDF_mod_r; blst_keygen):
 *   salt = "BLS-SIG-KEYGEN-SALT-"; SK = 0
 *   while SK == 0:
 *     salt = H(salt)
 *     PRK = HKDF-Extract(salt, IKM || I2OSP(0, 1))
 *     OKM = HKDF-Expand(PRK, key_info || I2OSP(L, 2), L)
 *     SK = OS2IP(OKM) mod r
 */
export function ietfKeyGen(ikm: Uint8Array, keyInfo: Uint8Array = new Uint8Array(0)): bigint {
  const ikmPrime = concatBytes(ikm, new Uint8Array(1));
  const info = concatBytes(keyInfo, new Uint8Array([0, KEYGEN_L]));
  let salt = KEYGEN_SALT;
  for (;;) {
    salt = sha256(salt);
    const okm = expand(sha256, extract(sha256, ikmPrime, salt), info, KEYGEN_L);
    const sk = bytesToBigInt(okm) % BLS_CURVE_ORDER;
    if (sk !== 0n) return sk;
  }
}
