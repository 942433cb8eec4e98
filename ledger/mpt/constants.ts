import { keccak256 } from '../../crypto/hash.ts';

/** keccak256(rlp('')) = 0x56e81f…b421: the root of the empty trie. */
export const EMPTY_ROOT: Uint8Array = keccak256(Uint8Array.of(0x80));

/** Longest key accepted in non-secure mode (bounds recursion depth and proof size). */
export const MAX_KEY_BYTES = 1024;
