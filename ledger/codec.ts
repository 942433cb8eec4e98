/**
 * Strict RLP decoding for everything Verity reads from the outside (transactions, blocks,
 * certificates, consensus messages). Encoding comes from @ethereumjs/rlp, decoding from
 * rlp-decode.ts (the same verdicts, several times faster); this module adds what a consensus
 * system needs on top:
 *  - a size cap checked before decoding;
 *  - canonical form: the bytes must re-encode to themselves, so every value has one encoding and
 *    a hash of the bytes identifies the value (rlp-decode.ts refuses every other encoding);
 *  - typed field readers that say which field is wrong.
 */
import { RLP } from '@ethereumjs/rlp';
import { bytesToBigInt, fromUtf8 } from '../crypto/bytes.ts';
import { VerityError } from '../crypto/errors.ts';
import { decodeRlp, RlpRefusal } from './rlp-decode.ts';

export type RlpItem = Uint8Array | RlpItem[];
// No strings: @ethereumjs/rlp would read "0x…" strings as hex. Text goes in as utf8() bytes.
export type RlpInput = Uint8Array | bigint | number | RlpInput[];

export type DecodeErrorCode = 'MALFORMED' | 'TOO_LARGE' | 'NON_CANONICAL';
export class DecodeError extends VerityError<DecodeErrorCode> {}

export function rlpEncode(input: RlpInput): Uint8Array {
  checkNumbers(input);
  return RLP.encode(input as never);
}

/** Numbers must be non-negative safe integers: anything else would encode as garbage. */
function checkNumbers(input: RlpInput): void {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0)
      throw new DecodeError('MALFORMED', `cannot RLP-encode the number ${input}`);
  } else if (typeof input === 'bigint') {
    if (input < 0n) throw new DecodeError('MALFORMED', 'cannot RLP-encode a negative integer');
  } else if (Array.isArray(input)) {
    for (const x of input) checkNumbers(x);
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
