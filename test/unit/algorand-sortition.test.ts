/**
 * Cryptographic sortition (consensus/algorand): the binomial selection against an independent
 * exact CDF at every boundary, its distribution (means, chi-square, committee totals), a
 * floating-point differential, large stakes, VRF proofs and their rejection, priority and the
 * common coin. Statistical checks use SeededRng variates, so every run is the same run; each has
 * a negative control showing it can fail.
 */
import { describe, expect, it } from 'vitest';
import { binomialInternals, selectBinomial } from '../../consensus/algorand/binomial.ts';
import {
  type BinomialWeights,
  COIN_TAG,
  commonCoin,
  comparePriority,
  MAX_COMMITTEE_SIZE,
  MAX_STAKE,
  PRIORITY_TAG,
  priority,
  type SortitionContext,
  SortitionError,
  selectedCount,
  sortition,
  sortitionAlpha,
  verifySortition,
} from '../../consensus/algorand/sortition.ts';
import { type Rng, SeededRng } from '../../consensus/rng.ts';
import { concatBytes, fromHex, toHex, u64be, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';

const BITS = 512;
const ONE = 1n << BigInt(BITS);

// ---- independent references -------------------------------------------------------------------

/** Cumulative numerators N_j = Σ_{k≤j} C(w,k) τ^k (W−τ)^(w−k) over D = W^w, C from Pascal's rows. */
function refCdf(w: number, W: bigint, tau: bigint): { nums: bigint[]; den: bigint } {
  let row = [1n];
  for (let n = 1; n <= w; n++) row = row.map((c, i) => c + (i > 0 ? (row[i - 1] as bigint) : 0n)).concat(1n);
  const nums: bigint[] = [];
  let acc = 0n;
  for (let k = 0; k <= w; k++) {
    acc += (row[k] as bigint) * tau ** BigInt(k) * (W - tau) ** BigInt(w - k);
    nums.push(acc);
  }
  return { nums, den: W ** BigInt(w) };
}

/** The paper's rule read literally: the smallest j with u / 2^BITS < N_j / D. */
function refSelect(u: bigint, cdf: { nums: bigint[]; den: bigint }): number {
  const j = cdf.nums.findIndex((n) => u * cdf.den < n << BigInt(BITS));
  if (j < 0) throw new Error('CDF never exceeds the variate');
  return j;
}

/** Floating-point CDF (test-side only), built from the pmf recurrence. */
function floatCdf(w: number, p: number, upTo: number): number[] {
  const out: number[] = [];
  let pmf = Math.exp(w * Math.log1p(-p));
  let acc = 0;
  for (let k = 0; k <= Math.min(w, upTo); k++) {
    acc += pmf;
    out.push(acc);
    pmf *= ((w - k) / (k + 1)) * (p / (1 - p));
  }
  return out;
}

function outputOf(u: bigint): Uint8Array {
  return fromHex(u.toString(16).padStart(128, '0'));
}

function randomOutput(rng: Rng): Uint8Array {
  return Uint8Array.from({ length: 64 }, () => rng.int(256));
}

function toU(output: Uint8Array): bigint {
  return BigInt(`0x${toHex(output)}`);
}

function weights(stake: number | bigint, totalStake: number | bigint, expectedSize: number | bigint) {
  return { stake, totalStake, expectedSize } satisfies BinomialWeights;
}

/** |mean − μ| within `z` standard errors for variance σ² per sample. */
function meanWithin(samples: number[], mu: number, variance: number, z = 4): boolean {
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return Math.abs(mean - mu) < z * Math.sqrt(variance / samples.length);
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SortitionError) return e.code;
    throw e;
  }
  return 'no error';
}

// ---- the selection rule ---------------------------------------------------------------------

const GRID: Array<[number, bigint, bigint]> = [];
for (const W of [1n, 2n, 3n, 7n, 10n, 64n, 97n, 100n]) {
  const taus = [...new Set([1n, W / 3n, W / 2n, W - 1n, W])].filter((t) => t >= 1n);
  for (const tau of taus)
    for (const w of [1, 2, 3, 5, 8, 13, 21, 30]) if (BigInt(w) <= W) GRID.push([w, W, tau]);
}

