// Verity's Noise crypto must seal and open exactly as Noise's default does (ChaCha20-Poly1305 is
// deterministic for a key and nonce, so the bytes must be equal), on both sides of the size at
// which the default switches implementation, for contiguous and chunked input, and must never use
// a stale key.
import { randomBytes } from 'node:crypto';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { Uint8ArrayList } from 'uint8arraylist';
import { describe, expect, it } from 'vitest';
import { NODE_CIPHER_MIN_BYTES, noiseCrypto } from '../../src/net/noise-crypto.ts';

const SIZES = [
  0,
  1,
  NODE_CIPHER_MIN_BYTES - 1,
  NODE_CIPHER_MIN_BYTES,
  NODE_CIPHER_MIN_BYTES + 1,
  5000,
  65_535,
];
const bytes = (n: number) => new Uint8Array(randomBytes(n));
const flat = (b: Uint8Array | Uint8ArrayList) => (b instanceof Uint8Array ? b : b.subarray());
const chunked = (b: Uint8Array) => new Uint8ArrayList(b.subarray(0, 7), b.subarray(7, 700), b.subarray(700));

describe('noiseCrypto (ChaCha20-Poly1305 with a cached key)', () => {
  it('seals byte for byte as the default and each opens the other', () => {
    const k = bytes(32);
    const ad = bytes(32);
    for (const size of SIZES) {
      const nonce = bytes(12);
      const text = bytes(size);
      const ours = flat(noiseCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k));
      const theirs = flat(defaultCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k));
      expect(Buffer.from(ours).equals(Buffer.from(theirs)), `size ${size}`).toBe(true);
      expect(ours.byteLength).toBe(size + 16);
      expect(Buffer.from(flat(noiseCrypto.chaCha20Poly1305Decrypt(theirs, nonce, ad, k))).equals(text)).toBe(
        true,
      );
      expect(Buffer.from(flat(defaultCrypto.chaCha20Poly1305Decrypt(ours, nonce, ad, k))).equals(text)).toBe(
        true,
      );
    }
  });

  it('takes chunked input (Uint8ArrayList) as the same bytes', () => {
    const k = bytes(32);
    const nonce = bytes(12);
    const ad = new Uint8Array(0);
    for (const size of [NODE_CIPHER_MIN_BYTES, 5000]) {
      const text = bytes(size);
      const sealed = flat(noiseCrypto.chaCha20Poly1305Encrypt(chunked(text), nonce, ad, k));
      expect(
        Buffer.from(sealed).equals(
          Buffer.from(flat(defaultCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k))),
        ),
      ).toBe(true);
      const opened = flat(noiseCrypto.chaCha20Poly1305Decrypt(chunked(sealed), nonce, ad, k));
      expect(Buffer.from(opened).equals(text)).toBe(true);
    }
  });

  it('rejects a flipped byte, another nonce, other associated data and another key', () => {
    const k = bytes(32);
    const nonce = bytes(12);
    const ad = bytes(32);
    const text = bytes(4000);
    const sealed = flat(noiseCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k));
    for (const at of [0, 2000, sealed.byteLength - 1]) {
      const bad = Uint8Array.from(sealed);
      bad[at] = (bad[at] as number) ^ 1;
      expect(() => noiseCrypto.chaCha20Poly1305Decrypt(bad, nonce, ad, k), `byte ${at}`).toThrow();
    }
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, bytes(12), ad, k)).toThrow();
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, bytes(32), k)).toThrow();
    expect(() => noiseCrypto.chaCha20Poly1305Decrypt(sealed, nonce, ad, bytes(32))).toThrow();
  });

  it('never uses a stale key: a key array changed in place seals with its new bytes', () => {
    const k = bytes(32);
    const nonce = bytes(12);
    const ad = new Uint8Array(0);
    const text = bytes(3000);
    const before = flat(noiseCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k)); // caches k's KeyObject
    k.set(bytes(32));
    const after = flat(noiseCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k));
    expect(Buffer.from(after).equals(Buffer.from(before))).toBe(false);
    expect(
      Buffer.from(after).equals(Buffer.from(flat(defaultCrypto.chaCha20Poly1305Encrypt(text, nonce, ad, k)))),
    ).toBe(true);
  });

  it('keeps everything else from the default (handshake, hashing)', () => {
    expect(noiseCrypto.generateX25519SharedKey).toBe(defaultCrypto.generateX25519SharedKey);
    expect(noiseCrypto.hashSHA256).toBe(defaultCrypto.hashSHA256);
    expect(noiseCrypto.getHKDF).toBe(defaultCrypto.getHKDF);
  });
});
