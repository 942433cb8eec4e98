/**
 * The mempool: transactions waiting for a block.
 *
 * Admission (transactions arrive decoded and signature-checked): not seen recently (seen-cache),
 * size within the cap, nonce not already used by the committed state and at most
 * `futureNonceWindow` ahead of it, no other pending transaction with the same sender and nonce,
 * and room in the pool. Funds are checked against what the sender's pending transactions already
 * commit: a transfer or stake needs committed balance ≥ the amounts of the sender's pending
 * transfers and stakes plus its own; an unstake needs committed stake ≥ the sender's pending
 * unstakes plus its own. (Conservative: credits a pending transaction would bring — an unstake's
 * balance, a stake's stake, incoming transfers — are not counted until committed.)
 *
 * The seen-cache holds ids that were admitted, committed or refused as replays (NONCE_TOO_LOW);
 * an id in it is answered DUPLICATE, which therefore does not by itself mean "pending" (see
 * `has`). A transaction dropped while it might still apply later — evicted, or no longer
 * affordable after a commit — is removed from the cache, so it can be submitted again.
 *
 * Fairness: at most `maxPerSender` pending transactions per sender, and blocks are filled
 * round-robin across senders, so one flooding client cannot starve the others.
 *
 * Eviction when full (count or bytes): the newest-nonce transaction of the sender holding the
 * most pending transactions (the earliest such sender on a tie) is dropped to make room —
 * unless that sender is the newcomer's own sender or holds no more than it would, in which case
 * the newcomer is refused (MEMPOOL_FULL).
 *
 * After every committed block, included transactions are removed, and the queue of every sender
 * with a transaction in the block is re-checked against its new committed account: transactions
 * whose nonce is now used are dropped, and so are those (in nonce order) that the new balance or
 * stake can no longer cover together with the sender's earlier pending ones. Other senders'
 * queues are not re-checked: only a sender's own transactions lower its balance, nonce or stake.
 */
import { byteKey, equalBytes } from '../../crypto/bytes.ts';
import { LruCache } from '../../crypto/lru.ts';
import type { Account } from '../../ledger/state.ts';
import type { EncodedTransaction } from '../../ledger/tx.ts';

export interface MempoolOptions {
  readonly maxTxs?: number;
  readonly maxBytes?: number;
  readonly maxPerSender?: number;
  readonly futureNonceWindow?: number;
  /** Ids remembered as seen: at most this many, and once warm at least half (crypto/lru.ts). */
  readonly seenCacheSize?: number;
  /** Largest transaction accepted from clients and peers (decoding cap); default 64 KiB. */
  readonly maxTxBytes?: number;
}

export type AdmitCode =
  | 'DUPLICATE'
  | 'NONCE_TOO_LOW'
  | 'NONCE_TOO_HIGH'
  | 'NONCE_TAKEN'
  | 'INSUFFICIENT_FUNDS'
  | 'SENDER_LIMIT'
  | 'MEMPOOL_FULL'
  /** Consensus stopped on this node (runtime.ts, Halt): submit elsewhere. */
  | 'NODE_HALTED'
  /** The node is catching up, so its state cannot judge the transaction yet (client-intake.ts). */
  | 'NODE_SYNCING';

export type AdmitResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: AdmitCode; readonly reason: string };

interface SenderQueue {
  readonly byNonce: Map<number, EncodedTransaction>;
  /** Sum of the amounts of this sender's pending transfers and stakes (they spend balance). */
  spend: bigint;
  /** Sum of the amounts of this sender's pending unstakes (they spend stake). */
  unstake: bigint;
  /**
   * The sender's committed nonce when last read (at admission, and after each block with its
   * transactions — nothing else changes it): its pending transaction with this nonce, if any, is
   * one a block can include now. One with a higher nonce waits behind a gap.
   */
  base: number;
}

/** What a transaction takes from its sender's balance and from its stake. */
function costOf(etx: EncodedTransaction): { balance: bigint; stake: bigint } {
  const op = etx.tx.op;
  if (op.type === 'transfer' || op.type === 'stake') return { balance: op.amount, stake: 0n };
  if (op.type === 'unstake') return { balance: 0n, stake: op.amount };
  return { balance: 0n, stake: 0n };
}

/** The last 16 bytes of a transaction's encoding as a string key (the whole, if shorter). */
function tailKey(b: Uint8Array): string {
  const n = b.length;
  if (n < 16) return byteKey(b);
  return String.fromCharCode(
    b[n - 16] as number,
    b[n - 15] as number,
    b[n - 14] as number,
    b[n - 13] as number,
    b[n - 12] as number,
    b[n - 11] as number,
    b[n - 10] as number,
    b[n - 9] as number,
    b[n - 8] as number,
    b[n - 7] as number,
    b[n - 6] as number,
    b[n - 5] as number,
    b[n - 4] as number,
    b[n - 3] as number,
    b[n - 2] as number,
    b[n - 1] as number,
  );
}

