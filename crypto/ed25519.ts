/**
 * Ed25519 (RFC 8032, pure EdDSA). Signing on node:crypto / OpenSSL; verification on libsodium
 * (`sodium-native`, an optional dependency) when it loads, else on OpenSSL — both native, ~15×
 * faster than pure JS, and libsodium about 1.5× faster than OpenSSL again (npm run bench:crypto).
 * VERITY_ED25519_BACKEND picks: unset, empty or `auto` → libsodium if it loads, else OpenSSL;
 * `sodium` → libsodium or, if it cannot load, a CryptoError ED25519_BACKEND_UNAVAILABLE thrown by
 * the import; `openssl` → OpenSSL; anything else → CryptoError ED25519_BACKEND_INVALID.
 * `ed25519Backend` says which one is in use.
 *
 * Verification rule — strict RFC 8032 + cofactorless equation + small-order A and R rejected.
 * `verify(signature, message, publicKey)` is true exactly when all of these hold:
 *  1. lengths: public key A 32 bytes, signature R ‖ S 64 bytes (and every argument a Uint8Array);
 *  2. S is canonical: S < L (the prime group order), so signatures are not malleable (§5.1.7);
 *  3. A and R are canonical point encodings (§5.1.3): y < p, and x = 0 does not carry a set sign
 *     bit; they must decode to points on the curve;
 *  4. neither A nor R is one of the 8 small-order points (the identity, the point of order 2, the
 *     2 of order 4 and the 4 of order 8 — each has exactly one canonical encoding, listed below,
 *     and rule 3 already rejects every non-canonical one);
 *  5. the cofactorless equation [S]B = R + [k]A holds, k = SHA-512(R ‖ A ‖ M) mod L (OpenSSL
 *     computes R' = [S]B − [k]A and compares its encoding with R byte for byte).
 * Rules 1-4 are checked here (passesPrecheck) before either backend sees the bytes, so the verdict
 * depends on neither's version. (OpenSSL 3.5, in Node 24, was observed to refuse small-order A and
 * an identity R by itself; that is neither RFC 8032 nor documented OpenSSL behaviour, so nothing
 * relies on it.) Both backends then check rule 5 the same way: libsodium's
 * crypto_sign_verify_detached also computes R' = [S]B − [k]A and compares its encoding with R
 * byte for byte (cofactorless; its own refusals of small-order and non-canonical inputs are a
 * subset of rules 2-4). So every node gets the same verdict whichever backend it runs —
 * test/unit/ed25519.test.ts runs the rule's tests on each backend and compares them on the same
 * adversarial inputs.
 *
 * Consequences, pinned by test/unit/ed25519.test.ts:
 *  - a mixed-order key A = [a]B + T (T of order 8: a key with a torsion component) is not
 *    rejected, but a signature made with it verifies only when [k]T = 0, i.e. 8 | k — the
 *    cofactorless verdict. Keys derived from a seed are never mixed-order;
 *  - cofactored verifiers ([8][S]B = [8]R + [8][k]A, which RFC 8032 §5.1.7 also permits; ZIP-215;
 *    @noble/curves even with zip215: false) accept strictly more: signatures with mixed-order A
 *    or R, and small-order R such as the identity with S = k·a. Everything accepted here is
 *    accepted by them; honest signers (RFC 8032 keys and nonces) never hit the difference.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  sign as nodeSign,
  verify as nodeVerify,
  randomBytes,
} from 'node:crypto';
import { byteKey } from './bytes.ts';
import { CryptoError } from './errors.ts';
import { LruCache } from './lru.ts';
import { loadSodium, requireSodium, type Sodium } from './sodium.ts';

export type Ed25519BackendName = 'sodium' | 'openssl';

/** Whether libsodium can be loaded in this process. */
export function sodiumAvailable(): boolean {
  return loadSodium() !== null;
}

export const ED25519_SECRET_KEY_LENGTH = 32;
export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

