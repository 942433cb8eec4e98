/**
 * Proof-of-Work target arithmetic: Bitcoin's compact "nBits" encoding, block work, and the
 * hash-versus-target check. Pure bigint math, no I/O.
 *
 * The compact codec reproduces Bitcoin Core's arith_uint256::SetCompact / GetCompact bit for bit
 * (src/arith_uint256.cpp; vectors in src/test/arith_uint256_tests.cpp): a byte-length exponent in
 * the top 8 bits, a 23-bit mantissa, and 0x00800000 as a sign bit. Quirks kept on purpose, because
 * another node's nBits must decode to the same number here as there:
 *  - mantissa bytes below the exponent's reach are dropped (0x01123456 → 0x12);
 *  - "negative" and "overflow" are reported only for a non-zero mantissa (0x00923456 is plain 0);
 *  - an overflowing value is truncated to 256 bits, as arith_uint256's `<<=` does.
 */
import { bytesToBigInt, isBytes } from '../../crypto/bytes.ts';
import { VerityError } from '../../crypto/errors.ts';

export type PowErrorCode = 'POW_BAD_TARGET' | 'POW_BAD_ARGUMENT';
export class PowError extends VerityError<PowErrorCode> {}

export const MAX_UINT256 = (1n << 256n) - 1n;

const SIGN_BIT = 0x00800000;
const MANTISSA_MASK = 0x007fffff;

export interface CompactDecoding {
  /** The magnitude, as SetCompact leaves it (sign dropped, truncated to 256 bits). */
  readonly target: bigint;
  readonly negative: boolean;
  readonly overflow: boolean;
}

function needBits(bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > 0xffffffff) {
    throw new PowError('POW_BAD_ARGUMENT', `compact bits must be a u32, got ${bits}`, { bits });
  }
}

/** SetCompact with its two flags. Never throws for a u32. */
export function decodeCompactChecked(bits: number): CompactDecoding {
  needBits(bits);
  const size = bits >>> 24;
  let word = bits & MANTISSA_MASK;
  let target: bigint;
  if (size <= 3) {
    // Small exponents shift the mantissa right, so low mantissa bytes vanish.
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    target = (BigInt(word) << BigInt(8 * (size - 3))) & MAX_UINT256;
  }
  // Both flags look at the (possibly shifted) mantissa, not the raw one: Core's exact rule.
  const negative = word !== 0 && (bits & SIGN_BIT) !== 0;
  const overflow = word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  return { target, negative, overflow };
}

/** The value of `bits`; a negative or overflowing encoding is not a number here, so it throws. */
export function decodeCompact(bits: number): bigint {
  const d = decodeCompactChecked(bits);
  if (d.negative || d.overflow) {
    throw new PowError(
      'POW_BAD_TARGET',
      `compact bits 0x${hex8(bits)} are ${d.negative ? 'negative' : 'overflowing'}`,
      {
        bits,
        negative: d.negative,
        overflow: d.overflow,
      },
    );
  }
  return d.target;
}

/**
 * A block header's target, validated as Bitcoin's CheckProofOfWork does: not negative, not
 * overflowing, not zero, not easier than `powLimit`.
 */
export function targetFromBits(bits: number, powLimit: bigint): bigint {
  const target = decodeCompact(bits);
  if (target === 0n || target > powLimit) {
    throw new PowError(
      'POW_BAD_TARGET',
      `compact bits 0x${hex8(bits)} are ${target === 0n ? 'zero' : 'above the limit'}`,
      {
        bits,
      },
    );
  }
  return target;
}

/** GetCompact(negative): the shortest encoding, truncating the mantissa to 3 bytes (never rounding). */
export function encodeCompact(target: bigint, negative = false): number {
  if (target < 0n || target > MAX_UINT256) {
    throw new PowError('POW_BAD_TARGET', 'target must be in [0, 2^256)', { target: target.toString() });
  }
  let size = byteLength(target);
  let mantissa =
    size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)));
  // A mantissa with its top bit set would read back as negative: move a byte into the exponent.
  if (mantissa & SIGN_BIT) {
    mantissa >>>= 8;
    size += 1;
  }
  const sign = negative && mantissa !== 0 ? SIGN_BIT : 0;
  return ((size << 24) | mantissa | sign) >>> 0;
}

/** Expected hashes to meet `target`: floor(2^256 / (target + 1)), Bitcoin's GetBlockProof. */
export function workOf(target: bigint): bigint {
  if (target <= 0n || target > MAX_UINT256) {
    throw new PowError('POW_BAD_TARGET', 'target must be in [1, 2^256)', { target: target.toString() });
  }
  return (1n << 256n) / (target + 1n);
}

/**
 * Whether a 32-byte PoW hash meets `target`. The hash is read as a BIG-endian integer: our header
 * hash is plain SHA-256 and its bytes are compared in the order they are printed. (Bitcoin reads
 * its double-SHA-256 little-endian, which is why its block ids are displayed byte-reversed.)
 */
export function hashMeetsTarget(hash: Uint8Array, target: bigint): boolean {
  if (!isBytes(hash) || hash.length !== 32) {
    throw new PowError('POW_BAD_ARGUMENT', 'hash must be 32 bytes');
  }
  return bytesToBigInt(hash) <= target;
}

function byteLength(n: bigint): number {
  return n === 0n ? 0 : Math.ceil(n.toString(2).length / 8);
}

function hex8(bits: number): string {
  return bits.toString(16).padStart(8, '0');
}