describe('selection at the exact CDF boundaries', () => {
  it('switches exactly at ceil(2^512 · CDF(j)) for every j, across the grid', () => {
    let checks = 0;
    let integral = 0;
    for (const [w, W, tau] of GRID) {
      const cdf = refCdf(w, W, tau);
      const wt = weights(w, W, tau);
      for (let j = 0; j < w; j++) {
        const num = (cdf.nums[j] as bigint) << BigInt(BITS);
        const boundary = (num + cdf.den - 1n) / cdf.den; // smallest u NOT selected at ≤ j
        if (boundary * cdf.den === num) integral++;
        if (boundary >= 1n) {
          const got = selectedCount(outputOf(boundary - 1n), wt);
          expect(got, `w=${w} W=${W} τ=${tau} j=${j} below`).toBe(refSelect(boundary - 1n, cdf));
          expect(got).toBeLessThanOrEqual(j);
          checks++;
        }
        if (boundary < ONE) {
          const got = selectedCount(outputOf(boundary), wt);
          expect(got, `w=${w} W=${W} τ=${tau} j=${j} at`).toBe(refSelect(boundary, cdf));
          expect(got).toBeGreaterThan(j);
          checks++;
        }
      }
      expect(selectedCount(outputOf(0n), wt)).toBe(refSelect(0n, cdf));
      expect(selectedCount(outputOf(ONE - 1n), wt)).toBe(refSelect(ONE - 1n, cdf));
    }
    expect(checks).toBeGreaterThan(1000);
    // Dyadic cases (W = 2, 64) put some boundaries exactly on a representable u: covered.
    expect(integral).toBeGreaterThan(10);
  });

  it('selects exactly j at the last u below each boundary when the interval is non-empty', () => {
    const cdf = refCdf(21, 97n, 48n);
    const wt = weights(21, 97n, 48n);
    let previous = 0n;
    for (let j = 0; j <= 21; j++) {
      const num = (cdf.nums[j] as bigint) << BigInt(BITS);
      const boundary = (num + cdf.den - 1n) / cdf.den;
      if (boundary > previous) {
        expect(selectedCount(outputOf(boundary - 1n), wt)).toBe(j);
        expect(selectedCount(outputOf(previous), wt)).toBe(j);
      }
      previous = boundary;
    }
  });

  it('matches the reference on random variates too', () => {
    const rng = new SeededRng('sortition/random-grid');
    for (const [w, W, tau] of GRID) {
      const cdf = refCdf(w, W, tau);
      for (let i = 0; i < 10; i++) {
        const out = randomOutput(rng);
        expect(selectedCount(out, weights(w, W, tau))).toBe(refSelect(toU(out), cdf));
      }
    }
  });

  it('stays exact with a 5-bit mantissa thanks to the exact fallback; without it, it does not', () => {
    let mismatchesWithoutFallback = 0;
    for (const [w, W, tau] of GRID) {
      const cdf = refCdf(w, W, tau);
      // Out of budget, an undecided check defers to the lower bound: j = first lo above u.
      const bounds = tau < W ? binomialInternals.cdfBounds(weights(w, W, tau), 5) : [];
      const byLower = (u: bigint) => {
        const j = bounds.findIndex(({ lo }) => {
          const e = lo.e + BITS;
          return e >= 0 ? lo.m << BigInt(e) > u : lo.m > u << BigInt(-e);
        });
        return j < 0 ? w : j;
      };
      for (let j = 0; j < w; j++) {
        const num = (cdf.nums[j] as bigint) << BigInt(BITS);
        const boundary = (num + cdf.den - 1n) / cdf.den;
        for (const u of [boundary - 1n, boundary]) {
          if (u < 0n || u >= ONE) continue;
          const wt = weights(w, W, tau);
          const exact = binomialInternals.select(u, BITS, wt, { mantissaBits: 5, exactBudgetBits: 1 << 16 });
          expect(exact).toBe(refSelect(u, cdf));
          const bounded = binomialInternals.select(u, BITS, wt, { mantissaBits: 5, exactBudgetBits: 0 });
          if (tau < W) expect(bounded).toBe(byLower(u));
          if (bounded !== refSelect(u, cdf)) mismatchesWithoutFallback++;
        }
      }
    }
    // Negative control: the coarse bounds alone get boundaries wrong, so the checks above bite.
    expect(mismatchesWithoutFallback).toBeGreaterThan(100);
  });

  it('each rounding primitive rounds in its direction, by less than one unit in the last place', () => {
    const { add, mul, mulDiv, pow } = binomialInternals.arith;
    type X = { m: bigint; e: number };
    const cmp = (x: X, y: X) => {
      const e = Math.min(x.e, y.e);
      const [l, r] = [x.m << BigInt(x.e - e), y.m << BigInt(y.e - e)];
      return l < r ? -1 : l > r ? 1 : 0;
    };
    const sum = (x: X, y: X): X => {
      const e = Math.min(x.e, y.e);
      return { m: (x.m << BigInt(x.e - e)) + (y.m << BigInt(y.e - e)), e };
    };
    const rng = new SeededRng('sortition/arith');
    let inexact = 0;
    for (let i = 0; i < 3000; i++) {
      const bits = [2, 3, 8, 16, 30][rng.int(5)] as number;
      // Operands as the rounding leaves them: zero or exactly `bits` significant bits.
      const rand = (): X =>
        rng.chance(0.05)
          ? { m: 0n, e: 0 }
          : { m: (1n << BigInt(bits - 1)) | BigInt(rng.int(2 ** (bits - 1))), e: rng.int(200) - 150 };
      const [a, b] = [rand(), rand()];
      const num = BigInt(1 + rng.int(2 ** 20));
      const den = BigInt(1 + rng.int(2 ** 20));
      const n = BigInt(1 + rng.int(12));
      const exact: Array<[string, (up: boolean) => X, X, bigint]> = [
        ['add', (up) => add(a, b, bits, up), sum(a, b), 1n],
        ['mul', (up) => mul(a, b, bits, up), { m: a.m * b.m, e: a.e + b.e }, 1n],
        ['mulDiv', (up) => mulDiv(a, num, den, bits, up), { m: a.m * num, e: a.e }, den],
        ['pow', (up) => pow(a, n, bits, up), { m: a.m ** n, e: a.e * Number(n) }, 1n],
      ];
      for (const [what, op, value, divisor] of exact) {
        const [lo, hi] = [op(false), op(true)];
        // Compare r/1 with value/divisor as r·divisor vs value.
        const scaled = (x: X) => ({ m: x.m * divisor, e: x.e });
        expect(cmp(scaled(lo), value), `${what} lo`).toBeLessThanOrEqual(0);
        expect(cmp(scaled(hi), value), `${what} hi`).toBeGreaterThanOrEqual(0);
        for (const r of [lo, hi])
          expect([0, bits, bits + 1], what).toContain(r.m === 0n ? 0 : r.m.toString(2).length);
        if (what !== 'pow' && value.m !== 0n) {
          // One ulp: hi − lo ≤ 2^(1−bits) · value, i.e. (hi − lo)·2^(bits−1)·divisor ≤ value.
          const gap = {
            m: (hi.m << BigInt(hi.e - Math.min(hi.e, lo.e))) - (lo.m << BigInt(lo.e - Math.min(hi.e, lo.e))),
            e: Math.min(hi.e, lo.e),
          };
          expect(cmp({ m: gap.m * divisor, e: gap.e + bits - 1 }, value), `${what} gap`).toBeLessThanOrEqual(
            0,
          );
        }
        if (cmp(lo, hi) < 0) inexact++;
      }
    }
    expect(inexact).toBeGreaterThan(3000);
  });

  it('the directed-rounding bounds enclose the exact CDF at every precision', () => {
    /** Sign of m·2^e − N/D. */
    const cmp = (x: { m: bigint; e: number }, n: bigint, d: bigint) => {
      const [l, r] = x.e >= 0 ? [(x.m << BigInt(x.e)) * d, n] : [x.m * d, n << BigInt(-x.e)];
      return l < r ? -1 : l > r ? 1 : 0;
    };
    let loose = 0;
    for (const [w, W, tau] of GRID) {
      if (tau === W) continue;
      const cdf = refCdf(w, W, tau);
      for (const bits of [2, 3, 5, 8, 16, 64]) {
        const bounds = binomialInternals.cdfBounds(weights(w, W, tau), bits);
        expect(bounds).toHaveLength(w);
        bounds.forEach(({ lo, hi }, j) => {
          const n = cdf.nums[j] as bigint;
          expect(cmp(lo, n, cdf.den), `lo w=${w} W=${W} τ=${tau} j=${j} bits=${bits}`).toBeLessThanOrEqual(0);
          expect(cmp(hi, n, cdf.den), `hi w=${w} W=${W} τ=${tau} j=${j} bits=${bits}`).toBeGreaterThanOrEqual(
            0,
          );
          if (cmp(lo, n, cdf.den) < 0) loose++;
        });
      }
    }
    expect(loose).toBeGreaterThan(100); // the bounds really are inexact: the checks above bite
  });

  it('handles the degenerate weights exactly', () => {
    const u = toU(randomOutput(new SeededRng('degenerate')));
    expect(selectBinomial(u, BITS, weights(0, 100, 10))).toBe(0); // no stake
    expect(selectBinomial(u, BITS, weights(50, 100, 0))).toBe(0); // τ = 0
    expect(selectBinomial(u, BITS, weights(37, 100, 100))).toBe(37); // p = 1: everyone
    expect(selectBinomial(ONE - 1n, BITS, weights(37, 100, 99))).toBe(37);
    expect(selectBinomial(0n, BITS, weights(37, 100, 99))).toBe(0); // B(0) = 1/100^37 > 0
    expect(selectBinomial(5n, 4, weights(1, 2, 1))).toBe(0); // 5/16 < 1/2
    expect(selectBinomial(8n, 4, weights(1, 2, 1))).toBe(1); // 8/16 = 1/2: not below
    expect(selectBinomial(1234n, BITS, weights(7, 64, 32))).toBe(
      selectBinomial(1234n, BITS, weights(7n, 64n, 32n)),
    );
  });
});

