/**
 * Merkle-Patricia trie persistence: one batch per commit, key prefix, reopening from a store at a
 * root (memory and LevelDB), past roots, lazy loading of a cold trie, crash safety.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { type KvOp, type KvStore, MemoryKvStore, StagedKvStore } from '../../ledger/kv.ts';
import { EMPTY_ROOT, MerklePatriciaTrie, TrieError, verifyMptProof } from '../../ledger/mpt/index.ts';
import { LevelKvStore } from '../../src/storage/level-kv.ts';

const b = (s: string) => utf8(s);

/** Deterministic LCG bytes. */
function rng(seed: number) {
  let x = seed >>> 0;
  const next = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x;
  };
  return {
    int: (n: number) => next() % n,
    bytes: (n: number) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next() >>> 24;
      return out;
    },
  };
}

/** Wraps a store, counting calls; `onBatch` may throw or swallow the write. */
class SpyStore implements KvStore {
  readonly base: KvStore;
  batches = 0;
  gets = 0;
  lastOps: readonly KvOp[] = [];
  onBatch: 'write' | 'throw' | 'drop' = 'write';
  constructor(base: KvStore) {
    this.base = base;
  }
  get(key: Uint8Array) {
    this.gets++;
    return this.base.get(key);
  }
  async batch(ops: readonly KvOp[]) {
    this.batches++;
    this.lastOps = ops;
    if (this.onBatch === 'throw') throw new Error('disk on fire');
    if (this.onBatch === 'drop') return;
    await this.base.batch(ops);
  }
  iterate(prefix: Uint8Array) {
    return this.base.iterate(prefix);
  }
  close() {
    return this.base.close();
  }
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(TrieError);
    return (err as TrieError).code;
  }
  return undefined;
}

async function fill(trie: MerklePatriciaTrie, n: number, tag: string): Promise<void> {
  await trie.batch(
    Array.from({ length: n }, (_, i) => ({
      type: 'put' as const,
      key: b(`key-${i}`),
      value: b(`${tag}-${i}-${'v'.repeat(i % 40)}`),
    })),
  );
}

describe('commit', () => {
  it('writes each commit with exactly one store.batch and nothing before it', async () => {
    const spy = new SpyStore(new MemoryKvStore());
    const t = await MerklePatriciaTrie.create({ store: spy, secure: true });
    await fill(t, 500, 'a');
    expect(spy.batches).toBe(0);
    await t.commit();
    expect(spy.batches).toBe(1);
    const firstWrite = spy.lastOps.length;
    expect(firstWrite).toBeGreaterThan(500); // leaves + branches + meta
    await t.put(b('key-1'), b('changed'));
    await t.commit();
    expect(spy.batches).toBe(2);
    expect(spy.lastOps.length).toBeLessThan(12); // only the dirty path (+ root)
  });

  it('keeps every key under the prefix; two tries with different prefixes share a store', async () => {
    const store = new MemoryKvStore();
    const a = await MerklePatriciaTrie.create({ store, prefix: b('A/') });
    const c = await MerklePatriciaTrie.create({ store, prefix: b('B/'), pruning: { keepRoots: 1 } });
    await fill(a, 100, 'a');
    await fill(c, 100, 'c');
    const ra = await a.commit();
    const rc = await c.commit();
    const all = store.entriesSync(new Uint8Array(0));
    expect(all.length).toBe(store.entriesSync(b('A/')).length + store.entriesSync(b('B/')).length);
    await c.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'del' as const, key: b(`key-${i}`) })));
    await c.commit(); // prunes B/ down to the empty trie: A/ untouched
    expect((await MerklePatriciaTrie.create({ store, prefix: b('A/'), root: ra })).root()).toEqual(ra);
    expect(await codeOf(MerklePatriciaTrie.create({ store, prefix: b('B/'), root: rc }))).toBe(
      'MISSING_ROOT',
    );
    expect(await codeOf(MerklePatriciaTrie.create({ store, prefix: b('B/'), root: ra }))).toBe(
      'MISSING_ROOT',
    );
  });
});