// DER wrappers for raw keys: PKCS#8 OneAsymmetricKey and SubjectPublicKeyInfo for OID 1.3.101.112.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

// Group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

export interface Ed25519KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** Hot keys (validators, busy senders) are parsed into OpenSSL once. */
const publicKeys = new LruCache<KeyObject>(4096);
/**
 * A node signs with one key, a load generator or a test round-robin with hundreds: once warm the
 * cache keeps as few as half its size, so a cycle over more keys than that misses more and more
 * often, and over its full size on every key. A parse costs about two signatures: at 64 entries,
 * 78–92 µs per signature over 256 keys against 26–32 µs over 32.
 */
const privateKeys = new LruCache<KeyObject>(1024);

function privateKeyObject(secretKey: Uint8Array): KeyObject {
  return privateKeys.getOrMake(byteKey(secretKey), () =>
    createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, secretKey]), format: 'der', type: 'pkcs8' }),
  );
}

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return publicKeys.getOrMake(byteKey(publicKey), () =>
    createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' }),
  );
}

function checkSecretKey(secretKey: unknown): asserts secretKey is Uint8Array {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== ED25519_SECRET_KEY_LENGTH) {
    throw new CryptoError('INVALID_LENGTH', 'ed25519 secret key must be a 32-byte seed (Uint8Array)');
  }
}

/**
 * The canonical encodings of the 8 points of small order (the torsion subgroup E[8]): identity
 * (0, 1); (0, −1) of order 2; (±√−1, 0) of order 4; and the four of order 8. As hex:
 */
const SMALL_ORDER_ENCODINGS: readonly Uint8Array[] = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2: y = p − 1
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4: y = 0, x even
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4: y = 0, x odd
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
].map((h) => new Uint8Array(Buffer.from(h, 'hex')));

/**
 * Whether a canonical 32-byte encoding is one of the 8 small-order points. (Non-canonical
 * encodings of them — y + p for y < 19, x = 0 with the sign bit — fail isCanonicalPointEncoding.)
 */
export function isSmallOrderEncoding(enc: Uint8Array): boolean {
  if (!(enc instanceof Uint8Array) || enc.length !== 32) return false;
  outer: for (const so of SMALL_ORDER_ENCODINGS) {
    for (let i = 0; i < 32; i++) if (enc[i] !== so[i]) continue outer;
    return true;
  }
  return false;
}

/** S < L, comparing little-endian bytes from the most significant end. */
export function isCanonicalScalar(s: Uint8Array): boolean {
  if (!(s instanceof Uint8Array) || s.length !== 32) return false;
  for (let i = 31; i >= 0; i--) {
    const a = s[i] as number;
    const b = L_LE[i] as number;
    if (a < b) return true;
    if (a > b) return false;
  }
  return false; // S == L
}

/**
 * Canonical point encoding: the 255-bit y is < p = 2^255 - 19, and the sign bit is clear when
 * x = 0 (y = 1 or y = p - 1). Curve membership itself is left to the decoder.
 */
export function isCanonicalPointEncoding(enc: Uint8Array): boolean {
  if (!(enc instanceof Uint8Array) || enc.length !== 32) return false;
  const top = (enc[31] as number) & 0x7f;
  const sign = (enc[31] as number) & 0x80;
  let middleAllFF = true;
  let middleAllZero = true;
  for (let i = 1; i < 31; i++) {
    if (enc[i] !== 0xff) middleAllFF = false;
    if (enc[i] !== 0) middleAllZero = false;
  }
  const low = enc[0] as number;
  if (top === 0x7f && middleAllFF) {
    if (low >= 0xed) return false; // y ≥ p
    if (low === 0xec && sign) return false; // y = p - 1 → x = 0 with sign bit set
  }
  if (top === 0 && middleAllZero && low === 1 && sign) return false; // y = 1 → x = 0 with sign bit
  return true;
}

