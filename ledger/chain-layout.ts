/**
 * Where the chain store keeps what, in one KvStore under separate key spaces:
 *
 *   b/ height(8)  → block bytes            h/ hash(32)  → height(8)
 *   c/ height(8)  → certificate bytes      t/ txId(32)  → RLP([height, position, logIndex, receipt])
 *   s/ …          → state trie nodes       l/ …         → transparency log
 *   a/ …          → block-hash history     m/head       → height(8)
 *   m/genesis     → genesis block hash     m/account-index-from, m/lowest-block → height(8)
 *   x/ address ‖ height(8) ‖ position(4) → transaction id (the account index)
 */
import { concatBytes, u32be, u64be, utf8 } from '../crypto/bytes.ts';
import { Layout } from './mpt/layout.ts';

export const P_BLOCK = utf8('b/');
export const P_HASH = utf8('h/');
export const P_CERT = utf8('c/');
export const P_TX = utf8('t/');
/** Account index: x/ ‖ address ‖ height (u64) ‖ position (u32) → transaction id. */
export const P_ACCOUNT_TX = utf8('x/');
export const STATE_PREFIX = utf8('s/');
export const LOG_PREFIX = utf8('l/');
export const HISTORY_PREFIX = utf8('a/');
export const K_HEAD = utf8('m/head');
export const K_GENESIS = utf8('m/genesis');
/** The first height the account index covers (a store from before the index starts later). */
export const K_ACCOUNT_INDEX_FROM = utf8('m/account-index-from');
/** The lowest height ≥ 1 whose block the store holds (absent: 1); H after a snapshot at H. */
export const K_LOWEST_BLOCK = utf8('m/lowest-block');
/** A key of the state trie (under STATE_PREFIX): what a node's read cache keeps on write. */
export function isStateKey(key: Uint8Array): boolean {
  return key.length >= STATE_PREFIX.length && STATE_PREFIX.every((b, i) => key[i] === b);
}

/** Where the state trie keeps its nodes: content-addressed, `'n' ‖ keccak256(rlp) → rlp`. */
export const STATE_LAYOUT = new Layout(STATE_PREFIX);

/** x/ ‖ address ‖ height ‖ position, built in one allocation (one key per transaction and party). */
export function accountTxKey(address: Uint8Array, height: number, position: number): Uint8Array {
  const key = new Uint8Array(P_ACCOUNT_TX.length + address.length + 12);
  key.set(P_ACCOUNT_TX, 0);
  key.set(address, P_ACCOUNT_TX.length);
  const at = P_ACCOUNT_TX.length + address.length;
  key.set(u64be(height), at);
  key.set(u32be(position), at + 8);
  return key;
}

export function heightKey(prefix: Uint8Array, height: number): Uint8Array {
  return concatBytes(prefix, u64be(height));
}

export function readHeight(bytes: Uint8Array): number {
  return Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0));
}
