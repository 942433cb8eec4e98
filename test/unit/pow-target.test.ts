/**
 * Proof-of-Work difficulty arithmetic (consensus/pow): the compact nBits codec against Bitcoin
 * Core's own SetCompact/GetCompact vectors (src/test/arith_uint256_tests.cpp, bignum_SetCompact),
 * block work, the big-endian hash check, and ASERT (aserti3-2d) against the official Bitcoin Cash
 * conformance vectors (test/fixtures/asert-vectors.json, see its `source`). Each vector group has
 * a negative control: a deliberately wrong variant that the same vectors reject.
 */
import { describe, expect, it } from 'vitest';
import { type AsertInput, asertFactor, asertTarget } from '../../consensus/pow/asert.ts';
import {
  decodeCompact,
  decodeCompactChecked,
  encodeCompact,
  hashMeetsTarget,
  MAX_UINT256,
  PowError,
  targetFromBits,
  workOf,
} from '../../consensus/pow/target.ts';
import vectors from '../fixtures/asert-vectors.json' with { type: 'json' };

const POW_LIMIT = BigInt(vectors.params.powLimit); // 2^224 - 1, Bitcoin's and BCH's mainnet limit
const SPACING = vectors.params.spacing;
const HALF_LIFE = vectors.params.halfLife;

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof PowError) return e.code;
    throw e;
  }
  return undefined;
}

// ---- compact nBits ----------------------------------------------------------------------------

/**
 * bignum_SetCompact, case by case: bits, GetHex() after SetCompact, fNegative, fOverflow, and the
 * GetCompact re-encoding (GetCompact(true) where Core passes true, i.e. for the negative ones).
 */
const CORE_COMPACT: readonly [number, bigint, boolean, boolean, number][] = [
  [0x00000000, 0x0n, false, false, 0x00000000],
  [0x00123456, 0x0n, false, false, 0x00000000],
  [0x01003456, 0x0n, false, false, 0x00000000],
  [0x02000056, 0x0n, false, false, 0x00000000],
  [0x03000000, 0x0n, false, false, 0x00000000],
  [0x04000000, 0x0n, false, false, 0x00000000],
  [0x00923456, 0x0n, false, false, 0x00000000],
  [0x01803456, 0x0n, false, false, 0x00000000],
  [0x02800056, 0x0n, false, false, 0x00000000],
  [0x03800000, 0x0n, false, false, 0x00000000],
  [0x04800000, 0x0n, false, false, 0x00000000],
  [0x01123456, 0x12n, false, false, 0x01120000],
  [0x01fedcba, 0x7en, true, false, 0x01fe0000],
  [0x02123456, 0x1234n, false, false, 0x02123400],
  [0x03123456, 0x123456n, false, false, 0x03123456],
  [0x04123456, 0x12345600n, false, false, 0x04123456],
  [0x04923456, 0x12345600n, true, false, 0x04923456],
  [0x05009234, 0x92340000n, false, false, 0x05009234],
  [0x20123456, 0x1234560000000000000000000000000000000000000000000000000000000000n, false, false, 0x20123456],
];

