/**
 * Multi-Paxos in time: a stable leader (heartbeats, lease, quorum check), dueling proposers,
 * Flexible Paxos quorums with validators down, and crashes and restarts of every member. The
 * cluster runs in virtual time (10 ms links unless a test routes otherwise, timers firing on
 * schedule, block sync every 200 ms); every commit's certificate is checked as a light client does.
 */
import { describe, expect, it } from 'vitest';
import { multipaxosCertificateScheme } from '../../consensus/multipaxos/certificate.ts';
import type { MultiPaxosEngine } from '../../consensus/multipaxos/engine.ts';
import { multipaxos } from '../../consensus/multipaxos/index.ts';
import type { MultiPaxosMessage } from '../../consensus/multipaxos/messages.ts';
import { SeededRng } from '../../consensus/rng.ts';
import { toHex } from '../../crypto/bytes.ts';
import type { BlockHeader } from '../../ledger/block.ts';
import { type CertificateScheme, schemeSet, verifyCertificate } from '../../ledger/certificate.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

type Msg = MultiPaxosMessage;
type C = EngineCluster<Msg>;
const T_MS = 1000;
const SCHEMES = schemeSet(multipaxosCertificateScheme as unknown as CertificateScheme);

interface Timed {
  readonly c: C;
  /** Every block header a message carried, by hash (to check certificates). */
  readonly headers: Map<string, BlockHeader>;
}

function timed(n: number, o: { params?: EngineParams; mempool?: number; sign?: boolean } = {}): Timed {
  const c = new EngineCluster<Msg>({
    engine: multipaxos,
    n,
    latencyMs: 10,
    mempool: o.mempool ?? 0,
    signMessages: o.sign ?? false,
    params: o.params ?? {},
  });
  const headers = new Map<string, BlockHeader>();
  c.observe = (_from, _to, msg) => {
    if (msg.type === 'accept' || msg.type === 'promise')
      for (const p of msg.blocks) headers.set(toHex(p.hash), p.block.header);
  };
  c.start();
  return { c, headers };
}

const state = (c: C, i: number) => (c.node(i).engine as MultiPaxosEngine).inspect();
const ballots = (c: C) => c.nodes.reduce((n, x) => n + x.engine.status().viewChanges, 0);

/** The running leader of the highest ballot, if any. */
function leaderOf(c: C): number | undefined {
  let best: number | undefined;
  for (const n of c.nodes) {
    const s = state(c, n.index);
    if (!n.up || s.role !== 'leader') continue;
    if (best === undefined || s.promised.round > state(c, best).promised.round) best = n.index;
  }
  return best;
}

function runUntilLeader(c: C, withinMs = 10_000): number {
  c.run(c.now + withinMs, () => leaderOf(c) !== undefined);
  const l = leaderOf(c);
  expect(l).toBeDefined();
  return l as number;
}

/**
 * Two transactions every `everyMs` until `untilMs`, announced to every running node: a steady load
 * of about 20 blocks a second, with at most ten waiting while nothing commits — one event pending
 * at a time (EngineCluster sorts its whole queue on each insertion).
 */
function feed(c: C, everyMs: number, untilMs: number): void {
  const tick = () => {
    if (c.mempool < 10) c.mempool += 2;
    for (const n of c.nodes) if (n.up) c.input(n.index, { kind: 'txs-available' });
    if (c.now + everyMs < untilMs) c.at(c.now + everyMs, tick);
  };
  c.at(c.now, tick);
}

const longest = (c: C) => Math.max(...c.nodes.map((n) => n.chain.length));

/** Every node's chain is a prefix of the longest one. */
function prefixes(c: C): boolean {
  const top = c.nodes.map((n) => n.chain).reduce((a, b) => (b.length > a.length ? b : a));
  return c.nodes.every((n) => n.chain.every((h, i) => top[i] === h));
}

