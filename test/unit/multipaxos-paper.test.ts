/**
 * Multi-Paxos, claim by claim: the rules of "Paxos Made Simple" (Lamport 2001, §2–3) and Flexible
 * Paxos (Howard, Malkhi & Spiegelman 2016) as Verity runs them (consensus/multipaxos/engine.ts),
 * in the style of raft-paper.test.ts.
 *
 * Tests run synchronously (latency 0, every event due now settled after each action; timers fire
 * only when a test fires them). Where a node is under test alone, `route` drops everything and the
 * test injects exactly the messages it gets (promises with scripted reports, accepts of scripted
 * blocks), then reads what it sent, persisted and proposed.
 */
import { describe, expect, it } from 'vitest';
import {
  type Ballot,
  ballotOrdinal,
  compareBallots,
  encodeStamp,
  MAX_NODES,
  MAX_ROUND,
} from '../../consensus/multipaxos/ballot.ts';
import { MultiPaxosEngine, type MultiPaxosEngineOptions } from '../../consensus/multipaxos/engine.ts';
import { multipaxos } from '../../consensus/multipaxos/index.ts';
import { type MultiPaxosMessage, proposal, type Report } from '../../consensus/multipaxos/messages.ts';
import { parseMultiPaxosParams } from '../../consensus/multipaxos/params.ts';
import { STATE_RECORD } from '../../consensus/multipaxos/records.ts';
import { decodeRecord } from '../../consensus/record.ts';
import type { EngineModule, EngineOutput } from '../../consensus/types.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { type Block, type BlockHeader, headerHash } from '../../ledger/block.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

type Msg = MultiPaxosMessage;
type C = EngineCluster<Msg>;

function cluster(
  n: number,
  o: { params?: EngineParams; engine?: EngineModule<Msg>; mempool?: number; observers?: number } = {},
): C {
  const c = new EngineCluster<Msg>({
    engine: o.engine ?? multipaxos,
    n,
    latencyMs: 0,
    settle: true,
    recordOutputs: true,
    mempool: o.mempool ?? 0,
    observers: o.observers ?? 0,
    params: o.params ?? {},
  });
  c.start();
  return c;
}

/** A module whose engines run with test-only options. */
function withOptions(options: MultiPaxosEngineOptions): EngineModule<Msg> {
  return {
    ...multipaxos,
    create: (ctx) => new MultiPaxosEngine(ctx, parseMultiPaxosParams(ctx.params), options),
  };
}

const engine = (c: C, i: number) => c.node(i).engine as MultiPaxosEngine;
const state = (c: C, i: number) => engine(c, i).inspect();
const hex = (b: Uint8Array) => toHex(b);
const hashOf = (b: Block) => headerHash(b.header);
const B = (round: number, node: number): Ballot => ({ round, node });

/** Messages node `from` sent, of a type (broadcasts included). */
function sent<K extends Msg['type']>(c: C, from: number, type: K, since = 0) {
  return c.sent
    .slice(since)
    .filter((s) => s.from === from && s.msg.type === type)
    .map((s) => ({ to: s.to, msg: s.msg as Extract<Msg, { type: K }> }));
}

function cutOff(c: C): void {
  c.route = () => null;
}

function connect(c: C): void {
  c.route = () => 0;
}

/** A block on `parent`, created in `ballot`, stamped with node 0's quorums; `label` makes it unique. */
function block(c: C, parent: BlockHeader, ballot: Ballot, label: string): Block {
  const q = state(c, 0).quorums;
  const stamp = encodeStamp({ ballot, phase1Quorum: q.phase1, phase2Quorum: q.phase2 });
  return c.buildBlock(0, parent, stamp, 0, [utf8(label)]);
}

function report(slot: number, ballot: Ballot, b: Block): Report {
  return { slot, ballot, hash: hashOf(b), parent: b.header.parentHash };
}

/** Node `to` promises to candidate `cand` its ballot, as acceptor `from` holding `reports`. */
function promise(c: C, from: number, to: number, ballot: Ballot, reports: Report[], blocks: Block[]): void {
  c.inject(from, to, { type: 'promise', ballot, head: 0, accepted: reports, blocks: blocks.map(proposal) });
}

/** Raises node `i`'s highest seen round to `round` (a prepare it promises). */
function seeRound(c: C, i: number, round: number, from = (i + 1) % c.nodes.length): void {
  c.inject(from, i, { type: 'prepare', ballot: B(round, from), head: 0, from: 0 });
}

/** Fires node `i`'s election timer until it leads. */
function elect(c: C, i: number): void {
  for (let k = 0; k < 4 && state(c, i).role !== 'leader'; k++) c.fire(i, 'election');
  expect(state(c, i).role).toBe('leader');
}

/** Outputs of node `i` since `mark`, and the index of the first matching one. */
function outputsSince(c: C, i: number, mark: number): EngineOutput<Msg>[] {
  return c.node(i).outputs.slice(mark);
}

const chainOf = (c: C, i: number) => c.node(i).chain;

describe('ballots', () => {
  it('are totally ordered by round, then by node; the ordinal orders the same way and stays a safe integer', () => {
    const ballots = [B(1, 0), B(1, 3), B(2, 0), B(2, 1), B(10, 0), B(MAX_ROUND, MAX_NODES - 1)];
    for (let i = 0; i < ballots.length; i++)
      for (let j = 0; j < ballots.length; j++) {
        const a = ballots[i] as Ballot;
        const b = ballots[j] as Ballot;
        expect(Math.sign(compareBallots(a, b))).toBe(Math.sign(i - j));
        expect(Math.sign(ballotOrdinal(a) - ballotOrdinal(b))).toBe(Math.sign(i - j));
      }
    expect(ballotOrdinal(B(MAX_ROUND, MAX_NODES - 1))).toBe(Number.MAX_SAFE_INTEGER);
  });
});

