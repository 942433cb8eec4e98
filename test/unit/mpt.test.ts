/** Merkle-Patricia trie: encoding primitives, get/put/del semantics, root(), concurrency contract. */
import { RLP } from '@ethereumjs/rlp';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../crypto/bytes.ts';
import { keccak256 } from '../../crypto/hash.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import {
  EMPTY_ROOT,
  MAX_KEY_BYTES,
  MerklePatriciaTrie,
  TrieError,
  type TrieOp,
  verifyMptProof,
} from '../../ledger/mpt/index.ts';
import { bytesToNibbles, hexPrefixDecode, hexPrefixEncode } from '../../ledger/mpt/nibbles.ts';

const b = (s: string) => utf8(s);

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(TrieError);
    return (err as TrieError).code;
  }
  return undefined;
}

describe('hex-prefix encoding', () => {
  // Yellow Paper appendix C examples.
  const cases: Array<[string, boolean, string]> = [
    ['12345', false, '112345'],
    ['012345', false, '00012345'],
    ['0f1cb8', true, '200f1cb8'],
    ['f1cb8', true, '3f1cb8'],
    ['', true, '20'],
    ['', false, '00'],
  ];
  for (const [nibs, leaf, hex] of cases) {
    it(`${nibs || '∅'} ${leaf ? 'leaf' : 'ext'} ↔ ${hex}`, () => {
      const path = Uint8Array.from([...nibs].map((c) => Number.parseInt(c, 16)));
      expect(toHex(hexPrefixEncode(path, leaf))).toBe(hex);
      expect(hexPrefixDecode(fromHex(hex))).toEqual({ path, leaf });
    });
  }
  it('rejects bad flags, bad padding and empty input', () => {
    expect(hexPrefixDecode(fromHex('40'))).toBeUndefined();
    expect(hexPrefixDecode(fromHex('0112'))).toBeUndefined();
    expect(hexPrefixDecode(fromHex('21'))).toBeUndefined();
    expect(hexPrefixDecode(new Uint8Array(0))).toBeUndefined();
  });
  it('splits bytes into nibbles', () => {
    expect([...bytesToNibbles(Uint8Array.of(0xab, 0x01))]).toEqual([0xa, 0xb, 0x0, 0x1]);
  });
});

