/**
 * Targeted HotStuff scenarios on the in-memory cluster (consensus/hotstuff/cluster.ts): exact
 * control over who receives what and when. n = 4 (f = 1), leader(v) = v mod 4 (equal power).
 * Every scenario runs in all four configurations {aggregate, threshold} × {2-chain, 3-chain}.
 */
import { describe, expect, it } from 'vitest';
import type { HotStuffCertificate } from '../../consensus/hotstuff/certificate.ts';
import { type HsMessage, proposalMessage } from '../../consensus/hotstuff/messages.ts';
import { voteMessage } from '../../consensus/hotstuff/qc.ts';
import { toHex } from '../../crypto/bytes.ts';
import { type BlockHeader, headerHash } from '../../ledger/block.ts';
import { Cluster } from '../helpers/hotstuff-cluster.ts';

type Proposal = Extract<HsMessage, { type: 'proposal' }>;
const CONFIGS = [
  { qc: 'aggregate', chain: 2 },
  { qc: 'aggregate', chain: 3 },
  { qc: 'threshold', chain: 2 },
  { qc: 'threshold', chain: 3 },
] as const;

function cluster(cfg: (typeof CONFIGS)[number]): Cluster {
  return new Cluster({
    n: 4,
    params: { qc: cfg.qc, chain: cfg.chain, emptyBlockIntervalMs: 40, viewTimeoutMs: 1000 },
    latencyMs: 10,
    verifyCertificates: true,
  });
}

/** No honest node signed two votes, or two timeouts, in one view. */
function oneVotePerView(c: Cluster, honest: readonly number[]): void {
  const seen = new Map<string, string>();
  for (const s of c.sent) {
    if (!honest.includes(s.from)) continue;
    const m = s.msg;
    if (m.type !== 'vote' && m.type !== 'timeout') continue;
    const key = `${s.from}/${m.type}/${m.view}`;
    const value = m.type === 'vote' ? toHex(m.blockHash) : `${m.highQc.view}`;
    const prior = seen.get(key);
    if (prior !== undefined) expect(value, key).toBe(prior);
    seen.set(key, value);
  }
}

function proposalOf(c: Cluster, view: number, from?: number): Proposal | undefined {
  return c.sent.find(
    (s) => s.msg.type === 'proposal' && s.msg.view === view && (from === undefined || s.from === from),
  )?.msg as Proposal | undefined;
}

function committedHash(c: Cluster, height: number): string | undefined {
  return c.commits.find((x) => x.height === height)?.hash;
}

