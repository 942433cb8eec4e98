/**
 * Raft's reads (thesis §6.4; consensus/raft/reads.ts): ReadIndex — a read is served at the commit
 * index once a majority confirmed, after the read arrived, that the leader still leads — and the
 * lease that skips the round trip, measured on the injected monotonic clock.
 */
import { describe, expect, it } from 'vitest';
import type { RaftEngine } from '../../consensus/raft/engine.ts';
import { raft } from '../../consensus/raft/index.ts';
import type { RaftMessage } from '../../consensus/raft/messages.ts';
import type { ReadMode } from '../../consensus/types.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

type Msg = RaftMessage;
type C = EngineCluster<Msg>;

function cluster(n: number, params: EngineParams = {}, mempool = 4): C {
  const c = new EngineCluster<Msg>({
    engine: raft,
    n,
    latencyMs: 0,
    settle: true,
    recordOutputs: true,
    mempool,
    params,
  });
  c.start();
  c.fireAll('quiet');
  return c;
}

const state = (c: C, i: number) => (c.node(i).engine as RaftEngine).inspect();

/** Elects node `i` and lets it commit everything fed so far. */
function elect(c: C, i: number): void {
  c.fire(i, 'election');
  expect(state(c, i).role).toBe('leader');
}

let nextId = 1;
function read(c: C, i: number, mode: ReadMode = 'linearizable'): number {
  const id = nextId++;
  c.input(i, { kind: 'read', id, mode });
  return id;
}

/** The engine's answer to read `id` on node `i`, if any. */
function answer(c: C, i: number, id: number) {
  for (const o of c.node(i).outputs)
    if ((o.kind === 'read-ready' || o.kind === 'read-failed') && o.id === id) return o;
  return undefined;
}

const probes = (c: C, since: number) => c.sent.slice(since).filter((s) => s.msg.type === 'read-probe');

