/**
 * BLS unit tests: blst vs noble differential (byte-identical outputs), malformed-input handling of
 * every verify-style function (false, never a throw), typed errors, proofs of possession and the
 * rogue-key attack they exist to stop.
 */
import { execFileSync } from 'node:child_process';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLS_CURVE_ORDER,
  type Bls,
  blstAvailable,
  createBls,
  bls as defaultBls,
} from '../../crypto/bls/index.ts';
import { scalarToBytes } from '../../crypto/bls/scalar.ts';
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';

const G1 = bls12_381.G1.Point;
const G2 = bls12_381.G2.Point;
const { Fp, Fp2 } = bls12_381.fields;
const DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_';

const noble = createBls('noble');
const hasBlst = blstAvailable();
const blst = hasBlst ? createBls('blst') : noble;
const backends: Bls[] = hasBlst ? [noble, blst] : [noble];
const eachBackend = describe.each(backends.map((b) => [b.backend, b] as const));

const ikmOf = (i: number) => new Uint8Array(32).fill(i);
const keys = [1, 2, 3, 4].map((i) => noble.keygen(ikmOf(i)));
const msg = utf8('verity block 42');

function infinity(length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = 0xc0;
  return out;
}

/** Compressed encoding of an affine point, computed by hand (noble refuses to encode non-subgroup points). */
function compressG1(x: bigint, y: bigint): Uint8Array {
  const out = scalarBytes(x, 48);
  out[0]! |= 0x80 | (y > (Fp.ORDER - 1n) / 2n ? 0x20 : 0);
  return out;
}
function compressG2(x: { c0: bigint; c1: bigint }, y: { c0: bigint; c1: bigint }): Uint8Array {
  const out = concatBytes(scalarBytes(x.c1, 48), scalarBytes(x.c0, 48));
  const half = (Fp.ORDER - 1n) / 2n;
  const big = y.c1 !== 0n ? y.c1 > half : y.c0 > half;
  out[0]! |= 0x80 | (big ? 0x20 : 0);
  return out;
}
function scalarBytes(x: bigint, len: number): Uint8Array {
  return Uint8Array.from(Buffer.from(x.toString(16).padStart(len * 2, '0'), 'hex'));
}

/** A point on E1 (y² = x³ + 4) outside the r-torsion subgroup: the first valid x from 1 up. */
function g1NotInSubgroup(): Uint8Array {
  for (let x = 1n; ; x++) {
    const rhs = Fp.add(Fp.pow(x, 3n), 4n);
    let y: bigint;
    try {
      y = Fp.sqrt(rhs);
    } catch {
      continue;
    }
    const p = G1.fromAffine({ x, y });
    expect(() => p.assertValidity()).toThrow(/subgroup/); // precondition: on curve, not in G1
    return compressG1(x, y);
  }
}

/** A point on E2 (y² = x³ + 4(1+i)) outside the r-torsion subgroup. */
function g2NotInSubgroup(): Uint8Array {
  const b = Fp2.create({ c0: 4n, c1: 4n });
  for (let c0 = 1n; ; c0++) {
    const x = Fp2.create({ c0, c1: 0n });
    const rhs = Fp2.add(Fp2.pow(x, 3n), b);
    let y: { c0: bigint; c1: bigint };
    try {
      y = Fp2.sqrt(rhs);
    } catch {
      continue;
    }
    const p = G2.fromAffine({ x, y });
    expect(() => p.assertValidity()).toThrow(/subgroup/);
    return compressG2(x, y);
  }
}

