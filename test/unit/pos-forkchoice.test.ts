/**
 * Proof of Stake's fork choice, scripted on the engine harness (the real engine, real BLS):
 * LMD-GHOST over two competing branches — the heavier subtree by latest votes wins, a validator's
 * later vote replaces its earlier one, a late (older) vote changes nothing — and votes for a
 * block a node lacks wait until the block arrives.
 */
import { describe, expect, it } from 'vitest';
import type { PosEngine } from '../../consensus/pos/engine.ts';
import { pos } from '../../consensus/pos/index.ts';
import type { PosMessage } from '../../consensus/pos/messages.ts';
import { type Checkpoint, ffgMessage } from '../../consensus/pos/rules.ts';
import { toHex } from '../../crypto/bytes.ts';
import { headerHash } from '../../ledger/block.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

const S = 4;

/**
 * Two branches: {0, 1} and {2, 3} build apart for 6 s, every vote dropped. Then node 0 (the one
 * under test) hears everything but votes — it has B's blocks once a vote names them and it asks —
 * while node 1 still hears only A's side and node 3 only B's: their heads are the branches' tips.
 */
function twoBranches(powers?: number[]) {
  const c = new EngineCluster<PosMessage>({
    engine: pos,
    n: 4,
    params: { slotMs: 1000, slotsPerEpoch: S },
    latencyMs: 10,
    settle: true,
    recordOutputs: true,
    ...(powers === undefined ? {} : { powers }),
  });
  c.syncing = false;
  let split = true;
  c.route = (from, to, msg) => {
    if (msg.type === 'attest') return null; // votes come only from the script
    if (split) return from < 2 !== to < 2 ? null : 10;
    // Blocks (gossiped, or answering a GET: signed by their proposer) never cross to 1 or 3.
    return msg.type === 'block' && ((to === 1 && from >= 2) || (to === 3 && from < 2)) ? null : 10;
  };
  c.start();
  c.run(6_000);
  split = false;
  c.run(6_500); // blocks reach node 0 (gossip, and GET for what it lacks); no slot starts
  const engine = (i: number) => c.node(i).engine as unknown as PosEngine;
  return { c, engine, tipA: engine(1).head(), tipB: engine(3).head() };
}

function vote(c: EngineCluster<PosMessage>, from: number, slot: number, head: Uint8Array): PosMessage {
  const genesis: Checkpoint = { slot: 0, root: headerHash(c.genesis) };
  // A target no other vote shares: these votes move the fork choice, never FFG.
  const target: Checkpoint = {
    slot: Math.floor(slot / S) * S,
    root: new Uint8Array(32).fill(from + 1 + slot),
  };
  return {
    type: 'attest',
    slot,
    head,
    source: genesis,
    target,
    signature: c.blsSign(from, ffgMessage('cluster', genesis, target)),
  };
}

describe('pos fork choice (LMD-GHOST)', () => {
  it('follows the heavier subtree by latest votes; a later vote replaces an earlier one, a late one changes nothing', () => {
    const { c, engine, tipA, tipB } = twoBranches();
    expect(toHex(tipA.hash)).not.toBe(toHex(tipB.hash));
    expect(tipA.height).toBeGreaterThan(1);
    expect(tipB.height).toBeGreaterThan(1);
    const head = () => toHex(engine(0).head().hash);
    const s = Math.floor(c.now / 1000);
    // 0 and 1 vote A: A holds 2, B nothing.
    c.inject(0, 0, vote(c, 0, s, tipA.hash));
    c.inject(1, 0, vote(c, 1, s, tipA.hash));
    expect(head()).toBe(toHex(tipA.hash));
    // 2 and 3 vote B: 2 against 2 (a tie, broken by hash); 1 moves to B a slot later: B holds 3.
    c.inject(2, 0, vote(c, 2, s, tipB.hash));
    c.inject(3, 0, vote(c, 3, s, tipB.hash));
    c.run(c.now + 200); // node 0 lacked B's blocks: it asked the voters for them (within the slot)
    c.inject(1, 0, vote(c, 1, s + 1, tipB.hash));
    expect(head()).toBe(toHex(tipB.hash));
    // A late vote of 1's (an older slot than its latest) for A counts for nothing.
    c.inject(1, 0, vote(c, 1, s - 1, tipA.hash));
    expect(head()).toBe(toHex(tipB.hash));
    // 2 and 3 move to A later: A holds 0, 2, 3 against 1.
    c.inject(2, 0, vote(c, 2, s + 1, tipA.hash));
    c.inject(3, 0, vote(c, 3, s + 1, tipA.hash));
    expect(head()).toBe(toHex(tipA.hash));
  });

  it('with unequal stake, one heavy validator outweighs two light ones', () => {
    const { c, engine, tipA, tipB } = twoBranches([1, 1, 1, 3]);
    const s = Math.floor(c.now / 1000);
    c.inject(0, 0, vote(c, 0, s, tipA.hash));
    c.inject(1, 0, vote(c, 1, s, tipA.hash));
    expect(toHex(engine(0).head().hash)).toBe(toHex(tipA.hash));
    c.inject(3, 0, vote(c, 3, s, tipB.hash)); // 3 against 2
    c.run(c.now + 200); // (node 0 fetches B's blocks from the voter)
    expect(toHex(engine(0).head().hash)).toBe(toHex(tipB.hash));
  });

  it('a vote for a block this node lacks waits for it, asks a voter for it, and counts once it arrives', () => {
    const { c, engine, tipB } = twoBranches();
    // Node 1 holds only branch A. Votes from 2 and 3 for B's tip reach it, blocks from them not yet.
    const s = Math.floor(c.now / 1000);
    const asked = c.node(1).outputs.length;
    c.inject(2, 1, vote(c, 2, s, tipB.hash));
    c.inject(3, 1, vote(c, 3, s, tipB.hash));
    expect(toHex(engine(1).head().hash)).not.toBe(toHex(tipB.hash));
    const gets = c
      .node(1)
      .outputs.slice(asked)
      .filter((o) => o.kind === 'send' && o.msg.type === 'get' && toHex(o.msg.hash) === toHex(tipB.hash));
    expect(gets.length).toBeGreaterThan(0);
    // The blocks flow again: the waiting votes count, and B (2 against 0) is the head.
    c.route = (_from, _to, msg) => (msg.type === 'attest' ? null : 10);
    c.run(c.now + 400); // before the next slot: GETs answered, the chain executed
    expect(toHex(engine(1).head().hash)).toBe(toHex(tipB.hash));
  });
});
