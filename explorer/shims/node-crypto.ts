/**
 * `node:crypto` for the browser build: exactly the calls that the verification path makes, on
 * @noble/hashes and @noble/curves. Production modules (crypto/hash.ts, crypto/ed25519.ts,
 * ledger/log/hashing.ts, consensus/rng.ts) are bundled unchanged with this module in place of
 * `node:crypto` (explorer/build.ts), so their own checks — crypto/ed25519.ts's strict RFC 8032
 * precheck (canonical S, canonical A and R, small-order A and R rejected) — run as they do in
 * the node.
 *
 * Ed25519 `verify` is what OpenSSL does after that precheck: the COFACTORLESS equation, by
 * computing R' = [S]B − [k]A and comparing its encoding with R byte for byte. (noble's own
 * verify, even with zip215: false, checks the cofactored equation and would accept more:
 * test/unit/ed25519.test.ts, "the known split"; test/unit/explorer-shims.test.ts pins that this
 * shim gives the node's answers.)
 */
import { ed25519 as noble } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const PKCS8_PREFIX_LENGTH = 16;
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

function digestOf(algorithm: string, data: Uint8Array): Uint8Array {
  if (algorithm === 'sha256') return sha256(data);
  if (algorithm === 'sha512') return sha512(data);
  throw new Error(`browser build: hash algorithm ${algorithm} is not available`);
}

/** node:crypto `hash(algorithm, data, 'buffer' | 'binary')`: bytes, or one latin1 character per byte. */
export function hash(algorithm: string, data: Uint8Array, encoding = 'hex'): Uint8Array | string {
  const digest = digestOf(algorithm, data);
  if (encoding === 'buffer') return digest;
  if (encoding === 'binary' || encoding === 'latin1') return String.fromCharCode(...digest);
  throw new Error(`browser build: hash output encoding ${encoding} is not available`);
}

/** node:crypto `createHash(algorithm)`: update(…) then digest(). */
export function createHash(algorithm: string) {
  const parts: Uint8Array[] = [];
  const h = {
    update(data: Uint8Array | string) {
      parts.push(typeof data === 'string' ? new TextEncoder().encode(data) : data);
      return h;
    },
    digest() {
      let n = 0;
      for (const p of parts) n += p.length;
      const all = new Uint8Array(n);
      let off = 0;
      for (const p of parts) {
        all.set(p, off);
        off += p.length;
      }
      return digestOf(algorithm, all);
    },
  };
  return h;
}

export function randomBytes(n: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(n));
}

/** An Ed25519 key, as crypto/ed25519.ts hands it back to sign/verify/export. */
interface EdKey {
  readonly kind: 'public' | 'private';
  readonly raw: Uint8Array;
  export(opts: { format: string; type: string }): Uint8Array;
}

function edKey(kind: 'public' | 'private', raw: Uint8Array): EdKey {
  return {
    kind,
    raw,
    export: () => {
      if (kind !== 'public') throw new Error('browser build: only public keys are exported');
      const out = new Uint8Array(SPKI_PREFIX.length + 32);
      out.set(SPKI_PREFIX);
      out.set(raw, SPKI_PREFIX.length);
      return out;
    },
  };
}

/** From a PKCS#8 DER of a raw seed (crypto/ed25519.ts privateKeyObject). */
export function createPrivateKey(input: { key: Uint8Array }): EdKey {
  return edKey('private', input.key.slice(PKCS8_PREFIX_LENGTH));
}

/** From an SPKI DER of a raw key, or from a private key (its public half). */
export function createPublicKey(input: { key: Uint8Array } | EdKey): EdKey {
  if ('kind' in input) return edKey('public', noble.getPublicKey(input.raw));
  return edKey('public', input.key.slice(SPKI_PREFIX.length));
}

export function sign(_algorithm: null, message: Uint8Array, key: EdKey): Uint8Array {
  return noble.sign(message, key.raw);
}

/**
 * The cofactorless check [S]B − [k]A == R (byte-wise on the encodings), k = SHA-512(R ‖ A ‖ M)
 * mod L. Throws when A is not a point on the curve (crypto/ed25519.ts maps that to false).
 */
export function verify(_algorithm: null, message: Uint8Array, key: EdKey, signature: Uint8Array): boolean {
  const A = noble.Point.fromBytes(key.raw, false);
  const r = signature.subarray(0, 32);
  const s = bytesToNumberLE(signature.subarray(32, 64));
  if (s >= L) return false;
  const input = new Uint8Array(64 + message.length);
  input.set(r);
  input.set(key.raw, 32);
  input.set(message, 64);
  const k = bytesToNumberLE(sha512(input)) % L;
  const rPrime = noble.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k)).toBytes();
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= (rPrime[i] as number) ^ (r[i] as number);
  return diff === 0;
}