// ---- distribution ---------------------------------------------------------------------------

describe('distribution of the selection', () => {
  const cases: Array<[number | bigint, number | bigint, number]> = [
    [30, 100, 20],
    [1000, 10_000, 500],
    [2 ** 30, 2 ** 32, 200],
  ];

  for (const [w, W, tau] of cases) {
    it(`mean j ≈ τ·w/W for w=${w}, W=${W}, τ=${tau}`, () => {
      const rng = new SeededRng(`sortition/mean/${w}/${W}/${tau}`);
      const p = tau / Number(W);
      const samples = Array.from({ length: 2000 }, () =>
        selectedCount(randomOutput(rng), weights(w, W, tau)),
      );
      expect(meanWithin(samples, Number(w) * p, Number(w) * p * (1 - p))).toBe(true);
    });
  }

  it('negative control: biased variates (top half only) fail the mean check', () => {
    const rng = new SeededRng('sortition/biased');
    const samples = Array.from({ length: 2000 }, () => {
      const out = randomOutput(rng);
      out[0] = (out[0] as number) | 0x80;
      return selectedCount(out, weights(1000, 10_000, 500));
    });
    expect(meanWithin(samples, 50, 50 * 0.95)).toBe(false);
  });

  it('chi-square: the counts of j follow the exact Binomial(w, τ/W) pmf', () => {
    const [w, W, tau] = [30, 100n, 20n];
    const cdf = refCdf(w, W, tau);
    const n = 4000;
    const rng = new SeededRng('sortition/chi2');
    const counts = new Array<number>(w + 1).fill(0);
    for (let i = 0; i < n; i++) {
      const j = selectedCount(randomOutput(rng), weights(w, W, tau));
      counts[j] = (counts[j] as number) + 1;
    }
    const pmf = cdf.nums.map(
      (c, k) => Number(c - (k > 0 ? (cdf.nums[k - 1] as bigint) : 0n)) / Number(cdf.den),
    );
    const chi2 = (observed: number[]) => {
      // Merge bins with fewer than 5 expected into their neighbours.
      let stat = 0;
      let bins = 0;
      let obs = 0;
      let exp = 0;
      for (let k = 0; k <= w; k++) {
        obs += observed[k] as number;
        exp += n * (pmf[k] as number);
        if (exp >= 5 && n * (1 - cdf_(k)) >= 5) {
          stat += (obs - exp) ** 2 / exp;
          bins++;
          obs = exp = 0;
        }
      }
      stat += exp > 0 ? (obs - exp) ** 2 / exp : 0;
      bins++;
      const df = bins - 1;
      const z = 3.09; // p = 0.001, Wilson–Hilferty
      return stat < df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
    };
    const cdf_ = (k: number) => Number(cdf.nums[k] as bigint) / Number(cdf.den);
    expect(chi2(counts)).toBe(true);
    // Negative control: counts shifted by one sub-user are rejected.
    expect(chi2([0, ...counts.slice(0, w)])).toBe(false);
  });

  it('committee totals: stakes summing to W give committees of τ on average (real VRF proofs)', () => {
    const stakes = [400, 250, 150, 100, 60, 40]; // W = 1000
    const W = stakes.reduce((a, b) => a + b, 0);
    const tau = 40;
    const keys = stakes.map((_, i) => sha256(utf8(`sortition-test-vrf-key-${i}`)));
    const totals: number[] = [];
    for (let round = 1; round <= 80; round++) {
      const ctx: SortitionContext = { seed: sha256(u64be(round)), round, step: 1, role: 'committee' };
      totals.push(
        stakes.reduce((sum, w, i) => sum + sortition(keys[i] as Uint8Array, ctx, weights(w, W, tau)).j, 0),
      );
    }
    const variance = tau * (1 - tau / W);
    expect(meanWithin(totals, tau, variance)).toBe(true);
    expect(meanWithin(totals, tau * 1.25, variance)).toBe(false); // negative control
  });

  it('committee totals over many seeds (random outputs, 20 validators)', () => {
    const rng = new SeededRng('sortition/committee');
    const stakes = Array.from({ length: 20 }, (_, i) => 1 + i * 37);
    const W = stakes.reduce((a, b) => a + b, 0);
    const tau = 100;
    const totals = Array.from({ length: 1500 }, () =>
      stakes.reduce((sum, w) => sum + selectedCount(randomOutput(rng), weights(w, W, tau)), 0),
    );
    expect(meanWithin(totals, tau, tau * (1 - tau / W))).toBe(true);
    expect(meanWithin(totals, tau + 3, tau * (1 - tau / W))).toBe(false);
  });
});