describe('backend selection', () => {
  it('uses blst when it loads, and reports it', () => {
    if (process.env.VERITY_BLS_BACKEND === undefined) {
      expect(defaultBls.backend).toBe(hasBlst ? 'blst' : 'noble');
    }
    expect(noble.backend).toBe('noble');
  });

  /** `bls.backend` in a fresh process with VERITY_BLS_BACKEND = value (undefined: unset). */
  function backendIn(value: string | undefined): string {
    const env = { ...process.env };
    if (value === undefined) delete env.VERITY_BLS_BACKEND;
    else env.VERITY_BLS_BACKEND = value;
    try {
      return execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          "const m = await import('./crypto/bls/index.ts'); process.stdout.write(m.bls.backend);",
        ],
        { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (e) {
      const stderr = String((e as { stderr?: unknown }).stderr);
      return `error:${/BLS_BACKEND_[A-Z]+/.exec(stderr)?.[0] ?? stderr}`;
    }
  }

  it('VERITY_BLS_BACKEND forces a backend in a fresh process; unset / auto pick blst when it loads', () => {
    const auto = hasBlst ? 'blst' : 'noble';
    expect(backendIn('noble')).toBe('noble');
    expect(backendIn('blst')).toBe(hasBlst ? 'blst' : 'error:BLS_BACKEND_UNAVAILABLE');
    expect(backendIn(undefined)).toBe(auto);
    expect(backendIn('auto')).toBe(auto);
  });

  it('an unknown VERITY_BLS_BACKEND makes the import fail with BLS_BACKEND_INVALID', () => {
    expect(backendIn('openssl')).toBe('error:BLS_BACKEND_INVALID');
  });

  it('an unknown backend name is a typed error', () => {
    expect(() => createBls('openssl' as 'noble')).toThrow(
      expect.objectContaining({ code: 'BLS_BACKEND_INVALID' }),
    );
  });
});

describe.skipIf(!hasBlst)('differential: blst vs noble', () => {
  it('keygen, sign, verify: byte-identical and cross-verifying', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 64 }),
        fc.uint8Array({ minLength: 0, maxLength: 200 }),
        (ikm, message) => {
          const a = blst.keygen(ikm);
          const b = noble.keygen(ikm);
          expect(toHex(a.secretKey)).toBe(toHex(b.secretKey));
          expect(toHex(a.publicKey)).toBe(toHex(b.publicKey));
          const sa = blst.sign(a.secretKey, message);
          const sb = noble.sign(b.secretKey, message);
          expect(toHex(sa)).toBe(toHex(sb));
          expect(noble.verify(a.publicKey, message, sa)).toBe(true);
          expect(blst.verify(b.publicKey, message, sb)).toBe(true);
        },
      ),
      { numRuns: 30, seed: 0x5eed },
    );
  });

  it('aggregation of random keys and messages: identical aggregates, identical verdicts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 48 }), { minLength: 1, maxLength: 5 }),
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        fc.nat(),
        (ikms, message, pick) => {
          const ks = ikms.map((ikm) => blst.keygen(ikm));
          const pks = ks.map((k) => k.publicKey);
          const same = ks.map((k) => blst.sign(k.secretKey, message));
          const messages = ks.map((_, i) => concatBytes(message, Uint8Array.of(i)));
          const distinct = ks.map((k, i) => blst.sign(k.secretKey, messages[i]!));
          const aggSame = blst.aggregateSignatures(same);
          const aggDistinct = blst.aggregateSignatures(distinct);
          expect(toHex(noble.aggregateSignatures(same))).toBe(toHex(aggSame));
          expect(toHex(noble.aggregateSignatures(distinct))).toBe(toHex(aggDistinct));
          expect(toHex(noble.aggregatePublicKeys(pks))).toBe(toHex(blst.aggregatePublicKeys(pks)));
          // Random keys collide only if ikms repeat; a repeated key still aggregates consistently.
          const dropped = pks.filter((_, i) => i !== pick % pks.length);
          const otherMsg = concatBytes(message, Uint8Array.of(0xff));
          for (const b of backends) {
            expect(b.fastAggregateVerify(pks, message, aggSame)).toBe(true);
            expect(b.aggregateVerify(pks, messages, aggDistinct)).toBe(true);
            expect(b.fastAggregateVerify(pks, otherMsg, aggSame)).toBe(false);
            if (dropped.length > 0 && new Set(pks.map(toHex)).size === pks.length) {
              expect(b.fastAggregateVerify(dropped, message, aggSame)).toBe(false);
            }
            if (pks.length > 1) {
              expect(b.aggregateVerify(pks, [...messages.slice(1), messages[0]!], aggDistinct)).toBe(false);
            }
          }
        },
      ),
      { numRuns: 6, seed: 0xa66 },
    );
  });

  /** What an API does with an input: its result, or the code it throws. */
  function outcome(fn: () => unknown): string {
    try {
      const r = fn();
      return r instanceof Uint8Array ? `bytes:${toHex(r)}` : `value:${String(r)}`;
    } catch (e) {
      return `throw:${(e as { code?: string }).code ?? (e as Error).name}`;
    }
  }

  /**
   * Mutations of a valid compressed encoding: bit flips, the three flag bits set to every
   * combination, x replaced by values ≥ p, random bytes, truncation and extension.
   */
  function mutated(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
    const len = valid.length;
    const flip = fc.array(fc.nat(len * 8 - 1), { minLength: 1, maxLength: 3 }).map((bits) => {
      const out = valid.slice();
      for (const b of bits) out[b >> 3]! ^= 1 << (b & 7);
      return out;
    });
    const flags = fc.integer({ min: 0, max: 7 }).map((f) => {
      const out = valid.slice();
      out[0] = (out[0]! & 0x1f) | (f << 5);
      return out;
    });
    const xAtLeastP = fc.bigInt({ min: 0n, max: 1000n }).map((d) => {
      const x = scalarBytes(Fp.ORDER + d, 48);
      const out = valid.slice();
      out.set(x, len - 48); // the last 48 bytes: x (G1) or x.c0 (G2)
      out[0] = (out[0]! & 0x1f) | 0x80 | (len === 48 ? x[0]! & 0x1f : 0);
      return out;
    });
    return fc.oneof(
      flip,
      flags,
      xAtLeastP,
      fc.uint8Array({ minLength: len, maxLength: len }),
      fc.nat(len - 1).map((n) => valid.subarray(0, n)),
      fc.uint8Array({ minLength: 1, maxLength: 4 }).map((extra) => concatBytes(valid, extra)),
    );
  }

  it('malformed public keys: both backends give the same verdict on every operation', () => {
    const [k0, k1] = keys as [(typeof keys)[0], (typeof keys)[0]];
    const sig = blst.sign(k0.secretKey, msg);
    const agg = blst.aggregateSignatures([sig, blst.sign(k1.secretKey, msg)]);
    let invalid = 0;
    fc.assert(
      fc.property(mutated(k0.publicKey), (pk) => {
        const run = (b: Bls) => [
          outcome(() => b.keyValidate(pk)),
          outcome(() => b.verify(pk, msg, sig)),
          outcome(() => b.fastAggregateVerify([pk, k1.publicKey], msg, agg)),
          outcome(() => b.aggregateVerify([pk, k1.publicKey], [msg, msg], agg)),
          outcome(() => b.aggregatePublicKeys([k1.publicKey, pk])),
        ];
        const ours = run(blst);
        expect(run(noble)).toEqual(ours);
        if (ours[0] === 'value:false') invalid++;
      }),
      { numRuns: 80, seed: 0xbad1 },
    );
    expect(invalid).toBeGreaterThan(40); // the mutations mostly produce invalid keys
  });

  it('malformed signatures: both backends give the same verdict on every operation', () => {
    const [k0] = keys as [(typeof keys)[0]];
    const sig = blst.sign(k0.secretKey, msg);
    let rejected = 0;
    fc.assert(
      fc.property(mutated(sig), (s) => {
        const run = (b: Bls) => [
          outcome(() => b.verify(k0.publicKey, msg, s)),
          outcome(() => b.fastAggregateVerify([k0.publicKey], msg, s)),
          outcome(() => b.aggregateVerify([k0.publicKey], [msg], s)),
          outcome(() => b.aggregateSignatures([sig, s])),
          outcome(() => b.popVerify(k0.publicKey, s)),
        ];
        const ours = run(blst);
        expect(run(noble)).toEqual(ours);
        if (ours[3]?.startsWith('throw:')) rejected++;
      }),
      { numRuns: 80, seed: 0xbad2 },
    );
    expect(rejected).toBeGreaterThan(40);
  });

  it('aggregation and multi-signature verification agree', () => {
    const messages = keys.map((_, i) => utf8(`msg ${i}`));
    const pks = keys.map((k) => k.publicKey);
    const sameMsg = keys.map((k) => blst.sign(k.secretKey, msg));
    const distinct = keys.map((k, i) => blst.sign(k.secretKey, messages[i]!));

    const aggSame = blst.aggregateSignatures(sameMsg);
    expect(toHex(noble.aggregateSignatures(sameMsg))).toBe(toHex(aggSame));
    expect(toHex(noble.aggregatePublicKeys(pks))).toBe(toHex(blst.aggregatePublicKeys(pks)));
    const aggDistinct = noble.aggregateSignatures(distinct);
    expect(toHex(blst.aggregateSignatures(distinct))).toBe(toHex(aggDistinct));

    for (const b of backends) {
      expect(b.fastAggregateVerify(pks, msg, aggSame)).toBe(true);
      expect(b.fastAggregateVerify(pks.slice(1), msg, aggSame)).toBe(false);
      expect(b.aggregateVerify(pks, messages, aggDistinct)).toBe(true);
      expect(b.aggregateVerify(pks, [...messages].reverse(), aggDistinct)).toBe(false);
      // Aggregate of one key = the key; fastAggregateVerify of one = verify.
      expect(toHex(b.aggregatePublicKeys([pks[0]!]))).toBe(toHex(pks[0]!));
      expect(b.fastAggregateVerify([pks[0]!], msg, sameMsg[0]!)).toBe(true);
    }
  });

  it('proofs of possession are identical', () => {
    for (const k of keys.slice(0, 2))
      expect(toHex(blst.popProve(k.secretKey))).toBe(toHex(noble.popProve(k.secretKey)));
  });
});

