/**
 * Block ids: a block hash as a map key (lowercase hex of its 32 bytes), and back. Engines key
 * their block maps, vote values and locks by it; one definition instead of one per engine. The
 * type is branded: a map of blocks cannot be looked up with some other string (a peer id, a
 * message digest, a joined key) by mistake — only with `blockId(hash)`.
 */
import { fromHex, toHex } from '../crypto/bytes.ts';

declare const BLOCK_ID: unique symbol;

export type BlockId = string & { readonly [BLOCK_ID]: true };

export function blockId(hash: Uint8Array): BlockId {
  return toHex(hash) as BlockId;
}

export function hashOfBlockId(id: BlockId): Uint8Array {
  return fromHex(id);
}

declare const BLOCK_ON_PARENT: unique symbol;

/** A vote for a block on a given parent (PBFT's PREPARE) as one map key: both ids, typed. */
export type BlockOnParent = string & { readonly [BLOCK_ON_PARENT]: true };

export function blockOnParent(block: BlockId, parent: BlockId): BlockOnParent {
  return `${block}|${parent}` as BlockOnParent;
}

export function splitBlockOnParent(value: BlockOnParent): { block: BlockId; parent: BlockId } {
  const [block, parent] = value.split('|') as [BlockId, BlockId];
  return { block, parent };
}
