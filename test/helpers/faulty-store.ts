/** Store wrappers that simulate crashes: a batch that is lost, or that throws, at a chosen point. */
import type { KvIterateOptions, KvOp, KvStore } from '../../ledger/kv.ts';

export class CrashingKvStore implements KvStore {
  readonly base: KvStore;
  /** Number of batches that still succeed before the "crash". */
  budget: number;
  batches = 0;
  /** After the crash, batches are silently dropped (power loss) rather than throwing. */
  readonly mode: 'throw' | 'drop';

  constructor(base: KvStore, budget = Number.POSITIVE_INFINITY, mode: 'throw' | 'drop' = 'throw') {
    this.base = base;
    this.budget = budget;
    this.mode = mode;
  }

  get(key: Uint8Array) {
    return this.base.get(key);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    this.batches++;
    if (this.budget <= 0) {
      if (this.mode === 'throw') throw new Error('simulated crash: batch not written');
      return;
    }
    this.budget--;
    await this.base.batch(ops);
  }

  iterate(prefix: Uint8Array, opts?: KvIterateOptions) {
    return this.base.iterate(prefix, opts);
  }

  async close(): Promise<void> {}
}

/**
 * A store whose disk fails once armed: `failWrites` makes every batch throw `error`, `failReads`
 * every get — as LevelKvStore does on ENOSPC or a corrupted table (src/storage/level-kv.ts).
 */
export class FailingKvStore implements KvStore {
  readonly base: KvStore;
  failWrites: Error | undefined;
  failReads: Error | undefined;

  constructor(base: KvStore) {
    this.base = base;
  }

  async get(key: Uint8Array) {
    if (this.failReads !== undefined) throw this.failReads;
    return this.base.get(key);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    if (this.failWrites !== undefined) throw this.failWrites;
    await this.base.batch(ops);
  }

  iterate(prefix: Uint8Array, opts?: KvIterateOptions) {
    return this.base.iterate(prefix, opts);
  }

  async close(): Promise<void> {}
}
