/**
 * ASERT, the absolutely scheduled exponentially rising targets rule (Mark Lundeberg), in its
 * integer form aserti3-2d as activated by Bitcoin Cash in November 2020 (spec:
 * bitcoincashorg/bitcoincash.org spec/2020-11-15-asert.md; reference: BCHN src/pow.cpp
 * CalculateASERT). The next target is the anchor's scaled by
 *
 *   2^((timeDiff - spacing * (heightDiff + 1)) / halfLife)
 *
 * where, to compute the target of block N+1 from its parent N (the "evaluation block"):
 *   heightDiff = height(N) - height(anchor)
 *   timeDiff   = time(N)   - time(parent of anchor)
 * The +1 is because the anchor's own interval, from its parent, is counted too.
 *
 * Everything is integer fixed point with 16 fraction bits, exactly as specified, so every node
 * reaches the same bits. Time is in whatever unit the caller uses (the spec's vectors: seconds;
 * our engine: milliseconds) as long as timeDiff, spacing and halfLife share it: the exponent is
 * one truncated quotient of the same rational number in any unit.
 *
 * bigint has no width, so the reference's overflow handling (a 256-bit shift that loses high
 * bits) is just the clamp to powLimit here, and the spec's "unlimited width" reading is literal.
 */
import { PowError } from './target.ts';

export interface AsertInput {
  /** Target of the anchor block (decoded nBits), in (0, powLimit]. */
  readonly anchorTarget: bigint;
  /** time(evaluation block) - time(anchor's parent); may be negative. */
  readonly timeDiff: bigint | number;
  /** height(evaluation block) - height(anchor), ≥ 0. */
  readonly heightDiff: bigint | number;
  /** Ideal block interval, > 0 (600 s on Bitcoin Cash). */
  readonly spacing: bigint | number;
  /** Time for the target to double when behind schedule, > 0 (172800 s on Bitcoin Cash). */
  readonly halfLife: bigint | number;
  /** The easiest allowed target. */
  readonly powLimit: bigint;
}

/** 2^16: the fixed-point radix. */
const RADIX_BITS = 16n;
const RADIX = 1n << RADIX_BITS;

/**
 * The spec's cubic 65536·2^(frac/65536) for frac in [0, 65536): exact at both ends (65536 and
 * 131072), error < 0.013% between. 2^47 rounds the >> 48 to nearest. The sum stays below 2^64,
 * so this equals the reference's uint64 arithmetic.
 */
export function asertFactor(frac: bigint): bigint {
  const poly = 195766423245049n * frac + 971821376n * frac * frac + 5127n * frac * frac * frac + (1n << 47n);
  return RADIX + (poly >> 48n);
}

export function asertTarget(input: AsertInput): bigint {
  const { anchorTarget, powLimit } = input;
  const timeDiff = int('timeDiff', input.timeDiff);
  const heightDiff = int('heightDiff', input.heightDiff);
  const spacing = int('spacing', input.spacing);
  const halfLife = int('halfLife', input.halfLife);
  if (powLimit <= 0n) throw new PowError('POW_BAD_ARGUMENT', 'asert: powLimit must be positive');
  if (anchorTarget <= 0n || anchorTarget > powLimit) {
    throw new PowError('POW_BAD_TARGET', 'asert: anchor target must be in (0, powLimit]', {
      anchorTarget: anchorTarget.toString(),
    });
  }
  if (heightDiff < 0n) throw new PowError('POW_BAD_ARGUMENT', 'asert: heightDiff must be ≥ 0');
  if (spacing <= 0n || halfLife <= 0n) {
    throw new PowError('POW_BAD_ARGUMENT', 'asert: spacing and halfLife must be positive');
  }

  // bigint `/` truncates toward zero, as the spec requires (floor division would differ by one
  // unit for a negative, inexact quotient).
  const exponent = ((timeDiff - spacing * (heightDiff + 1n)) * RADIX) / halfLife;
  // `>>` on bigint is an arithmetic shift, i.e. floor: the integer part rounds down, and the
  // fraction (two's-complement low bits) lands in [0, 1).
  const shifts = exponent >> RADIX_BITS;
  const frac = exponent & (RADIX - 1n);

  const scaled = anchorTarget * asertFactor(frac);
  const shift = shifts - RADIX_BITS; // undo the factor's radix along with the integer part
  // scaled ≥ 2^16, so a left shift of more than 256 is certainly past powLimit (< 2^256): clamp
  // without building a huge number; a right shift of more than 512 certainly leaves 0.
  if (shift > 256n) return powLimit;
  const next = shift >= 0n ? scaled << shift : shift < -512n ? 0n : scaled >> -shift;
  if (next === 0n) return 1n; // 0 is not a valid target; 1 is the hardest one
  return next > powLimit ? powLimit : next;
}

function int(name: string, v: bigint | number): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) {
    throw new PowError('POW_BAD_ARGUMENT', `asert: ${name} must be a safe integer, got ${v}`);
  }
  return BigInt(v);
}