describe('compact nBits (Bitcoin Core arith_uint256 SetCompact/GetCompact)', () => {
  it.each(CORE_COMPACT)('0x%s', (bits, value, negative, overflow, reencoded) => {
    expect(decodeCompactChecked(bits)).toEqual({ target: value, negative, overflow });
    expect(encodeCompact(value, negative)).toBe(reencoded);
  });

  it('0xff123456 overflows without being negative', () => {
    const d = decodeCompactChecked(0xff123456);
    expect([d.negative, d.overflow]).toEqual([false, true]);
    expect(d.target).toBeLessThanOrEqual(MAX_UINT256); // truncated to 256 bits, like arith_uint256
  });

  it('never sets the sign bit when encoding (Core: 0x80 → 0x02008000)', () => {
    expect(encodeCompact(0x80n)).toBe(0x02008000);
  });

  it('the limits: 0x1d00ffff is 0xffff·2^208, and 2^224 - 1 encodes (truncated) to 0x1d00ffff', () => {
    expect(decodeCompact(0x1d00ffff)).toBe(0xffffn << 208n);
    expect(encodeCompact(POW_LIMIT)).toBe(0x1d00ffff);
    expect(encodeCompact(MAX_UINT256)).toBe(0x2100ffff);
    expect(encodeCompact(1n)).toBe(0x01010000);
  });

  it('round-trips canonical encodings, keeping exactly the top 3 bytes (2 if the 3rd would be a sign)', () => {
    for (let i = 0; i < 256; i++) {
      const t =
        (1n << BigInt(i)) | ((0x5a5a5a5a5a5a5a5an * BigInt(i + 1) * 0x10001n) & ((1n << BigInt(i)) - 1n));
      const bits = encodeCompact(t);
      const back = decodeCompact(bits);
      expect(encodeCompact(back)).toBe(bits);
      const len = Math.ceil((i + 1) / 8); // bytes of t
      const top3 = len >= 3 ? t >> BigInt(8 * (len - 3)) : 0n;
      const lost = BigInt(Math.max(0, 8 * (len - 3)) + (top3 >= 0x800000n ? 8 : 0));
      expect(back).toBe((t >> lost) << lost);
    }
  });

  it('decodeCompact refuses negative and overflowing bits; targetFromBits also zero and above-limit', () => {
    expect(codeOf(() => decodeCompact(0x04923456))).toBe('POW_BAD_TARGET');
    expect(codeOf(() => decodeCompact(0x01fedcba))).toBe('POW_BAD_TARGET');
    expect(codeOf(() => decodeCompact(0xff123456))).toBe('POW_BAD_TARGET');
    expect(decodeCompact(0x01003456)).toBe(0n); // a zero value is a value; a target it is not:
    expect(codeOf(() => targetFromBits(0x01003456, POW_LIMIT))).toBe('POW_BAD_TARGET');
    expect(codeOf(() => targetFromBits(0x1d01ffff, POW_LIMIT))).toBe('POW_BAD_TARGET');
    expect(targetFromBits(0x1d00ffff, POW_LIMIT)).toBe(0xffffn << 208n);
    expect(targetFromBits(0x1802aee8, POW_LIMIT)).toBe(0x02aee8n << 168n);
    expect(codeOf(() => decodeCompact(2 ** 32))).toBe('POW_BAD_ARGUMENT');
    expect(codeOf(() => encodeCompact(-1n))).toBe('POW_BAD_TARGET');
    expect(codeOf(() => encodeCompact(1n << 256n))).toBe('POW_BAD_TARGET');
  });

  it('negative control: flags taken from the raw mantissa (not the shifted one) contradict Core', () => {
    const naiveNegative = (bits: number) => (bits & 0x007fffff) !== 0 && (bits & 0x00800000) !== 0;
    const contradicted = CORE_COMPACT.filter(([bits, , negative]) => naiveNegative(bits) !== negative);
    expect(contradicted.map(([bits]) => bits)).toEqual([0x00923456, 0x01803456, 0x02800056]);
  });
});

// ---- work and the hash check ------------------------------------------------------------------

describe('workOf (GetBlockProof)', () => {
  it('0x1d00ffff is worth 4295032833 = 0x100010001 hashes (the genesis chainwork)', () => {
    expect(workOf(decodeCompact(0x1d00ffff))).toBe(4295032833n);
  });

  it('is floor(2^256 / (target + 1)), equal to Core 256-bit form ~t / (t + 1) + 1', () => {
    expect(workOf(1n)).toBe(1n << 255n);
    expect(workOf(MAX_UINT256)).toBe(1n);
    for (const t of [3n, 0x12345600n, POW_LIMIT, 0x02aee8n << 168n, (1n << 255n) - 7n]) {
      expect(workOf(t)).toBe((MAX_UINT256 - t) / (t + 1n) + 1n);
    }
  });

  it('refuses a target of zero or ≥ 2^256', () => {
    expect(codeOf(() => workOf(0n))).toBe('POW_BAD_TARGET');
    expect(codeOf(() => workOf(1n << 256n))).toBe('POW_BAD_TARGET');
  });
});

describe('hashMeetsTarget (big-endian)', () => {
  const hashOf = (set: Record<number, number>) => {
    const h = new Uint8Array(32);
    for (const [i, v] of Object.entries(set)) h[Number(i)] = v;
    return h;
  };

  it('reads byte 0 as the most significant, and accepts hash == target', () => {
    expect(hashMeetsTarget(hashOf({ 31: 0xff }), 0xffn)).toBe(true);
    expect(hashMeetsTarget(hashOf({ 31: 0xff }), 0xfen)).toBe(false);
    expect(hashMeetsTarget(hashOf({ 0: 0x01 }), 1n << 248n)).toBe(true);
    expect(hashMeetsTarget(hashOf({ 0: 0x01 }), (1n << 248n) - 1n)).toBe(false);
    expect(hashMeetsTarget(hashOf({ 4: 0xff, 5: 0xff }), decodeCompact(0x1d00ffff))).toBe(true);
    expect(hashMeetsTarget(hashOf({ 3: 0x01 }), decodeCompact(0x1d00ffff))).toBe(false);
  });

  it('negative control: a little-endian reading disagrees on the same hash', () => {
    const h = hashOf({ 31: 0x01 }); // 1 big-endian, 2^248 little-endian
    const littleEndian = BigInt(`0x${Buffer.from(h).reverse().toString('hex')}`);
    expect(hashMeetsTarget(h, 1n)).toBe(true);
    expect(littleEndian <= 1n).toBe(false);
  });

  it('refuses a hash that is not 32 bytes', () => {
    expect(codeOf(() => hashMeetsTarget(new Uint8Array(31), 1n))).toBe('POW_BAD_ARGUMENT');
  });
});

