/**
 * Raft's elections in time: heartbeats, CheckQuorum, PreVote and the leader lease (thesis §9.6,
 * etcd-io/raft), crash and restart. Most tests run the cluster in virtual time (10 ms links,
 * timers firing on schedule); the stuck-candidate and lease tests script their messages.
 */
import { describe, expect, it } from 'vitest';
import { raftCertificateScheme } from '../../consensus/raft/certificate.ts';
import type { RaftEngine } from '../../consensus/raft/engine.ts';
import { raft } from '../../consensus/raft/index.ts';
import type { RaftMessage } from '../../consensus/raft/messages.ts';
import { SeededRng } from '../../consensus/rng.ts';
import { toHex } from '../../crypto/bytes.ts';
import type { BlockHeader } from '../../ledger/block.ts';
import { type CertificateScheme, schemeSet, verifyCertificate } from '../../ledger/certificate.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

type Msg = RaftMessage;
type C = EngineCluster<Msg>;
const T_MS = 1000;

function timed(n: number, params: EngineParams = {}, mempool = 0): C {
  const c = new EngineCluster<Msg>({ engine: raft, n, latencyMs: 10, mempool, params });
  c.start();
  return c;
}

function synchronous(n: number, params: EngineParams = {}, mempool = 0): C {
  const c = new EngineCluster<Msg>({ engine: raft, n, latencyMs: 0, settle: true, mempool, params });
  c.start();
  // Time stands still here: end the election timeout after start in which no one votes (reads.ts).
  c.fireAll('quiet');
  return c;
}

const state = (c: C, i: number) => (c.node(i).engine as RaftEngine).inspect();
const terms = (c: C) => c.nodes.map((_, i) => state(c, i).term);

/** The running leader of the highest term, if any. */
function leaderOf(c: C): number | undefined {
  let best: number | undefined;
  for (const n of c.nodes) {
    const s = state(c, n.index);
    if (n.up && s.role === 'leader' && (best === undefined || s.term > state(c, best).term)) best = n.index;
  }
  return best;
}

function runUntilLeader(c: C, withinMs = 10_000): number {
  c.run(c.now + withinMs, () => leaderOf(c) !== undefined);
  const l = leaderOf(c);
  expect(l).toBeDefined();
  return l as number;
}

/** Drops everything to and from `isolated` (its own loopback aside). */
function isolate(c: C, isolated: ReadonlySet<number>): void {
  c.route = (from, to) => (isolated.has(from) !== isolated.has(to) ? null : 10);
}

function heal(c: C): void {
  c.route = () => 10;
}

/** Announces transactions to every running node every `everyMs`, until `untilMs`. */
function feed(c: C, everyMs: number, untilMs: number): void {
  for (let t = c.now; t < untilMs; t += everyMs)
    c.at(t, () => {
      for (const n of c.nodes) if (n.up) c.input(n.index, { kind: 'txs-available' });
    });
}

/** Every node's chain is a prefix of the longest one. */
function prefixes(c: C): boolean {
  const longest = c.nodes.map((n) => n.chain).reduce((a, b) => (b.length > a.length ? b : a));
  return c.nodes.every((n) => n.chain.every((h, i) => longest[i] === h));
}

