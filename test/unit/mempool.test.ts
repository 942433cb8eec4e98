import { describe, expect, it } from 'vitest';
import { byteKey, toHex } from '../../crypto/bytes.ts';
import type { Account } from '../../ledger/state.ts';
import { type EncodedTransaction, type Operation, signTransaction } from '../../ledger/tx.ts';
import { Mempool, type MempoolOptions } from '../../src/runtime/mempool.ts';
import { type TestKey, testKey } from '../helpers/chain.ts';

const CHAIN_ID = 'mempool-test';
const A = testKey('mempool:a');
const B = testKey('mempool:b');
const C = testKey('mempool:c');
const SINK = testKey('mempool:sink').address;

/** A mempool over an in-memory "committed state" the test edits. */
function setup(opts: MempoolOptions = {}, balance = 1_000_000n) {
  const accounts = new Map<string, Account>();
  for (const k of [A, B, C]) accounts.set(toHex(k.address), { nonce: 0, balance, stake: 0n });
  const pool = new Mempool(async (address, key) => {
    // The key the pool passes on (a transaction's `fromKey`) must be the address's own.
    if (key !== byteKey(address)) throw new Error('mempool: account asked with another key');
    return accounts.get(toHex(address)) ?? { nonce: 0, balance: 0n, stake: 0n };
  }, opts);
  const set = (k: TestKey, a: Partial<Account>) => {
    const key = toHex(k.address);
    accounts.set(key, { ...(accounts.get(key) as Account), ...a });
  };
  return { pool, set };
}

function tx(key: TestKey, nonce: number, op: Operation | bigint = 1n): EncodedTransaction {
  return signTransaction(
    {
      chainId: CHAIN_ID,
      sender: key.publicKey,
      nonce,
      op: typeof op === 'bigint' ? { type: 'transfer', to: SINK, amount: op } : op,
    },
    key.secretKey,
  );
}

const put = (k: string): Operation => ({
  type: 'put',
  key: new TextEncoder().encode(k),
  value: new Uint8Array(1),
});

const selectAll = (pool: Mempool, nonces: Map<string, number> = new Map(), maxTxs = 10_000) =>
  pool.select({
    maxTxs,
    maxBytes: 1 << 30,
    nonceAt: async (addr) => nonces.get(toHex(addr)) ?? 0,
  });

const NAMES = new Map([A, B, C].map((k, i) => [toHex(k.address), 'ABC'[i] as string]));
/** "A3": sender A, nonce 3. */
const label = (etx: EncodedTransaction) => `${NAMES.get(toHex(etx.from))}${etx.tx.nonce}`;

