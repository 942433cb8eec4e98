/**
 * Targeted HotStuff scenarios on the in-memory cluster (test/helpers/hotstuff-cluster.ts): exact
 * control over who receives what and when. n = 4 (f = 1), leader(v) = v mod 4 (equal power),
 * except the TC scenarios that need two nodes outside a TC: n = 7 (f = 2), leader(v) = v mod 7.
 * Every scenario runs in all four configurations {aggregate, threshold} × {2-chain, 3-chain}.
 */
import { describe, expect, it, vi } from 'vitest';
import type { HotStuffCertificate } from '../../consensus/hotstuff/certificate.ts';
import { encodeEngineData, type HsMessage, proposalMessage } from '../../consensus/hotstuff/messages.ts';
import { bitmapIndices, bitmapOf, timeoutMessage, voteMessage } from '../../consensus/hotstuff/qc.ts';
import { toHex } from '../../crypto/bytes.ts';
import { type BlockHeader, headerHash } from '../../ledger/block.ts';
import { Cluster, HOTSTUFF_CONFIGS } from '../helpers/hotstuff-cluster.ts';

/**
 * Counts the BLS checks (bls.verify, bls.threshold.verifyShare) made on watched signatures under
 * one watched key — the module is wrapped, every call still goes to the real backend.
 */
const checks = vi.hoisted(() => ({ watch: new Set<string>(), key: '', hits: 0 }));
vi.mock('../../crypto/bls/index.ts', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../crypto/bls/index.ts')>();
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  const seen = (key: Uint8Array, signature: Uint8Array) => {
    if (checks.watch.size > 0 && hex(key) === checks.key && checks.watch.has(hex(signature))) checks.hits++;
  };
  const real = m.bls;
  return {
    ...m,
    bls: {
      ...real,
      verify: (key: Uint8Array, message: Uint8Array, signature: Uint8Array) => {
        seen(key, signature);
        return real.verify(key, message, signature);
      },
      threshold: {
        ...real.threshold,
        verifyShare: (
          key: Uint8Array,
          message: Uint8Array,
          partial: Parameters<typeof real.threshold.verifyShare>[2],
        ) => {
          seen(key, partial.signature);
          return real.threshold.verifyShare(key, message, partial);
        },
      },
    },
  };
});

/** Distinct wrong views to sign, test by test: verification results are memoised per process. */
let salt = 1000;

function watch(signatures: Iterable<Uint8Array>, key: Uint8Array): void {
  checks.watch = new Set([...signatures].map((s) => toHex(s)));
  checks.key = toHex(key);
  checks.hits = 0;
}

type Proposal = Extract<HsMessage, { type: 'proposal' }>;
const CONFIGS = HOTSTUFF_CONFIGS;

