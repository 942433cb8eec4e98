import { describe, expect, it } from 'vitest';
import { type BlockId, blockId } from '../../consensus/block-id.ts';
import {
  type BlockNode,
  type PendingBlockLimits,
  PendingBlocks,
  servedSize,
} from '../../consensus/hotstuff/pending-blocks.ts';
import { genesisQc } from '../../consensus/hotstuff/qc.ts';
import type { Block } from '../../ledger/block.ts';

const LIMITS: PendingBlockLimits = {
  maxBlocks: 10,
  maxWanted: 3,
  fetchAttempts: 2,
  maxFetchHashes: 2,
  maxServedBlocks: 4,
  maxServedBytes: 1 << 20,
};

function hashOf(n: number): Uint8Array {
  const h = new Uint8Array(32);
  h[0] = n >> 8;
  h[1] = n & 0xff;
  h[31] = 1;
  return h;
}

/** A node with hash `n`, parent hash `parent`, at `height` in `view`, carrying `txs` transactions of `txBytes` bytes. */
function node(n: number, parent: number, height: number, view = height, txs = 0, txBytes = 100): BlockNode {
  const block = {
    header: { height, parentHash: hashOf(parent), txCount: txs },
    txs: Array.from({ length: txs }, () => new Uint8Array(txBytes)),
  } as unknown as Block;
  return {
    block,
    hash: hashOf(n),
    id: blockId(hashOf(n)),
    parentId: blockId(hashOf(parent)),
    height,
    view,
    justify: genesisQc(hashOf(parent)),
    status: 'waiting',
  };
}

const id = (n: number): BlockId => blockId(hashOf(n));

/** A chain 1 ← 2 ← … ← len above the head (0), block k at height k. */
function chain(store: PendingBlocks, len: number, txsAt: (k: number) => number = () => 0): void {
  for (let k = 1; k <= len; k++) store.add(node(k, k - 1, k, k, txsAt(k)), () => id(len));
}

