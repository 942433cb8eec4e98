/**
 * The selection rule of cryptographic sortition (Algorand, Gilad et al. SOSP 2017, Algorithm 1):
 * for u uniform in [0, 2^uBits) — a VRF output read as an integer — the number of selected
 * sub-users is the smallest j with u / 2^uBits < CDF(j), the CDF of Binomial(w, τ/W).
 *
 * Every validator must reach the same j bit for bit, so nothing here uses floating point. Plain
 * rationals do not scale: CDF(j) has denominator W^w, about 2^45 bits for a stake of 2^40. So:
 *  1. Lower and upper bounds of CDF(j) are carried as binary floats (BigInt mantissa of
 *     `mantissaBits` bits, integer exponent) with directed rounding — down for the lower bound,
 *     up for the upper — built incrementally: B(0) = ((W−τ)/W)^w by square-and-multiply, then
 *     B(k+1) = B(k)·(w−k)τ / ((k+1)(W−τ)). The loop stops at j, so work grows with j (≈ τw/W).
 *  2. u below the lower bound selects j; at or above the upper bound it moves on. In the gap
 *     between them the comparison is made exactly — u·W^w < 2^uBits·Σ_{k≤j} C(w,k)τ^k(W−τ)^(w−k)
 *     — when W^w has at most `exactBudgetBits` bits; beyond that the lower bound decides: not j.
 *
 * Hence the result IS the paper's rule whenever w·log2(W) ≤ EXACT_BUDGET_BITS. Beyond that it can
 * differ only when u falls in a gap. Each rounding has relative error ε < 2^(1−M) (M = mantissa
 * bits); square-and-multiply amplifies those of B(0) to at most 6w·ε, each later term and sum adds
 * 3ε, so a bound is within 2(6w + 3j + 2)·ε of CDF(j): the gap is under 2^(73−M) for u64 stakes. With
 * M = uBits + 128 a gap is narrower than 2^-uBits and holds at most one value of u: a check is
 * off with probability ≤ 2^-uBits (2^-512 for a full VRF output), and identically everywhere.
 */
import { invariant, VerityError } from '../../crypto/errors.ts';

export type SortitionErrorCode = 'SORTITION_INVALID_ARGUMENT' | 'SORTITION_BAD_PROOF';
export class SortitionError extends VerityError<SortitionErrorCode> {}

/** Stakes are u64 ledger amounts. */
export const MAX_STAKE = (1n << 64n) - 1n;
/**
 * The loop runs to j (about τ·w/W plus a tail), so τ is bounded: 10× the largest committee of
 * the paper (τ_final = 10,000).
 */
export const MAX_COMMITTEE_SIZE = 100_000n;
/** W^w of up to this many bits is affordable for the rare exact comparison (≈ 8 KiB numbers). */
export const EXACT_BUDGET_BITS = 1 << 16;
/** Mantissa bits beyond the variate's own: see the bound in the header. */
const GUARD_BITS = 128;

export interface BinomialWeights {
  /** w: the validator's stake. */
  readonly stake: number | bigint;
  /** W: the total stake. */
  readonly totalStake: number | bigint;
  /** τ: the expected number of selected sub-users over all stake. */
  readonly expectedSize: number | bigint;
}

/** Validates and converts: integers only (a safe-integer number or a bigint), within [0, max]. */
export function toUint(x: unknown, field: string, max: bigint): bigint {
  let v: bigint | undefined;
  if (typeof x === 'bigint') v = x;
  else if (typeof x === 'number' && Number.isSafeInteger(x)) v = BigInt(x);
  if (v === undefined || v < 0n || v > max) {
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', `${field} must be an integer in [0, ${max}]`, {
      field,
      value: String(x),
    });
  }
  return v;
}

