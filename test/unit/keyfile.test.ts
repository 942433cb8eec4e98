import { describe, expect, it } from 'vitest';
import { bls } from '../../crypto/bls/index.ts';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import type { CryptoError } from '../../crypto/errors.ts';
import { decodeKeyFile, encodeKeyFile, type KeyFileJson } from '../../crypto/keyfile.ts';
import { derivePublicKey } from '../../crypto/keys.ts';

const FAST = { scryptN: 1024 };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as CryptoError).code;
  }
  return undefined;
}

describe('key files', () => {
  const ed = ed25519.keygen(new Uint8Array(32).fill(9));
  const blsKey = bls.keygen(new Uint8Array(32).fill(3));

  it('round-trip plain ed25519 and BLS keys', () => {
    for (const key of [
      { type: 'ed25519' as const, ...ed },
      { type: 'bls12-381' as const, ...blsKey },
    ]) {
      const json = JSON.parse(JSON.stringify(encodeKeyFile(key)));
      const back = decodeKeyFile(json, derivePublicKey);
      expect(back.type).toBe(key.type);
      expect(toHex(back.secretKey)).toBe(toHex(key.secretKey));
      expect(toHex(back.publicKey)).toBe(toHex(key.publicKey));
    }
  });

  it('encrypts with a passphrase; the right one decrypts, a wrong one is a clear error', () => {
    const json = encodeKeyFile({ type: 'ed25519', ...ed }, { passphrase: 'correct horse', ...FAST });
    expect(JSON.stringify(json)).not.toContain(toHex(ed.secretKey));
    expect(toHex(decodeKeyFile(json, derivePublicKey, 'correct horse').secretKey)).toBe(toHex(ed.secretKey));
    expect(codeOf(() => decodeKeyFile(json, derivePublicKey, 'wrong'))).toBe('KEYFILE_BAD_PASSPHRASE');
    expect(codeOf(() => decodeKeyFile(json, derivePublicKey))).toBe('KEYFILE_PASSPHRASE_REQUIRED');
  });

  it('detects a swapped public key in an encrypted file (header is authenticated)', () => {
    const json = encodeKeyFile({ type: 'ed25519', ...ed }, { passphrase: 'pw', ...FAST });
    const other = ed25519.keygen(new Uint8Array(32).fill(10));
    const swapped = { ...json, publicKey: toHex(other.publicKey) };
    expect(codeOf(() => decodeKeyFile(swapped, derivePublicKey, 'pw'))).toBe('KEYFILE_BAD_PASSPHRASE');
  });

  it('detects a plain file whose secret does not match its public key', () => {
    const json = encodeKeyFile({ type: 'ed25519', ...ed });
    const other = ed25519.keygen(new Uint8Array(32).fill(11));
    expect(codeOf(() => decodeKeyFile({ ...json, publicKey: toHex(other.publicKey) }, derivePublicKey))).toBe(
      'KEYFILE_MALFORMED',
    );
  });

  it('rejects malformed files with typed errors', () => {
    const good = encodeKeyFile({ type: 'ed25519', ...ed }) as KeyFileJson;
    const cases: Array<[unknown, string]> = [
      [null, 'KEYFILE_MALFORMED'],
      [[], 'KEYFILE_MALFORMED'],
      [{ ...good, version: 2 }, 'KEYFILE_UNSUPPORTED_VERSION'],
      [{ ...good, type: 'rsa' }, 'KEYFILE_MALFORMED'],
      [{ ...good, publicKey: 'zz' }, 'KEYFILE_MALFORMED'],
      [{ ...good, secret: { encoding: 'rot13' } }, 'KEYFILE_MALFORMED'],
      [{ ...good, secret: { encoding: 'plain', secretKey: '00' } }, 'KEYFILE_MALFORMED'],
      [{ ...good, secret: undefined }, 'KEYFILE_MALFORMED'],
    ];
    for (const [json, code] of cases) expect(codeOf(() => decodeKeyFile(json, derivePublicKey))).toBe(code);
    const enc = encodeKeyFile({ type: 'ed25519', ...ed }, { passphrase: 'pw', ...FAST });
    const s = enc.secret as Extract<KeyFileJson['secret'], { encoding: 'scrypt-aes-256-gcm' }>;
    const hugeN = { ...enc, secret: { ...s, kdf: { ...s.kdf, n: 2 ** 30 } } };
    expect(codeOf(() => decodeKeyFile(hugeN, derivePublicKey, 'pw'))).toBe('KEYFILE_MALFORMED');
  });
});