describe('Phase 1 (prepare / promise)', () => {
  it('a follower that times out picks a ballot above every one seen, promises it to itself on disk before PREPARE leaves, for every slot above its head', () => {
    const c = cluster(3);
    cutOff(c);
    seeRound(c, 0, 5, 2);
    expect(state(c, 0).promised).toEqual(B(5, 2));
    const mark = c.node(0).outputs.length;
    c.fire(0, 'election');
    expect(state(c, 0)).toMatchObject({ role: 'candidate', promised: B(6, 0) });
    const out = outputsSince(c, 0, mark);
    const persist = out.findIndex((o) => o.kind === 'persist' && o.key === 'state');
    const prepare = out.findIndex((o) => o.kind === 'broadcast' && o.msg.type === 'prepare');
    expect(persist).toBeGreaterThanOrEqual(0);
    expect(prepare).toBeGreaterThan(persist);
    const o = out[persist];
    expect(o?.kind === 'persist' && decodeRecord(STATE_RECORD, o.record)).toEqual({
      promised: B(6, 0),
      committed: 0,
      reach: 0,
      lost: 0,
    });
    expect(sent(c, 0, 'prepare').map((s) => [s.to, s.msg])).toEqual([
      ['all', { type: 'prepare', ballot: B(6, 0), head: 0, from: 0 }],
    ]);
  });

  it('an acceptor promises a ballot ≥ its promise (on disk before the reply) and refuses a lower one with its promise — across a restart too', () => {
    const c = cluster(3);
    cutOff(c);
    const prepare = (from: number, ballot: Ballot) =>
      c.inject(from, 0, { type: 'prepare', ballot, head: 0, from: 0 });
    const replies = () =>
      c.sent
        .filter((s) => s.from === 0 && (s.msg.type === 'promise' || s.msg.type === 'nack'))
        .map((s) => [s.msg.type, s.to, s.msg.type === 'nack' ? s.msg.promised : s.msg.ballot]);
    const mark = c.node(0).outputs.length;
    prepare(1, B(2, 1));
    const out = outputsSince(c, 0, mark);
    const persist = out.findIndex((o) => o.kind === 'persist' && o.key === 'state');
    const reply = out.findIndex((o) => o.kind === 'send' && o.msg.type === 'promise');
    expect(persist).toBeGreaterThanOrEqual(0);
    expect(reply).toBeGreaterThan(persist);
    prepare(2, B(1, 2));
    prepare(2, B(2, 2));
    expect(replies()).toEqual([
      ['promise', 1, B(2, 1)],
      ['nack', 2, B(2, 1)],
      ['promise', 2, B(2, 2)],
    ]);
    c.crash(0);
    c.restart(0);
    expect(state(c, 0).promised).toEqual(B(2, 2));
    prepare(1, B(2, 1));
    expect(replies().at(-1)).toEqual(['nack', 1, B(2, 2)]);
  });

  it('a promise reports every slot accepted above the candidate’s head — ballot, hash, parent — with the blocks', () => {
    const c = cluster(3);
    cutOff(c);
    const b1 = block(c, c.genesis, B(1, 1), 'b1');
    const b2 = block(c, b1.header, B(1, 1), 'b2');
    const b3 = block(c, b2.header, B(1, 1), 'b3');
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [b1, b2].map(proposal) });
    c.inject(2, 0, { type: 'accept', ballot: B(2, 2), blocks: [b1, b2, b3].map(proposal) });
    expect(state(c, 0).accepted.map((a) => [a.slot, a.ballot])).toEqual([
      [1, B(2, 2)],
      [2, B(2, 2)],
      [3, B(2, 2)],
    ]);
    c.inject(2, 0, { type: 'prepare', ballot: B(3, 2), head: 1, from: 1 });
    const p = sent(c, 0, 'promise').at(-1)?.msg;
    expect(p?.accepted).toEqual([report(2, B(2, 2), b2), report(3, B(2, 2), b3)]);
    expect(p?.blocks.map((x) => hex(x.hash))).toEqual([b2, b3].map((b) => hex(hashOf(b))));
  });

  it('(P) an acceptor refuses a candidate below the slots whose records it forgot (its commits); its chain having lost its last commit, it still holds that slot’s record: it serves a candidate one below, and campaigns itself — without that record it waits for sync', () => {
    const c = cluster(3, { mempool: 3 });
    elect(c, 0);
    c.input(0, { kind: 'txs-available' });
    expect(chainOf(c, 1).length).toBe(3);
    cutOff(c);
    c.fire(1, 'lease'); // node 0's lease ends: node 1 answers other proposers
    const nacks = () => sent(c, 1, 'nack').map((s) => s.msg.head);
    c.inject(2, 1, { type: 'prepare', ballot: B(9, 2), head: 2, from: 2 });
    expect(nacks()).toEqual([3]);
    expect(state(c, 1).promised).toEqual(B(1, 0)); // refusing promises nothing
    c.crash(1);
    c.restart(1, { loseLastCommit: true });
    expect(state(c, 1)).toMatchObject({ head: 2, committed: 3 });
    expect(state(c, 1).accepted.map((a) => [a.slot, hex(a.hash)])).toEqual([[3, chainOf(c, 0)[2]]]);
    c.inject(2, 1, { type: 'prepare', ballot: B(9, 2), head: 1, from: 1 });
    expect(nacks()).toEqual([3, 2]);
    c.inject(2, 1, { type: 'prepare', ballot: B(9, 2), head: 2, from: 2 });
    expect(
      sent(c, 1, 'promise')
        .at(-1)
        ?.msg.accepted.map((r) => [r.slot, hex(r.hash)]),
    ).toEqual([[3, chainOf(c, 0)[2]]]);
    let mark = c.sent.length;
    c.fire(1, 'election');
    expect(sent(c, 1, 'prepare', mark).map((s) => s.msg.head)).toEqual([2]);
    // The same loss without the record of slot 3 (a node that committed it by block sync, or whose
    // record is gone): nothing to report there, so it refuses head 2 and waits for sync.
    c.crash(1);
    c.node(1).wal.delete('accepted/3');
    c.restart(1);
    expect(state(c, 1)).toMatchObject({ head: 2, committed: 3, accepted: [] });
    c.inject(2, 1, { type: 'prepare', ballot: B(19, 2), head: 2, from: 2 });
    expect(nacks()).toEqual([3, 2, 3]);
    mark = c.sent.length;
    c.fire(1, 'election');
    expect(sent(c, 1, 'prepare', mark)).toEqual([]);
    expect(state(c, 1).role).toBe('follower');
  });

  it('highest-ballot adoption for EVERY open slot: the value accepted with the highest ballot reported, slot by slot, whichever acceptor reported it', () => {
    const c = cluster(5); // Q1 = 3: the candidate and two scripted promises
    cutOff(c);
    // Two branches from b1: acceptor 1 holds the higher ballot at slots 2 and 3, acceptor 2 at slot 1.
    const a1 = block(c, c.genesis, B(1, 1), 'a1');
    const b1 = block(c, c.genesis, B(2, 2), 'b1');
    const b2 = block(c, b1.header, B(3, 3), 'b2');
    const c2 = block(c, b1.header, B(2, 2), 'c2');
    const b3 = block(c, b2.header, B(3, 3), 'b3');
    const c3 = block(c, c2.header, B(2, 2), 'c3');
    seeRound(c, 0, 5);
    c.fire(0, 'election');
    const ballot = B(6, 0);
    expect(state(c, 0).promised).toEqual(ballot);
    promise(
      c,
      1,
      0,
      ballot,
      [report(1, B(1, 1), a1), report(2, B(3, 3), b2), report(3, B(3, 3), b3)],
      [a1, b2, b3],
    );
    expect(state(c, 0).role).toBe('candidate');
    promise(
      c,
      2,
      0,
      ballot,
      [report(1, B(2, 2), b1), report(2, B(2, 2), c2), report(3, B(2, 2), c3)],
      [b1, c2, c3],
    );
    expect(state(c, 0).role).toBe('leader');
    // Re-proposed in the new ballot, contiguously: b1 (from 2), b2 and b3 (from 1).
    const want = [b1, b2, b3].map((b) => hex(hashOf(b)));
    expect(state(c, 0).proposals.map((p) => hex(p.hash))).toEqual(want);
    const accepts = sent(c, 0, 'accept').filter((s) => s.msg.blocks.length > 0);
    expect(accepts.map((s) => [s.to, s.msg.ballot, s.msg.blocks.map((p) => hex(p.hash))])).toEqual([
      ['all', ballot, want],
    ]);
    // The leader accepted them itself, in its ballot (its own broadcast looped back).
    expect(state(c, 0).accepted.map((a) => [a.slot, a.ballot, hex(a.hash)])).toEqual(
      want.map((h, i) => [i + 1, ballot, h]),
    );
  });

  it('reports at or below the candidate’s committed head are not open slots and are ignored', () => {
    const c = cluster(3, { mempool: 1 });
    elect(c, 0);
    c.input(0, { kind: 'txs-available' });
    expect(chainOf(c, 1).length).toBe(1);
    cutOff(c);
    const head = c.node(1).head.header;
    const other = block(c, c.genesis, B(1, 2), 'other at 1');
    const next = block(c, head, B(1, 2), 'next at 2');
    c.fire(1, 'election');
    const ballot = state(c, 1).promised;
    c.inject(2, 1, {
      type: 'promise',
      ballot,
      head: 1,
      accepted: [report(2, B(1, 2), next)],
      blocks: [proposal(next)],
    });
    expect(state(c, 1).role).toBe('leader');
    expect(state(c, 1).proposals.map((p) => hex(p.hash))).toEqual([hex(hashOf(next))]);
    // A report at the committed slot 1 — a promise cannot even carry it (decoding refuses).
    expect(() =>
      multipaxos.codec.decode(
        multipaxos.codec.encode({
          type: 'promise',
          ballot,
          head: 1,
          accepted: [report(1, B(1, 2), other)],
          blocks: [],
        }),
      ),
    ).toThrow(/slot order above the head/);
  });
});

