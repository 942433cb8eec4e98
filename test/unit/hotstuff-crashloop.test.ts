/**
 * The pacemaker under a dead validator, on the in-memory cluster (exact message delays; n = 4,
 * leader(v) = v mod 4): the crash-loop finding (npm run bench:crashloop) taken apart. A dead
 * validator's turn must cost its own view only — the view before it, whose votes the dead node
 * was to collect as the next leader, still gets its QC without a timeout — and a validator that
 * times out must not take a stale fire of that view's timer for the next view's. The end-to-end
 * figures (commit gaps, latency, under load) are in test/sim/hotstuff-crashloop.sim.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { HsMessage } from '../../consensus/hotstuff/messages.ts';
import { genesisQc, timeoutMessage } from '../../consensus/hotstuff/qc.ts';
import { headerHash } from '../../ledger/block.ts';
import { Cluster } from '../helpers/hotstuff-cluster.ts';

const CONFIGS = [
  { qc: 'aggregate', chain: 2 },
  { qc: 'aggregate', chain: 3 },
  { qc: 'threshold', chain: 2 },
  { qc: 'threshold', chain: 3 },
] as const;
const VIEW_TIMEOUT_MS = 1000;
const EMPTY_BLOCK_MS = 40;
const REBROADCAST_MS = 500;
const DEAD = 3;
const STABLE = [0, 1, 2];

function cluster(cfg: (typeof CONFIGS)[number]): Cluster {
  return new Cluster({
    n: 4,
    params: {
      qc: cfg.qc,
      chain: cfg.chain,
      viewTimeoutMs: VIEW_TIMEOUT_MS,
      emptyBlockIntervalMs: EMPTY_BLOCK_MS,
      rebroadcastMs: REBROADCAST_MS,
    },
    latencyMs: 10,
  });
}

for (const cfg of CONFIGS) {
  describe(`hotstuff with a dead validator (${cfg.qc}, ${cfg.chain}-chain)`, () => {
    it('its turn costs one view change: the view before it is certified without a timeout', () => {
      const c = cluster(cfg);
      c.start();
      c.run(1000);
      c.crash(DEAD);
      const crashedAt = c.now;
      c.run(crashedAt + 15_000);
      expect(c.agreement()).toBe(true);
      const timedOut = new Set<number>();
      for (const s of c.sent)
        if (s.msg.type === 'timeout' && STABLE.includes(s.from)) timedOut.add(s.msg.view);
      // Only the dead validator's views time out (before: each view before one did too — its
      // votes went to the dead node alone, and only the view timer got them to anyone else).
      expect([...timedOut].filter((v) => v % 4 !== DEAD)).toEqual([]);
      expect([...timedOut].length, 'dead turns in 15 s').toBeGreaterThan(4);
      // Votes of the view before a dead turn reach everyone: after a re-send interval the first
      // time, at once once the validator has missed a turn.
      const broadcastVotes = c.sent.filter(
        (s) => s.msg.type === 'vote' && s.to === 'all' && (s.msg.view + 1) % 4 === DEAD,
      );
      expect(broadcastVotes.length).toBeGreaterThan(0);
      // So no stable node waits for a commit longer than one view change — a view timeout plus
      // the idle leader's wait (the chain is empty here) — and a few message delays (before the
      // fix: 3.3 s, two view changes, the second on a doubled timer).
      for (const i of STABLE) {
        const times = [crashedAt, ...c.commits.filter((x) => x.node === i).map((x) => x.time), c.now];
        let worst = 0;
        for (let k = 1; k < times.length; k++)
          worst = Math.max(worst, (times[k] as number) - (times[k - 1] as number));
        expect(worst, `node ${i}: longest stretch without a commit`).toBeLessThan(
          VIEW_TIMEOUT_MS + EMPTY_BLOCK_MS + 300,
        );
      }
    });
  });
}

describe('hotstuff view timer on a timeout joined from others', () => {
  it('is cancelled before the timeout leaves, so a late fire cannot time out the next view', () => {
    const c = cluster(CONFIGS[0]);
    c.start(); // engines started; nothing delivered (the cluster is never run)
    const node = c.nodes[0];
    if (node === undefined) throw new Error('no node 0');
    const highQc = genesisQc(headerHash(c.genesis));
    const timeout = (from: number): HsMessage => ({
      type: 'timeout',
      view: 1,
      highQc,
      signature: c.blsSign(from, timeoutMessage('cluster', 1, 0)),
      tc: undefined,
    });
    const first = node.engine.step({
      kind: 'message',
      from: 1,
      msg: timeout(1),
      signature: new Uint8Array(64),
    });
    expect(first.some((o) => o.kind === 'broadcast')).toBe(false);
    // > 1/3 of the power timed out view 1: node 0 joins — its own view timer is still pending.
    const out = node.engine.step({
      kind: 'message',
      from: 2,
      msg: timeout(2),
      signature: new Uint8Array(64),
    });
    const cancel = out.findIndex((o) => o.kind === 'cancel-timer' && o.timer === 'view');
    const sent = out.findIndex((o) => o.kind === 'broadcast' && o.msg.type === 'timeout');
    expect(sent).toBeGreaterThanOrEqual(0);
    expect(cancel).toBeGreaterThanOrEqual(0);
    expect(cancel).toBeLessThan(sent);
  });
});
