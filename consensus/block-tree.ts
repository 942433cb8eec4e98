/**
 * The block tree above an engine's finalized root, for engines whose tip can reorganize (Proof of
 * Work now, Proof of Stake's LMD-GHOST next). Every node records its parent, its height and the
 * engine's data for it; the fork choice is a function of the tree, passed in (`best`: most
 * cumulative work), or the tree's own GHOST walk over votes the engine passes (`ghost`: Proof of
 * Stake's LMD-GHOST) — one structure for both.
 *
 * The root is the last finalized block: nothing at or below its height other than the root itself
 * is kept, so the tree is bounded by what is not yet final (plus what `add` is given). Blocks whose
 * parent is not in the tree are the caller's business (an orphan pool): `add` refuses them.
 */
import { toHex } from '../crypto/bytes.ts';
import { invariant } from '../crypto/errors.ts';

export interface TreeNode<T> {
  readonly hash: Uint8Array;
  readonly id: string;
  /** Undefined for the root. */
  readonly parent: string | undefined;
  readonly height: number;
  data: T;
}

export class BlockTree<T> {
  readonly #nodes = new Map<string, TreeNode<T>>();
  readonly #children = new Map<string, Set<string>>();
  #root: TreeNode<T>;

  constructor(root: { hash: Uint8Array; height: number; data: T }) {
    this.#root = {
      hash: root.hash,
      id: toHex(root.hash),
      parent: undefined,
      height: root.height,
      data: root.data,
    };
    this.#nodes.set(this.#root.id, this.#root);
  }

  get root(): TreeNode<T> {
    return this.#root;
  }

  get size(): number {
    return this.#nodes.size;
  }

  has(hash: Uint8Array | string): boolean {
    return this.#nodes.has(typeof hash === 'string' ? hash : toHex(hash));
  }

  get(hash: Uint8Array | string): TreeNode<T> | undefined {
    return this.#nodes.get(typeof hash === 'string' ? hash : toHex(hash));
  }

  /** Adds a child of a node in the tree; false if its parent is unknown (or it is known already). */
  add(hash: Uint8Array, parent: Uint8Array, data: T): TreeNode<T> | undefined {
    const id = toHex(hash);
    const p = this.#nodes.get(toHex(parent));
    if (p === undefined || this.#nodes.has(id)) return undefined;
    const node: TreeNode<T> = { hash, id, parent: p.id, height: p.height + 1, data };
    this.#nodes.set(id, node);
    let siblings = this.#children.get(p.id);
    if (siblings === undefined) this.#children.set(p.id, (siblings = new Set()));
    siblings.add(id);
    return node;
  }

  children(node: TreeNode<T>): TreeNode<T>[] {
    return [...(this.#children.get(node.id) ?? [])].map((c) => this.#nodes.get(c) as TreeNode<T>);
  }

  /** Nodes with no child. */
  leaves(): TreeNode<T>[] {
    return [...this.#nodes.values()].filter((n) => !this.#children.has(n.id));
  }

  parentOf(node: TreeNode<T>): TreeNode<T> | undefined {
    return node.parent === undefined ? undefined : this.#nodes.get(node.parent);
  }

  /** `node`'s ancestor (or itself) at `height`, if the tree reaches that low. */
  ancestorAt(node: TreeNode<T>, height: number): TreeNode<T> | undefined {
    let n: TreeNode<T> | undefined = node;
    while (n !== undefined && n.height > height) n = this.parentOf(n);
    return n?.height === height ? n : undefined;
  }

  /** The path from just above `from` (an ancestor of `to`) up to `to`, in height order. */
  pathBetween(from: TreeNode<T>, to: TreeNode<T>): TreeNode<T>[] {
    const path: TreeNode<T>[] = [];
    let n: TreeNode<T> | undefined = to;
    while (n !== undefined && n.id !== from.id) {
      path.push(n);
      n = this.parentOf(n);
    }
    invariant(n !== undefined, 'pathBetween: `from` is an ancestor of `to`');
    return path.reverse();
  }

  /** How many blocks of `from`'s branch a switch to `to` abandons (0 when `to` extends `from`). */
  reorgDepth(from: TreeNode<T>, to: TreeNode<T>): number {
    let a: TreeNode<T> | undefined = from;
    let b: TreeNode<T> | undefined = to;
    while (a !== undefined && b !== undefined && a.id !== b.id) {
      if (a.height >= b.height) a = this.parentOf(a);
      else b = this.parentOf(b);
    }
    invariant(a !== undefined, 'reorgDepth: both nodes descend from the root');
    return from.height - a.height;
  }

  /**
   * Makes `hash` (a descendant of the root) the new root: everything not descending from it is
   * dropped, with the abandoned forks. Returns the dropped nodes.
   */
  reroot(hash: Uint8Array): TreeNode<T>[] {
    const next = this.get(hash);
    invariant(next !== undefined, 'reroot: the new root is in the tree');
    const keep = new Set<string>();
    const stack = [next.id];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      keep.add(id);
      for (const c of this.#children.get(id) ?? []) stack.push(c);
    }
    const dropped: TreeNode<T>[] = [];
    for (const [id, n] of this.#nodes) {
      if (keep.has(id)) continue;
      dropped.push(n);
      this.#nodes.delete(id);
      this.#children.delete(id);
    }
    this.#root = { ...next, parent: undefined };
    this.#nodes.set(next.id, this.#root);
    return dropped;
  }

  /**
   * GHOST (Sompolinsky & Zohar; LMD-GHOST with each validator's latest vote): from `start`, at
   * every fork the eligible child whose subtree holds the most weight, until a node without an
   * eligible child. A vote weighs on its block and every ancestor; a vote for a block outside the
   * tree weighs nothing. Ties go to the lower id, so every node with the same votes agrees.
   */
  ghost(
    start: TreeNode<T>,
    votes: Iterable<{ readonly head: string; readonly weight: number }>,
    eligible: (n: TreeNode<T>) => boolean,
  ): TreeNode<T> {
    const weight = new Map<string, number>();
    for (const v of votes)
      for (let x = this.get(v.head); x !== undefined; x = this.parentOf(x))
        weight.set(x.id, (weight.get(x.id) ?? 0) + v.weight);
    let n = start;
    for (;;) {
      let best: TreeNode<T> | undefined;
      let bestWeight = -1;
      for (const c of this.children(n)) {
        if (!eligible(c)) continue;
        const w = weight.get(c.id) ?? 0;
        if (w > bestWeight || (w === bestWeight && c.id < (best as TreeNode<T>).id)) {
          best = c;
          bestWeight = w;
        }
      }
      if (best === undefined) return n;
      n = best;
    }
  }

  /** The node `better` prefers over all others (ties: the earlier added wins, as it was seen first). */
  best(
    better: (a: TreeNode<T>, b: TreeNode<T>) => boolean,
    eligible: (n: TreeNode<T>) => boolean,
  ): TreeNode<T> {
    let best = this.#root;
    for (const n of this.#nodes.values()) if (eligible(n) && better(n, best)) best = n;
    return best;
  }
}
