/**
 * Tendermint crash-recovery scenarios, scripted on EngineCluster (test/helpers/engine-cluster.ts):
 * each replaces a seed of `npm run test:long` that once stalled or forked the chain (replayed
 * whole in test/sim/tendermint.sim.test.ts) with the exact situation it hit — who crashed when,
 * what its chain lost, which messages were lost — so that a change elsewhere cannot silently
 * shift the seed away from it. Four validators of power 1 (quorum 3, f + 1 = 2); the proposer of
 * (height, round) is validator (height + round) mod 4. A Byzantine validator is a crashed node
 * whose messages the test injects.
 */
import { describe, expect, it } from 'vitest';
import { ProposerSchedule } from '../../consensus/proposer.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import { proposal, type TmMessage } from '../../consensus/tendermint/messages.ts';
import { fromHex, toHex } from '../../crypto/bytes.ts';
import { headerHash } from '../../ledger/block.ts';
import type { QuorumCertificate } from '../../ledger/certificate.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

const LATENCY = 10;
const NIL = '';

type Vote = Extract<TmMessage, { type: 'prevote' | 'precommit' }>;

function setup() {
  const c = new EngineCluster<TmMessage>({
    engine: tendermint,
    n: 4,
    // Short timeouts, proposals at once (no idle wait), re-broadcasts every 200 ms.
    params: {
      timeoutProposeMs: 100,
      timeoutProposeDeltaMs: 50,
      timeoutPrevoteMs: 50,
      timeoutPrevoteDeltaMs: 25,
      timeoutPrecommitMs: 50,
      timeoutPrecommitDeltaMs: 25,
      emptyBlockIntervalMs: 0,
      blockIntervalMs: 0,
      rebroadcastMs: 200,
    },
    latencyMs: LATENCY,
  });
  /** The network loses what this says (a node's own messages loop back regardless). */
  let lose: (from: number, to: number, msg: TmMessage) => boolean = () => false;
  c.route = (from, to, msg) => (lose(from, to, msg) ? null : LATENCY);
  const schedule = new ProposerSchedule(c.validators);
  expect([1, 2, 3].map((h) => schedule.proposer(h, 0))).toEqual([1, 2, 3]); // (h + r) mod 4

  const status = (i: number) => (c.nodes[i] as (typeof c.nodes)[number]).engine.status();
  /** Runs until `done` holds (at most `withinMs` more), and requires that it does. */
  const until = (done: () => boolean, withinMs = 5000) => {
    c.run(c.now + withinMs, done);
    expect(done()).toBe(true);
  };
  /** Node i's votes of a type at a height (from `since`), as `round:id` ('' id for nil), once each. */
  const votesOf = (i: number, type: Vote['type'], height: number, since = 0) => [
    ...new Set(
      c.sent.flatMap((s) =>
        s.from === i && s.msg.type === type && s.msg.height === height && s.time >= since
          ? [`${s.msg.round}:${toHex(s.msg.id)}`]
          : [],
      ),
    ),
  ];
  /** The hash (hex) of node i's first proposal at a height. */
  const proposedBy = (i: number, height: number) => {
    const m = c.sent.find((x) => x.from === i && x.msg.type === 'proposal' && x.msg.height === height)?.msg;
    if (m?.type !== 'proposal') throw new Error(`node ${i} proposed nothing at height ${height}`);
    return toHex(m.hash);
  };
  /** What node i committed at a height (every time it did: a lost commit is decided again). */
  const committed = (i: number, height: number) =>
    c.commits.filter((x) => x.node === i && x.height === height).map((x) => x.hash);
  /**
   * Brings node i back to `height` after a lost commit, as a peer's gossip would: the decided
   * proposal and the precommits of its certificate. (EngineCluster's block sync only serves a
   * node two blocks behind.)
   */
  const catchUp = (i: number, height: number) => {
    const decided = c.commits.find((x) => x.height === height && x.node !== i);
    if (decided === undefined) throw new Error(`nobody else decided height ${height}`);
    const cert = decided.certificate as QuorumCertificate;
    const prop = c.sent.find(
      (s) => s.msg.type === 'proposal' && s.msg.height === height && toHex(s.msg.hash) === decided.hash,
    );
    if (prop === undefined) throw new Error(`no proposal of the block decided at ${height}`);
    c.inject(prop.from, i, prop.msg);
    for (const v of cert.votes)
      c.inject(v.validator, i, { type: 'precommit', height, round: cert.round, id: cert.blockHash });
    c.run(c.now);
  };
  return {
    c,
    status,
    until,
    votesOf,
    proposedBy,
    committed,
    catchUp,
    setLoss: (f: typeof lose) => {
      lose = f;
    },
  };
}

const isVote = (msg: TmMessage, type: Vote['type'], height: number, round: number) =>
  msg.type === type && msg.height === height && msg.round === round;

