/**
 * Block ids: a block hash as a map key (lowercase hex of its 32 bytes), and back. Engines key
 * their block maps, vote values and locks by it; one definition instead of one per engine.
 */
import { fromHex, toHex } from '../crypto/bytes.ts';

export type BlockId = string;

export function blockId(hash: Uint8Array): BlockId {
  return toHex(hash);
}

export function hashOfBlockId(id: BlockId): Uint8Array {
  return fromHex(id);
}
