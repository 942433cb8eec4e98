// RFC 8032 §7.1 test vectors (TEST 1, 2, 3, 1024, SHA(abc)); provenance in the JSON file.
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import vectors from './vectors/rfc8032-ed25519.json' with { type: 'json' };

describe('ed25519 — RFC 8032 §7.1 vectors', () => {
  for (const v of vectors.cases) {
    it(`${v.name}: public key, signature and verification are bit-exact`, () => {
      const { secretKey, publicKey } = ed25519.keygen(fromHex(v.secretKey));
      expect(toHex(secretKey)).toBe(v.secretKey);
      expect(toHex(publicKey)).toBe(v.publicKey);
      const message = fromHex(v.message);
      const signature = ed25519.sign(message, secretKey);
      expect(toHex(signature)).toBe(v.signature);
      expect(ed25519.verify(signature, message, publicKey)).toBe(true);
      // The same signature over a different message must fail.
      const other = new Uint8Array([...message, 0]);
      expect(ed25519.verify(signature, other, publicKey)).toBe(false);
    });
  }

  it('TEST 1024 carries a 1023-octet message', () => {
    const t = vectors.cases.find((c) => c.name === 'TEST 1024');
    expect(t && fromHex(t.message).length).toBe(1023);
  });
});