describe('MerklePatriciaTrie basics', () => {
  it('empty root is keccak256(rlp(""))', async () => {
    expect(toHex(EMPTY_ROOT)).toBe('56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421');
    expect(MerklePatriciaTrie.EMPTY_ROOT).toEqual(EMPTY_ROOT);
    const t = await MerklePatriciaTrie.create();
    expect(t.root()).toEqual(EMPTY_ROOT);
    expect(await t.commit()).toEqual(EMPTY_ROOT);
  });

  it('a single small leaf: the root is the hash of its RLP even though it is < 32 bytes', async () => {
    const t = await MerklePatriciaTrie.create();
    await t.put(b('a'), b('b'));
    const leaf = RLP.encode([Uint8Array.of(0x20, 0x61), b('b')]);
    expect(leaf.length).toBeLessThan(32);
    expect(t.root()).toEqual(keccak256(leaf));
  });

  it('get / put / overwrite / del', async () => {
    const t = await MerklePatriciaTrie.create();
    expect(await t.get(b('dog'))).toBeUndefined();
    await t.put(b('dog'), b('puppy'));
    await t.put(b('doge'), b('coin'));
    await t.put(b('do'), b('verb'));
    expect(await t.get(b('dog'))).toEqual(b('puppy'));
    expect(await t.get(b('do'))).toEqual(b('verb'));
    expect(await t.get(b('d'))).toBeUndefined();
    expect(await t.get(b('doges'))).toBeUndefined();
    await t.put(b('dog'), b('hound'));
    expect(await t.get(b('dog'))).toEqual(b('hound'));
    await t.del(b('dog'));
    expect(await t.get(b('dog'))).toBeUndefined();
    expect(await t.get(b('doge'))).toEqual(b('coin'));
    expect(await t.get(b('do'))).toEqual(b('verb'));
  });

  it('an empty value deletes, and deleting an absent key changes nothing', async () => {
    const t = await MerklePatriciaTrie.create();
    await t.put(b('x'), b('1'));
    const r1 = t.root();
    await t.put(b('y'), b('2'));
    await t.put(b('y'), new Uint8Array(0));
    expect(await t.get(b('y'))).toBeUndefined();
    expect(t.root()).toEqual(r1);
    await t.del(b('nope'));
    await t.del(b('xx'));
    expect(t.root()).toEqual(r1);
    await t.batch([{ type: 'put', key: b('x'), value: new Uint8Array(0) }]);
    expect(t.root()).toEqual(EMPTY_ROOT);
  });

  it('values are copied in and out', async () => {
    const t = await MerklePatriciaTrie.create();
    const v = b('value');
    await t.put(b('k'), v);
    v[0] = 0;
    const got = (await t.get(b('k'))) as Uint8Array;
    expect(got).toEqual(b('value'));
    got[0] = 0;
    expect(await t.get(b('k'))).toEqual(b('value'));
    const r = t.root();
    r[0] = (r[0] as number) ^ 0xff;
    expect(t.root()).not.toEqual(r);
  });

  it('root() reflects uncommitted changes and equals a fresh trie of the same contents', async () => {
    const t = await MerklePatriciaTrie.create({ secure: true });
    await t.put(b('a'), b('1'));
    const committed = await t.commit();
    await t.put(b('b'), b('2'));
    const live = t.root();
    expect(live).not.toEqual(committed);
    const fresh = await MerklePatriciaTrie.create({ secure: true });
    await fresh.batch([
      { type: 'put', key: b('b'), value: b('2') },
      { type: 'put', key: b('a'), value: b('1') },
    ]);
    expect(live).toEqual(fresh.root());
    expect(await t.commit()).toEqual(live);
    // Re-putting identical values is not a change.
    await t.put(b('a'), b('1'));
    expect(t.root()).toEqual(live);
  });

  it('secure mode hashes keys; plain mode does not', async () => {
    const secure = await MerklePatriciaTrie.create({ secure: true });
    const plain = await MerklePatriciaTrie.create();
    await secure.put(b('k'), b('v'));
    await plain.put(keccak256(b('k')), b('v'));
    expect(secure.root()).toEqual(plain.root());
    expect(secure.secure).toBe(true);
  });

  it('rejects bad keys, values and options with typed errors', async () => {
    const t = await MerklePatriciaTrie.create();
    expect(await codeOf(() => t.put(new Uint8Array(MAX_KEY_BYTES + 1), b('v')))).toBe('INVALID_KEY');
    expect(await codeOf(() => t.get('k' as unknown as Uint8Array))).toBe('INVALID_KEY');
    expect(await codeOf(() => t.put(b('k'), 'v' as unknown as Uint8Array))).toBe('INVALID_VALUE');
    expect(
      await codeOf(() =>
        t.batch([
          { type: 'put', key: b('ok'), value: b('v') },
          { type: 'put', key: b('k'), value: null as unknown as Uint8Array },
        ]),
      ),
    ).toBe('INVALID_VALUE');
    expect(await t.get(b('ok'))).toBeUndefined(); // the batch was validated before anything applied
    expect(await codeOf(MerklePatriciaTrie.create({ pruning: { keepRoots: 0 } }))).toBe('INVALID_OPTIONS');
    expect(await codeOf(MerklePatriciaTrie.create({ prefix: 'm:' as unknown as Uint8Array }))).toBe(
      'INVALID_OPTIONS',
    );
    expect(await codeOf(() => t.batch([{ type: 'upsert', key: b('k') } as unknown as TrieOp]))).toBe(
      'INVALID_OPTIONS',
    );
    expect(await codeOf(MerklePatriciaTrie.create({ root: new Uint8Array(31) }))).toBe('INVALID_OPTIONS');
    // Validation failures are rejected promises, not synchronous throws.
    await expect(t.put(new Uint8Array(MAX_KEY_BYTES + 1), b('v'))).rejects.toMatchObject({
      code: 'INVALID_KEY',
    });
    await expect(t.createProof(7 as unknown as Uint8Array)).rejects.toMatchObject({ code: 'INVALID_KEY' });
    // Secure mode accepts any key length: it is hashed.
    const s = await MerklePatriciaTrie.create({ secure: true });
    await s.put(new Uint8Array(MAX_KEY_BYTES + 1), b('v'));
    expect(await s.get(new Uint8Array(MAX_KEY_BYTES + 1))).toEqual(b('v'));
  });

  it('proofs follow the live root, inclusion and absence', async () => {
    const t = await MerklePatriciaTrie.create();
    for (const k of ['do', 'dog', 'doge', 'horse']) await t.put(b(k), b(`${k}-value-that-is-long-enough`));
    const root = t.root();
    for (const k of ['do', 'dog', 'doge', 'horse']) {
      expect(verifyMptProof(root, b(k), await t.createProof(b(k)))).toEqual(
        b(`${k}-value-that-is-long-enough`),
      );
    }
    for (const k of ['d', 'dogs', 'cat', 'horses', '']) {
      expect(verifyMptProof(root, b(k), await t.createProof(b(k)))).toBeUndefined();
    }
    // A proof for the old root does not verify against the new one.
    const old = await t.createProof(b('dog'));
    await t.put(b('dog'), b('changed'));
    expect(await codeOf(() => verifyMptProof(t.root(), b('dog'), old))).toBe('INVALID_PROOF');
    expect(verifyMptProof(t.root(), b('dog'), await t.createProof(b('dog')))).toEqual(b('changed'));
  });
});