/**
 * Two validators locked on the proposal B3 of height 3, round 0 — a polka only they saw — crash,
 * and their chains lose the commit of height 2: they re-enter height 2 with height 3's record
 * kept ahead, catch up, and must resume height 3 locked on B3 and still holding its block.
 * `crashAgain`: they crash once more while back at height 2.
 */
function lockedAboveALostCommit(crashAgain: boolean) {
  const s = setup();
  const { c } = s;
  const [A, A2, W, Z] = [0, 1, 2, 3]; // Z proposes height 3, round 0
  // At height 3, round 0: W does not get the proposal (it prevotes and precommits nil), and Z's
  // precommit is lost — B3 has a polka (A, A2, Z) but only two precommits.
  s.setLoss(
    (from, to, msg) =>
      msg.height === 3 &&
      msg.round === 0 &&
      ((msg.type === 'proposal' && to === W) || (msg.type === 'precommit' && from === Z)),
  );
  c.start();
  const precommitted = (i: number) =>
    s.votesOf(i, 'precommit', 3).some((v) => v.startsWith('0:') && v !== `0:${NIL}`);
  s.until(() => precommitted(A) && precommitted(A2));
  const B3 = s.proposedBy(Z, 3);
  for (const i of [A, A2]) expect(s.votesOf(i, 'precommit', 3)).toEqual([`0:${B3}`]);
  for (const i of [Z, A, A2]) c.crash(i); // Z for good
  c.run(c.now + 1000);
  // W, alone at height 3, never had B3 nor saw its polka: it voted nil only, and waits.
  expect(c.height(W)).toBe(2);
  for (const type of ['prevote', 'precommit'] as const)
    expect(s.votesOf(W, type, 3).every((v) => v.endsWith(':'))).toBe(true);

  for (const i of [A, A2]) {
    c.restart(i, { loseLastCommit: true });
    expect(c.height(i)).toBe(1);
    expect(s.status(i).height).toBe(2);
  }
  c.run(c.now + 100);
  if (crashAgain)
    for (const i of [A, A2]) {
      c.crash(i);
      c.restart(i);
    }
  for (const i of [A, A2]) s.catchUp(i, 2);
  for (const i of [A, A2]) expect(s.status(i).height).toBe(3);
  const back = c.now;
  c.run(c.now + 3000);
  return { s, c, A, A2, W, B3, back };
}

