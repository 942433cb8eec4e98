/**
 * State snapshots (ledger/snapshot.ts): a store at genesis takes the certified state at a height
 * from a chain that is further on, then carries on by replay. Every way a snapshot can be wrong is
 * refused and leaves the receiving store exactly as it was.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { keccak256, sha256 } from '../../crypto/hash.ts';
import { formatAddress } from '../../ledger/address.ts';
import { decodeBlock, encodeBlock } from '../../ledger/block.ts';
import {
  decodeCertificate,
  encodeCertificate,
  LEDGER_CERTIFICATE_SCHEMES,
  type QuorumCertificate,
} from '../../ledger/certificate.ts';
import { ChainStore, type ExecutedBlock } from '../../ledger/chain.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { parseGenesis } from '../../ledger/genesis.ts';
import { type KvStore, MemoryKvStore } from '../../ledger/kv.ts';
import { decodeLogEntry, encodeLogEntry } from '../../ledger/receipt.ts';
import {
  decodeManifest,
  encodeManifest,
  MAX_SNAPSHOT_NODE_BYTES,
  SnapshotError,
  type SnapshotManifest,
  SnapshotReceiver,
  SnapshotSource,
} from '../../ledger/snapshot.ts';
import type { EvidenceVerifier } from '../../ledger/staking/lifecycle.ts';
import { type EncodedTransaction, signTransaction } from '../../ledger/tx.ts';
import { makeTestChain, quorumCertificate, type TestChain, type TestKey } from '../helpers/chain.ts';
import { CrashingKvStore } from '../helpers/faulty-store.ts';

const OPTS = { schemes: LEDGER_CERTIFICATE_SCHEMES };
const SNAPSHOT_HEIGHT = 15;
const FINAL_HEIGHT = 20;

interface Parts {
  readonly state: Uint8Array[];
  readonly log: Uint8Array[];
  readonly history: Uint8Array[];
}

/** Every part of a source, fetched in pages of `page`. */
async function fetchParts(source: SnapshotSource, page = 1_000_000): Promise<Parts> {
  const all = async (fetch: (from: number, count: number) => Promise<Uint8Array[]>, total: number) => {
    const out: Uint8Array[] = [];
    while (out.length < total) {
      const got = await fetch(out.length, page);
      expect(got.length).toBeGreaterThan(0);
      out.push(...got);
    }
    return out;
  };
  const m = source.manifest;
  return {
    state: await all((f, c) => source.stateNodes(f, c), m.stateNodes),
    log: await all((f, c) => source.logEntries(f, c), m.logSize),
    history: await all((f, c) => source.historyHashes(f, c), m.height + 1),
  };
}

/** Feeds `parts` to the receiver in pages of `page`, the way next() asks for them. */
function feed(receiver: SnapshotReceiver, parts: Parts, page = 3): void {
  for (let next = receiver.next(); next !== undefined; next = receiver.next()) {
    const items = parts[next.section].slice(next.from, next.from + page);
    if (items.length === 0) return; // `parts` holds no more of that section
    if (next.section === 'state') receiver.addStateNodes(items);
    else if (next.section === 'log') receiver.addLogEntries(items);
    else receiver.addHistoryHashes(items);
  }
}

function dump(store: MemoryKvStore): string {
  return store
    .entriesSync(new Uint8Array(0))
    .map(([k, v]) => `${toHex(k)}=${toHex(v)}`)
    .join('\n');
}