describe('HotStuff pending blocks', () => {
  it('holds what it is given and stops wanting it', () => {
    const s = new PendingBlocks(LIMITS);
    expect(s.want(id(1), id(0))).toBe(true);
    expect(s.isWanted(id(1))).toBe(true);
    s.add(node(1, 0, 1), () => id(1));
    expect(s.has(id(1))).toBe(true);
    expect(s.get(id(1))?.height).toBe(1);
    expect(s.isWanted(id(1))).toBe(false);
    expect(s.size).toBe(1);
  });

  it('wants a block once, never the head or one it holds, and at most maxWanted', () => {
    const s = new PendingBlocks(LIMITS);
    s.add(node(1, 0, 1), () => id(1));
    expect(s.want(id(0), id(0))).toBe(false); // the committed head
    expect(s.want(id(1), id(0))).toBe(false); // held
    expect(s.want(id(7), id(0))).toBe(true);
    expect(s.want(id(7), id(0))).toBe(false); // already wanted
    expect(s.want(id(8), id(0))).toBe(true);
    expect(s.want(id(9), id(0))).toBe(true);
    expect(s.want(id(10), id(0))).toBe(false); // maxWanted = 3
    expect(s.wantedCount).toBe(3);
  });

  it('asks for at most maxFetchHashes a round, oldest first, and forgets a hash after its attempts', () => {
    const s = new PendingBlocks(LIMITS);
    for (const n of [7, 8, 9]) s.want(id(n), id(0));
    expect(s.fetchRound()).toEqual([id(7), id(8)]);
    expect(s.wantedCount).toBe(3);
    // Second round: 7 and 8 use their last attempt and are forgotten (sync will do).
    expect(s.fetchRound()).toEqual([id(7), id(8)]);
    expect(s.isWanted(id(7))).toBe(false);
    expect(s.isWanted(id(8))).toBe(false);
    expect(s.fetchRound()).toEqual([id(9)]);
    expect(s.fetchRound()).toEqual([id(9)]);
    expect(s.fetchRound()).toEqual([]);
    expect(s.wantedCount).toBe(0);
  });

  it('over the cap drops the oldest views, never the chain below the kept top', () => {
    const s = new PendingBlocks(LIMITS);
    // A chain 1..6 (views 1..6), then forks off the head in later views: 100..104 (views 10..14).
    chain(s, 6);
    for (let k = 0; k < 4; k++) s.add(node(100 + k, 0, 1, 10 + k), () => id(6));
    expect(s.size).toBe(10);
    // The eleventh block trips the cap: down to 9 (0.9 × 10), the chain of 6 kept, forks dropped by view.
    s.add(node(104, 0, 1, 14), () => id(6));
    expect(s.size).toBe(9);
    for (let k = 1; k <= 6; k++) expect(s.has(id(k))).toBe(true);
    expect(s.has(id(100))).toBe(false); // view 10, the oldest fork
    expect(s.has(id(101))).toBe(false);
    expect(s.has(id(104))).toBe(true);
  });

  it('keeps the kept chain even when its views are the oldest', () => {
    const s = new PendingBlocks(LIMITS);
    for (let k = 0; k < 5; k++) s.add(node(100 + k, 0, 1, 50 + k), () => id(3));
    s.add(node(1, 0, 1, 1), () => id(3));
    s.add(node(2, 1, 2, 2), () => id(3));
    s.add(node(3, 2, 3, 3), () => id(3));
    s.add(node(4, 3, 4, 4), () => id(3));
    s.add(node(5, 4, 5, 5), () => id(3));
    s.add(node(6, 5, 6, 6), () => id(3)); // 11 blocks: cap
    expect(s.size).toBe(9);
    for (const k of [1, 2, 3]) expect(s.has(id(k))).toBe(true);
    expect(s.has(id(4))).toBe(false); // oldest views outside the kept chain go first
    expect(s.has(id(5))).toBe(false);
  });

  it('prunes what the head committed and stops wanting the head', () => {
    const s = new PendingBlocks(LIMITS);
    chain(s, 4);
    s.want(id(50), id(0));
    s.pruneTo({ height: 2, id: id(50) });
    expect([...s.values()].map((b) => b.height).sort()).toEqual([3, 4]);
    expect(s.isWanted(id(50))).toBe(false);
  });

  it('lists the waiting children of a block', () => {
    const s = new PendingBlocks(LIMITS);
    s.add(node(1, 0, 1), () => id(1));
    s.add(node(2, 0, 1, 2), () => id(1));
    s.add(node(3, 1, 2), () => id(1));
    const executing = node(4, 0, 1, 3);
    executing.status = 'executing';
    s.add(executing, () => id(1));
    expect(
      s
        .waitingChildren(id(0))
        .map((b) => b.id)
        .sort(),
    ).toEqual([id(1), id(2)].sort());
    expect(s.waitingChildren(id(1)).map((b) => b.id)).toEqual([id(3)]);
  });

  it('serves a chain top first down to the stop, skipping what was served, within its caps', () => {
    const s = new PendingBlocks(LIMITS);
    chain(s, 6);
    const heights = (acc: Block[]) => acc.map((b) => b.header.height);
    let acc: Block[] = [];
    s.serveChain(id(5), id(2), acc, new Set());
    expect(heights(acc)).toEqual([5, 4, 3]);
    // maxServedBlocks = 4.
    acc = [];
    s.serveChain(id(6), undefined, acc, new Set());
    expect(heights(acc)).toEqual([6, 5, 4, 3]);
    // What `seen` holds is skipped; the rest is added to it.
    acc = [];
    const seen = new Set([id(5), id(4)]);
    s.serveChain(id(5), undefined, acc, seen);
    expect(heights(acc)).toEqual([3, 2, 1]);
    expect(seen.has(id(1))).toBe(true);
    // Unknown top: nothing.
    acc = [];
    s.serveChain(id(77), undefined, acc, new Set());
    expect(acc).toEqual([]);
  });

  it('serves at least one block, and no more bytes than maxServedBytes after it', () => {
    const big = 5000;
    const one = servedSize(node(1, 0, 1, 1, 10, big).block);
    const s = new PendingBlocks({ ...LIMITS, maxServedBytes: 2 * one });
    for (let k = 1; k <= 4; k++) s.add(node(k, k - 1, k, k, 10, big), () => id(4));
    const acc: Block[] = [];
    s.serveChain(id(4), undefined, acc, new Set());
    expect(acc.length).toBe(2);
    const tiny = new PendingBlocks({ ...LIMITS, maxServedBytes: 1 });
    tiny.add(node(1, 0, 1, 1, 10, big), () => id(1));
    const first: Block[] = [];
    tiny.serveChain(id(1), undefined, first, new Set());
    expect(first.length).toBe(1); // a block larger than the cap still goes alone
  });

  it('finds transactions in the uncommitted chain only', () => {
    const s = new PendingBlocks(LIMITS);
    chain(s, 4, (k) => (k === 2 ? 3 : 0));
    expect(s.chainHasTxs(id(4), 0)).toBe(true);
    expect(s.chainHasTxs(id(4), 2)).toBe(false); // block 2 is at or below that head
    expect(s.chainHasTxs(id(1), 0)).toBe(false);
    expect(s.chainHasTxs(id(99), 0)).toBe(false);
  });
});
