/**
 * The newest committed blocks, kept in memory as they were committed: what is asked for most is
 * what just committed — every block event and `GET /block` of a client following the chain, block
 * sync serving a validator a few blocks behind, a proof of a transaction that just went in — and
 * reading one back from the store means decoding it and hashing its transactions again (the
 * integrity check of ChainStore's reads), about as much work as the block's validation did.
 *
 * These copies are the blocks the node validated and wrote, so they need no check; a damaged copy
 * on disk is still found, by the first read that goes to the store once the block has left this
 * window (or after a restart). Bounded by count and by bytes — the encoding and the decoded
 * transactions both count (`costOf`) — so a window of full blocks stays small.
 */
import type { Block } from './block.ts';

export interface RecentBlock {
  /** The block's encoding, as stored. */
  readonly raw: Uint8Array;
  readonly block: Block;
}

/**
 * What an entry holds in memory, about: its encoding, the transactions' bytes again (the decoded
 * block's own copies) and each transaction's array object.
 */
export function costOf(entry: RecentBlock): number {
  return 2 * entry.raw.length + 96 * entry.block.txs.length;
}

export class RecentBlocks {
  readonly #maxBlocks: number;
  readonly #maxBytes: number;
  /** By height, oldest first (heights only grow: commits are in order). */
  readonly #blocks = new Map<number, RecentBlock>();
  #bytes = 0;

  constructor(maxBlocks: number, maxBytes: number) {
    this.#maxBlocks = maxBlocks;
    this.#maxBytes = maxBytes;
  }

  get size(): number {
    return this.#blocks.size;
  }

  get(height: number): RecentBlock | undefined {
    return this.#blocks.get(height);
  }

  /** A block just committed at `height` (commits come in order: it is the newest). */
  add(height: number, entry: RecentBlock): void {
    const old = this.#blocks.get(height);
    if (old !== undefined) {
      this.#blocks.delete(height);
      this.#bytes -= costOf(old);
    }
    if (costOf(entry) > this.#maxBytes) return;
    this.#blocks.set(height, entry);
    this.#bytes += costOf(entry);
    for (const [h, e] of this.#blocks) {
      if (this.#blocks.size <= this.#maxBlocks && this.#bytes <= this.#maxBytes) break;
      this.#blocks.delete(h);
      this.#bytes -= costOf(e);
    }
  }

  clear(): void {
    this.#blocks.clear();
    this.#bytes = 0;
  }
}