function anyBelow(byNonce: ReadonlyMap<number, unknown>, nonce: number): boolean {
  for (const n of byNonce.keys()) if (n < nonce) return true;
  return false;
}

export class Mempool {
  readonly #maxTxs: number;
  /** Bumped on every change of the pending set or a sender's base; keys the memos below. */
  #version = 0;
  #biggest: { version: number; victim: string | undefined; most: number } | undefined;
  #includable: { version: number; n: number; answer: boolean } | undefined;
  readonly #maxBytes: number;
  readonly #maxPerSender: number;
  readonly #window: number;
  readonly #account: (address: Uint8Array, key: string) => Promise<Account>;
  readonly #senders = new Map<string, SenderQueue>();
  readonly #byId = new Map<string, EncodedTransaction>();
  /**
   * The pending transactions by the last 16 bytes of their encoding (`tailKey`: the end of the
   * signature), so that a gossiped or proposed copy of one is recognised without hashing it (see
   * `pendingWithBytes`, which compares the whole bytes). A key of the whole encoding cost a
   * 150-character string made and hashed per lookup, and doubled the pool's memory.
   */
  readonly #byTail = new Map<string, EncodedTransaction>();
  /** Recently seen ids (admitted, committed, or refused as replays). */
  readonly #seen: LruCache<true>;
  #bytes = 0;
  /** Senders whose transaction with their committed nonce is pending (see `includable`). */
  #ready = 0;
  /** Called when the pool goes from nothing includable to something includable. */
  onAvailable: (() => void) | undefined;

  /** `account(address, key)`: the committed account; `key` is `byteKey(address)`. */
  constructor(account: (address: Uint8Array, key: string) => Promise<Account>, opts: MempoolOptions = {}) {
    this.#account = account;
    this.#maxTxs = opts.maxTxs ?? 10_000;
    this.#maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.#maxPerSender = opts.maxPerSender ?? 512;
    this.#window = opts.futureNonceWindow ?? 64;
    this.#seen = new LruCache(opts.seenCacheSize ?? 100_000);
  }

  get size(): number {
    return this.#byId.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Whether a block could include something now: some sender's next nonce is pending. Not the
   * same as `size > 0` — a transaction behind a nonce gap waits, and a node that proposed at once
   * for it would build empty blocks back to back for as long as the gap lasts.
   */
  get includable(): boolean {
    return this.#ready > 0;
  }

  #isReady(q: SenderQueue): boolean {
    return q.byNonce.has(q.base);
  }