/** Every commit of every node carries a certificate that verifies; returns how many were checked. */
function certificatesVerify(t: Timed): number {
  for (const commit of t.c.commits) {
    const header = t.headers.get(commit.hash);
    expect(header, `header of block ${commit.height}`).toBeDefined();
    const check = verifyCertificate(commit.certificate, header as BlockHeader, t.c.trust, SCHEMES);
    expect(check, `certificate of block ${commit.height} at node ${commit.node}`).toEqual({ ok: true });
  }
  return t.c.commits.length;
}

describe('a stable leader', () => {
  it('heartbeats keep followers from starting Phase 1; when the leader crashes, another leads in a higher ballot', () => {
    const { c } = timed(3);
    const leader = runUntilLeader(c);
    const ballot = state(c, leader).promised;
    const started = ballots(c);
    c.run(c.now + 30_000);
    expect(ballots(c)).toBe(started);
    expect(leaderOf(c)).toBe(leader);
    c.crash(leader);
    c.run(c.now + 5_000);
    const next = leaderOf(c);
    expect(next).toBeDefined();
    expect(next).not.toBe(leader);
    expect(state(c, next as number).promised.round).toBeGreaterThan(ballot.round);
  });

  it('while its leader is live an acceptor ignores other proposers: a node back from a partition does not get promises', () => {
    const { c } = timed(3);
    const leader = runUntilLeader(c);
    feed(c, 100, c.now + 20_000);
    const cut = (leader + 1) % 3;
    c.route = (from, to) => ((from === cut) !== (to === cut) ? null : 10);
    c.run(c.now + 5 * T_MS); // it campaigns alone, ballot after ballot
    expect(state(c, cut).promised.round).toBeGreaterThan(state(c, leader).promised.round);
    const promisesTo = () => c.sent.filter((s) => s.msg.type === 'promise' && s.to === cut && s.from !== cut);
    const mark = promisesTo().length;
    // Back, with the leader's links to it still down: it hears no heartbeat, so it keeps trying.
    c.route = (from, to) => (from === leader && to === cut ? null : 10);
    const height = longest(c);
    c.run(c.now + 5 * T_MS);
    expect(promisesTo().length).toBe(mark);
    expect(leaderOf(c)).toBe(leader);
    expect(longest(c)).toBeGreaterThan(height + 20);
    expect(c.agreement()).toBe(true);
  });

  it('a leader that hears from no phase-2 quorum for T steps down; the others elect a leader and keep committing', () => {
    const { c } = timed(5);
    const leader = runUntilLeader(c);
    feed(c, 100, c.now + 1_000);
    c.run(c.now + 1_500);
    expect(longest(c)).toBeGreaterThan(10);
    // Cut off while nothing is committed elsewhere (no block sync reaches it): only its own quorum
    // check can tell it that it no longer leads.
    c.route = (from, to) => ((from === leader) !== (to === leader) ? null : 10);
    c.run(c.now + 2.5 * T_MS);
    expect(state(c, leader).role).not.toBe('leader');
    const next = leaderOf(c);
    expect(next).toBeDefined();
    expect(next).not.toBe(leader);
    const height = longest(c);
    feed(c, 100, c.now + 2_000);
    c.run(c.now + 2_000);
    expect(longest(c)).toBeGreaterThan(height + 10);
    expect(c.agreement()).toBe(true);
  });
});

