/**
 * consensus/block-tree.ts: the tree of not-yet-final blocks that PoW's and PoS's (LMD-GHOST) fork
 * choice runs over. The fork-choice comparator is passed in; here it is "more weight", so the
 * core Nakamoto property — a SHORTER branch with more weight beats a LONGER one — is checked on
 * the structure itself, with a negative control each time.
 */
import { describe, expect, it } from 'vitest';
import { BlockTree, type TreeNode } from '../../consensus/block-tree.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';

interface W {
  readonly weight: number;
}

const h = (name: string): Uint8Array => sha256(utf8(name));
const heavier = (a: TreeNode<W>, b: TreeNode<W>) => a.data.weight > b.data.weight;
const all = () => true;
const names = (nodes: readonly TreeNode<W>[]) => nodes.map((n) => n.id).sort();
const ids = (...hs: string[]) => hs.map((x) => toHex(h(x))).sort();

/**
 *            ┌ a1(1) ─ a2(2) ─ a3(3)      the long branch
 *   root(0) ─┤
 *            └ b1(1) ─ b2(bWeight)        the short branch
 */
function forked(bWeight: number): BlockTree<W> {
  const t = new BlockTree<W>({ hash: h('root'), height: 10, data: { weight: 0 } });
  t.add(h('a1'), h('root'), { weight: 1 });
  t.add(h('a2'), h('a1'), { weight: 2 });
  t.add(h('a3'), h('a2'), { weight: 3 });
  t.add(h('b1'), h('root'), { weight: 1 });
  t.add(h('b2'), h('b1'), { weight: bWeight });
  return t;
}

const node = (t: BlockTree<W>, name: string): TreeNode<W> => {
  const n = t.get(h(name));
  if (n === undefined) throw new Error(`${name} is not in the tree`);
  return n;
};

describe('BlockTree.add', () => {
  it('places a child one above its parent, and finds it by bytes or hex id', () => {
    const t = forked(2);
    const a2 = node(t, 'a2');
    expect(a2.height).toBe(12);
    expect(a2.parent).toBe(toHex(h('a1')));
    expect(t.get(toHex(h('a2')))).toBe(a2);
    expect(t.has(h('b2'))).toBe(true);
    expect(t.size).toBe(6);
    expect(names(t.children(t.root))).toEqual(ids('a1', 'b1'));
  });

  it('refuses a block whose parent is not in the tree', () => {
    const t = forked(2);
    expect(t.add(h('x2'), h('x1'), { weight: 9 })).toBeUndefined();
    expect(t.has(h('x2'))).toBe(false);
    expect(t.size).toBe(6);
  });

  it('refuses a duplicate, under the same parent or another, and keeps the first data', () => {
    const t = forked(2);
    expect(t.add(h('a2'), h('a1'), { weight: 99 })).toBeUndefined();
    expect(t.add(h('a2'), h('b1'), { weight: 99 })).toBeUndefined();
    expect(t.add(h('root'), h('a3'), { weight: 99 })).toBeUndefined();
    expect(node(t, 'a2').data.weight).toBe(2);
    expect(node(t, 'a2').parent).toBe(toHex(h('a1')));
    expect(t.size).toBe(6);
    expect(names(t.children(node(t, 'b1')))).toEqual(ids('b2'));
  });
});

describe('BlockTree.best', () => {
  it('a shorter branch with more weight beats a longer one with less', () => {
    const t = forked(5);
    const best = t.best(heavier, all);
    expect(best.id).toBe(toHex(h('b2')));
    expect(best.height).toBeLessThan(node(t, 'a3').height);
  });

  it('negative control: the shorter branch with less weight loses', () => {
    expect(forked(2.5).best(heavier, all).id).toBe(toHex(h('a3')));
  });

  it('a tie keeps the node added first', () => {
    const t = forked(3); // b2 ties a3, added after it
    expect(t.best(heavier, all).id).toBe(toHex(h('a3')));
    const u = new BlockTree<W>({ hash: h('root'), height: 0, data: { weight: 0 } });
    u.add(h('b1'), h('root'), { weight: 1 });
    u.add(h('a1'), h('root'), { weight: 1 });
    expect(u.best(heavier, all).id).toBe(toHex(h('b1')));
  });

  it('skips ineligible nodes, and falls back to the root', () => {
    const t = forked(5);
    expect(t.best(heavier, (n) => n.id !== toHex(h('b2'))).id).toBe(toHex(h('a3')));
    expect(t.best(heavier, () => false).id).toBe(t.root.id);
  });
});

describe('BlockTree.ghost (LMD-GHOST over votes)', () => {
  const vote = (name: string, weight: number) => ({ head: toHex(h(name)), weight });

  it('follows the subtree with the most vote weight, not the longest branch', () => {
    const t = forked(0);
    // Two votes on the short branch outweigh one on the long one: GHOST ends at b2.
    expect(t.ghost(t.root, [vote('a3', 1), vote('b2', 1), vote('b1', 1)], all).id).toBe(toHex(h('b2')));
    // Negative control: the long branch's votes weigh more.
    expect(t.ghost(t.root, [vote('a3', 2), vote('b2', 1)], all).id).toBe(toHex(h('a3')));
  });

  it('a vote weighs on every ancestor; votes outside the tree weigh nothing; ties go to the lower id', () => {
    const t = forked(0);
    // A vote for a1 alone still leads there, and on to a3 (its heaviest, and only, descendant line).
    expect(t.ghost(t.root, [vote('a1', 1), vote('nowhere', 5)], all).id).toBe(toHex(h('a3')));
    const lower = [toHex(h('a1')), toHex(h('b1'))].sort()[0] === toHex(h('a1')) ? 'a3' : 'b2';
    expect(t.ghost(t.root, [], all).id).toBe(toHex(h(lower)));
  });

  it('starts where it is told (the justified checkpoint) and skips ineligible children', () => {
    const t = forked(0);
    expect(t.ghost(node(t, 'b1'), [vote('a3', 9)], all).id).toBe(toHex(h('b2')));
    expect(t.ghost(t.root, [vote('b2', 9)], (n) => n.id !== toHex(h('b1'))).id).toBe(toHex(h('a3')));
  });
});

