/**
 * A canonical RLP decoder (Ethereum Yellow Paper, appendix B), for codec.ts's rlpDecodeStrict.
 *
 * It accepts and refuses exactly what @ethereumjs/rlp's `RLP.decode` does, and returns the same
 * items — every byte string a copy (`copyBytes`, below), lists as arrays — so that swapping it in
 * changes no verdict anywhere; test/unit/rlp-decode.test.ts compares the two on published
 * vectors and on random, mutated and truncated inputs. It exists for speed: @ethereumjs/rlp
 * copies every list's body before reading its items (so a transaction inside a block is copied
 * once per level above it), and allocates a remainder view and a result object per item; this one
 * walks the input once with a cursor (`npm run bench:codec`: about 7× on a signed transfer).
 * (Copies, as @ethereumjs/rlp's `slice` made them of a plain Uint8Array — everything Verity decodes
 * arrives as one; the store adapter converts. A copy of 65 bytes to 2 KiB is a view into a shared
 * slab, see crypto/bytes.ts: a transaction copied into its own backing store cost ≈ 1 µs.)
 *
 * Refusals carry `nonCanonical` when the bytes encode a value that has a shorter encoding (a
 * prefixed single byte, a long form for a short length, leading zeros in a length) — the cases
 * @ethereumjs/rlp words as "single byte", "greater than 55", "too short" or "extra zeros" — and
 * are otherwise malformed (truncated, overrunning their list, trailing bytes). The checks run in
 * the same order as @ethereumjs/rlp's, so an input with two faults gets the same one.
 *
 * One deliberate difference: lists nest at most MAX_DEPTH deep (refused as malformed). The
 * recursive @ethereumjs/rlp decoder instead overflows the stack a few thousand levels down, which
 * codec.ts also reported as malformed; nothing Verity decodes nests more than a few levels.
 */
import { copyBytes } from '../crypto/bytes.ts';

export type DecodedRlp = Uint8Array | DecodedRlp[];

/** Why an input was refused: `nonCanonical` as above, `message` for the error. */
export class RlpRefusal extends Error {
  readonly nonCanonical: boolean;
  constructor(nonCanonical: boolean, message: string) {
    super(message);
    this.nonCanonical = nonCanonical;
  }
}

/** Deepest list nesting accepted. */
export const MAX_DEPTH = 1024;

// The cursor of the one decode in progress (decoding is synchronous, so never two at once).
let at = 0;

const malformed = (message: string) => new RlpRefusal(false, message);
const nonCanonical = (message: string) => new RlpRefusal(true, message);

/** A long form's length: `n` big-endian bytes at `from`, without leading zeros. */
function longLength(b: Uint8Array, from: number, n: number): number {
  if (b[from] === 0) throw nonCanonical('length has extra zeros');
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + (b[from + i] as number);
  return length; // (a length past 2^53 is inexact, but then far past any input: refused as overrunning)
}

/** The item at the cursor, which must end by `end`; leaves the cursor after it. */
function item(b: Uint8Array, end: number, depth: number): DecodedRlp {
  const first = b[at] as number;
  if (first <= 0x7f) {
    at++;
    return copyBytes(b, at - 1, at);
  }
  if (first <= 0xb7) {
    const start = at + 1;
    const length = first - 0x80;
    if (start + length > end) throw malformed('string runs past the end of its input');
    if (length === 1 && (b[start] as number) < 0x80)
      throw nonCanonical('single byte below 0x80 must not be prefixed');
    at = start + length;
    return copyBytes(b, start, at);
  }
  if (first <= 0xbf) {
    const n = first - 0xb7;
    if (end - at - 1 < n + 1) throw malformed('not enough bytes for string length');
    const length = longLength(b, at + 1, n);
    if (length <= 55) throw nonCanonical('long form for a string shorter than 56 bytes');
    const start = at + 1 + n;
    if (start + length > end) throw malformed('string runs past the end of its input');
    at = start + length;
    return copyBytes(b, start, at);
  }
  if (depth >= MAX_DEPTH) throw malformed(`lists nest more than ${MAX_DEPTH} deep`);
  let listEnd: number;
  if (first <= 0xf7) {
    listEnd = at + 1 + (first - 0xc0);
    if (listEnd > end) throw malformed('list runs past the end of its input');
    at++;
  } else {
    const n = first - 0xf7;
    if (at + 1 + n > end) throw malformed('not enough bytes for list length');
    const length = longLength(b, at + 1, n);
    if (length < 56) throw nonCanonical('long form for a list shorter than 56 bytes');
    listEnd = at + 1 + n + length;
    if (listEnd > end) throw malformed('list runs past the end of its input');
    at += 1 + n;
  }
  const items: DecodedRlp[] = [];
  while (at < listEnd) items.push(item(b, listEnd, depth + 1));
  return items;
}

/** Decodes `bytes` as exactly one RLP item; throws RlpRefusal. */
export function decodeRlp(bytes: Uint8Array): DecodedRlp {
  // (@ethereumjs/rlp reads no bytes as the empty string; codec.ts has always refused them first.)
  if (bytes.length === 0) throw malformed('empty input');
  at = 0;
  const decoded = item(bytes, bytes.length, 0);
  if (at !== bytes.length) throw malformed('bytes remain after the item');
  return decoded;
}
