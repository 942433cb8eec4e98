/**
 * The part of Node's `Buffer` that the ledger's verification path uses (hex, latin1 and UTF-8
 * conversions, equals, concat, byteLength), injected as the global `Buffer` of the browser build
 * (explorer/build.ts). Semantics follow Node: hex decoding stops at the first invalid pair,
 * UTF-8 decoding replaces invalid sequences with U+FFFD.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Encoding = 'hex' | 'latin1' | 'binary' | 'utf8' | 'utf-8';

class BrowserBuffer extends Uint8Array {
  override subarray(begin?: number, end?: number): BrowserBuffer {
    const u = new Uint8Array(this.buffer, this.byteOffset, this.byteLength).subarray(begin, end);
    return new BrowserBuffer(u.buffer, u.byteOffset, u.byteLength);
  }

  equals(other: Uint8Array): boolean {
    if (other.length !== this.length) return false;
    for (let i = 0; i < this.length; i++) if (this[i] !== other[i]) return false;
    return true;
  }

  override toString(encoding: Encoding = 'utf8'): string {
    if (encoding === 'hex') {
      let s = '';
      for (let i = 0; i < this.length; i++) s += (this[i] as number).toString(16).padStart(2, '0');
      return s;
    }
    if (encoding === 'latin1' || encoding === 'binary') {
      let s = '';
      for (let i = 0; i < this.length; i += 4096) {
        const chunk = new Uint8Array(this.buffer, this.byteOffset + i, Math.min(4096, this.length - i));
        s += String.fromCharCode(...chunk);
      }
      return s;
    }
    return decoder.decode(this);
  }
}

function fromString(s: string, encoding: Encoding): BrowserBuffer {
  if (encoding === 'hex') {
    const out = new BrowserBuffer(s.length >> 1);
    let n = 0;
    for (; n < out.length; n++) {
      const pair = s.slice(2 * n, 2 * n + 2);
      if (!/^[0-9a-fA-F]{2}$/.test(pair)) break;
      out[n] = Number.parseInt(pair, 16);
    }
    return n === out.length ? out : out.subarray(0, n);
  }
  if (encoding === 'latin1' || encoding === 'binary') {
    const out = new BrowserBuffer(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
    return out;
  }
  return from(encoder.encode(s));
}

function from(
  value: string | ArrayBuffer | ArrayLike<number>,
  encodingOrOffset?: Encoding | number,
  length?: number,
) {
  if (typeof value === 'string')
    return fromString(value, (encodingOrOffset as Encoding | undefined) ?? 'utf8');
  if (value instanceof ArrayBuffer) {
    const offset = (encodingOrOffset as number | undefined) ?? 0;
    return new BrowserBuffer(value, offset, length ?? value.byteLength - offset);
  }
  const out = new BrowserBuffer(value.length);
  out.set(value);
  return out;
}

function concat(list: readonly Uint8Array[]): BrowserBuffer {
  let n = 0;
  for (const b of list) n += b.length;
  const out = new BrowserBuffer(n);
  let off = 0;
  for (const b of list) {
    out.set(b, off);
    off += b.length;
  }
  return out;
}

const statics = {
  from,
  concat,
  alloc: (size: number) => new BrowserBuffer(size),
  byteLength: (s: string, _encoding?: Encoding) => encoder.encode(s).length,
  isBuffer: (x: unknown): x is BrowserBuffer => x instanceof BrowserBuffer,
};
// Node's Buffer.from replaces Uint8Array.from (a different signature), hence defineProperty.
for (const [name, value] of Object.entries(statics)) Object.defineProperty(BrowserBuffer, name, { value });

export const Buffer = BrowserBuffer as unknown as typeof statics & (new (n: number) => BrowserBuffer);