describe('Tendermint crash-recovery scenarios (seeds of npm run test:long)', () => {
  it('split rounds: the validator a round ahead keeps its votes of the round before across a restart', () => {
    // Replaces seeds 100345, 100559, 100589, 100629, 100679, 100755 (the split rounds). Protects:
    // the record keeps the node's own votes of its round and the previous one (Persisted.votes),
    // restored into what the re-broadcast timer sends.
    const s = setup();
    const { c } = s;
    const A = 0;
    const honest = [0, 1, 2];
    c.start();
    c.crash(3); // down for good: the three others are exactly a quorum
    // Round 0 of height 1 fails: its proposal reaches only its proposer, all three precommit nil —
    // and A's precommit is lost on its way to 1 and 2, who are left with two precommits of three.
    let hold = true;
    s.setLoss(
      (from, _to, msg) =>
        (msg.type === 'proposal' && msg.height === 1 && msg.round === 0) ||
        (hold && from === A && isVote(msg, 'precommit', 1, 0)),
    );
    s.until(() => s.status(A).round === 1);
    // The split: A got the three precommits and moved to round 1; 1 and 2 wait in round 0 for the
    // one they lack, A's, while A alone in round 1 is not the f + 1 that would move them there.
    for (const i of [1, 2]) expect(s.status(i)).toMatchObject({ height: 1, round: 0, step: 'precommit' });
    expect(s.votesOf(A, 'precommit', 1)).toEqual([`0:${NIL}`]);

    c.crash(A);
    c.restart(A);
    hold = false;
    const restartedAt = c.now;
    c.run(c.now + 3000);
    // A came back in round 1 and its re-broadcast carried its round-0 precommit again: 1 and 2
    // timed round 0 out, joined it, and the chain went on.
    for (const i of honest) expect(c.height(i)).toBeGreaterThanOrEqual(3);
    expect(s.votesOf(A, 'precommit', 1, restartedAt)).toContain(`0:${NIL}`);
    expect(c.agreement()).toBe(true);
  });

  it('100515: locked above a lost commit, validators still hold the locked block when back', () => {
    // Replaces seed 100515. Protects: the valid value's block is kept per height
    // (VALID_BLOCK_PREFIX): re-entering height 2 must not discard height 3's.
    const { s, c, A, A2, W, B3, back } = lockedAboveALostCommit(false);
    for (const i of [A, A2, W]) expect(s.committed(i, 3)).toEqual([B3]);
    // A, proposer of round 1, re-proposed B3 from its own store with B3's polka round
    const again = c.sent.find((x) => x.from === A && x.time >= back && x.msg.type === 'proposal');
    expect(again?.msg).toMatchObject({ height: 3, round: 1, validRound: 0 });
    expect(s.proposedBy(A, 3)).toBe(B3);
    for (const i of [A, A2, W]) expect(c.height(i)).toBeGreaterThanOrEqual(4);
    expect(c.agreement()).toBe(true);
  });

  it('a record for the height above the chain survives a second crash at the lower height', () => {
    // Replaces the other cause of seeds 100345 … 100755. Protects: the record of a height above the
    // chain's is kept under its own key (AHEAD_KEY) until that height is reached, so the lower
    // height's records cannot overwrite it. Overwritten, it takes the node's round, votes and lock
    // at height 3 with it (the seeds stalled on the round); here the lock shows it: back at height
    // 3, A and A2 vote for nothing but B3 (or nil), and B3 is decided.
    const { s, c, A, A2, W, B3, back } = lockedAboveALostCommit(true);
    for (const i of [A, A2])
      for (const type of ['prevote', 'precommit'] as const)
        for (const v of s.votesOf(i, type, 3, back))
          expect([NIL, B3], `${i} ${type} ${v}`).toContain(v.split(':')[1]);
    for (const i of [A, A2, W]) expect(s.committed(i, 3)).toEqual([B3]);
    for (const i of [A, A2, W]) expect(c.height(i)).toBeGreaterThanOrEqual(4);
    expect(c.agreement()).toBe(true);
  });

  it('100693: a validator back at a height it decided (a lost commit) is locked: no second decision', () => {
    // Replaces seed 100693. Protects: the decided height's record survives the commit (PREV_KEY),
    // so the node resumes that height locked where it was locked (L22: prevote nil for another value).
    const s = setup();
    const { c } = s;
    const [A, X, Z, Y] = [0, 1, 2, 3]; // X proposes height 1 round 0; Z, Byzantine, round 1
    // Round 0: Y does not get X's proposal B1 (it prevotes and precommits nil). Once A has crashed,
    // round 0's re-broadcasts to it are lost too: back, A knows of round 0 only what it persisted.
    let crashed = Number.POSITIVE_INFINITY;
    s.setLoss(
      (_from, to, msg) =>
        msg.height === 1 &&
        msg.round === 0 &&
        ((msg.type === 'proposal' && to === Y) || (to === A && c.now >= crashed)),
    );
    c.start();
    c.crash(Z); // Z's messages are the test's
    s.until(() => c.sent.some((x) => x.from === X && x.msg.type === 'proposal'));
    const B1 = s.proposedBy(X, 1);
    const b1 = fromHex(B1);
    // Z prevotes B1 to A and X (a polka for both: they lock on B1) and precommits it to A alone:
    // A decides B1, X and Y see two precommits for B1 and one nil, and go to round 1.
    for (const to of [A, X]) c.inject(Z, to, { type: 'prevote', height: 1, round: 0, id: b1 });
    c.inject(Z, A, { type: 'precommit', height: 1, round: 0, id: b1 });
    s.until(() => s.status(X).round === 1 && s.status(Y).round === 1);
    expect(s.committed(A, 1)).toEqual([B1]);
    for (const i of [X, Y]) expect(s.committed(i, 1)).toEqual([]);
    expect(s.votesOf(X, 'precommit', 1)).toEqual([`0:${B1}`]);

    // A's chain loses the commit of height 1: it is back at height 1 …
    c.crash(A);
    crashed = c.now;
    c.run(c.now + 50);
    c.restart(A, { loseLastCommit: true });
    expect(c.height(A)).toBe(0);
    const back = c.now;
    // … when the twin proposes another block, C, in round 1, and prevotes and precommits it: with
    // Y (never locked) and an A without its lock, that is a polka and three precommits for C.
    const C = c.buildBlock(Z, c.genesis, rlpEncode([1]), 1000);
    const cHash = headerHash(C.header);
    for (const to of [A, X, Y]) {
      c.inject(Z, to, proposal(1, 1, -1, C));
      c.inject(Z, to, { type: 'prevote', height: 1, round: 1, id: cHash });
      c.inject(Z, to, { type: 'precommit', height: 1, round: 1, id: cHash });
    }
    c.run(c.now + 3000);
    expect(c.agreement()).toBe(true);
    for (const type of ['prevote', 'precommit'] as const)
      for (const v of s.votesOf(A, type, 1, back))
        expect([NIL, B1], `${type} ${v}`).toContain(v.split(':')[1]);
    // and B1, the one decision, is decided again by all
    for (const i of [A, X, Y]) expect(s.committed(i, 1).at(-1)).toBe(B1);
    for (const i of [A, X, Y]) expect(c.height(i)).toBeGreaterThanOrEqual(3);
  });
});
