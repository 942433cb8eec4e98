/**
 * Proof verification under hostile input: every malformed, oversized or inconsistent proof is a
 * TrieError INVALID_PROOF — never another exception, a hang, or a wrong answer.
 */
import { RLP } from '@ethereumjs/rlp';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../crypto/bytes.ts';
import { keccak256 } from '../../crypto/hash.ts';
import {
  EMPTY_ROOT,
  MAX_PROOF_BYTES,
  MAX_PROOF_NODE_BYTES,
  MAX_PROOF_NODES,
  MerklePatriciaTrie,
  TrieError,
  verifyMptProof,
} from '../../ledger/mpt/index.ts';

const b = (s: string) => utf8(s);

function verdict(
  root: unknown,
  key: unknown,
  proof: unknown,
  secure = false,
  maxNodeBytes?: number,
): Uint8Array | undefined | string {
  try {
    const opts = maxNodeBytes === undefined ? { secure } : { secure, maxNodeBytes };
    return verifyMptProof(root as Uint8Array, key as Uint8Array, proof as Uint8Array[], opts);
  } catch (err) {
    if (!(err instanceof TrieError)) throw err; // anything else is a bug
    return err.code;
  }
}

/** A one-node "proof" whose root is that node's hash: exercises decoding, not just the hash check. */
function selfRooted(el: Uint8Array, key = b('k')) {
  return verdict(keccak256(el), key, [el], false, 1 << 20); // size cap raised: reach the decoder
}

/** Nested single-element lists, `depth` deep. */
function nested(depth: number): Uint8Array {
  let cur = Uint8Array.of(0xc0);
  for (let i = 0; i < depth; i++) {
    const len = cur.length;
    let header: number[];
    if (len < 56) header = [0xc0 + len];
    else if (len < 256) header = [0xf8, len];
    else if (len < 65536) header = [0xf9, len >> 8, len & 0xff];
    else header = [0xfa, len >> 16, (len >> 8) & 0xff, len & 0xff];
    const next = new Uint8Array(header.length + len);
    next.set(header, 0);
    next.set(cur, header.length);
    cur = next;
  }
  return cur;
}