/** Checks the weights against each other: w ≤ W, τ ≤ W, W > 0, τ bounded. */
export function parseWeights(weights: BinomialWeights): { w: bigint; W: bigint; tau: bigint } {
  const W = toUint(weights.totalStake, 'totalStake', MAX_STAKE);
  if (W === 0n) throw new SortitionError('SORTITION_INVALID_ARGUMENT', 'totalStake must be positive');
  const w = toUint(weights.stake, 'stake', W);
  const tau = toUint(weights.expectedSize, 'expectedSize', W < MAX_COMMITTEE_SIZE ? W : MAX_COMMITTEE_SIZE);
  return { w, W, tau };
}

/** j for the variate u / 2^uBits: see the header. */
export function selectBinomial(u: bigint, uBits: number, weights: BinomialWeights): number {
  if (!Number.isSafeInteger(uBits) || uBits < 1 || uBits > 4096) {
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', 'uBits must be an integer in [1, 4096]');
  }
  if (typeof u !== 'bigint' || u < 0n || u >= 1n << BigInt(uBits)) {
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', `u must be a bigint in [0, 2^${uBits})`);
  }
  const { w, W, tau } = parseWeights(weights);
  return select(u, uBits, w, W, tau, uBits + GUARD_BITS, EXACT_BUDGET_BITS);
}

function select(
  u: bigint,
  uBits: number,
  w: bigint,
  W: bigint,
  tau: bigint,
  bits: number,
  exactBudgetBits: number,
): number {
  if (w === 0n || tau === 0n) return 0;
  if (tau === W) return Number(w); // p = 1: every unit is selected
  // Bernstein: P(X ≥ μ + t) ≤ exp(−t²/(2(μ + t/3))) < 2^-(uBits+64) for t = τ + 4(uBits + 64) ≥ μ,
  // so even the lower bound passes every variate by this j: going further is a bug, not a tail.
  const cap = 2n * tau + 4n * BigInt(uBits + 64);
  let k = 0n;
  for (const { lo, hi } of cdfBounds(w, W, tau, bits)) {
    invariant(k <= cap, () => `sortition: j passed ${cap} (w=${w}, W=${W}, τ=${tau})`);
    if (below(u, uBits, lo)) return Number(k);
    if (below(u, uBits, hi) && exactBelow(u, uBits, k, w, W, tau, exactBudgetBits)) return Number(k);
    k++;
  }
  return Number(w); // CDF(w) = 1 exceeds every variate
}

/** Lower and upper bounds of CDF(k) for k = 0, 1, …, w − 1 (0 < τ < W), each in O(1) steps. */
function* cdfBounds(w: bigint, W: bigint, tau: bigint, bits: number): Generator<{ lo: Bf; hi: Bf }> {
  const rest = W - tau;
  const ratio = (up: boolean): Bf => mulDiv({ m: rest, e: 0 }, 1n, W, bits, up);
  let termLo = pow(ratio(false), w, bits, false);
  let termHi = pow(ratio(true), w, bits, true);
  let lo = termLo;
  let hi = termHi;
  for (let k = 0n; k < w; k++) {
    yield { lo, hi };
    const num = (w - k) * tau;
    const den = (k + 1n) * rest;
    termLo = mulDiv(termLo, num, den, bits, false);
    termHi = mulDiv(termHi, num, den, bits, true);
    lo = add(lo, termLo, bits, false);
    hi = add(hi, termHi, bits, true);
  }
}

/**
 * u / 2^uBits < CDF(k), in exact integers. Out of budget it answers false, so an undecidable
 * check defers to the lower bound — still the same answer on every machine.
 */
function exactBelow(
  u: bigint,
  uBits: number,
  k: bigint,
  w: bigint,
  W: bigint,
  tau: bigint,
  budgetBits: number,
): boolean {
  if (w * BigInt(bitLength(W)) > BigInt(budgetBits)) return false;
  const rest = W - tau;
  let term = rest ** w;
  let sum = term;
  for (let i = 0n; i < k; i++) {
    // Exact: term·(w−i)τ = (i+1)·C(w,i+1)·τ^(i+1)·(W−τ)^(w−i), a multiple of (i+1)(W−τ).
    term = (term * (w - i) * tau) / ((i + 1n) * rest);
    sum += term;
  }
  return u * W ** w < sum << BigInt(uBits);
}