describe('BlockTree paths', () => {
  it('reorgDepth: 0 when extending, the abandoned length when switching', () => {
    const t = forked(5);
    t.add(h('a4'), h('a3'), { weight: 4 });
    const [a1, a3, a4, b1, b2] = ['a1', 'a3', 'a4', 'b1', 'b2'].map((x) => node(t, x)) as [
      TreeNode<W>,
      TreeNode<W>,
      TreeNode<W>,
      TreeNode<W>,
      TreeNode<W>,
    ];
    expect(t.reorgDepth(a3, a4)).toBe(0);
    expect(t.reorgDepth(a1, a4)).toBe(0);
    expect(t.reorgDepth(a3, a3)).toBe(0);
    expect(t.reorgDepth(t.root, b2)).toBe(0);
    expect(t.reorgDepth(a3, b2)).toBe(3);
    expect(t.reorgDepth(a4, b1)).toBe(4);
    expect(t.reorgDepth(b2, a4)).toBe(2);
    expect(t.reorgDepth(a3, a1)).toBe(2); // going back down the same branch abandons the top
  });

  it('pathBetween: from just above the ancestor up to the node, in height order', () => {
    const t = forked(5);
    const a3 = node(t, 'a3');
    expect(t.pathBetween(t.root, a3).map((n) => n.id)).toEqual(['a1', 'a2', 'a3'].map((x) => toHex(h(x))));
    expect(t.pathBetween(node(t, 'a1'), a3).map((n) => n.id)).toEqual(['a2', 'a3'].map((x) => toHex(h(x))));
    expect(t.pathBetween(a3, a3)).toEqual([]);
    expect(() => t.pathBetween(node(t, 'b1'), a3)).toThrow(/ancestor/);
  });

  it('ancestorAt: the ancestor (or the node) at a height, undefined out of reach', () => {
    const t = forked(5);
    const a3 = node(t, 'a3');
    expect(t.ancestorAt(a3, 11)?.id).toBe(toHex(h('a1')));
    expect(t.ancestorAt(a3, 13)).toBe(a3);
    expect(t.ancestorAt(a3, 10)?.id).toBe(t.root.id);
    expect(t.ancestorAt(a3, 14)).toBeUndefined();
    expect(t.ancestorAt(a3, 9)).toBeUndefined();
  });

  it('leaves: the nodes without children', () => {
    const t = forked(5);
    expect(names(t.leaves())).toEqual(ids('a3', 'b2'));
    t.add(h('a4'), h('a3'), { weight: 4 });
    t.add(h('a3x'), h('a2'), { weight: 3 });
    expect(names(t.leaves())).toEqual(ids('a3x', 'a4', 'b2'));
    expect(names(new BlockTree<W>({ hash: h('r'), height: 0, data: { weight: 0 } }).leaves())).toEqual(
      ids('r'),
    );
  });
});

describe('BlockTree.reroot', () => {
  it('keeps the new root and its descendants, drops and returns everything else', () => {
    const t = forked(5);
    t.add(h('a2x'), h('a1'), { weight: 2 });
    const dropped = t.reroot(h('a1'));
    expect(names(dropped)).toEqual(ids('b1', 'b2', 'root'));
    expect(t.size).toBe(4);
    expect(t.root.id).toBe(toHex(h('a1')));
    expect(t.root.parent).toBeUndefined();
    expect(t.root.height).toBe(11);
    for (const x of ['root', 'b1', 'b2']) expect(t.has(h(x))).toBe(false);
    for (const x of ['a1', 'a2', 'a3', 'a2x']) expect(t.has(h(x))).toBe(true);
    expect(names(t.leaves())).toEqual(ids('a2x', 'a3'));
    // The dropped branch is gone for the fork choice, and nothing can hang off it any more.
    expect(t.best(heavier, all).id).toBe(toHex(h('a3')));
    expect(t.add(h('b3'), h('b2'), { weight: 9 })).toBeUndefined();
    // Paths stop at the new root.
    const a3 = node(t, 'a3');
    expect(t.pathBetween(t.root, a3).map((n) => n.id)).toEqual(['a2', 'a3'].map((x) => toHex(h(x))));
    expect(t.ancestorAt(a3, 10)).toBeUndefined();
    expect(t.parentOf(t.root)).toBeUndefined();
  });

  it('rerooting onto the root drops nothing; onto an unknown block throws', () => {
    const t = forked(5);
    expect(t.reroot(h('root'))).toEqual([]);
    expect(t.size).toBe(6);
    expect(() => t.reroot(h('nowhere'))).toThrow(/new root/);
  });
});