describe('reopening', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function roundTrip(open: () => Promise<KvStore>, reopen: () => Promise<KvStore>) {
    const store = await open();
    const t = await MerklePatriciaTrie.create({ store, secure: true });
    await fill(t, 300, 'x');
    const root = await t.commit();
    const proofs = await Promise.all([1, 17, 299, 1000].map((i) => t.createProof(b(`key-${i}`))));
    await store.close();

    const store2 = await reopen();
    const r = await MerklePatriciaTrie.create({ store: store2, secure: true, root });
    expect(r.root()).toEqual(root);
    for (let i = 0; i < 300; i += 7)
      expect(await r.get(b(`key-${i}`))).toEqual(b(`x-${i}-${'v'.repeat(i % 40)}`));
    expect(await r.get(b('key-300'))).toBeUndefined();
    const again = await Promise.all([1, 17, 299, 1000].map((i) => r.createProof(b(`key-${i}`))));
    expect(again).toEqual(proofs);
    expect(verifyMptProof(root, b('key-17'), again[1] as Uint8Array[], { secure: true })).toEqual(
      b(`x-17-${'v'.repeat(17)}`),
    );
    // Keep writing on the reopened trie.
    await r.del(b('key-1'));
    const r2 = await r.commit();
    const r3 = await MerklePatriciaTrie.create({ store: store2, secure: true, root: r2 });
    expect(await r3.get(b('key-1'))).toBeUndefined();
    await store2.close();
  }

  it('from a MemoryKvStore', async () => {
    const mem = new MemoryKvStore();
    let snapshot: MemoryKvStore | undefined;
    await roundTrip(
      async () => ({
        get: (k) => mem.get(k),
        batch: (ops) => mem.batch(ops),
        iterate: (p) => mem.iterate(p),
        close: async () => {
          snapshot = mem.clone();
        },
      }),
      async () => snapshot as MemoryKvStore,
    );
  });

  it('from a LevelKvStore in a temp dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verity-mpt-'));
    dirs.push(dir);
    await roundTrip(
      () => LevelKvStore.open(dir, { sync: false }),
      () => LevelKvStore.open(dir),
    );
  });

  it('past roots stay readable (atRoot and create at root)', async () => {
    const store = new MemoryKvStore();
    const t = await MerklePatriciaTrie.create({ store });
    const roots: Uint8Array[] = [];
    for (let v = 0; v < 5; v++) {
      await t.put(b('counter'), b(`value ${v} padded to be long enough to hash`));
      await t.put(b(`only-${v}`), b('x'));
      roots.push(await t.commit());
    }
    for (let v = 0; v < 5; v++) {
      const view = await t.atRoot(roots[v] as Uint8Array);
      expect(await view.get(b('counter'))).toEqual(b(`value ${v} padded to be long enough to hash`));
      expect(await view.get(b(`only-${v + 1}`))).toBeUndefined();
      const p = await view.createProof(b('counter'));
      expect(verifyMptProof(roots[v] as Uint8Array, b('counter'), p)).toEqual(
        b(`value ${v} padded to be long enough to hash`),
      );
      const writable = await MerklePatriciaTrie.create({ store, root: roots[v] as Uint8Array });
      expect(writable.root()).toEqual(roots[v]);
    }
  });

  it('a root smaller than 32 bytes is still stored under its hash and reopens', async () => {
    for (const pruning of ['archive', { keepRoots: 1 }] as const) {
      const store = new MemoryKvStore();
      const t = await MerklePatriciaTrie.create({ store, pruning });
      await t.put(b('a'), b('1'));
      await t.put(b('b'), b('2')); // a branch of two inline leaves: the whole trie is < 32 bytes
      const r1 = await t.commit();
      await t.del(b('b')); // the root becomes the (previously inline) leaf of 'a'
      const r2 = await t.commit();
      for (const [root, bval] of [
        [r2, undefined],
        ...(pruning === 'archive' ? [[r1, b('2')] as const] : []),
      ] as const) {
        const re = await MerklePatriciaTrie.create({ store, root, pruning });
        expect(re.root()).toEqual(root);
        expect(await re.get(b('a'))).toEqual(b('1'));
        expect(await re.get(b('b'))).toEqual(bval);
        expect(verifyMptProof(root, b('a'), await re.createProof(b('a')))).toEqual(b('1'));
      }
    }
  });

  it('unknown root → MISSING_ROOT; the empty root always opens', async () => {
    const store = new MemoryKvStore();
    expect(await codeOf(MerklePatriciaTrie.create({ store, root: new Uint8Array(32).fill(7) }))).toBe(
      'MISSING_ROOT',
    );
    const t = await MerklePatriciaTrie.create({ store, root: EMPTY_ROOT });
    expect(await codeOf(t.atRoot(new Uint8Array(32)))).toBe('MISSING_ROOT');
    expect((await t.atRoot(EMPTY_ROOT)).root()).toEqual(EMPTY_ROOT);
  });

  it('a cold trie (nodes loaded on demand) computes the same roots as an in-memory one', async () => {
    for (const secure of [false, true]) {
      const r = rng(secure ? 7 : 8);
      const store = new SpyStore(new MemoryKvStore());
      const warm = await MerklePatriciaTrie.create({ secure });
      const keys = Array.from({ length: 200 }, () => r.bytes(1 + r.int(4))); // short keys: prefixes, collapses
      let root = EMPTY_ROOT;
      for (let round = 0; round < 8; round++) {
        const cold = await MerklePatriciaTrie.create({ store, secure, root });
        if (round % 2 === 1) await cold.evict();
        const ops = Array.from({ length: 60 }, () => {
          const key = keys[r.int(keys.length)] as Uint8Array;
          return r.int(3) === 0
            ? { type: 'del' as const, key }
            : { type: 'put' as const, key, value: r.bytes(1 + r.int(r.int(2) ? 4 : 60)) };
        });
        const before = store.gets;
        await cold.batch(ops);
        await warm.batch(ops);
        if (round > 0) expect(store.gets).toBeGreaterThan(before); // it really loaded nodes
        expect(toHex(cold.root())).toBe(toHex(warm.root()));
        root = await cold.commit();
        for (const key of keys.slice(0, 30)) expect(await cold.get(key)).toEqual(await warm.get(key));
      }
    }
  });

  it('evict() drops persisted nodes from memory; reads reload them', async () => {
    const spy = new SpyStore(new MemoryKvStore());
    const t = await MerklePatriciaTrie.create({ store: spy });
    await fill(t, 200, 'e');
    const root = await t.commit();
    await t.put(b('uncommitted'), b('kept'));
    await t.evict();
    const before = spy.gets;
    expect(await t.get(b('key-150'))).toEqual(b(`e-150-${'v'.repeat(150 % 40)}`));
    expect(spy.gets).toBeGreaterThan(before);
    expect(await t.get(b('uncommitted'))).toEqual(b('kept'));
    await t.del(b('uncommitted'));
    expect(t.root()).toEqual(root);
  });

  it('a missing or corrupted node is a typed error', async () => {
    const store = new MemoryKvStore();
    const t = await MerklePatriciaTrie.create({ store });
    await fill(t, 50, 'c');
    const root = await t.commit();
    const nodes = store.entriesSync(b('m:n')).filter(([k]) => toHex(k.subarray(3)) !== toHex(root));
    const [victimKey] = nodes[0] as readonly [Uint8Array, Uint8Array];
    // Corrupt one node: reading through it must fail loudly, not return wrong data.
    await store.batch([{ type: 'put', key: victimKey, value: Uint8Array.of(0xc0) }]);
    const errors = new Set<string | undefined>();
    for (let i = 0; i < 50; i++) {
      const c = await MerklePatriciaTrie.create({ store, root });
      errors.add(await codeOf(c.get(b(`key-${i}`))));
    }
    expect(errors.has('CORRUPT_NODE')).toBe(true);
    await store.batch([{ type: 'del', key: victimKey }]);
    errors.clear();
    for (let i = 0; i < 50; i++) {
      const c = await MerklePatriciaTrie.create({ store, root });
      errors.add(await codeOf(c.get(b(`key-${i}`))));
    }
    expect(errors.has('MISSING_NODE')).toBe(true);
  });
});

