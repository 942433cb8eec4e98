/**
 * The RFC 6962 reference tree used across Certificate Transparency implementations, with published
 * hashes and proofs typed in from transparency-dev/merkle (the successor of the trillian /
 * certificate-transparency-go merkle packages):
 *
 * - leaves, node hashes, roots: testonly/constants.go @ 582a6ad190b6848f1d26f8bf08ddef29955d9db1
 * - inclusion / consistency proofs, corruption probes: proof/verify_test.go
 *   @ 02194e9afb6c1d95b5381350007963aa70fff472 (its inclusion vectors number leaves from 1; converted
 *   to 0-based indexes here)
 * - proof shapes as node IDs: proof/proof_test.go @ 02a3e2029520f515596d5238c54fb0ac9e19bff4
 * - hasher vectors: rfc6962/rfc6962_test.go @ 78493b07ef9b552e3379abf9e23d4da26fbe797c
 */
import { describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8 } from '../../crypto/bytes.ts';
import { MemoryKvStore } from '../../ledger/kv.ts';
import {
  emptyRoot,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  TransparencyLog,
  verifyConsistency,
  verifyInclusion,
} from '../../ledger/log/index.ts';
import { LogKeys, nodeLocation, recordHashBytes } from '../../ledger/log/layout.ts';
import { consistencyPlan, inclusionPlan } from '../../ledger/log/plan.ts';

const h = fromHex;
const hexes = (xs: readonly Uint8Array[]) => xs.map(toHex);

const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(h);

/** NodeHashes(): [level][index] for every complete subtree of the 8-leaf tree. */
const NODES = [
  [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
    '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    '4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658',
    'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
    '46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1',
  ],
  [
    'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  ],
  [
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ],
  ['5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'],
];

/** RootHashes(): index = tree size. */
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];

/** verify_test.go inclusionProofs, minus the invalid {0, 0} entry; index is 0-based here. */
const INCLUSION_VECTORS: ReadonlyArray<{ index: number; size: number; proof: string[] }> = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

