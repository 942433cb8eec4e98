/**
 * The pure verifiers take untrusted input (proofs and heads from peers and clients): anything
 * malformed must come back as false / undefined, never as an exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../crypto/bytes.ts';
import {
  emptyRoot,
  leafHash,
  rootFromInclusionProof,
  TransparencyLog,
  verifyConsistency,
  verifyInclusion,
} from '../../ledger/log/index.ts';

type AnyFn = (...args: unknown[]) => unknown;
const inc = verifyInclusion as unknown as AnyFn;
const root = rootFromInclusionProof as unknown as AnyFn;
const con = verifyConsistency as unknown as AnyFn;

const log = await TransparencyLog.create();
await log.append(Array.from({ length: 13 }, (_, i) => utf8(`e${i}`)));
const R13 = await log.root(13);
const R6 = await log.root(6);
const LEAF5 = leafHash(utf8('e5'));
const INC = await log.inclusionProof(5, 13);
const CON = await log.consistencyProof(6, 13);

const throwingProxy = new Proxy([], {
  get() {
    throw new Error('boom');
  },
});
const throwingHash = new Proxy(new Uint8Array(32), {
  get(t, k) {
    if (k === 'length') throw new Error('boom');
    return Reflect.get(t, k);
  },
});
function show(v: unknown): string {
  try {
    if (Array.isArray(v)) return `array(${v.length})`;
    return String(v).slice(0, 40);
  } catch {
    return typeof v;
  }
}
const HOSTILE_NUMBERS: unknown[] = [
  -1,
  1.5,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  2 ** 53,
  2 ** 64,
  -(2 ** 53),
  13n,
  '5',
  null,
  undefined,
  {},
  [],
];
const HOSTILE_HASHES: unknown[] = [
  new Uint8Array(0),
  new Uint8Array(31),
  new Uint8Array(33),
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  Array.from({ length: 32 }, () => 0),
  new Uint16Array(32),
  new ArrayBuffer(32),
  null,
  undefined,
  42,
  throwingHash,
];
const HOSTILE_PROOFS: unknown[] = [
  null,
  undefined,
  'proof',
  {},
  { length: 3 },
  [null],
  [new Uint8Array(31)],
  [...INC.slice(0, -1), new Uint8Array(33)],
  [...INC, new Uint8Array(32)],
  INC.slice(0, -1),
  new Array(1_000_000).fill(INC[0]),
  throwingProxy,
  [throwingHash],
];

describe('verifiers on hostile arguments', () => {
  it('the genuine arguments verify (so every rejection below is due to the hostile one)', () => {
    expect(verifyInclusion(LEAF5, 5, 13, INC, R13)).toBe(true);
    expect(verifyConsistency(6, 13, R6, R13, CON)).toBe(true);
  });

  it('explicit table: each argument position replaced by a hostile value → false / undefined', () => {
    const incArgs: unknown[] = [LEAF5, 5, 13, INC, R13];
    const conArgs: unknown[] = [6, 13, R6, R13, CON];
    const table: Array<[number, unknown[]]> = [
      [0, HOSTILE_HASHES],
      [1, HOSTILE_NUMBERS],
      [2, HOSTILE_NUMBERS],
      [3, HOSTILE_PROOFS],
      [4, HOSTILE_HASHES],
    ];
    for (const [pos, values] of table) {
      for (const v of values) {
        const a = incArgs.slice();
        a[pos] = v;
        expect(inc(...a), `inclusion arg ${pos} = ${show(v)}`).toBe(false);
        if (pos < 4) expect(root(...a.slice(0, 4))).toBeUndefined();
      }
    }
    const conTable: Array<[number, unknown[]]> = [
      [0, HOSTILE_NUMBERS],
      [1, HOSTILE_NUMBERS],
      [2, HOSTILE_HASHES],
      [3, HOSTILE_HASHES],
      [4, HOSTILE_PROOFS],
    ];
    for (const [pos, values] of conTable) {
      for (const v of values) {
        const a = conArgs.slice();
        a[pos] = v;
        expect(con(...a), `consistency arg ${pos} = ${show(v)}`).toBe(false);
      }
    }
  });

  it('structural misuse: index ≥ size, size1 > size2, non-empty proofs for trivial sizes', () => {
    expect(verifyInclusion(LEAF5, 13, 13, INC, R13)).toBe(false);
    expect(verifyInclusion(LEAF5, 0, 0, [], emptyRoot())).toBe(false);
    expect(rootFromInclusionProof(LEAF5, 0, 1, [R13])).toBeUndefined(); // trailing hash
    expect(verifyConsistency(13, 6, R13, R6, CON)).toBe(false);
    expect(verifyConsistency(0, 13, emptyRoot(), R13, [R13])).toBe(false);
    expect(verifyConsistency(0, 13, R6, R13, [])).toBe(false); // a size-0 root must be the empty root
    expect(verifyConsistency(13, 13, R13, R13, [R13])).toBe(false);
    expect(verifyConsistency(13, 13, R13, R6, [])).toBe(false);
    expect(verifyConsistency(6, 13, R6, R13, [])).toBe(false);
  });

  it('property: arbitrary values in any position never throw', () => {
    const hashLike = fc.oneof(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 40 }),
      fc.anything(),
    );
    const num = fc.oneof(
      fc.integer({ min: -5, max: 70 }),
      fc.double(),
      fc.constantFrom(...HOSTILE_NUMBERS),
      fc.anything(),
    );
    const proof = fc.oneof(fc.array(hashLike, { maxLength: 10 }), fc.anything());
    fc.assert(
      fc.property(hashLike, num, num, proof, hashLike, (a, b, c, d, e) => {
        const r1 = inc(a, b, c, d, e);
        const r2 = root(a, b, c, d);
        const r3 = con(b, c, a, e, d);
        expect(typeof r1).toBe('boolean');
        expect(r2 === undefined || r2 instanceof Uint8Array).toBe(true);
        expect(typeof r3).toBe('boolean');
      }),
      { numRuns: 3000 },
    );
  });

  it('property: random 32-byte proofs for valid sizes are rejected', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 40 }),
        fc.nat(),
        fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 45 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (size, i, proof, h1, h2) => {
          const index = i % size;
          expect(verifyInclusion(h1, index, size, proof, h2)).toBe(false);
          expect(verifyConsistency(Math.max(1, index), size, h1, h2, proof)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a million-hash proof is rejected without hashing it all', () => {
    const t = performance.now();
    expect(verifyInclusion(LEAF5, 5, 13, new Array(1_000_000).fill(R13), R13)).toBe(false);
    expect(verifyConsistency(6, 13, R6, R13, new Array(1_000_000).fill(R13))).toBe(false);
    expect(performance.now() - t).toBeLessThan(1000);
  });
});

describe('leafHash on non-bytes', () => {
  it('throws a typed LogError INVALID_ARGUMENT for anything but a Uint8Array', async () => {
    const { LogError } = await import('../../ledger/log/index.ts');
    for (const bad of ['abc', '', 42, null, undefined, [1, 2, 3], { length: 3 }, new ArrayBuffer(3)]) {
      let caught: unknown;
      try {
        leafHash(bad as Uint8Array);
      } catch (e) {
        caught = e;
      }
      expect(caught, String(bad)).toBeInstanceOf(LogError);
      expect((caught as InstanceType<typeof LogError>).code).toBe('INVALID_ARGUMENT');
    }
    // Bytes (and Buffer, a Uint8Array) still hash, identically.
    expect(leafHash(Buffer.from('e5'))).toEqual(LEAF5);
  });

  it('the verifiers still return false (never throw) when handed what leafHash refuses', () => {
    expect(verifyInclusion('abc' as unknown as Uint8Array, 5, 13, INC, R13)).toBe(false);
    expect(rootFromInclusionProof([1, 2] as unknown as Uint8Array, 5, 13, INC)).toBeUndefined();
  });
});
