/**
 * A simulated disk: an in-memory store that remembers how to undo its last batch, so a crash can
 * lose the most recent (not yet fsynced) write — what a real disk may do to a non-synced write.
 */
import { type KvIterateOptions, type KvOp, type KvStore, MemoryKvStore } from '../../ledger/kv.ts';

export class UndoableKvStore implements KvStore {
  readonly #mem = new MemoryKvStore();
  #undo: KvOp[] | undefined;

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#mem.get(key);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    const undo = undoOf(this.#mem, ops);
    this.#mem.batchSync(ops);
    this.#undo = undo;
  }

  iterate(prefix: Uint8Array, opts?: KvIterateOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    return this.#mem.iterate(prefix, opts);
  }

  /** Reverts the last batch (once). */
  undoLast(): void {
    if (this.#undo === undefined) return;
    this.#mem.batchSync(this.#undo);
    this.#undo = undefined;
  }

  async close(): Promise<void> {}
}

/** The ops that undo `ops` on `mem` as it is now (applied in the returned order). */
export function undoOf(mem: MemoryKvStore, ops: readonly KvOp[]): KvOp[] {
  const undo: KvOp[] = [];
  for (const op of ops) {
    const prior = mem.getSync(op.key);
    undo.push(
      prior === undefined ? { type: 'del', key: op.key } : { type: 'put', key: op.key, value: prior },
    );
  }
  return undo.reverse();
}
