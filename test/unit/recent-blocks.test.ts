import { describe, expect, it } from 'vitest';
import type { Block } from '../../ledger/block.ts';
import { RecentBlocks } from '../../ledger/recent-blocks.ts';

const entry = (bytes: number) => ({ raw: new Uint8Array(bytes), block: {} as Block });

describe('recent blocks', () => {
  it('keeps the newest blocks within its count', () => {
    const r = new RecentBlocks(3, 1 << 20);
    for (let h = 1; h <= 5; h++) r.add(h, entry(10));
    expect(r.size).toBe(3);
    expect([1, 2, 3, 4, 5].map((h) => r.get(h) !== undefined)).toEqual([false, false, true, true, true]);
  });

  it('keeps the newest blocks within its bytes, and never one larger than all of them', () => {
    const r = new RecentBlocks(10, 100);
    r.add(1, entry(40));
    r.add(2, entry(40));
    r.add(3, entry(40)); // 120 bytes: block 1 goes
    expect([1, 2, 3].map((h) => r.get(h) !== undefined)).toEqual([false, true, true]);
    r.add(4, entry(101)); // alone over the bound: not kept, nothing else dropped for it
    expect(r.get(4)).toBeUndefined();
    expect(r.size).toBe(2);
    r.add(5, entry(100)); // exactly the bound: kept alone
    expect([2, 3, 5].map((h) => r.get(h) !== undefined)).toEqual([false, false, true]);
  });

  it('forgets everything on clear', () => {
    const r = new RecentBlocks(3, 100);
    r.add(1, entry(10));
    r.clear();
    expect(r.size).toBe(0);
    r.add(2, entry(100));
    expect(r.get(2)).toBeDefined(); // the byte count was reset too
  });
});