  /** Sets a queue's committed nonce, keeping the count of ready senders. */
  #setBase(q: SenderQueue, base: number): void {
    const was = this.#isReady(q);
    if (q.base !== base) this.#version++; // what is includable may have changed
    q.base = base;
    this.#ready += Number(this.#isReady(q)) - Number(was);
  }

  /** Whether transaction `id` is pending (unlike `seen`, which also covers committed ids). */
  has(id: Uint8Array): boolean {
    return this.#byId.has(byteKey(id));
  }

  /** The pending transaction with this id (decoded and verified at admission), if any. */
  get(id: Uint8Array): EncodedTransaction | undefined {
    return this.#byId.get(byteKey(id));
  }

  /**
   * The pending transaction whose encoding is exactly `bytes`, or undefined — also, rarely, for a
   * pending one whose 16-byte tail an earlier pending transaction holds (see `add`): callers then
   * hash the bytes and look the id up, as for any transaction not held. Equal bytes are the same
   * transaction (the id is their hash), so a hit answers what `get(sha256(bytes))` would, at a
   * fraction of the cost: most copies a node receives, by gossip or in a block, are of
   * transactions it already holds.
   */
  pendingWithBytes(bytes: Uint8Array): EncodedTransaction | undefined {
    const held = this.#byTail.get(tailKey(bytes));
    return held !== undefined && equalBytes(held.bytes, bytes) ? held : undefined;
  }

  /**
   * Whether an id is in the seen-cache (pending, committed or a refused replay, recently), by its
   * key (`EncodedTransaction.idKey`, or `sha256Key` of the bytes).
   */
  seenKey(idKey: string): boolean {
    return this.#seen.has(idKey);
  }

  async add(etx: EncodedTransaction): Promise<AdmitResult> {
    const idKey = etx.idKey;
    if (this.#byId.has(idKey) || this.#seen.has(idKey)) {
      return { ok: false, code: 'DUPLICATE', reason: 'transaction already seen' };
    }
    const account = await this.#account(etx.from, etx.fromKey);
    const nonce = etx.tx.nonce;
    if (nonce < account.nonce) {
      this.#seen.set(idKey, true);
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
    const senderKey = etx.fromKey;
    let queue = this.#senders.get(senderKey);
    if (queue?.byNonce.has(nonce)) {
      return {
        ok: false,
        code: 'NONCE_TAKEN',
        reason: `another pending transaction already uses nonce ${nonce}`,
      };
    }
    // Funds: what the sender's pending transactions already spend counts against its balance.
    const cost = costOf(etx);
    const pendingSpend = queue?.spend ?? 0n;
    if (cost.balance > 0n && account.balance < pendingSpend + cost.balance) {
      return {
        ok: false,
        code: 'INSUFFICIENT_FUNDS',
        reason: `balance ${account.balance} < amount ${cost.balance} + ${pendingSpend} pending`,
      };
    }
    const pendingUnstake = queue?.unstake ?? 0n;
    if (cost.stake > 0n && account.stake < pendingUnstake + cost.stake) {
      return {
        ok: false,
        code: 'INSUFFICIENT_FUNDS',
        reason: `stake ${account.stake} < amount ${cost.stake} + ${pendingUnstake} pending`,
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
      queue = { byNonce: new Map(), spend: 0n, unstake: 0n, base: account.nonce };
      this.#senders.set(senderKey, queue);
    } else {
      this.#setBase(queue, account.nonce);
    }
    const wasIncludable = this.includable;
    const wasReady = this.#isReady(queue);
    queue.byNonce.set(nonce, etx);
    this.#version++;
    if (!wasReady && this.#isReady(queue)) this.#ready++;
    queue.spend += cost.balance;
    queue.unstake += cost.stake;
    this.#byId.set(idKey, etx);
    // A tail another pending transaction already has is not indexed: its copies are then found
    // by id, hashed. (Two transactions ending in the same 16 bytes of signature: about 2^-124 by
    // chance — S is below 2^253 — and far too costly to grind; the later one only loses the
    // shortcut.)
    const tail = tailKey(etx.bytes);
    if (!this.#byTail.has(tail)) this.#byTail.set(tail, etx);
    this.#bytes += etx.bytes.length;
    this.#seen.set(idKey, true);
    if (!wasIncludable && this.includable) this.onAvailable?.();
    return { ok: true };
  }

  /**
   * Evicts one transaction of the biggest sender if that is fair to `forSender`. The evicted id
   * leaves the seen-cache: it is no longer pending, and its sender may submit it again.
   */
  #evictFor(forSender: string, wouldHave: number): boolean {
    const { victim, most } = this.#biggestSender();
    if (victim === undefined || victim === forSender || most <= wouldHave) return false;
    const q = this.#senders.get(victim) as SenderQueue;
    const highest = Math.max(...q.byNonce.keys());
    this.#remove(victim, highest, { forget: true });
    return true;
  }

  /** The sender with the most pending transactions (the first found), memoised until the pool changes. */
  #biggestSender(): { victim: string | undefined; most: number } {
    if (this.#biggest?.version === this.#version) return this.#biggest;
    let victim: string | undefined;
    let most = 0;
    for (const [key, q] of this.#senders) {
      if (q.byNonce.size > most) {
        most = q.byNonce.size;
        victim = key;
      }
    }
    this.#biggest = { version: this.#version, victim, most };
    return this.#biggest;
  }

  /**
   * Whether the pool has room for `etx` — it is not full, or evicting another sender's
   * transaction for it would be fair — without reading state. When this is false `add` refuses
   * MEMPOOL_FULL, so callers ask first and skip the signature check of a transaction that could
   * not get in anyway: under overload that check is most of the wasted work. (True promises
   * nothing: `add` may still refuse, e.g. when one eviction frees too few bytes.)
   */
  hasRoomFor(etx: EncodedTransaction): boolean {
    if (this.#byId.size < this.#maxTxs && this.#bytes + etx.bytes.length <= this.#maxBytes) return true;
    const senderKey = etx.fromKey;
    const mine = this.#senders.get(senderKey)?.byNonce.size ?? 0;
    const { victim, most } = this.#biggestSender();
    return victim !== undefined && victim !== senderKey && most > mine + 1;
  }

  /**
   * Whether at least `n` pending transactions could go into blocks now — each sender's run of
   * consecutive nonces from its committed one; what waits behind a nonce gap does not count.
   * O(n + senders); memoised until the pool changes. Client intake is gated on this, not on the
   * pool's size: a pool full of transactions behind gaps must still let the gap-fillers in.
   */
  includableAtLeast(n: number): boolean {
    if (this.#includable?.version === this.#version && this.#includable.n === n)
      return this.#includable.answer;
    let count = 0;
    for (const q of this.#senders.values()) {
      for (let nonce = q.base; count < n && q.byNonce.has(nonce); nonce++) count++;
      if (count >= n) break;
    }
    this.#includable = { version: this.#version, n, answer: count >= n };
    return count >= n;
  }

  /** Removes a pending transaction; with `forget`, also from the seen-cache (resubmittable). */
  #remove(senderKey: string, nonce: number, opts: { forget?: boolean } = {}): void {
    const q = this.#senders.get(senderKey);
    const etx = q?.byNonce.get(nonce);
    if (q === undefined || etx === undefined) return;
    const wasReady = this.#isReady(q);
    q.byNonce.delete(nonce);
    this.#version++;
    if (wasReady && !this.#isReady(q)) this.#ready--;
    const cost = costOf(etx);
    q.spend -= cost.balance;
    q.unstake -= cost.stake;
    if (q.byNonce.size === 0) this.#senders.delete(senderKey);
    const idKey = etx.idKey;
    this.#byId.delete(idKey);
    const tail = tailKey(etx.bytes);
    if (this.#byTail.get(tail) === etx) this.#byTail.delete(tail);
    this.#bytes -= etx.bytes.length;
    if (opts.forget) this.#seen.delete(idKey);
  }

  /**
   * Transactions for a block: round-robin over senders, each sender's in nonce order starting at
   * its next nonce as of the block's parent (`nonceAt`), skipping ids in `exclude` (as `byteKey`s; already in
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
        while (etx !== undefined && opts.exclude?.has(etx.idKey)) {
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

  /**
   * After a commit: drop the included transactions, then re-check the remaining queue of every
   * sender in the block against its new committed account — drop what the new nonce made stale
   * (kept in the seen-cache: it can never apply) and, in nonce order, what the new balance or
   * stake no longer covers together with the sender's earlier pending transactions (removed from
   * the seen-cache: it may apply once the sender has the funds again).
   */
  async update(committed: readonly EncodedTransaction[]): Promise<void> {
    const touched = new Set<string>();
    for (const etx of committed) {
      const idKey = etx.idKey;
      this.#seen.set(idKey, true);
      const key = etx.fromKey;
      touched.add(key);
      const pending = this.#byId.get(idKey);
      if (pending !== undefined) this.#remove(key, pending.tx.nonce);
    }
    for (const key of touched) await this.#recheckSender(key);
  }

  /**
   * After state sync moved the committed state a long way at once: every sender's queue is
   * re-checked against its new committed account, as after a commit that included it.
   */
  async recheck(): Promise<void> {
    for (const key of [...this.#senders.keys()]) await this.#recheckSender(key);
  }

  async #recheckSender(key: string): Promise<void> {
    const q = this.#senders.get(key);
    if (q === undefined) return;
    const first = q.byNonce.values().next().value as EncodedTransaction;
    const account = await this.#account(first.from, first.fromKey);
    this.#setBase(q, account.nonce);
    // The usual case after a commit: nothing left below the new nonce, and the balance and stake
    // cover all the sender's pending transactions together — so every run of them in nonce order
    // is covered too (no cost is negative), and nothing goes. Sorting every queue of every sender
    // in the block to find that out was about a quarter of `update`: 5.7 → 3.8–4.5 ms for a block
    // of 1,024 with 8,192 pending from 256 senders, the benchmark's shape at saturation.
    if (q.spend <= account.balance && q.unstake <= account.stake && !anyBelow(q.byNonce, account.nonce))
      return;
    let balance = account.balance;
    let stake = account.stake;
    for (const n of [...q.byNonce.keys()].sort((a, b) => a - b)) {
      if (n < account.nonce) {
        this.#remove(key, n);
        continue;
      }
      const cost = costOf(q.byNonce.get(n) as EncodedTransaction);
      if (cost.balance > balance || cost.stake > stake) {
        this.#remove(key, n, { forget: true });
        continue;
      }
      balance -= cost.balance;
      stake -= cost.stake;
    }
  }

  /** The next nonce a sender should use: its committed nonce plus its contiguous pending run. */
  pendingNonce(address: Uint8Array, committedNonce: number): number {
    const q = this.#senders.get(byteKey(address));
    let n = committedNonce;
    while (q?.byNonce.has(n)) n++;
    return n;
  }

  /** Every pending transaction (for re-gossip and inspection). */
  all(): EncodedTransaction[] {
    return [...this.#byId.values()];
  }
}