describe('dueling proposers', () => {
  for (const pair of [
    [0, 1],
    [1, 2],
    [0, 2],
  ] as const) {
    it(`nodes ${pair[0]} and ${pair[1]} start Phase 1 at the same instant: they converge, one leads and commits, the other backs off`, () => {
      const { c } = timed(3);
      // Links of random latency (1–30 ms) so the two ballots interleave differently at each acceptor.
      const rng = new SeededRng(`duel-${pair.join('-')}`);
      c.route = () => 1 + rng.int(30);
      for (const i of pair) c.fire(i, 'election');
      feed(c, 100, 6_000);
      c.run(6_000);
      const leader = leaderOf(c);
      expect(leader).toBeDefined();
      expect(c.nodes.filter((n) => state(c, n.index).role === 'leader').length).toBe(1);
      expect(longest(c)).toBeGreaterThan(40);
      expect(c.agreement()).toBe(true);
      expect(prefixes(c)).toBe(true);
    });
  }

  it('every node starts Phase 1 at once, again and again: each time one leads within a few timeouts, and the chain stays one', () => {
    const { c } = timed(5);
    const rng = new SeededRng('duel-all');
    c.route = () => 1 + rng.int(30);
    feed(c, 100, 40_000);
    for (let round = 0; round < 3; round++) {
      // Everyone not leading runs a Phase 1 at the same instant.
      c.fireAll('election');
      const height = longest(c);
      c.run(c.now + 4 * T_MS);
      expect(leaderOf(c)).toBeDefined();
      expect(longest(c)).toBeGreaterThan(height);
    }
    expect(c.agreement()).toBe(true);
    expect(prefixes(c)).toBe(true);
  });

  it('a proposer preempted by a higher ballot waits a fresh random timeout in [T, 2T) before its next Phase 1', () => {
    const { c } = timed(3);
    c.fire(0, 'election');
    c.fire(1, 'election'); // the higher ballot: node 0 is preempted
    c.run(c.now + 100);
    expect(state(c, 0).role).toBe('follower');
    expect(state(c, 1).role).toBe('leader');
    const backoffs = c.timers.filter((t) => t.node === 0 && t.timer === 'election').map((t) => t.afterMs);
    for (const ms of backoffs) {
      expect(ms).toBeGreaterThanOrEqual(T_MS);
      expect(ms).toBeLessThan(2 * T_MS);
    }
    expect(new Set(backoffs).size).toBe(backoffs.length);
  });
});

describe('lossy links: requests are retried, not left to the next ballot', () => {
  it('links that lose the first prepare of every ballot to each acceptor, with Q1 needing every live acceptor (sweep-98: 4 of 7 up), still elect a leader: a candidate re-sends its prepare every heartbeat to the acceptors that have not answered', () => {
    const { c } = timed(5); // Q1 = 3: nodes 0, 1, 2 all
    c.crash(3);
    c.crash(4);
    const seen = new Set<string>();
    c.route = (_from, to, msg) => {
      if (msg.type !== 'prepare') return 10;
      const first = `${to}/${msg.ballot.round}.${msg.ballot.node}`;
      if (seen.has(first)) return 10;
      seen.add(first);
      return null;
    };
    feed(c, 100, 6_000);
    c.run(6_000);
    const leader = leaderOf(c);
    expect(leader).toBeDefined();
    // It leads in the ballot of its first Phase 1: its retries got through, no new ballot needed.
    expect(state(c, leader as number).promised.round).toBe(1);
    expect(longest(c)).toBeGreaterThan(20);
    expect(c.agreement()).toBe(true);
  });
});