describe('mempool admission', () => {
  it('admits nonces from the committed one up to the window, refuses replays and far-future nonces', async () => {
    const { pool, set } = setup({ futureNonceWindow: 4 });
    set(A, { nonce: 5 });
    const replay = tx(A, 4);
    expect(await pool.add(replay)).toMatchObject({ ok: false, code: 'NONCE_TOO_LOW' });
    // A refused replay is remembered: the next copy is dropped as seen.
    expect(pool.seenKey(replay.idKey)).toBe(true);
    expect(await pool.add(replay)).toMatchObject({ ok: false, code: 'DUPLICATE' });
    expect(await pool.add(tx(A, 9))).toMatchObject({ ok: false, code: 'NONCE_TOO_HIGH' });
    expect(await pool.add(tx(A, 5))).toEqual({ ok: true });
    expect(await pool.add(tx(A, 8))).toEqual({ ok: true }); // 5 + 4 − 1: the last in the window
    expect(pool.size).toBe(2);
    // A far-future nonce is not remembered: once the window moves it can be submitted.
    set(A, { nonce: 6 });
    expect(await pool.add(tx(A, 9))).toEqual({ ok: true });
  });

  it('refuses a duplicate id and a second pending transaction for the same nonce', async () => {
    const { pool } = setup();
    const first = tx(A, 0, 10n);
    expect(await pool.add(first)).toEqual({ ok: true });
    expect(await pool.add(first)).toMatchObject({ ok: false, code: 'DUPLICATE' });
    expect(await pool.add(tx(A, 0, 11n))).toMatchObject({ ok: false, code: 'NONCE_TAKEN' });
    expect(pool.size).toBe(1);
    expect(pool.has(first.id)).toBe(true);
    expect(pool.get(first.id)).toBe(first);
    expect(pool.pendingNonce(A.address, 0)).toBe(1);
  });

  it('limits pending transactions per sender without limiting other senders', async () => {
    const { pool } = setup({ maxPerSender: 3 });
    for (let n = 0; n < 3; n++) expect(await pool.add(tx(A, n))).toEqual({ ok: true });
    expect(await pool.add(tx(A, 3))).toMatchObject({ ok: false, code: 'SENDER_LIMIT' });
    expect(await pool.add(tx(B, 0))).toEqual({ ok: true });
    expect(pool.size).toBe(4);
  });

  it('sums a sender’s pending transfers and stakes against its committed balance', async () => {
    const { pool } = setup({}, 5n);
    let admitted = 0;
    for (let n = 0; n < 20; n++) {
      const r = await pool.add(tx(A, n, 5n));
      if (r.ok) admitted++;
      else expect(r.code).toBe('INSUFFICIENT_FUNDS');
    }
    expect(admitted).toBe(1);

    const { pool: p2 } = setup({}, 10n);
    expect(await p2.add(tx(A, 0, 6n))).toEqual({ ok: true });
    expect(await p2.add(tx(A, 1, { type: 'stake', amount: 5n }))).toMatchObject({
      ok: false,
      code: 'INSUFFICIENT_FUNDS',
    });
    expect(await p2.add(tx(A, 1, { type: 'stake', amount: 4n }))).toEqual({ ok: true });
    expect(await p2.add(tx(A, 2, 1n))).toMatchObject({ ok: false, code: 'INSUFFICIENT_FUNDS' });
    // Operations that move no balance are not limited by it; other senders are unaffected.
    expect(await p2.add(tx(A, 2, put('k')))).toEqual({ ok: true });
    expect(await p2.add(tx(B, 0, 10n))).toEqual({ ok: true });
  });

  it('sums pending unstakes against the committed stake', async () => {
    const { pool, set } = setup();
    set(A, { stake: 10n });
    expect(await pool.add(tx(A, 0, { type: 'unstake', amount: 6n }))).toEqual({ ok: true });
    expect(await pool.add(tx(A, 1, { type: 'unstake', amount: 5n }))).toMatchObject({
      ok: false,
      code: 'INSUFFICIENT_FUNDS',
    });
    expect(await pool.add(tx(A, 1, { type: 'unstake', amount: 4n }))).toEqual({ ok: true });
  });

  it('a removed transaction no longer counts against the balance', async () => {
    const { pool, set } = setup({}, 10n);
    const first = tx(A, 0, 10n);
    expect(await pool.add(first)).toEqual({ ok: true });
    expect(await pool.add(tx(A, 1, 1n))).toMatchObject({ ok: false, code: 'INSUFFICIENT_FUNDS' });
    // It commits: the balance is now 0 plus 7 received.
    set(A, { nonce: 1, balance: 7n });
    await pool.update([first]);
    expect(pool.size).toBe(0);
    expect(await pool.add(tx(A, 1, 7n))).toEqual({ ok: true });
  });
});