// ---- differential against floating point --------------------------------------------------

describe('differential against a floating-point binomial CDF', () => {
  /** Disagreements between exact j and the float rule that are NOT within `tol` of a boundary. */
  function disagreements(
    w: number | bigint,
    W: number | bigint,
    tau: number,
    p: number,
    seed: string,
  ): number {
    const rng = new SeededRng(seed);
    const fcdf = floatCdf(Number(w), p, 100_000);
    let bad = 0;
    for (let i = 0; i < 1500; i++) {
      const out = randomOutput(rng);
      const j = selectedCount(out, weights(w, W, tau));
      const uf = Number(toU(out) >> BigInt(BITS - 53)) / 2 ** 53;
      const jf = fcdf.findIndex((c) => uf < c);
      if (j !== jf && !(Math.abs(uf - (fcdf[Math.min(j, jf)] as number)) < 1e-9)) bad++;
    }
    return bad;
  }

  const cases: Array<[number | bigint, number | bigint, number]> = [
    [150, 1000, 300],
    [500, 5000, 2000],
    [20, 21, 20],
    [2 ** 40, 2 ** 42, 1000],
  ];
  for (const [w, W, tau] of cases) {
    it(`agrees for w=${w}, W=${W}, τ=${tau}`, () => {
      expect(disagreements(w, W, tau, tau / Number(W), `diff/${w}/${W}/${tau}`)).toBe(0);
    });
  }

  it('negative control: a float CDF for p·1.01 disagrees', () => {
    expect(disagreements(500, 5000, 2000, 0.404, 'diff/neg')).toBeGreaterThan(10);
  });
});

