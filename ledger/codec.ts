/**
 * Strict RLP decoding for everything Verity reads from the outside (transactions, blocks,
 * certificates, consensus messages). Encoding comes from rlp-encode.ts and decoding from
 * rlp-decode.ts (each @ethereumjs/rlp's output and verdicts, several times faster); this module adds what a consensus
 * system needs on top:
 *  - a size cap checked before decoding;
 *  - canonical form: the bytes must re-encode to themselves, so every value has one encoding and
 *    a hash of the bytes identifies the value (rlp-decode.ts refuses every other encoding);
 *  - typed field readers that say which field is wrong.
 */
import { bytesToBigInt, fromUtf8 } from '../crypto/bytes.ts';
import { VerityError } from '../crypto/errors.ts';
import { decodeRlp, RlpRefusal } from './rlp-decode.ts';
import { encodeRlp, RlpEncodeRefusal, type RlpInput } from './rlp-encode.ts';

export type RlpItem = Uint8Array | RlpItem[];
// No strings: text goes in as utf8() bytes.
export type { RlpInput };

export type DecodeErrorCode = 'MALFORMED' | 'TOO_LARGE' | 'NON_CANONICAL';
export class DecodeError extends VerityError<DecodeErrorCode> {}

/** RLP encoding (rlp-encode.ts). A negative or unsafe number is refused: MALFORMED. */
export function rlpEncode(input: RlpInput): Uint8Array {
  try {
    return encodeRlp(input);
  } catch (e) {
    if (e instanceof RlpEncodeRefusal) throw new DecodeError('MALFORMED', e.message);
    throw e;
  }
}

/** Decodes `bytes` as one canonical RLP item of at most `maxBytes`. */
export function rlpDecodeStrict(bytes: Uint8Array, maxBytes: number, what = 'value'): RlpItem {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('MALFORMED', `${what}: expected bytes`);
  if (bytes.length > maxBytes) {
    throw new DecodeError('TOO_LARGE', `${what}: ${bytes.length} bytes exceeds the ${maxBytes}-byte limit`, {
      size: bytes.length,
      max: maxBytes,
    });
  }
  if (bytes.length === 0) throw new DecodeError('MALFORMED', `${what}: empty input`);
  try {
    return decodeRlp(bytes);
  } catch (e) {
    if (!(e instanceof RlpRefusal)) throw e;
    throw new DecodeError(
      e.nonCanonical ? 'NON_CANONICAL' : 'MALFORMED',
      `${what}: invalid RLP (${e.message})`,
    );
  }
}

export function asList(item: RlpItem | undefined, what: string, length?: number): RlpItem[] {
  if (!Array.isArray(item)) throw new DecodeError('MALFORMED', `${what}: expected a list`);
  if (length !== undefined && item.length !== length) {
    throw new DecodeError('MALFORMED', `${what}: expected ${length} fields, got ${item.length}`);
  }
  return item;
}

export function asBytes(
  item: RlpItem | undefined,
  what: string,
  opts: { length?: number; max?: number } = {},
): Uint8Array {
  if (!(item instanceof Uint8Array)) throw new DecodeError('MALFORMED', `${what}: expected a byte string`);
  if (opts.length !== undefined && item.length !== opts.length) {
    throw new DecodeError('MALFORMED', `${what}: expected ${opts.length} bytes, got ${item.length}`);
  }
  if (opts.max !== undefined && item.length > opts.max) {
    throw new DecodeError('MALFORMED', `${what}: ${item.length} bytes exceeds ${opts.max}`);
  }
  return item;
}

/** Unsigned integer: big-endian, minimal (no leading zero byte; zero is the empty string). */
export function asUint(item: RlpItem | undefined, what: string, maxBytes = 32): bigint {
  const b = asBytes(item, what, { max: maxBytes });
  if (b.length > 0 && b[0] === 0)
    throw new DecodeError('NON_CANONICAL', `${what}: integer has leading zeros`);
  if (b.length <= 6) return BigInt(smallUint(b));
  return bytesToBigInt(b);
}

/** Big-endian bytes (≤ 6) as a number: the common case, without a detour through hex and BigInt. */
function smallUint(b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < b.length; i++) n = n * 256 + (b[i] as number);
  return n;
}

/** Unsigned integer that must fit a JS safe integer (heights, counts, indexes, ms timestamps). */
export function asSafeUint(item: RlpItem | undefined, what: string): number {
  const b = asBytes(item, what, { max: 7 });
  if (b.length > 0 && b[0] === 0)
    throw new DecodeError('NON_CANONICAL', `${what}: integer has leading zeros`);
  if (b.length <= 6) return smallUint(b);
  const v = bytesToBigInt(b);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError('MALFORMED', `${what}: integer too large`);
  return Number(v);
}

export function asUtf8(item: RlpItem | undefined, what: string, max: number): string {
  const b = asBytes(item, what, { max });
  try {
    return fromUtf8(b);
  } catch {
    throw new DecodeError('MALFORMED', `${what}: not valid UTF-8`);
  }
}

/** Boolean as the integer 0 or 1. */
export function asBool(item: RlpItem | undefined, what: string): boolean {
  const v = asUint(item, what, 1);
  if (v > 1n) throw new DecodeError('MALFORMED', `${what}: expected 0 or 1`);
  return v === 1n;
}
