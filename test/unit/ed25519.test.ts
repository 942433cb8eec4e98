import { ed25519 as noble } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../crypto/bytes.ts';
import { ed25519, isCanonicalPointEncoding, isCanonicalScalar } from '../../crypto/ed25519.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { seededBytes } from '../helpers/seeded.ts';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

function le(n: bigint, len = 32): Uint8Array {
  const out = new Uint8Array(len);
  let x = n;
  for (let i = 0; i < len; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

function nobleVerify(sig: Uint8Array, msg: Uint8Array, pk: Uint8Array): boolean {
  try {
    return noble.verify(sig, msg, pk, { zip215: false });
  } catch {
    return false;
  }
}

describe('ed25519 differential vs @noble/curves (zip215: false)', () => {
  const rand = seededBytes('ed25519-diff');

  it('agrees on keys, signatures and verification for random inputs', () => {
    for (let i = 0; i < 100; i++) {
      const seed = rand(32);
      const msg = rand(i * 7);
      const ours = ed25519.keygen(seed);
      expect(toHex(ours.publicKey)).toBe(toHex(noble.getPublicKey(seed)));
      const sig = ed25519.sign(msg, seed);
      expect(toHex(sig)).toBe(toHex(noble.sign(msg, seed)));
      expect(ed25519.verify(sig, msg, ours.publicKey)).toBe(true);
      expect(nobleVerify(sig, msg, ours.publicKey)).toBe(true);
    }
  });

  it('agrees on every single-bit corruption of signature, message and key', () => {
    const seed = rand(32);
    const msg = rand(40);
    const { publicKey } = ed25519.keygen(seed);
    const sig = ed25519.sign(msg, seed);
    for (let bit = 0; bit < 512; bit++) {
      const bad = sig.slice();
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(ed25519.verify(bad, msg, publicKey)).toBe(false);
      expect(nobleVerify(bad, msg, publicKey)).toBe(false);
    }
    for (let bit = 0; bit < 256; bit++) {
      const badPk = publicKey.slice();
      badPk[bit >> 3] = (badPk[bit >> 3] as number) ^ (1 << (bit & 7));
      expect(ed25519.verify(sig, msg, badPk)).toBe(nobleVerify(sig, msg, badPk));
      expect(ed25519.verify(sig, msg, badPk)).toBe(false);
      const badMsg = msg.slice();
      badMsg[bit % msg.length] = (badMsg[bit % msg.length] as number) ^ 1;
      expect(ed25519.verify(sig, badMsg, publicKey)).toBe(false);
    }
  });

  it('agrees on random garbage signatures and keys', () => {
    for (let i = 0; i < 200; i++) {
      const sig = rand(64);
      const pk = rand(32);
      const msg = rand(16);
      expect(ed25519.verify(sig, msg, pk)).toBe(nobleVerify(sig, msg, pk));
    }
  });
});

describe('ed25519 strictness', () => {
  const seed = new Uint8Array(32).fill(7);
  const msg = new Uint8Array([1, 2, 3]);
  const { publicKey } = ed25519.keygen(seed);
  const sig = ed25519.sign(msg, seed);

  it('rejects non-canonical S (S + L), which a lax verifier accepts', () => {
    const s = BigInt(`0x${toHex(sig.slice(32).reverse())}`);
    const malleated = concatBytes(sig.slice(0, 32), le(s + L));
    expect(ed25519.verify(malleated, msg, publicKey)).toBe(false);
    expect(isCanonicalScalar(le(L))).toBe(false);
    expect(isCanonicalScalar(le(L - 1n))).toBe(true);
    expect(isCanonicalScalar(le(2n ** 256n - 1n))).toBe(false);
  });

  it('classifies point encodings: y ≥ p and x = 0 with sign bit are non-canonical', () => {
    expect(isCanonicalPointEncoding(le(P))).toBe(false);
    expect(isCanonicalPointEncoding(le(P + 1n))).toBe(false);
    expect(isCanonicalPointEncoding(le(2n ** 255n - 1n))).toBe(false);
    expect(isCanonicalPointEncoding(le(P - 1n))).toBe(true);
    expect(isCanonicalPointEncoding(le(P - 1n + 2n ** 255n))).toBe(false);
    expect(isCanonicalPointEncoding(le(1n))).toBe(true);
    expect(isCanonicalPointEncoding(le(1n + 2n ** 255n))).toBe(false);
    expect(isCanonicalPointEncoding(publicKey)).toBe(true);
  });

  it('rejects a non-canonical encoding of the public key even where it decodes to the same point', () => {
    // y = 1 (the identity) encoded as y + p: same point, non-canonical bytes.
    expect(ed25519.verify(sig, msg, le(P + 1n))).toBe(false);
  });

  it('returns false, never throws, for malformed lengths and types', () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(63), new Uint8Array(65), sig.slice(0, 10)]) {
      expect(ed25519.verify(bad, msg, publicKey)).toBe(false);
    }
    for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(33)]) {
      expect(ed25519.verify(sig, msg, bad)).toBe(false);
    }
    expect(ed25519.verify('x' as unknown as Uint8Array, msg, publicKey)).toBe(false);
    expect(ed25519.verify(sig, msg, null as unknown as Uint8Array)).toBe(false);
  });

  it('sign and keygen throw a typed error on bad secret key lengths', () => {
    for (const bad of [new Uint8Array(0), new Uint8Array(31), new Uint8Array(64)]) {
      expect(() => ed25519.sign(msg, bad)).toThrow(CryptoError);
      expect(() => ed25519.keygen(bad)).toThrow(CryptoError);
      try {
        ed25519.sign(msg, bad);
      } catch (e) {
        expect((e as CryptoError).code).toBe('INVALID_LENGTH');
      }
    }
  });

  it('keygen without a seed draws a fresh key', () => {
    const a = ed25519.keygen();
    const b = ed25519.keygen();
    expect(toHex(a.secretKey)).not.toBe(toHex(b.secretKey));
    expect(ed25519.verify(ed25519.sign(msg, a.secretKey), msg, a.publicKey)).toBe(true);
  });
});