function cluster(cfg: (typeof CONFIGS)[number], n = 4): Cluster {
  return new Cluster({
    n,
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
          // The Byzantine leader also votes for both blocks (valid signatures): a duplicate vote,
          // which the next leader counts once per value (the runtime would keep the evidence).
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
      // Node 3 signed-proposal ≠ certified block: the leader is caught.
      expect(
        c.evidence.some((e) => e.evidence.type === 'duplicate-proposal' && e.evidence.validator === B),
      ).toBe(true);
      const original = proposalOf(c, W, B) as Proposal;
      expect(committedHash(c, original.block.header.height)).toBe(toHex(original.hash));
      for (let i = 0; i < 4; i++) expect(c.height(i)).toBeGreaterThan(original.block.header.height + 20);
    });

    it('a leader withholding its QC from some nodes only costs a view; its parent’s block still commits', () => {
      const c = cluster(cfg);
      const W = 13; // leader(13) = 1 carries QC(12) to node 0 only (its proposal, and its announcement)
      c.route = (from, to, msg) =>
        from === 1 &&
        (msg.type === 'proposal' || (msg.type === 'sync' && !msg.request)) &&
        msg.view === W &&
        to >= 2
          ? null
          : 10;
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

    it('a flood of forged and foreign votes costs one BLS check; duplicates are dropped; the QC still forms', () => {
      const c = cluster(cfg);
      const W = 7;
      const leader = (W + 1) % 4; // collects the votes of view W
      const B = (leader + 1) % 4; // the Byzantine voter
      const FLOOD = 30;
      const sign = (i: number, m: Uint8Array) =>
        cfg.qc === 'threshold' ? c.shareSign(i, m) : c.blsSign(i, m);
      const bad: Uint8Array[] = [];
      let forged = 0;
      c.intercept = (from, msg, to) => {
        if (msg.type !== 'vote' || msg.view !== W || to !== leader || from === leader) return msg;
        if (from !== B) {
          c.inject(from, to, msg); // an exact duplicate of an honest vote, before it
          return msg;
        }
        forged++;
        bad.push(
          // another validator's signature on the right message, then B's own on wrong messages
          sign((B + 1) % 4, voteMessage('cluster', W, msg.blockHash)),
          ...Array.from({ length: FLOOD }, () => sign(B, voteMessage('cluster', salt++, msg.blockHash))),
        );
        if (cfg.qc === 'aggregate') bad.push(new Uint8Array(96).fill(7));
        watch(
          bad,
          cfg.qc === 'threshold'
            ? (c.threshold?.sharePublicKeys[B] as Uint8Array)
            : (c.validators.at(B)?.blsPublicKey as Uint8Array),
        );
        for (const signature of bad) c.inject(from, to, { ...msg, signature });
        return msg; // B's valid vote, after its bad ones: not verified either
      };
      c.start();
      c.run(3000);
      expect(forged).toBe(1);
      expect(bad.length).toBeGreaterThan(FLOOD);
      // One check for the whole flood (without the per-view record: one per distinct signature).
      expect(checks.hits).toBe(1);
      expect(c.agreement()).toBe(true);
      const reports = c.evidence.filter((e) => e.node === leader && e.evidence.round === W);
      expect(reports.map((e) => [e.evidence.type, e.evidence.validator])).toEqual([['invalid-message', B]]);
      // QC(W) formed at once from the honest votes: the next proposal carries it, with no timeout.
      const next = proposalOf(c, W + 1) as Proposal;
      expect(next.data.justify.view).toBe(W);
      expect(next.tc).toBeUndefined();
      expect(c.sent.some((s) => s.msg.type === 'timeout')).toBe(false);
      if (cfg.qc === 'aggregate') expect(next.data.justify.signers).toEqual(bitmapOf([0, 2, 3], 4));
    });

    it('a flood of timeouts with bad signatures costs one BLS check per view', () => {
      const c = cluster(cfg);
      const B = 1;
      const target = 2;
      c.start();
      c.run(600);
      const view = c.nodes[target]?.engine.status().round as number;
      const highQc = (proposalOf(c, view - 1) as Proposal).data.justify; // valid: only the signatures are bad
      const timeouts = Array.from({ length: 30 }, () => ({
        type: 'timeout' as const,
        view,
        highQc,
        signature: c.blsSign(B, timeoutMessage('cluster', salt++, highQc.view)),
        tc: undefined,
      }));
      watch(
        timeouts.map((t) => t.signature),
        c.validators.at(B)?.blsPublicKey as Uint8Array,
      );
      for (const t of timeouts) c.inject(B, target, t);
      expect(checks.hits).toBe(1);
      const reports = c.evidence.filter((e) => e.node === target && e.evidence.validator === B);
      expect(reports.map((e) => [e.evidence.type, e.evidence.round])).toEqual([['invalid-message', view]]);
      const before = c.height(target);
      c.run(2000);
      expect(c.agreement()).toBe(true);
      expect(c.height(target)).toBeGreaterThan(before + 10);
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
        // …and node 1's announcement of the QC it formed (it goes out at once, before its proposal).
        if (from === 1 && msg.type === 'sync' && msg.view === W + 1 && !msg.request) return null;
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

    /**
     * n = 7. N = leader(W + 1) forms QC(W) and crashes right after proposing W + 1 to M =
     * leader(W + 2) alone; M keeps QC(W) to itself (its syncs, timeouts and votes of views ≤ W + 1
     * are lost) and gets no timeouts of W + 1, so TC(W + 1) is formed by the five others — all
     * with QC(W − 1) — and reaches M in their syncs. `byzantineM` replaces M's proposal of W + 2.
     */
    function tcWithoutHolder(byzantineM?: (msg: Proposal) => Proposal) {
      const c = cluster(cfg, 7);
      const W = 20;
      const N = (W + 1) % 7;
      const M = (W + 2) % 7;
      let replaced: Proposal | undefined;
      c.route = (from, to, msg) => {
        if (from === N && msg.type === 'proposal' && msg.view === W + 1 && to !== M) return null;
        // N's announcement of QC(W) (it goes out at once, before its proposal): lost too.
        if (from === N && msg.type === 'sync' && msg.view === W + 1 && !msg.request && to !== M) return null;
        if (msg.type === 'vote' && msg.view === W && to !== N) return null; // no QC(W) from timeouts
        if (from === M && to !== M && msg.type !== 'proposal' && msg.type !== 'fetch' && msg.view <= W + 1)
          return null;
        if (to === M && msg.type === 'timeout' && msg.view === W + 1) return null;
        return 10;
      };
      c.intercept = (from, msg) => {
        if (from === N && msg.type === 'proposal' && msg.view === W + 1) c.at(c.now, () => c.crash(N));
        if (byzantineM === undefined || from !== M || msg.type !== 'proposal' || msg.view !== W + 2)
          return msg;
        replaced ??= byzantineM(msg);
        return replaced;
      };
      return { c, W, N, M, replaced: () => replaced };
    }

    it('a TC excluding the holder of the highest QC: the holder, leading next, proposes on its own highQC', () => {
      const { c, W, N, M } = tcWithoutHolder();
      c.start();
      c.run(8000);
      expect(c.agreement()).toBe(true);
      const honest = [0, 1, 2, 3, 4, 5, 6].filter((i) => i !== N);
      oneVotePerView(c, honest);
      const held = proposalOf(c, W + 1, N) as Proposal;
      expect(held.data.justify.view).toBe(W); // QC(W), seen by M alone
      const next = proposalOf(c, W + 2, M) as Proposal;
      expect(next).toBeDefined();
      expect(next.tc?.view).toBe(W + 1);
      const signers = bitmapIndices(next.tc?.signers ?? new Uint8Array(0), 7);
      expect(signers).toEqual(honest.filter((i) => i !== M));
      expect(next.tc?.highQc.view).toBe(W - 1);
      // max(highQC, TC.highQC): M extends its own QC(W), not the TC's QC(W − 1).
      expect(next.data.justify.view).toBe(W);
      const bW = proposalOf(c, W) as Proposal;
      expect(toHex(next.block.header.parentHash)).toBe(toHex(bW.hash));
      expect(committedHash(c, bW.block.header.height)).toBe(toHex(bW.hash));
      expect(c.commits.some((x) => x.hash === toHex(held.hash))).toBe(false);
      for (const i of honest) expect(c.height(i)).toBeGreaterThan(bW.block.header.height + 5);
    });

    it('a proposal with a valid TC but below the locks (3-chain) or TC.highQC (2-chain) gets no honest vote; the chain recovers', () => {
      // A Byzantine M proposes below every honest lock (3-chain: QC(W − 2) at the five, QC(W − 1)
      // at M) or, 2-chain, below TC.highQC = QC(W − 1) — each time on the committed head, so the
      // block itself is valid and only the voting rule refuses it. (A lock *above* TC.highQC cannot
      // be set up: the QC that locks at L was voted by 2f + 1 nodes holding QC(L), and every TC
      // includes one of them.)
      const state: Array<{ node: number; lockedQcView: number; executed: boolean }> = [];
      let craftedAt = 0;
      const { c, W, N, M, replaced } = tcWithoutHolder((msg) => {
        // Carries QC(W − 3) (3-chain) or QC(W − 2) (2-chain): the block it certifies is the head.
        const base = proposalOf(c, W - (cfg.chain === 3 ? 2 : 1)) as Proposal;
        const parent = (proposalOf(c, base.data.justify.view) as Proposal).block.header;
        const data = { view: W + 2, chain: cfg.chain, justify: base.data.justify };
        const crafted = proposalMessage(
          W + 2,
          c.buildBlock(M, parent, encodeEngineData(data)),
          msg.tc,
        ) as Proposal;
        craftedAt = c.now;
        c.at(c.now + 100, () => {
          for (const node of c.nodes) {
            if (!node.up || node.index === M) continue;
            state.push({
              node: node.index,
              lockedQcView: c.hotstuff(node.index).debugState().lockedQcView,
              executed: node.executed.has(toHex(crafted.hash)),
            });
          }
        });
        return crafted;
      });
      c.start();
      c.run(16_000);
      const crafted = replaced() as Proposal;
      expect(crafted).toBeDefined();
      expect(crafted.tc?.view).toBe(W + 1);
      expect(crafted.tc?.highQc.view).toBe(W - 1);
      const honest = [0, 1, 2, 3, 4, 5, 6].filter((i) => i !== N && i !== M);
      expect(state.map((x) => x.node)).toEqual(honest);
      for (const x of state) {
        expect(x.executed, `node ${x.node} executed the block`).toBe(true);
        if (cfg.chain === 3) {
          expect(x.lockedQcView).toBe(W - 2);
          expect(crafted.data.justify.view).toBeLessThan(x.lockedQcView);
        } else {
          expect(crafted.data.justify.view).toBeLessThan(crafted.tc?.highQc.view as number);
        }
      }
      expect(c.agreement()).toBe(true);
      oneVotePerView(c, honest);
      const votes = c.sent.filter(
        (s) => s.msg.type === 'vote' && s.msg.view === W + 2 && honest.includes(s.from),
      );
      expect(votes).toEqual([]);
      expect(c.commits.some((x) => x.hash === toHex(crafted.hash))).toBe(false);
      // View W + 2 times out; later views commit again.
      const after = c.commits.filter((x) => x.node === honest[0] && x.time > craftedAt);
      expect(after.length).toBeGreaterThan(5);
      for (const i of honest) expect(c.height(i)).toBeGreaterThan(crafted.block.header.height + 5);
    });

    it('a block the runtime could not execute yet (UNKNOWN_PARENT) is retried, not taken as invalid', () => {
      const c = cluster(cfg);
      let injected = 0;
      c.failExecute = (node, block) =>
        node === 1 && block.header.height === 3 && injected++ === 0 ? 'UNKNOWN_PARENT' : undefined;
      c.start();
      c.run(20_000, () => c.commits.some((x) => x.node === 1 && x.height >= 5));
      expect(injected).toBeGreaterThan(0);
      // Node 1 committed height 3 itself, by consensus (a block taken as invalid it could only sync).
      expect(c.commits.some((x) => x.node === 1 && x.height === 3)).toBe(true);
      expect(c.agreement()).toBe(true);
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

describe('the next leader announces the QC it forms', () => {
  const run = (mempool: number) => {
    const c = new Cluster({
      n: 4,
      params: { viewTimeoutMs: 1000 },
      latencyMs: 10,
      verifyCertificates: true,
      mempool,
    });
    c.start();
    c.run(10_000);
    expect(c.agreement()).toBe(true);
    const syncs = c.sent.filter((s) => s.msg.type === 'sync') as Array<{
      to: number | 'all';
      msg: Extract<HsMessage, { type: 'sync' }>;
    }>;
    return {
      c,
      // (View 1's leader waits idle at the start, before any transaction is announced to it.)
      requests: syncs.filter((s) => s.msg.request && s.msg.view > 1).length,
      // (Replies to requests go to the asker alone.)
      announced: syncs.filter((s) => !s.msg.request && s.to === 'all').length,
    };
  };

  it('when it proposes at once; an idle leader does not (the others would ask it for its proposal during its idle wait)', () => {
    const busy = run(10_000);
    expect(busy.announced).toBeGreaterThan(20);
    expect(busy.requests).toBe(0);
    const idle = run(0);
    expect(idle.c.height(0)).toBeGreaterThan(3); // empty blocks, a second apart
    expect(idle.announced).toBe(0);
    expect(idle.requests).toBe(0);
  });
});
