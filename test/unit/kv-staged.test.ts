/**
 * StagedKvStore, the overlay a block commit writes through: staged writes are read back, copied
 * (callers reuse buffers), and written with the operations passed to `flush` in ONE base batch —
 * or, if that batch fails, not at all, with the staged writes kept for a retry.
 */
import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../crypto/bytes.ts';
import { type KvOp, MemoryKvStore, StagedKvStore, StorageError } from '../../ledger/kv.ts';

class CountingStore extends MemoryKvStore {
  batches: KvOp[][] = [];
  failNext = false;
  override async batch(ops: readonly KvOp[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new StorageError('STORAGE_IO', 'injected');
    }
    this.batches.push([...ops]);
    return super.batch(ops);
  }
}

const put = (k: string, v: string): KvOp => ({ type: 'put', key: utf8(k), value: utf8(v) });
const read = async (s: { get(k: Uint8Array): Promise<Uint8Array | undefined> }, k: string) => {
  const v = await s.get(utf8(k));
  return v === undefined ? undefined : fromUtf8(v);
};

describe('StagedKvStore', () => {
  it('reads its staged writes, copied, before they reach the base', async () => {
    const base = new CountingStore();
    const staged = new StagedKvStore(base);
    const value = utf8('one'.repeat(40)); // past V8's on-heap size: a slab-carved copy
    await staged.batch([{ type: 'put', key: utf8('a'), value }, put('b', 'two')]);
    value.fill(0x21); // the caller reuses its buffer
    expect(await read(staged, 'a')).toBe('one'.repeat(40));
    expect(await read(base, 'a')).toBeUndefined();
    expect(base.batches).toHaveLength(0);
  });

  it('flush(more) writes the staged operations and `more` in one batch, `more` last', async () => {
    const base = new CountingStore();
    const staged = new StagedKvStore(base);
    await staged.batch([put('a', 'staged'), put('b', 'staged')]);
    await staged.flush([put('b', 'more'), put('c', 'more')]);
    expect(base.batches).toHaveLength(1);
    expect(base.batches[0]?.map((op) => fromUtf8(op.key))).toEqual(['a', 'b', 'b', 'c']);
    expect(await read(base, 'b')).toBe('more'); // the later write of a key wins
    expect(staged.pending).toBe(0);
  });

  it('a failed flush writes nothing and keeps the staged operations (not `more`)', async () => {
    const base = new CountingStore();
    const staged = new StagedKvStore(base);
    await staged.batch([put('a', 'staged')]);
    base.failNext = true;
    await expect(staged.flush([put('c', 'more')])).rejects.toThrow(StorageError);
    expect(base.batches).toHaveLength(0);
    expect(await read(base, 'a')).toBeUndefined();
    expect(staged.pending).toBe(1);
    expect(await read(staged, 'a')).toBe('staged');
    expect(await read(staged, 'c')).toBeUndefined();
    await staged.flush();
    expect(await read(base, 'a')).toBe('staged');
  });
});
