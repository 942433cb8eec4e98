/**
 * Nibble paths and Ethereum's hex-prefix (HP) encoding (Yellow Paper, appendix C).
 * A path is a Uint8Array holding one nibble (0..15) per element; paths are never mutated after
 * construction, so subarray views are shared freely.
 */

export type Nibbles = Uint8Array;

export const EMPTY_NIBBLES: Nibbles = new Uint8Array(0);

export function bytesToNibbles(bytes: Uint8Array): Nibbles {
  const out = new Uint8Array(bytes.length * 2);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    out[2 * i] = b >> 4;
    out[2 * i + 1] = b & 0x0f;
  }
  return out;
}

/** Length of the longest common prefix of `a` and `b[offset..]`. */
export function commonPrefixLength(a: Nibbles, b: Nibbles, offset: number): number {
  const n = Math.min(a.length, b.length - offset);
  let i = 0;
  while (i < n && a[i] === b[offset + i]) i++;
  return i;
}

/** Whether `b[offset..]` starts with all of `a`. */
export function startsWithAt(a: Nibbles, b: Nibbles, offset: number): boolean {
  if (b.length - offset < a.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[offset + i]) return false;
  return true;
}

export function equalNibblesAt(a: Nibbles, b: Nibbles, offset: number): boolean {
  return b.length - offset === a.length && startsWithAt(a, b, offset);
}

/** `prefix ++ [nibble] ++ rest` (nibble omitted when negative). */
export function joinNibbles(prefix: Nibbles, nibble: number, rest: Nibbles): Nibbles {
  const extra = nibble >= 0 ? 1 : 0;
  const out = new Uint8Array(prefix.length + extra + rest.length);
  out.set(prefix, 0);
  if (extra) out[prefix.length] = nibble;
  out.set(rest, prefix.length + extra);
  return out;
}

/**
 * HP encoding: first nibble = flags (bit 1: leaf/terminator, bit 0: odd length); an even-length
 * path gets a zero padding nibble so the result is whole bytes.
 */
export function hexPrefixEncode(path: Nibbles, leaf: boolean): Uint8Array {
  const odd = path.length & 1;
  const out = new Uint8Array((path.length >> 1) + 1);
  const flag = (leaf ? 2 : 0) | odd;
  let i = 0;
  if (odd) {
    out[0] = (flag << 4) | (path[0] as number);
    i = 1;
  } else {
    out[0] = flag << 4;
  }
  for (let o = 1; i < path.length; i += 2, o++) out[o] = ((path[i] as number) << 4) | (path[i + 1] as number);
  return out;
}

/** Inverse of `hexPrefixEncode`; `undefined` for a malformed encoding (bad flag or padding). */
export function hexPrefixDecode(bytes: Uint8Array): { path: Nibbles; leaf: boolean } | undefined {
  if (bytes.length === 0) return undefined;
  const first = bytes[0] as number;
  const flag = first >> 4;
  if (flag > 3) return undefined;
  const odd = flag & 1;
  if (!odd && (first & 0x0f) !== 0) return undefined; // canonical even paths pad with zero
  const len = (bytes.length - 1) * 2 + odd;
  const path = new Uint8Array(len);
  let o = 0;
  if (odd) path[o++] = first & 0x0f;
  for (let i = 1; i < bytes.length; i++) {
    const b = bytes[i] as number;
    path[o++] = b >> 4;
    path[o++] = b & 0x0f;
  }
  return { path, leaf: flag >= 2 };
}
