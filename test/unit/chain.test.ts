import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { concatBytes, toHex, u64be, utf8 } from '../../crypto/bytes.ts';
import { type BatchVerifier, verifyEach } from '../../crypto/signature-batch.ts';
import { decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { LEDGER_CERTIFICATE_SCHEMES } from '../../ledger/certificate.ts';
import { type ChainError, ChainStore, type ExecutedBlock } from '../../ledger/chain.ts';
import { rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { rootOfEntries } from '../../ledger/log/index.ts';
import { type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import { makeTestChain, quorumCertificate, type TestChain, type TestKey } from '../helpers/chain.ts';
import { CrashingKvStore } from '../helpers/faulty-store.ts';

const OPTS = { schemes: LEDGER_CERTIFICATE_SCHEMES };

// For the leak test: `gc` in a fresh context (the flag must be set before that context is made).
setFlagsFromString('--expose-gc');

function transfers(chain: TestChain, nonce: number, count: number): EncodedTransaction[] {
  return Array.from({ length: count }, (_, i) => {
    const from = chain.accounts[i % chain.accounts.length] as TestKey;
    const to = chain.accounts[(i + 1) % chain.accounts.length] as TestKey;
    return signTransaction(
      {
        chainId: chain.genesis.chainId,
        sender: from.publicKey,
        nonce: nonce + Math.floor(i / chain.accounts.length),
        op: { type: 'transfer', to: to.address, amount: 1n },
      },
      from.secretKey,
    );
  });
}

async function commitNext(store: ChainStore, chain: TestChain, txs: EncodedTransaction[]) {
  const head = store.head;
  const executed = await store.propose({
    txs,
    time: { ms: head.time.ms + 1000, logical: 0 },
    proposer: (chain.validators[0] as TestKey).address,
    engineData: new Uint8Array(0),
  });
  await store.commit(executed, quorumCertificate(chain, executed.block.header.height, executed.hash));
  return executed;
}

function codeOf(e: unknown): string | undefined {
  return (e as ChainError).code;
}

describe('chain store', () => {
  const chain = makeTestChain();

  it('initialises from genesis, commits blocks, and reopens at the same head, state and log', async () => {
    const base = new MemoryKvStore();
    const store = await ChainStore.open(base, chain.genesis, OPTS);
    expect(store.height).toBe(0);
    const b1 = await commitNext(store, chain, transfers(chain, 0, 4));
    const b2 = await commitNext(store, chain, transfers(chain, 1, 8));
    expect(store.height).toBe(2);
    expect(store.log.size).toBe(12);
    expect(b2.block.header.logSize).toBe(12);
    const loc = await store.getTxLocation(b1.txs[2]!.id);
    expect(loc).toEqual({ height: 1, position: 2, logIndex: 2, receipt: { ok: true } });

    const reopened = await ChainStore.open(base, chain.genesis, OPTS);
    expect(reopened.height).toBe(2);
    expect(toHex(reopened.headHash)).toBe(toHex(b2.hash));
    const acct = await (await reopened.stateAt()).getAccount(chain.accounts[0]!.address);
    expect(acct.nonce).toBe(3);
    expect(toHex(await reopened.log.root())).toBe(toHex(b2.block.header.logRoot));
    expect((await reopened.getCertificate(2))?.kind).toBe('ed25519-quorum');
    // Past state is still readable.
    expect((await (await reopened.stateAt(1)).getAccount(chain.accounts[0]!.address)).nonce).toBe(1);
  });

  it('a crash during a commit loses the whole block and nothing else', async () => {
    const base = new MemoryKvStore();
    const crashing = new CrashingKvStore(base);
    const store = await ChainStore.open(crashing, chain.genesis, OPTS);
    await commitNext(store, chain, transfers(chain, 0, 4));
    const before = base.clone();
    crashing.budget = 0; // the next batch is lost
    const failing = transfers(chain, 1, 4);
    await expect(commitNext(store, chain, failing)).rejects.toThrow(/simulated crash/);
    expect(crashing.batches).toBe(3); // genesis, block 1, the failed block 2: one batch each
    // What is on disk is exactly what was there before the failed commit.
    expect(base.entriesSync(new Uint8Array(0)).length).toBe(before.entriesSync(new Uint8Array(0)).length);
    const reopened = await ChainStore.open(base, chain.genesis, OPTS);
    expect(reopened.height).toBe(1);
    expect(await reopened.getTxLocation(failing[0]!.id)).toBeUndefined();
    // The node can carry on from there.
    await commitNext(reopened, chain, failing);
    expect(reopened.height).toBe(2);
  });

  it('the in-memory store keeps working after a failed commit (log reloaded)', async () => {
    const crashing = new CrashingKvStore(new MemoryKvStore());
    const store = await ChainStore.open(crashing, chain.genesis, OPTS);
    crashing.budget = 0;
    await expect(commitNext(store, chain, transfers(chain, 0, 2))).rejects.toThrow();
    crashing.budget = Number.POSITIVE_INFINITY;
    expect(store.log.size).toBe(0);
    await commitNext(store, chain, transfers(chain, 0, 2));
    expect(store.height).toBe(1);
  });

  it('refuses to open a store that holds another chain', async () => {
    const base = new MemoryKvStore();
    await ChainStore.open(base, chain.genesis, OPTS);
    const other = makeTestChain({ label: 'other' });
    await expect(ChainStore.open(base, other.genesis, OPTS)).rejects.toSatisfy(
      (e) => codeOf(e) === 'GENESIS_MISMATCH',
    );
  });

  it('detects a head that disagrees with the stored log (corruption is a startup error)', async () => {
    const base = new MemoryKvStore();
    const store = await ChainStore.open(base, chain.genesis, OPTS);
    await commitNext(store, chain, transfers(chain, 0, 4));
    await commitNext(store, chain, transfers(chain, 1, 4));
    // Roll the head pointer back to 1 without rolling back the log.
    await base.batch([{ type: 'put', key: utf8('m/head'), value: new Uint8Array([0, 0, 0, 0, 0, 0, 0, 1]) }]);
    await expect(ChainStore.open(base, chain.genesis, OPTS)).rejects.toSatisfy(
      (e) => codeOf(e) === 'CHAIN_CORRUPT',
    );
  });

  it('checks a stored block against its own hashes before handing it out (a flipped bit, a misdirected write)', async () => {
    const base = new MemoryKvStore();
    const writer = await ChainStore.open(base, chain.genesis, OPTS);
    await commitNext(writer, chain, transfers(chain, 0, 4));
    const b2 = await commitNext(writer, chain, transfers(chain, 1, 4));
    await commitNext(writer, chain, transfers(chain, 2, 4));
    // Reopened (as after a restart): the blocks are read from the store, not the recent window.
    const store = await ChainStore.open(base, chain.genesis, OPTS);
    const key = (h: number) => concatBytes(utf8('b/'), u64be(h));
    const good = base.getSync(key(1)) as Uint8Array;
    const flipped = good.slice();
    flipped[flipped.length - 3] = (flipped[flipped.length - 3] as number) ^ 1; // inside a transaction
    for (const damaged of [flipped, base.getSync(key(2)) as Uint8Array, good.subarray(0, 50)]) {
      base.batchSync([{ type: 'put', key: key(1), value: damaged }]);
      // A storage fault of this node's own (it halts and says so; the RPC answers 503).
      await expect(store.getBlock(1)).rejects.toSatisfy((e) => codeOf(e) === 'STORAGE_CORRUPT');
      await expect(store.getBlockBytes(1)).rejects.toSatisfy((e) => codeOf(e) === 'STORAGE_CORRUPT');
    }
    // The others (genesis included) read as stored.
    expect(toHex(headerHash((await store.getBlock(2))!.header))).toBe(toHex(b2.hash));
    expect((await store.getBlock(0))?.header.height).toBe(0);
    base.batchSync([{ type: 'put', key: key(1), value: good }]);
    expect((await store.getBlock(1))?.header.height).toBe(1);
  });

  it('serves the newest committed blocks from memory, and finds a damaged copy once one leaves that window', async () => {
    const base = new MemoryKvStore();
    const store = await ChainStore.open(base, chain.genesis, OPTS);
    const committed = [];
    for (let i = 0; i < 3; i++) committed.push(await commitNext(store, chain, transfers(chain, i, 2)));
    const key = (h: number) => concatBytes(utf8('b/'), u64be(h));
    const stored = base.getSync(key(1)) as Uint8Array;
    base.batchSync([{ type: 'put', key: key(1), value: stored.subarray(0, 50) }]);
    // Block 1 was committed by this store: it is served as committed, bytes and block alike.
    expect(toHex((await store.getBlockBytes(1)) as Uint8Array)).toBe(toHex(stored));
    expect(toHex(headerHash((await store.getBlock(1))!.header))).toBe(toHex(committed[0]!.hash));
    // Enough commits push it out of the window (32 blocks): the damaged copy is now read, and refused.
    for (let i = 0; i < 32; i++) await commitNext(store, chain, transfers(chain, 3 + i, 1));
    await expect(store.getBlock(1)).rejects.toSatisfy((e) => codeOf(e) === 'STORAGE_CORRUPT');
    // The newest are still served from memory, the same bytes as stored.
    const head = store.head.height;
    expect(toHex((await store.getBlockBytes(head)) as Uint8Array)).toBe(
      toHex(base.getSync(key(head)) as Uint8Array),
    );
  });

  it('detects a block-hash history that disagrees with the head, and names an older store format', async () => {
    const base = new MemoryKvStore();
    const store = await ChainStore.open(base, chain.genesis, OPTS);
    await commitNext(store, chain, transfers(chain, 0, 4));
    const history: Uint8Array[] = [];
    for await (const [k] of base.iterate(utf8('a/'))) history.push(k);
    expect(history.length).toBeGreaterThan(0);
    await base.batch(history.map((key) => ({ type: 'del' as const, key })));
    await expect(ChainStore.open(base, chain.genesis, OPTS)).rejects.toSatisfy(
      (e) => codeOf(e) === 'CHAIN_CORRUPT',
    );
    // A data directory of header version 1 (before historyRoot): refused with a plain reason.
    const old = new MemoryKvStore();
    await ChainStore.open(old, chain.genesis, OPTS);
    const key = concatBytes(utf8('b/'), u64be(0));
    const block = rlpDecodeStrict((await old.get(key)) as Uint8Array, 1 << 20, 'block') as Uint8Array[][];
    const header = [...(block[0] as Uint8Array[])];
    header.splice(0, 1, new Uint8Array([1]));
    header.splice(4, 1);
    await old.batch([{ type: 'put', key, value: rlpEncode([header, block[1] as Uint8Array[]]) }]);
    await expect(ChainStore.open(old, chain.genesis, OPTS)).rejects.toSatisfy(
      (e) => codeOf(e) === 'CHAIN_OLD_FORMAT' && /header version 1/.test((e as Error).message),
    );
  });

  it('refuses to open a head without its certificate, hash index entry or state root', async () => {
    for (const [what, key] of [
      ['certificate', () => concatBytes(utf8('c/'), u64be(2))],
      ['hash index', (hash: Uint8Array) => concatBytes(utf8('h/'), hash)],
      ['state root', (_: Uint8Array, root: Uint8Array) => concatBytes(utf8('s/n'), root)],
    ] as const) {
      const base = new MemoryKvStore();
      const store = await ChainStore.open(base, chain.genesis, OPTS);
      await commitNext(store, chain, transfers(chain, 0, 4));
      await commitNext(store, chain, transfers(chain, 1, 4));
      const k = key(store.headHash, store.head.stateRoot);
      expect(await base.get(k), `${what} key exists`).toBeDefined();
      await base.batch([{ type: 'del', key: k }]);
      await expect(ChainStore.open(base, chain.genesis, OPTS), what).rejects.toSatisfy(
        (e) => codeOf(e) === 'CHAIN_CORRUPT',
      );
    }
  });

  it('validates proposals: parent, time, body, signatures, and execution results', async () => {
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const good = await store.propose({
      txs: transfers(chain, 0, 3),
      time: { ms: store.head.time.ms + 1, logical: 0 },
      proposer: chain.validators[1]!.address,
      engineData: new Uint8Array(0),
    });
    const ok = await store.validateAndExecute(good.block, {
      nowMs: store.head.time.ms + 10,
      maxFutureDriftMs: 100,
    });
    expect(toHex(ok.hash)).toBe(toHex(good.hash));
    const h = good.block.header;
    const variants: Array<[string, typeof good.block]> = [
      ['parent', { ...good.block, header: { ...h, parentHash: new Uint8Array(32) } }],
      ['height', { ...good.block, header: { ...h, height: 2 } }],
      ['stateRoot', { ...good.block, header: { ...h, stateRoot: new Uint8Array(32) } }],
      ['logRoot', { ...good.block, header: { ...h, logRoot: new Uint8Array(32) } }],
      ['historyRoot', { ...good.block, header: { ...h, historyRoot: new Uint8Array(32) } }],
      ['time', { ...good.block, header: { ...h, time: store.head.time } }],
      ['proposer', { ...good.block, header: { ...h, proposer: chain.accounts[0]!.address } }],
      ['body', { ...good.block, txs: good.block.txs.slice(1) }],
      ['validators', { ...good.block, header: { ...h, validatorsHash: new Uint8Array(32) } }],
    ];
    const badSig = good.block.txs[0]!.slice();
    badSig[badSig.length - 1] = (badSig[badSig.length - 1] as number) ^ 1;
    const { txRoot } = await import('../../ledger/block.ts');
    const txs = [badSig, ...good.block.txs.slice(1)];
    variants.push(['signature', { header: { ...h, txRoot: txRoot(txs) }, txs }]);
    for (const [name, block] of variants) {
      await expect(
        store.validateAndExecute(block, { nowMs: store.head.time.ms + 10, maxFutureDriftMs: 100 }),
        name,
      ).rejects.toSatisfy((e) => codeOf(e) === 'BLOCK_REJECTED');
    }
    expect(toHex(headerHash(h))).toBe(toHex(good.hash));
    // Ahead of the local clock beyond the bound is not invalid: "not yet", with when to retry.
    const future = { ...good.block, header: { ...h, time: { ms: h.time.ms + 1_000_000, logical: 0 } } };
    await expect(
      store.validateAndExecute(future, { nowMs: store.head.time.ms + 10, maxFutureDriftMs: 100 }),
    ).rejects.toSatisfy(
      (e) =>
        codeOf(e) === 'BLOCK_IN_FUTURE' && (e as ChainError).meta.readyAtMs === h.time.ms + 1_000_000 - 100,
    );
  });

  it('keeps the first inclusion of a replayed transaction in the index', async () => {
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const [tx] = transfers(chain, 0, 1) as [EncodedTransaction];
    await commitNext(store, chain, [tx]);
    await commitNext(store, chain, [tx]); // a Byzantine proposer re-includes it
    const loc = await store.getTxLocation(tx.id);
    expect(loc?.height).toBe(1);
    expect(loc?.receipt).toEqual({ ok: true });
    expect(store.log.size).toBe(2); // the log records both: it is the history of what happened
  });
});

describe('the account index', () => {
  const chain = makeTestChain({ label: 'index' });
  const [a, b, c] = chain.accounts as [TestKey, TestKey, TestKey];

  it("lists what an account sent and received, newest first, a block's order kept, and pages by height", async () => {
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const tx = (from: TestKey, nonce: number, to: TestKey) =>
      signTransaction(
        {
          chainId: chain.genesis.chainId,
          sender: from.publicKey,
          nonce,
          op: { type: 'transfer', to: to.address, amount: 1n },
        },
        from.secretKey,
      );
    const put = signTransaction(
      {
        chainId: chain.genesis.chainId,
        sender: c.publicKey,
        nonce: 0,
        op: { type: 'put', key: utf8('k'), value: utf8('v') },
      },
      c.secretKey,
    );
    const t1 = tx(a, 0, b);
    const t2 = tx(b, 0, c);
    const t3 = tx(a, 1, a); // to itself: listed once
    await commitNext(store, chain, [t1, t2]);
    await commitNext(store, chain, [put]);
    await commitNext(store, chain, [t3, t1]); // t1 again (a Byzantine proposer): indexed at its first inclusion only, as by id
    const ids = async (k: TestKey, opts: { limit: number; beforeHeight?: number }) =>
      (await store.accountTxs(k.address, opts)).map(
        (t) => `${t.height}.${t.position}:${toHex(t.id).slice(0, 8)}`,
      );
    const h = (e: EncodedTransaction) => toHex(e.id).slice(0, 8);
    expect(await ids(a, { limit: 10 })).toEqual([`3.0:${h(t3)}`, `1.0:${h(t1)}`]);
    expect(await ids(b, { limit: 10 })).toEqual([`1.1:${h(t2)}`, `1.0:${h(t1)}`]);
    expect(await ids(c, { limit: 10 })).toEqual([`2.0:${h(put)}`, `1.1:${h(t2)}`]);
    expect(await ids(a, { limit: 1 })).toEqual([`3.0:${h(t3)}`]);
    expect(await ids(a, { limit: 10, beforeHeight: 3 })).toEqual([`1.0:${h(t1)}`]);
    expect(await ids(chain.validators[0] as TestKey, { limit: 10 })).toEqual([]);
    expect(store.accountIndexFrom).toBe(1);
  });

  it('a store written before the index covers the blocks committed after it opens, and says so', async () => {
    const kv = new MemoryKvStore();
    const store = await ChainStore.open(kv, chain.genesis, OPTS);
    await commitNext(store, chain, transfers(chain, 0, 1));
    await kv.batch([{ type: 'del', key: utf8('m/account-index-from') }]); // as an older Verity wrote it
    const reopened = await ChainStore.open(kv, chain.genesis, OPTS);
    expect(reopened.accountIndexFrom).toBe(2);
    expect((await ChainStore.open(kv, chain.genesis, OPTS)).accountIndexFrom).toBe(2); // kept
  });
});

describe('speculative execution on uncommitted parents', () => {
  const chain = makeTestChain({ label: 'spec' });

  it('a chain left on a fork the head did not take still executes (predicted from the committed log, as before)', async () => {
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const proposer = chain.validators[0]!.address;
    const at = (ms: number, txs: EncodedTransaction[], parent?: ExecutedBlock) =>
      store.propose({
        txs,
        time: { ms: store.head.time.ms + ms, logical: 0 },
        proposer,
        engineData: new Uint8Array(0),
        ...(parent === undefined ? {} : { parent }),
      });
    const q = await at(1, transfers(chain, 0, 2));
    const p = await at(2, transfers(chain, 1, 1), q);
    // A sibling of q with more entries commits: p's prediction (3 entries) now lies below the log (5).
    const sibling = await at(3, transfers(chain, 0, 5));
    await store.commit(sibling, quorumCertificate(chain, 1, sibling.hash));
    expect(store.log.size).toBe(5);
    const child = await at(4, transfers(chain, 2, 1), p);
    expect(child.block.header.logSize).toBe(7);
    // The descending chain's own predictions still hold: a child of the committed sibling's child.
    const next = await at(5, transfers(chain, 1, 2));
    const grandchild = await at(6, transfers(chain, 2, 2), next);
    await store.commit(next, quorumCertificate(chain, 2, next.hash));
    await store.commit(grandchild, quorumCertificate(chain, 3, grandchild.hash));
    expect(store.log.size).toBe(9);
  });

  it('proposes and validates a chain of uncommitted blocks, then commits them in order', async () => {
    const leaderBase = new MemoryKvStore();
    const leader = await ChainStore.open(leaderBase, chain.genesis, OPTS);
    const follower = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const proposer = chain.validators[0]!.address;
    const b1 = await leader.propose({
      txs: transfers(chain, 0, 4),
      time: { ms: leader.head.time.ms + 1, logical: 0 },
      proposer,
      engineData: new Uint8Array(0),
    });
    const b2 = await leader.propose({
      txs: transfers(chain, 1, 4),
      time: { ms: leader.head.time.ms + 2, logical: 0 },
      proposer,
      engineData: new Uint8Array(0),
      parent: b1,
    });
    const b3 = await leader.propose({
      txs: transfers(chain, 2, 4),
      time: { ms: leader.head.time.ms + 3, logical: 0 },
      proposer,
      engineData: new Uint8Array(0),
      parent: b2,
    });
    expect(b3.block.header.logSize).toBe(12);
    // Every header commits to the hashes of all its ancestors, speculative ones included.
    const ancestry = [leader.headHash, b1.hash, b2.hash];
    for (const [i, b] of [b1, b2, b3].entries())
      expect(toHex(b.block.header.historyRoot), `block ${i + 1}`).toBe(
        toHex(rootOfEntries(ancestry.slice(0, i + 1))),
      );
    // A follower validates the same chain speculatively.
    const f1 = await follower.validateAndExecute(b1.block);
    const f2 = await follower.validateAndExecute(b2.block, { parent: f1 });
    const f3 = await follower.validateAndExecute(b3.block, { parent: f2 });
    expect(toHex(f3.stateRoot)).toBe(toHex(b3.stateRoot));
    // b2 on the head directly is rejected: wrong parent.
    await expect(follower.validateAndExecute(b2.block)).rejects.toThrow(/expected height 1/);
    for (const [store, blocks] of [
      [leader, [b1, b2, b3]],
      [follower, [f1, f2, f3]],
    ] as const) {
      for (const b of blocks) await store.commit(b, quorumCertificate(chain, b.block.header.height, b.hash));
      expect(store.height).toBe(3);
    }
    const reopened = await ChainStore.open(leaderBase, chain.genesis, OPTS);
    expect(reopened.height).toBe(3);
    expect(reopened.history.size).toBe(4);
    expect(toHex(await reopened.history.root(3))).toBe(toHex(b3.block.header.historyRoot));
    expect((await (await reopened.stateAt(2)).getAccount(chain.accounts[0]!.address)).nonce).toBe(2);
    expect((await (await reopened.stateAt(3)).getAccount(chain.accounts[0]!.address)).nonce).toBe(3);
  });

  it('a committed block lets go of the blocks beneath it: a pipelined chain holds only what is uncommitted', async () => {
    // HotStuff executes each block on an uncommitted parent and commits one behind. Kept, the
    // parent links held every block committed since the start (their transactions, receipts,
    // states and overlays) and each read walked every overlay.
    const gc = runInNewContext('gc') as () => void; // exposed by setFlagsFromString below
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const proposer = chain.validators[0]!.address;
    const propose = (nonce: number, parent: ExecutedBlock | undefined) =>
      store.propose({
        txs: transfers(chain, nonce, 4),
        time: { ms: store.head.time.ms + 1 + nonce, logical: 0 },
        proposer,
        engineData: new Uint8Array(0),
        ...(parent === undefined ? {} : { parent }),
      });
    const refs: WeakRef<ExecutedBlock>[] = [];
    const overlays: WeakRef<object>[] = [];
    let newest = await propose(0, undefined);
    refs.push(new WeakRef(newest));
    overlays.push(new WeakRef(newest.overlay));
    for (let n = 1; n <= 20; n++) {
      const next = await propose(n, newest);
      await store.commit(newest, quorumCertificate(chain, newest.block.header.height, newest.hash));
      expect(newest.parent, `block ${n}`).toBeUndefined();
      expect(next.parent).toBe(newest);
      refs.push(new WeakRef(next));
      overlays.push(new WeakRef(next.overlay));
      newest = next;
    }
    // Reads through the detached overlays still see every committed block's state.
    const after = await store.propose({
      txs: transfers(chain, 21, 4),
      time: { ms: store.head.time.ms + 100, logical: 0 },
      proposer,
      engineData: new Uint8Array(0),
      parent: newest,
    });
    expect((await after.state.getAccount(chain.accounts[0]!.address)).nonce).toBe(22);
    await new Promise((r) => setTimeout(r, 0));
    gc();
    // Alive: the newest (uncommitted) block and the committed one it was executed on.
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(2);
    // And their overlays: each committed one reads from the store, not through its parent's.
    expect(overlays.filter((r) => r.deref() !== undefined).length).toBe(2);
  });

  it('abandons a fork without a trace, and refuses to commit out of order', async () => {
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const proposer = chain.validators[0]!.address;
    const a1 = await store.propose({
      txs: transfers(chain, 0, 2),
      time: { ms: store.head.time.ms + 1, logical: 0 },
      proposer,
      engineData: new Uint8Array(0),
    });
    const a2 = await store.propose({
      txs: [],
      time: { ms: store.head.time.ms + 2, logical: 0 },
      proposer,
      engineData: new Uint8Array(0),
      parent: a1,
    });
    const b1 = await store.propose({
      txs: transfers(chain, 0, 1),
      time: { ms: store.head.time.ms + 5, logical: 0 },
      proposer,
      engineData: new Uint8Array(0),
    });
    await expect(store.commit(a2, quorumCertificate(chain, 2, a2.hash))).rejects.toSatisfy(
      (e) => codeOf(e) === 'OUT_OF_ORDER',
    );
    await store.commit(b1, quorumCertificate(chain, 1, b1.hash));
    expect(store.log.size).toBe(1);
    expect(toHex(store.head.stateRoot)).toBe(toHex(b1.stateRoot));
    await expect(store.commit(a1, quorumCertificate(chain, 1, a1.hash))).rejects.toSatisfy(
      (e) => codeOf(e) === 'OUT_OF_ORDER',
    );
  });
});

describe('block bodies', () => {
  /** Block 1 of `count` transfers, proposed (and executed) on a fresh store. */
  async function proposeBlock(chain: ReturnType<typeof makeTestChain>, count: number) {
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    return store.propose({
      txs: transfers(chain, 0, count),
      time: { ms: store.head.time.ms + 1000, logical: 0 },
      proposer: (chain.validators[0] as TestKey).address,
      engineData: new Uint8Array(0),
    });
  }

  it('a block decoded from bytes has its body checked there; a block built any other way is checked when validated', async () => {
    const chain = makeTestChain();
    const built = await proposeBlock(chain, 6);
    const decoded = decodeBlock(encodeBlock(built.block));
    const reordered = [...decoded.txs].reverse();
    // The same header over a reordered body: refused by decoding…
    expect(() => decodeBlock(encodeBlock({ header: decoded.header, txs: reordered }))).toThrow(
      /txRoot does not match/,
    );
    const validator = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const nowMs = Number.MAX_SAFE_INTEGER;
    // …and by validation when the object was not decoded (spread from a decoded one, too).
    await expect(
      validator.validateAndExecute({ header: decoded.header, txs: reordered }, { nowMs }),
    ).rejects.toThrow(/txRoot does not match/);
    await expect(validator.validateAndExecute({ ...decoded, txs: reordered }, { nowMs })).rejects.toThrow(
      /txRoot does not match/,
    );
    expect(toHex((await validator.validateAndExecute(decoded, { nowMs })).hash)).toBe(toHex(built.hash));
  });

  it('transactions the caller holds are taken by their exact bytes, not decoded again; others are decoded', async () => {
    const chain = makeTestChain();
    const store = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const [held, other] = transfers(chain, 0, 2) as [EncodedTransaction, EncodedTransaction];
    const asked: string[] = [];
    const known = (bytes: Uint8Array) => {
      asked.push(toHex(bytes));
      return toHex(bytes) === toHex(held.bytes) ? held : undefined;
    };
    const out = store.decodeTxs([held.bytes.slice(), other.bytes.slice()], known);
    expect(out[0]).toBe(held); // the caller's object itself
    expect(out[1]).not.toBe(other);
    expect(toHex((out[1] as EncodedTransaction).id)).toBe(toHex(other.id)); // decoded and hashed here
    expect(asked).toEqual([toHex(held.bytes), toHex(other.bytes)]);
    // A lookup that answers with another transaction breaks its contract: a bug, not a bad block.
    expect(() => store.decodeTxs([other.bytes], () => held)).toThrow(/invariant broken/);
  });

  it("a verifier (the node's worker pool) checks a proposal's signatures instead of this thread, with the same verdicts", async () => {
    const chain = makeTestChain({ label: 'proposal-verifier' });
    const built = await proposeBlock(chain, 5);
    const validator = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const nowMs = built.block.header.time.ms;
    const asked: number[] = [];
    const priorities = new Set<string | undefined>();
    const recording = (answer?: boolean): BatchVerifier => ({
      async verifyMany(checks, priority) {
        asked.push(checks.length);
        priorities.add(priority);
        return answer === undefined ? verifyEach(checks) : checks.map(() => answer);
      },
    });
    // A verifier that refuses everything: its verdict, not this thread's, decides.
    await expect(
      validator.validateAndExecute(built.block, { nowMs, verifier: recording(false) }),
    ).rejects.toSatisfy(
      (e) => codeOf(e) === 'BLOCK_REJECTED' && /transaction 0: .*does not verify/.test((e as Error).message),
    );
    expect(asked).toEqual([5]);
    // A bad signature is refused as on this thread, naming the transaction.
    const { txRoot } = await import('../../ledger/block.ts');
    const txs = built.block.txs.map((t) => t.slice());
    const last = txs[3] as Uint8Array;
    last[last.length - 1] = (last[last.length - 1] as number) ^ 1;
    const tampered = { header: { ...built.block.header, txRoot: txRoot(txs) }, txs };
    await expect(validator.validateAndExecute(tampered, { nowMs, verifier: recording() })).rejects.toSatisfy(
      (e) => codeOf(e) === 'BLOCK_REJECTED' && /transaction 3: .*does not verify/.test((e as Error).message),
    );
    // The good block verifies through it; what it vouched for is remembered, so not asked again.
    asked.length = 0;
    const ok = await validator.validateAndExecute(built.block, { nowMs, verifier: recording() });
    expect(toHex(ok.hash)).toBe(toHex(built.hash));
    expect(asked).toEqual([1]); // the four untampered ones were checked with the tampered block
    await validator.validateAndExecute(built.block, { nowMs, verifier: recording() });
    expect(asked).toEqual([1]);
    // Consensus waits on these: they go before the intake queued on the pool.
    expect([...priorities]).toEqual(['urgent']);
  });

  it('a block keeps its encoding: the bytes it was decoded from (copied), or its first encoding', async () => {
    const built = await proposeBlock(makeTestChain(), 3);
    const bytes = encodeBlock(built.block);
    expect(encodeBlock(built.block)).toBe(bytes); // encoded once
    const wire = bytes.slice();
    const decoded = decodeBlock(wire);
    wire.fill(0); // the caller's buffer, reused: the block's encoding does not alias it
    expect(toHex(encodeBlock(decoded))).toBe(toHex(bytes));
    // A different object (a spread with another body) is encoded afresh, never given the cached bytes.
    const other = encodeBlock({ ...decoded, txs: decoded.txs.slice(1) });
    expect(toHex(other)).not.toBe(toHex(bytes));
    expect(toHex(decodeBlock(encodeBlock({ ...decoded })).header.txRoot)).toBe(toHex(decoded.header.txRoot));
  });
});
