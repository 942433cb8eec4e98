/**
 * ethereum/tests TrieTests, reproduced (fixtures and provenance under vectors/mpt/). Ordered cases
 * are applied in order; any-order cases in the given order and in several seeded shuffles; the
 * root after every variant must equal the fixture's.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { MerklePatriciaTrie, verifyMptProof } from '../../ledger/mpt/index.ts';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'vectors', 'mpt');

const SHA256: Record<string, string> = {
  'trietest.json': '0ce5e1151210958edf47911b332fe188696d741f9f44b1a471ee62bc666c1f0f',
  'trieanyorder.json': '92404d5c2076524e62f02e9657a684aa0561067d49f3b489b78b5033c6fc3e2d',
  'trietest_secureTrie.json': '98b76fd92fed69cb449d7a555cdb3eb397e7179614857de1289de2f63ac8e77a',
  'trieanyorder_secureTrie.json': 'acba24dcef034b8ddd78d4ba8e716468854bac1a5ac886cc806c93f1c93f1ed4',
  'hex_encoded_securetrie_test.json': '487f9e1e404e46dc0a54d526b14927d3a5ba90f7f52625e7d49cd170974ce9ff',
};

type Pair = [string, string | null];
interface Case {
  in: Pair[] | Record<string, string | null>;
  root: string;
}

function load(name: string): Record<string, Case> {
  const bytes = readFileSync(join(DIR, name));
  expect(toHex(sha256(bytes)), `${name} differs from the pinned ethereum/tests copy`).toBe(SHA256[name]);
  return JSON.parse(bytes.toString('utf8')) as Record<string, Case>;
}

function decode(s: string | null): Uint8Array {
  if (s === null) return new Uint8Array(0);
  return s.startsWith('0x') ? fromHex(s) : utf8(s);
}

/** Deterministic shuffle (mulberry32) so failures reproduce. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

async function rootOf(pairs: readonly Pair[], secure: boolean, mode: 'put' | 'batch'): Promise<string> {
  const trie = await MerklePatriciaTrie.create({ secure });
  if (mode === 'batch') {
    await trie.batch(
      pairs.map(([k, v]) =>
        v === null
          ? { type: 'del' as const, key: decode(k) }
          : { type: 'put' as const, key: decode(k), value: decode(v) },
      ),
    );
  } else {
    for (const [k, v] of pairs) await trie.put(decode(k), decode(v)); // null → empty → delete
  }
  const uncommitted = toHex(trie.root());
  const committed = toHex(await trie.commit());
  expect(committed).toBe(uncommitted);
  // Final contents are readable and provable against the root.
  const finalMap = new Map<string, string | null>();
  for (const [k, v] of pairs) finalMap.set(k, v);
  for (const [k, v] of finalMap) {
    const key = decode(k);
    const got = await trie.get(key);
    const expected = v === null || decode(v).length === 0 ? undefined : decode(v);
    expect(got).toEqual(expected);
    const proven = verifyMptProof(trie.root(), key, await trie.createProof(key), { secure });
    expect(proven).toEqual(expected);
  }
  return `0x${committed}`;
}

const FILES: Array<{ file: string; secure: boolean; anyOrder: boolean }> = [
  { file: 'trietest.json', secure: false, anyOrder: false },
  { file: 'trietest_secureTrie.json', secure: true, anyOrder: false },
  { file: 'trieanyorder.json', secure: false, anyOrder: true },
  { file: 'trieanyorder_secureTrie.json', secure: true, anyOrder: true },
  { file: 'hex_encoded_securetrie_test.json', secure: true, anyOrder: true },
];

for (const { file, secure, anyOrder } of FILES) {
  describe(`ethereum/tests TrieTests/${file}`, () => {
    const cases = load(file);
    it('has cases', () => expect(Object.keys(cases).length).toBeGreaterThan(0));
    for (const [name, c] of Object.entries(cases)) {
      const pairs: Pair[] = Array.isArray(c.in) ? c.in : Object.entries(c.in);
      it(`${name}: root matches (put)`, async () => {
        expect(await rootOf(pairs, secure, 'put')).toBe(c.root);
      });
      it(`${name}: root matches (batch)`, async () => {
        expect(await rootOf(pairs, secure, 'batch')).toBe(c.root);
      });
      if (anyOrder) {
        it(`${name}: root is independent of insertion order`, async () => {
          for (let seed = 1; seed <= 8; seed++) {
            expect(await rootOf(shuffled(pairs, seed), secure, 'put')).toBe(c.root);
          }
          expect(await rootOf(pairs.slice().reverse(), secure, 'batch')).toBe(c.root);
        });
      }
    }
  });
}