for (const cfg of CONFIGS) {
  describe(`hotstuff scenarios (${cfg.qc}, ${cfg.chain}-chain)`, () => {
    it('a leader equivocating proposals is reported, and the chain stays safe and live', () => {
      const c = cluster(cfg);
      const W = 10;
      const B = W % 4; // the equivocating leader
      let alt: Proposal | undefined;
      c.intercept = (from, msg, to) => {
        if (from !== B || msg.type !== 'proposal' || msg.view !== W || to !== 3) return msg;
        if (alt === undefined) {
          const node = c.nodes[B];
          const parentId = toHex(msg.block.header.parentHash);
          const parent: BlockHeader | undefined =
            node?.executed.get(parentId)?.header ??
            (toHex(node?.head.hash ?? new Uint8Array()) === parentId ? node?.head.header : undefined);
          if (parent === undefined) throw new Error('no parent');
          alt = proposalMessage(
            W,
            c.buildBlock(B, parent, msg.block.header.engineData, 1000),
            msg.tc,
          ) as Proposal;
          // The Byzantine leader also votes for both blocks (valid signatures): a duplicate vote.
          const message = voteMessage('cluster', W, alt.hash);
          const signature = cfg.qc === 'threshold' ? c.shareSign(B, message) : c.blsSign(B, message);
          c.at(c.now + 5, () =>
            c.inject(B, (W + 1) % 4, {
              type: 'vote',
              view: W,
              blockHash: alt?.hash as Uint8Array,
              signature,
            }),
          );
        }
        return alt;
      };
      c.start();
      c.run(5000);
      expect(alt).toBeDefined();
      expect(c.agreement()).toBe(true);
      oneVotePerView(c, [0, 1, 3]);
      // Node 3 signed-proposal ≠ certified block: the leader is caught; the next leader caught the votes.
      expect(
        c.evidence.some((e) => e.evidence.type === 'duplicate-proposal' && e.evidence.validator === B),
      ).toBe(true);
      expect(c.evidence.some((e) => e.evidence.type === 'duplicate-vote' && e.evidence.validator === B)).toBe(
        true,
      );
      const original = proposalOf(c, W, B) as Proposal;
      expect(committedHash(c, original.block.header.height)).toBe(toHex(original.hash));
      for (let i = 0; i < 4; i++) expect(c.height(i)).toBeGreaterThan(original.block.header.height + 20);
    });

    it('a leader withholding its QC from some nodes only costs a view; its parent’s block still commits', () => {
      const c = cluster(cfg);
      const W = 13; // leader(13) = 1 carries QC(12) to node 0 only
      c.route = (from, to, msg) =>
        from === 1 && msg.type === 'proposal' && msg.view === W && to >= 2 ? null : 10;
      c.start();
      c.run(10_000);
      expect(c.agreement()).toBe(true);
      oneVotePerView(c, [0, 2, 3]);
      const withheld = proposalOf(c, W, 1) as Proposal;
      const certified = proposalOf(c, W - 1) as Proposal; // the block QC(12) certifies
      expect(withheld.data.justify.view).toBe(W - 1);
      // The withheld block never gathers a quorum and is orphaned; the block of view 12 commits.
      expect(committedHash(c, certified.block.header.height)).toBe(toHex(certified.hash));
      expect(c.commits.some((x) => x.hash === toHex(withheld.hash))).toBe(false);
      // The next proposal extends QC(12), justified by TC(13).
      const next = proposalOf(c, W + 1) as Proposal;
      expect(next.tc?.view).toBe(W);
      expect(next.data.justify.view).toBe(W - 1);
      for (let i = 0; i < 4; i++) expect(c.height(i)).toBeGreaterThan(certified.block.header.height + 20);
    });

    it('forged, foreign and duplicated vote signatures are dropped and the QC still forms', () => {
      const c = cluster(cfg);
      const W = 7;
      const leader = (W + 1) % 4; // collects the votes of view W
      let forged = 0;
      c.intercept = (from, msg, to) => {
        if (msg.type !== 'vote' || msg.view !== W || to !== leader || from === leader) return msg;
        forged++;
        const other = (from + 1) % 4;
        const wrong = voteMessage('cluster', W + 100, msg.blockHash);
        const bad: Uint8Array[] =
          cfg.qc === 'threshold'
            ? [
                c.shareSign(other, voteMessage('cluster', W, msg.blockHash)), // another validator's share
                c.shareSign(from, wrong), // own share, wrong message
              ]
            : [
                c.blsSign(other, voteMessage('cluster', W, msg.blockHash)),
                c.blsSign(from, wrong),
                new Uint8Array(96).fill(7),
              ];
        for (const signature of bad) c.inject(from, to, { ...msg, signature });
        c.inject(from, to, msg); // and an exact duplicate of the real vote, before it
        return msg;
      };
      c.start();
      c.run(3000);
      expect(forged).toBe(3);
      expect(c.agreement()).toBe(true);
      const drops = c.evidence.filter(
        (e) => e.node === leader && e.evidence.type === 'invalid-message' && e.evidence.round === W,
      );
      expect(drops.length).toBe(3 * (cfg.qc === 'threshold' ? 2 : 3));
      // QC(W) formed at once: the next proposal carries it, with no timeout in between.
      const next = proposalOf(c, W + 1) as Proposal;
      expect(next.data.justify.view).toBe(W);
      expect(next.tc).toBeUndefined();
      expect(c.sent.some((s) => s.msg.type === 'timeout')).toBe(false);
    });

    it('a TC formed while one node holds a higher QC: the new leader extends the highest QC', () => {
      const c = cluster(cfg);
      const W = 20; // leaders: 20 → 0 (A), 21 → 1 (B), 22 → 2 (C)
      c.route = (from, to, msg) => {
        if (from === 1 && msg.type === 'proposal' && msg.view === W + 1) return to === 0 ? 1500 : null;
        if (from === 0 && msg.type === 'timeout' && msg.view === W + 1) return 60;
        // Keep QC(20) with node 1 (and node 0): drop the votes re-broadcast with the timeouts,
        // and node 0's answers to the others' requests for the missing proposal of view 21.
        if (msg.type === 'vote' && msg.view === W && to !== 1) return null;
        if (from === 0 && msg.type === 'sync') return null;
        return 10;
      };
      c.intercept = (from, msg) => {
        if (from === 1 && msg.type === 'proposal' && msg.view === W + 1) c.at(c.now, () => c.crash(1));
        return msg;
      };
      c.start();
      c.run(20_000);
      expect(c.agreement()).toBe(true);
      oneVotePerView(c, [0, 2, 3]);
      const next = proposalOf(c, W + 2, 2) as Proposal;
      expect(next).toBeDefined();
      expect(next.tc?.view).toBe(W + 1);
      // The TC's signers reported different highQCs: node 0 had QC(20), nodes 2 and 3 QC(19).
      expect(new Set(next.tc?.highQcViews)).toEqual(new Set([W - 1, W]));
      expect(next.tc?.highQc.view).toBe(W);
      expect(next.data.justify.view).toBe(W);
      const b20 = proposalOf(c, W, 0) as Proposal;
      expect(committedHash(c, b20.block.header.height)).toBe(toHex(b20.hash));
      for (const i of [0, 2, 3]) expect(c.height(i)).toBeGreaterThan(b20.block.header.height + 5);
    });

    it('crash-restarts never make a validator vote twice in a view, and it catches up', () => {
      const c = cluster(cfg);
      c.start();
      for (let k = 0; k < 6; k++) {
        c.run(300 + k * 700);
        c.crash(2);
        c.run(300 + k * 700 + 5 + k * 13);
        c.restart(2);
      }
      c.run(12_000);
      expect(c.agreement()).toBe(true);
      oneVotePerView(c, [0, 1, 2, 3]);
      expect(Math.abs(c.height(2) - c.height(0))).toBeLessThanOrEqual(2);
      expect(c.height(2)).toBeGreaterThan(100);
    });

    it('keeps committing with a leader crashed for good (votes ride on timeouts)', () => {
      const c = cluster(cfg);
      c.start();
      c.run(500);
      c.crash(3);
      const before = c.height(0);
      c.run(40_000);
      expect(c.agreement()).toBe(true);
      for (const i of [0, 1, 2]) expect(c.height(i)).toBeGreaterThan(before + 8);
      // Certificates of commits made around the failed views still verify (checked on commit),
      // and some of them carry more descendants than the minimal chain.
      const long = c.commits.some(
        (x) => (x.certificate as HotStuffCertificate).headers.length > cfg.chain - 1,
      );
      expect(long).toBe(true);
      expect(headerHash(c.genesis)).toHaveLength(32);
    });
  });
}