describe('re-proposals are contiguous: no holes', () => {
  /** Candidate 0 of 3 (Q1 = 2) with one scripted promise from 1; returns the leader's proposals. */
  function adopt(reports: (c: C) => { reports: Report[]; blocks: Block[] }, mempool = 0) {
    const c = cluster(3, { mempool });
    cutOff(c);
    const r = reports(c);
    seeRound(c, 0, 5);
    c.fire(0, 'election');
    promise(c, 1, 0, state(c, 0).promised, r.reports, r.blocks);
    expect(state(c, 0).role).toBe('leader');
    return { c, proposals: state(c, 0).proposals.map((p) => [p.slot, hex(p.hash)]) };
  }

  it('a slot with no report ends the run: what lies beyond the gap is dropped, not re-proposed', () => {
    let x1: Block | undefined;
    const { proposals } = adopt((c) => {
      x1 = block(c, c.genesis, B(1, 1), 'x1');
      const x2 = block(c, x1.header, B(1, 1), 'x2');
      const x3 = block(c, x2.header, B(1, 1), 'x3');
      return { reports: [report(1, B(1, 1), x1), report(3, B(1, 1), x3)], blocks: [x1, x3] };
    });
    expect(proposals).toEqual([[1, hex(hashOf(x1 as Block))]]);
  });

  it('a report whose parent is not the value adopted one slot below ends the run, with everything above it', () => {
    let x1: Block | undefined;
    const { proposals } = adopt((c) => {
      x1 = block(c, c.genesis, B(1, 1), 'x1');
      const z1 = block(c, c.genesis, B(1, 1), 'z1');
      const y2 = block(c, z1.header, B(2, 2), 'y2'); // extends z1, not x1
      const y3 = block(c, y2.header, B(2, 2), 'y3');
      return {
        reports: [report(1, B(1, 1), x1), report(2, B(2, 2), y2), report(3, B(2, 2), y3)],
        blocks: [x1, y2, y3],
      };
    });
    expect(proposals).toEqual([[1, hex(hashOf(x1 as Block))]]);
  });

  it('a first report that does not extend the committed head adopts nothing', () => {
    const { proposals } = adopt((c) => {
      const elsewhere = block(c, c.genesis, B(1, 1), 'elsewhere');
      const y2 = block(c, elsewhere.header, B(1, 1), 'y2');
      return { reports: [report(2, B(1, 1), y2)], blocks: [y2] };
    });
    expect(proposals).toEqual([]);
  });

  it('new blocks extend the adopted run: the next block’s parent is the last adopted one', () => {
    let x1: Block | undefined;
    const { c } = adopt((c) => {
      x1 = block(c, c.genesis, B(1, 1), 'x1');
      const x2 = block(c, x1.header, B(1, 1), 'x2');
      const x3 = block(c, x2.header, B(1, 1), 'x3');
      return { reports: [report(1, B(1, 1), x1), report(3, B(1, 1), x3)], blocks: [x1, x3] };
    }, 1);
    c.input(0, { kind: 'txs-available' });
    const p = state(c, 0).proposals;
    expect(p.length).toBe(2);
    const built = sent(c, 0, 'accept')
      .flatMap((s) => s.msg.blocks)
      .find((b) => b.block.header.height === 2);
    expect(hex(built?.block.header.parentHash as Uint8Array)).toBe(hex(hashOf(x1 as Block)));
  });

  it('a block a promise had no room for is fetched from its reporter with a second prepare of the same ballot', () => {
    const c = cluster(3);
    cutOff(c);
    const x1 = block(c, c.genesis, B(1, 1), 'x1');
    const x2 = block(c, x1.header, B(1, 1), 'x2');
    seeRound(c, 0, 5);
    c.fire(0, 'election');
    const ballot = state(c, 0).promised;
    const mark = c.sent.length;
    promise(c, 1, 0, ballot, [report(1, B(1, 1), x1), report(2, B(1, 1), x2)], [x1]);
    expect(state(c, 0).role).toBe('candidate');
    expect(sent(c, 0, 'prepare', mark).map((s) => [s.to, s.msg])).toEqual([
      [1, { type: 'prepare', ballot, head: 0, from: 1 }],
    ]);
    c.inject(1, 0, {
      type: 'promise',
      ballot,
      head: 0,
      accepted: [report(1, B(1, 1), x1), report(2, B(1, 1), x2)],
      blocks: [proposal(x2)],
    });
    expect(state(c, 0).proposals.map((p) => hex(p.hash))).toEqual([x1, x2].map((b) => hex(hashOf(b))));
  });

  it('Phase 1 retries: every heartbeat interval the prepare goes again to the acceptors that have not answered, and a missing block is asked for again — same ballot, no new Phase 1', () => {
    const c = cluster(3);
    cutOff(c);
    const x1 = block(c, c.genesis, B(1, 1), 'x1');
    const x2 = block(c, x1.header, B(1, 1), 'x2');
    seeRound(c, 0, 5);
    c.fire(0, 'election'); // the prepares are lost
    const ballot = state(c, 0).promised;
    let mark = c.sent.length;
    c.fire(0, 'phase1-retry'); // and lost again
    expect(sent(c, 0, 'prepare', mark).map((s) => [s.to, s.msg])).toEqual([
      [1, { type: 'prepare', ballot, head: 0, from: 0 }],
      [2, { type: 'prepare', ballot, head: 0, from: 0 }],
    ]);
    // Node 1 promises, with no room for x2; the fetch is lost too.
    promise(c, 1, 0, ballot, [report(1, B(1, 1), x1), report(2, B(1, 1), x2)], [x1]);
    mark = c.sent.length;
    c.fire(0, 'phase1-retry');
    expect(sent(c, 0, 'prepare', mark).map((s) => [s.to, s.msg])).toEqual([
      [2, { type: 'prepare', ballot, head: 0, from: 0 }],
      [1, { type: 'prepare', ballot, head: 0, from: 1 }],
    ]);
    c.inject(1, 0, {
      type: 'promise',
      ballot,
      head: 0,
      accepted: [report(1, B(1, 1), x1), report(2, B(1, 1), x2)],
      blocks: [proposal(x2)],
    });
    expect(state(c, 0)).toMatchObject({ role: 'leader', promised: ballot });
    expect(state(c, 0).proposals.map((p) => hex(p.hash))).toEqual([x1, x2].map((b) => hex(hashOf(b))));
    expect(c.armed(0, 'phase1-retry')).toBe(false);
  });
});

