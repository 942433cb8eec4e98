/**
 * Byte helpers shared by every layer. Strict: malformed input throws a typed error — a non-bytes
 * argument is CryptoError INVALID_LENGTH, a non-string INVALID_HEX / INVALID_ARGUMENT, an integer
 * out of range INVALID_ARGUMENT — never a raw TypeError.
 */
import { CryptoError } from './errors.ts';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

function needBytes(x: unknown, what: string): asserts x is Uint8Array {
  if (!(x instanceof Uint8Array)) throw new CryptoError('INVALID_LENGTH', `${what} must be a Uint8Array`);
}

/** Lower-case hex without a prefix. */
export function toHex(bytes: Uint8Array): string {
  needBytes(bytes, 'toHex input');
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Parses hex (optionally `0x`-prefixed). Odd length or non-hex characters → `INVALID_HEX`. */
export function fromHex(hex: string): Uint8Array {
  if (typeof hex !== 'string') throw new CryptoError('INVALID_HEX', `not a hex string: ${typeof hex}`);
  const body = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (!HEX_RE.test(body)) throw new CryptoError('INVALID_HEX', `not a hex string: ${preview(hex)}`);
  const buf = Buffer.from(body, 'hex');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Parses hex and checks the decoded length. */
export function fromHexExact(hex: string, length: number, what = 'value'): Uint8Array {
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new CryptoError('INVALID_ARGUMENT', 'fromHexExact: length must be a non-negative integer');
  }
  const bytes = fromHex(hex);
  if (bytes.length !== length) {
    throw new CryptoError('INVALID_LENGTH', `${what} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) {
    needBytes(p, 'concatBytes part');
    total += p.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  needBytes(a, 'equalBytes argument');
  needBytes(b, 'equalBytes argument');
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic order; shorter prefix first. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  needBytes(a, 'compareBytes argument');
  needBytes(b, 'compareBytes argument');
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

const encoder = new TextEncoder();
export function utf8(text: string): Uint8Array {
  if (typeof text !== 'string')
    throw new CryptoError('INVALID_ARGUMENT', `utf8: expected a string, got ${typeof text}`);
  return encoder.encode(text);
}

// ignoreBOM: a leading U+FEFF stays in the string. Stripping it (the default) would let two byte
// strings decode to one text — a second encoding of a signed transaction, under another id.
const strictDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/**
 * Strict UTF-8: every byte is kept, so `utf8(fromUtf8(b))` is `b`; an invalid sequence is a
 * CryptoError INVALID_UTF8 (bytes from a peer or a file: typed, like every other decoding failure).
 * Short ASCII — chain ids, keys — skips the decoder call.
 */
export function fromUtf8(bytes: Uint8Array): string {
  needBytes(bytes, 'fromUtf8 input');
  if (bytes.length <= 64) {
    let ascii = '';
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] as number;
      if (b >= 0x80) return strictUtf8(bytes);
      ascii += String.fromCharCode(b);
    }
    return ascii;
  }
  return strictUtf8(bytes);
}

function strictUtf8(bytes: Uint8Array): string {
  try {
    return strictDecoder.decode(bytes);
  } catch (e) {
    // With `fatal: true`, an invalid sequence is a TypeError: the input's fault. Anything else is not.
    if (!(e instanceof TypeError)) throw e;
    throw new CryptoError('INVALID_UTF8', `not valid UTF-8 (${bytes.length} bytes)`);
  }
}

export function isBytes(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array;
}

/** Big-endian unsigned 64-bit encoding of a non-negative integer. */
export function u64be(n: number | bigint): Uint8Array {
  const v = typeof n === 'bigint' ? n : Number.isInteger(n) ? BigInt(n) : -1n;
  if (v < 0n || v >= 1n << 64n) {
    throw new CryptoError('INVALID_ARGUMENT', 'u64be: expected an integer in [0, 2^64)');
  }
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v);
  return out;
}

export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new CryptoError('INVALID_ARGUMENT', 'u32be: expected an integer in [0, 2^32)');
  }
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
}

/** Unsigned big-endian bytes → bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  needBytes(bytes, 'bytesToBigInt input');
  return bytes.length === 0 ? 0n : BigInt(`0x${toHex(bytes)}`);
}

function preview(s: string): string {
  return s.length > 24 ? `${s.slice(0, 24)}…` : s;
}
