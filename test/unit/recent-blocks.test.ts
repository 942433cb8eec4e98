import { describe, expect, it } from 'vitest';
import type { Block } from '../../ledger/block.ts';
import { costOf, RecentBlocks } from '../../ledger/recent-blocks.ts';

const entry = (bytes: number, txs = 0) => ({
  raw: new Uint8Array(bytes),
  block: { txs: Array.from({ length: txs }, () => new Uint8Array(0)) } as unknown as Block,
});

describe('recent blocks', () => {
  it('keeps the newest blocks within its count', () => {
    const r = new RecentBlocks(3, 1 << 20);
    for (let h = 1; h <= 5; h++) r.add(h, entry(10));
    expect(r.size).toBe(3);
    expect([1, 2, 3, 4, 5].map((h) => r.get(h) !== undefined)).toEqual([false, false, true, true, true]);
  });

  it('counts an entry as its encoding, the transactions decoded from it and their objects', () => {
    expect(costOf(entry(1000, 5))).toBe(2 * 1000 + 5 * 96);
  });

  it('keeps the newest blocks within its memory, and never one larger than all of it', () => {
    const r = new RecentBlocks(10, 200);
    r.add(1, entry(40)); // 80 each
    r.add(2, entry(40));
    r.add(3, entry(40)); // 240: block 1 goes
    expect([1, 2, 3].map((h) => r.get(h) !== undefined)).toEqual([false, true, true]);
    r.add(4, entry(101)); // 202 alone: not kept, nothing else dropped for it
    expect(r.get(4)).toBeUndefined();
    expect(r.size).toBe(2);
    r.add(5, entry(100)); // exactly the bound: kept alone
    expect([2, 3, 5].map((h) => r.get(h) !== undefined)).toEqual([false, false, true]);
  });

  it('a height added again replaces its entry and its cost', () => {
    const r = new RecentBlocks(10, 200);
    r.add(1, entry(50));
    r.add(1, entry(60));
    r.add(2, entry(40)); // 120 + 80 = 200: both fit only if the first entry's cost was taken back
    expect(r.get(1)?.raw.length).toBe(60);
    expect(r.size).toBe(2);
  });

  it('forgets everything on clear', () => {
    const r = new RecentBlocks(3, 200);
    r.add(1, entry(10));
    r.clear();
    expect(r.size).toBe(0);
    r.add(2, entry(100));
    expect(r.get(2)).toBeDefined(); // the byte count was reset too
  });
});