// ---- large stakes -------------------------------------------------------------------------------

describe('large stakes', () => {
  it('w = 2^40, W = 2^42, τ = 1000: the loop stops near j, results are sane', () => {
    const wt = weights(2n ** 40n, 2n ** 42n, 1000n);
    const rng = new SeededRng('sortition/large');
    const samples = Array.from({ length: 300 }, () => selectedCount(randomOutput(rng), wt));
    const p = 1000 / 2 ** 42;
    expect(meanWithin(samples, 2 ** 40 * p, 2 ** 40 * p * (1 - p))).toBe(true);
    expect(selectedCount(outputOf(0n), wt)).toBe(0);
    const top = selectedCount(outputOf(ONE - 1n), wt); // 1 − CDF(j) < 2^-512: far tail, still finite
    expect(top).toBeGreaterThan(500);
    expect(top).toBeLessThan(2000);
    // The same stake as a number or a bigint, and the whole stake (j around τ).
    const out = randomOutput(rng);
    expect(selectedCount(out, weights(2 ** 40, 2 ** 42, 1000))).toBe(selectedCount(out, wt));
    const whole = Array.from({ length: 40 }, () =>
      selectedCount(randomOutput(rng), weights(2n ** 42n, 2n ** 42n, 1000n)),
    );
    expect(meanWithin(whole, 1000, 1000)).toBe(true);
  });

  it('u64 stakes and the largest committee size are accepted', () => {
    const out = randomOutput(new SeededRng('sortition/u64'));
    const j = selectedCount(out, weights(MAX_STAKE / 3n, MAX_STAKE, 500n));
    expect(j).toBeGreaterThan(100);
    expect(j).toBeLessThan(250);
    expect(selectedCount(out, weights(100, MAX_STAKE, MAX_COMMITTEE_SIZE))).toBe(0);
  });
});

