import { bech32m } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { byteKey, concatBytes, fromUtf8, toHex, utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { type BatchVerifier, inThreadVerifier, type SignatureCheck } from '../../crypto/signature-batch.ts';
import { addressFromPublicKey, formatAddress, parseAddress } from '../../ledger/address.ts';
import { rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import {
  decodeTransaction,
  MAX_AMOUNT,
  parseTransaction,
  signingBytes,
  signTransaction,
  type TxError,
  type UnsignedTransaction,
  verifyTransaction,
  verifyTransactions,
} from '../../ledger/tx.ts';

const fromUtf8Roundtrip = (b: Uint8Array) => utf8(fromUtf8(b));
const alice = ed25519.keygen(new Uint8Array(32).fill(1));
const bob = ed25519.keygen(new Uint8Array(32).fill(2));
const bobAddr = addressFromPublicKey(bob.publicKey);

function transfer(overrides: Partial<UnsignedTransaction> = {}): UnsignedTransaction {
  return {
    chainId: 'test-chain',
    sender: alice.publicKey,
    nonce: 0,
    op: { type: 'transfer', to: bobAddr, amount: 100n },
    ...overrides,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return (e as TxError).code;
  }
  return undefined;
}

describe('addresses', () => {
  it('round-trip through the checksummed text form', () => {
    const text = formatAddress(bobAddr);
    expect(text.startsWith('verity1')).toBe(true);
    expect(toHex(parseAddress(text))).toBe(toHex(bobAddr));
  });

  it('the text form is by the bytes at each call: the same again, and another after a change in place', () => {
    const addr = addressFromPublicKey(bob.publicKey).slice();
    const first = formatAddress(addr);
    expect(formatAddress(addr)).toBe(first);
    addr[0] = (addr[0] as number) ^ 1; // (cached under the old bytes, not the array)
    const second = formatAddress(addr);
    expect(second).not.toBe(first);
    expect(toHex(parseAddress(second))).toBe(toHex(addr));
    expect(second).toBe(bech32m.encode('verity', bech32m.toWords(addr)));
  });

  it('reject a single-character typo, a wrong prefix and mixed case', () => {
    const text = formatAddress(bobAddr);
    const last = text.at(-1) === 'q' ? 'p' : 'q';
    expect(() => parseAddress(text.slice(0, -1) + last)).toThrow(/invalid address/);
    expect(() => parseAddress(text.replace('verity1', 'other1'))).toThrow();
    expect(() => parseAddress(text.slice(0, 10) + text.slice(10).toUpperCase())).toThrow();
    expect(() => parseAddress('')).toThrow();
  });
});

describe('transactions', () => {
  it('sign, encode, decode and verify round-trip for every operation', () => {
    const ops: UnsignedTransaction['op'][] = [
      { type: 'transfer', to: bobAddr, amount: 5n },
      { type: 'put', key: utf8('greeting'), value: utf8('hello') },
      { type: 'put', key: utf8('deleted'), value: new Uint8Array(0) },
      { type: 'stake', amount: 7n },
      { type: 'unstake', amount: MAX_AMOUNT },
    ];
    for (const [nonce, op] of ops.entries()) {
      const signed = signTransaction(transfer({ nonce, op }), alice.secretKey);
      const parsed = parseTransaction(signed.bytes, 'test-chain');
      expect(toHex(parsed.id)).toBe(toHex(signed.id));
      expect(parsed.tx.op).toEqual(op);
      expect(parsed.tx.nonce).toBe(nonce);
      expect(toHex(parsed.from)).toBe(toHex(addressFromPublicKey(alice.publicKey)));
    }
  });

  it('cannot be replayed on another chain', () => {
    const signed = signTransaction(transfer(), alice.secretKey);
    expect(codeOf(() => parseTransaction(signed.bytes, 'other-chain'))).toBe('TX_WRONG_CHAIN');
    // Re-labelling the chain id breaks the signature: the chain id is inside the signed bytes.
    const relabelled = rlpDecodeStrict(signed.bytes, 1 << 16) as Uint8Array[];
    relabelled[1] = utf8('other-chain');
    expect(codeOf(() => parseTransaction(rlpEncode(relabelled), 'other-chain'))).toBe('TX_BAD_SIGNATURE');
  });

  it('rejects every single-bit flip (decode error or bad signature — never accepted)', () => {
    const signed = signTransaction(transfer(), alice.secretKey);
    const codes = new Set<string>();
    for (let bit = 0; bit < signed.bytes.length * 8; bit++) {
      const bad = signed.bytes.slice();
      bad[bit >> 3] = (bad[bit >> 3] as number) ^ (1 << (bit & 7));
      const code = codeOf(() => parseTransaction(bad, 'test-chain'));
      expect(code, `bit ${bit}`).toBeDefined();
      codes.add(code as string);
    }
    expect(codes.has('TX_BAD_SIGNATURE')).toBe(true);
    expect(codes.has('TX_MALFORMED')).toBe(true);
  });

  it('rejects each mutated field with the right code', () => {
    const signed = signTransaction(transfer(), alice.secretKey);
    const fields = rlpDecodeStrict(signed.bytes, 1 << 16) as unknown[];
    const variant = (i: number, v: unknown) => {
      const f = [...fields];
      f[i] = v;
      return rlpEncode(f as never);
    };
    expect(codeOf(() => decodeTransaction(variant(0, 2)))).toBe('TX_UNSUPPORTED_VERSION');
    expect(codeOf(() => decodeTransaction(variant(2, new Uint8Array(31))))).toBe('TX_MALFORMED');
    expect(codeOf(() => decodeTransaction(variant(3, new Uint8Array([0, 1]))))).toBe('TX_NON_CANONICAL');
    expect(codeOf(() => decodeTransaction(variant(4, [9, bobAddr, 1])))).toBe('TX_UNKNOWN_OPERATION');
    expect(codeOf(() => decodeTransaction(variant(4, [1, bobAddr, 0])))).toBe('TX_INVALID_FIELD');
    expect(codeOf(() => decodeTransaction(variant(4, [1, bobAddr.subarray(1), 1])))).toBe('TX_MALFORMED');
    expect(codeOf(() => decodeTransaction(variant(4, [1, bobAddr, 1, 1])))).toBe('TX_MALFORMED');
    expect(codeOf(() => decodeTransaction(variant(5, new Uint8Array(63))))).toBe('TX_MALFORMED');
    expect(codeOf(() => decodeTransaction(rlpEncode([...(fields as never[]), new Uint8Array(1)])))).toBe(
      'TX_MALFORMED',
    );
    expect(codeOf(() => decodeTransaction(variant(4, [2, new Uint8Array(0), utf8('v')])))).toBe(
      'TX_INVALID_FIELD',
    );
  });

  it('rejects oversized, non-canonical and garbage encodings', () => {
    const big = signTransaction(
      transfer({ op: { type: 'put', key: utf8('k'), value: new Uint8Array(30_000) } }),
      alice.secretKey,
    );
    expect(codeOf(() => decodeTransaction(big.bytes, 1024))).toBe('TX_TOO_LARGE');
    expect(codeOf(() => decodeTransaction(new Uint8Array(70_000)))).toBe('TX_TOO_LARGE');
    for (const garbage of [
      new Uint8Array(0),
      new Uint8Array([0xc0]),
      new Uint8Array([0xff, 0xff]),
      utf8('hello'),
    ]) {
      expect(codeOf(() => decodeTransaction(garbage))).toMatch(/^TX_/);
    }
    // Long-form length where the short form fits: same item, different bytes.
    const signed = signTransaction(transfer(), alice.secretKey);
    const inner = signed.bytes.subarray(signed.bytes[0] === 0xf8 ? 2 : 1);
    if (inner.length < 56) {
      const longForm = concatBytes(new Uint8Array([0xf8, inner.length]), inner);
      expect(codeOf(() => decodeTransaction(longForm))).toBe('TX_NON_CANONICAL');
    }
  });

  it('signing with a key that is not the sender fails', () => {
    expect(codeOf(() => signTransaction(transfer(), bob.secretKey))).toBe('TX_BAD_SIGNATURE');
  });

  it('verifies signatures over the signed list cut from the wire bytes, at every RLP length form', () => {
    // The verifier rebuilds the signed message from the wire bytes (new list header, signature item
    // dropped); value sizes cross the 1- and 2-byte length boundaries of both lists.
    for (const [n, size] of [0, 1, 150, 190, 200, 255, 256, 300, 65_000 >> 1].entries()) {
      const unsigned = transfer({
        nonce: 1000 + n,
        op: { type: 'put', key: utf8('k'), value: new Uint8Array(size).fill(n) },
      });
      const etx = signTransaction(unsigned, alice.secretKey);
      expect(ed25519.verify(etx.tx.signature, signingBytes(unsigned), alice.publicKey)).toBe(true);
      expect(parseTransaction(etx.bytes, 'test-chain').tx.nonce, `value of ${size} bytes`).toBe(1000 + n);
      // Another signer's signature spliced in must still fail.
      const forged = etx.bytes.slice();
      forged.set(ed25519.sign(signingBytes(unsigned), bob.secretKey), forged.length - 64);
      expect(
        codeOf(() => parseTransaction(forged, 'test-chain')),
        `forged, ${size} bytes`,
      ).toBe('TX_BAD_SIGNATURE');
    }
  });

  it('has one encoding: a chain id re-encoded with a UTF-8 byte-order mark is another chain, not another id', () => {
    // Regression: a decoder that strips a leading BOM read EF BB BF ‖ "test-chain" as "test-chain",
    // so anyone could re-wrap a signed transaction under a new id with a still-valid signature.
    const etx = signTransaction(transfer({ nonce: 77 }), alice.secretKey);
    const f = rlpDecodeStrict(etx.bytes, 1 << 16) as Uint8Array[];
    const wrapped = rlpEncode([
      ...f.slice(0, 1),
      concatBytes(new Uint8Array([0xef, 0xbb, 0xbf]), f[1] as Uint8Array),
      ...f.slice(2),
    ]);
    const decoded = decodeTransaction(wrapped);
    expect(decoded.tx.chainId).toBe('\ufefftest-chain');
    expect(codeOf(() => parseTransaction(wrapped, 'test-chain'))).toBe('TX_WRONG_CHAIN');
    expect(toHex(fromUtf8Roundtrip(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])))).toBe('efbbbf61');
  });

  it('refuses invalid UTF-8 with a typed error, short or long (a lone continuation byte, a cut sequence)', () => {
    for (const bad of [
      new Uint8Array([0x61, 0x80]),
      new Uint8Array([0xe2, 0x82]),
      concatBytes(new Uint8Array(100).fill(0x61), new Uint8Array([0xff])),
    ])
      expect(codeOf(() => fromUtf8(bad))).toBe('INVALID_UTF8');
  });

  it("carries its id's and sender's map keys, the same however it was made (sender's shared)", () => {
    const signed = signTransaction(transfer(), alice.secretKey);
    const decoded = decodeTransaction(signed.bytes.slice());
    const given = decodeTransaction(signed.bytes.slice(), undefined, byteKey(signed.id));
    for (const etx of [signed, decoded, given]) {
      expect(etx.idKey).toBe(byteKey(signed.id));
      expect(etx.id).toEqual(signed.id);
      expect(etx.fromKey).toBe(byteKey(addressFromPublicKey(alice.publicKey)));
    }
    // The caller's key is taken as the id (gossip hashed the bytes already): no second hash.
    const told = decodeTransaction(signed.bytes.slice(), undefined, byteKey(new Uint8Array(32)));
    expect(told.id).toEqual(new Uint8Array(32));
    // A recent sender's address is one object, shared by its transactions.
    const next = decodeTransaction(signTransaction(transfer({ nonce: 1 }), alice.secretKey).bytes);
    expect(next.idKey).not.toBe(signed.idKey);
    expect(next.from).toBe(signed.from);
    expect(next.fromKey).toBe(signed.fromKey);
  });

  it('signs domain-separated bytes that include the chain id', () => {
    const bytes = signingBytes(transfer());
    expect(Buffer.from(bytes.subarray(0, 12)).toString()).toBe('verity-tx-v1');
    expect(Buffer.from(bytes).includes(Buffer.from('test-chain'))).toBe(true);
  });
});

