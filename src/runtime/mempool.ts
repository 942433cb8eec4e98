/**
 * The mempool: transactions waiting for a block.
 *
 * Admission (transactions arrive decoded and signature-checked): not seen recently (seen-cache),
 * size within the cap, nonce not already used by the committed state and at most
 * `futureNonceWindow` ahead of it, enough committed balance for the amount it moves, no other
 * pending transaction with the same sender and nonce, and room in the pool.
 *
 * Fairness: at most `maxPerSender` pending transactions per sender, and blocks are filled
 * round-robin across senders, so one flooding client cannot starve the others.
 *
 * Eviction when full (count or bytes): the newest-nonce transaction of the sender holding the
 * most pending transactions is dropped to make room — unless that sender is the newcomer's own
 * sender or holds no more than it would, in which case the newcomer is refused (MEMPOOL_FULL).
 *
 * After every committed block, included transactions are removed and every sender's queue is
 * re-checked against the new committed nonces.
 */
import { toHex } from '../../crypto/bytes.ts';
import type { Account } from '../../ledger/state.ts';
import type { EncodedTransaction } from '../../ledger/tx.ts';

export interface MempoolOptions {
  readonly maxTxs?: number;
  readonly maxBytes?: number;
  readonly maxPerSender?: number;
  readonly futureNonceWindow?: number;
  readonly seenCacheSize?: number;
}

export type AdmitCode =
  | 'DUPLICATE'
  | 'NONCE_TOO_LOW'
  | 'NONCE_TOO_HIGH'
  | 'NONCE_TAKEN'
  | 'INSUFFICIENT_FUNDS'
  | 'SENDER_LIMIT'
  | 'MEMPOOL_FULL';

export type AdmitResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: AdmitCode; readonly reason: string };

interface SenderQueue {
  readonly byNonce: Map<number, EncodedTransaction>;
}

export class Mempool {
  readonly #maxTxs: number;
  readonly #maxBytes: number;
  readonly #maxPerSender: number;
  readonly #window: number;
  readonly #seenMax: number;
  readonly #account: (address: Uint8Array) => Promise<Account>;
  readonly #senders = new Map<string, SenderQueue>();
  readonly #byId = new Map<string, EncodedTransaction>();
  /** Recently seen ids (admitted, rejected as duplicates, or committed): insertion-ordered LRU. */
  readonly #seen = new Map<string, true>();
  #bytes = 0;
  onAvailable: (() => void) | undefined;

  constructor(account: (address: Uint8Array) => Promise<Account>, opts: MempoolOptions = {}) {
    this.#account = account;
    this.#maxTxs = opts.maxTxs ?? 10_000;
    this.#maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.#maxPerSender = opts.maxPerSender ?? 512;
    this.#window = opts.futureNonceWindow ?? 64;
    this.#seenMax = opts.seenCacheSize ?? 100_000;
  }

  get size(): number {
    return this.#byId.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  has(id: Uint8Array): boolean {
    return this.#byId.has(toHex(id));
  }

  /** The pending transaction with this id (decoded and verified at admission), if any. */
  get(id: Uint8Array): EncodedTransaction | undefined {
    return this.#byId.get(toHex(id));
  }

  seen(id: Uint8Array): boolean {
    return this.#seen.has(toHex(id));
  }

  #markSeen(idHex: string): void {
    this.#seen.delete(idHex);
    this.#seen.set(idHex, true);
    if (this.#seen.size > this.#seenMax) this.#seen.delete(this.#seen.keys().next().value as string);
  }

  async add(etx: EncodedTransaction): Promise<AdmitResult> {
    const idHex = toHex(etx.id);
    if (this.#byId.has(idHex) || this.#seen.has(idHex)) {
      return { ok: false, code: 'DUPLICATE', reason: 'transaction already seen' };
    }
    const account = await this.#account(etx.from);
    const nonce = etx.tx.nonce;
    if (nonce < account.nonce) {
      this.#markSeen(idHex);
      return {
        ok: false,
        code: 'NONCE_TOO_LOW',
        reason: `nonce ${nonce} already used (next is ${account.nonce})`,
      };
    }
    if (nonce >= account.nonce + this.#window) {
      return {
        ok: false,
        code: 'NONCE_TOO_HIGH',
        reason: `nonce ${nonce} is more than ${this.#window} ahead of the next nonce ${account.nonce}`,
      };
    }
    const op = etx.tx.op;
    if ((op.type === 'transfer' || op.type === 'stake') && account.balance < op.amount) {
      return {
        ok: false,
        code: 'INSUFFICIENT_FUNDS',
        reason: `balance ${account.balance} < amount ${op.amount}`,
      };
    }
    if (op.type === 'unstake' && account.stake < op.amount) {
      return {
        ok: false,
        code: 'INSUFFICIENT_FUNDS',
        reason: `stake ${account.stake} < amount ${op.amount}`,
      };
    }
    const senderKey = toHex(etx.from);
    let queue = this.#senders.get(senderKey);
    if (queue?.byNonce.has(nonce)) {
      return {
        ok: false,
        code: 'NONCE_TAKEN',
        reason: `another pending transaction already uses nonce ${nonce}`,
      };
    }
    const mine = queue?.byNonce.size ?? 0;
    if (mine >= this.#maxPerSender) {
      return { ok: false, code: 'SENDER_LIMIT', reason: `sender already has ${mine} pending transactions` };
    }
    while (this.#byId.size >= this.#maxTxs || this.#bytes + etx.bytes.length > this.#maxBytes) {
      if (!this.#evictFor(senderKey, mine + 1)) {
        return { ok: false, code: 'MEMPOOL_FULL', reason: 'the mempool is full; retry later' };
      }
    }
    if (queue === undefined) {
      queue = { byNonce: new Map() };
      this.#senders.set(senderKey, queue);
    }
    const wasEmpty = this.#byId.size === 0;
    queue.byNonce.set(nonce, etx);
    this.#byId.set(idHex, etx);
    this.#bytes += etx.bytes.length;
    this.#markSeen(idHex);
    if (wasEmpty) this.onAvailable?.();
    return { ok: true };
  }