// ---- VRF sortition ------------------------------------------------------------------------------

const SK = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
const PK = vrf.publicKeyFromSecret(SK);
const SEED = Uint8Array.from({ length: 32 }, (_, i) => i);
const CTX: SortitionContext = { seed: SEED, round: 7, step: 3, role: 'committee' };
const WT = weights(40, 100, 50);

describe('sortition with VRF proofs', () => {
  it('alpha is the documented 74-byte encoding', () => {
    const tagBytes = utf8('verity/algorand/sortition/v1');
    const expected = concatBytes(
      Uint8Array.of(tagBytes.length),
      tagBytes,
      SEED,
      u64be(7),
      Uint8Array.of(0, 0, 0, 3),
      Uint8Array.of(0x02),
    );
    expect(toHex(sortitionAlpha(CTX))).toBe(toHex(expected));
    expect(sortitionAlpha(CTX)).toHaveLength(74);
    expect(sortitionAlpha({ ...CTX, role: 'proposer' }).at(-1)).toBe(0x01);
    expect(toHex(sortitionAlpha({ ...CTX, round: 2n ** 64n - 1n }).subarray(61, 69))).toBe('ff'.repeat(8));
    const variants = [CTX, { ...CTX, round: 8 }, { ...CTX, step: 4 }, { ...CTX, role: 'proposer' as const }];
    expect(new Set(variants.map((c) => toHex(sortitionAlpha(c)))).size).toBe(4);
  });

  it('a pinned vector: the same inputs give the same selection on every machine', () => {
    const s = sortition(SK, CTX, WT);
    expect(toHex(s.output)).toBe(
      '0d038189a4d5f046b65c20698e1d8b293434a39131bb7fc532e7b58c11614742' +
        '679b35da05b97931c48969eb6586d5ce2b9d1f89c21cad23d8ddb00255a928ef',
    );
    expect(s.j).toBe(15);
    expect(refSelect(toU(s.output), refCdf(40, 100n, 50n))).toBe(15);
    expect(toHex(sortition(SK, CTX, WT).proof)).toBe(toHex(s.proof));
  });

  it('a valid proof verifies to the same output and j', () => {
    for (const [ctx, wt] of [
      [CTX, WT],
      [{ ...CTX, role: 'proposer' as const, step: 0 }, weights(2 ** 40, 2 ** 42, 26)],
      [{ ...CTX, round: 2n ** 63n }, weights(1, 1, 1)],
    ] as const) {
      const s = sortition(SK, ctx, wt);
      const v = verifySortition(PK, s.proof, ctx, wt);
      expect(toHex(v.output)).toBe(toHex(s.output));
      expect(v.j).toBe(s.j);
      expect(v.j).toBe(selectedCount(s.output, wt));
    }
  });

  it('rejects a proof for another round, step, role, seed, key, or with a flipped bit', () => {
    const { proof } = sortition(SK, CTX, WT);
    expect(verifySortition(PK, proof, CTX, WT).j).toBe(15); // positive control
    const seed2 = SEED.slice();
    seed2[31] = (seed2[31] as number) ^ 1;
    const otherPk = vrf.publicKeyFromSecret(sha256(utf8('another vrf key')));
    const cases: Array<[string, () => unknown]> = [
      ['round', () => verifySortition(PK, proof, { ...CTX, round: 8 }, WT)],
      ['step', () => verifySortition(PK, proof, { ...CTX, step: 2 }, WT)],
      ['role', () => verifySortition(PK, proof, { ...CTX, role: 'proposer' }, WT)],
      ['seed', () => verifySortition(PK, proof, { ...CTX, seed: seed2 }, WT)],
      ['key', () => verifySortition(otherPk, proof, CTX, WT)],
      ['short', () => verifySortition(PK, proof.subarray(0, 79), CTX, WT)],
      ['garbage key', () => verifySortition(new Uint8Array(32), proof, CTX, WT)],
    ];
    for (const bit of [0, 7, 255, 300, 500, 639]) {
      const flipped = proof.slice();
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7));
      cases.push([`bit ${bit}`, () => verifySortition(PK, flipped, CTX, WT)]);
    }
    for (const [what, fn] of cases) expect(codeOf(fn), what).toBe('SORTITION_BAD_PROOF');
  });

  it('the verifier counts with its own weights: a claimed selection cannot be inflated', () => {
    const s = sortition(SK, CTX, WT);
    expect(verifySortition(PK, s.proof, CTX, weights(0, 100, 50)).j).toBe(0);
    expect(verifySortition(PK, s.proof, CTX, weights(40, 100, 25)).j).toBeLessThanOrEqual(s.j);
    expect(verifySortition(PK, s.proof, CTX, weights(100, 100, 100)).j).toBe(100);
  });

  it('rejects bad weights and contexts with typed errors, before proving', () => {
    const bad: Array<[string, BinomialWeights]> = [
      ['w > W', weights(101, 100, 50)],
      ['τ > W', weights(10, 100, 101)],
      ['negative stake', weights(-1, 100, 50)],
      ['negative τ', weights(1, 100, -5)],
      ['fractional stake', weights(1.5, 100, 50)],
      ['fractional τ', weights(1, 100, 2.5)],
      ['NaN', weights(Number.NaN, 100, 50)],
      ['unsafe number', weights(1, 2 ** 53, 50)],
      ['W = 0', weights(0, 0, 0)],
      ['W > u64', weights(1, MAX_STAKE + 1n, 50)],
      ['τ too large', weights(1, 2n ** 40n, MAX_COMMITTEE_SIZE + 1n)],
      ['string', { stake: '5' as unknown as number, totalStake: 100, expectedSize: 50 }],
    ];
    for (const [what, wt] of bad) {
      expect(
        codeOf(() => sortition(SK, CTX, wt)),
        what,
      ).toBe('SORTITION_INVALID_ARGUMENT');
      expect(
        codeOf(() => verifySortition(PK, new Uint8Array(80), CTX, wt)),
        what,
      ).toBe('SORTITION_INVALID_ARGUMENT');
      expect(
        codeOf(() => selectedCount(new Uint8Array(64), wt)),
        what,
      ).toBe('SORTITION_INVALID_ARGUMENT');
    }
    const badCtx: Array<[string, SortitionContext]> = [
      ['short seed', { ...CTX, seed: new Uint8Array(31) }],
      ['role', { ...CTX, role: 'toString' as SortitionContext['role'] }],
      ['negative round', { ...CTX, round: -1 }],
      ['round ≥ 2^64', { ...CTX, round: 2n ** 64n }],
      ['fractional step', { ...CTX, step: 1.5 }],
      ['step ≥ 2^32', { ...CTX, step: 2 ** 32 }],
    ];
    for (const [what, ctx] of badCtx)
      expect(
        codeOf(() => sortition(SK, ctx, WT)),
        what,
      ).toBe('SORTITION_INVALID_ARGUMENT');
    expect(codeOf(() => selectedCount(new Uint8Array(63), WT))).toBe('SORTITION_INVALID_ARGUMENT');
    expect(codeOf(() => selectBinomial(1n << 64n, 64, WT))).toBe('SORTITION_INVALID_ARGUMENT');
    expect(codeOf(() => sortition(SK, CTX, WT))).toBe('no error'); // positive control
  });
});

