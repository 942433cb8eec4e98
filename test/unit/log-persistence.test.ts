/**
 * The log's state lives in the store: reopening recovers size, roots and proofs; each append is one
 * atomic batch, so a failure between batches leaves the previous committed state.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import type { KvIterateOptions, KvOp, KvStore } from '../../ledger/kv.ts';
import { MemoryKvStore, StagedKvStore } from '../../ledger/kv.ts';
import { leafHash } from '../../ledger/log/hashing.ts';
import { LogError, TransparencyLog, verifyConsistency, verifyInclusion } from '../../ledger/log/index.ts';
import { LogKeys } from '../../ledger/log/layout.ts';
import { LevelKvStore } from '../../src/storage/level-kv.ts';

const entryOf = (i: number) => utf8(`persist-${i}`);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, j) => entryOf(from + j));

/** Delegating store that counts calls and can fail or silently drop chosen batches. */
class FaultyStore implements KvStore {
  readonly inner: KvStore;
  batches = 0;
  gets = 0;
  /** Batch numbers (1-based) that throw before touching the inner store. */
  readonly failOn = new Set<number>();
  /** Batch numbers that resolve but are never written (a lost unsynced write). */
  readonly dropOn = new Set<number>();

  constructor(inner: KvStore) {
    this.inner = inner;
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    this.gets++;
    return this.inner.get(key);
  }

  async batch(ops: readonly KvOp[]): Promise<void> {
    this.batches++;
    if (this.failOn.has(this.batches)) throw new Error('simulated crash during batch');
    if (this.dropOn.has(this.batches)) return;
    await this.inner.batch(ops);
  }

  iterate(prefix: Uint8Array, opts?: KvIterateOptions): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    return this.inner.iterate(prefix, opts);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Everything a reader can observe, to compare a log before and after reopening. */
async function snapshot(log: TransparencyLog) {
  const n = log.size;
  const roots: string[] = [];
  for (let s = 0; s <= n; s++) roots.push(toHex(await log.root(s)));
  const proofs: string[][] = [];
  for (let s = 1; s <= n; s += 7) {
    proofs.push((await log.inclusionProof(s - 1, s)).map(toHex), (await log.inclusionProof(0, s)).map(toHex));
    proofs.push((await log.consistencyProof(Math.floor(s / 3), s)).map(toHex));
  }
  const entries: string[] = [];
  for (let i = 0; i < n; i++) entries.push(toHex((await log.getEntry(i)) as Uint8Array));
  return { n, roots, proofs, entries };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tmpLevel(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'verity-log-'));
  dirs.push(d);
  return d;
}

