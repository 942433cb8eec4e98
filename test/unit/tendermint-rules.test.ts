/**
 * Tendermint, rule by rule: one test per rule of Algorithm 1 of "The latest gossip on BFT
 * consensus" (Buchman, Kwon, Milosevic 2018), in the style of etcd's raft_paper_test.go. Four
 * validators of power 1 (quorum 3, f + 1 = 2); the node under test, T, gets exactly the messages
 * a test injects (nothing else is delivered) and its own messages back, and each test reads what
 * it signed. Line numbers are the paper's.
 */
import { describe, expect, it } from 'vitest';
import { ProposerSchedule } from '../../consensus/proposer.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import { proposal, type TmMessage } from '../../consensus/tendermint/messages.ts';
import { toHex } from '../../crypto/bytes.ts';
import { type Block, headerHash } from '../../ledger/block.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

const H = 1;
const NIL = new Uint8Array(0);

function setup() {
  const c = new EngineCluster<TmMessage>({
    engine: tendermint,
    n: 4,
    // No idle wait before proposing, no re-broadcasts: what T sends is what a rule made it send.
    params: { emptyBlockIntervalMs: 0, rebroadcastMs: 600_000 },
  });
  c.route = () => null;
  const schedule = new ProposerSchedule(c.validators);
  const proposerOf = (round: number) => schedule.proposer(H, round);
  // T proposes in none of the first rounds, so that only the rule under test moves it.
  const T = [0, 1, 2, 3].find((i) => [0, 1, 2, 3].every((r) => proposerOf(r) !== i)) ?? 0;
  const others = [0, 1, 2, 3].filter((i) => i !== T);
  c.start();
  c.run(c.now);

  let tag = 0;
  /** A block a round's proposer would propose at height 1 (a different one each call). */
  const block = (round: number): Block =>
    c.buildBlock(proposerOf(round), c.genesis, rlpEncode([round]), ++tag);
  const id = (b: Block) => headerHash(b.header);
  const settle = () => c.run(c.now);
  const propose = (round: number, validRound: number, b: Block, from = proposerOf(round)) => {
    c.inject(from, T, proposal(H, round, validRound, b));
    settle();
  };
  const vote = (type: 'prevote' | 'precommit', round: number, value: Uint8Array, from: readonly number[]) => {
    for (const v of from) c.inject(v, T, { type, height: H, round, id: value });
    settle();
  };
  /** T's votes of a type and round, as hex ids ('' for nil). */
  const votesOf = (type: 'prevote' | 'precommit', round: number) =>
    c.sent.flatMap((s) =>
      s.from === T && s.msg.type === type && s.msg.round === round && s.msg.height === H
        ? [toHex(s.msg.id)]
        : [],
    );
  const proposalsOf = () => c.sent.flatMap((s) => (s.from === T && s.msg.type === 'proposal' ? [s.msg] : []));
  const status = () => c.nodes[T]?.engine.status();
  return { c, T, others, proposerOf, block, id, propose, vote, votesOf, proposalsOf, status, settle };
}

/** Locks T on a fresh block in round 0 (L36) and returns it. */
function lockInRound0(s: ReturnType<typeof setup>): Block {
  const b = s.block(0);
  s.propose(0, -1, b);
  s.vote('prevote', 0, s.id(b), s.others.slice(0, 2));
  expect(s.votesOf('precommit', 0)).toEqual([toHex(s.id(b))]);
  return b;
}

/** Moves T from round r to r + 1 the regular way: 2f+1 precommits for nil, then OnTimeoutPrecommit. */
function nextRound(s: ReturnType<typeof setup>, r: number): void {
  s.vote('precommit', r, NIL, s.others);
  s.c.fire(s.T, 'precommit');
  s.settle();
  expect(s.status()?.round).toBe(r + 1);
}