// ---- priority and common coin ------------------------------------------------------------------

function subUserHash(tagText: string, output: Uint8Array, i: number): Uint8Array {
  const t = utf8(tagText);
  return sha256(concatBytes(Uint8Array.of(t.length), t, output, u64be(i)));
}

describe('priority', () => {
  it('is the maximum of the documented sub-user hashes, and only grows with j', () => {
    const output = randomOutput(new SeededRng('priority'));
    let previous = priority(output, 1);
    expect(toHex(previous)).toBe(toHex(subUserHash(PRIORITY_TAG, output, 1)));
    for (let j = 2; j <= 12; j++) {
      const hashes = Array.from({ length: j }, (_, i) => toU(subUserHash(PRIORITY_TAG, output, i + 1)));
      const max = [...hashes].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))[0];
      const p = priority(output, j);
      expect(toU(p)).toBe(max);
      expect(comparePriority(p, previous)).toBeGreaterThanOrEqual(0);
      previous = p;
    }
    expect(codeOf(() => priority(output, 0))).toBe('SORTITION_INVALID_ARGUMENT');
    expect(codeOf(() => priority(output.subarray(1), 1))).toBe('SORTITION_INVALID_ARGUMENT');
  });

  it('comparePriority orders as 256-bit numbers', () => {
    const rng = new SeededRng('priority/compare');
    for (let i = 0; i < 200; i++) {
      const a = priority(randomOutput(rng), 1 + rng.int(3));
      const b = priority(randomOutput(rng), 1 + rng.int(3));
      expect(Math.sign(comparePriority(a, b))).toBe(toU(a) > toU(b) ? 1 : toU(a) < toU(b) ? -1 : 0);
      expect(comparePriority(a, a)).toBe(0);
    }
  });

  it('the highest-priority proposer is a selected validator, more often the larger stake', () => {
    const stakes = [700, 200, 100];
    const wins = [0, 0, 0];
    const rng = new SeededRng('priority/proposer');
    for (let r = 0; r < 1500; r++) {
      let best: { p: Uint8Array; i: number } | undefined;
      stakes.forEach((w, i) => {
        const out = randomOutput(rng);
        const j = selectedCount(out, weights(w, 1000, 26));
        if (j === 0) return;
        const p = priority(out, j);
        if (best === undefined || comparePriority(p, best.p) > 0) best = { p, i };
      });
      if (best) wins[best.i] = (wins[best.i] as number) + 1;
    }
    // Each sub-user is equally likely to hold the top hash: wins follow stake (≈ 70/20/10 %).
    const total = wins.reduce((a, b) => a + b, 0);
    expect(Math.abs((wins[0] as number) / total - 0.7)).toBeLessThan(0.05);
    expect(Math.abs((wins[2] as number) / total - 0.1)).toBeLessThan(0.03);
  });
});

