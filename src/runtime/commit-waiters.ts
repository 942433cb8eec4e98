/**
 * Clients waiting for their transaction to commit (`POST /tx?mode=commit`, `verity send --wait`).
 * A waiter is resolved with where the transaction took effect — height, position, log index,
 * receipt — as the chain's index records it, so the RPC answers without a second lookup.
 *
 * The waiter is registered before the chain is asked where the transaction is: a commit landing
 * while that lookup is pending then resolves the waiter instead of being missed.
 */
import { toHex } from '../../crypto/bytes.ts';
import type { TxLocation } from '../../ledger/chain.ts';
import type { Receipt } from '../../ledger/receipt.ts';

type Waiter = (location: TxLocation) => void;

export class CommitWaiters {
  readonly #lookup: (id: Uint8Array) => Promise<TxLocation | undefined>;
  readonly #waiting = new Map<string, Waiter[]>();

  constructor(lookup: (id: Uint8Array) => Promise<TxLocation | undefined>) {
    this.#lookup = lookup;
  }

  get size(): number {
    return this.#waiting.size;
  }

  /** Resolves once transaction `id` is committed (at once if it already is); rejects on abort. */
  wait(id: Uint8Array, signal?: AbortSignal): Promise<TxLocation> {
    return new Promise((resolve, reject) => {
      const key = toHex(id);
      let settled = false;
      const unregister = () => {
        const list = this.#waiting.get(key);
        if (list === undefined) return;
        const rest = list.filter((w) => w !== entry);
        if (rest.length > 0) this.#waiting.set(key, rest);
        else this.#waiting.delete(key);
      };
      const onAbort = () => {
        if (settled) return;
        settled = true;
        unregister();
        reject(signal?.reason);
      };
      const entry: Waiter = (location) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(location);
      };
      if (signal?.aborted) {
        onAbort();
        return;
      }
      this.#waiting.set(key, [...(this.#waiting.get(key) ?? []), entry]);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#lookup(id).then(
        (location) => {
          if (location === undefined || settled) return;
          unregister();
          entry(location);
        },
        (e: unknown) => {
          if (settled) return;
          settled = true;
          unregister();
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      );
    });
  }

  /**
   * After a block committed: resolves the waiters of its transactions with their place in it.
   * A copy that failed with BAD_NONCE may be a replay of one committed earlier, whose first
   * inclusion is what the index keeps: those are looked up (without holding up the commit).
   */
  committed(block: {
    height: number;
    /** The log size after the block: its transactions are the last entries. */
    logSize: number;
    txs: ReadonlyArray<{ readonly id: Uint8Array }>;
    receipts: readonly Receipt[];
  }): void {
    if (this.#waiting.size === 0) return;
    const first = block.logSize - block.txs.length;
    for (const [position, tx] of block.txs.entries()) {
      const key = toHex(tx.id);
      const waiters = this.#waiting.get(key);
      if (waiters === undefined) continue;
      const receipt = block.receipts[position] as Receipt;
      if (!receipt.ok && receipt.code === 'BAD_NONCE') {
        this.#lookup(tx.id).then(
          (location) => {
            if (location !== undefined) this.#resolve(key, location);
          },
          () => {}, // the waiter times out; the storage fault surfaces where the chain is written
        );
        continue;
      }
      this.#resolve(key, { height: block.height, position, logIndex: first + position, receipt });
    }
  }

  #resolve(key: string, location: TxLocation): void {
    const waiters = this.#waiting.get(key);
    if (waiters === undefined) return;
    this.#waiting.delete(key);
    for (const w of waiters) w(location);
  }
}
