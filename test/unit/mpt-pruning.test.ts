/**
 * Pruning policy: archive keeps everything; `{ keepRoots: N }` keeps exactly the nodes reachable
 * from the last N committed roots, with reference counts that match the stored graph, including
 * when a later commit re-creates nodes that an older root also had.
 */
import { RLP } from '@ethereumjs/rlp';
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { keccak256 } from '../../crypto/hash.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import { EMPTY_ROOT, MerklePatriciaTrie, TrieError, verifyMptProof } from '../../ledger/mpt/index.ts';
import { forEachHashRef } from '../../ledger/mpt/node.ts';

const b = (s: string) => utf8(s);
const PREFIX = b('st:');

function rng(seed: number) {
  let x = seed >>> 0;
  const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  return { int: (n: number) => next() % n };
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

/**
 * Recomputes, from the stored graph alone, which nodes the retained roots reach and how many
 * references each has; the store must hold exactly those nodes and exactly those counts.
 */
function audit(store: MemoryKvStore, retained: readonly Uint8Array[]): void {
  const node = (hex: string) => store.getSync(new Uint8Array([...PREFIX, 0x6e, ...Buffer.from(hex, 'hex')]));
  const reachable = new Set<string>();
  const queue = retained.filter((r) => toHex(r) !== toHex(EMPTY_ROOT)).map(toHex);
  while (queue.length > 0) {
    const h = queue.pop() as string;
    if (reachable.has(h)) continue;
    reachable.add(h);
    const enc = node(h);
    if (enc === undefined) throw new Error(`node ${h} reachable from a retained root is missing`);
    forEachHashRef(RLP.decode(enc), (ref) => queue.push(toHex(ref)));
  }
  const expected = new Map<string, number>();
  const inc = (h: string) => expected.set(h, (expected.get(h) ?? 0) + 1);
  for (const r of retained) if (toHex(r) !== toHex(EMPTY_ROOT)) inc(toHex(r));
  for (const h of reachable) forEachHashRef(RLP.decode(node(h) as Uint8Array), (ref) => inc(toHex(ref)));

  const storedNodes = store
    .entriesSync(new Uint8Array([...PREFIX, 0x6e]))
    .map(([k]) => toHex(k.subarray(PREFIX.length + 1)));
  expect(new Set(storedNodes)).toEqual(reachable);
  const storedCounts = new Map(
    store
      .entriesSync(new Uint8Array([...PREFIX, 0x72]))
      .map(([k, v]) => [toHex(k.subarray(PREFIX.length + 1)), Buffer.from(v).readUInt32BE(0)] as const),
  );
  expect(storedCounts).toEqual(expected);
}

describe('archive (default)', () => {
  it('never deletes: every committed root stays readable', async () => {
    const store = new MemoryKvStore();
    const t = await MerklePatriciaTrie.create({ store, prefix: PREFIX });
    const roots: Uint8Array[] = [];
    for (let i = 0; i < 10; i++) {
      await t.put(b('k'), b(`version ${i} of a value long enough to be hashed`));
      if (i % 3 === 0) await t.del(b('k'));
      roots.push(await t.commit());
    }
    const sizes = store.size;
    await t.commit();
    expect(store.size).toBe(sizes);
    for (let i = 0; i < 10; i++) {
      const v = await t.atRoot(roots[i] as Uint8Array);
      expect(await v.get(b('k'))).toEqual(
        i % 3 === 0 ? undefined : b(`version ${i} of a value long enough to be hashed`),
      );
    }
    expect(store.entriesSync(new Uint8Array([...PREFIX, 0x72]))).toEqual([]); // no refcounts in archive mode
  });
});

describe('pruning { keepRoots: N }', () => {
  it('after N+k commits the last N roots are complete and provable, older nodes are gone', async () => {
    const N = 3;
    const store = new MemoryKvStore();
    const t = await MerklePatriciaTrie.create({
      store,
      prefix: PREFIX,
      secure: true,
      pruning: { keepRoots: N },
    });
    const r = rng(99);
    const state = new Map<string, string>();
    await t.put(b('stable'), b('never touched again, and long enough to be hashed'));
    state.set('stable', 'never touched again, and long enough to be hashed');
    const history: Array<{ root: Uint8Array; snapshot: Map<string, string> }> = [];
    const stableLeaf = { hash: '' };
    for (let c = 0; c < N + 7; c++) {
      for (let i = 0; i < 40; i++) {
        const key = `key-${r.int(120)}`;
        if (r.int(4) === 0) {
          await t.del(b(key));
          state.delete(key);
        } else {
          const value = `v${c}-${'x'.repeat(r.int(60))}`;
          await t.put(b(key), b(value));
          state.set(key, value);
        }
      }
      const root = await t.commit();
      history.push({ root, snapshot: new Map(state) });
      if (c === 0) {
        const p = await t.createProof(b('stable'));
        stableLeaf.hash = toHex(keccak256(p[p.length - 1] as Uint8Array)); // the leaf is the last proof node
      }
      const retained = history.slice(-N);
      audit(
        store,
        retained.map((h) => h.root),
      );

      for (const { root: rr, snapshot } of retained) {
        const view = await t.atRoot(rr);
        for (let i = 0; i < 120; i++) {
          const key = `key-${i}`;
          const want = snapshot.get(key);
          expect(await view.get(b(key))).toEqual(want === undefined ? undefined : b(want));
        }
        const proof = await view.createProof(b('key-7'));
        const want = snapshot.get('key-7');
        expect(verifyMptProof(rr, b('key-7'), proof, { secure: true })).toEqual(
          want === undefined ? undefined : b(want),
        );
      }
      for (const { root: old } of history.slice(0, -N)) {
        expect(await codeOf(t.atRoot(old))).toBe('MISSING_ROOT');
      }
    }
    // The node shared by every root (the untouched key's leaf) survived all the pruning.
    expect(
      store.getSync(new Uint8Array([...PREFIX, 0x6e, ...Buffer.from(stableLeaf.hash, 'hex')])),
    ).toBeDefined();
    expect(await t.get(b('stable'))).toEqual(b('never touched again, and long enough to be hashed'));
  });

  it('a node re-created by a later commit survives the release of the root that first had it', async () => {
    const store = new MemoryKvStore();
    const t = await MerklePatriciaTrie.create({ store, prefix: PREFIX, pruning: { keepRoots: 2 } });
    for (let i = 0; i < 30; i++)
      await t.put(b(`fixed-${i}`), b(`fixed value ${i} with enough bytes to hash`));
    const v = (s: string) => b(`${s} — a value long enough to be stored by hash`);
    await t.put(b('k'), v('one'));
    const r1 = await t.commit();
    await t.put(b('k'), v('two'));
    const r2 = await t.commit();
    await t.put(b('k'), v('one')); // same content as r1: every node of r1 is re-created
    const r3 = await t.commit(); // releases r1 — whose nodes r3 needs
    expect(r3).toEqual(r1);
    audit(store, [r2, r3]);
    expect(await (await t.atRoot(r3)).get(b('k'))).toEqual(v('one'));
    await t.put(b('k'), v('three'));
    const r4 = await t.commit(); // releases r2
    audit(store, [r3, r4]);
    expect(await (await t.atRoot(r1)).get(b('k'))).toEqual(v('one')); // r1 = r3, still retained
    expect(await codeOf(t.atRoot(r2))).toBe('MISSING_ROOT');
    await t.put(b('k'), v('four'));
    const r5 = await t.commit(); // releases r3 (= r1)
    audit(store, [r4, r5]);
    expect(await codeOf(t.atRoot(r1))).toBe('MISSING_ROOT');
    // Commits without changes still count as commits (each block has a root).
    await t.commit();
    await t.commit();
    audit(store, [r5, r5]);
    expect(await codeOf(t.atRoot(r4))).toBe('MISSING_ROOT');
  });

  it('keepRoots: 1 on a cold tree: the new root references old nodes before the old root is released', async () => {
    const store = new MemoryKvStore();
    const t = await MerklePatriciaTrie.create({ store, prefix: PREFIX, pruning: { keepRoots: 1 } });
    for (let i = 0; i < 50; i++) await t.put(b(`key-${i}`), b(`value ${i} with enough bytes to be hashed`));
    let root = await t.commit();
    for (let c = 0; c < 5; c++) {
      await t.evict(); // untouched subtrees stay as bare hashes, shared with the root being released
      await t.put(b(`key-${c}`), b(`changed ${c} with enough bytes to be hashed`));
      root = await t.commit();
      audit(store, [root]);
    }
    const reopened = await MerklePatriciaTrie.create({
      store,
      prefix: PREFIX,
      root,
      pruning: { keepRoots: 1 },
    });
    expect(await reopened.get(b('key-49'))).toEqual(b('value 49 with enough bytes to be hashed'));
  });

  it('continues across reopen, tolerates a smaller window, and prunes down to nothing', async () => {
    const store = new MemoryKvStore();
    const roots: Uint8Array[] = [];
    let t = await MerklePatriciaTrie.create({ store, prefix: PREFIX, pruning: { keepRoots: 5 } });
    for (let c = 0; c < 6; c++) {
      await t.put(b(`key-${c}`), b(`value ${c} that is long enough to be hashed`));
      roots.push(await t.commit());
    }
    audit(store, roots.slice(-5));
    // A new instance on the same store (a restarted node) with a smaller window.
    t = await MerklePatriciaTrie.create({
      store,
      prefix: PREFIX,
      root: roots[5] as Uint8Array,
      pruning: { keepRoots: 2 },
    });
    await t.put(b('key-0'), b('changed after restart, long enough to be hashed'));
    roots.push(await t.commit());
    audit(store, roots.slice(-2));
    for (const old of roots.slice(0, -2)) expect(await codeOf(t.atRoot(old))).toBe('MISSING_ROOT');
    await t.batch(Array.from({ length: 6 }, (_, c) => ({ type: 'del' as const, key: b(`key-${c}`) })));
    roots.push(await t.commit());
    roots.push(await t.commit());
    expect(roots[roots.length - 1]).toEqual(EMPTY_ROOT);
    audit(store, [EMPTY_ROOT, EMPTY_ROOT]);
    expect(store.entriesSync(new Uint8Array([...PREFIX, 0x6e]))).toEqual([]);
  });

  it('refuses to switch an existing store between archive and pruning', async () => {
    const archived = new MemoryKvStore();
    const a = await MerklePatriciaTrie.create({ store: archived });
    await a.put(b('k'), b('v'));
    const ra = await a.commit();
    const p = await MerklePatriciaTrie.create({ store: archived, root: ra, pruning: { keepRoots: 2 } });
    expect(await p.get(b('k'))).toEqual(b('v')); // reading is fine
    await p.put(b('k'), b('w'));
    expect(await codeOf(p.commit())).toBe('PRUNING_MODE_MISMATCH');

    const pruned = new MemoryKvStore();
    const q = await MerklePatriciaTrie.create({ store: pruned, pruning: { keepRoots: 2 } });
    await q.put(b('k'), b('v'));
    const rq = await q.commit();
    const q2 = await MerklePatriciaTrie.create({ store: pruned, root: rq });
    expect(await codeOf(q2.commit())).toBe('PRUNING_MODE_MISMATCH');
  });
});