describe('elections in time', () => {
  it('§5.2 a leader’s heartbeats keep followers from campaigning; without them one does', () => {
    const c = timed(3);
    const leader = runUntilLeader(c);
    expect(terms(c)).toEqual([1, 1, 1]);
    c.run(30_000);
    expect(terms(c)).toEqual([1, 1, 1]);
    expect(c.nodes.reduce((n, x) => n + x.engine.status().viewChanges, 0)).toBe(1);
    c.crash(leader);
    c.run(c.now + 5_000);
    const next = leaderOf(c);
    expect(next).toBeDefined();
    expect(next).not.toBe(leader);
    expect(state(c, next as number).term).toBeGreaterThan(1);
  });

  for (const checkQuorum of [true, false]) {
    it(`CheckQuorum ${checkQuorum ? 'on: a leader cut off from the majority steps down' : 'off (control): a cut-off leader keeps believing it leads'}`, () => {
      const c = timed(3, { checkQuorum });
      const leader = runUntilLeader(c);
      isolate(c, new Set([leader]));
      c.run(c.now + 3 * T_MS);
      if (checkQuorum) expect(state(c, leader).role).not.toBe('leader');
      else expect(state(c, leader)).toMatchObject({ role: 'leader', term: 1 });
      // The majority side elects a leader of its own either way.
      const others = [0, 1, 2].filter((i) => i !== leader);
      expect(others.some((i) => state(c, i).role === 'leader')).toBe(true);
    });
  }

  for (const preVote of [true, false]) {
    it(`PreVote ${preVote ? 'on: a node rejoining after a partition does not depose a healthy leader' : 'off (control): the rejoining node’s inflated term deposes the leader'}`, () => {
      const c = timed(3, { preVote, checkQuorum: true });
      const leader = runUntilLeader(c);
      c.run(c.now + 500); // everyone holds the leader's no-op: all logs alike
      const term = state(c, leader).term;
      const p = (leader + 1) % 3;
      expect(state(c, p).lastIndex).toBe(state(c, leader).lastIndex);
      isolate(c, new Set([p]));
      c.run(c.now + 10 * T_MS);
      // Cut off, it campaigns again and again: with PreVote without ever moving its term.
      if (preVote) expect(state(c, p).term).toBe(term);
      else expect(state(c, p).term).toBeGreaterThan(term + 3);
      // Then it rejoins all but one link — the leader's messages still do not reach it. Its log is
      // as long as theirs, so only the lease (they hear the leader) keeps it from taking over.
      c.route = (from, to) => (from === leader && to === p ? null : 10);
      c.run(c.now + 5 * T_MS);
      if (preVote) expect(leaderOf(c)).toBe(leader);
      heal(c);
      c.run(c.now + 3 * T_MS);
      if (preVote) {
        expect(leaderOf(c)).toBe(leader);
        expect(terms(c)).toEqual([term, term, term]);
      } else {
        expect(state(c, leader).term).toBeGreaterThan(term);
      }
    });
  }

  it('PreVote and CheckQuorum together: a candidate stuck in a higher term is freed — the leader hears its term and an election follows', () => {
    const c = synchronous(3, {}, 50);
    c.fire(0, 'election'); // pre-vote, then the election: 0 leads term 1
    expect(state(c, 0)).toMatchObject({ role: 'leader', term: 1 });
    // Node 2 wins a pre-vote (node 1's lease has run out) but its real vote request is lost: it
    // is a candidate of term 2 that nobody will vote for (0 and 1 hear the leader).
    c.fire(1, 'lease');
    c.route = (from, _to, msg) => (from === 2 && msg.type === 'vote-request' && !msg.pre ? null : 0);
    c.fire(2, 'election');
    expect(state(c, 2)).toMatchObject({ role: 'candidate', term: 2 });
    // While the leader's heartbeats reach node 1 but not node 2, node 2's next pre-votes are
    // ignored by both (lease): it stays stuck in term 2, and the leader in term 1.
    c.route = (from, to, msg) =>
      (from === 2 && msg.type === 'vote-request' && !msg.pre) || (from === 0 && to === 2) ? null : 0;
    c.fire(0, 'heartbeat');
    c.fire(2, 'election');
    expect(state(c, 2)).toMatchObject({ role: 'pre-candidate', term: 2 });
    expect(state(c, 0)).toMatchObject({ role: 'leader', term: 1 });
    // The leader's heartbeat to node 2 is stale there; the reply carries term 2 and the leader
    // steps down — an election must follow, and node 2 rejoins.
    c.route = (from, _to, msg) => (from === 2 && msg.type === 'vote-request' && !msg.pre ? null : 0);
    c.fire(0, 'heartbeat');
    expect(state(c, 0)).toMatchObject({ role: 'follower', term: 2 });
    c.route = () => 0;
    feed(c, 200, c.now + 10_000);
    c.run(c.now + 10_000);
    const l = leaderOf(c);
    expect(l).toBeDefined();
    expect(state(c, l as number).term).toBeGreaterThan(2);
    expect(c.node(2).chain.length).toBeGreaterThan(1);
    expect(c.node(2).chain).toEqual(c.node(l as number).chain.slice(0, c.node(2).chain.length));
    expect(c.agreement()).toBe(true);
  });

  it('thesis §9.6 lease: within an election timeout of hearing from the leader, (pre-)vote requests are ignored — after it, granted', () => {
    const c = synchronous(3);
    c.fire(0, 'election');
    c.route = () => null;
    const ask = (pre: boolean, term: number) =>
      c.inject(2, 1, { type: 'vote-request', term, lastIndex: state(c, 2).lastIndex, lastTerm: 1, pre });
    const answers = () =>
      c.sent.filter((s) => s.from === 1 && s.msg.type === 'vote' && s.msg.candidate === 2).map((s) => s.msg);
    ask(true, 2);
    ask(false, 2);
    expect(answers()).toEqual([]);
    expect(state(c, 1).term).toBe(1);
    c.fire(1, 'lease');
    ask(true, 2);
    expect(answers()).toEqual([{ type: 'vote', term: 2, candidate: 2, granted: true, pre: true }]);
    expect(state(c, 1).term).toBe(1); // a pre-vote changes no term
    ask(false, 2);
    expect(answers().at(-1)).toEqual({ type: 'vote', term: 2, candidate: 2, granted: true, pre: false });
    expect(state(c, 1)).toMatchObject({ term: 2, votedFor: 2 });
  });

  it('without CheckQuorum a real vote request is not held back by the lease (etcd), a pre-vote still is', () => {
    const c = synchronous(3, { checkQuorum: false });
    c.fire(0, 'election');
    c.route = () => null;
    c.inject(2, 1, {
      type: 'vote-request',
      term: 2,
      lastIndex: state(c, 2).lastIndex,
      lastTerm: 1,
      pre: true,
    });
    expect(c.sent.filter((s) => s.from === 1 && s.msg.type === 'vote' && s.msg.candidate === 2)).toEqual([]);
    c.inject(2, 1, {
      type: 'vote-request',
      term: 2,
      lastIndex: state(c, 2).lastIndex,
      lastTerm: 1,
      pre: false,
    });
    expect(state(c, 1)).toMatchObject({ term: 2, votedFor: 2 });
  });
});

