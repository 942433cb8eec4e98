/**
 * KvStore on LevelDB (classic-level via `level`). The only module that imports `level`.
 * LevelDB write batches are atomic; `sync: true` makes `batch` return only once the write-ahead
 * log is fsynced, which is what "a crash at any instant loses nothing acknowledged" needs.
 */
import { Level } from 'level';
import type { KvIterateOptions, KvOp, KvStore } from '../../ledger/kv.ts';

export interface LevelKvStoreOptions {
  /** fsync every batch (default true). Benchmarks may turn it off to measure the structure itself. */
  readonly sync?: boolean;
}

function view(b: Uint8Array): Uint8Array {
  // level returns Buffers; hand out plain Uint8Array views so equality helpers behave the same.
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Smallest key greater than every key with this prefix, or undefined if there is none (all 0xff). */
function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

export class LevelKvStore implements KvStore {
  readonly #db: Level<Uint8Array, Uint8Array>;
  readonly #sync: boolean;

  private constructor(db: Level<Uint8Array, Uint8Array>, sync: boolean) {
    this.#db = db;
    this.#sync = sync;
  }

  static async open(path: string, opts: LevelKvStoreOptions = {}): Promise<LevelKvStore> {
    const db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    return new LevelKvStore(db, opts.sync ?? true);
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const v = await this.#db.get(key);
    return v === undefined ? undefined : view(v);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    if (ops.length === 0) return;
    await this.#db.batch(
      ops.map((op) =>
        op.type === 'put'
          ? { type: 'put' as const, key: op.key, value: op.value }
          : { type: 'del' as const, key: op.key },
      ),
      { sync: this.#sync },
    );
  }

  async *iterate(
    prefix: Uint8Array,
    opts: KvIterateOptions = {},
  ): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    const upper = prefixUpperBound(prefix);
    const range: { gte: Uint8Array; lt?: Uint8Array; reverse: boolean; limit: number } = {
      gte: prefix,
      reverse: opts.reverse ?? false,
      limit: opts.limit ?? -1,
    };
    if (upper !== undefined) range.lt = upper;
    for await (const [k, v] of this.#db.iterator(range)) yield [view(k), view(v)] as const;
  }

  async close(): Promise<void> {
    await this.#db.close();
  }
}
