/**
 * Blocks executed but not yet committed, by hash: the parents a block is built or executed on and
 * the blocks an engine commits. Bounded against a flood of (Byzantine) proposals, but only leaves
 * are ever evicted — a block some retained block was executed on stays, so a chain of any length
 * above the committed head (HotStuff after a long uncommitted stretch) stays committable — and
 * never the block this node last built on (`pin`: the engine's own best tip, with its branch
 * beneath it), so a flood of forks cannot evict the branch a Proof-of-Work node mines on. Among
 * the others, abandoned forks go first, oldest first.
 */
import { toHex } from '../../crypto/bytes.ts';
import type { ExecutedBlock } from '../../ledger/chain.ts';

export class ExecutedBlocks {
  readonly #byId = new Map<string, ExecutedBlock>();
  /** Executed children per block id (only for blocks with at least one). */
  readonly #children = new Map<string, number>();
  readonly #maxLeaves: number;
  /** The block last built on: never evicted (see the header). */
  #pinned: string | undefined;

  constructor(maxLeaves = 512) {
    this.#maxLeaves = maxLeaves;
  }

  get size(): number {
    return this.#byId.size;
  }

  get(hash: Uint8Array): ExecutedBlock | undefined {
    return this.#byId.get(toHex(hash));
  }

  add(block: ExecutedBlock): void {
    const id = toHex(block.hash);
    if (this.#byId.has(id)) return;
    this.#byId.set(id, block);
    const parent = block.parent === undefined ? undefined : toHex(block.parent.hash);
    if (parent !== undefined && this.#byId.has(parent))
      this.#children.set(parent, (this.#children.get(parent) ?? 0) + 1);
    if (this.#byId.size - this.#children.size > this.#maxLeaves) this.#evictOldestLeaf();
  }

  /** Keeps `hash` (and so its ancestors, which are not leaves while it is here) from eviction. */
  pin(hash: Uint8Array): void {
    this.#pinned = toHex(hash);
  }

  /** Forgets every block (an epoch boundary: the old engine's blocks above it are never committed). */
  clear(): void {
    this.#byId.clear();
    this.#children.clear();
  }

  /** Forgets every block at or below `height` (committed, or stale forks of committed heights). */
  pruneTo(height: number): void {
    for (const [id, b] of this.#byId) {
      if (b.block.header.height > height) continue;
      this.#byId.delete(id);
      this.#children.delete(id);
    }
  }

  #evictOldestLeaf(): void {
    let victim: [string, ExecutedBlock] | undefined;
    for (const [id, b] of this.#byId) {
      if (this.#children.has(id) || id === this.#pinned) continue;
      victim = [id, b];
      break;
    }
    if (victim === undefined) return;
    const [id, b] = victim;
    this.#byId.delete(id);
    const parent = b.parent === undefined ? undefined : toHex(b.parent.hash);
    if (parent === undefined) return;
    const n = (this.#children.get(parent) ?? 1) - 1;
    if (n > 0) this.#children.set(parent, n);
    else this.#children.delete(parent);
  }
}
