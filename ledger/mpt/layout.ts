/**
 * Where the trie keeps things in a shared KvStore. Every key starts with the trie's prefix, then a
 * one-byte tag, so several structures (or several tries) can share one store:
 *
 *   prefix 'n' hash(32)      → node RLP                         (every node referenced by hash, and every root)
 *   prefix 'r' hash(32)      → reference count, u32 big-endian  (pruning mode only)
 *   prefix 'j' commit(u64be) → root hash of that commit         (pruning mode only: the retained window)
 *   prefix 'c'               → RLP [version, mode, commits, oldestRetained]
 */
import { RLP } from '@ethereumjs/rlp';
import { bytesToBigInt, u32be, u64be, utf8 } from '../../crypto/bytes.ts';
import { TrieError } from './errors.ts';

export const DEFAULT_PREFIX: Uint8Array = utf8('m:');

const TAG_NODE = 0x6e; // 'n'
const TAG_REF = 0x72; // 'r'
const TAG_JOURNAL = 0x6a; // 'j'
const TAG_META = 0x63; // 'c'

export const MODE_ARCHIVE = 0;
export const MODE_PRUNE = 1;

export interface TrieMeta {
  readonly mode: number;
  /** Number of commits made so far (pruning mode; 0 in archive mode). */
  readonly commits: number;
  /** Lowest commit number still in the journal (pruning mode). */
  readonly oldest: number;
}

export class Layout {
  readonly prefix: Uint8Array;
  readonly metaKey: Uint8Array;

  constructor(prefix: Uint8Array) {
    this.prefix = prefix.slice();
    this.metaKey = this.#tagged(TAG_META, 0);
  }

  nodeKey(hash: Uint8Array): Uint8Array {
    const k = this.#tagged(TAG_NODE, hash.length);
    k.set(hash, this.prefix.length + 1);
    return k;
  }

  refKey(hash: Uint8Array): Uint8Array {
    const k = this.#tagged(TAG_REF, hash.length);
    k.set(hash, this.prefix.length + 1);
    return k;
  }

  journalKey(commit: number): Uint8Array {
    const k = this.#tagged(TAG_JOURNAL, 8);
    k.set(u64be(commit), this.prefix.length + 1);
    return k;
  }

  #tagged(tag: number, extra: number): Uint8Array {
    const k = new Uint8Array(this.prefix.length + 1 + extra);
    k.set(this.prefix, 0);
    k[this.prefix.length] = tag;
    return k;
  }
}

export function encodeMeta(meta: TrieMeta): Uint8Array {
  return RLP.encode([Uint8Array.of(1), Uint8Array.of(meta.mode), u64be(meta.commits), u64be(meta.oldest)]);
}

export function decodeMeta(bytes: Uint8Array): TrieMeta {
  try {
    const raw = RLP.decode(bytes);
    if (Array.isArray(raw) && raw.length === 4 && raw.every((x) => x instanceof Uint8Array)) {
      const [version, mode, commits, oldest] = raw as Uint8Array[];
      if (version?.[0] === 1 && mode !== undefined && commits !== undefined && oldest !== undefined) {
        return {
          mode: mode[0] ?? -1,
          commits: Number(bytesToBigInt(commits)),
          oldest: Number(bytesToBigInt(oldest)),
        };
      }
    }
  } catch {
    // fall through to the typed error
  }
  throw new TrieError('CORRUPT_NODE', 'trie metadata record is malformed');
}

export function encodeCount(n: number): Uint8Array {
  return u32be(n);
}

export function decodeCount(bytes: Uint8Array): number {
  if (bytes.length !== 4) throw new TrieError('CORRUPT_NODE', 'reference count record is malformed');
  return new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
}