describe('(C) in-order acceptance is what makes dropping safe', () => {
  /**
   * Three validators, scripted. Acceptor 0 accepted z1 for slot 1 in ballot 1.1. Node 2 leads
   * ballot 1.2 (Phase 1 with node 1, both empty) and proposes y1 ← w; only w reaches node 0 (whose
   * runtime happens to hold y1 executed). Per-slot acceptance (no rule C) lets node 0 accept w on
   * top of its z1: {0, 2} accepted w in 1.2, so w is chosen and node 2 commits y1, w. Then node 1
   * runs Phase 1 with node 0, which reports z1 at slot 1 (ballot 1.1) and w at slot 2: rule (A)
   * adopts z1 and drops w, whose parent is not z1 — and z1 commits at height 1 where y1 did.
   * With rule (C), node 0 refuses w (its parent was not accepted in 1.2): nothing is chosen.
   */
  function scenario(options: MultiPaxosEngineOptions) {
    const c = cluster(3, { mempool: 2, engine: withOptions(options) });
    cutOff(c);
    const z1 = block(c, c.genesis, B(1, 1), 'z1');
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(z1)] });
    c.fire(2, 'election');
    c.inject(1, 2, { type: 'promise', ballot: B(1, 2), head: 0, accepted: [], blocks: [] });
    expect(state(c, 2).role).toBe('leader');
    c.input(2, { kind: 'txs-available' });
    const [y1, w] = state(c, 2).proposals.map((p) => c.node(2).executed.get(hex(p.hash)) as Block);
    expect(w?.header.height).toBe(2);
    c.node(0).executed.set(hex(hashOf(y1 as Block)), y1 as Block);
    c.route = (_from, to, msg) => (msg.type === 'accepted' && to === 2 ? 0 : null);
    c.inject(2, 0, { type: 'accept', ballot: B(1, 2), blocks: [proposal(w as Block)] });
    // Node 2 falls silent (its lease over node 0 ends); node 1 runs Phase 1 with node 0 only.
    c.fire(0, 'lease');
    c.route = (from, to) => ((from === 0 && to === 1) || (from === 1 && to === 0) ? 0 : null);
    seeRound(c, 1, 3, 2);
    c.fire(1, 'election');
    expect(state(c, 1).role).toBe('leader');
    return c;
  }

  it('with (C): the out-of-order block is refused, nothing conflicting is chosen', () => {
    const c = scenario({});
    expect(chainOf(c, 2)).toEqual([]);
    expect(c.agreement()).toBe(true);
  });

  it('negative control — per-slot acceptance without (C): two different blocks are committed at height 1', () => {
    const c = scenario({ unsafeAcceptAnyParent: true });
    expect(chainOf(c, 2).length).toBe(2);
    expect(chainOf(c, 1).length).toBe(1);
    expect(chainOf(c, 1)[0]).not.toBe(chainOf(c, 2)[0]);
    expect(c.agreement()).toBe(false);
  });
});

