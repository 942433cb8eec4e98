/**
 * Threshold BLS: trusted-dealer deal, Feldman share verification, partial signatures and
 * Lagrange combination — on both backends, with the combined signature cross-checked against a
 * plain signature by the interpolated group secret; combine's optional `t` and its verification
 * context (group key / share keys) that turn a wrong partial into a typed error naming it.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BLS_CURVE_ORDER,
  type Bls,
  blstAvailable,
  createBls,
  lagrangeAtZero,
  type PartialSignature,
  type ThresholdDeal,
  type ThresholdShare,
} from '../../crypto/bls/index.ts';
import { scalarToBytes } from '../../crypto/bls/scalar.ts';
import { bytesToBigInt, concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { CryptoError } from '../../crypto/errors.ts';

const noble = createBls('noble');
const hasBlst = blstAvailable();
const blst = hasBlst ? createBls('blst') : noble;
const backends: Bls[] = hasBlst ? [noble, blst] : [noble];

const seedA = new Uint8Array(32).fill(0xa1);
const seedB = new Uint8Array(32).fill(0xb2);
const message = utf8('hotstuff: view 7, block 0xabc');

const r = BLS_CURVE_ORDER;
const mod = (x: bigint) => ((x % r) + r) % r;
const powMod = (b: bigint, e: bigint): bigint => {
  let acc = 1n;
  let base = mod(b);
  for (let k = e; k > 0n; k >>= 1n) {
    if (k & 1n) acc = (acc * base) % r;
    base = (base * base) % r;
  }
  return acc;
};

/** The group secret a0 recovered from t shares with the library's coefficients (test oracle). */
function groupSecret(deal: ThresholdDeal, indices: number[]): bigint {
  const lambdas = lagrangeAtZero(indices.map(BigInt));
  return indices.reduce((acc, idx, k) => {
    const sk = bytesToBigInt(deal.shares[idx - 1]!.secretKey);
    return mod(acc + lambdas[k]! * sk);
  }, 0n);
}

function infinity(length: number): Uint8Array {
  const out = new Uint8Array(length);
  out[0] = 0xc0;
  return out;
}

const code = (c: string) => expect.objectContaining({ code: c });

/** The CryptoError `fn` throws (fails the test if it returns or throws anything else). */
function caught(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CryptoError);
    return e as CryptoError;
  }
  throw new Error('expected a CryptoError, nothing was thrown');
}

/** A compressed point on E2 (y² = x³ + 4(1+i)) that is not in the r-order subgroup G2. */
function g2NotInSubgroup(): Uint8Array {
  const { Fp, Fp2 } = bls12_381.fields;
  const b = Fp2.create({ c0: 4n, c1: 4n });
  for (let c0 = 1n; ; c0++) {
    const x = Fp2.create({ c0, c1: 0n });
    try {
      const y = Fp2.sqrt(Fp2.add(Fp2.pow(x, 3n), b));
      const half = (Fp.ORDER - 1n) / 2n;
      const hex = x.c1.toString(16).padStart(96, '0') + x.c0.toString(16).padStart(96, '0');
      const enc = Uint8Array.from(Buffer.from(hex, 'hex'));
      enc[0]! |= 0x80 | ((y.c1 !== 0n ? y.c1 > half : y.c0 > half) ? 0x20 : 0);
      expect(() => bls12_381.G2.Point.fromAffine({ x, y }).assertValidity()).toThrow(/subgroup/);
      return enc;
    } catch (e) {
      if (!(e instanceof Error) || /subgroup/.test(e.message)) throw e;
    }
  }
}
const notInG2 = g2NotInSubgroup();