describe('ReadIndex (thesis §6.4)', () => {
  it('the leader serves a read at its commit index once a majority echoed a probe sent after it arrived', () => {
    const c = cluster(3);
    elect(c, 0);
    const committed = c.node(0).chain.length; // the no-op (and what the mempool held)
    expect(committed).toBeGreaterThanOrEqual(1);
    // Echoes are held back: no answer yet.
    c.route = (_f, _t, msg) => (msg.type === 'read-echo' ? null : 0);
    const id = read(c, 0);
    expect(answer(c, 0, id)).toBeUndefined();
    // One echo (of this probe) makes 2 of 3 with the leader: served at the commit index.
    c.route = () => 0;
    const probe = probes(c, 0).at(-1)?.msg;
    expect(probe?.type).toBe('read-probe');
    const seq = (probe as { seq: number }).seq;
    c.inject(1, 0, { type: 'read-echo', term: state(c, 0).term, seq });
    expect(answer(c, 0, id)).toEqual({ kind: 'read-ready', id, index: committed });
  });

  it('an echo of an earlier probe does not confirm a later read (the probe numbers)', () => {
    const c = cluster(3);
    elect(c, 0);
    c.route = (_f, _t, msg) => (msg.type === 'read-echo' ? null : 0);
    const first = read(c, 0);
    const second = read(c, 0);
    const [p1, p2] = probes(c, 0).map((s) => (s.msg as { seq: number }).seq);
    c.route = () => 0;
    const term = state(c, 0).term;
    c.inject(1, 0, { type: 'read-echo', term, seq: p1 as number });
    expect(answer(c, 0, first)?.kind).toBe('read-ready');
    expect(answer(c, 0, second)).toBeUndefined();
    c.inject(2, 0, { type: 'read-echo', term, seq: p2 as number });
    expect(answer(c, 0, second)?.kind).toBe('read-ready');
  });

  it('a new leader serves no read before it committed an entry of its own term (its no-op)', () => {
    const c = cluster(3, {}, 0);
    // Node 0 wins, but its no-op is not acknowledged yet.
    c.route = (_f, _t, msg) => (msg.type === 'ack' ? null : 0);
    elect(c, 0);
    expect(c.node(0).chain.length).toBe(0);
    const id = read(c, 0);
    c.route = (_f, _t, msg) => (msg.type === 'ack' ? null : 0);
    expect(probes(c, 0)).toEqual([]);
    expect(answer(c, 0, id)).toBeUndefined();
    c.route = () => 0;
    c.fire(0, 'heartbeat'); // the followers acknowledge; the no-op commits; then the probe round
    expect(c.node(0).chain.length).toBe(1);
    expect(answer(c, 0, id)).toEqual({ kind: 'read-ready', id, index: 1 });
  });

  it('a follower forwards its read to the leader and serves it at the index the leader names', () => {
    const c = cluster(3);
    elect(c, 0);
    const id = read(c, 2);
    expect(c.sent.some((s) => s.from === 2 && s.to === 0 && s.msg.type === 'read-request')).toBe(true);
    expect(answer(c, 2, id)).toEqual({ kind: 'read-ready', id, index: c.node(0).chain.length });
  });

  it('a deposed leader cut off from the majority never confirms a read; it fails when it steps down', () => {
    const c = cluster(5);
    elect(c, 0);
    // Node 0 and 1 are cut off; 2, 3, 4 elect 2 and commit more.
    const side = (i: number) => (i <= 1 ? 'a' : 'b');
    c.route = (f, t) => (side(f) === side(t) ? 0 : null);
    c.fireAll('lease');
    c.fire(2, 'election');
    expect(state(c, 2).role).toBe('leader');
    expect(state(c, 0).role).toBe('leader'); // it does not know yet
    const id = read(c, 0);
    expect(answer(c, 0, id)).toBeUndefined(); // 2 of 5 echo at most
    const stale = read(c, 0, 'lease');
    expect(answer(c, 0, stale)).toBeUndefined(); // no lease was ever confirmed after the cut
    // CheckQuorum: the period that began before the cut ends; the next one hears 2 of 5.
    c.fire(0, 'check-quorum');
    c.fire(0, 'check-quorum');
    expect(state(c, 0).role).toBe('follower');
    expect(answer(c, 0, id)?.kind).toBe('read-failed');
    expect(answer(c, 0, stale)?.kind).toBe('read-failed');
  });

  it('a follower with no leader fails its read at once; an observer cannot confirm reads', () => {
    const c = new EngineCluster<Msg>({
      engine: raft,
      n: 3,
      observers: 1,
      latencyMs: 0,
      settle: true,
      recordOutputs: true,
    });
    c.start();
    const id = read(c, 1);
    expect(answer(c, 1, id)).toMatchObject({ kind: 'read-failed', reason: 'no leader known' });
    const o = read(c, 3);
    expect(answer(c, 3, o)).toMatchObject({
      kind: 'read-failed',
      reason: 'an observer cannot confirm reads',
    });
  });
});