describe('mempool caps and eviction', () => {
  it('when full by count, evicts the newest-nonce transaction of the largest sender', async () => {
    const { pool } = setup({ maxTxs: 4 });
    const a = [0, 1, 2].map((n) => tx(A, n));
    for (const t of a) expect(await pool.add(t)).toEqual({ ok: true });
    expect(await pool.add(tx(B, 0))).toEqual({ ok: true });
    // C (0 pending, would have 1) displaces A's nonce 2 — not A's oldest, not B's.
    expect(await pool.add(tx(C, 0))).toEqual({ ok: true });
    expect(pool.size).toBe(4);
    expect(pool.has(a[2]?.id as Uint8Array)).toBe(false);
    expect(pool.has(a[0]?.id as Uint8Array)).toBe(true);
    expect(pool.has(a[1]?.id as Uint8Array)).toBe(true);
    // The largest sender itself cannot push out its own or others' transactions.
    expect(await pool.add(tx(A, 2))).toMatchObject({ ok: false, code: 'MEMPOOL_FULL' });
    // B would then hold 2, as many as the largest (A, 2): refused rather than evicting A.
    expect(await pool.add(tx(B, 1))).toMatchObject({ ok: false, code: 'MEMPOOL_FULL' });
    expect(pool.size).toBe(4);
  });

  it('when full by bytes, evicts the same way', async () => {
    const size = tx(A, 0).bytes.length;
    const { pool } = setup({ maxBytes: size * 3 + Math.floor(size / 2) });
    for (let n = 0; n < 3; n++) expect(await pool.add(tx(A, n))).toEqual({ ok: true });
    expect(pool.bytes).toBe(size * 3);
    expect(await pool.add(tx(B, 0))).toEqual({ ok: true });
    expect(pool.bytes).toBe(size * 3);
    expect(pool.pendingNonce(A.address, 0)).toBe(2);
  });

  it('an evicted transaction can be submitted again', async () => {
    const { pool, set } = setup({ maxTxs: 3 });
    const a1 = tx(A, 1);
    const b0 = tx(B, 0);
    expect(await pool.add(tx(A, 0))).toEqual({ ok: true });
    expect(await pool.add(a1)).toEqual({ ok: true });
    expect(await pool.add(b0)).toEqual({ ok: true });
    expect(await pool.add(tx(C, 0))).toEqual({ ok: true }); // evicts a1
    expect(pool.has(a1.id)).toBe(false);
    expect(pool.seenKey(a1.idKey)).toBe(false);
    // Room again once B's transaction commits; the retry is admitted, not called a duplicate.
    set(B, { nonce: 1 });
    await pool.update([b0]);
    expect(await pool.add(a1)).toEqual({ ok: true });
    expect(pool.has(a1.id)).toBe(true);
  });
});

describe('mempool lookup by bytes (gossip and block copies)', () => {
  it('finds exactly the pending transactions, by an equal copy of their bytes, until they leave', async () => {
    const { pool, set } = setup({ maxTxs: 3 });
    const a0 = tx(A, 0);
    const a1 = tx(A, 1);
    const b0 = tx(B, 0);
    for (const t of [a0, a1, b0]) expect(await pool.add(t)).toEqual({ ok: true });
    // A copy (another buffer, as decoded from a frame) finds the held object itself.
    expect(pool.pendingWithBytes(a0.bytes.slice())).toBe(a0);
    expect(pool.pendingWithBytes(new Uint8Array([0, ...a1.bytes]).subarray(1))).toBe(a1);
    // One byte different, shorter or longer: not found.
    const flipped = a0.bytes.slice();
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    expect(pool.pendingWithBytes(flipped)).toBeUndefined();
    expect(pool.pendingWithBytes(a0.bytes.subarray(0, a0.bytes.length - 1))).toBeUndefined();
    expect(pool.pendingWithBytes(new Uint8Array([...a0.bytes, 0]))).toBeUndefined();
    // Not pending: never admitted, committed, or evicted.
    expect(pool.pendingWithBytes(tx(C, 5).bytes)).toBeUndefined();
    set(B, { nonce: 1 });
    await pool.update([b0]);
    expect(pool.pendingWithBytes(b0.bytes)).toBeUndefined();
    expect(await pool.add(tx(B, 1))).toEqual({ ok: true });
    expect(await pool.add(tx(C, 0))).toEqual({ ok: true }); // evicts a1 (A holds the most)
    expect(pool.has(a1.id)).toBe(false);
    expect(pool.pendingWithBytes(a1.bytes)).toBeUndefined();
    expect(pool.pendingWithBytes(a0.bytes)).toBe(a0);
  });

  it('indexes by the last 16 bytes but answers only for equal bytes; a second tail holder stays unindexed', async () => {
    const { pool, set } = setup();
    const a0 = tx(A, 0);
    // Same 16-byte tail as a0, other bytes before it: a copy of a1 whose encoding was forged to end
    // like a0's (the index is the pool's, which neither decodes nor verifies what it holds).
    const a1 = tx(A, 1);
    const forged = {
      ...a1,
      bytes: new Uint8Array([...a1.bytes.subarray(0, -16), ...a0.bytes.subarray(-16)]),
    };
    expect(await pool.add(a0)).toEqual({ ok: true });
    expect(await pool.add(forged)).toEqual({ ok: true });
    // Equal tails, unequal bodies: only the exact bytes find a0, and the forged one is not indexed
    // (its copies are found by id; `pool.has`).
    expect(pool.pendingWithBytes(a0.bytes.slice())).toBe(a0);
    expect(pool.pendingWithBytes(forged.bytes.slice())).toBeUndefined();
    expect(pool.has(forged.id)).toBe(true);
    // Removing the unindexed holder (A's balance now covers a0 only) leaves a0's entry; a0's
    // commit takes it.
    set(A, { balance: 1n });
    await pool.recheck();
    expect(pool.has(forged.id)).toBe(false);
    expect(pool.pendingWithBytes(a0.bytes)).toBe(a0);
    set(A, { nonce: 1 });
    await pool.update([a0]);
    expect(pool.size).toBe(0);
    expect(pool.pendingWithBytes(a0.bytes)).toBeUndefined();
  });
});

