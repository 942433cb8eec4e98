/**
 * RLP encoding (Yellow Paper, appendix B), in two passes: the first measures every item and
 * records each list's payload length, the second writes into one buffer of exactly that size.
 *
 * Why not @ethereumjs/rlp's encoder: it builds each item as its own array and joins them level by
 * level (a block's transactions are copied once per level above them), and turns every number
 * into a hex string and back. Blocks, gossip frames, consensus messages and the commit's index
 * records are all encoded here, once per node per transaction or more.
 *
 * The output is @ethereumjs/rlp's for every input of the accepted types (checked differentially
 * in rlp-encode.test.ts): byte strings as they are; numbers (non-negative safe integers) and
 * bigints (non-negative) big-endian with no leading zero, 0 as the empty string; lists. Anything
 * else is refused rather than encoded as something (@ethereumjs/rlp encodes `undefined` and
 * `null` as the empty string, and a string as its UTF-8 bytes or, with 0x, as hex).
 */
import { allocBytesUnsafe } from '../crypto/bytes.ts';
import { invariant } from '../crypto/errors.ts';

export type RlpInput = Uint8Array | bigint | number | RlpInput[];

/** An input this encoder refuses: a negative or unsafe number, or a value of no RLP type. */
export class RlpEncodeRefusal extends Error {}

/** Bytes of `n` (a non-negative safe integer) big-endian without leading zeros; 0 for 0. */
function byteLength(n: number): number {
  let len = 0;
  while (n > 0) {
    len++;
    n = Math.floor(n / 256);
  }
  return len;
}

/** Length of an item's prefix for a payload of `len` bytes (a list's, or a string's of ≥ 2). */
function prefixLength(len: number): number {
  return len < 56 ? 1 : 1 + byteLength(len);
}

function bigintBytes(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  let hex = v.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function checkNumber(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RlpEncodeRefusal(`cannot RLP-encode the number ${n}`);
}

/** Encoded size of `x`; pushes each list's payload length onto `lists`, in pre-order. */
function measure(x: RlpInput, lists: number[]): number {
  if (x instanceof Uint8Array) {
    const len = x.length;
    return len === 1 && (x[0] as number) < 0x80 ? 1 : prefixLength(len) + len;
  }
  if (typeof x === 'number') {
    checkNumber(x);
    return x !== 0 && x < 0x80 ? 1 : 1 + byteLength(x);
  }
  if (Array.isArray(x)) {
    const slot = lists.length;
    lists.push(0);
    let payload = 0;
    for (let i = 0; i < x.length; i++) payload += measure(x[i] as RlpInput, lists);
    lists[slot] = payload;
    return prefixLength(payload) + payload;
  }
  if (typeof x === 'bigint') {
    if (x < 0n) throw new RlpEncodeRefusal('cannot RLP-encode a negative integer');
    return measure(bigintBytes(x), lists);
  }
  throw new RlpEncodeRefusal(`cannot RLP-encode a value of type ${x === null ? 'null' : typeof x}`);
}

/** Writes `n` big-endian in `len` bytes ending before `end`. */
function writeNumber(out: Uint8Array, end: number, n: number, len: number): void {
  for (let i = 1; i <= len; i++) {
    out[end - i] = n % 256;
    n = Math.floor(n / 256);
  }
}

/** Writes a prefix (`short` + len, or `long` + length of len, then len) at `pos`; returns the new pos. */
function writePrefix(out: Uint8Array, pos: number, len: number, short: number, long: number): number {
  if (len < 56) {
    out[pos] = short + len;
    return pos + 1;
  }
  const lenBytes = byteLength(len);
  out[pos] = long + lenBytes;
  writeNumber(out, pos + 1 + lenBytes, len, lenBytes);
  return pos + 1 + lenBytes;
}

interface Cursor {
  pos: number;
  list: number;
}

function write(out: Uint8Array, x: RlpInput, lists: readonly number[], c: Cursor): void {
  if (x instanceof Uint8Array) {
    if (x.length === 1 && (x[0] as number) < 0x80) {
      out[c.pos++] = x[0] as number;
      return;
    }
    let pos = writePrefix(out, c.pos, x.length, 0x80, 0xb7);
    // A short string byte by byte: TypedArray.set costs more than the copy below ~64 bytes.
    if (x.length <= 64) for (let i = 0; i < x.length; i++) out[pos++] = x[i] as number;
    else {
      out.set(x, pos);
      pos += x.length;
    }
    c.pos = pos;
    return;
  }
  if (typeof x === 'number') {
    if (x !== 0 && x < 0x80) {
      out[c.pos++] = x;
      return;
    }
    const len = byteLength(x);
    out[c.pos] = 0x80 + len;
    writeNumber(out, c.pos + 1 + len, x, len);
    c.pos += 1 + len;
    return;
  }
  if (Array.isArray(x)) {
    const payload = lists[c.list++] as number;
    c.pos = writePrefix(out, c.pos, payload, 0xc0, 0xf7);
    for (let i = 0; i < x.length; i++) write(out, x[i] as RlpInput, lists, c);
    return;
  }
  write(out, bigintBytes(x), lists, c);
}

/** The RLP encoding of `input`. Throws RlpEncodeRefusal for a value it cannot encode. */
export function encodeRlp(input: RlpInput): Uint8Array {
  const lists: number[] = [];
  const out = allocBytesUnsafe(measure(input, lists)); // every byte is written below
  const c: Cursor = { pos: 0, list: 0 };
  write(out, input, lists, c);
  invariant(c.pos === out.length, () => `RLP encoder wrote ${c.pos} of ${out.length} bytes`);
  return out;
}