describe('lease reads', () => {
  it('after a confirmed probe the leader serves lease reads with no round trip, until 0.9 T after that probe was sent', () => {
    const c = new EngineCluster<Msg>({ engine: raft, n: 3, latencyMs: 10, recordOutputs: true, mempool: 4 });
    c.start();
    c.run(4_000, () => [0, 1, 2].some((i) => state(c, i).role === 'leader'));
    const leader = [0, 1, 2].find((i) => state(c, i).role === 'leader') as number;
    c.run(c.now + 500);
    const first = read(c, leader, 'lease'); // no lease yet: a probe round
    c.run(c.now + 100);
    expect(answer(c, leader, first)?.kind).toBe('read-ready');
    const sentAt = c.now - 100;
    // Within the lease: answered in the same step, no probe sent.
    const mark = c.sent.length;
    c.run(sentAt + 800);
    const leased = read(c, leader, 'lease');
    expect(answer(c, leader, leased)?.kind).toBe('read-ready');
    expect(probes(c, mark).filter((s) => s.from === leader && s.time >= sentAt + 800)).toEqual([]);
    // Past 0.9 T from the probe's send time: a new round again.
    c.run(sentAt + 950);
    const later = read(c, leader, 'lease');
    expect(answer(c, leader, later)).toBeUndefined();
    expect(probes(c, mark).some((s) => s.from === leader && s.time >= sentAt + 900)).toBe(true);
  });

  it('without CheckQuorum there is no lease (followers would vote): a lease read takes a probe round', () => {
    const c = cluster(3, { checkQuorum: false });
    elect(c, 0);
    const a = read(c, 0, 'lease');
    expect(answer(c, 0, a)?.kind).toBe('read-ready');
    const mark = c.sent.length;
    const b = read(c, 0, 'lease');
    expect(answer(c, 0, b)?.kind).toBe('read-ready');
    expect(probes(c, mark)).toHaveLength(1);
  });

  it('a node grants no vote within an election timeout of starting (a lease may count on it); after, it does', () => {
    const c = new EngineCluster<Msg>({ engine: raft, n: 3, latencyMs: 0, settle: true, recordOutputs: true });
    c.start();
    const request = { type: 'vote-request', term: 1, lastIndex: 0, lastTerm: 0, pre: false } as const;
    c.inject(2, 1, request);
    expect(c.sent.filter((s) => s.from === 1 && s.msg.type === 'vote')).toEqual([]);
    c.fire(1, 'quiet');
    c.inject(2, 1, request);
    expect(c.sent.filter((s) => s.from === 1 && s.msg.type === 'vote').map((s) => s.msg)).toEqual([
      { type: 'vote', term: 1, candidate: 2, granted: true, pre: false },
    ]);
  });

  it('the quiet period ends even when the term moved during it (seed sweep-100545 stalled without)', () => {
    const c = new EngineCluster<Msg>({ engine: raft, n: 3, latencyMs: 0, settle: true, recordOutputs: true });
    c.start();
    // A leader of term 3 is heard while node 1 is quiet: its term moves, then the quiet timer —
    // armed in term 0 — fires, and then the leader's lease runs out.
    c.inject(0, 1, { type: 'read-probe', term: 3, seq: 1 });
    expect(state(c, 1).term).toBe(3);
    c.fire(1, 'quiet');
    c.fire(1, 'lease');
    c.inject(2, 1, { type: 'vote-request', term: 4, lastIndex: 0, lastTerm: 0, pre: false });
    expect(c.sent.filter((s) => s.from === 1 && s.msg.type === 'vote').map((s) => s.msg)).toEqual([
      { type: 'vote', term: 4, candidate: 2, granted: true, pre: false },
    ]);
  });
});

describe('forwarded reads across a restart', () => {
  it('an answer to a read forwarded before a restart does not serve one forwarded after it (sweep-100715)', () => {
    const c = cluster(3);
    elect(c, 0);
    // Node 2 forwards a read; the leader's answer is held back on the wire.
    c.route = (f, t) => (f === 0 && t === 2 ? null : 0);
    let mark = c.sent.length;
    const id = read(c, 2);
    const old = c.sent.slice(mark).find((s) => s.msg.type === 'read-index')?.msg;
    expect(old).toMatchObject({ type: 'read-index', term: 1, index: 1 });
    // The cluster commits more; node 2 restarts in the same term and hears the leader again.
    c.route = () => 0;
    c.restart(2);
    c.fire(2, 'quiet');
    c.input(0, { kind: 'txs-available' });
    c.fire(0, 'heartbeat');
    expect(c.node(0).chain.length).toBeGreaterThan(1);
    expect(c.node(2).engine.status()).toMatchObject({ round: 1, leader: 0 });
    // It forwards a read with the same runtime id (the runtime numbers reads from 1 every start),
    // again held back; then the old answer arrives.
    c.route = (f, t) => (f === 0 && t === 2 ? null : 0);
    mark = c.sent.length;
    c.input(2, { kind: 'read', id, mode: 'linearizable' });
    const fresh = c.sent.slice(mark).find((s) => s.msg.type === 'read-index')?.msg;
    expect(fresh).toMatchObject({ type: 'read-index', term: 1, index: c.node(0).chain.length });
    expect(fresh).not.toMatchObject({ id: (old as { id: number }).id }); // a new wire id
    c.inject(0, 2, old as Msg);
    expect(answer(c, 2, id)).toBeUndefined();
    c.inject(0, 2, fresh as Msg);
    expect(answer(c, 2, id)).toEqual({ kind: 'read-ready', id, index: c.node(0).chain.length });
  });
});