/** verify_test.go consistencyProofs. */
const CONSISTENCY_VECTORS: ReadonlyArray<{ size1: number; size2: number; proof: string[] }> = [
  { size1: 1, size2: 1, proof: [] },
  {
    size1: 1,
    size2: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    size1: 6,
    size2: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    size1: 2,
    size2: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    size1: 6,
    size2: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

/**
 * proof_test.go shapes as [level, index] node IDs. Go lists the nodes of a rehashed (non-perfect)
 * proof element lowest level first within `rehash(begin, end)`; here each element lists its perfect
 * subtrees left to right, i.e. that Go slice reversed.
 */
type Shape = Array<Array<[number, number]>>;
const INCLUSION_SHAPES: ReadonlyArray<{ size: number; index: number; items: Shape }> = [
  { size: 1, index: 0, items: [] },
  { size: 2, index: 0, items: [[[0, 1]]] },
  { size: 2, index: 1, items: [[[0, 0]]] },
  { size: 3, index: 1, items: [[[0, 0]], [[0, 2]]] },
  {
    size: 7,
    index: 0,
    items: [
      [[0, 1]],
      [[1, 1]],
      [
        [1, 2],
        [0, 6],
      ],
    ],
  },
  {
    size: 7,
    index: 1,
    items: [
      [[0, 0]],
      [[1, 1]],
      [
        [1, 2],
        [0, 6],
      ],
    ],
  },
  {
    size: 7,
    index: 2,
    items: [
      [[0, 3]],
      [[1, 0]],
      [
        [1, 2],
        [0, 6],
      ],
    ],
  },
  {
    size: 7,
    index: 3,
    items: [
      [[0, 2]],
      [[1, 0]],
      [
        [1, 2],
        [0, 6],
      ],
    ],
  },
  { size: 7, index: 4, items: [[[0, 5]], [[0, 6]], [[2, 0]]] },
  { size: 7, index: 5, items: [[[0, 4]], [[0, 6]], [[2, 0]]] },
  { size: 7, index: 6, items: [[[1, 2]], [[2, 0]]] },
  { size: 4, index: 2, items: [[[0, 3]], [[1, 0]]] },
  { size: 5, index: 3, items: [[[0, 2]], [[1, 0]], [[0, 4]]] },
  { size: 6, index: 3, items: [[[0, 2]], [[1, 0]], [[1, 2]]] },
  { size: 6, index: 4, items: [[[0, 5]], [[2, 0]]] },
  {
    size: 15,
    index: 10,
    items: [
      [[0, 11]],
      [[1, 4]],
      [
        [1, 6],
        [0, 14],
      ],
      [[3, 0]],
    ],
  },
  {
    size: 31,
    index: 24,
    items: [
      [[0, 25]],
      [[1, 13]],
      [
        [1, 14],
        [0, 30],
      ],
      [[3, 2]],
      [[4, 0]],
    ],
  },
  {
    size: 95,
    index: 81,
    items: [
      [[0, 80]],
      [[1, 41]],
      [[2, 21]],
      [
        [2, 22],
        [1, 46],
        [0, 94],
      ],
      [[4, 4]],
      [[6, 0]],
    ],
  },
];
const CONSISTENCY_SHAPES: ReadonlyArray<{ size1: number; size2: number; items: Shape }> = [
  { size1: 1, size2: 2, items: [[[0, 1]]] },
  { size1: 1, size2: 4, items: [[[0, 1]], [[1, 1]]] },
  { size1: 1, size2: 6, items: [[[0, 1]], [[1, 1]], [[1, 2]]] },
  { size1: 2, size2: 3, items: [[[0, 2]]] },
  { size1: 2, size2: 8, items: [[[1, 1]], [[2, 1]]] },
  {
    size1: 3,
    size2: 7,
    items: [
      [[0, 2]],
      [[0, 3]],
      [[1, 0]],
      [
        [1, 2],
        [0, 6],
      ],
    ],
  },
  {
    size1: 4,
    size2: 7,
    items: [
      [
        [1, 2],
        [0, 6],
      ],
    ],
  },
  { size1: 5, size2: 7, items: [[[0, 4]], [[0, 5]], [[0, 6]], [[2, 0]]] },
  { size1: 6, size2: 7, items: [[[1, 2]], [[0, 6]], [[2, 0]]] },
  { size1: 7, size2: 8, items: [[[0, 6]], [[0, 7]], [[1, 2]], [[2, 0]]] },
  ...[1, 2, 3, 4, 5, 7, 8].map((n) => ({ size1: n, size2: n, items: [] })),
  { size1: 2, size2: 4, items: [[[1, 1]]] },
  { size1: 3, size2: 5, items: [[[0, 2]], [[0, 3]], [[1, 0]], [[0, 4]]] },
  { size1: 3, size2: 6, items: [[[0, 2]], [[0, 3]], [[1, 0]], [[1, 2]]] },
  { size1: 4, size2: 6, items: [[[1, 2]]] },
  {
    size1: 1,
    size2: 7,
    items: [
      [[0, 1]],
      [[1, 1]],
      [
        [1, 2],
        [0, 6],
      ],
    ],
  },
  {
    size1: 10,
    size2: 15,
    items: [
      [[1, 4]],
      [[1, 5]],
      [
        [1, 6],
        [0, 14],
      ],
      [[3, 0]],
    ],
  },
  {
    size1: 24,
    size2: 31,
    items: [
      [[3, 2]],
      [
        [2, 6],
        [1, 14],
        [0, 30],
      ],
      [[4, 0]],
    ],
  },
  {
    size1: 81,
    size2: 95,
    items: [
      [[0, 80]],
      [[0, 81]],
      [[1, 41]],
      [[2, 21]],
      [
        [2, 22],
        [1, 46],
        [0, 94],
      ],
      [[4, 4]],
      [[6, 0]],
    ],
  },
];

const asShape = (items: ReturnType<typeof inclusionPlan>): Shape =>
  items.map((item) => item.map((r): [number, number] => [r.level, r.index]));

/** The hash of a shape element in the 8-leaf tree: fold the listed perfect subtrees right to left. */
function shapeHashes(items: Shape): string[] {
  return items.map((item) => {
    const hs = item.map(([level, index]) => h(NODES[level]?.[index] as string));
    let r = hs[hs.length - 1] as Uint8Array;
    for (let i = hs.length - 2; i >= 0; i--) r = nodeHash(hs[i] as Uint8Array, r);
    return toHex(r);
  });
}

async function referenceLog(): Promise<{ log: TransparencyLog; store: MemoryKvStore }> {
  const store = new MemoryKvStore();
  const log = await TransparencyLog.create({ store });
  await log.append(LEAVES);
  return { log, store };
}

describe('RFC 6962 hasher (rfc6962_test.go)', () => {
  it('empty root, empty leaf, leaf, node', () => {
    expect(toHex(emptyRoot())).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(leafHash(new Uint8Array(0)))).toBe(
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    );
    expect(toHex(leafHash(utf8('L123456')))).toBe(
      '395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56',
    );
    expect(toHex(nodeHash(utf8('N123'), utf8('N456')))).toBe(
      'aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb',
    );
  });

  it('a node is not the leaf hash of its children concatenated, and order matters', () => {
    const a = leafHash(utf8('Hello'));
    const b = leafHash(utf8('World'));
    const ab = new Uint8Array([...a, ...b]);
    expect(toHex(nodeHash(a, b))).not.toBe(toHex(leafHash(ab)));
    expect(toHex(nodeHash(a, b))).not.toBe(toHex(nodeHash(b, a)));
  });
});

describe('reference tree roots and nodes', () => {
  it('root of every size 0..8, both as appended one by one and as past roots', async () => {
    const log = await TransparencyLog.create();
    expect(toHex(await log.root())).toBe(ROOTS[0]);
    for (let s = 1; s <= 8; s++) {
      const r = await log.append([LEAVES[s - 1] as Uint8Array]);
      expect({ size: r.size, root: toHex(r.root) }).toEqual({ size: s, root: ROOTS[s] });
    }
    for (let s = 0; s <= 8; s++) expect(toHex(await log.root(s))).toBe(ROOTS[s]);
  });

  it('stores every completed subtree in the record of its last leaf, at offset 32·level', async () => {
    const { store } = await referenceLog();
    const keys = new LogKeys(utf8('l:'));
    for (const [level, row] of NODES.entries()) {
      for (const [index, want] of row.entries()) {
        const { record, offset } = nodeLocation(level, index);
        const got = store.getSync(keys.record(record))?.subarray(offset, offset + 32);
        expect(got && toHex(got), `node (${level}, ${index})`).toBe(want);
      }
    }
    for (const [i, entry] of LEAVES.entries()) {
      expect(toHex(store.getSync(keys.record(i))?.subarray(recordHashBytes(i)) as Uint8Array)).toBe(
        toHex(entry),
      );
    }
  });
});

describe('proof shapes (proof_test.go)', () => {
  it.each(INCLUSION_SHAPES)('inclusion index $index in size $size', ({ size, index, items }) => {
    expect(asShape(inclusionPlan(index, size))).toEqual(items);
  });

  it.each(CONSISTENCY_SHAPES)('consistency $size1 → $size2', ({ size1, size2, items }) => {
    expect(asShape(consistencyPlan(size1, size2))).toEqual(items);
  });

  it('the log materialises those shapes into the reference hashes', async () => {
    const { log } = await referenceLog();
    for (const { size, index, items } of INCLUSION_SHAPES.filter((s) => s.size <= 8)) {
      expect(hexes(await log.inclusionProof(index, size)), `${index}/${size}`).toEqual(shapeHashes(items));
    }
    for (const { size1, size2, items } of CONSISTENCY_SHAPES.filter((s) => s.size2 <= 8)) {
      expect(hexes(await log.consistencyProof(size1, size2)), `${size1}→${size2}`).toEqual(
        shapeHashes(items),
      );
    }
  });
});

/** corruptInclusionProof() of verify_test.go; every probe must be rejected. */
function inclusionProbes(
  index: number,
  size: number,
  proof: Uint8Array[],
  root: Uint8Array,
  leaf: Uint8Array,
) {
  const someHash = h('abacaba000000000000000000000000000000000000000000060061e00123456');
  const probes: Array<[string, Uint8Array, number, number, Uint8Array[], Uint8Array]> = [
    ['index - 1', leaf, index - 1, size, proof, root],
    ['index + 1', leaf, index + 1, size, proof, root],
    ['index ^ 2', leaf, index ^ 2, size, proof, root],
    ['size * 2', leaf, index, size * 2, proof, root],
    ['size / 2', leaf, index, Math.floor(size / 2), proof, root],
    ['wrong leaf', utf8('WrongLeaf'), index, size, proof, root],
    ['empty root', leaf, index, size, proof, emptyRoot()],
    ['random root', leaf, index, size, proof, someHash],
    ['trailing garbage', leaf, index, size, [...proof, new Uint8Array(0)], root],
    ['trailing root', leaf, index, size, [...proof, root], root],
    ['preceding garbage', leaf, index, size, [new Uint8Array(0), ...proof], root],
    ['preceding root', leaf, index, size, [root, ...proof], root],
  ];
  proof.forEach((_, i) => {
    const wrong = proof.map((p) => p.slice());
    (wrong[i] as Uint8Array)[0] = ((wrong[i] as Uint8Array)[0] as number) ^ 8;
    probes.push([`modified proof[${i}] bit 3`, leaf, index, size, wrong, root]);
  });
  if (proof.length > 0) probes.push(['removed component', leaf, index, size, proof.slice(0, -1), root]);
  if (proof.length > 1) {
    probes.push([
      'inserted component',
      leaf,
      index,
      size,
      [proof[0] as Uint8Array, someHash, ...proof.slice(1)],
      root,
    ]);
  }
  return probes;
}

/** corruptConsistencyProof() of verify_test.go. */
function consistencyProbes(
  size1: number,
  size2: number,
  r1: Uint8Array,
  r2: Uint8Array,
  proof: Uint8Array[],
) {
  const wrongRoot = utf8('WrongRoot');
  const probes: Array<[string, number, number, Uint8Array, Uint8Array, Uint8Array[]]> = [
    ['size1 - 1', size1 - 1, size2, r1, r2, proof],
    ['size1 + 1', size1 + 1, size2, r1, r2, proof],
    ['size1 ^ 2', size1 ^ 2, size2, r1, r2, proof],
    ['size2 * 2', size1, size2 * 2, r1, r2, proof],
    ['size2 / 2', size1, Math.floor(size2 / 2), r1, r2, proof],
    ['wrong root1', size1, size2, wrongRoot, r2, proof],
    ['wrong root2', size1, size2, r1, wrongRoot, proof],
    ['swapped roots', size1, size2, r2, r1, proof],
    ['empty proof', size1, size2, r1, r2, []],
    ['trailing garbage', size1, size2, r1, r2, [...proof, new Uint8Array(0)]],
    ['trailing root1', size1, size2, r1, r2, [...proof, r1]],
    ['trailing root2', size1, size2, r1, r2, [...proof, r2]],
    ['preceding garbage', size1, size2, r1, r2, [new Uint8Array(0), ...proof]],
    ['preceding root1', size1, size2, r1, r2, [r1, ...proof]],
    ['preceding root2', size1, size2, r1, r2, [r2, ...proof]],
    ['preceding proof[0]', size1, size2, r1, r2, [proof[0] as Uint8Array, ...proof]],
  ];
  if (proof.length > 0) probes.push(['truncated proof', size1, size2, r1, r2, proof.slice(0, -1)]);
  proof.forEach((_, i) => {
    const wrong = proof.map((p) => p.slice());
    (wrong[i] as Uint8Array)[0] = ((wrong[i] as Uint8Array)[0] as number) ^ 16;
    probes.push([`modified proof[${i}] bit 4`, size1, size2, r1, r2, wrong]);
  });
  return probes;
}

describe('published inclusion proofs (verify_test.go)', () => {
  it.each(INCLUSION_VECTORS)('index $index in size $size', async ({ index, size, proof }) => {
    const { log } = await referenceLog();
    const generated = await log.inclusionProof(index, size);
    expect(hexes(generated)).toEqual(proof);

    const leaf = leafHash(LEAVES[index] as Uint8Array);
    const root = h(ROOTS[size] as string);
    const p = proof.map(h);
    expect(toHex(rootFromInclusionProof(leaf, index, size, p) as Uint8Array)).toBe(ROOTS[size]);
    expect(verifyInclusion(leaf, index, size, p, root)).toBe(true);
    for (const [desc, l, i, s, pr, r] of inclusionProbes(index, size, p, root, leaf)) {
      expect(verifyInclusion(l, i, s, pr, r), desc).toBe(false);
    }
  });

  it('single entry: root equals the leaf hash, proof empty (TestVerifyInclusionSingleEntry)', () => {
    const hash = leafHash(utf8('data'));
    const empty = new Uint8Array(0);
    expect(verifyInclusion(hash, 0, 1, [], hash)).toBe(true);
    expect(verifyInclusion(empty, 0, 1, [], hash)).toBe(false);
    expect(verifyInclusion(hash, 0, 1, [], empty)).toBe(false);
    expect(verifyInclusion(empty, 0, 1, [], empty)).toBe(false);
  });

  it.each([
    [0, 0],
    [0, 1],
    [1, 0],
    [2, 1],
  ])('invalid root/leaf probes at index %i size %i (TestVerifyInclusion)', (index, size) => {
    const some = h('abacaba000000000000000000000000000000000000000000060061e00123456');
    const emptyTree = emptyRoot();
    expect(verifyInclusion(some, index, size, [], new Uint8Array(0))).toBe(false);
    expect(verifyInclusion(new Uint8Array(0), index, size, [], emptyTree)).toBe(false);
    expect(verifyInclusion(some, index, size, [], emptyTree)).toBe(false);
  });
});

describe('published consistency proofs (verify_test.go)', () => {
  it.each(CONSISTENCY_VECTORS)('$size1 → $size2', async ({ size1, size2, proof }) => {
    const { log } = await referenceLog();
    expect(hexes(await log.consistencyProof(size1, size2))).toEqual(proof);

    const r1 = h(ROOTS[size1] as string);
    const r2 = h(ROOTS[size2] as string);
    const p = proof.map(h);
    expect(verifyConsistency(size1, size2, r1, r2, p)).toBe(true);
    if (p.length === 0) return; // verify_test.go only corrupts non-trivial proofs
    for (const [desc, s1, s2, a, b, pr] of consistencyProbes(size1, size2, r1, r2, p)) {
      expect(verifyConsistency(s1, s2, a, b, pr), desc).toBe(false);
    }
  });

  // TestVerifyConsistency uses 12-byte "don't care" roots and accepts any roots for size1 = 0; here
  // roots must be 32 bytes and a size-0 root must be the empty-tree hash, so the table uses real roots.
  it('edge cases of TestVerifyConsistency, with 32-byte roots', () => {
    const root1 = h(ROOTS[1] as string);
    const root2 = h(ROOTS[2] as string);
    const e = emptyRoot();
    const table: Array<[number, number, Uint8Array, Uint8Array, Uint8Array[], boolean]> = [
      [1, 1, root1, root2, [], false], // same size, different roots
      [1, 1, root2, root2, [], true],
      [0, 0, e, e, [], true],
      [0, 1, e, root1, [], true],
      [1, 0, root1, root2, [], false], // time travel
      [2, 1, root1, root2, [], false],
      [1, 2, root1, root2, [], false], // empty proof
      [0, 0, e, root2, [], false], // roots don't match
      [1, 1, e, root2, [], false],
      [0, 0, e, e, [e], false], // roots match but the proof is not empty
      [0, 1, e, e, [e], false],
      [1, 1, e, e, [e], false],
    ];
    for (const [s1, s2, a, b, p, want] of table) {
      expect(verifyConsistency(s1, s2, a, b, p), `${s1}→${s2}`).toBe(want);
    }
  });
});