/**
 * Derives a key pair; with no seed (`undefined`), draws one from the OS CSPRNG. Anything but
 * `undefined` or a 32-byte Uint8Array (null, a number, a string…) → CryptoError INVALID_LENGTH.
 */
export function keygen(seed?: Uint8Array): Ed25519KeyPair {
  if (seed !== undefined) checkSecretKey(seed);
  const secretKey = seed === undefined ? new Uint8Array(randomBytes(32)) : seed.slice();
  const spki = createPublicKey(privateKeyObject(secretKey)).export({ format: 'der', type: 'spki' });
  return { secretKey, publicKey: new Uint8Array(spki.subarray(SPKI_PREFIX.length)) };
}

export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  checkSecretKey(secretKey);
  return keygen(secretKey).publicKey;
}

/** Throws CryptoError INVALID_LENGTH on a secret key that is not a 32-byte seed or a non-bytes message. */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  checkSecretKey(secretKey);
  if (!(message instanceof Uint8Array)) throw new CryptoError('INVALID_LENGTH', 'message must be bytes');
  return new Uint8Array(nodeSign(null, message, privateKeyObject(secretKey)));
}

/** Strict verification (see the module comment). Never throws. */
/**
 * Rules 1-4 of the module comment — everything but curve membership and the equation, which
 * OpenSSL checks: types and lengths, S < L, canonical A and R, neither A nor R of small order.
 * Exported so the rule is testable independently of what the linked OpenSSL also happens to refuse.
 */
export function passesPrecheck(signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || !(publicKey instanceof Uint8Array)) return false;
  if (signature.length !== ED25519_SIGNATURE_LENGTH || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    return false;
  }
  if (!isCanonicalScalar(signature.subarray(32))) return false;
  const r = signature.subarray(0, 32);
  if (!isCanonicalPointEncoding(r) || !isCanonicalPointEncoding(publicKey)) return false;
  return !isSmallOrderEncoding(r) && !isSmallOrderEncoding(publicKey);
}

function opensslEquation(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return nodeVerify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false; // not a point on the curve
  }
}

function sodiumEquation(sodium: Sodium): typeof opensslEquation {
  return (signature, message, publicKey) => {
    try {
      return sodium.crypto_sign_verify_detached(signature, message, publicKey);
    } catch {
      return false;
    }
  };
}

/**
 * Strict verification (see the module comment) on the named backend, whatever the process uses:
 * for tests and benchmarks that compare them. 'sodium' throws CryptoError
 * ED25519_BACKEND_UNAVAILABLE if libsodium cannot load.
 */
export function verifierFor(backend: Ed25519BackendName): typeof verify {
  let equation: typeof opensslEquation;
  if (backend === 'openssl') equation = opensslEquation;
  else if (backend === 'sodium') equation = sodiumEquation(requireSodium());
  else throw new CryptoError('ED25519_BACKEND_INVALID', `unknown ed25519 backend: ${String(backend)}`);
  return (signature, message, publicKey) =>
    message instanceof Uint8Array &&
    passesPrecheck(signature, publicKey) &&
    equation(signature, message, publicKey);
}

function chooseBackend(): Ed25519BackendName {
  const forced = process.env.VERITY_ED25519_BACKEND;
  if (forced === undefined || forced === '' || forced === 'auto')
    return sodiumAvailable() ? 'sodium' : 'openssl';
  if (forced === 'sodium' || forced === 'openssl') return forced;
  throw new CryptoError(
    'ED25519_BACKEND_INVALID',
    `VERITY_ED25519_BACKEND must be sodium, openssl or auto, got ${forced}`,
  );
}

/** The verification backend this process uses: libsodium when it loads, unless told otherwise. */
export const ed25519Backend: Ed25519BackendName = chooseBackend();
const verifyChosen = verifierFor(ed25519Backend);

/** Strict verification (see the module comment) on `ed25519Backend`. Never throws. */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  return verifyChosen(signature, message, publicKey);
}

export const ed25519 = { keygen, sign, verify, publicKeyFromSecret } as const;
