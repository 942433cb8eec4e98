/**
 * test/nemesis/history.ts, the nemesis suite's history checker: a clean history passes, and each
 * promise broken on purpose — a lost acknowledgement, a double inclusion, an acknowledgement at
 * the wrong height, a reported commit later lost, diverged blocks or roots, unequal heights,
 * supply out of balance, evidence against an honest validator — is reported as its own kind.
 */
import { describe, expect, it } from 'vitest';
import { checkHistory, type FinalBlock, type History, type NodeFinal } from '../nemesis/history.ts';

const block = (height: number, txIds: string[], hash = `h${height}`): FinalBlock => ({
  height,
  hash,
  txIds,
  stateRoot: `s${height}`,
  logRoot: `l${height}`,
});

const CHAIN = [block(1, ['a', 'b']), block(2, []), block(3, ['c'])];
const final = (node: number, blocks: FinalBlock[] = CHAIN, over: Partial<NodeFinal> = {}): NodeFinal => ({
  node,
  blocks,
  supply: 1000n,
  evidenceAgainst: [],
  ...over,
});

function history(over: Partial<History> = {}): History {
  return {
    acks: [
      { id: 'a', node: 0, height: 1 },
      { id: 'c', node: 2, height: 3 },
    ],
    observed: [
      { node: 0, height: 1, hash: 'h1' },
      { node: 1, height: 3, hash: 'h3' },
      { node: 2, height: 0, hash: 'genesis' },
    ],
    finals: [0, 1, 2, 3].map((i) => final(i)),
    genesisSupply: 1000n,
    honest: [0, 1, 2, 3],
    ...over,
  };
}

const kinds = (h: History) => checkHistory(h).map((a) => a.kind);

describe('nemesis history checker', () => {
  it('passes a clean history (b committed without an acknowledgement is fine: its client timed out)', () => {
    expect(checkHistory(history())).toEqual([]);
  });

  it('reports a fabricated lost acknowledgement, on every node that lacks it', () => {
    const h = history({ acks: [...history().acks, { id: 'z', node: 1, height: 2 }] });
    const found = checkHistory(h);
    expect(found.map((a) => a.kind)).toEqual(['lost-ack', 'lost-ack', 'lost-ack', 'lost-ack']);
    expect(found[0]?.detail).toBe(
      "transaction z, acknowledged at height 2 by node 1, is not in node 0's chain",
    );
  });

  it('reports a fabricated double inclusion, and an acknowledgement at the wrong height', () => {
    const doubled = [block(1, ['a', 'b']), block(2, ['a']), block(3, ['c'])];
    expect(kinds(history({ finals: [0, 1, 2, 3].map((i) => final(i, doubled)) }))).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
    ]);
    expect(kinds(history({ acks: [{ id: 'c', node: 0, height: 2 }] }))).toEqual([
      'moved-ack',
      'moved-ack',
      'moved-ack',
      'moved-ack',
    ]);
  });

  it('reports a commit a node reported and later lost — replaced, or above its final head', () => {
    expect(kinds(history({ observed: [{ node: 1, height: 2, hash: 'other' }] }))).toEqual(['lost-commit']);
    expect(kinds(history({ observed: [{ node: 3, height: 4, hash: 'h4' }] }))).toEqual(['lost-commit']);
  });

  it('reports diverged blocks or roots at one height, and chains ending at different heights', () => {
    const forked = [block(1, ['a', 'b']), block(2, [], 'fork'), block(3, ['c'])];
    expect(kinds(history({ finals: [final(0), final(1), final(2), final(3, forked)] }))).toEqual([
      'diverged',
    ]);
    const rootOnly = [
      CHAIN[0] as FinalBlock,
      { ...(CHAIN[1] as FinalBlock), stateRoot: 'x' },
      CHAIN[2] as FinalBlock,
    ];
    expect(kinds(history({ finals: [final(0), final(1), final(2), final(3, rootOnly)] }))).toEqual([
      'diverged',
    ]);
    const short = CHAIN.slice(0, 2);
    // (Node 3 lacks c too, and node 1's report of height 3 is above its head.)
    expect(kinds(history({ finals: [final(0), final(1, short), final(2), final(3)] }))).toEqual([
      'lost-ack',
      'lost-commit',
      'not-converged',
    ]);
  });

  it('reports supply out of balance, and evidence against an honest validator (not a Byzantine one)', () => {
    expect(
      kinds(history({ finals: [final(0), final(1, CHAIN, { supply: 999n }), final(2), final(3)] })),
    ).toEqual(['supply']);
    const accused = [final(0, CHAIN, { evidenceAgainst: [2] }), final(1), final(2), final(3)];
    expect(kinds(history({ finals: accused }))).toEqual(['evidence']);
    expect(kinds(history({ finals: accused, honest: [0, 1, 3] }))).toEqual([]);
  });

  it('lists at most 20 anomalies of a kind, then how many more', () => {
    const acks = Array.from({ length: 30 }, (_, i) => ({ id: `x${i}`, node: 0, height: 1 }));
    const found = checkHistory(history({ acks, finals: [final(0)] }));
    expect(found).toHaveLength(21);
    expect(found[20]).toEqual({ kind: 'lost-ack', detail: '…and 10 more of this kind' });
  });
});