  /** Evicts one transaction of the biggest sender if that is fair to `forSender`. */
  #evictFor(forSender: string, wouldHave: number): boolean {
    let victim: string | undefined;
    let most = 0;
    for (const [key, q] of this.#senders) {
      if (q.byNonce.size > most) {
        most = q.byNonce.size;
        victim = key;
      }
    }
    if (victim === undefined || victim === forSender || most <= wouldHave) return false;
    const q = this.#senders.get(victim) as SenderQueue;
    const highest = Math.max(...q.byNonce.keys());
    this.#remove(victim, highest);
    return true;
  }

  #remove(senderKey: string, nonce: number): void {
    const q = this.#senders.get(senderKey);
    const etx = q?.byNonce.get(nonce);
    if (q === undefined || etx === undefined) return;
    q.byNonce.delete(nonce);
    if (q.byNonce.size === 0) this.#senders.delete(senderKey);
    this.#byId.delete(toHex(etx.id));
    this.#bytes -= etx.bytes.length;
  }

  /**
   * Transactions for a block: round-robin over senders, each sender's in nonce order starting at
   * its next nonce as of the block's parent (`nonceAt`), skipping ids in `exclude` (already in
   * uncommitted ancestors).
   */
  async select(opts: {
    maxTxs: number;
    maxBytes: number;
    nonceAt: (address: Uint8Array) => Promise<number>;
    exclude?: ReadonlySet<string>;
  }): Promise<EncodedTransaction[]> {
    const cursors: Array<{ queue: SenderQueue; next: number }> = [];
    for (const queue of this.#senders.values()) {
      const first = queue.byNonce.values().next().value as EncodedTransaction;
      cursors.push({ queue, next: await opts.nonceAt(first.from) });
    }
    const out: EncodedTransaction[] = [];
    let bytes = 0;
    let progress = true;
    while (progress && out.length < opts.maxTxs) {
      progress = false;
      for (const c of cursors) {
        if (out.length >= opts.maxTxs) break;
        let etx = c.queue.byNonce.get(c.next);
        while (etx !== undefined && opts.exclude?.has(toHex(etx.id))) {
          c.next++;
          etx = c.queue.byNonce.get(c.next);
        }
        if (etx === undefined || bytes + etx.bytes.length > opts.maxBytes) continue;
        out.push(etx);
        bytes += etx.bytes.length;
        c.next++;
        progress = true;
      }
    }
    return out;
  }

  /** After a commit: drop included transactions and everything the new nonces made stale. */
  async update(committed: readonly EncodedTransaction[]): Promise<void> {
    const touched = new Set<string>();
    for (const etx of committed) {
      const idHex = toHex(etx.id);
      this.#markSeen(idHex);
      const key = toHex(etx.from);
      touched.add(key);
      if (this.#byId.has(idHex)) this.#remove(key, etx.tx.nonce);
    }
    for (const key of touched) {
      const q = this.#senders.get(key);
      if (q === undefined) continue;
      const first = q.byNonce.values().next().value as EncodedTransaction;
      const { nonce } = await this.#account(first.from);
      for (const n of [...q.byNonce.keys()]) if (n < nonce) this.#remove(key, n);
    }
  }

  /** The next nonce a sender should use: its committed nonce plus its contiguous pending run. */
  pendingNonce(address: Uint8Array, committedNonce: number): number {
    const q = this.#senders.get(toHex(address));
    let n = committedNonce;
    while (q?.byNonce.has(n)) n++;
    return n;
  }

  /** Every pending transaction (for re-gossip and inspection). */
  all(): EncodedTransaction[] {
    return [...this.#byId.values()];
  }
}
