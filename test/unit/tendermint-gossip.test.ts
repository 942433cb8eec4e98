/**
 * Tendermint's re-broadcast (the gossip the paper assumes): a round that outlasts
 * `rebroadcastMs` re-sends its own messages and relays the ones it holds — but its first
 * re-broadcast skips a proposal (a whole block) every other validator has voted for, since each of
 * them then holds it; later ones send it again, for a peer that restarted since and lost it.
 */
import { describe, expect, it } from 'vitest';
import { ProposerSchedule } from '../../consensus/proposer.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import { proposal, type TmMessage } from '../../consensus/tendermint/messages.ts';
import { headerHash } from '../../ledger/block.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

const H = 1;

function setup() {
  const c = new EngineCluster<TmMessage>({
    engine: tendermint,
    n: 4,
    params: { emptyBlockIntervalMs: 0, rebroadcastMs: 1000 },
    recordOutputs: true,
  });
  c.route = () => null; // nothing is delivered but what a test injects
  const schedule = new ProposerSchedule(c.validators);
  const P = schedule.proposer(H, 0);
  const T = [0, 1, 2, 3].find((i) => i !== P) as number;
  c.start();
  c.run(c.now);
  /** Proposals node `i` sent (its own) or relayed (another's), from its recorded outputs. */
  const proposalsOut = (i: number, kind: 'broadcast' | 'relay') =>
    (c.nodes[i]?.outputs ?? []).filter((o) => o.kind === kind && o.msg.type === 'proposal').length;
  const prevote = (from: number, to: number, hash: Uint8Array) =>
    c.inject(from, to, { type: 'prevote', height: H, round: 0, id: hash });
  return { c, P, T, proposalsOut, prevote };
}

describe('Tendermint re-broadcast', () => {
  it('the first re-broadcast re-sends the proposal while a validator has not voted for it', () => {
    const { c, P, proposalsOut, prevote } = setup();
    const sent = c.sent.find((s) => s.from === P && s.msg.type === 'proposal')?.msg;
    if (sent?.type !== 'proposal') throw new Error('the round-0 proposer did not propose');
    expect(proposalsOut(P, 'broadcast')).toBe(1);
    for (const v of [0, 1, 2, 3].filter((i) => i !== P).slice(0, 2)) prevote(v, P, sent.hash);
    c.run(c.now);
    c.fire(P, 'rebroadcast');
    expect(proposalsOut(P, 'broadcast')).toBe(2); // the third may lack it
  });

  it("a round's first re-broadcast skips a proposal every other validator voted for; later ones send it", () => {
    const { c, P, proposalsOut, prevote } = setup();
    const sent = c.sent.find((s) => s.from === P && s.msg.type === 'proposal')?.msg;
    if (sent?.type !== 'proposal') throw new Error('the round-0 proposer did not propose');
    for (const v of [0, 1, 2, 3].filter((i) => i !== P)) prevote(v, P, sent.hash);
    c.run(c.now);
    const votesBefore = c.sent.filter((s) => s.from === P && s.msg.type !== 'proposal').length;
    c.fire(P, 'rebroadcast');
    expect(proposalsOut(P, 'broadcast')).toBe(1); // every other validator holds it
    // Its votes are still re-sent: they are small, and a peer may lack them.
    expect(c.sent.filter((s) => s.from === P && s.msg.type !== 'proposal').length).toBeGreaterThan(
      votesBefore,
    );
    // A peer may have restarted since it voted, and lost the block: the next one sends it.
    c.fire(P, 'rebroadcast');
    expect(proposalsOut(P, 'broadcast')).toBe(2);
  });

  it('the first re-broadcast relays the proposal it holds while a validator has not voted for it', () => {
    const { c, P, T, proposalsOut, prevote } = setup();
    const b = c.buildBlock(P, c.genesis, rlpEncode([0]), 1);
    const hash = headerHash(b.header);
    c.inject(P, T, proposal(H, 0, -1, b));
    for (const v of [0, 1, 2, 3].filter((i) => i !== T && i !== P)) prevote(v, T, hash);
    c.run(c.now);
    c.fire(T, 'rebroadcast');
    expect(proposalsOut(T, 'relay')).toBe(1); // the proposer has not voted for it yet
  });

  it("a round's first re-broadcast relays no proposal every other validator voted for", () => {
    const { c, P, T, proposalsOut, prevote } = setup();
    const b = c.buildBlock(P, c.genesis, rlpEncode([0]), 1);
    const hash = headerHash(b.header);
    c.inject(P, T, proposal(H, 0, -1, b));
    for (const v of [0, 1, 2, 3].filter((i) => i !== T)) prevote(v, T, hash);
    c.run(c.now);
    c.fire(T, 'rebroadcast');
    expect(proposalsOut(T, 'relay')).toBe(0);
    c.fire(T, 'rebroadcast');
    expect(proposalsOut(T, 'relay')).toBe(1);
  });
});