// ---- ASERT -----------------------------------------------------------------------------------

type Run = (typeof vectors.runs)[number];
interface Line {
  readonly iteration: number;
  readonly height: bigint;
  readonly time: bigint;
  readonly bits: number;
}

function linesOf(run: Run): Line[] {
  return run.lines.map((text) => {
    const [iteration, height, time, bits] = text.split(' ') as [string, string, string, string];
    return { iteration: Number(iteration), height: BigInt(height), time: BigInt(time), bits: Number(bits) };
  });
}

/** A vector line means: the evaluation block is at (height, time); `bits` is for its child. */
function inputOf(run: Run, line: Line, unit = 1n): AsertInput {
  return {
    anchorTarget: decodeCompact(Number(run.anchorBits)),
    heightDiff: line.height - BigInt(run.anchorHeight),
    timeDiff: (line.time - BigInt(run.anchorParentTime)) * unit,
    spacing: BigInt(SPACING) * unit,
    halfLife: BigInt(HALF_LIFE) * unit,
    powLimit: POW_LIMIT,
  };
}

/** `iteration: expected → got` for each line `compute` gets wrong. */
function mismatches(compute: (input: AsertInput) => bigint, unit = 1n): string[] {
  const out: string[] = [];
  for (const run of vectors.runs)
    for (const line of linesOf(run)) {
      const got = encodeCompact(compute(inputOf(run, line, unit)));
      if (got !== line.bits)
        out.push(`${run.file} #${line.iteration}: 0x${line.bits.toString(16)} → 0x${got.toString(16)}`);
    }
  return out;
}

const ALL_LINES = vectors.runs.reduce((n, r) => n + r.lines.length, 0);

describe('ASERT aserti3-2d: official Bitcoin Cash vectors', () => {
  it('the fixture is what it says: 12 runs, headers consistent with their lines', () => {
    expect(vectors.runs.map((r) => r.file)).toEqual(
      Array.from({ length: 12 }, (_, i) => `run${String(i + 1).padStart(2, '0')}`),
    );
    expect(ALL_LINES).toBe(730);
    for (const run of vectors.runs) {
      const lines = linesOf(run);
      const first = lines[0]!;
      expect([first.iteration, first.height, first.time]).toEqual([
        1,
        BigInt(run.startHeight),
        BigInt(run.startTime),
      ]);
      expect(lines.at(-1)!.iteration).toBe(run.iterations);
      if (run.subset === 'all lines')
        expect(lines.map((l) => l.iteration)).toEqual(lines.map((_, i) => i + 1));
    }
  });

  it.each(vectors.runs.map((r) => [r.file, r] as const))('%s: every line bit-exact', (_, run) => {
    const bad = linesOf(run).filter((line) => encodeCompact(asertTarget(inputOf(run, line))) !== line.bits);
    expect(bad).toEqual([]);
  });

  it('milliseconds give the same targets as seconds (the exponent is the same rational)', () => {
    expect(mismatches(asertTarget, 1000n)).toEqual([]);
  });
});