describe('lagrangeAtZero', () => {
  it('interpolates f(0) from any t points of a random polynomial', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 1n, max: r - 1n }), { minLength: 1, maxLength: 12 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 1024 }), { minLength: 12, maxLength: 12 }),
        (coefficients, xsAll) => {
          const xs = xsAll.slice(0, coefficients.length).map(BigInt);
          const f = (x: bigint) =>
            coefficients.reduce((acc, a, j) => mod(acc + a * powMod(x, BigInt(j))), 0n);
          const lambdas = lagrangeAtZero(xs);
          const at0 = xs.reduce((acc, x, k) => mod(acc + lambdas[k]! * f(x)), 0n);
          expect(at0).toBe(coefficients[0]);
        },
      ),
      { numRuns: 200, seed: 7 },
    );
  });

  it('known small case: xs = 1,2,3 → λ = 3, −3, 1', () => {
    expect(lagrangeAtZero([1n, 2n, 3n])).toEqual([3n, r - 3n, 1n]);
  });

  it('rejects duplicate and zero abscissas', () => {
    expect(() => lagrangeAtZero([1n, 2n, 1n])).toThrow(
      expect.objectContaining({ code: 'THRESHOLD_DUPLICATE_INDEX' }),
    );
    expect(() => lagrangeAtZero([0n, 2n])).toThrow(expect.objectContaining({ code: 'THRESHOLD_PARAMS' }));
    expect(() => lagrangeAtZero([r, 2n])).toThrow(expect.objectContaining({ code: 'THRESHOLD_PARAMS' }));
  });
});

