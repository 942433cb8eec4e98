/**
 * Storage layout. Every key starts with the log's prefix P (default "l:") so the log can share a
 * store with other structures:
 *
 *   P ‖ "s"              → tree head of the committed size: u64be size ‖ root (40 bytes)
 *   P ‖ "r" ‖ u64be(i)   → leaf record i: leafHash(entry_i) ‖ h_1 ‖ … ‖ h_t ‖ entry_i
 *
 * where t is the number of trailing 1-bits of i and h_l is the hash of the perfect subtree of 2^l
 * leaves that ends at leaf i: exactly the nodes appending leaf i completes. So every perfect subtree
 * (level l, index j) is stored once, at offset 32·l of record (j+1)·2^l − 1, and an append costs ONE
 * put per entry (plus the tree head) — a third of the writes of separate entry / leaf / node keys,
 * which is what bounds append throughput on every store. Records are written once and never change.
 * Big-endian indexes keep prefix iteration in index order.
 */
import { HASH_BYTES } from './hashing.ts';

export const DEFAULT_PREFIX: Uint8Array = new Uint8Array([0x6c, 0x3a]); // "l:"

const TAG_STATE = 0x73; // 's'
const TAG_RECORD = 0x72; // 'r'

/** n mod 2^32 via >>> 0 and the high part by division: exact for every safe integer. */
function writeU64(out: Uint8Array, off: number, n: number): void {
  const hi = Math.floor(n / 4294967296);
  const lo = n >>> 0;
  out[off] = hi >>> 24;
  out[off + 1] = (hi >>> 16) & 0xff;
  out[off + 2] = (hi >>> 8) & 0xff;
  out[off + 3] = hi & 0xff;
  out[off + 4] = lo >>> 24;
  out[off + 5] = (lo >>> 16) & 0xff;
  out[off + 6] = (lo >>> 8) & 0xff;
  out[off + 7] = lo & 0xff;
}

/** Number of trailing 1-bits of a safe non-negative integer: the levels leaf `i` completes. */
export function trailingOnes(i: number): number {
  let t = 0;
  let x = i;
  while (x % 2 === 1) {
    t++;
    x = (x - 1) / 2;
  }
  return t;
}

/** Bytes of hashes at the front of record i, before the entry. */
export function recordHashBytes(i: number): number {
  return HASH_BYTES * (trailingOnes(i) + 1);
}

/** Where the hash of perfect subtree (level, index) is stored: its last leaf's record, at 32·level. */
export function nodeLocation(level: number, index: number): { record: number; offset: number } {
  return { record: (index + 1) * 2 ** level - 1, offset: HASH_BYTES * level };
}

export class LogKeys {
  readonly prefix: Uint8Array;
  readonly state: Uint8Array;
  /** Prefix of all leaf records, for iteration. */
  readonly records: Uint8Array;
  readonly #p: number;

  constructor(prefix: Uint8Array) {
    this.prefix = prefix.slice();
    this.#p = prefix.length;
    this.state = this.#tagged(TAG_STATE, 0);
    this.records = this.#tagged(TAG_RECORD, 0);
  }

  record(index: number): Uint8Array {
    const key = this.#tagged(TAG_RECORD, 8);
    writeU64(key, this.#p + 1, index);
    return key;
  }

  #tagged(tag: number, extra: number): Uint8Array {
    const key = new Uint8Array(this.#p + 1 + extra);
    key.set(this.prefix, 0);
    key[this.#p] = tag;
    return key;
  }
}