describe('verifyTransactions (many at once, on a batch verifier)', () => {
  // Fresh transactions per test: the verified-id cache is per process.
  let nonce = 1_000;
  const fresh = (n: number) =>
    Array.from({ length: n }, () => signTransaction(transfer({ nonce: nonce++ }), alice.secretKey));
  const forge = (etx: ReturnType<typeof signTransaction>) => {
    const bytes = etx.bytes.slice();
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    return decodeTransaction(bytes);
  };
  const recording = (answer?: boolean) => {
    const calls: SignatureCheck[][] = [];
    const verifier: BatchVerifier = {
      verifyMany: async (checks) => {
        calls.push([...checks]);
        return answer === undefined ? inThreadVerifier.verifyMany(checks) : checks.map(() => answer);
      },
    };
    return { calls, verifier };
  };

  it('gives each transaction the error verifyTransaction throws, in order, and caches what verified', async () => {
    const [a, b, c] = fresh(3) as [
      ReturnType<typeof signTransaction>,
      ReturnType<typeof signTransaction>,
      ReturnType<typeof signTransaction>,
    ];
    const alien = signTransaction(transfer({ chainId: 'other', nonce: nonce++ }), alice.secretKey);
    const batch = [a, forge(b), alien, c];
    const { calls, verifier } = recording();
    const got = await verifyTransactions(batch, 'test-chain', verifier);
    expect(got.map((e) => e?.code)).toEqual([undefined, 'TX_BAD_SIGNATURE', 'TX_WRONG_CHAIN', undefined]);
    expect(got.map((e) => e?.code)).toEqual(
      batch.map((etx) => codeOf(() => verifyTransaction(etx, 'test-chain'))),
    );
    // The wrong-chain one is never sent; the message is the signed bytes, the key the sender.
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(3);
    expect(calls[0]?.[0]?.message).toEqual(signingBytes(a.tx));
    expect(calls[0]?.[0]?.publicKey).toEqual(alice.publicKey);
    // The two that verified are cached (not sent again); the forged one is checked again.
    expect((await verifyTransactions(batch, 'test-chain', verifier)).map((e) => e?.code)).toEqual(
      got.map((e) => e?.code),
    );
    expect(calls[1]).toHaveLength(1);
  });

  it("a check's knownValid turns true once its transaction verified in another batch, and only then", async () => {
    const [a, b] = fresh(2) as [ReturnType<typeof signTransaction>, ReturnType<typeof signTransaction>];
    const forged = forge(b);
    const held: SignatureCheck[][] = [];
    let release: () => void = () => undefined;
    const holding: BatchVerifier = {
      verifyMany: async (checks) => {
        held.push([...checks]);
        await new Promise<void>((r) => {
          release = r;
        });
        return inThreadVerifier.verifyMany(checks);
      },
    };
    const waiting = verifyTransactions([a, b, forged], 'test-chain', holding);
    await Promise.resolve();
    const [ka, kb, kf] = (held[0] ?? []).map((c) => c.knownValid);
    expect([ka?.(), kb?.(), kf?.()]).toEqual([false, false, false]);
    // Another batch (a block's, say) verifies `a` and the forged copy of `b` meanwhile.
    expect(
      (await verifyTransactions([a, forged], 'test-chain', inThreadVerifier)).map((e) => e?.code),
    ).toEqual([undefined, 'TX_BAD_SIGNATURE']);
    expect([ka?.(), kb?.(), kf?.()]).toEqual([true, false, false]);
    release();
    expect((await waiting).map((e) => e?.code)).toEqual([undefined, undefined, 'TX_BAD_SIGNATURE']);
    expect(kb?.()).toBe(true);
  });

  it("takes the verifier's answers: all false refuses even good signatures, nothing is cached", async () => {
    const batch = fresh(2);
    const no = recording(false);
    expect((await verifyTransactions(batch, 'test-chain', no.verifier)).map((e) => e?.code)).toEqual([
      'TX_BAD_SIGNATURE',
      'TX_BAD_SIGNATURE',
    ]);
    const yes = recording();
    expect(await verifyTransactions(batch, 'test-chain', yes.verifier)).toEqual([undefined, undefined]);
    expect(yes.calls[0]).toHaveLength(2);
  });
});