describe('Phase 2 (accept / accepted)', () => {
  it('an acceptor accepts in a ballot ≥ its promise (raising it), refuses a lower one; the record is on disk before ACCEPTED leaves', () => {
    const c = cluster(3);
    cutOff(c);
    const b1 = block(c, c.genesis, B(2, 1), 'b1');
    const mark = c.node(0).outputs.length;
    c.inject(1, 0, { type: 'accept', ballot: B(2, 1), blocks: [proposal(b1)] });
    expect(state(c, 0).promised).toEqual(B(2, 1));
    const out = outputsSince(c, 0, mark);
    const persist = out.findIndex((o) => o.kind === 'persist' && o.key === 'accepted/1');
    const reply = out.findIndex((o) => o.kind === 'send' && o.msg.type === 'accepted');
    expect(persist).toBeGreaterThanOrEqual(0);
    expect(reply).toBeGreaterThan(persist);
    expect(sent(c, 0, 'accepted').map((s) => [s.to, s.msg])).toEqual([
      [1, { type: 'accepted', ballot: B(2, 1), slot: 1, hash: hashOf(b1) }],
    ]);
    const other = block(c, c.genesis, B(1, 2), 'other');
    c.inject(2, 0, { type: 'accept', ballot: B(1, 2), blocks: [proposal(other)] });
    expect(sent(c, 0, 'nack').map((s) => [s.to, s.msg.promised])).toEqual([[2, B(2, 1)]]);
    expect(state(c, 0).accepted.map((a) => hex(a.hash))).toEqual([hex(hashOf(b1))]);
  });

  it('(C) a block is accepted only on its parent accepted in the same ballot, or on the committed head', () => {
    const c = cluster(3);
    cutOff(c);
    const b1 = block(c, c.genesis, B(1, 1), 'b1');
    const b2 = block(c, b1.header, B(1, 1), 'b2');
    const b3 = block(c, b2.header, B(1, 1), 'b3');
    const slots = () => state(c, 0).accepted.map((a) => [a.slot, a.ballot.round]);
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(b1)] });
    expect(slots()).toEqual([[1, 1]]);
    // Ballot 2 proposes b2 alone: its parent was accepted in ballot 1, not 2 — refused.
    c.inject(2, 0, { type: 'accept', ballot: B(2, 2), blocks: [proposal(b2)] });
    expect(slots()).toEqual([[1, 1]]);
    // Out of order in ballot 2: b3 before b2 — refused.
    c.inject(2, 0, { type: 'accept', ballot: B(2, 2), blocks: [proposal(b3)] });
    expect(slots()).toEqual([[1, 1]]);
    // The run from the head: all accepted in ballot 2.
    c.inject(2, 0, { type: 'accept', ballot: B(2, 2), blocks: [b1, b2, b3].map(proposal) });
    expect(slots()).toEqual([
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
    expect(sent(c, 0, 'accepted').map((s) => [s.msg.slot, s.msg.ballot.round])).toEqual([
      [1, 1],
      [1, 2],
      [2, 2],
      [3, 2],
    ]);
  });

  it('a block that arrives before its parent (reordered links) is held, and accepted as soon as the parent is — no re-send needed', () => {
    const c = cluster(3);
    cutOff(c);
    const b1 = block(c, c.genesis, B(1, 1), 'b1');
    const b2 = block(c, b1.header, B(1, 1), 'b2');
    const b3 = block(c, b2.header, B(1, 1), 'b3');
    const slots = () => state(c, 0).accepted.map((a) => a.slot);
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(b3)] });
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(b2)] });
    expect(slots()).toEqual([]); // neither extends what node 0 holds yet
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(b1)] });
    expect(slots()).toEqual([1, 2, 3]);
    expect(sent(c, 0, 'accepted').map((s) => s.msg.slot)).toEqual([1, 2, 3]);
  });

  it('a held block is still checked against its parent when drained, and one of an earlier ballot is dropped', () => {
    const c = cluster(3);
    cutOff(c);
    const b1 = block(c, c.genesis, B(1, 1), 'b1');
    const x1 = block(c, c.genesis, B(1, 1), 'x1');
    const onX = block(c, x1.header, B(1, 1), 'on-x1');
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(onX)] });
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(b1)] });
    expect(state(c, 0).accepted.map((a) => a.slot)).toEqual([1]); // on-x1's parent is x1, not b1
    const b2 = block(c, b1.header, B(2, 2), 'b2');
    const b3 = block(c, b2.header, B(2, 2), 'b3');
    c.inject(2, 0, { type: 'accept', ballot: B(2, 2), blocks: [proposal(b3)] }); // held in 2.2
    const c1 = block(c, c.genesis, B(3, 1), 'c1');
    const c2 = block(c, c1.header, B(3, 1), 'c2');
    c.inject(1, 0, { type: 'accept', ballot: B(3, 1), blocks: [c1, c2].map(proposal) });
    expect(state(c, 0).accepted.map((a) => [a.slot, a.ballot.round])).toEqual([
      [1, 3],
      [2, 3],
    ]);
  });

  it('ACCEPTED is sent only once the runtime executed the block as valid', () => {
    const c = cluster(3);
    cutOff(c);
    c.failExecute = () => 'INVALID';
    const b1 = block(c, c.genesis, B(1, 1), 'b1');
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(b1)] });
    expect(state(c, 0).accepted.length).toBe(1); // stored
    expect(sent(c, 0, 'accepted')).toEqual([]); // never reported accepted
  });

  it('a block stamped with other quorums than the chain’s is not accepted', () => {
    const c = cluster(3);
    cutOff(c);
    const stamp = encodeStamp({ ballot: B(1, 1), phase1Quorum: 3, phase2Quorum: 1 });
    const b1 = c.buildBlock(0, c.genesis, stamp, 0, [utf8('b1')]);
    c.inject(1, 0, { type: 'accept', ballot: B(1, 1), blocks: [proposal(b1)] });
    expect(state(c, 0).accepted).toEqual([]);
  });

  it('Phase 1 once per leader, Phase 2 per block: ten blocks commit after one PREPARE, each in one ACCEPT and one ACCEPTED per acceptor', () => {
    const c = cluster(3, { mempool: 10 });
    elect(c, 0);
    c.input(0, { kind: 'txs-available' });
    for (const i of [0, 1, 2]) expect(chainOf(c, i).length).toBe(10);
    expect(c.sent.filter((s) => s.msg.type === 'prepare').length).toBe(1);
    const proposed = sent(c, 0, 'accept').flatMap((s) => s.msg.blocks.map((b) => b.block.header.height));
    expect(proposed).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const i of [0, 1, 2])
      expect(sent(c, i, 'accepted').map((s) => s.msg.slot)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(c.agreement()).toBe(true);
  });

  it('the leader commits once a phase-2 quorum by power accepted, not before; followers commit by its shipped proof', () => {
    const c = new EngineCluster<Msg>({
      engine: multipaxos,
      n: 4,
      latencyMs: 0,
      settle: true,
      mempool: 1,
      powers: [1, 1, 1, 3], // total 6; majority 4
    });
    c.start();
    elect(c, 0);
    // Only node 1's acceptance reaches the leader: 0 + 1 = 2 of the 4 needed.
    c.route = (from, _to, msg) => (msg.type === 'accepted' && from !== 0 && from !== 1 ? null : 0);
    c.input(0, { kind: 'txs-available' });
    expect(chainOf(c, 0).length).toBe(0);
    // Node 3 (power 3) re-sends on the next heartbeat: 5 ≥ 4.
    c.route = () => 0;
    c.fire(0, 'heartbeat');
    for (const i of [0, 1, 2, 3]) expect(chainOf(c, i).length).toBe(1);
  });
});