describe('crash safety', () => {
  it('a commit whose batch throws leaves the previous root intact, and can be retried', async () => {
    const base = new MemoryKvStore();
    const spy = new SpyStore(base);
    const t = await MerklePatriciaTrie.create({ store: spy, secure: true });
    await fill(t, 100, 'one');
    const r1 = await t.commit();
    await fill(t, 150, 'two');
    spy.onBatch = 'throw';
    await expect(t.commit()).rejects.toThrow('disk on fire');
    const reopened = await MerklePatriciaTrie.create({ store: base, secure: true, root: r1 });
    expect(await reopened.get(b('key-5'))).toEqual(b(`one-5-${'v'.repeat(5)}`));
    expect(await reopened.get(b('key-120'))).toBeUndefined();
    spy.onBatch = 'write';
    const r2 = await t.commit(); // nothing was marked saved by the failed attempt
    const after = await MerklePatriciaTrie.create({ store: base, secure: true, root: r2 });
    expect(await after.get(b('key-120'))).toEqual(b(`two-120-${'v'.repeat(0)}`));
  });

  it('a dropped batch (crash before the write) leaves the previous root intact', async () => {
    const base = new MemoryKvStore();
    const spy = new SpyStore(base);
    const t = await MerklePatriciaTrie.create({ store: spy, pruning: { keepRoots: 1 } });
    await fill(t, 100, 'one');
    const r1 = await t.commit();
    const disk = base.clone();
    await t.batch(Array.from({ length: 60 }, (_, i) => ({ type: 'del' as const, key: b(`key-${i}`) })));
    spy.onBatch = 'drop';
    const r2 = await t.commit();
    // "Crash": the process dies; what is on disk is what was there before the lost batch.
    expect(
      await codeOf(MerklePatriciaTrie.create({ store: disk, root: r2, pruning: { keepRoots: 1 } })),
    ).toBe('MISSING_ROOT');
    const reopened = await MerklePatriciaTrie.create({ store: disk, root: r1, pruning: { keepRoots: 1 } });
    for (let i = 0; i < 100; i += 9)
      expect(await reopened.get(b(`key-${i}`))).toEqual(b(`one-${i}-${'v'.repeat(i % 40)}`));
  });

  it('composes with StagedKvStore: nothing reaches the base until flush; discard keeps the old root', async () => {
    const base = new MemoryKvStore();
    const t0 = await MerklePatriciaTrie.create({ store: base });
    await fill(t0, 50, 'base');
    const r1 = await t0.commit();

    const staged = new StagedKvStore(base);
    const t = await MerklePatriciaTrie.create({ store: staged, root: r1 });
    await t.put(b('key-3'), b('staged'));
    const r2 = await t.commit();
    expect(await codeOf(MerklePatriciaTrie.create({ store: base, root: r2 }))).toBe('MISSING_ROOT');
    expect(await (await MerklePatriciaTrie.create({ store: staged, root: r2 })).get(b('key-3'))).toEqual(
      b('staged'),
    );
    staged.discard();
    expect(await (await MerklePatriciaTrie.create({ store: base, root: r1 })).get(b('key-3'))).toEqual(
      b(`base-3-${'v'.repeat(3)}`),
    );

    const again = await MerklePatriciaTrie.create({ store: staged, root: r1 });
    await again.put(b('key-3'), b('staged'));
    expect(await again.commit()).toEqual(r2);
    await staged.flush();
    expect(await (await MerklePatriciaTrie.create({ store: base, root: r2 })).get(b('key-3'))).toEqual(
      b('staged'),
    );
  });
});