eachBackend('[%s] inputs and errors', (_name, bls) => {
  const [k0, k1] = keys as [(typeof keys)[0], (typeof keys)[0]];
  const sig = bls.sign(k0.secretKey, msg);
  const sig1 = bls.sign(k1.secretKey, msg);
  const agg = bls.aggregateSignatures([sig, sig1]);

  it('sanity: the untampered inputs verify', () => {
    expect(bls.verify(k0.publicKey, msg, sig)).toBe(true);
    expect(bls.fastAggregateVerify([k0.publicKey, k1.publicKey], msg, agg)).toBe(true);
    expect(bls.aggregateVerify([k0.publicKey, k1.publicKey], [msg, msg], agg)).toBe(true);
    expect(bls.keyValidate(k0.publicKey)).toBe(true);
    expect(bls.verify(k0.publicKey, new Uint8Array(0), bls.sign(k0.secretKey, new Uint8Array(0)))).toBe(true);
  });

  const badPks: [string, unknown][] = [
    ['truncated', k0.publicKey.subarray(0, 47)],
    ['oversized', concatBytes(k0.publicKey, new Uint8Array(1))],
    ['uncompressed (96 bytes)', G1.fromBytes(k0.publicKey).toBytes(false)],
    ['garbage', new Uint8Array(48).fill(0xab)],
    ['zeros', new Uint8Array(48)],
    ['infinity', infinity(48)],
    ['compression flag cleared', Uint8Array.from(k0.publicKey, (b, i) => (i === 0 ? b & 0x7f : b))],
    ['not in subgroup', g1NotInSubgroup()],
    ['not bytes', 'a491d1b0'],
    ['undefined', undefined],
  ];
  const badSigs: [string, unknown][] = [
    ['truncated', sig.subarray(0, 95)],
    ['oversized', concatBytes(sig, new Uint8Array(1))],
    ['garbage', new Uint8Array(96).fill(0xab)],
    ['zeros', new Uint8Array(96)],
    ['infinity', infinity(96)],
    ['sort flag flipped (= −σ)', Uint8Array.from(sig, (b, i) => (i === 0 ? b ^ 0x20 : b))],
    ['not in subgroup', g2NotInSubgroup()],
    ['not bytes', [1, 2, 3]],
    ['null', null],
  ];

  it.each(badPks)('public key %s → every verify is false', (_n, pk) => {
    const p = pk as Uint8Array;
    expect(bls.keyValidate(p)).toBe(false);
    expect(bls.verify(p, msg, sig)).toBe(false);
    expect(bls.fastAggregateVerify([k1.publicKey, p], msg, agg)).toBe(false);
    expect(bls.aggregateVerify([k1.publicKey, p], [msg, msg], agg)).toBe(false);
    expect(bls.popVerify(p, bls.popProve(k0.secretKey))).toBe(false);
    expect(bls.threshold.verifyShare(p, msg, { index: 1, signature: sig })).toBe(false);
    expect(() => bls.aggregatePublicKeys([k1.publicKey, p])).toThrow(
      expect.objectContaining({ code: expect.stringMatching(/^INVALID_(LENGTH|KEY)$/) }),
    );
  });

  it.each(badSigs)('signature %s → every verify is false', (_n, s) => {
    const x = s as Uint8Array;
    expect(bls.verify(k0.publicKey, msg, x)).toBe(false);
    expect(bls.fastAggregateVerify([k0.publicKey], msg, x)).toBe(false);
    expect(bls.aggregateVerify([k0.publicKey], [msg], x)).toBe(false);
    expect(bls.popVerify(k0.publicKey, x)).toBe(false);
  });

  it('malformed signatures cannot be aggregated; infinity can', () => {
    for (const [name, s] of badSigs) {
      if (name === 'infinity' || name.startsWith('sort flag')) continue; // valid points
      expect(() => bls.aggregateSignatures([sig, s as Uint8Array]), name).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^INVALID_(LENGTH|KEY)$/) }),
      );
    }
    expect(toHex(bls.aggregateSignatures([sig, infinity(96)]))).toBe(toHex(sig));
    // σ + (−σ) is the point at infinity, encoded canonically.
    const negSig = badSigs.find(([n]) => n.startsWith('sort flag'))?.[1] as Uint8Array;
    expect(toHex(bls.aggregateSignatures([sig, negSig]))).toBe(toHex(infinity(96)));
  });

  it('empty and mismatched lists', () => {
    expect(bls.fastAggregateVerify([], msg, sig)).toBe(false);
    expect(bls.fastAggregateVerify([], msg, infinity(96))).toBe(false);
    expect(bls.aggregateVerify([], [], infinity(96))).toBe(false);
    expect(bls.aggregateVerify([k0.publicKey], [], sig)).toBe(false);
    expect(bls.aggregateVerify([k0.publicKey], [msg, msg], sig)).toBe(false);
    expect(bls.aggregateVerify([k0.publicKey], ['text' as unknown as Uint8Array], sig)).toBe(false);
    expect(bls.fastAggregateVerify('nope' as unknown as Uint8Array[], msg, sig)).toBe(false);
    expect(() => bls.aggregateSignatures([])).toThrow(expect.objectContaining({ code: 'INVALID_LENGTH' }));
    expect(() => bls.aggregatePublicKeys([])).toThrow(expect.objectContaining({ code: 'INVALID_LENGTH' }));
  });

  it('a non-bytes message is rejected', () => {
    expect(bls.verify(k0.publicKey, 'verity block 42' as unknown as Uint8Array, sig)).toBe(false);
    expect(() => bls.sign(k0.secretKey, 'x' as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'INVALID_LENGTH' }),
    );
  });

  it('keygen needs >= 32 bytes of IKM', () => {
    expect(() => bls.keygen(new Uint8Array(31))).toThrow(expect.objectContaining({ code: 'INVALID_LENGTH' }));
    expect(bls.keygen(new Uint8Array(32)).secretKey).toHaveLength(32);
  });

  it('secret keys: exactly 32 bytes, 1 <= sk < r', () => {
    const bad: [Uint8Array, string][] = [
      [new Uint8Array(32), 'INVALID_KEY'],
      [scalarToBytes(BLS_CURVE_ORDER), 'INVALID_KEY'],
      [new Uint8Array(32).fill(0xff), 'INVALID_KEY'],
      [new Uint8Array(31).fill(1), 'INVALID_LENGTH'],
      [new Uint8Array(33).fill(1), 'INVALID_LENGTH'],
    ];
    for (const [sk, code] of bad) {
      expect(() => bls.sign(sk, msg)).toThrow(expect.objectContaining({ code }));
      expect(() => bls.secretKeyToPublicKey(sk)).toThrow(expect.objectContaining({ code }));
      expect(() => bls.popProve(sk)).toThrow(expect.objectContaining({ code }));
    }
    // r − 1 is the largest valid key: its public key is −g1.
    const rMinus1 = scalarToBytes(BLS_CURVE_ORDER - 1n);
    expect(toHex(bls.secretKeyToPublicKey(rMinus1))).toBe(toHex(G1.BASE.negate().toBytes(true)));
  });

  it('P and −P cancel: aggregate key is infinity and nothing verifies under it', () => {
    const negP = G1.fromBytes(k0.publicKey).negate().toBytes(true);
    expect(bls.keyValidate(negP)).toBe(true);
    expect(toHex(bls.aggregatePublicKeys([k0.publicKey, negP]))).toBe(toHex(infinity(48)));
    expect(bls.fastAggregateVerify([k0.publicKey, negP], msg, sig)).toBe(false);
    expect(bls.fastAggregateVerify([k0.publicKey, negP], msg, infinity(96))).toBe(false);
    // Raw blst accepts this one (pairing product is 1): the infinity signature is refused here.
    expect(bls.aggregateVerify([k0.publicKey, negP], [msg, msg], infinity(96))).toBe(false);
  });

  it('verify is not fooled by a signature on another message or under another key', () => {
    expect(bls.verify(k0.publicKey, utf8('verity block 43'), sig)).toBe(false);
    expect(bls.verify(k1.publicKey, msg, sig)).toBe(false);
    expect(bls.verify(k0.publicKey, msg, agg)).toBe(false);
  });
});

