/**
 * CachingKvStore under concurrency: LevelDB reads are asynchronous, so a read can be in flight
 * while a batch writes the same key. Found end to end: a client polling GET /tx?id= on a node
 * catching up by block sync got 404 for good — the poll's miss, read before the block's index was
 * written, was cached after it and hid the write from every later reader.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../crypto/bytes.ts';
import { CachingKvStore, type KvStore, MemoryKvStore } from '../../ledger/kv.ts';

/** A store whose reads wait until released, as a LevelDB read waits for the thread pool. */
class SlowReads extends MemoryKvStore {
  readonly #waiting: Array<() => void> = [];
  override async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    // What the store holds now is what this read returns, whenever it is released.
    const v = super.get(key);
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
    return v;
  }
  release(): void {
    for (const r of this.#waiting.splice(0)) r();
  }
}

const KEY = utf8('tx/1');
const VALUE = utf8('height 62');

describe('CachingKvStore', () => {
  it('a read that overlapped a write of its key does not cache what it read before the write', async () => {
    const base = new SlowReads();
    const cache: KvStore = new CachingKvStore(base);
    const early = cache.get(KEY); // in flight: reads "absent"
    await cache.batch([{ type: 'put', key: KEY, value: VALUE }]);
    base.release();
    expect(await early).toBeUndefined(); // it began before the write: the old value is fine
    const later = cache.get(KEY);
    base.release();
    expect(await later).toEqual(VALUE);
  });

  it('a read with no write in between is cached (the base is not asked again)', async () => {
    const base = new SlowReads();
    await base.batch([{ type: 'put', key: KEY, value: VALUE }]);
    const cache = new CachingKvStore(base);
    const first = cache.get(KEY);
    base.release();
    expect(await first).toEqual(VALUE);
    // Cached: answered without the base (nothing released).
    expect(await cache.get(KEY)).toEqual(VALUE);
  });
});
