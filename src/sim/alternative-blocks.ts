/**
 * The equivocating validator's second block: after it builds a block, it builds another at the
 * same position — one transaction fewer, one logical tick later — and keeps it (registered with
 * its runtime as executed, so it can be voted on and committed) for the Byzantine transport to
 * send to half its peers (byzantine.ts, `equivocate`). Simulator only: the runtime just offers the
 * hook (RuntimeOptions.afterBuild).
 */
import { toHex } from '../../crypto/bytes.ts';
import type { Block } from '../../ledger/block.ts';
import type { BuildAnother, BuiltBlock } from '../runtime/runtime.ts';

export class AlternativeBlocks {
  readonly #byHash = new Map<string, { block: Block; hash: Uint8Array }>();

  /** For RuntimeOptions.afterBuild. */
  readonly afterBuild = async (built: BuiltBlock, buildAnother: BuildAnother): Promise<void> => {
    const t = built.block.header.time;
    const alt = await buildAnother({
      txs: built.txs.slice(0, Math.max(0, built.txs.length - 1)),
      time: { ms: t.ms, logical: t.logical + 1 },
    });
    this.#byHash.set(toHex(built.hash), { block: alt.block, hash: alt.hash });
  };

  /** The other block built at the position of block `hash`. */
  get(hash: Uint8Array): { block: Block; hash: Uint8Array } | undefined {
    return this.#byHash.get(toHex(hash));
  }

  /** Forgets the alternatives at or below a committed height. */
  prune(height: number): void {
    for (const [k, a] of this.#byHash) if (a.block.header.height <= height) this.#byHash.delete(k);
  }
}
