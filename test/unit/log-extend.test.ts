/**
 * ExtendedTree (a committed log known by its frontier, plus leaves not yet appended) against the
 * stored TransparencyLog holding every leaf: identical roots and inclusion proofs for every split
 * point and every appended leaf up to 40 leaves, and refusals for what it cannot derive.
 */
import { describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import {
  ExtendedTree,
  LogError,
  leafHash,
  TransparencyLog,
  verifyInclusion,
} from '../../ledger/log/index.ts';

const entry = (i: number) => utf8(`block-${i}`);

describe('ExtendedTree', () => {
  it('matches the stored log: every base, every size, every appended leaf (to 40 leaves)', async () => {
    const N = 40;
    const full = await TransparencyLog.create();
    await full.append(Array.from({ length: N }, (_, i) => entry(i)));
    const committed = await TransparencyLog.create();
    for (let base = 0; base <= N; base++) {
      if (base > 0) await committed.append([entry(base - 1)]);
      const leaves = Array.from({ length: N - base }, (_, j) => leafHash(entry(base + j)));
      const t = new ExtendedTree(committed.frontier(), base, leaves);
      expect(t.size).toBe(N);
      for (let size = base; size <= N; size++) {
        const root = t.root(size);
        expect(toHex(root)).toBe(toHex(await full.root(size)));
        for (let index = base; index < size; index++) {
          const proof = t.inclusionProof(index, size);
          expect(proof.map(toHex)).toEqual((await full.inclusionProof(index, size)).map(toHex));
          expect(verifyInclusion(leafHash(entry(index)), index, size, proof, root)).toBe(true);
        }
      }
    }
  });

  it('refuses leaves of the committed part and sizes outside what it holds, with typed errors', async () => {
    const log = await TransparencyLog.create();
    await log.append([entry(0), entry(1), entry(2)]);
    const t = new ExtendedTree(log.frontier(), 3, [leafHash(entry(3))]);
    expect(() => t.inclusionProof(2, 4)).toThrow(LogError);
    expect(() => t.inclusionProof(3, 5)).toThrow(LogError);
    expect(() => t.root(2)).toThrow(LogError);
    expect(() => new ExtendedTree(log.frontier(), -1, [])).toThrow(LogError);
  });

  it('a wrong frontier gives a proof that does not verify (negative control)', async () => {
    const log = await TransparencyLog.create();
    await log.append([entry(0), entry(1), entry(2)]);
    const other = await TransparencyLog.create();
    await other.append([entry(0), utf8('forged'), entry(2)]);
    const leaves = [leafHash(entry(3)), leafHash(entry(4))];
    const good = new ExtendedTree(log.frontier(), 3, leaves);
    const bad = new ExtendedTree(other.frontier(), 3, leaves);
    const root = good.root(5);
    expect(verifyInclusion(leafHash(entry(3)), 3, 5, good.inclusionProof(3, 5), root)).toBe(true);
    expect(verifyInclusion(leafHash(entry(3)), 3, 5, bad.inclusionProof(3, 5), root)).toBe(false);
  });
});