describe('persistence', () => {
  it('promise and accepted records survive a crash; records below the committed head are forgotten, the head’s own kept until the next commit', () => {
    const c = cluster(3, { mempool: 6 });
    elect(c, 0);
    // Blocks reach node 1 only, and nobody hears it: accepted there, uncommitted.
    c.route = (from, to) => (from === 0 && to === 1 ? 0 : from === to ? 0 : null);
    c.input(0, { kind: 'txs-available' });
    const before = state(c, 1);
    expect(before.accepted.map((a) => a.slot)).toEqual([1, 2, 3, 4]); // maxInflight
    c.crash(1);
    c.restart(1);
    expect(state(c, 1).promised).toEqual(before.promised);
    expect(state(c, 1).accepted).toEqual(before.accepted);
    connect(c);
    c.fire(0, 'heartbeat');
    expect(chainOf(c, 1).length).toBe(6);
    expect(chainOf(c, 1)).toEqual(chainOf(c, 0));
    expect([...c.node(1).wal.keys()].filter((k) => k.startsWith('accepted/'))).toEqual(['accepted/6']);
    expect(decodeRecord(STATE_RECORD, c.node(1).wal.get('state') as Uint8Array).committed).toBe(6);
  });

  it('a node whose chain lost its last commit comes back holding that block, accepts on top of it, and commits it again', () => {
    const c = cluster(3, { mempool: 4 });
    elect(c, 0);
    c.input(0, { kind: 'txs-available' });
    c.mempool = 0;
    expect(chainOf(c, 2).length).toBe(4);
    const lost = chainOf(c, 2)[3];
    c.crash(2);
    c.restart(2, { loseLastCommit: true });
    expect(state(c, 2)).toMatchObject({ head: 3, committed: 4 });
    expect(state(c, 2).accepted.map((a) => [a.slot, hex(a.hash)])).toEqual([[4, lost]]);
    c.mempool = 2;
    c.input(0, { kind: 'txs-available' });
    expect(chainOf(c, 2).length).toBe(6);
    expect(chainOf(c, 2)).toEqual(chainOf(c, 0));
    expect(c.agreement()).toBe(true);
  });

  it('every chain lost the same last commit (sweep-12, sweep-48: no block sync can bring it back): a node one below, holding that slot’s record, leads and commits the same block again', () => {
    const c = cluster(3, { mempool: 4 });
    elect(c, 0);
    c.input(0, { kind: 'txs-available' });
    c.mempool = 0;
    const before = [...chainOf(c, 0)];
    expect(before).toHaveLength(4);
    for (const i of [0, 1, 2]) c.crash(i);
    for (const i of [0, 1, 2]) {
      c.restart(i, { loseLastCommit: true });
      expect(state(c, i)).toMatchObject({ head: 3, committed: 4 });
    }
    elect(c, 1);
    for (const i of [0, 1, 2]) expect(chainOf(c, i)).toEqual(before);
    c.mempool = 2;
    c.input(1, { kind: 'txs-available' });
    expect(chainOf(c, 2)).toHaveLength(6);
    expect(chainOf(c, 2).slice(0, 4)).toEqual(before);
    expect(c.agreement()).toBe(true);
  });
});