describe('crashes and restarts', () => {
  it('a majority crashing stops commits without losing any; restarted, they keep their chains and agree', () => {
    const c = timed(5, {}, 400);
    feed(c, 100, 40_000);
    runUntilLeader(c);
    c.run(c.now + 3_000);
    const before = c.nodes.map((n) => n.chain.length);
    expect(Math.min(...before)).toBeGreaterThan(5);
    const down = [0, 1, 2];
    for (const i of down) c.crash(i);
    c.run(c.now + 3_000);
    const stalled = c.nodes.map((n) => n.chain.length);
    c.run(c.now + 3_000);
    expect(c.nodes.map((n) => n.chain.length)).toEqual(stalled); // no majority: nothing commits
    for (const i of down) c.restart(i);
    c.run(c.now + 8_000);
    for (const [i, n] of c.nodes.entries()) expect(n.chain.length).toBeGreaterThan(stalled[i] as number);
    expect(prefixes(c)).toBe(true);
    expect(c.agreement()).toBe(true);
  });

  it('a restart that also lost the last committed block resumes at the height below, and catches up', () => {
    const c = timed(3, {}, 200);
    feed(c, 100, 20_000);
    runUntilLeader(c);
    c.run(c.now + 2_000);
    const leader = leaderOf(c) as number;
    const f = (leader + 1) % 3;
    c.crash(f);
    c.restart(f, { loseLastCommit: true });
    c.run(c.now + 5_000);
    expect(c.node(f).chain.length).toBeGreaterThan(10);
    expect(prefixes(c)).toBe(true);
    expect(c.agreement()).toBe(true);
  });

  it('a follower whose chain lost its last (unsynced) block still holds it — it acknowledged it — and commits it again', () => {
    const c = synchronous(3, {}, 6);
    c.fire(0, 'election');
    c.input(0, { kind: 'txs-available' });
    const chain = [...c.node(1).chain];
    expect(chain.length).toBeGreaterThan(3);
    c.crash(1);
    c.restart(1, { loseLastCommit: true });
    expect(c.node(1).chain).toEqual(chain.slice(0, -1));
    // The block is back in its log, from its WAL: uncommitted, acknowledged again.
    expect(state(c, 1).entries.map((e) => e.index)).toEqual([chain.length]);
    c.fire(0, 'heartbeat');
    expect(c.node(1).chain).toEqual(c.node(0).chain);
    expect(c.agreement()).toBe(true);
  });

  /**
   * A nemesis, TigerBeetle-style: crashes (a minority at a time), restarts that lose the chain's
   * last unsynced write, message loss, partitions of one or two nodes; every node observed, every
   * certificate checked. Then the network heals and everyone must commit again.
   */
  it('a nemesis of crashes, lost writes, loss and partitions keeps agreement; the healed cluster commits again', () => {
    const schemes = schemeSet(raftCertificateScheme as unknown as CertificateScheme);
    for (const seed of [1, 2, 3, 4]) {
      const rng = new SeededRng(`raft-nemesis-${seed}`);
      const n = seed % 2 === 0 ? 5 : 3;
      const c = new EngineCluster<Msg>({
        engine: raft,
        n,
        latencyMs: 10,
        mempool: 200,
        observers: 1,
        signMessages: true,
        params: seed === 3 ? { preVote: false } : seed === 4 ? { maxInflight: 1 } : {},
      });
      const headers = new Map<string, BlockHeader>();
      c.observe = (_from, _to, msg) => {
        if (msg.type === 'append') for (const e of msg.entries) headers.set(toHex(e.hash), e.block.header);
      };
      c.start();
      feed(c, 150, 45_000);
      let loss = 0;
      let cut = new Set<number>();
      c.route = (from, to) => (cut.has(from) !== cut.has(to) || rng.chance(loss) ? null : 5 + rng.int(40));
      // A chain store loses only its last, unsynced write: a block committed since the restart.
      const startedAt = c.nodes.map(() => 0);
      for (let t = 300; t < 20_000; t += 300) {
        c.at(t, () => {
          const i = rng.int(n);
          const roll = rng.int(6);
          const up = c.nodes.slice(0, n).filter((x) => x.up).length;
          if (roll === 0 && up > Math.floor(n / 2) + 1) c.crash(i);
          else if (roll === 1)
            for (const x of c.nodes) {
              if (x.up) continue;
              c.restart(x.index, {
                loseLastCommit: rng.chance(0.5) && x.chain.length > (startedAt[x.index] ?? 0),
              });
              startedAt[x.index] = x.chain.length;
            }
          else if (roll === 2) loss = rng.next() * 0.4;
          else if (roll === 3) cut = new Set([i, rng.int(n + 1)]);
          else if (roll === 4) {
            loss = 0;
            cut = new Set();
          }
        });
      }
      c.run(20_000);
      loss = 0;
      cut = new Set();
      for (const x of c.nodes) if (!x.up) c.restart(x.index);
      const at = Math.max(...c.nodes.map((x) => x.chain.length));
      c.mempool += 20; // fresh transactions for the healed cluster
      c.run(30_000);
      expect(c.agreement()).toBe(true);
      expect(prefixes(c)).toBe(true);
      for (const x of c.nodes) expect(x.chain.length).toBeGreaterThan(at);
      for (const commit of c.commits) {
        const header = headers.get(commit.hash);
        expect(header).toBeDefined();
        expect(verifyCertificate(commit.certificate, header as BlockHeader, c.trust, schemes)).toEqual({
          ok: true,
        });
      }
    }
  });
});