describe('Tendermint, Algorithm 1 rule by rule', () => {
  it('L11–21 StartRound: a validator that does not propose waits for the proposal (timeoutPropose armed)', () => {
    const s = setup();
    expect(s.status()).toMatchObject({ height: H, round: 0, step: 'propose' });
    expect(s.c.armed(s.T, 'propose')).toBe(true);
    expect(s.proposalsOf()).toEqual([]);
  });

  it('L22–27: a valid proposal (validRound −1) from the round proposer, while unlocked, gets a prevote for it', () => {
    const s = setup();
    const b = s.block(0);
    s.propose(0, -1, b);
    expect(s.votesOf('prevote', 0)).toEqual([toHex(s.id(b))]);
    expect(s.status()?.step).toBe('prevote');
  });

  it('L22: a proposal from a validator that is not the round proposer is not voted on', () => {
    const s = setup();
    const notProposer = s.others.find((v) => v !== s.proposerOf(0)) as number;
    s.propose(0, -1, s.block(0), notProposer);
    expect(s.votesOf('prevote', 0)).toEqual([]);
  });

  it('L57–60 OnTimeoutPropose: no proposal in time → prevote nil; a timeout armed for another round does nothing', () => {
    const s = setup();
    s.c.fire(s.T, 'propose');
    s.settle();
    expect(s.votesOf('prevote', 0)).toEqual(['']);
    nextRound(s, 0);
    // A stale firing (armed for round 0) reaches T in round 1: its token says so, and it is ignored.
    s.c.input(s.T, { kind: 'timeout', timer: 'propose', token: { height: H, round: 0 } });
    expect(s.votesOf('prevote', 1)).toEqual([]);
  });

  it('L36–43: the proposal and 2f+1 prevotes for it while in prevote → lock, precommit it (and it becomes the valid value)', () => {
    const s = setup();
    const b = s.block(0);
    s.propose(0, -1, b);
    s.vote('prevote', 0, s.id(b), s.others.slice(0, 1));
    expect(s.votesOf('precommit', 0)).toEqual([]); // 2 of 4 (with its own): not yet
    s.vote('prevote', 0, s.id(b), s.others.slice(1, 2));
    expect(s.votesOf('precommit', 0)).toEqual([toHex(s.id(b))]);
    expect(s.status()?.step).toBe('precommit');
  });

  it('L44–46: 2f+1 prevotes for nil while in prevote → precommit nil', () => {
    const s = setup();
    s.c.fire(s.T, 'propose');
    s.settle();
    s.vote('prevote', 0, NIL, s.others.slice(0, 2));
    expect(s.votesOf('precommit', 0)).toEqual(['']);
  });

  it('L34–35, L61–64: 2f+1 prevotes for different values arm timeoutPrevote, and on it T precommits nil', () => {
    const s = setup();
    const b = s.block(0);
    s.propose(0, -1, b);
    s.vote('prevote', 0, NIL, s.others.slice(0, 1));
    expect(s.c.armed(s.T, 'prevote')).toBe(false);
    const other = s.block(0);
    s.vote('prevote', 0, s.id(other), s.others.slice(1, 2));
    expect(s.c.armed(s.T, 'prevote')).toBe(true);
    expect(s.votesOf('precommit', 0)).toEqual([]);
    s.c.fire(s.T, 'prevote');
    s.settle();
    expect(s.votesOf('precommit', 0)).toEqual(['']);
  });

  it('L47–48, L65–67: 2f+1 precommits of any kind arm timeoutPrecommit, and on it T starts the next round', () => {
    const s = setup();
    s.vote('precommit', 0, NIL, s.others.slice(0, 2));
    expect(s.c.armed(s.T, 'precommit')).toBe(false);
    s.vote('precommit', 0, s.id(s.block(0)), s.others.slice(2, 3));
    expect(s.c.armed(s.T, 'precommit')).toBe(true);
    s.c.fire(s.T, 'precommit');
    s.settle();
    expect(s.status()).toMatchObject({ round: 1, step: 'propose' });
  });

  it('L22 (lock): locked on B, a new value proposed with validRound −1 gets nil — and B itself gets a prevote', () => {
    const s = setup();
    const b = lockInRound0(s);
    nextRound(s, 0);
    s.propose(1, -1, s.block(1));
    expect(s.votesOf('prevote', 1)).toEqual(['']);
    nextRound(s, 1);
    s.propose(2, -1, b);
    expect(s.votesOf('prevote', 2)).toEqual([toHex(s.id(b))]);
  });

  it('L28–33 (unlock): locked on B in round 0, a value C re-proposed with validRound 1 and a round-1 polka for C gets a prevote', () => {
    const s = setup();
    lockInRound0(s);
    nextRound(s, 0);
    const c = s.block(1);
    s.propose(1, -1, c);
    expect(s.votesOf('prevote', 1)).toEqual(['']); // locked on B: nil (L22)
    s.vote('prevote', 1, s.id(c), s.others); // the others saw a polka for C in round 1
    nextRound(s, 1);
    s.propose(2, 1, c);
    expect(s.votesOf('prevote', 2)).toEqual([toHex(s.id(c))]); // lockedRound 0 ≤ vr 1
  });

  it('L28–33 (negative): the same re-proposal without the polka it claims is not voted on until timeoutPropose', () => {
    const s = setup();
    lockInRound0(s);
    nextRound(s, 0);
    nextRound(s, 1);
    const c = s.block(1);
    s.propose(2, 1, c);
    expect(s.votesOf('prevote', 2)).toEqual([]);
    s.c.fire(s.T, 'propose');
    s.settle();
    expect(s.votesOf('prevote', 2)).toEqual(['']);
  });

  it('L49–54: the proposal of any round and 2f+1 precommits for it decide it, even after T moved on', () => {
    const s = setup();
    const b = s.block(0);
    s.propose(0, -1, b);
    s.vote('prevote', 1, NIL, s.others.slice(0, 2)); // f+1 of round 1: T skips to it (L55)
    expect(s.status()?.round).toBe(1);
    s.vote('precommit', 0, s.id(b), s.others); // late precommits of round 0, for B
    expect(s.c.commits.filter((x) => x.node === s.T).map((x) => x.hash)).toEqual([toHex(s.id(b))]);
    expect(s.status()).toMatchObject({ height: H + 1, round: 0 });
  });

  it('L55–56: f+1 (by power) messages of a higher round make T skip to it; f do not', () => {
    const s = setup();
    s.vote('prevote', 3, NIL, s.others.slice(0, 1));
    expect(s.status()?.round).toBe(0);
    s.vote('prevote', 3, NIL, s.others.slice(1, 2));
    expect(s.status()?.round).toBe(3);
  });

  it('L14–16: a proposer holding a valid value re-proposes it, with its validRound', () => {
    const s = setup();
    const b = lockInRound0(s); // also the valid value, from round 0
    // Move to the first round T proposes in.
    let r = 0;
    while (s.proposerOf(r + 1) !== s.T) nextRound(s, r++);
    nextRound(s, r);
    const mine = s.proposalsOf().at(-1);
    expect(mine).toMatchObject({ round: r + 1, validRound: 0 });
    expect(toHex((mine as { hash: Uint8Array }).hash)).toBe(toHex(s.id(b)));
  });
});