describe('mempool room (asked before the signature check)', () => {
  it('says no exactly where add would refuse for space, and yes where eviction is fair', async () => {
    const { pool } = setup({ maxTxs: 4 });
    expect(pool.hasRoomFor(tx(A, 0))).toBe(true); // not full
    for (const n of [0, 1, 2]) await pool.add(tx(A, n));
    await pool.add(tx(B, 0));
    // Full. C (would hold 1) may displace A (3): room. A itself, and B (would hold 2 ≤ 3)… see add.
    expect(pool.hasRoomFor(tx(C, 0))).toBe(true);
    expect(pool.hasRoomFor(tx(A, 3))).toBe(false);
    expect(await pool.add(tx(A, 3))).toMatchObject({ ok: false, code: 'MEMPOOL_FULL' });
    expect(pool.hasRoomFor(tx(B, 1))).toBe(true); // B would hold 2 < 3
    expect(await pool.add(tx(C, 0))).toEqual({ ok: true }); // evicts A's nonce 2: A 2, B 1, C 1
    // Now the memo must follow the change: A holds 2, so B (would hold 2) has no fair victim.
    expect(pool.hasRoomFor(tx(B, 1))).toBe(false);
    expect(await pool.add(tx(B, 1))).toMatchObject({ ok: false, code: 'MEMPOOL_FULL' });
    expect(pool.size).toBe(4);
  });

  it('counts includable transactions: runs of consecutive nonces from the committed one', async () => {
    const { pool, set } = setup();
    for (const n of [0, 1, 3, 4]) await pool.add(tx(A, n)); // A: 0, 1 includable; 3, 4 behind a gap
    await pool.add(tx(B, 1)); // B: behind a gap
    expect(pool.includableAtLeast(2)).toBe(true);
    expect(pool.includableAtLeast(3)).toBe(false);
    await pool.add(tx(A, 2)); // fills A's gap: 0 … 4
    expect(pool.includableAtLeast(5)).toBe(true);
    expect(pool.includableAtLeast(6)).toBe(false);
    // B's committed nonce moves to 1 (its 0 went in elsewhere): its 1 becomes includable.
    set(B, { nonce: 1 });
    await pool.update([tx(B, 0)]);
    expect(pool.includableAtLeast(6)).toBe(true);
  });

  it('agrees with add over random admissions (full by count: no room exactly when add says MEMPOOL_FULL)', async () => {
    const { pool } = setup({ maxTxs: 6 });
    const next = new Map([A, B, C].map((k) => [k, 0]));
    let state = 7;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    let noes = 0;
    for (let i = 0; i < 60; i++) {
      const k = [A, B, C][rand(3)] as TestKey;
      const t = tx(k, next.get(k) as number);
      const room = pool.hasRoomFor(t);
      const r = await pool.add(t);
      if (!room) {
        noes++;
        expect(r).toMatchObject({ ok: false, code: 'MEMPOOL_FULL' });
      } else expect(r).not.toMatchObject({ code: 'MEMPOOL_FULL' }); // full by count: one eviction suffices
      if (r.ok) next.set(k, (next.get(k) as number) + 1);
    }
    expect(noes).toBeGreaterThan(5);
  });
});

