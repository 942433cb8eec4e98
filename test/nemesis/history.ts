/**
 * The nemesis suite's history checker (Jepsen's idea, for a ledger): given what the clients were
 * told, what the nodes said while the faults ran, and the chains every node holds at the end,
 * list every way the cluster broke its promises. Pure: the runner (nemesis.ts) gathers the
 * history from real processes; tests feed it fabricated ones.
 *
 *  - lost-ack: a transaction acknowledged as committed is missing from a node's final chain;
 *  - moved-ack: it is there, but not at the height the acknowledgement named;
 *  - duplicate: a transaction is in a chain more than once;
 *  - lost-commit: a node reported a block (height, hash) it no longer has at that height;
 *  - diverged: two nodes hold different blocks at one height (so different roots);
 *  - not-converged: the nodes' chains end at different heights;
 *  - supply: the balances the workload moves do not add up to what genesis gave;
 *  - evidence: a node holds evidence against a validator the run kept honest.
 */

export interface FinalBlock {
  readonly height: number;
  readonly hash: string;
  readonly txIds: readonly string[];
  readonly stateRoot: string;
  readonly logRoot: string;
}

export interface NodeFinal {
  readonly node: number;
  /** Blocks 1…height, in order. */
  readonly blocks: readonly FinalBlock[];
  /** The sum of the balances of every account the workload touches, at the node's head. */
  readonly supply: bigint;
  /** Validator indices this node holds evidence against. */
  readonly evidenceAgainst: readonly number[];
}

export interface History {
  /** What clients were told: committed at `height` (by node `node`). */
  readonly acks: readonly { readonly id: string; readonly node: number; readonly height: number }[];
  /** What nodes reported while the faults ran: their head at some moment. */
  readonly observed: readonly { readonly node: number; readonly height: number; readonly hash: string }[];
  readonly finals: readonly NodeFinal[];
  readonly genesisSupply: bigint;
  /** Validators no fault made Byzantine (here: all of them — the nemesis crashes and pauses). */
  readonly honest: readonly number[];
}

export type AnomalyKind =
  | 'lost-ack'
  | 'moved-ack'
  | 'duplicate'
  | 'lost-commit'
  | 'diverged'
  | 'not-converged'
  | 'supply'
  | 'evidence';

export interface Anomaly {
  readonly kind: AnomalyKind;
  readonly detail: string;
}

/** At most this many anomalies of one kind are listed (a broken run would list thousands). */
const MAX_PER_KIND = 20;

export function checkHistory(h: History): Anomaly[] {
  const out: Anomaly[] = [];
  const count = new Map<AnomalyKind, number>();
  const add = (kind: AnomalyKind, detail: string) => {
    const n = (count.get(kind) ?? 0) + 1;
    count.set(kind, n);
    if (n <= MAX_PER_KIND) out.push({ kind, detail });
  };

  const heightsOf = new Map<number, Map<string, number[]>>(); // node → tx id → heights
  for (const f of h.finals) {
    const where = new Map<string, number[]>();
    f.blocks.forEach((b, i) => {
      if (b.height !== i + 1)
        add('lost-commit', `node ${f.node}: block ${i + 1} of its chain says height ${b.height}`);
      for (const id of b.txIds) where.set(id, [...(where.get(id) ?? []), b.height]);
    });
    heightsOf.set(f.node, where);
    for (const [id, at] of where)
      if (at.length > 1) add('duplicate', `node ${f.node}: transaction ${id} at heights ${at.join(', ')}`);
    if (f.supply !== h.genesisSupply)
      add(
        'supply',
        `node ${f.node}: the workload's accounts hold ${f.supply}, genesis gave ${h.genesisSupply}`,
      );
    for (const v of f.evidenceAgainst)
      if (h.honest.includes(v))
        add('evidence', `node ${f.node} holds evidence against honest validator ${v}`);
  }

  for (const a of h.acks)
    for (const f of h.finals) {
      const at = heightsOf.get(f.node)?.get(a.id);
      if (at === undefined)
        add(
          'lost-ack',
          `transaction ${a.id}, acknowledged at height ${a.height} by node ${a.node}, is not in node ${f.node}'s chain`,
        );
      else if (!at.includes(a.height))
        add(
          'moved-ack',
          `transaction ${a.id}, acknowledged at height ${a.height}, is at ${at.join(', ')} on node ${f.node}`,
        );
    }

  const finalOf = new Map(h.finals.map((f) => [f.node, f]));
  for (const o of h.observed) {
    const f = finalOf.get(o.node);
    if (f === undefined || o.height === 0) continue;
    const b = f.blocks[o.height - 1];
    if (b === undefined || b.hash !== o.hash)
      add(
        'lost-commit',
        `node ${o.node} reported block ${o.hash.slice(0, 16)} at height ${o.height}; its final chain has ${b === undefined ? 'no block there' : b.hash.slice(0, 16)}`,
      );
  }

  const tops = h.finals.map((f) => f.blocks.length);
  if (new Set(tops).size > 1)
    add(
      'not-converged',
      `final heights ${h.finals.map((f) => `node ${f.node}: ${f.blocks.length}`).join(', ')}`,
    );
  const common = Math.min(...tops);
  for (let height = 1; height <= common; height++) {
    const blocks = h.finals.map((f) => f.blocks[height - 1] as FinalBlock);
    const first = blocks[0] as FinalBlock;
    blocks.forEach((b, i) => {
      if (b.hash !== first.hash || b.stateRoot !== first.stateRoot || b.logRoot !== first.logRoot)
        add(
          'diverged',
          `height ${height}: node ${h.finals[0]?.node} has ${first.hash.slice(0, 16)} (state ${first.stateRoot.slice(0, 12)}, log ${first.logRoot.slice(0, 12)}), node ${h.finals[i]?.node} ${b.hash.slice(0, 16)} (state ${b.stateRoot.slice(0, 12)}, log ${b.logRoot.slice(0, 12)})`,
        );
    });
  }

  for (const [kind, n] of count)
    if (n > MAX_PER_KIND) out.push({ kind, detail: `…and ${n - MAX_PER_KIND} more of this kind` });
  return out;
}