describe('common coin', () => {
  it('is the lowest bit of the smallest sub-user hash, order-independent', () => {
    const rng = new SeededRng('coin');
    for (let t = 0; t < 50; t++) {
      const votes = Array.from({ length: 5 }, () => ({ output: randomOutput(rng), j: rng.int(4) }));
      let min: bigint | undefined;
      for (const { output, j } of votes)
        for (let i = 1; i <= j; i++) {
          const h = toU(subUserHash(COIN_TAG, output, i));
          if (min === undefined || h < min) min = h;
        }
      const expected = min === undefined ? 0 : Number(min & 1n);
      expect(commonCoin(votes)).toBe(expected);
      expect(commonCoin([...votes].reverse())).toBe(expected);
    }
    expect(commonCoin([])).toBe(0);
    expect(commonCoin([{ output: new Uint8Array(64), j: 0 }])).toBe(0);
    expect(codeOf(() => commonCoin([{ output: new Uint8Array(64), j: -1 }]))).toBe(
      'SORTITION_INVALID_ARGUMENT',
    );
  });

  it('is fair over many steps (and the check detects a biased coin)', () => {
    const rng = new SeededRng('coin/fairness');
    const coins: number[] = [];
    const biased: number[] = [];
    for (let step = 0; step < 2000; step++) {
      const votes = Array.from({ length: 8 }, () => ({ output: randomOutput(rng), j: 1 + rng.int(3) }));
      const c = commonCoin(votes);
      coins.push(c);
      biased.push(c | commonCoin(votes.slice(0, 4)));
    }
    expect(meanWithin(coins, 0.5, 0.25)).toBe(true);
    expect(meanWithin(biased, 0.5, 0.25)).toBe(false);
  });
});
