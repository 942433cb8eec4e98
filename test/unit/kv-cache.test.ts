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
  for (const kept of [true, false])
    it(`a read that overlapped a write of its key does not cache what it read before the write (${kept ? 'a key kept on write' : 'a key only read through'})`, async () => {
      const base = new SlowReads();
      const cache: KvStore = new CachingKvStore(base, 100, () => kept);
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

  it('keeps only the written keys it is told to, yet never serves a stale value of any key', async () => {
    // Counts base reads: a cached key is served without one.
    let reads = 0;
    class Counting extends MemoryKvStore {
      override async get(key: Uint8Array): Promise<Uint8Array | undefined> {
        reads++;
        return super.get(key);
      }
    }
    const hot = utf8('s/node');
    const cold = utf8('t/index');
    const cache = new CachingKvStore(new Counting(), 100, (key) => key[0] === hot[0]);
    await cache.batch([
      { type: 'put', key: hot, value: VALUE },
      { type: 'put', key: cold, value: VALUE },
    ]);
    expect(await cache.get(hot)).toEqual(VALUE);
    expect(reads).toBe(0); // cached on write
    expect(await cache.get(cold)).toEqual(VALUE);
    expect(reads).toBe(1); // not cached on write: read through, and cached now
    expect(await cache.get(cold)).toEqual(VALUE);
    expect(reads).toBe(1);
    // A write to a key cached by a read is never hidden by it (a miss cached as absent, too): a
    // write to any such key drops those reads, which are read through again.
    const other = utf8('h/absent');
    expect(await cache.get(other)).toBeUndefined();
    expect(reads).toBe(2);
    await cache.batch([{ type: 'put', key: other, value: utf8('now here') }]);
    expect(await cache.get(other)).toEqual(utf8('now here'));
    expect(await cache.get(cold)).toEqual(VALUE);
    expect(reads).toBe(4);
    await cache.batch([{ type: 'put', key: cold, value: utf8('new') }]);
    expect(await cache.get(cold)).toEqual(utf8('new'));
    expect(reads).toBe(5);
    // A write of hot keys alone leaves the other reads cached; the hot key is updated in place.
    await cache.batch([{ type: 'put', key: hot, value: utf8('hot, new') }]);
    expect(await cache.get(cold)).toEqual(utf8('new'));
    expect(await cache.get(hot)).toEqual(utf8('hot, new'));
    expect(reads).toBe(5);
  });
});