describe.each(backends.map((b) => [b.backend, b] as const))('[%s] threshold', (_name, bls) => {
  const th = bls.threshold;
  const deal35 = th.deal(3, 5, seedA);
  const deal710 = th.deal(7, 10, seedB);
  const partials35 = deal35.shares.map((s) => th.signShare(s, message));

  it('deal: shapes, and the group key is commitments[0]', () => {
    for (const [deal, t, n] of [
      [deal35, 3, 5],
      [deal710, 7, 10],
    ] as const) {
      expect(deal.threshold).toBe(t);
      expect(deal.commitments).toHaveLength(t);
      expect(deal.shares.map((s) => s.index)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(toHex(deal.groupPublicKey)).toBe(toHex(deal.commitments[0]!));
      expect(bls.keyValidate(deal.groupPublicKey)).toBe(true);
      for (const s of deal.shares)
        expect(toHex(s.publicKey)).toBe(toHex(bls.secretKeyToPublicKey(s.secretKey)));
    }
  });

  it('deal is a pure function of (t, n, seed)', () => {
    const again = th.deal(3, 5, seedA);
    expect(again.shares.map((s) => toHex(s.secretKey))).toEqual(deal35.shares.map((s) => toHex(s.secretKey)));
    expect(again.commitments.map(toHex)).toEqual(deal35.commitments.map(toHex));
    expect(toHex(th.deal(3, 5, seedB).groupPublicKey)).not.toBe(toHex(deal35.groupPublicKey));
    // The threshold is bound into the derivation: 4-of-5 from the same seed is a different key.
    expect(toHex(th.deal(4, 5, seedA).groupPublicKey)).not.toBe(toHex(deal35.groupPublicKey));
    // n only adds evaluation points of the same polynomial.
    expect(toHex(th.deal(3, 7, seedA).shares[4]!.secretKey)).toBe(toHex(deal35.shares[4]!.secretKey));
  });

  it('deal: invalid parameters and seeds are typed errors', () => {
    for (const [t, n] of [
      [0, 5],
      [6, 5],
      [3, 1025],
      [1.5, 5],
      [-1, 5],
      [3, Number.NaN],
    ]) {
      expect(() => th.deal(t!, n!, seedA), `${t}/${n}`).toThrow(
        expect.objectContaining({ code: 'THRESHOLD_PARAMS' }),
      );
    }
    expect(() => th.deal(2, 3, new Uint8Array(31))).toThrow(
      expect.objectContaining({ code: 'INVALID_LENGTH' }),
    );
    expect(th.deal(1, 1, seedA).shares).toHaveLength(1);
  });

  it('Feldman: every share checks out, tampered ones do not', () => {
    for (const deal of [deal35, deal710]) {
      for (const s of deal.shares) {
        expect(th.verifyShareAgainstCommitments(s, deal.commitments)).toBe(true);
        expect(toHex(th.sharePublicKeyFromCommitments(deal.commitments, s.index))).toBe(toHex(s.publicKey));
      }
    }
    const s = deal35.shares[1]!;
    const otherSk = scalarToBytes(mod(bytesToBigInt(s.secretKey) + 1n));
    // Secret key off by one, with a matching public key: consistent pair, wrong polynomial.
    expect(
      th.verifyShareAgainstCommitments(
        { index: s.index, secretKey: otherSk, publicKey: bls.secretKeyToPublicKey(otherSk) },
        deal35.commitments,
      ),
    ).toBe(false);
    // Right secret, wrong public key / wrong index / another deal's commitments.
    expect(
      th.verifyShareAgainstCommitments({ ...s, publicKey: deal35.shares[0]!.publicKey }, deal35.commitments),
    ).toBe(false);
    expect(th.verifyShareAgainstCommitments({ ...s, index: 3 }, deal35.commitments)).toBe(false);
    expect(th.verifyShareAgainstCommitments(s, deal710.commitments)).toBe(false);
    // Malformed: never throws.
    expect(th.verifyShareAgainstCommitments({ ...s, index: 0 }, deal35.commitments)).toBe(false);
    expect(
      th.verifyShareAgainstCommitments({ ...s, secretKey: new Uint8Array(32) }, deal35.commitments),
    ).toBe(false);
    expect(th.verifyShareAgainstCommitments(s, [])).toBe(false);
    expect(th.verifyShareAgainstCommitments(s, [infinity(48), ...deal35.commitments.slice(1)])).toBe(false);
    expect(th.verifyShareAgainstCommitments(s, deal35.commitments.slice(0, 2))).toBe(false);
  });

  it('combine: different t-subsets give byte-identical signatures that verify under the group key', () => {
    const subsets = [
      [1, 2, 3],
      [3, 4, 5],
      [1, 3, 5],
      [2, 4, 5],
    ];
    const outs = subsets.map((ix) =>
      toHex(
        th.combine(
          ix.map((i) => partials35[i - 1]!),
          3,
        ),
      ),
    );
    expect(new Set(outs).size).toBe(1);
    const sig = th.combine(partials35.slice(0, 3), 3);
    expect(bls.verify(deal35.groupPublicKey, message, sig)).toBe(true);
    expect(bls.verify(deal35.groupPublicKey, utf8('another view'), sig)).toBe(false);
    // Oracle: equals a plain signature by the group secret a0, recovered from the secret shares.
    const a0 = scalarToBytes(groupSecret(deal35, [2, 4, 5]));
    expect(toHex(bls.secretKeyToPublicKey(a0))).toBe(toHex(deal35.groupPublicKey));
    expect(toHex(bls.sign(a0, message))).toBe(toHex(sig));
  });

  it('combine: input order and extra partials do not matter (lowest t indices are used)', () => {
    const sig = toHex(th.combine(partials35.slice(0, 3), 3));
    expect(toHex(th.combine([...partials35].reverse(), 3))).toBe(sig);
    expect(toHex(th.combine([partials35[2]!, partials35[0]!, partials35[1]!], 3))).toBe(sig);
    // t = 1 of n: any single partial is the group signature.
    const d1 = th.deal(1, 3, seedA);
    const s1 = th.combine([th.signShare(d1.shares[2]!, message)], 1);
    expect(bls.verify(d1.groupPublicKey, message, s1)).toBe(true);
  });

  it('7-of-10 combines from two disjoint-ish subsets identically', () => {
    const parts = deal710.shares.map((s) => th.signShare(s, message));
    const a = th.combine(parts.slice(0, 7), 7);
    const b = th.combine(parts.slice(3, 10), 7);
    expect(toHex(a)).toBe(toHex(b));
    expect(bls.verify(deal710.groupPublicKey, message, a)).toBe(true);
  });

  it('combine: typed errors', () => {
    const [p1, p2, p3] = partials35 as [PartialSignature, PartialSignature, PartialSignature];
    expect(() => th.combine([p1, p2], 3)).toThrow(code('THRESHOLD_NOT_ENOUGH_PARTIALS'));
    expect(() => th.combine([], 1)).toThrow(code('THRESHOLD_NOT_ENOUGH_PARTIALS'));
    expect(() => th.combine([])).toThrow(code('THRESHOLD_NOT_ENOUGH_PARTIALS'));
    expect(() => th.combine([p1, p2, p2], 3)).toThrow(code('THRESHOLD_DUPLICATE_INDEX'));
    expect(() => th.combine([p1, p2, { index: 1, signature: p3.signature }], 3)).toThrow(
      code('THRESHOLD_DUPLICATE_INDEX'),
    );
    for (const bad of [
      { index: 3, signature: p3.signature.subarray(0, 95) },
      { index: 3, signature: new Uint8Array(96).fill(0xab) },
      { index: 3, signature: infinity(96) },
      { index: 3, signature: notInG2 },
      { index: 3, signature: concatBytes(p3.signature, new Uint8Array(1)) },
      { index: 0, signature: p3.signature },
      { index: -3, signature: p3.signature },
      { index: '3', signature: p3.signature },
      { index: 1025, signature: p3.signature },
      { index: 2.5, signature: p3.signature },
      { index: 3, signature: 'sig' },
      null,
    ]) {
      const b = bad as unknown as PartialSignature;
      expect(() => th.combine([p1, p2, b], 3), JSON.stringify(bad)).toThrow(code('THRESHOLD_BAD_PARTIAL'));
      expect(() => th.combine([p1, p2, b]), JSON.stringify(bad)).toThrow(code('THRESHOLD_BAD_PARTIAL'));
      // Malformed is an error even where the partial would not be used (t = 2, index 3 is extra).
      expect(() => th.combine([p1, p2, b], 2), JSON.stringify(bad)).toThrow(code('THRESHOLD_BAD_PARTIAL'));
    }
    // The error names the offending partial.
    expect(caught(() => th.combine([p1, p2, { index: 3, signature: notInG2 }], 2)).meta.index).toBe(3);
    expect(caught(() => th.combine([p1, { index: 5, signature: infinity(96) }, p2])).meta.index).toBe(5);
    for (const t of [0, -1, 1.5, 1025, Number.NaN, null, '3', Symbol('t')])
      expect(() => th.combine([p1, p2, p3], t as unknown as number), String(t)).toThrow(
        code('THRESHOLD_PARAMS'),
      );
    for (const notArray of [null, undefined, p1, 'partials'])
      expect(() => th.combine(notArray as unknown as PartialSignature[])).toThrow(
        code('THRESHOLD_BAD_PARTIAL'),
      );
  });

  it('combine without t interpolates over all given partials: same signature as any t of them', () => {
    const sig = toHex(th.combine(partials35.slice(0, 3), 3));
    expect(toHex(th.combine(partials35))).toBe(sig);
    expect(toHex(th.combine(partials35.slice(1)))).toBe(sig);
    expect(toHex(th.combine([partials35[4]!, partials35[0]!, partials35[2]!]))).toBe(sig);
    expect(toHex(th.combine(partials35, undefined))).toBe(sig);
    // Fewer than the deal's threshold: without keys that cannot be noticed — a wrong signature.
    const short = th.combine(partials35.slice(0, 2));
    expect(short).toHaveLength(96);
    expect(bls.verify(deal35.groupPublicKey, message, short)).toBe(false);
  });

  it('combine with a check context: a valid combination is returned unchanged', () => {
    const sig = toHex(th.combine(partials35.slice(0, 3), 3));
    const shareKeys = new Map(deal35.shares.map((s) => [s.index, s.publicKey]));
    const checks = [
      { message, groupPublicKey: deal35.groupPublicKey },
      { message, sharePublicKeys: shareKeys },
      { message, sharePublicKeys: (i: number) => deal35.shares[i - 1]?.publicKey },
      { message, groupPublicKey: deal35.groupPublicKey, sharePublicKeys: shareKeys },
    ];
    for (const check of checks) {
      expect(toHex(th.combine(partials35.slice(0, 3), 3, check))).toBe(sig);
      expect(toHex(th.combine(partials35, undefined, check))).toBe(sig);
    }
  });

  it('combine with a check context: malformed contexts are THRESHOLD_PARAMS', () => {
    const parts = partials35.slice(0, 3);
    for (const bad of [
      null,
      'check',
      {},
      { message },
      { message: 'text', groupPublicKey: deal35.groupPublicKey },
      { message, groupPublicKey: infinity(48) },
      { message, groupPublicKey: deal35.groupPublicKey.subarray(0, 47) },
      { message, groupPublicKey: 'key' },
      { message, sharePublicKeys: deal35.shares.map((s) => s.publicKey) },
    ]) {
      expect(() => th.combine(parts, 3, bad as never), JSON.stringify(bad)).toThrow(code('THRESHOLD_PARAMS'));
    }
  });

  describe('a well-formed but wrong partial', () => {
    const [p1, p2] = partials35 as [PartialSignature, PartialSignature];
    const shares = deal35.shares;
    const shareKeys = new Map(shares.map((s) => [s.index, s.publicKey]));
    // Share 3's slot filled with share 4's (valid-looking) signature, and with share 3's signature
    // on another message: both valid G2 points, neither is H(m)^{sk_3}.
    const forgedA: PartialSignature = { index: 3, signature: partials35[3]!.signature };
    const forgedB: PartialSignature = {
      index: 3,
      signature: th.signShare(shares[2]!, utf8('other')).signature,
    };

    it('fails verifyShare; without a check context combine cannot see it (documented)', () => {
      for (const forged of [forgedA, forgedB]) {
        expect(th.verifyShare(shares[2]!.publicKey, message, forged)).toBe(false);
        const sig = th.combine([p1, p2, forged], 3);
        expect(sig).toHaveLength(96);
        expect(bls.verify(deal35.groupPublicKey, message, sig)).toBe(false);
      }
      for (const p of partials35)
        expect(th.verifyShare(shares[p.index - 1]!.publicKey, message, p)).toBe(true);
    });

    it('with share keys, combine throws THRESHOLD_BAD_PARTIAL naming it', () => {
      for (const forged of [forgedA, forgedB]) {
        for (const check of [
          { message, groupPublicKey: deal35.groupPublicKey, sharePublicKeys: shareKeys },
          { message, sharePublicKeys: shareKeys },
          { message, sharePublicKeys: (i: number) => shareKeys.get(i) },
        ]) {
          for (const t of [3, undefined]) {
            const e = caught(() => th.combine([forged, p2, p1], t, check));
            expect(e.code).toBe('THRESHOLD_BAD_PARTIAL');
            expect(e.meta.index).toBe(3);
            expect(e.meta.indices).toEqual([3]);
          }
        }
      }
      // Two bad ones: the lowest is named, all are listed.
      const forged2: PartialSignature = { index: 2, signature: p1.signature };
      const e = caught(() => th.combine([p1, forged2, forgedA], 3, { message, sharePublicKeys: shareKeys }));
      expect(e.meta).toMatchObject({ index: 2, indices: [2, 3] });
      // A partial whose index has no share key is a bad partial too.
      const e2 = caught(() =>
        th.combine([p1, p2, partials35[2]!], 3, {
          message,
          sharePublicKeys: new Map([...shareKeys].slice(0, 2)),
        }),
      );
      expect(e2.meta).toMatchObject({ index: 3, indices: [3] });
      expect(e2.code).toBe('THRESHOLD_BAD_PARTIAL');
    });

    it('with only the group key, combine throws THRESHOLD_BAD_PARTIAL without a culprit', () => {
      const e = caught(() =>
        th.combine([p1, p2, forgedA], 3, { message, groupPublicKey: deal35.groupPublicKey }),
      );
      expect(e.code).toBe('THRESHOLD_BAD_PARTIAL');
      expect(e.meta.index).toBeUndefined();
      expect(e.meta.indices).toEqual([1, 2, 3]);
      // The right partials under the wrong message: also caught by the group-key check.
      expect(() =>
        th.combine(partials35.slice(0, 3), 3, {
          message: utf8('another view'),
          groupPublicKey: deal35.groupPublicKey,
        }),
      ).toThrow(code('THRESHOLD_BAD_PARTIAL'));
    });

    it('an unused wrong partial (beyond the t lowest indices) does not matter', () => {
      const sig = th.combine([p1, p2, partials35[2]!, { index: 5, signature: p1.signature }], 3, {
        message,
        groupPublicKey: deal35.groupPublicKey,
        sharePublicKeys: shareKeys,
      });
      expect(bls.verify(deal35.groupPublicKey, message, sig)).toBe(true);
    });

    it('all valid shares that cannot reach the group key: NOT_ENOUGH_PARTIALS (t omitted) or PARAMS', () => {
      const full = { message, groupPublicKey: deal35.groupPublicKey, sharePublicKeys: shareKeys };
      expect(() => th.combine([p1, p2], undefined, full)).toThrow(code('THRESHOLD_NOT_ENOUGH_PARTIALS'));
      // t = 2 claimed for a 3-of-5 deal.
      expect(() => th.combine([p1, p2], 2, full)).toThrow(code('THRESHOLD_PARAMS'));
      // Group key only, too few: cannot tell from a bad partial.
      expect(() =>
        th.combine([p1, p2], undefined, { message, groupPublicKey: deal35.groupPublicKey }),
      ).toThrow(code('THRESHOLD_BAD_PARTIAL'));
      // Share keys of this deal, group key of another.
      const other = th.deal(3, 5, seedB).groupPublicKey;
      expect(() =>
        th.combine(partials35.slice(0, 3), 3, { message, groupPublicKey: other, sharePublicKeys: shareKeys }),
      ).toThrow(code('THRESHOLD_PARAMS'));
    });
  });

  it('verifyShare: malformed or mismatched input → false, never a throw', () => {
    const s1 = deal35.shares[0]!;
    const s2 = deal35.shares[1]!;
    const p1 = partials35[0]!;
    const sig = p1.signature;
    const falseCases: [string, unknown, unknown, unknown][] = [
      ['truncated signature', s1.publicKey, message, { index: 1, signature: sig.subarray(0, 95) }],
      ['empty signature', s1.publicKey, message, { index: 1, signature: new Uint8Array(0) }],
      [
        'oversized signature',
        s1.publicKey,
        message,
        { index: 1, signature: concatBytes(sig, new Uint8Array(1)) },
      ],
      ['garbage signature', s1.publicKey, message, { index: 1, signature: new Uint8Array(96).fill(0xab) }],
      ['zero signature', s1.publicKey, message, { index: 1, signature: new Uint8Array(96) }],
      ['infinity signature', s1.publicKey, message, { index: 1, signature: infinity(96) }],
      ['signature not in G2', s1.publicKey, message, { index: 1, signature: notInG2 }],
      ['signature not bytes', s1.publicKey, message, { index: 1, signature: toHex(sig) }],
      // Wrong index: share 1's signature relabelled as share 2's, checked with share 2's key.
      ['wrong index', s2.publicKey, message, { index: 2, signature: sig }],
      ['index 0', s1.publicKey, message, { index: 0, signature: sig }],
      ['index 1025', s1.publicKey, message, { index: 1025, signature: sig }],
      ['index 1.5', s1.publicKey, message, { index: 1.5, signature: sig }],
      ['index "1"', s1.publicKey, message, { index: '1', signature: sig }],
      ['index missing', s1.publicKey, message, { signature: sig }],
      ['partial null', s1.publicKey, message, null],
      ['partial a string', s1.publicKey, message, 'partial'],
      ['other message', s1.publicKey, utf8('another view'), p1],
      ['message not bytes', s1.publicKey, 'hotstuff', p1],
      ['key truncated', s1.publicKey.subarray(0, 47), message, p1],
      ['key infinity', infinity(48), message, p1],
      ['key null', null, message, p1],
    ];
    for (const [name, pk, m, p] of falseCases) {
      let out: unknown;
      expect(() => {
        out = th.verifyShare(pk as Uint8Array, m as Uint8Array, p as PartialSignature);
      }, name).not.toThrow();
      expect(out, name).toBe(false);
    }
    expect(th.verifyShare(s1.publicKey, message, p1)).toBe(true); // control
  });

  it('wrong-type inputs are typed errors, never a TypeError', () => {
    const s1 = deal35.shares[0]!;
    for (const share of [null, undefined, 123, 'share']) {
      const e = caught(() => th.signShare(share as unknown as ThresholdShare, message));
      expect(e.code).toBe('INVALID_ARGUMENT');
    }
    expect(caught(() => th.signShare({ ...s1, index: 0 }, message)).code).toBe('THRESHOLD_PARAMS');
    expect(caught(() => th.signShare({ index: 1 } as ThresholdShare, message)).code).toBe('INVALID_LENGTH');
    expect(caught(() => th.signShare(s1, 'message' as unknown as Uint8Array)).code).toBe('INVALID_LENGTH');
    for (const t of [Symbol('t'), '3', null]) {
      expect(caught(() => th.deal(t as unknown as number, 5, seedA)).code).toBe('THRESHOLD_PARAMS');
    }
    expect(caught(() => th.deal(2, 3, 'seed' as unknown as Uint8Array)).code).toBe('INVALID_LENGTH');
    expect(caught(() => th.sharePublicKeyFromCommitments(null as unknown as Uint8Array[], 1)).code).toBe(
      'THRESHOLD_PARAMS',
    );
    expect(caught(() => th.sharePublicKeyFromCommitments([null as unknown as Uint8Array], 1)).code).toBe(
      'INVALID_KEY',
    );
    expect(th.verifyShareAgainstCommitments(null as unknown as ThresholdShare, deal35.commitments)).toBe(
      false,
    );
  });
});

describe.skipIf(!hasBlst)('threshold: blst and noble agree', () => {
  it('identical deals, partials and combined signatures', () => {
    const a = blst.threshold.deal(4, 6, seedB);
    const b = noble.threshold.deal(4, 6, seedB);
    expect(a.commitments.map(toHex)).toEqual(b.commitments.map(toHex));
    expect(a.shares.map((s) => toHex(s.publicKey))).toEqual(b.shares.map((s) => toHex(s.publicKey)));
    const parts = a.shares.map((s) => blst.threshold.signShare(s, message));
    expect(toHex(noble.threshold.signShare(b.shares[5]!, message).signature)).toBe(
      toHex(parts[5]!.signature),
    );
    const subset = [parts[5]!, parts[1]!, parts[3]!, parts[4]!];
    expect(toHex(noble.threshold.combine(subset, 4))).toBe(toHex(blst.threshold.combine(subset, 4)));
  });

  it('a larger committee (t = 20 of 25): MSM path, equal to signing with a0', () => {
    const deal = blst.threshold.deal(20, 25, seedA);
    const parts = deal.shares.map((s) => blst.threshold.signShare(s, message));
    const sig = blst.threshold.combine(parts.slice(5), 20);
    expect(toHex(noble.threshold.combine(parts.slice(5), 20))).toBe(toHex(sig));
    expect(toHex(blst.threshold.combine(parts.slice(0, 20), 20))).toBe(toHex(sig));
    const a0 = scalarToBytes(
      groupSecret(
        deal,
        Array.from({ length: 20 }, (_, i) => i + 1),
      ),
    );
    expect(toHex(blst.sign(a0, message))).toBe(toHex(sig));
    expect(blst.verify(deal.groupPublicKey, message, sig)).toBe(true);
  });

  it('a partial outside the G2 subgroup is BAD_PARTIAL in both backends', () => {
    const deal = blst.threshold.deal(2, 3, seedA);
    const p1 = blst.threshold.signShare(deal.shares[0]!, message);
    for (const api of [blst, noble]) {
      for (const t of [2, undefined]) {
        const e = caught(() => api.threshold.combine([p1, { index: 2, signature: notInG2 }], t));
        expect(e.code).toBe('THRESHOLD_BAD_PARTIAL');
        expect(e.meta.index).toBe(2);
      }
    }
  });

  it('check context and t-less combine agree across backends, including the error for a bad partial', () => {
    const deal = blst.threshold.deal(4, 7, seedB);
    const parts = deal.shares.map((s) => blst.threshold.signShare(s, message));
    const shareKeys = new Map(deal.shares.map((s) => [s.index, s.publicKey]));
    const check = { message, groupPublicKey: deal.groupPublicKey, sharePublicKeys: shareKeys };
    const a = blst.threshold.combine(parts.slice(2), undefined, check);
    expect(toHex(noble.threshold.combine(parts.slice(2), undefined, check))).toBe(toHex(a));
    expect(toHex(blst.threshold.combine(parts.slice(0, 4), 4))).toBe(toHex(a));
    const forged = [...parts.slice(0, 3), { index: 4, signature: parts[5]!.signature }];
    for (const api of [blst, noble]) {
      expect(caught(() => api.threshold.combine(forged, 4, check)).meta).toMatchObject({
        index: 4,
        indices: [4],
      });
    }
  });
});