describe('verifyMptProof input validation', () => {
  it('rejects wrong argument types and sizes', () => {
    const root = keccak256(b('x'));
    expect(verdict(new Uint8Array(31), b('k'), [])).toBe('INVALID_PROOF');
    expect(verdict('00'.repeat(32), b('k'), [])).toBe('INVALID_PROOF');
    expect(verdict(root, 'k', [])).toBe('INVALID_PROOF');
    expect(verdict(root, b('k'), 'proof')).toBe('INVALID_PROOF');
    expect(verdict(root, b('k'), [b('x'), 'y'])).toBe('INVALID_PROOF');
    expect(verdict(root, b('k'), [])).toBe('INVALID_PROOF'); // missing root node
    expect(verdict(root, new Uint8Array(5000), [b('x')])).toBe('INVALID_PROOF');
  });

  it('null or odd options, throwing getters and proxies are INVALID_PROOF, never another error', async () => {
    const t = await MerklePatriciaTrie.create();
    await t.put(b('doe'), b('reindeer'));
    await t.put(b('dog'), b('puppy'));
    const root = t.root();
    const proof = await t.createProof(b('dog'));
    const codeOf = (f: () => unknown): unknown => {
      try {
        f();
        return 'no throw';
      } catch (err) {
        return err instanceof TrieError ? err.code : err;
      }
    };
    // Null / undefined options fall back to the defaults.
    expect(verifyMptProof(root, b('dog'), proof, null)).toEqual(b('puppy'));
    expect(verifyMptProof(root, b('dog'), proof, undefined)).toEqual(b('puppy'));
    const bad = (opts: unknown) => () =>
      verifyMptProof(root, b('dog'), proof, opts as Parameters<typeof verifyMptProof>[3]);
    expect(codeOf(bad(5))).toBe('INVALID_PROOF');
    expect(codeOf(bad({ secure: 'yes' }))).toBe('INVALID_PROOF');
    expect(codeOf(bad({ maxNodeBytes: Number.NaN }))).toBe('INVALID_PROOF');
    const throwingOpts = Object.defineProperty({}, 'secure', {
      get() {
        throw new Error('boom');
      },
    });
    expect(codeOf(bad(throwingOpts))).toBe('INVALID_PROOF');
    // An array whose element getter throws, a proxy whose length throws, an element subclass
    // whose length getter throws — and one that throws a non-Error.
    const getterThrows = [...proof];
    Object.defineProperty(getterThrows, 0, {
      get() {
        throw new Error('element getter');
      },
    });
    expect(codeOf(() => verifyMptProof(root, b('dog'), getterThrows))).toBe('INVALID_PROOF');
    const lengthThrows = new Proxy([...proof], {
      get(target, prop, recv) {
        if (prop === 'length') throw Object.create(null); // not even an Error
        return Reflect.get(target, prop, recv);
      },
    });
    expect(codeOf(() => verifyMptProof(root, b('dog'), lengthThrows))).toBe('INVALID_PROOF');
    class Evil extends Uint8Array {
      override get length(): number {
        throw new RangeError('evil length');
      }
    }
    const evil = [new Evil(proof[0] as Uint8Array), ...proof.slice(1)];
    expect(codeOf(() => verifyMptProof(root, b('dog'), evil))).toBe('INVALID_PROOF');
    const evilKey = new Evil(b('dog'));
    expect(codeOf(() => verifyMptProof(root, evilKey, proof))).toBe('INVALID_PROOF');
    // A proxy that shows the size checks small elements and the walk different ones is read once.
    let reads = 0;
    const shifty = new Proxy([...proof], {
      get(target, prop, recv) {
        if (prop === '0') reads++;
        if (prop === '0' && reads > 1) return new Uint8Array(10 * MAX_PROOF_NODE_BYTES);
        return Reflect.get(target, prop, recv);
      },
    });
    expect(verifyMptProof(root, b('dog'), shifty)).toEqual(b('puppy'));
    expect(reads).toBe(1);
  });

  it('caps node count, node size and total size', () => {
    const root = keccak256(b('x'));
    expect(
      verdict(
        root,
        b('k'),
        Array.from({ length: MAX_PROOF_NODES + 1 }, () => b('x')),
      ),
    ).toBe('INVALID_PROOF');
    expect(verdict(root, b('k'), [new Uint8Array(MAX_PROOF_NODE_BYTES + 1)])).toBe('INVALID_PROOF');
    // A caller storing big values can raise the per-node cap; the hash check still applies.
    const bigLeaf = RLP.encode([Uint8Array.of(0x20, 0x6b), new Uint8Array(MAX_PROOF_NODE_BYTES)]);
    expect(verdict(keccak256(bigLeaf), b('k'), [bigLeaf])).toBe('INVALID_PROOF');
    expect(verifyMptProof(keccak256(bigLeaf), b('k'), [bigLeaf], { maxNodeBytes: 1 << 20 })).toEqual(
      new Uint8Array(MAX_PROOF_NODE_BYTES),
    );
    const big = new Uint8Array(MAX_PROOF_NODE_BYTES);
    expect(
      verdict(
        root,
        b('k'),
        Array.from({ length: MAX_PROOF_BYTES / MAX_PROOF_NODE_BYTES + 2 }, () => big),
      ),
    ).toBe('INVALID_PROOF');
  });

  it('the empty root is proven by the empty proof only', () => {
    expect(verdict(EMPTY_ROOT, b('k'), [])).toBeUndefined();
    expect(verdict(EMPTY_ROOT, b('k'), [Uint8Array.of(0x80)])).toBe('INVALID_PROOF');
  });
});

