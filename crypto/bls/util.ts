/** Small helpers shared by the BLS backends. */
import { toHex } from '../bytes.ts';
import { LruCache } from '../lru.ts';

/**
 * A bounded cache of decoded + validated public keys: consensus verifies against the same few
 * hundred validator keys over and over, and KeyValidate (a subgroup check) is the expensive part
 * of decoding. Only successful decodings are cached.
 */
export class DecodeCache<V> {
  readonly #cache: LruCache<V>;

  constructor(max: number) {
    this.#cache = new LruCache(max);
  }

  get(bytes: Uint8Array, decode: (bytes: Uint8Array) => V): V {
    return this.#cache.getOrMake(toHex(bytes), () => decode(bytes));
  }
}

/** A plain Uint8Array view (native bindings may hand back Buffers; outputs must compare equal). */
export function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function infinityG1(): Uint8Array {
  const out = new Uint8Array(48);
  out[0] = 0xc0;
  return out;
}

export function infinityG2(): Uint8Array {
  const out = new Uint8Array(96);
  out[0] = 0xc0;
  return out;
}
