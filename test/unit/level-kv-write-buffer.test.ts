/**
 * LevelKvStore's write buffer reaches LevelDB (the chain store's is LevelDB's 4 MiB: a larger one
 * merges in bursts, docs/THROUGHPUT.md), and `compactions()` reads what LevelDB's
 * flushes and merges wrote from its `leveldb.stats` table.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CHAIN_STORE_WRITE_BUFFER_BYTES, chainStoreKvOptions } from '../../src/node/chain-store-options.ts';
import { compactionTotals, LevelKvStore, type LevelKvStoreOptions } from '../../src/storage/level-kv.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

/**
 * Writes `batches` batches of 256 incompressible 4 KiB values (1,056,768 bytes each) under random
 * keys, as the transaction index is keyed.
 */
async function storeWith(opts: LevelKvStoreOptions, batches: number) {
  const dir = await mkdtemp(join(tmpdir(), 'verity-level-buffer-'));
  dirs.push(dir);
  const path = join(dir, 'db');
  const store = await LevelKvStore.open(path, { sync: false, ...opts });
  for (let b = 0; b < batches; b++) {
    await store.batch(
      Array.from({ length: 256 }, () => ({
        type: 'put' as const,
        key: randomBytes(32),
        value: randomBytes(4096),
      })),
    );
  }
  const tables = (await readdir(path)).filter((f) => f.endsWith('.ldb')).length;
  const totals = store.compactions();
  await store.close();
  return { tables, totals };
}

describe('LevelKvStore write buffer', () => {
  it("12 batches (12.7 MB) stay in a 32 MiB in-memory table; with the chain store's 4 MiB they are flushed", async () => {
    const large = await storeWith({ writeBufferBytes: 32 * 2 ** 20 }, 12);
    expect(large.tables).toBe(0);
    expect(large.totals?.writtenMb ?? 0).toBe(0);
    // The chain store's (the control: the option is not ignored, and the chain store's is small):
    // the table fills after the fourth batch and the eighth; LevelDB starts the second flush only
    // once the first is done, so at least one flush is counted (the second may still be under way).
    expect(CHAIN_STORE_WRITE_BUFFER_BYTES).toBeLessThanOrEqual(4 * 2 ** 20);
    const small = await storeWith(chainStoreKvOptions(false), 12);
    expect(small.tables).toBeGreaterThanOrEqual(1);
    expect(small.totals?.writtenMb).toBeGreaterThanOrEqual(3);
  });

  it('refuses a write buffer LevelDB would silently change (outside 64 KiB to 1 GiB, or not an integer)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'verity-level-buffer-'));
    dirs.push(dir);
    for (const writeBufferBytes of [Number.NaN, 2 ** 16 - 1, 2 ** 30 + 1, 2 ** 32, 1_000_000.5]) {
      await expect(LevelKvStore.open(join(dir, 'db'), { writeBufferBytes })).rejects.toThrow(
        /writeBufferBytes/,
      );
    }
    const store = await LevelKvStore.open(join(dir, 'db'), { writeBufferBytes: 2 ** 16 });
    await store.close();
  });
});

describe('compactionTotals', () => {
  it("sums every level's reads and writes", () => {
    const stats = [
      '                               Compactions',
      'Level  Files Size(MB) Time(sec) Read(MB) Write(MB)',
      '--------------------------------------------------',
      '  0        4       11         1        0       192',
      '  1        6        8         2      312       313',
      '  2       52       99         4      502       504',
      '  3       40       77         0        4         4',
      '',
    ].join('\n');
    expect(compactionTotals(stats)).toEqual({ readMb: 818, writtenMb: 1013 });
  });

  it('is undefined for text without the table, and skips rows that are not one', () => {
    expect(compactionTotals('')).toBeUndefined();
    expect(compactionTotals('Level  Files Size(MB) Time(sec) Read(MB) Write(MB)\n')).toBeUndefined();
    expect(compactionTotals('  1        6        8         2      312\n  2   1   2   3   4   5\n')).toEqual({
      readMb: 4,
      writtenMb: 5,
    });
  });
});