describe('malformed nodes that hash correctly', () => {
  const h32 = new Uint8Array(32).fill(0xaa);
  const cases: Array<[string, Uint8Array]> = [
    ['empty element', new Uint8Array(0)],
    ['garbage bytes', Uint8Array.of(0xff, 0x01, 0x02)],
    ['truncated list', Uint8Array.of(0xf8, 0x40, 0x01)],
    ['trailing bytes', Uint8Array.of(0xc2, 0x80, 0x80, 0x00)],
    ['a byte string, not a list', RLP.encode(new Uint8Array(40))],
    ['list of 3 items', RLP.encode([b('a'), b('b'), b('c')])],
    ['list of 16 items', RLP.encode(Array.from({ length: 16 }, () => h32))],
    [
      'branch with a 31-byte reference',
      RLP.encode([new Uint8Array(31).fill(1), h32, ...Array(15).fill(new Uint8Array(0))]),
    ],
    ['branch with a single entry', RLP.encode([h32, ...Array(16).fill(new Uint8Array(0))])],
    ['branch value that is a list', RLP.encode([h32, h32, ...Array(14).fill(new Uint8Array(0)), [b('x')]])],
    ['hex-prefix flag 4', RLP.encode([Uint8Array.of(0x41), new Uint8Array(40)])],
    ['even path with non-zero padding', RLP.encode([Uint8Array.of(0x21, 0x23), new Uint8Array(40)])],
    ['empty path bytes', RLP.encode([new Uint8Array(0), new Uint8Array(40)])],
    ['leaf with a list value', RLP.encode([Uint8Array.of(0x20), [new Uint8Array(40)]])],
    ['leaf with an empty value', RLP.encode([Uint8Array.of(0x20, 0x6b), new Uint8Array(0)])],
    ['extension with empty path', RLP.encode([Uint8Array.of(0x00), h32])],
    ['extension to a 5-byte reference', RLP.encode([Uint8Array.of(0x16), new Uint8Array(5)])],
    ['extension to an inline leaf', RLP.encode([Uint8Array.of(0x16), [Uint8Array.of(0x3b), b('v')]])],
    [
      'oversized inline child',
      RLP.encode([[Uint8Array.of(0x20), new Uint8Array(40)], h32, ...Array(15).fill(new Uint8Array(0))]),
    ],
    ['deep nesting (2,000 levels)', nested(2_000)],
    ['absurd nesting (150,000 levels, 600 KB)', nested(150_000)],
    ['nesting 9 deep', nested(9)],
  ];
  for (const [name, el] of cases) {
    it(name, () => {
      const start = performance.now();
      expect(selfRooted(el)).toBe('INVALID_PROOF');
      // Linear-time rejection (deep nesting used to be quadratic inside the RLP decoder: ~20 s).
      expect(performance.now() - start).toBeLessThan(2000);
    });
  }
});

describe('well-formed but inconsistent proofs', () => {
  async function sample() {
    const t = await MerklePatriciaTrie.create();
    for (let i = 0; i < 200; i++) await t.put(b(`key-${i}`), b(`value-${i}-${'x'.repeat(i % 50)}`));
    return t;
  }

  it('missing tail, unused nodes, reordered nodes, substituted node', async () => {
    const t = await sample();
    const root = t.root();
    const proof = await t.createProof(b('key-42'));
    expect(proof.length).toBeGreaterThan(2);
    expect(verdict(root, b('key-42'), proof)).toEqual(b(`value-42-${'x'.repeat(42)}`));
    expect(verdict(root, b('key-42'), proof.slice(0, -1))).toBe('INVALID_PROOF');
    expect(verdict(root, b('key-42'), [...proof, proof[0] as Uint8Array])).toBe('INVALID_PROOF');
    expect(verdict(root, b('key-42'), [proof[0] as Uint8Array, ...proof.slice(1).reverse()])).toBe(
      'INVALID_PROOF',
    );
    const other = await t.createProof(b('key-43'));
    const swapped = [...proof.slice(0, -1), other[other.length - 1] as Uint8Array];
    expect(verdict(root, b('key-42'), swapped)).toBe('INVALID_PROOF');
    // A secure-mode verification of a plain-mode proof fails (different path).
    expect(verdict(root, b('key-42'), proof, true)).toBe('INVALID_PROOF');
  });

  it('fuzz: random proofs and random mutations of real proofs never crash', async () => {
    const t = await sample();
    const root = t.root();
    const real = await t.createProof(b('key-7'));
    const expected = b(`value-7-${'x'.repeat(7)}`);
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 600 }), { maxLength: 8 }),
        fc.boolean(),
        fc.uint8Array({ maxLength: 12 }),
        (els, selfRoot, key) => {
          const r = selfRoot && els[0] !== undefined ? keccak256(els[0]) : root;
          const v = verdict(r, key, els);
          expect(v === 'INVALID_PROOF' || v === undefined || v instanceof Uint8Array).toBe(true);
        },
      ),
      { seed: 0xf022, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 1, max: 255 }), (i, j, x) => {
        const proof = real.map((e) => e.slice());
        const el = proof[i % proof.length] as Uint8Array;
        el[j % el.length] = (el[j % el.length] as number) ^ x;
        const v = verdict(root, b('key-7'), proof);
        // Any change to a hashed node breaks the hash chain.
        expect(v).toBe('INVALID_PROOF');
        expect(v).not.toEqual(expected);
      }),
      { seed: 0xf023, numRuns: 1000 },
    );
  });
});