/** m·2^e with m ≥ 0. */
export interface Bf {
  readonly m: bigint;
  readonly e: number;
}

function bitLength(x: bigint): number {
  if (x === 0n) return 0;
  const hex = x.toString(16);
  return (hex.length - 1) * 4 + (32 - Math.clz32(Number.parseInt(hex[0] as string, 16)));
}

/** Exactly `bits` significant bits (bits + 1 after an upward carry), so one ulp is relative. */
function round(m: bigint, e: number, bits: number, up: boolean): Bf {
  if (m === 0n) return { m, e: 0 };
  const excess = bitLength(m) - bits;
  if (excess <= 0) return { m: m << BigInt(-excess), e: e + excess };
  const s = BigInt(excess);
  let q = m >> s;
  if (up && q << s !== m) q += 1n;
  return { m: q, e: e + excess };
}

function mul(a: Bf, b: Bf, bits: number, up: boolean): Bf {
  return round(a.m * b.m, a.e + b.e, bits, up);
}

/** a·num/den, the quotient kept to at least `bits` significant bits before rounding. */
function mulDiv(a: Bf, num: bigint, den: bigint, bits: number, up: boolean): Bf {
  const n = a.m * num;
  if (n === 0n) return { m: 0n, e: 0 };
  const shift = Math.max(0, bits + bitLength(den) - bitLength(n) + 1);
  const scaled = n << BigInt(shift);
  let q = scaled / den;
  if (up && q * den !== scaled) q += 1n;
  return round(q, a.e - shift, bits, up);
}

function add(a: Bf, b: Bf, bits: number, up: boolean): Bf {
  if (a.m === 0n || b.m === 0n) return a.m === 0n ? round(b.m, b.e, bits, up) : round(a.m, a.e, bits, up);
  const [big, small] = a.e >= b.e ? [a, b] : [b, a];
  if (small.e + bitLength(small.m) <= big.e) {
    // small < 2^big.e, one unit in big's last place: skip the long shift.
    return up ? round(big.m + 1n, big.e, bits, true) : round(big.m, big.e, bits, false);
  }
  return round((big.m << BigInt(big.e - small.e)) + small.m, small.e, bits, up);
}

/** x^n by square-and-multiply from the top bit, every product rounded the same way. */
function pow(x: Bf, n: bigint, bits: number, up: boolean): Bf {
  let r: Bf = { m: 1n, e: 0 };
  for (const bit of n.toString(2)) {
    r = mul(r, r, bits, up);
    if (bit === '1') r = mul(r, x, bits, up);
  }
  return r;
}

/** u / 2^uBits < x, exactly. */
function below(u: bigint, uBits: number, x: Bf): boolean {
  if (x.m === 0n) return false;
  const s = x.e + uBits; // compare u < m·2^s
  if (s >= 0) return u < x.m << BigInt(s);
  if (u === 0n) return true;
  if (-s >= bitLength(x.m)) return false; // u·2^-s ≥ 2^-s > m
  return u << BigInt(-s) < x.m;
}

/**
 * @internal For tests: the same selection with a chosen mantissa and exact budget, to exercise
 * the exact fallback (tiny mantissa) and show it matters (budget 0).
 */
export const binomialInternals = {
  select(
    u: bigint,
    uBits: number,
    weights: BinomialWeights,
    opts: { mantissaBits: number; exactBudgetBits: number },
  ): number {
    const { w, W, tau } = parseWeights(weights);
    return select(u, uBits, w, W, tau, opts.mantissaBits, opts.exactBudgetBits);
  },
  /** The directed-rounding primitives. */
  arith: { add, mul, mulDiv, pow },
  /** The bounds of CDF(0..w−1) as m·2^e, for 0 < τ < W. */
  cdfBounds(weights: BinomialWeights, mantissaBits: number): Array<{ lo: Bf; hi: Bf }> {
    const { w, W, tau } = parseWeights(weights);
    return [...cdfBounds(w, W, tau, mantissaBits)];
  },
};
