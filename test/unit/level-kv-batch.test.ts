/**
 * LevelKvStore.batch is one atomic LevelDB write: every put and delete of a batch lands together
 * (and survives a reopen), and a batch that fails while being built writes nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { KvOp } from '../../ledger/kv.ts';
import { LevelKvStore } from '../../src/storage/level-kv.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function freshPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'verity-level-batch-'));
  dirs.push(dir);
  return join(dir, 'db');
}

const key = (i: number) => new Uint8Array([0x6b, i >> 8, i & 0xff]);
const value = (i: number, len = 40) => new Uint8Array(len).fill(i & 0xff);

describe('LevelKvStore.batch', () => {
  it('puts and deletes in one batch all land, and are there after a reopen', async () => {
    const path = await freshPath();
    let store = await LevelKvStore.open(path);
    await store.batch(
      Array.from({ length: 50 }, (_, i) => ({ type: 'put' as const, key: key(i), value: value(i) })),
    );
    const ops: KvOp[] = [];
    for (let i = 0; i < 50; i += 2) ops.push({ type: 'del', key: key(i) });
    for (let i = 50; i < 300; i++) ops.push({ type: 'put', key: key(i), value: value(i, 1 + (i % 200)) });
    ops.push({ type: 'put', key: key(1), value: value(99) }); // a later put of a key wins
    await store.batch(ops);
    await store.close();
    store = await LevelKvStore.open(path);
    try {
      for (let i = 0; i < 300; i++) {
        const got = await store.get(key(i));
        if (i < 50 && i % 2 === 0) expect(got).toBeUndefined();
        else if (i === 1) expect(got).toEqual(value(99));
        else expect(got).toEqual(i < 50 ? value(i) : value(i, 1 + (i % 200)));
      }
    } finally {
      await store.close();
    }
  });

  it('a batch that fails while it is built writes none of its operations', async () => {
    const path = await freshPath();
    const store = await LevelKvStore.open(path);
    try {
      const bad = [
        { type: 'put', key: key(1), value: value(1) },
        { type: 'put', key: key(2), value: undefined as unknown as Uint8Array },
        { type: 'put', key: key(3), value: value(3) },
      ] as KvOp[];
      await expect(store.batch(bad)).rejects.toMatchObject({ code: 'STORAGE_IO' });
      expect(await store.get(key(1))).toBeUndefined();
      expect(await store.get(key(3))).toBeUndefined();
      // The store is still usable.
      await store.batch([{ type: 'put', key: key(4), value: value(4) }]);
      expect(await store.get(key(4))).toEqual(value(4));
    } finally {
      await store.close();
    }
  });
});
