import { describe, expect, it } from 'vitest';
import { bls } from '../../crypto/bls/index.ts';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { CryptoError } from '../../crypto/errors.ts';
import * as crypto from '../../crypto/index.ts';
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

/**
 * Every public function exported from crypto/index.ts, called with a wrong-type value in each
 * argument position: it returns normally or throws a CryptoError with a code — never a raw
 * TypeError/RangeError — and verify-style functions return false (null for vrf.verify).
 * The table must name every exported function, so a new one cannot skip this check.
 */
describe('crypto public API: wrong-type inputs are typed errors, verifies are false', () => {
  const seed = new Uint8Array(32).fill(5);
  const msg = new Uint8Array([1, 2, 3]);
  const ed = crypto.ed25519.keygen(seed);
  const edSig = crypto.ed25519.sign(msg, seed);
  const pi = crypto.vrf.prove(seed, msg);
  const b = crypto.bls;
  const bk = b.keygen(new Uint8Array(32).fill(6));
  const bSig = b.sign(bk.secretKey, msg);
  const pop = b.popProve(bk.secretKey);
  const th = b.threshold;
  const deal = th.deal(2, 3, seed);
  const p1 = th.signShare(deal.shares[0]!, msg);
  const p2 = th.signShare(deal.shares[1]!, msg);
  const kf = crypto.encodeKeyFile({ type: 'ed25519', ...ed });

  type Kind = 'throws' | 'false' | 'null' | 'boolean';
  // biome-ignore lint/suspicious/noExplicitAny: the point is calling with wrong types
  type Fn = (...args: any[]) => unknown;
  const table: Record<string, [Fn, unknown[], Kind]> = {
    sha256: [crypto.sha256, [msg], 'throws'],
    sha512: [crypto.sha512, [msg], 'throws'],
    keccak256: [crypto.keccak256, [msg], 'throws'],
    toHex: [crypto.toHex, [msg], 'throws'],
    byteKey: [crypto.byteKey, [msg], 'throws'],
    bytesFromKey: [crypto.bytesFromKey, ['k'], 'throws'],
    fromHex: [crypto.fromHex, ['00'], 'throws'],
    fromHexExact: [crypto.fromHexExact, ['00', 1, 'x'], 'throws'],
    concatBytes: [crypto.concatBytes, [msg, msg], 'throws'],
    copyBytes: [crypto.copyBytes, [msg, 0, 1], 'throws'],
    allocBytesUnsafe: [crypto.allocBytesUnsafe, [100], 'throws'],
    equalBytes: [crypto.equalBytes, [msg, msg], 'throws'],
    compareBytes: [crypto.compareBytes, [msg, msg], 'throws'],
    utf8: [crypto.utf8, ['x'], 'throws'],
    fromUtf8: [crypto.fromUtf8, [msg], 'throws'],
    isBytes: [crypto.isBytes, [msg], 'boolean'],
    u64be: [crypto.u64be, [1], 'throws'],
    u32be: [crypto.u32be, [1], 'throws'],
    bytesToBigInt: [crypto.bytesToBigInt, [msg], 'throws'],
    createBls: [crypto.createBls, ['noble'], 'throws'],
    derivePublicKey: [crypto.derivePublicKey, ['ed25519', seed], 'throws'],
    encodeKeyFile: [crypto.encodeKeyFile, [{ type: 'ed25519', ...ed }, {}], 'throws'],
    decodeKeyFile: [crypto.decodeKeyFile, [kf, crypto.derivePublicKey, undefined], 'throws'],
    isEncryptedKeyFile: [crypto.isEncryptedKeyFile, [kf], 'boolean'],
    'ed25519.keygen': [crypto.ed25519.keygen, [seed], 'throws'],
    'ed25519.sign': [crypto.ed25519.sign, [msg, seed], 'throws'],
    'ed25519.verify': [crypto.ed25519.verify, [edSig, msg, ed.publicKey], 'false'],
    'ed25519.publicKeyFromSecret': [crypto.ed25519.publicKeyFromSecret, [seed], 'throws'],
    'vrf.prove': [crypto.vrf.prove, [seed, msg], 'throws'],
    'vrf.verify': [crypto.vrf.verify, [ed.publicKey, pi, msg], 'null'],
    'vrf.proofToHash': [crypto.vrf.proofToHash, [pi], 'throws'],
    'vrf.publicKeyFromSecret': [crypto.vrf.publicKeyFromSecret, [seed], 'throws'],
    'vrf.isValidPublicKey': [crypto.vrf.isValidPublicKey, [ed.publicKey], 'false'],
    'bls.keygen': [b.keygen, [new Uint8Array(32)], 'throws'],
    'bls.secretKeyToPublicKey': [b.secretKeyToPublicKey, [bk.secretKey], 'throws'],
    'bls.keyValidate': [b.keyValidate, [bk.publicKey], 'false'],
    'bls.sign': [b.sign, [bk.secretKey, msg], 'throws'],
    'bls.verify': [b.verify, [bk.publicKey, msg, bSig], 'false'],
    'bls.aggregateSignatures': [b.aggregateSignatures, [[bSig]], 'throws'],
    'bls.aggregatePublicKeys': [b.aggregatePublicKeys, [[bk.publicKey]], 'throws'],
    'bls.fastAggregateVerify': [b.fastAggregateVerify, [[bk.publicKey], msg, bSig], 'false'],
    'bls.aggregateVerify': [b.aggregateVerify, [[bk.publicKey], [msg], bSig], 'false'],
    'bls.popProve': [b.popProve, [bk.secretKey], 'throws'],
    'bls.popVerify': [b.popVerify, [bk.publicKey, pop], 'false'],
    'bls.threshold.deal': [th.deal, [2, 3, seed], 'throws'],
    'bls.threshold.verifyShareAgainstCommitments': [
      th.verifyShareAgainstCommitments,
      [deal.shares[0], deal.commitments],
      'false',
    ],
    'bls.threshold.sharePublicKeyFromCommitments': [
      th.sharePublicKeyFromCommitments,
      [deal.commitments, 1],
      'throws',
    ],
    'bls.threshold.signShare': [th.signShare, [deal.shares[0], msg], 'throws'],
    'bls.threshold.verifyShare': [th.verifyShare, [deal.shares[0]!.publicKey, msg, p1], 'false'],
    'bls.threshold.combine': [
      th.combine,
      [[p1, p2], 2, { message: msg, groupPublicKey: deal.groupPublicKey }],
      'throws',
    ],
  };
  const junk: unknown[] = [
    null,
    undefined,
    0,
    -1,
    1.5,
    Number.NaN,
    '',
    'text',
    {},
    [],
    [1, 2],
    true,
    1n,
    Symbol('s'),
    new ArrayBuffer(8),
    () => 1,
  ];

  it('the table covers every exported function', () => {
    const names: string[] = [];
    for (const [k, v] of Object.entries(crypto)) {
      if (typeof v === 'function' && !/^[A-Z]/.test(k)) names.push(k);
    }
    const namespaces = { ed25519: crypto.ed25519, vrf: crypto.vrf, bls: crypto.bls };
    for (const [ns, obj] of Object.entries(namespaces)) {
      for (const [k, v] of Object.entries(obj)) if (typeof v === 'function') names.push(`${ns}.${k}`);
    }
    for (const [k, v] of Object.entries(crypto.bls.threshold))
      if (typeof v === 'function') names.push(`bls.threshold.${k}`);
    expect(Object.keys(table).sort()).toEqual(names.sort());
  });

  it.each(Object.keys(table))('%s', (name) => {
    const [fn, good, kind] = table[name]!;
    // Sanity: the good arguments work (and a verify-style one says true / non-null).
    const ok = fn(...good);
    if (kind === 'false') expect(ok).toBe(true);
    if (kind === 'null') expect(ok).not.toBeNull();
    const args = [...good];
    // Also wrong types inside list arguments.
    const positions = good.map((g, i) => [i, Array.isArray(g)] as const);
    for (const [pos, isList] of positions) {
      for (const bad of [...junk, ...(isList ? junk.map((j) => [j]) : [])]) {
        args.splice(0, args.length, ...good);
        args[pos] = bad;
        const label = `${name} arg ${pos} = ${typeof bad === 'symbol' ? 'Symbol' : Array.isArray(bad) ? `[${String(bad[0])}]` : String(bad)}`;
        let result: unknown;
        try {
          result = fn(...args);
        } catch (e) {
          expect(kind, `${label}: a ${kind} function threw`).toBe('throws');
          expect(e, `${label}: ${(e as Error)?.name} ${(e as Error)?.message}`).toBeInstanceOf(CryptoError);
          expect(typeof (e as CryptoError).code, label).toBe('string');
          continue;
        }
        if (kind === 'false') expect(result, label).toBe(false);
        if (kind === 'null') expect(result, label).toBeNull();
        if (kind === 'boolean') expect(typeof result, label).toBe('boolean');
      }
    }
  });
});