describe('a head moved by block sync (its term read from the header: HeadInfo.engineData)', () => {
  /**
   * Node 2 hears no appends while the others commit, so the cluster's block sync moves its chain:
   * it holds a head no append named, and knows its term from the block itself. Then the leader
   * restarts (its window of committed entries is gone) or crashes.
   */
  function synced() {
    const c = timed(3, {}, 100);
    feed(c, 100, 60_000);
    const leader = runUntilLeader(c);
    const f = [0, 1, 2].find((i) => i !== leader) as number;
    const lagging = 3 - leader - f;
    c.route = (_from, to, msg) => (to === lagging && msg.type === 'append' ? null : 10);
    c.run(c.now + 3_000);
    expect(c.node(lagging).chain.length).toBeGreaterThan(5);
    expect(state(c, lagging)).toMatchObject({ entries: [], headTerm: state(c, leader).term });
    return { c, leader, f, lagging };
  }

  it('it votes for an up-to-date candidate', () => {
    const { c, leader, f, lagging } = synced();
    c.crash(leader);
    heal(c);
    c.run(c.now + 6_000);
    expect(leaderOf(c)).toBeDefined();
    expect(c.node(lagging).chain.length).toBeGreaterThan(0);
    expect(c.node(f).chain.length).toBeGreaterThan(c.node(leader).chain.length);
    expect(c.agreement()).toBe(true);
  });

  it('a restarted leader, holding no committed entries, repairs it from its own head (no block sync needed)', () => {
    const c = timed(3, {}, 20);
    feed(c, 100, 4_000);
    const leader = runUntilLeader(c);
    const f = [0, 1, 2].find((i) => i !== leader) as number;
    const lagging = 3 - leader - f;
    c.route = (_from, to, msg) => (to === lagging && msg.type === 'append' ? null : 10);
    c.run(c.now + 5_000); // every transaction committed; block sync brings `lagging` to the same head
    const h = c.node(leader).chain.length;
    expect(c.node(lagging).chain.length).toBe(h);
    expect(state(c, lagging).headTerm).toBe(state(c, leader).term);
    // From here on time stands still (no block sync): only the engines can bring `lagging` along.
    // New entries reach f only, unacknowledged; then the leader restarts, its retained window gone.
    c.route = (from, to, msg) =>
      (to === lagging && msg.type === 'append') || (from === f && msg.type === 'ack') ? null : 0;
    c.mempool += 3;
    c.input(leader, { kind: 'txs-available' });
    c.settle();
    expect(state(c, f).lastIndex).toBe(h + 3);
    c.crash(leader);
    c.restart(leader);
    c.route = () => 0;
    c.fireAll('lease');
    c.fire(leader, 'election');
    c.settle();
    expect(state(c, leader).role).toBe('leader');
    // `lagging` rejects the heartbeat at h + 3 with its head as the hint; the leader probes there.
    expect(c.node(lagging).chain).toEqual(c.node(leader).chain);
    expect(c.node(leader).chain.length).toBe(h + 4);
    expect(c.agreement()).toBe(true);
  });
});