describe('mempool re-check after a commit', () => {
  it('drops what the new nonce made stale and what the new balance can no longer cover', async () => {
    const { pool, set } = setup({}, 10n);
    const a0 = tx(A, 0, 4n);
    const a1 = tx(A, 1, 4n);
    const a2 = tx(A, 2, put('x'));
    const b0 = tx(B, 0, 10n);
    for (const t of [a0, a1, a2, b0]) expect(await pool.add(t)).toEqual({ ok: true });
    // Another proposer's block carried a different A transaction at nonce 0, spending 9.
    const other = tx(A, 0, 9n);
    set(A, { nonce: 1, balance: 1n });
    // B's committed state changed too (it received funds), but B had nothing in this block.
    set(B, { balance: 0n });
    await pool.update([other]);
    expect(pool.has(a0.id)).toBe(false); // nonce 0 is used
    expect(pool.seenKey(a0.idKey)).toBe(true); // ... for good: a replay, still refused as seen
    expect(pool.has(a1.id)).toBe(false); // 4 > 1
    expect(pool.seenKey(a1.idKey)).toBe(false); // ... but it may apply once A has funds again
    expect(pool.has(a2.id)).toBe(true); // moves no balance
    expect(pool.has(b0.id)).toBe(true); // B sent nothing in the block: not re-checked
    expect(pool.seenKey(other.idKey)).toBe(true);
    expect(pool.size).toBe(2);
    set(A, { balance: 4n });
    expect(await pool.add(a1)).toEqual({ ok: true });
  });

  it('drops what the new nonce made stale even when the balance covers everything pending', async () => {
    const { pool, set } = setup();
    const a0 = tx(A, 0, 1n);
    const a1 = tx(A, 1, 1n);
    for (const t of [a0, a1]) expect(await pool.add(t)).toEqual({ ok: true });
    // Another proposer's block carried a different A transaction at nonce 0; funds are ample.
    set(A, { nonce: 1 });
    await pool.update([tx(A, 0, 2n)]);
    expect(pool.has(a0.id)).toBe(false);
    expect(pool.seenKey(a0.idKey)).toBe(true);
    expect(pool.has(a1.id)).toBe(true);
    expect((await selectAll(pool, new Map([[toHex(A.address), 1]]))).map(label)).toEqual(['A1']);
  });

  it('re-checks in nonce order: an earlier transaction keeps its claim on the balance', async () => {
    const { pool, set } = setup({}, 30n);
    const t = [tx(A, 0, 1n), tx(A, 3, 10n), tx(A, 1, 10n), tx(A, 2, 9n)];
    for (const x of t) expect(await pool.add(x)).toEqual({ ok: true });
    set(A, { nonce: 1, balance: 20n });
    await pool.update([t[0] as EncodedTransaction]);
    // Remaining 20 covers nonce 1 (10) and nonce 2 (9); nonce 3 (10) no longer fits.
    expect((await selectAll(pool, new Map([[toHex(A.address), 1]]))).map(label)).toEqual(['A1', 'A2']);
    expect(pool.has((t[1] as EncodedTransaction).id)).toBe(false);
  });
});