describe('concurrency contract', () => {
  it('operations run in call order even when not awaited', async () => {
    const t = await MerklePatriciaTrie.create();
    const p1 = t.put(b('a'), b('1'));
    const g1 = t.get(b('a'));
    const p2 = t.del(b('a'));
    const g2 = t.get(b('a'));
    const p3 = t.batch([{ type: 'put', key: b('a'), value: b('3') }]);
    const c = t.commit();
    const p4 = t.put(b('a'), b('4'));
    const g3 = t.get(b('a'));
    await Promise.all([p1, p2, p3, p4]);
    expect(await g1).toEqual(b('1'));
    expect(await g2).toBeUndefined();
    expect(await g3).toEqual(b('4'));
    const ref = await MerklePatriciaTrie.create();
    await ref.put(b('a'), b('3'));
    expect(await c).toEqual(ref.root());
  });

  it('root() refuses while operations are pending, works once they settle', async () => {
    const t = await MerklePatriciaTrie.create();
    const p = t.put(b('a'), b('1'));
    expect(await codeOf(() => t.root())).toBe('BUSY');
    await p;
    expect(t.root()).not.toEqual(EMPTY_ROOT);
  });

  it('a failed operation does not wedge the queue', async () => {
    const store = new MemoryKvStore();
    const t = await MerklePatriciaTrie.create({ store });
    await t.put(b('a'), b('1'));
    await t.commit();
    const view = await t.atRoot(t.root());
    expect(await codeOf(view.put(b('a'), b('2')))).toBe('READ_ONLY');
    expect(await codeOf(view.commit())).toBe('READ_ONLY');
    expect(await view.get(b('a'))).toEqual(b('1'));
    expect(view.readOnly).toBe(true);
  });

  it('interleaved writers on a slow store give the same result as sequential execution', async () => {
    const base = new MemoryKvStore();
    let tick = 0;
    const slow = {
      get: async (k: Uint8Array) => {
        await new Promise((r) => setTimeout(r, tick++ % 3));
        return base.get(k);
      },
      batch: async (ops: Parameters<MemoryKvStore['batch']>[0]) => {
        await new Promise((r) => setTimeout(r, 2));
        return base.batch(ops);
      },
      iterate: base.iterate.bind(base),
      close: base.close.bind(base),
    };
    const seed = await MerklePatriciaTrie.create({ store: slow });
    for (let i = 0; i < 50; i++) await seed.put(b(`key${i}`), b(`v${i}-${'x'.repeat(i)}`));
    const r0 = await seed.commit();
    const t = await MerklePatriciaTrie.create({ store: slow, root: r0 }); // cold: loads on demand
    const ops: Array<Promise<unknown>> = [];
    for (let i = 0; i < 50; i++) {
      ops.push(i % 3 === 0 ? t.del(b(`key${i}`)) : t.put(b(`key${i}`), b(`w${i}`)));
      if (i % 10 === 9) ops.push(t.commit());
    }
    await Promise.all(ops);
    const ref = await MerklePatriciaTrie.create();
    for (let i = 0; i < 50; i++) if (i % 3 !== 0) await ref.put(b(`key${i}`), b(`w${i}`));
    expect(toHex(t.root())).toBe(toHex(ref.root()));
  });
});