/** Whether `fn` fails with a SnapshotError of `code` (and `section`, if given). */
async function expectSnapshotError(
  fn: () => unknown,
  code: string,
  section?: string,
): Promise<SnapshotError> {
  let caught: unknown;
  try {
    await fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(SnapshotError);
  const e = caught as SnapshotError;
  expect(e.code, e.message).toBe(code);
  if (section !== undefined) expect(e.meta.section, e.message).toBe(section);
  return e;
}

describe('state snapshots', () => {
  const chain = makeTestChain({ label: 'snapshot', accounts: 8 });
  const nonces = new Map<TestKey, number>();
  const txsByHeight = new Map<number, EncodedTransaction[]>();
  const recordKey = (h: number) => utf8(`record:${h}`);
  let source: ChainStore;
  let source15: SnapshotSource;
  let early: Parts;
  let genesisDump: string;

  function tx(key: TestKey, op: Parameters<typeof signTransaction>[0]['op']): EncodedTransaction {
    const nonce = nonces.get(key) ?? 0;
    nonces.set(key, nonce + 1);
    return signTransaction(
      { chainId: chain.genesis.chainId, sender: key.publicKey, nonce, op },
      key.secretKey,
    );
  }

  async function commitNext(store: ChainStore, txs: EncodedTransaction[]): Promise<ExecutedBlock> {
    const executed = await store.propose({
      txs,
      time: { ms: store.head.time.ms + 1000, logical: 0 },
      proposer: (chain.validators[0] as TestKey).address,
      engineData: new Uint8Array(0),
    });
    await store.commit(executed, quorumCertificate(chain, executed.block.header.height, executed.hash));
    return executed;
  }

  async function receiverStore(): Promise<{ base: MemoryKvStore; store: ChainStore }> {
    const base = new MemoryKvStore();
    return { base, store: await ChainStore.open(base, chain.genesis, OPTS) };
  }

  /** The receiving store is exactly a fresh genesis store: nothing of a refused snapshot stuck. */
  async function expectUntouched(base: MemoryKvStore, store: ChainStore): Promise<void> {
    expect(store.height).toBe(0);
    expect(store.log.size).toBe(0);
    expect(store.history.size).toBe(1);
    expect(store.lowestBlock).toBe(1);
    expect(dump(base)).toBe(genesisDump);
    const reopened = await ChainStore.open(base, chain.genesis, OPTS);
    expect(reopened.height).toBe(0);
  }

  beforeAll(async () => {
    source = await ChainStore.open(new MemoryKvStore(), chain.genesis, OPTS);
    const accounts = chain.accounts;
    let replayed: EncodedTransaction | undefined;
    for (let h = 1; h <= FINAL_HEIGHT; h++) {
      const txs: EncodedTransaction[] = [];
      for (let i = 0; i < 5; i++) {
        const from = accounts[(h + i) % accounts.length] as TestKey;
        const to = accounts[(h + i + 3) % accounts.length] as TestKey;
        txs.push(tx(from, { type: 'transfer', to: to.address, amount: BigInt(h * 10 + i) }));
      }
      const writer = accounts[(h + 6) % accounts.length] as TestKey;
      txs.push(tx(writer, { type: 'put', key: recordKey(h), value: utf8(`value at ${h}`) }));
      if (h === 5) replayed = txs[0];
      // A replayed copy of a block-5 transaction: in the log (BAD_NONCE), never in the index.
      if (h === 9) txs.push(replayed as EncodedTransaction);
      if (h === 11) txs.length = 0; // an empty block
      txsByHeight.set(h, txs);
      await commitNext(source, txs);
      if (h === SNAPSHOT_HEIGHT) {
        source15 = await SnapshotSource.open(source, SNAPSHOT_HEIGHT);
        early = await fetchParts(source15, 5);
      }
    }
    const fresh = new MemoryKvStore();
    await ChainStore.open(fresh, chain.genesis, OPTS);
    genesisDump = dump(fresh);
  });

  it('a store at genesis takes the snapshot at 15, reopens, and carries on by replay', async () => {
    expect(source.height).toBe(FINAL_HEIGHT);
    const m = source15.manifest;
    expect(m.height).toBe(SNAPSHOT_HEIGHT);
    const head15 = (await source.getBlock(SNAPSHOT_HEIGHT))?.header;
    expect(m.logSize).toBe(head15?.logSize);
    expect(m.stateNodes).toBeGreaterThan(10);
    // Opened at 15, served after the chain moved on to 20: the very same parts.
    const late = await fetchParts(source15, 3);
    expect(late.state.map(toHex)).toEqual(early.state.map(toHex));
    expect(late.log.map(toHex)).toEqual(early.log.map(toHex));
    expect(late.history.map(toHex)).toEqual(early.history.map(toHex));
    expect(late.history).toHaveLength(SNAPSHOT_HEIGHT + 1);

    // Over the wire: the manifest, then the parts in pages of 3 as next() asks for them.
    const { base, store } = await receiverStore();
    const manifest = decodeManifest(encodeManifest(m));
    const receiver = await SnapshotReceiver.start(store, manifest);
    expect(receiver.next()).toEqual({ section: 'state', from: 0 });
    let asked = 0;
    for (let next = receiver.next(); next !== undefined; next = receiver.next()) {
      asked++;
      if (next.section === 'state') receiver.addStateNodes(await source15.stateNodes(next.from, 3));
      else if (next.section === 'log') receiver.addLogEntries(await source15.logEntries(next.from, 3));
      else receiver.addHistoryHashes(await source15.historyHashes(next.from, 3));
    }
    expect(asked).toBe(
      Math.ceil(m.stateNodes / 3) + Math.ceil(m.logSize / 3) + Math.ceil((SNAPSHOT_HEIGHT + 1) / 3),
    );
    expect(dump(base)).toBe(genesisDump); // nothing written before install
    await receiver.install();

    const check = async (s: ChainStore) => {
      expect(s.height).toBe(SNAPSHOT_HEIGHT);
      expect(toHex(s.headHash)).toBe(toHex(source15HeadHash()));
      expect(s.lowestBlock).toBe(SNAPSHOT_HEIGHT);
      expect(s.accountIndexFrom).toBe(SNAPSHOT_HEIGHT + 1);
      const state = await s.stateAt();
      const sourceState = await source.stateAt(SNAPSHOT_HEIGHT);
      expect(toHex(state.root())).toBe(toHex(head15?.stateRoot as Uint8Array));
      for (const a of chain.accounts)
        expect(await state.getAccount(a.address)).toEqual(await sourceState.getAccount(a.address));
      expect(await state.getRecord(recordKey(7))).toEqual(await sourceState.getRecord(recordKey(7)));
      expect((await state.getRecord(recordKey(7)))?.value).toEqual(utf8('value at 7'));
      expect(await state.getRecord(recordKey(16))).toBeUndefined();
      expect(s.log.size).toBe(m.logSize);
      expect(toHex(await s.log.root())).toBe(toHex(head15?.logRoot as Uint8Array));
      expect(toHex(await s.history.root(SNAPSHOT_HEIGHT))).toBe(toHex(head15?.historyRoot as Uint8Array));
      // The transaction index, for every committed transaction up to 15.
      const b5 = txsByHeight.get(5) as EncodedTransaction[];
      expect(await s.getTxLocation((b5[2] as EncodedTransaction).id)).toEqual({
        height: 5,
        position: 2,
        logIndex: 4 * 6 + 2,
        receipt: { ok: true },
      });
      const b15 = txsByHeight.get(15) as EncodedTransaction[];
      const last15 = b15[b15.length - 1] as EncodedTransaction;
      expect(await s.getTxLocation(last15.id)).toEqual(await source.getTxLocation(last15.id));
      expect((await s.getTxLocation(last15.id))?.height).toBe(15);
      for (let h = 1; h <= SNAPSHOT_HEIGHT; h++)
        for (const t of txsByHeight.get(h) as EncodedTransaction[])
          expect(await s.getTxLocation(t.id)).toEqual(await source.getTxLocation(t.id));
      // The replayed copy in block 9 did not shadow block 5's inclusion.
      expect((await s.getTxLocation((b5[0] as EncodedTransaction).id))?.height).toBe(5);
      // Block 15 and its certificate are held; blocks 1 … 14 are not.
      expect(toHex((await s.getBlockBytes(15)) as Uint8Array)).toBe(toHex(m.block));
      expect(toHex((await s.getCertificateBytes(15)) as Uint8Array)).toBe(toHex(m.certificate));
      expect((await s.getCertificate(15))?.height).toBe(15);
      expect(await s.getBlock(5)).toBeUndefined();
      expect(await s.getBlockBytes(14)).toBeUndefined();
      expect(await s.getCertificate(5)).toBeUndefined();
      expect(await s.getCertificateBytes(1)).toBeUndefined();
      expect(await s.heightOfHash(source15History(5))).toBeUndefined();
      expect(await s.heightOfHash(source15History(15))).toBe(15);
      expect((await s.getBlock(0))?.header.height).toBe(0);
    };
    await check(store);
    // The store reopens: its integrity checks (log, history, trie root against the head) pass.
    const reopened = await ChainStore.open(base, chain.genesis, OPTS);
    await check(reopened);

    // The catch-up continues by replay: blocks 16 … 20 from the source, validated and executed.
    for (let h = SNAPSHOT_HEIGHT + 1; h <= FINAL_HEIGHT; h++) {
      const block = (await source.getBlock(h)) as NonNullable<Awaited<ReturnType<ChainStore['getBlock']>>>;
      const executed = await reopened.validateAndExecute(block);
      await reopened.commit(executed, (await source.getCertificate(h)) as QuorumCertificate);
    }
    expect(reopened.height).toBe(FINAL_HEIGHT);
    expect(toHex(reopened.headHash)).toBe(toHex(source.headHash));
    expect(toHex(await reopened.log.root())).toBe(toHex(await source.log.root()));
    const b16 = txsByHeight.get(16) as EncodedTransaction[];
    expect(await reopened.getTxLocation((b16[0] as EncodedTransaction).id)).toEqual(
      await source.getTxLocation((b16[0] as EncodedTransaction).id),
    );
    // From 16 on, the account index covers it.
    expect(
      (await reopened.accountTxs((chain.accounts[0] as TestKey).address, { limit: 100 })).every(
        (t) => t.height > SNAPSHOT_HEIGHT,
      ),
    ).toBe(true);
    expect((await reopened.accountTxs((chain.accounts[0] as TestKey).address, { limit: 100 })).length).toBe(
      (await source.accountTxs((chain.accounts[0] as TestKey).address, { limit: 100 })).filter(
        (t) => t.height > SNAPSHOT_HEIGHT,
      ).length,
    );
    // The installed store serves snapshots in turn — from 15 up, not below.
    const again = await SnapshotSource.open(reopened, SNAPSHOT_HEIGHT);
    expect(encodeManifest(again.manifest)).toEqual(encodeManifest(m));
    expect((await fetchParts(again)).state.map(toHex)).toEqual(early.state.map(toHex));
    await expectSnapshotError(() => SnapshotSource.open(reopened, 10), 'SNAPSHOT_UNAVAILABLE');
    expect(receiver.next()).toBeUndefined();
    await expectSnapshotError(() => receiver.install(), 'SNAPSHOT_UNSUPPORTED');
  });

  function source15HeadHash(): Uint8Array {
    return early.history[SNAPSHOT_HEIGHT] as Uint8Array;
  }
  function source15History(i: number): Uint8Array {
    return early.history[i] as Uint8Array;
  }

  it('a source serves only committed heights it holds, in parts within range', async () => {
    await expectSnapshotError(() => SnapshotSource.open(source, 0), 'SNAPSHOT_UNAVAILABLE');
    await expectSnapshotError(() => SnapshotSource.open(source, FINAL_HEIGHT + 1), 'SNAPSHOT_UNAVAILABLE');
    const m = source15.manifest;
    expect(await source15.stateNodes(m.stateNodes, 5)).toEqual([]);
    expect(await source15.logEntries(m.logSize - 1, 5)).toHaveLength(1);
    expect(await source15.historyHashes(SNAPSHOT_HEIGHT, 5)).toHaveLength(1);
    expect(await source15.historyHashes(0, 0)).toEqual([]);
    await expectSnapshotError(() => source15.stateNodes(-1, 5), 'SNAPSHOT_INVALID');
    // The walk holds each distinct node once, every one within the size cap.
    expect(new Set(early.state.map(toHex)).size).toBe(early.state.length);
    expect(early.state.every((n) => n.length <= MAX_SNAPSHOT_NODE_BYTES)).toBe(true);
    // The log entries are the stored ones.
    expect(decodeLogEntry(early.log[0] as Uint8Array).height).toBe(1);
  });

  it('the manifest round-trips, strictly', async () => {
    const m = source15.manifest;
    const bytes = encodeManifest(m);
    expect(decodeManifest(bytes)).toEqual(m);
    await expectSnapshotError(() => decodeManifest(bytes.subarray(0, bytes.length - 1)), 'SNAPSHOT_INVALID');
    await expectSnapshotError(
      () => decodeManifest(rlpEncode([1, m.height, m.block, m.certificate, m.stateNodes, m.logSize, 0])),
      'SNAPSHOT_INVALID',
    );
    await expectSnapshotError(
      () => decodeManifest(rlpEncode([2, m.height, m.block, m.certificate, m.stateNodes, m.logSize])),
      'SNAPSHOT_UNSUPPORTED',
    );
    await expectSnapshotError(
      () => decodeManifest(rlpEncode([1, 0, m.block, m.certificate, m.stateNodes, m.logSize])),
      'SNAPSHOT_INVALID',
    );
    await expectSnapshotError(
      () => decodeManifest(bytes, { maxBlockBytes: m.block.length - 1 }),
      'SNAPSHOT_INVALID',
    );
  });

  describe('refused, leaving the receiving store as it was', () => {
    async function start(manifest: SnapshotManifest = source15.manifest, maxBytes?: number) {
      const { base, store } = await receiverStore();
      const receiver = await SnapshotReceiver.start(
        store,
        manifest,
        maxBytes === undefined ? {} : { maxBytes },
      );
      return { base, store, receiver };
    }

    it('a tampered state node, at once; the right one is then taken', async () => {
      const { base, store, receiver } = await start();
      const k = 4;
      feed(receiver, { ...early, state: early.state.slice(0, k) }, 3);
      expect(receiver.next()).toEqual({ section: 'state', from: k });
      const tampered = (early.state[k] as Uint8Array).slice();
      tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1;
      const e = await expectSnapshotError(
        () => receiver.addStateNodes([tampered]),
        'SNAPSHOT_INVALID',
        'state',
      );
      expect(e.meta.index).toBe(k);
      // The call was refused whole: the receiver still asks for node k.
      await expectSnapshotError(
        () => receiver.addStateNodes([early.state[k] as Uint8Array, tampered]),
        'SNAPSHOT_INVALID',
        'state',
      );
      expect(receiver.next()).toEqual({ section: 'state', from: k });
      await expectSnapshotError(() => receiver.install(), 'SNAPSHOT_INCOMPLETE');
      await expectUntouched(base, store);
      feed(receiver, early, 7);
      await receiver.install();
      expect(store.height).toBe(SNAPSHOT_HEIGHT);
    });

    it('a missing state node: one left out, one replaced by a valid node of another root', async () => {
      const skipped = await start();
      const without = [...early.state.slice(0, 6), ...early.state.slice(7)];
      await expectSnapshotError(
        () => feed(skipped.receiver, { ...early, state: without }),
        'SNAPSHOT_INVALID',
        'state',
      );
      await expectUntouched(skipped.base, skipped.store);

      // A node of block 3's trie that block 15's does not have: well-formed, stored, but not this one.
      const other = await fetchParts(await SnapshotSource.open(source, 3));
      const mine = new Set(early.state.map(toHex));
      const foreign = other.state.find((n) => !mine.has(toHex(n))) as Uint8Array;
      expect(foreign).toBeDefined();
      const replaced = await start();
      const swapped = early.state.slice();
      swapped[early.state.length - 1] = foreign;
      const e = await expectSnapshotError(
        () => feed(replaced.receiver, { ...early, state: swapped }),
        'SNAPSHOT_INVALID',
        'state',
      );
      expect(e.meta.index).toBe(early.state.length - 1);
      await expectUntouched(replaced.base, replaced.store);
    });

    it('a manifest that miscounts the state nodes, either way', async () => {
      const fewer = await start({ ...source15.manifest, stateNodes: source15.manifest.stateNodes - 1 });
      await expectSnapshotError(
        () => feed(fewer.receiver, { ...early, state: early.state.slice(0, -1) }),
        'SNAPSHOT_INVALID',
        'manifest',
      );
      await expectSnapshotError(() => fewer.receiver.install(), 'SNAPSHOT_INCOMPLETE');
      await expectUntouched(fewer.base, fewer.store);
      const more = await start({ ...source15.manifest, stateNodes: source15.manifest.stateNodes + 1 });
      await expectSnapshotError(() => feed(more.receiver, early), 'SNAPSHOT_INVALID', 'manifest');
      await expectUntouched(more.base, more.store);
    });

    it('a tampered log entry: its root fails, the log section starts over', async () => {
      const { base, store, receiver } = await start();
      const log = early.log.slice();
      const entry = decodeLogEntry(log[7] as Uint8Array);
      // Well-formed, in order, but another receipt than the one committed.
      log[7] = encodeLogEntry({ ...entry, receipt: { ok: false, code: 'INSUFFICIENT_FUNDS' } });
      const e = await expectSnapshotError(() => feed(receiver, { ...early, log }), 'SNAPSHOT_INVALID', 'log');
      expect(e.meta.restart).toBe(true);
      expect(receiver.next()).toEqual({ section: 'log', from: 0 });
      await expectSnapshotError(() => receiver.install(), 'SNAPSHOT_INCOMPLETE');
      await expectUntouched(base, store);
      // Out of order, or an entry of block 15 that is not its transaction: refused on arrival.
      const swapped = early.log.slice();
      [swapped[0], swapped[20]] = [swapped[20] as Uint8Array, swapped[0] as Uint8Array];
      await expectSnapshotError(() => feed(receiver, { ...early, log: swapped }), 'SNAPSHOT_INVALID', 'log');
      const last = early.log.slice();
      const l = decodeLogEntry(last[last.length - 1] as Uint8Array);
      last[last.length - 1] = encodeLogEntry({ ...l, txId: sha256(utf8('not in block 15')) });
      const fresh = await start();
      await expectSnapshotError(
        () => feed(fresh.receiver, { ...early, log: last }),
        'SNAPSHOT_INVALID',
        'log',
      );
      await expectUntouched(fresh.base, fresh.store);
    });

    it('a wrong history hash', async () => {
      const { base, store, receiver } = await start();
      const history = early.history.slice();
      history[7] = sha256(utf8('not block 7'));
      const e = await expectSnapshotError(
        () => feed(receiver, { ...early, history }),
        'SNAPSHOT_INVALID',
        'history',
      );
      expect(e.meta.restart).toBe(true);
      await expectUntouched(base, store);
      // Hash 0 must be this chain's genesis, hash 15 the block's: refused on arrival.
      for (const i of [0, SNAPSHOT_HEIGHT - 1, SNAPSHOT_HEIGHT]) {
        const wrong = early.history.slice();
        wrong[i] = early.history[(i + 1) % wrong.length] as Uint8Array;
        const fresh = await start();
        const err = await expectSnapshotError(
          () => feed(fresh.receiver, { ...early, history: wrong }, 20),
          'SNAPSHOT_INVALID',
          'history',
        );
        expect(err.meta.index).toBe(i);
        await expectUntouched(fresh.base, fresh.store);
      }
    });

    it('a certificate for another block, or with a bad signature', async () => {
      const { base, store } = await receiverStore();
      const m = source15.manifest;
      const cert14 = (await source.getCertificateBytes(14)) as Uint8Array;
      await expectSnapshotError(
        () => SnapshotReceiver.start(store, { ...m, certificate: cert14 }),
        'SNAPSHOT_INVALID',
        'manifest',
      );
      const cert = decodeCertificate(m.certificate, LEDGER_CERTIFICATE_SCHEMES) as QuorumCertificate;
      const signature = (cert.votes[1] as { signature: Uint8Array }).signature.slice();
      signature[0] = (signature[0] as number) ^ 1;
      const forged: QuorumCertificate = {
        ...cert,
        votes: cert.votes.map((v, i) => (i === 1 ? { ...v, signature } : v)),
      };
      const e = await expectSnapshotError(
        () =>
          SnapshotReceiver.start(store, {
            ...m,
            certificate: encodeCertificate(forged, LEDGER_CERTIFICATE_SCHEMES),
          }),
        'SNAPSHOT_INVALID',
        'manifest',
      );
      expect(e.message).toMatch(/signature/);
      // Too few signers for a quorum.
      const thin = quorumCertificate(chain, SNAPSHOT_HEIGHT, source15HeadHash(), [0, 1]);
      await expectSnapshotError(
        () =>
          SnapshotReceiver.start(store, {
            ...m,
            certificate: encodeCertificate(thin, LEDGER_CERTIFICATE_SCHEMES),
          }),
        'SNAPSHOT_INVALID',
        'manifest',
      );
      await expectSnapshotError(
        () => SnapshotReceiver.start(store, { ...m, certificate: new Uint8Array([1, 2, 3]) }),
        'SNAPSHOT_INVALID',
        'manifest',
      );
      await expectUntouched(base, store);
    });

    it("a manifest block that is not the certificate's", async () => {
      const { base, store } = await receiverStore();
      const m = source15.manifest;
      const block = decodeBlock(m.block);
      // Same height, same body, another header: a block nobody certified.
      const other = encodeBlock({ ...block, header: { ...block.header, engineData: utf8('forged') } });
      const e = await expectSnapshotError(
        () => SnapshotReceiver.start(store, { ...m, block: other }),
        'SNAPSHOT_INVALID',
        'manifest',
      );
      expect(e.message).toMatch(/different block/);
      // Block 14 under the manifest's height 15, and block 14 with its certificate as height 15.
      const b14 = (await source.getBlockBytes(14)) as Uint8Array;
      await expectSnapshotError(
        () => SnapshotReceiver.start(store, { ...m, block: b14 }),
        'SNAPSHOT_INVALID',
      );
      const c14 = (await source.getCertificateBytes(14)) as Uint8Array;
      await expectSnapshotError(
        () => SnapshotReceiver.start(store, { ...m, block: b14, certificate: c14 }),
        'SNAPSHOT_INVALID',
        'manifest',
      );
      await expectSnapshotError(
        () => SnapshotReceiver.start(store, { ...m, logSize: m.logSize + 1 }),
        'SNAPSHOT_INVALID',
        'manifest',
      );
      await expectUntouched(base, store);
    });

    it('a store past genesis (SNAPSHOT_UNSUPPORTED), also when it moved on after start', async () => {
      const { store } = await receiverStore();
      await commitNext(store, []);
      await expectSnapshotError(
        () => SnapshotReceiver.start(store, source15.manifest),
        'SNAPSHOT_UNSUPPORTED',
      );
      const moved = await start();
      feed(moved.receiver, early);
      await commitNext(moved.store, []);
      const before = dump(moved.base);
      await expectSnapshotError(() => moved.receiver.install(), 'SNAPSHOT_UNSUPPORTED');
      expect(dump(moved.base)).toBe(before);
      expect(moved.store.height).toBe(1);
    });

    it('a chain with staking (SNAPSHOT_UNSUPPORTED)', async () => {
      const genesis = parseGenesis({
        ...chain.genesisJson,
        staking: { mode: 'open', epochLength: 4, unbondingPeriod: 8, powerUnit: '1', maxValidators: 8 },
      });
      const refuseAll: EvidenceVerifier = async () => ({ ok: false, reason: 'not under test' });
      const store = await ChainStore.open(new MemoryKvStore(), genesis, {
        ...OPTS,
        verifyEvidence: refuseAll,
      });
      const e = await expectSnapshotError(
        () => SnapshotReceiver.start(store, source15.manifest),
        'SNAPSHOT_UNSUPPORTED',
      );
      expect(e.message).toMatch(/staking/);
    });

    it('too many parts, or more bytes than the receiver accepts (SNAPSHOT_INVALID)', async () => {
      const { base, store, receiver } = await start();
      await expectSnapshotError(
        () => receiver.addStateNodes([...early.state, early.state[0] as Uint8Array]),
        'SNAPSHOT_INVALID',
        'state',
      );
      feed(receiver, { ...early, log: [], history: [] }, 1000);
      expect(receiver.next()).toEqual({ section: 'log', from: 0 });
      await expectSnapshotError(
        () => receiver.addStateNodes([early.state[0] as Uint8Array]),
        'SNAPSHOT_INVALID',
      );
      await expectSnapshotError(
        () => receiver.addLogEntries([...early.log, early.log[0] as Uint8Array]),
        'SNAPSHOT_INVALID',
        'log',
      );
      receiver.addLogEntries(early.log);
      await expectSnapshotError(
        () => receiver.addHistoryHashes([...early.history, early.history[0] as Uint8Array]),
        'SNAPSHOT_INVALID',
        'history',
      );
      await expectUntouched(base, store);
      const oversized = await start();
      const err = await expectSnapshotError(
        () => oversized.receiver.addStateNodes([new Uint8Array(MAX_SNAPSHOT_NODE_BYTES + 1)]),
        'SNAPSHOT_INVALID',
        'state',
      );
      expect(err.message).toMatch(/bytes, above/);

      // A byte cap below what the manifest announces: refused at start; below what the parts
      // weigh: refused when they cross it.
      await expectSnapshotError(() => start(source15.manifest, 1000), 'SNAPSHOT_INVALID', 'manifest');
      const total =
        early.state.reduce((n, x) => n + x.length, 0) +
        early.log.reduce((n, x) => n + x.length, 0) +
        early.history.length * 32;
      const capped = await start(source15.manifest, total - 1);
      const e = await expectSnapshotError(() => feed(capped.receiver, early, 50), 'SNAPSHOT_INVALID');
      expect(e.meta.maxBytes).toBe(total - 1);
      const exact = await start(source15.manifest, total);
      feed(exact.receiver, early, 50);
      expect(exact.receiver.bytes).toBe(total);
    });

    it('a failed write leaves store and chain object as they were; install can be retried', async () => {
      const base = new MemoryKvStore();
      const crashing = new CrashingKvStore(base);
      const store = await ChainStore.open(crashing, chain.genesis, OPTS);
      const receiver = await SnapshotReceiver.start(store, source15.manifest);
      feed(receiver, early, 100);
      crashing.budget = 0;
      await expect(receiver.install()).rejects.toThrow(/simulated crash/);
      await expectUntouched(base, store);
      crashing.budget = Number.POSITIVE_INFINITY;
      await receiver.install();
      expect(store.height).toBe(SNAPSHOT_HEIGHT);
      expect((await ChainStore.open(base, chain.genesis, OPTS)).lowestBlock).toBe(SNAPSHOT_HEIGHT);
    });
  });

  it('installSnapshot re-checks the parts it writes (SNAPSHOT_REJECTED), writing nothing', async () => {
    const { base, store } = await receiverStore();
    const block = decodeBlock(source15.manifest.block);
    const certificate = decodeCertificate(source15.manifest.certificate, LEDGER_CERTIFICATE_SCHEMES);
    const nodes = early.state.map((bytes) => ({ hash: keccak256(bytes), bytes }));
    const good = {
      block,
      certificate,
      stateNodes: nodes,
      logEntries: early.log,
      historyHashes: early.history,
    };
    for (const bad of [
      { ...good, logEntries: early.log.slice(0, -1) },
      { ...good, historyHashes: early.history.slice(0, -1) },
      { ...good, stateNodes: [] },
      {
        ...good,
        certificate: decodeCertificate(
          (await source.getCertificateBytes(14)) as Uint8Array,
          LEDGER_CERTIFICATE_SCHEMES,
        ),
      },
    ]) {
      await expect(store.installSnapshot(bad)).rejects.toSatisfy(
        (e) => (e as { code?: string }).code === 'SNAPSHOT_REJECTED',
      );
      await expectUntouched(base, store);
    }
    await store.installSnapshot(good);
    expect(store.height).toBe(SNAPSHOT_HEIGHT);
  });
});

describe('snapshot of a bigger state', () => {
  it('20,000 accounts: walk, transfer and install', async () => {
    const base = makeTestChain({ label: 'snapshot-big', accounts: 1 });
    const accounts = Array.from({ length: 20_000 }, (_, i) => ({
      address: formatAddress(sha256(utf8(`big:${i}`)).subarray(0, 20)),
      balance: String(1000 + i),
    }));
    const genesis = parseGenesis({
      ...base.genesisJson,
      accounts: [...(base.genesisJson.accounts as object[]), ...accounts],
    });
    const big: TestChain = { ...base, genesis };
    const source = await ChainStore.open(new MemoryKvStore(), genesis, OPTS);
    const sender = big.accounts[0] as TestKey;
    const txs = Array.from({ length: 50 }, (_, i) =>
      signTransaction(
        {
          chainId: genesis.chainId,
          sender: sender.publicKey,
          nonce: i,
          op: { type: 'transfer', to: sha256(utf8(`big:${i}`)).subarray(0, 20), amount: 1n },
        },
        sender.secretKey,
      ),
    );
    const executed = await source.propose({
      txs,
      time: { ms: source.head.time.ms + 1000, logical: 0 },
      proposer: (big.validators[0] as TestKey).address,
      engineData: new Uint8Array(0),
    });
    await source.commit(executed, quorumCertificate(big, 1, executed.hash));

    const snap = await SnapshotSource.open(source, 1);
    const target = new MemoryKvStore();
    const store = await ChainStore.open(target as KvStore, genesis, OPTS);
    const receiver = await SnapshotReceiver.start(store, decodeManifest(encodeManifest(snap.manifest)));
    for (let next = receiver.next(); next !== undefined; next = receiver.next()) {
      if (next.section === 'state') receiver.addStateNodes(await snap.stateNodes(next.from, 4096));
      else if (next.section === 'log') receiver.addLogEntries(await snap.logEntries(next.from, 4096));
      else receiver.addHistoryHashes(await snap.historyHashes(next.from, 4096));
    }
    await receiver.install();
    const reopened = await ChainStore.open(target, genesis, OPTS);
    expect(toHex(reopened.head.stateRoot)).toBe(toHex(executed.stateRoot));
    const state = await reopened.stateAt();
    expect((await state.getAccount(sha256(utf8('big:7')).subarray(0, 20))).balance).toBe(1008n);
    expect((await state.getAccount(sha256(utf8('big:19999')).subarray(0, 20))).balance).toBe(20_999n);
  });
});