describe('mempool block selection', () => {
  it('fills blocks round-robin across senders, each in nonce order from its next nonce', async () => {
    const { pool } = setup();
    for (let n = 4; n >= 0; n--) await pool.add(tx(A, n)); // out of order on purpose
    await pool.add(tx(B, 0));
    await pool.add(tx(B, 1));
    await pool.add(tx(C, 0));
    expect((await selectAll(pool, new Map(), 6)).map(label)).toEqual(['A0', 'B0', 'C0', 'A1', 'B1', 'A2']);
    // From the parent's nonces, skipping what uncommitted ancestors already include.
    const picked = await pool.select({
      maxTxs: 100,
      maxBytes: 1 << 30,
      nonceAt: async (addr) => (toHex(addr) === toHex(A.address) ? 2 : 0),
      exclude: new Set([byteKey(tx(B, 0).id)]),
    });
    expect(picked.map(label)).toEqual(['A2', 'B1', 'C0', 'A3', 'A4']);
  });

  it('stops a sender at a nonce gap and respects the byte budget', async () => {
    const { pool } = setup();
    for (const n of [0, 1, 3]) await pool.add(tx(A, n));
    await pool.add(tx(B, 0));
    expect((await selectAll(pool)).map(label)).toEqual(['A0', 'B0', 'A1']);
    const size = tx(A, 0).bytes.length;
    const picked = await pool.select({ maxTxs: 100, maxBytes: size * 2, nonceAt: async () => 0 });
    expect(picked.map(label)).toEqual(['A0', 'B0']);
  });

  it('signals availability when the pool goes from nothing includable to something', async () => {
    const { pool, set } = setup();
    let signals = 0;
    pool.onAvailable = () => {
      signals++;
    };
    const a0 = tx(A, 0);
    await pool.add(a0);
    await pool.add(tx(B, 0));
    expect(signals).toBe(1);
    set(A, { nonce: 1 });
    set(B, { nonce: 1 });
    await pool.update([a0, tx(B, 0)]);
    expect(pool.size).toBe(0);
    await pool.add(tx(A, 1));
    expect(signals).toBe(2);
  });

  it('a transaction behind a nonce gap is not includable, and does not signal; filling the gap does', async () => {
    const { pool, set } = setup();
    let signals = 0;
    pool.onAvailable = () => {
      signals++;
    };
    // A's committed nonce is 0: nonces 2 and 3 wait behind a gap at 0.
    await pool.add(tx(A, 2));
    await pool.add(tx(A, 3));
    expect(pool.size).toBe(2);
    expect(pool.includable).toBe(false);
    expect(signals).toBe(0);
    expect(await selectAll(pool)).toEqual([]);
    // Another sender's next nonce is includable at once.
    const b0 = tx(B, 0);
    await pool.add(b0);
    expect(pool.includable).toBe(true);
    expect(signals).toBe(1);
    set(B, { nonce: 1 });
    await pool.update([b0]);
    expect(pool.includable).toBe(false);
    // Nonce 0 fills part of the gap: includable; once it commits, nonce 1 is still missing.
    const a0 = tx(A, 0);
    await pool.add(a0);
    expect(pool.includable).toBe(true);
    expect(signals).toBe(2);
    set(A, { nonce: 1 });
    await pool.update([a0]);
    expect(pool.includable).toBe(false);
    await pool.add(tx(A, 1));
    expect(pool.includable).toBe(true);
    expect(signals).toBe(3);
    expect((await selectAll(pool, new Map([[toHex(A.address), 1]]))).map(label)).toEqual(['A1', 'A2', 'A3']);
  });

  it('a commit made elsewhere (the transaction never reached this pool) still moves the sender on', async () => {
    const { pool, set } = setup();
    await pool.add(tx(A, 1));
    expect(pool.includable).toBe(false);
    // A block with A's nonce 0 from another node's mempool commits: A1 becomes includable.
    set(A, { nonce: 1 });
    await pool.update([tx(A, 0)]);
    expect(pool.includable).toBe(true);
    // Eviction and removal keep the count: dropping the includable one leaves nothing includable.
    set(A, { nonce: 2 });
    await pool.update([tx(A, 1)]);
    expect(pool.size).toBe(0);
    expect(pool.includable).toBe(false);
  });
});
