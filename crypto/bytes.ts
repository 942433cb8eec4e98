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

/**
 * One character per byte (latin1, which maps every byte to itself): a Map key that is equal
 * exactly when the bytes are, at about the cost of `toHex` and half its length — less for short
 * ones: V8 keeps a typed array of up to 64 bytes on its heap, and reading its `.buffer` (as a
 * Buffer view needs) first moves it off, an allocation and a copy (about 0.5 µs on the benchmark
 * machine, against about 0.2 µs for `String.fromCharCode` over it).
 */
export function byteKey(bytes: Uint8Array): string {
  needBytes(bytes, 'byteKey input');
  if (bytes.length <= ON_HEAP_MAX) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/**
 * The bytes of a `byteKey` (the inverse): one per character, each below 256, else CryptoError
 * INVALID_ARGUMENT. An array of its own, without a Buffer in between (on V8's heap up to 64 bytes).
 */
export function bytesFromKey(key: string): Uint8Array {
  if (typeof key !== 'string') throw new CryptoError('INVALID_ARGUMENT', 'bytesFromKey: expected a string');
  const n = key.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = key.charCodeAt(i);
    if (c > 0xff) throw new CryptoError('INVALID_ARGUMENT', 'bytesFromKey: a character above 255');
    out[i] = c;
  }
  return out;
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

/**
 * Small byte arrays carved from shared slabs. V8 keeps a typed array of at most 64 bytes on its
 * heap, but gives every larger one an off-heap backing store of its own: about 0.8–1 µs to
 * allocate (more to collect) where a view into a slab costs a few tens of ns, measured on this
 * machine — and a transaction (about 140 bytes) is copied several times on every node (decoded
 * from gossip and from blocks, staged for the store). Node's Buffer pool does the same for the
 * same reason. A slab lives while any view into it does, so only sizes up to SLAB_MAX_ITEM are
 * carved, and only for copies that die young with their neighbours (decoded messages, encodings
 * on their way out): a value kept long among short-lived ones — a store's cached entry — would
 * hold its whole slab, so stores copy with `slice`. The views are plain Uint8Arrays whose
 * `.buffer` is the shared slab: code that reads `.buffer` must honour `byteOffset` (as Verity's
 * does), and one passed to another thread should be sliced first (a structured clone copies the
 * whole slab).
 */
const SLAB_BYTES = 16 * 1024;
const SLAB_MAX_ITEM = 2 * 1024;
const ON_HEAP_MAX = 64;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

/**
 * `n` bytes, NOT zeroed when carved from a slab: for callers that write every byte (an encoder,
 * a copy). `new Uint8Array(n)` where zeroes are wanted.
 */
export function allocBytesUnsafe(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new CryptoError('INVALID_ARGUMENT', 'allocBytesUnsafe: expected a length ≥ 0');
  if (n <= ON_HEAP_MAX || n > SLAB_MAX_ITEM) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, n);
  slabUsed += (n + 7) & ~7; // 8-byte aligned, as Node's pool
  return out;
}

/** A copy of `src[start, end)` (its own bytes: later writes to `src` do not reach it). */
export function copyBytes(src: Uint8Array, start = 0, end = src?.length): Uint8Array {
  needBytes(src, 'copyBytes source');
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end < start ||
    end > src.length
  )
    throw new CryptoError(
      'INVALID_ARGUMENT',
      `copyBytes: [${String(start)}, ${String(end)}) is not a range of ${src.length} bytes`,
    );
  const n = end - start;
  if (n <= ON_HEAP_MAX || n > SLAB_MAX_ITEM) return src.slice(start, end);
  const out = allocBytesUnsafe(n);
  out.set(src.subarray(start, end));
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) {
    needBytes(p, 'concatBytes part');
    total += p.length;
  }
  const out = allocBytesUnsafe(total);
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
  const out = new Uint8Array(8);
  if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 2 ** 64) {
    // Two 32-bit halves: exact for every integer a double holds (no BigInt on the hot path).
    writeU32(out, 0, Math.floor(n / 2 ** 32));
    writeU32(out, 4, n % 2 ** 32);
    return out;
  }
  if (typeof n !== 'bigint' || n < 0n || n >= 1n << 64n) {
    throw new CryptoError('INVALID_ARGUMENT', 'u64be: expected an integer in [0, 2^64)');
  }
  new DataView(out.buffer).setBigUint64(0, n);
  return out;
}

function writeU32(out: Uint8Array, at: number, n: number): void {
  out[at] = n >>> 24;
  out[at + 1] = (n >>> 16) & 0xff;
  out[at + 2] = (n >>> 8) & 0xff;
  out[at + 3] = n & 0xff;
}

export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new CryptoError('INVALID_ARGUMENT', 'u32be: expected an integer in [0, 2^32)');
  }
  const out = new Uint8Array(4);
  writeU32(out, 0, n);
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