eachBackend('[%s] proof of possession', (_name, bls) => {
  const [k0, k1] = keys as [(typeof keys)[0], (typeof keys)[0]];

  it('prove / verify, and a proof is bound to its key', () => {
    const p0 = bls.popProve(k0.secretKey);
    expect(p0).toHaveLength(96);
    expect(bls.popVerify(k0.publicKey, p0)).toBe(true);
    expect(bls.popVerify(k1.publicKey, p0)).toBe(false);
    expect(bls.popVerify(k1.publicKey, bls.popProve(k1.secretKey))).toBe(true);
    // A POP is not a message signature on the key bytes, and vice versa (separate DSTs).
    expect(bls.verify(k0.publicKey, k0.publicKey, p0)).toBe(false);
    expect(bls.popVerify(k0.publicKey, bls.sign(k0.secretKey, k0.publicKey))).toBe(false);
  });

  it('rogue key: forges a same-message aggregate, but cannot produce a POP', () => {
    // Attacker knows x, publishes pk_r = g1^x − pk_victim; then pk_victim + pk_r = g1^x and
    // x·H(m) "is" an aggregate signature of the victim and the attacker on any m.
    const x = 0x1234567890abcdefn;
    const rogue = G1.BASE.multiply(x).subtract(G1.fromBytes(k0.publicKey)).toBytes(true);
    const forged = bls12_381.longSignatures.hash(msg, DST).multiply(x).toBytes(true);
    expect(bls.keyValidate(rogue)).toBe(true);
    expect(bls.fastAggregateVerify([k0.publicKey, rogue], msg, forged)).toBe(true);
    // What registration checks: the attacker's best attempts at a POP for pk_r all fail.
    expect(bls.popVerify(rogue, bls.popProve(scalarToBytes(x)))).toBe(false);
    expect(bls.popVerify(rogue, bls.popProve(k1.secretKey))).toBe(false);
    expect(bls.popVerify(rogue, bls.popProve(k0.secretKey))).toBe(false);
  });
});
