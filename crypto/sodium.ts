/**
 * libsodium through `sodium-native`, an optional dependency: loaded once, on first use, or null
 * when it is not installed or fails to load. Callers keep a pure-JS or OpenSSL path for that case,
 * and the tests compare both paths on the same inputs.
 */
import { createRequire } from 'node:module';
import { CryptoError } from './errors.ts';

/** The part of sodium-native Verity uses. */
export interface Sodium {
  crypto_sign_verify_detached(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean;
  /** q = [n]B; n is any 32-byte scalar below 2^255. Throws on n ≡ 0 (mod L). Constant time. */
  crypto_scalarmult_ed25519_base_noclamp(q: Uint8Array, n: Uint8Array): void;
  /**
   * q = [n]P for P a canonical encoding of a point in the prime-order subgroup. Throws on any
   * other P or an identity result. Constant time.
   */
  crypto_scalarmult_ed25519_noclamp(q: Uint8Array, n: Uint8Array, p: Uint8Array): void;
}

let loaded: Sodium | null | undefined;

/** libsodium, or null if it cannot be loaded in this process. Memoised. */
export function loadSodium(): Sodium | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('sodium-native') as Sodium;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}

/** libsodium, or CryptoError ED25519_BACKEND_UNAVAILABLE where it cannot load (a backend asked for by name). */
export function requireSodium(): Sodium {
  const sodium = loadSodium();
  if (sodium === null)
    throw new CryptoError('ED25519_BACKEND_UNAVAILABLE', 'sodium-native is not installed or failed to load');
  return sodium;
}
