/**
 * The runtime's set of executed, uncommitted blocks (src/runtime/executed-blocks.ts): bounded by
 * evicting leaves, oldest first — never a block some kept block was executed on, and never the
 * block this node last built on (its own best tip, for a miner).
 */
import { describe, expect, it } from 'vitest';
import type { ExecutedBlock } from '../../ledger/chain.ts';
import { ExecutedBlocks } from '../../src/runtime/executed-blocks.ts';

let seq = 0;
function block(parent?: ExecutedBlock, height = (parent?.block.header.height ?? 0) + 1): ExecutedBlock {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, ++seq);
  return { hash, parent, block: { header: { height }, txs: [] } } as unknown as ExecutedBlock;
}

describe('ExecutedBlocks', () => {
  it('evicts the oldest leaf, never an ancestor of a kept block', () => {
    const set = new ExecutedBlocks(2);
    const a = block();
    const b = block(a);
    set.add(a);
    set.add(b); // a has a child: only b is a leaf
    const x = block();
    const y = block();
    set.add(x);
    set.add(y); // three leaves (b, x, y) > 2: the oldest leaf, b, goes
    expect(set.get(b.hash)).toBeUndefined();
    expect(set.get(a.hash)).toBeDefined();
    expect(set.get(x.hash)).toBeDefined();
  });

  it('never evicts the pinned block (the tip this node builds on), so its branch stays', () => {
    const set = new ExecutedBlocks(2);
    const a = block();
    const tip = block(a);
    set.add(a);
    set.add(tip);
    set.pin(tip.hash);
    for (let i = 0; i < 10; i++) set.add(block()); // a flood of forks
    expect(set.get(tip.hash)).toBeDefined();
    expect(set.get(a.hash)).toBeDefined();
    // Negative control: unpinned, the same flood evicts the tip (the oldest leaf).
    const other = new ExecutedBlocks(2);
    const a2 = block();
    const tip2 = block(a2);
    other.add(a2);
    other.add(tip2);
    for (let i = 0; i < 10; i++) other.add(block());
    expect(other.get(tip2.hash)).toBeUndefined();
  });
});