describe('a damaged WAL (records the runtime dropped: they failed their checksum)', () => {
  /** Blocks 1..4 reach node 1 only, and nobody hears it: accepted there in B(1, 0), uncommitted. */
  function acceptedAtOne(): C {
    const c = cluster(3, { mempool: 6 });
    elect(c, 0);
    c.route = (from, to) => (from === 0 && to === 1 ? 0 : null);
    c.input(0, { kind: 'txs-available' });
    expect(state(c, 1).accepted.map((a) => [a.slot, a.ballot])).toEqual(
      [1, 2, 3, 4].map((s) => [s, B(1, 0)]),
    );
    return c;
  }

  it('the state record lost (sweep-27: the node halted on "accepted above the promise"): the promise comes back from its copy, both are written again; with both lost, each acceptance still bounds it from below', () => {
    const c = acceptedAtOne();
    const before = state(c, 1);
    c.fire(1, 'lease');
    c.inject(2, 1, { type: 'prepare', ballot: B(5, 2), head: 0, from: 0 });
    expect(state(c, 1).promised).toEqual(B(5, 2)); // a promise above every acceptance
    c.crash(1);
    c.node(1).wal.delete('state');
    c.restart(1);
    expect(state(c, 1)).toMatchObject({ promised: B(5, 2), committed: 0, accepted: before.accepted });
    for (const key of ['state', 'state/copy'])
      expect(decodeRecord(STATE_RECORD, c.node(1).wal.get(key) as Uint8Array)).toEqual({
        promised: B(5, 2),
        committed: 0,
        reach: 4,
        lost: 0,
      });
    c.inject(0, 1, { type: 'prepare', ballot: B(4, 0), head: 0, from: 0 });
    expect(sent(c, 1, 'nack').at(-1)?.msg.promised).toEqual(B(5, 2));
    // Both copies gone: accepting in B(1, 0) promised it; and whatever else is lost, no candidate
    // that could ask about a slot it accepted gets a promise.
    c.crash(1);
    c.node(1).wal.delete('state');
    c.node(1).wal.delete('state/copy');
    c.restart(1);
    expect(state(c, 1)).toMatchObject({ promised: B(1, 0), committed: 0, accepted: before.accepted });
    c.inject(2, 1, { type: 'prepare', ballot: B(6, 2), head: 0, from: 0 });
    expect(sent(c, 1, 'nack').at(-1)?.msg).toMatchObject({ ballot: B(6, 2), head: 4 });
  });

  it('an accepted record lost: that acceptor promises no candidate that could ask about the slot, so a block chosen with its acceptance is not replaced', () => {
    const c = cluster(3, { mempool: 1 });
    elect(c, 0);
    // Node 2 hears nothing, node 1 the block but not the proof: block 1 is chosen by {0, 1} and
    // committed at node 0 only.
    c.route = (from, to, msg) =>
      from === 2 || to === 2 || (from === 0 && msg.type === 'accept' && msg.blocks.length === 0) ? null : 0;
    c.input(0, { kind: 'txs-available' });
    expect(chainOf(c, 0)).toHaveLength(1);
    expect(chainOf(c, 1)).toHaveLength(0);
    const chosen = chainOf(c, 0)[0];
    c.crash(0);
    c.crash(1);
    c.node(1).wal.delete('accepted/1');
    c.restart(1);
    // Node 2 (head 0) would fill slot 1 anew with node 1's promise: it gets none.
    connect(c);
    c.mempool = 1;
    c.fire(2, 'election');
    c.input(2, { kind: 'txs-available' });
    expect(c.agreement()).toBe(true);
    expect(state(c, 2).role).not.toBe('leader');
    expect(state(c, 1)).toMatchObject({ head: 0, committed: 0, lost: 1, accepted: [] });
    expect(sent(c, 1, 'nack').at(-1)?.msg.head).toBe(1);
    const mark = c.sent.length;
    c.fire(1, 'election'); // nor does node 1 campaign below the slot it lost
    expect(sent(c, 1, 'prepare', mark)).toEqual([]);
    // Node 0 comes back past that slot, and leads.
    c.restart(0);
    elect(c, 0);
    expect(chainOf(c, 0)).toEqual([chosen]);
    expect(c.agreement()).toBe(true);
  });
});