describe('reopen', () => {
  it('MemoryKvStore: a new log over the same store has the same size, roots, proofs and entries', async () => {
    const store = new MemoryKvStore();
    const log = await TransparencyLog.create({ store });
    for (const [a, b] of [
      [0, 1],
      [1, 7],
      [7, 64],
      [64, 65],
      [65, 100],
    ] as const) {
      await log.append(range(a, b));
    }
    const again = await TransparencyLog.create({ store });
    expect(await snapshot(again)).toEqual(await snapshot(log));
    // And it keeps appending from the recovered frontier.
    await Promise.all([log.append(range(100, 131)), again.append(range(100, 131))]);
    expect(toHex(await again.root())).toBe(toHex(await log.root()));
  });

  it('LevelKvStore: close, reopen from disk, same state; appends continue', async () => {
    const path = await tmpLevel();
    let store = await LevelKvStore.open(path);
    let log = await TransparencyLog.create({ store });
    for (let i = 0; i < 90; i += 9) await log.append(range(i, i + 9));
    const before = await snapshot(log);
    await store.close();

    store = await LevelKvStore.open(path);
    log = await TransparencyLog.create({ store });
    expect(await snapshot(log)).toEqual(before);
    await log.append(range(90, 100));
    await store.close();

    store = await LevelKvStore.open(path);
    log = await TransparencyLog.create({ store });
    const mem = await TransparencyLog.create();
    await mem.append(range(0, 100));
    expect(log.size).toBe(100);
    expect(toHex(await log.root())).toBe(toHex(await mem.root()));
    expect(toHex(await log.root(37))).toBe(toHex(await mem.root(37)));
    await store.close();
  });

  it('an empty store opens as the empty log', async () => {
    const log = await TransparencyLog.create({ store: new MemoryKvStore() });
    expect(log.size).toBe(0);
    expect(toHex(await log.root())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

describe('atomicity', () => {
  it('each non-empty append is exactly one batch; empty appends none; appends read nothing', async () => {
    const store = new FaultyStore(new MemoryKvStore());
    const log = await TransparencyLog.create({ store });
    const readsAtOpen = store.gets;
    await log.append(range(0, 1000));
    expect(store.batches).toBe(1);
    await log.append([entryOf(1000)]);
    expect(store.batches).toBe(2);
    await log.append([]);
    expect(store.batches).toBe(2);
    expect(store.gets).toBe(readsAtOpen);
  });

  it('a batch that throws leaves the previous state, in memory and in the store', async () => {
    const mem = new MemoryKvStore();
    const store = new FaultyStore(mem);
    const log = await TransparencyLog.create({ store });
    await log.append(range(0, 10));
    const before = await snapshot(log);
    store.failOn.add(2);
    await expect(log.append(range(10, 20))).rejects.toThrow('simulated crash');
    expect(await snapshot(log)).toEqual(before);
    expect(await snapshot(await TransparencyLog.create({ store: mem }))).toEqual(before);
    // The log keeps working: the retried append lands where the failed one would have.
    const r = await log.append(range(10, 20));
    expect([r.firstIndex, r.size]).toEqual([10, 20]);
  });

  it('a crash image taken between any two batches reopens to exactly the state after the earlier one', async () => {
    const mem = new MemoryKvStore();
    const log = await TransparencyLog.create({ store: mem });
    const images: Array<{ store: MemoryKvStore; size: number; root: string }> = [];
    for (const n of [3, 1, 12, 16, 1, 31]) {
      await log.append(range(log.size, log.size + n));
      images.push({ store: mem.clone(), size: log.size, root: toHex(await log.root()) });
    }
    for (const img of images) {
      const reopened = await TransparencyLog.create({ store: img.store });
      expect(reopened.size).toBe(img.size);
      expect(toHex(await reopened.root())).toBe(img.root);
    }
  });

  it('a dropped (unsynced, lost) batch: reopening finds the previous committed state intact', async () => {
    const mem = new MemoryKvStore();
    const store = new FaultyStore(mem);
    const log = await TransparencyLog.create({ store });
    await log.append(range(0, 5));
    const root5 = toHex(await log.root());
    store.dropOn.add(2);
    await log.append(range(5, 9)); // "succeeds" but never reaches the store
    const reopened = await TransparencyLog.create({ store: mem });
    expect(reopened.size).toBe(5);
    expect(toHex(await reopened.root())).toBe(root5);
    expect(await reopened.getEntry(5)).toBeUndefined();
  });

  it('inside a StagedKvStore the append joins the commit batch; discard + reload rolls the log back', async () => {
    const base = new FaultyStore(new MemoryKvStore());
    const staged = new StagedKvStore(base);
    const log = await TransparencyLog.create({ store: staged });
    await log.append(range(0, 4));
    await staged.batch([{ type: 'put', key: utf8('other'), value: utf8('state') }]);
    expect(base.batches).toBe(0);
    await staged.flush();
    expect(base.batches).toBe(1); // log append + other writes in one atomic batch
    expect((await TransparencyLog.create({ store: base })).size).toBe(4);

    await log.append(range(4, 300));
    expect(log.size).toBe(300);
    staged.discard();
    await log.reload();
    expect(log.size).toBe(4);
    const fresh = await TransparencyLog.create();
    await fresh.append(range(0, 4));
    expect(toHex(await log.root())).toBe(toHex(await fresh.root()));
    // Appending different entries after the rollback gives a consistent log (no stale cached nodes).
    await log.append(range(1000, 1300));
    await fresh.append(range(1000, 1300));
    expect(toHex(await log.root(260))).toBe(toHex(await fresh.root(260)));
    expect((await log.inclusionProof(5, 300)).map(toHex)).toEqual(
      (await fresh.inclusionProof(5, 300)).map(toHex),
    );
  });
});

describe('reads', () => {
  it('proofs and past roots read O(log n) nodes, and never the whole tree', async () => {
    const store = new FaultyStore(new MemoryKvStore());
    const log = await TransparencyLog.create({ store, cacheNodes: 0 });
    const n = 5000;
    await log.append(range(0, n));
    const bound = 2 * Math.ceil(Math.log2(n));
    for (const [what, run] of [
      ['inclusion', () => log.inclusionProof(1234, n)],
      ['inclusion, past size', () => log.inclusionProof(4000, 4097)],
      ['consistency', () => log.consistencyProof(1111, n)],
      ['past root', () => log.root(4999)],
    ] as const) {
      const before = store.gets;
      await run();
      expect(store.gets - before, what).toBeGreaterThan(0);
      expect(store.gets - before, what).toBeLessThanOrEqual(bound);
    }
  });

  it('the node cache serves repeated proofs without store reads', async () => {
    const store = new FaultyStore(new MemoryKvStore());
    const log = await TransparencyLog.create({ store });
    await log.append(range(0, 2000));
    const first = await log.inclusionProof(700, 2000);
    const before = store.gets;
    expect((await log.inclusionProof(700, 2000)).map(toHex)).toEqual(first.map(toHex));
    expect(store.gets).toBe(before);
    expect(verifyInclusion(leafHash(entryOf(700)), 700, 2000, first, await log.root())).toBe(true);
    const c = await log.consistencyProof(999, 2000);
    expect(verifyConsistency(999, 2000, await log.root(999), await log.root(), c)).toBe(true);
  });
});

describe('corruption is detected, not served', () => {
  async function corruptible() {
    const store = new MemoryKvStore();
    const log = await TransparencyLog.create({ store, cacheNodes: 0 });
    // Frontier (3,0) (2,2) (0,12), stored in records 7, 11 and 12.
    await log.append(range(0, 13));
    return { store, log, keys: new LogKeys(utf8('l:')) };
  }
  const codeOf = async (p: Promise<unknown>) => {
    try {
      await p;
      return 'resolved';
    } catch (e) {
      expect(e).toBeInstanceOf(LogError);
      return (e as LogError).code;
    }
  };

  it('a missing frontier node or a mismatching stored root fails create() with CORRUPT', async () => {
    const a = await corruptible();
    await a.store.batch([{ type: 'del', key: a.keys.record(11) }]);
    expect(await codeOf(TransparencyLog.create({ store: a.store }))).toBe('CORRUPT');

    const b = await corruptible();
    const bad = (b.store.getSync(b.keys.record(12)) as Uint8Array).slice();
    bad[0] = (bad[0] as number) ^ 1;
    await b.store.batch([{ type: 'put', key: b.keys.record(12), value: bad }]);
    expect(await codeOf(TransparencyLog.create({ store: b.store }))).toBe('CORRUPT');

    const c = await corruptible();
    await c.store.batch([{ type: 'put', key: c.keys.state, value: new Uint8Array(7) }]);
    expect(await codeOf(TransparencyLog.create({ store: c.store }))).toBe('CORRUPT');

    const d = await corruptible(); // record 7 holds levels 0..3: truncated to two hashes
    const short = (d.store.getSync(d.keys.record(7)) as Uint8Array).slice(0, 64);
    await d.store.batch([{ type: 'put', key: d.keys.record(7), value: short }]);
    expect(await codeOf(TransparencyLog.create({ store: d.store }))).toBe('CORRUPT');
  });

  it('a missing interior node or entry makes the read fail with CORRUPT', async () => {
    const { store, log, keys } = await corruptible();
    await store.batch([
      { type: 'del', key: keys.record(1) }, // leaf 1, node (1, 0)
      { type: 'del', key: keys.record(3) }, // leaf 3, nodes (1, 1), (2, 0)
    ]);
    expect(await codeOf(log.inclusionProof(0, 13))).toBe('CORRUPT');
    expect(await codeOf(log.root(3))).toBe('CORRUPT');
    expect(await codeOf(log.getEntry(3))).toBe('CORRUPT');
    expect(await codeOf(log.inclusionProof(12, 13))).toBe('resolved'); // needs only records 7 and 11
  });
});
