/**
 * HotStuff's uncommitted blocks: the certified or proposed blocks above the committed head that
 * this node holds, the ones it knows of only by hash and is fetching, and the chains it serves to
 * peers catching up. A block is authentic when a QC or a child names its hash, so everything here
 * is keyed by hash; what is safe to vote for or commit is the engine's business, not this store's.
 *
 * Bounded three ways against a peer that floods blocks or hashes: at most `maxBlocks` blocks (the
 * oldest views go first, never the chain of the highest QC), at most `maxWanted` hashes in flight,
 * each asked for once when wanted and in `fetchAttempts` rounds after that before it is left to
 * sync, and a served chain of at most
 * `maxServedBlocks` blocks and `maxServedBytes` bytes.
 */
import type { Block } from '../../ledger/block.ts';
import type { BlockId } from '../block-id.ts';
import type { QuorumCert } from './qc.ts';

export interface BlockNode {
  readonly block: Block;
  readonly hash: Uint8Array;
  readonly id: BlockId;
  readonly parentId: BlockId;
  readonly height: number;
  readonly view: number;
  readonly justify: QuorumCert;
  status: 'waiting' | 'executing' | 'valid' | 'invalid';
}

export interface PendingBlockLimits {
  readonly maxBlocks: number;
  readonly maxWanted: number;
  readonly fetchAttempts: number;
  /** Hashes asked for in one fetch round. */
  readonly maxFetchHashes: number;
  readonly maxServedBlocks: number;
  readonly maxServedBytes: number;
}

/** A block's size as served: its transactions plus a generous allowance for header and framing. */
export function servedSize(b: Block): number {
  let s = 1024;
  for (const t of b.txs) s += t.length + 8;
  return s;
}

export class PendingBlocks {
  readonly #limits: PendingBlockLimits;
  readonly #blocks = new Map<BlockId, BlockNode>();
  /** Missing blocks by hash → fetch rounds left. */
  readonly #wanted = new Map<BlockId, number>();

  constructor(limits: PendingBlockLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#blocks.size;
  }

  get wantedCount(): number {
    return this.#wanted.size;
  }

  get(id: BlockId): BlockNode | undefined {
    return this.#blocks.get(id);
  }

  has(id: BlockId): boolean {
    return this.#blocks.has(id);
  }

  isWanted(id: BlockId): boolean {
    return this.#wanted.has(id);
  }

  values(): IterableIterator<BlockNode> {
    return this.#blocks.values();
  }

  /**
   * Holds a block the caller found new and above the committed head; it is no longer wanted. Over
   * the cap, the blocks of the oldest views go, except the chain below `keepTopId()` (the highest
   * QC's block, asked for only then), which the next proposal and commit build on.
   */
  add(node: BlockNode, keepTopId: () => BlockId): void {
    this.#blocks.set(node.id, node);
    this.#wanted.delete(node.id);
    if (this.#blocks.size > this.#limits.maxBlocks) this.#cap(keepTopId());
  }

  delete(id: BlockId): void {
    this.#blocks.delete(id);
  }

  /** The held children of `parentId` still waiting for it. */
  waitingChildren(parentId: BlockId): BlockNode[] {
    const out: BlockNode[] = [];
    for (const b of this.#blocks.values()) if (b.status === 'waiting' && b.parentId === parentId) out.push(b);
    return out;
  }

  /**
   * Marks a block missing. True when it is newly wanted, so the caller sends the first fetch at
   * once; false when it is held, is the committed head, is wanted already, or too many are.
   */
  want(id: BlockId, headId: BlockId): boolean {
    if (this.#blocks.has(id) || id === headId || this.#wanted.has(id)) return false;
    if (this.#wanted.size >= this.#limits.maxWanted) return false;
    this.#wanted.set(id, this.#limits.fetchAttempts);
    return true;
  }

  /**
   * The hashes to ask for in this round (the oldest wanted first); each uses up one of its rounds,
   * and one with none left is forgotten: nobody had it (pruned as committed), so block sync will do.
   */
  fetchRound(): BlockId[] {
    const ids = [...this.#wanted.keys()].slice(0, this.#limits.maxFetchHashes);
    for (const id of ids) {
      const left = (this.#wanted.get(id) ?? 1) - 1;
      if (left <= 0) this.#wanted.delete(id);
      else this.#wanted.set(id, left);
    }
    return ids;
  }

  /** The head moved to `head`: forget every block at or below it, and stop wanting the head. */
  pruneTo(head: { readonly height: number; readonly id: BlockId }): void {
    for (const [id, b] of this.#blocks) if (b.height <= head.height) this.#blocks.delete(id);
    this.#wanted.delete(head.id);
  }

  /**
   * Appends to `acc` the held blocks from `topId` down towards the head (top first), stopping at
   * `stopId`, skipping those in `seen` (and adding the rest to it), within the served caps.
   */
  serveChain(topId: BlockId, stopId: BlockId | undefined, acc: Block[], seen: Set<BlockId>): void {
    let bytes = acc.reduce((s, b) => s + servedSize(b), 0);
    for (let n = this.#blocks.get(topId); n !== undefined; n = this.#blocks.get(n.parentId)) {
      if (n.id === stopId || acc.length >= this.#limits.maxServedBlocks) return;
      if (seen.has(n.id)) continue;
      const size = servedSize(n.block);
      if (acc.length > 0 && bytes + size > this.#limits.maxServedBytes) return;
      seen.add(n.id);
      acc.push(n.block);
      bytes += size;
    }
  }

  /** Whether a held block from `id` down to (not including) height `headHeight` carries transactions. */
  chainHasTxs(id: BlockId, headHeight: number): boolean {
    for (
      let n = this.#blocks.get(id);
      n !== undefined && n.height > headHeight;
      n = this.#blocks.get(n.parentId)
    )
      if (n.block.header.txCount > 0) return true;
    return false;
  }

  #cap(keepTopId: BlockId): void {
    const keep = new Set<BlockId>();
    for (let n = this.#blocks.get(keepTopId); n !== undefined; n = this.#blocks.get(n.parentId))
      keep.add(n.id);
    const victims = [...this.#blocks.values()]
      .filter((b) => !keep.has(b.id))
      .sort((a, b) => a.view - b.view)
      .slice(0, this.#blocks.size - Math.floor(this.#limits.maxBlocks * 0.9));
    for (const v of victims) this.#blocks.delete(v.id);
  }
}