describe('Flexible Paxos: quorums that intersect are what keeps agreement', () => {
  /**
   * Four validators split in two pairs after node 0 is elected. Node 0 gets block X accepted by
   * {0, 1}: a phase-2 quorum of 2, X is chosen and committed there. Then node 2 runs Phase 1 with
   * {2, 3} only. With Q1 = 3 it cannot lead. With the unsafe Q1 = 2 (Q1 + Q2 = total) its promise
   * quorum misses every acceptor of X: it proposes Y at the same height, {2, 3} accept, Y commits.
   */
  function split(quorums: { phase1: number; phase2: number }) {
    const c = cluster(4, { mempool: 1, engine: withOptions({ unsafeQuorums: quorums }) });
    elect(c, 0);
    const side = (i: number) => (i < 2 ? 0 : 1);
    c.route = (from, to) => (side(from) === side(to) ? 0 : null);
    c.input(0, { kind: 'txs-available' });
    expect(chainOf(c, 0).length).toBe(1);
    expect(chainOf(c, 2).length).toBe(0);
    c.fire(3, 'lease'); // node 0's lease over node 3 ends: it will answer other proposers
    c.fire(2, 'election');
    c.mempool = 1;
    c.input(2, { kind: 'txs-available' });
    return c;
  }

  it('Q1 = 3, Q2 = 2 of 4: the minority pair cannot run Phase 1, and nothing conflicts', () => {
    const c = split({ phase1: 3, phase2: 2 });
    expect(state(c, 2).role).toBe('candidate');
    expect(chainOf(c, 2).length).toBe(0);
    expect(c.agreement()).toBe(true);
  });

  it('negative control — Q1 = 2, Q2 = 2 of 4 (Q1 + Q2 = total), forced past parseParams: two blocks are committed at height 1', () => {
    const c = split({ phase1: 2, phase2: 2 });
    expect(state(c, 2).role).toBe('leader');
    expect(chainOf(c, 2).length).toBe(1);
    expect(chainOf(c, 2)[0]).not.toBe(chainOf(c, 0)[0]);
    expect(c.agreement()).toBe(false);
    expect(() => multipaxos.parseParams({ phase1Quorum: 2, phase2Quorum: 2 }, c.validators)).toThrow(
      /must exceed the total power 4/,
    );
  });
});

describe('observers', () => {
  it('an observer follows the leader’s accepts and commits the same chain, but never promises, accepts or campaigns', () => {
    const c = cluster(3, { observers: 1, mempool: 5 });
    expect(c.armed(3, 'election')).toBe(false);
    elect(c, 0);
    c.input(0, { kind: 'txs-available' });
    expect(chainOf(c, 3).length).toBe(5);
    expect(chainOf(c, 3)).toEqual(chainOf(c, 0));
    c.inject(1, 3, { type: 'prepare', ballot: B(9, 1), head: 99, from: 99 });
    expect(c.sent.filter((s) => s.from === 3)).toEqual([]);
    expect([...c.node(3).wal.keys()]).toEqual([]);
  });
});
