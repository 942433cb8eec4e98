/**
 * crypto/bytes.ts helpers on hot paths: slab-carved copies (copyBytes, allocBytesUnsafe,
 * concatBytes) must behave exactly as private copies, and the fixed-width integer encoders must
 * match DataView's on every boundary.
 */
import { describe, expect, it } from 'vitest';
import {
  allocBytesUnsafe,
  byteKey,
  bytesFromKey,
  concatBytes,
  copyBytes,
  toHex,
  u32be,
  u64be,
} from '../../crypto/bytes.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { seededBytes } from '../helpers/seeded.ts';

describe('slab-carved copies', () => {
  it('are private copies at every size, across slab boundaries', () => {
    const rand = seededBytes('bytes copies');
    const sources: Uint8Array[] = [];
    const copies: Uint8Array[] = [];
    // Enough sizes around each threshold (64 on V8's heap, 2 KiB the largest carved) to fill
    // several 16 KiB slabs.
    for (let round = 0; round < 20; round++)
      for (const n of [0, 1, 63, 64, 65, 66, 140, 257, 1000, 2047, 2048, 2049, 5000]) {
        const src = rand(n + 10);
        sources.push(src.slice(5, 5 + n));
        copies.push(copyBytes(src, 5, 5 + n));
        src.fill(0xee); // the caller's buffer, reused: the copy keeps its bytes
      }
    copies.forEach((c, i) => {
      expect(c).toBeInstanceOf(Uint8Array);
      expect(Buffer.isBuffer(c)).toBe(false); // a plain Uint8Array: .slice() copies
      expect(toHex(c)).toBe(toHex(sources[i] as Uint8Array));
    });
    // Writing one copy reaches no other (views into one slab never overlap).
    for (const c of copies) c.fill(0x55);
    copies.forEach((c) => {
      expect(c.every((b) => b === 0x55)).toBe(true);
    });
    expect(copies.reduce((n, c) => n + c.length, 0)).toBe(sources.reduce((n, s) => n + s.length, 0));
  });

  it('a carved array is a view whose .buffer is shared: byteOffset and length delimit it', () => {
    const a = allocBytesUnsafe(100);
    const b = allocBytesUnsafe(100);
    expect(a.length).toBe(100);
    expect(a.buffer).toBe(b.buffer); // the same slab…
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + 100); // …not overlapping
    expect(b.byteOffset % 8).toBe(0);
    a.fill(1);
    b.fill(2);
    expect(a.every((x) => x === 1)).toBe(true);
    expect(new Uint8Array(allocBytesUnsafe(64).buffer).length).toBe(64); // small: its own buffer
  });

  it('concatBytes joins parts of every size into a private array', () => {
    const rand = seededBytes('bytes concat');
    for (const sizes of [[], [0], [70], [30, 40], [64, 1], [2000, 48], [1, 2, 3]]) {
      const parts = sizes.map((n) => rand(n));
      const expected = parts.map(toHex).join('');
      const joined = concatBytes(...parts);
      expect(toHex(joined)).toBe(expected);
      for (const p of parts) p.fill(0xee);
      expect(toHex(joined)).toBe(expected); // the parts' later writes do not reach it
    }
  });
});

describe('fixed-width integers', () => {
  const viaDataView = (n: bigint, bytes: 4 | 8) => {
    const out = new Uint8Array(bytes);
    const dv = new DataView(out.buffer);
    if (bytes === 8) dv.setBigUint64(0, n);
    else dv.setUint32(0, Number(n));
    return toHex(out);
  };

  it('u64be matches DataView at every power of two and its neighbours, as number and bigint', () => {
    for (let bit = 0; bit < 64; bit++) {
      for (const d of [-1n, 0n, 1n]) {
        const v = (1n << BigInt(bit)) + d;
        if (v < 0n || v >= 1n << 64n) continue;
        expect(toHex(u64be(v)), `${v}n`).toBe(viaDataView(v, 8));
        const n = Number(v);
        // A number above 2^53 may not be v itself: compare with the integer it is.
        if (Number.isInteger(n) && n < 2 ** 64)
          expect(toHex(u64be(n)), `${n}`).toBe(viaDataView(BigInt(n), 8));
      }
    }
    expect(toHex(u64be(2 ** 64 - 2 ** 11))).toBe('fffffffffffff800'); // the largest double below 2^64
  });

  it('u64be and u32be refuse what they cannot encode', () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 64, -1n, 1n << 64n])
      expect(() => u64be(bad), String(bad)).toThrow(/u64be/);
    for (const bad of [-1, 1.5, 2 ** 32, Number.NaN]) expect(() => u32be(bad), String(bad)).toThrow(/u32be/);
  });

  it('u32be matches DataView at every power of two and its neighbours', () => {
    for (let bit = 0; bit <= 32; bit++)
      for (const d of [-1, 0, 1]) {
        const v = 2 ** bit + d;
        if (v < 0 || v > 0xffffffff) continue;
        expect(toHex(u32be(v)), `${v}`).toBe(viaDataView(BigInt(v), 4));
      }
  });
});

describe('byteKey', () => {
  it('is the latin1 string of the bytes at every length, on and off the heap, whatever the view', () => {
    const rand = seededBytes('byteKey');
    for (const n of [0, 1, 2, 20, 32, 33, 63, 64, 65, 140, 1000]) {
      const backing = rand(n + 7);
      const views = [backing.slice(3, 3 + n), backing.subarray(3, 3 + n), copyBytes(backing, 3, 3 + n)];
      const expected = Buffer.from(backing.subarray(3, 3 + n)).toString('latin1');
      for (const v of views) {
        const k = byteKey(v);
        expect(k.length).toBe(n);
        expect(k).toBe(expected);
        expect(Uint8Array.from(k, (c) => c.charCodeAt(0))).toEqual(backing.subarray(3, 3 + n));
      }
    }
    // Every byte value, either side of the short/long switch.
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(byteKey(all.subarray(0, 64))).toBe(String.fromCharCode(...all.subarray(0, 64)));
    expect(byteKey(all.subarray(192))).toBe(String.fromCharCode(...all.subarray(192)));
    expect(byteKey(all)).toBe(String.fromCharCode(...all));
  });

  it('equal keys exactly for equal bytes (one byte apart, a prefix, or a zero more: different keys)', () => {
    const rand = seededBytes('byteKey distinct');
    for (const n of [1, 32, 64, 65, 140]) {
      const a = rand(n);
      const flipped = a.slice();
      flipped[n - 1] = (flipped[n - 1] as number) ^ 0x80;
      const keys = [a, flipped, a.subarray(0, n - 1), Uint8Array.from([...a, 0])].map(byteKey);
      expect(new Set(keys).size).toBe(4);
      expect(byteKey(a.slice())).toBe(keys[0]);
    }
  });

  it('bytesFromKey undoes it at every length and byte value, and refuses a character above 255', () => {
    const rand = seededBytes('bytesFromKey');
    for (const n of [0, 1, 31, 32, 33, 64, 65, 140, 1000]) {
      const b = rand(n);
      const back = bytesFromKey(byteKey(b));
      expect(back).toEqual(b);
      expect(back).not.toBe(b);
    }
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const part of [all.subarray(0, 64), all.subarray(192), all])
      expect(bytesFromKey(byteKey(part))).toEqual(part);
    for (const bad of ['\u0100', `${'a'.repeat(40)}\u20ac`, `${'a'.repeat(100)}\u0101`])
      expect(() => bytesFromKey(bad)).toThrow(CryptoError);
  });
});