describe('Flexible Paxos quorums: n = 5, Q1 = 4, Q2 = 2', () => {
  it('keeps committing with only a phase-2 quorum up, cannot elect a leader without a phase-1 quorum, and resumes once one is back', () => {
    const t = timed(5, { params: { phase1Quorum: 4, phase2Quorum: 2 }, sign: true });
    const { c } = t;
    const leader = runUntilLeader(c);
    feed(c, 100, 60_000);
    c.run(c.now + 1_000);
    const partner = (leader + 1) % 5;
    const others = [0, 1, 2, 3, 4].filter((i) => i !== leader && i !== partner);
    for (const i of others) c.crash(i);
    // The leader and one acceptor: a phase-2 quorum. Blocks keep committing.
    let height = longest(c);
    c.run(c.now + 3_000);
    expect(leaderOf(c)).toBe(leader);
    expect(c.node(partner).chain.length).toBeGreaterThan(height + 20);
    // Without the leader, one node cannot run Phase 1; with the leader back, two still cannot.
    c.crash(leader);
    c.run(c.now + 3_000);
    c.restart(leader);
    const tried = ballots(c);
    height = longest(c);
    c.run(c.now + 4_000);
    expect(leaderOf(c)).toBeUndefined();
    expect(ballots(c)).toBeGreaterThan(tried); // they did try
    expect(longest(c)).toBe(height);
    // A third (power 3 < 4): still nothing. A fourth: Phase 1 succeeds and the chain moves on.
    c.restart(others[0] as number);
    c.run(c.now + 3_000);
    expect(leaderOf(c)).toBeUndefined();
    expect(longest(c)).toBe(height);
    c.restart(others[1] as number);
    runUntilLeader(c, 10_000);
    c.run(c.now + 2_000);
    expect(longest(c)).toBeGreaterThan(height + 10);
    expect(c.agreement()).toBe(true);
    expect(prefixes(c)).toBe(true);
    expect(certificatesVerify(t)).toBeGreaterThan(100);
  });

  it('control: with majority quorums the same two survivors commit nothing', () => {
    const { c } = timed(5);
    const leader = runUntilLeader(c);
    feed(c, 100, 20_000);
    c.run(c.now + 1_000);
    const partner = (leader + 1) % 5;
    for (const i of [0, 1, 2, 3, 4]) if (i !== leader && i !== partner) c.crash(i);
    c.run(c.now + 500);
    const height = longest(c);
    c.run(c.now + 5_000);
    expect(longest(c)).toBe(height);
  });
});

describe('crash and restart of any member keeps agreement', () => {
  for (const i of [0, 1, 2])
    for (const loseLastCommit of [false, true]) {
      it(`node ${i} crashes under load and restarts${loseLastCommit ? ', its chain missing its last commit' : ''}: one chain, progress, certificates that verify`, () => {
        const t = timed(3, { sign: true });
        const { c } = t;
        runUntilLeader(c);
        feed(c, 100, 20_000);
        c.run(c.now + 1_000);
        const role = state(c, i).role;
        c.crash(i);
        c.run(c.now + 2_000);
        c.restart(i, { loseLastCommit });
        const height = longest(c);
        c.run(c.now + 3_000);
        expect(longest(c), `after ${role} ${i} restarted`).toBeGreaterThan(height + 10);
        expect(c.node(i).chain.length).toBeGreaterThan(height);
        expect(c.agreement()).toBe(true);
        expect(prefixes(c)).toBe(true);
        certificatesVerify(t);
      });
    }

  for (const seed of ['a', 'b']) {
    it(`seeded faults (${seed}): random crashes, restarts with lost commits, partitions and 10% loss for 12 s, then healed: agreement throughout, progress after`, () => {
      const t = timed(5, { sign: true });
      const { c } = t;
      const rng = new SeededRng(`multipaxos-faults-${seed}`);
      let cut = new Set<number>();
      c.route = (from, to) => (cut.has(from) !== cut.has(to) || rng.chance(0.1) ? null : 1 + rng.int(20));
      feed(c, 100, 30_000);
      for (let k = 0; k < 24; k++) {
        c.run(c.now + 500);
        const down = c.nodes.filter((n) => !n.up).map((n) => n.index);
        const action = rng.int(4);
        if (action === 0 && down.length < 2) c.crash(rng.int(5));
        else if (action === 1 && down.length > 0)
          c.restart(down[rng.int(down.length)] as number, { loseLastCommit: rng.chance(0.5) });
        else if (action === 2) cut = new Set([rng.int(5)]);
        else cut = new Set();
        expect(c.agreement()).toBe(true);
      }
      cut = new Set();
      c.route = () => 10;
      for (const n of c.nodes) if (!n.up) c.restart(n.index);
      const height = longest(c);
      c.run(c.now + 5_000);
      expect(longest(c)).toBeGreaterThan(height + 20);
      for (const n of c.nodes) expect(n.chain.length).toBeGreaterThan(height);
      expect(c.agreement()).toBe(true);
      expect(prefixes(c)).toBe(true);
      certificatesVerify(t);
    });
  }
});