describe('ASERT properties', () => {
  const anchor = decodeCompact(0x1802aee8);
  const at = (timeDiff: number, heightDiff: number, anchorTarget = anchor) =>
    asertTarget({ anchorTarget, timeDiff, heightDiff, spacing: 600, halfLife: 172_800, powLimit: POW_LIMIT });

  it('on schedule keeps the target; a half-life late doubles it, early halves it — exactly', () => {
    for (const h of [0, 1, 287, 10_000]) {
      const onTime = 600 * (h + 1);
      expect(at(onTime, h)).toBe(anchor);
      expect(at(onTime + 172_800, h)).toBe(anchor * 2n);
      expect(at(onTime - 172_800, h)).toBe(anchor / 2n);
      expect(at(onTime + 10 * 172_800, h)).toBe(anchor << 10n);
    }
  });

  it('moves monotonically with time, by at most the cubic approximation error', () => {
    let prev = 0n;
    for (let dt = -172_800; dt <= 172_800; dt += 997) {
      const t = at(600 + dt, 0);
      expect(t).toBeGreaterThanOrEqual(prev);
      prev = t;
      const ideal = 2 ** (Math.trunc((dt * 65536) / 172_800) / 65536);
      expect(Math.abs(Number(t) / Number(anchor) - ideal) / ideal).toBeLessThan(1.3e-4 + 2 ** -15);
    }
  });

  it('the factor is exact at both ends, increasing, and its sum fits the reference uint64', () => {
    expect(asertFactor(0n)).toBe(65536n);
    expect(asertFactor(65535n)).toBeLessThan(131072n);
    for (let f = 1n; f < 65536n; f++) expect(asertFactor(f)).toBeGreaterThanOrEqual(asertFactor(f - 1n));
    const f = 65535n;
    expect(195766423245049n * f + 971821376n * f * f + 5127n * f * f * f + (1n << 47n)).toBeLessThan(
      1n << 64n,
    );
  });

  it('clamps to powLimit and never returns 0, even for absurd distances', () => {
    expect(at(600 + 64 * 172_800, 0)).toBe(POW_LIMIT);
    expect(at(Number.MAX_SAFE_INTEGER, 0)).toBe(POW_LIMIT);
    expect(at(0, 1_000_000)).toBe(1n);
    expect(at(-Number.MAX_SAFE_INTEGER, 0, 1n)).toBe(1n);
    expect(
      asertTarget({ ...inputOf(vectors.runs[0]!, linesOf(vectors.runs[0]!)[0]!), timeDiff: 10n ** 30n }),
    ).toBe(POW_LIMIT);
  });

  it('refuses inputs the spec excludes', () => {
    const ok = {
      anchorTarget: anchor,
      timeDiff: 0,
      heightDiff: 0,
      spacing: 600,
      halfLife: 172_800,
      powLimit: POW_LIMIT,
    };
    expect(codeOf(() => asertTarget({ ...ok, heightDiff: -1 }))).toBe('POW_BAD_ARGUMENT');
    expect(codeOf(() => asertTarget({ ...ok, halfLife: 0 }))).toBe('POW_BAD_ARGUMENT');
    expect(codeOf(() => asertTarget({ ...ok, spacing: -600 }))).toBe('POW_BAD_ARGUMENT');
    expect(codeOf(() => asertTarget({ ...ok, timeDiff: 0.5 }))).toBe('POW_BAD_ARGUMENT');
    expect(codeOf(() => asertTarget({ ...ok, anchorTarget: 0n }))).toBe('POW_BAD_TARGET');
    expect(codeOf(() => asertTarget({ ...ok, anchorTarget: POW_LIMIT + 1n }))).toBe('POW_BAD_TARGET');
  });
});

// ---- negative controls ------------------------------------------------------------------------

type Mutation =
  | 'none'
  | 'heightDiff without +1'
  | 'floor division'
  | 'no rounding term'
  | 'cubic 5127 → 5128';

/** An inline copy of the algorithm with one deliberate mistake (or none, to show the copy is faithful). */
function variant(m: Mutation): (input: AsertInput) => bigint {
  return (p) => {
    const [dt, dh, s, hl] = [p.timeDiff, p.heightDiff, p.spacing, p.halfLife].map(BigInt) as [
      bigint,
      bigint,
      bigint,
      bigint,
    ];
    const num = (dt - s * (m === 'heightDiff without +1' ? dh : dh + 1n)) * 65536n;
    let exponent = num / hl;
    if (m === 'floor division' && num < 0n && num % hl !== 0n) exponent -= 1n;
    const frac = exponent & 0xffffn;
    const c3 = m === 'cubic 5127 → 5128' ? 5128n : 5127n;
    const round = m === 'no rounding term' ? 0n : 1n << 47n;
    const factor =
      65536n + ((195766423245049n * frac + 971821376n * frac ** 2n + c3 * frac ** 3n + round) >> 48n);
    const shift = (exponent >> 16n) - 16n;
    const next = shift >= 0n ? (p.anchorTarget * factor) << shift : (p.anchorTarget * factor) >> -shift;
    return next === 0n ? 1n : next > p.powLimit ? p.powLimit : next;
  };
}

describe('ASERT negative controls: the vectors reject a one-off mistake', () => {
  it('the unmutated inline copy passes every line (so the controls below test the mutation)', () => {
    expect(mismatches(variant('none'))).toEqual([]);
  });

  it.each<Mutation>(['heightDiff without +1', 'floor division', 'no rounding term', 'cubic 5127 → 5128'])(
    '%s fails vectors',
    (m) => {
      expect(mismatches(variant(m)).length).toBeGreaterThan(0);
    },
  );
});
