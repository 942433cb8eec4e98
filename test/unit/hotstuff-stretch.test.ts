/**
 * A long stretch of certified but uncommitted blocks (the nemesis finding: QCs formed only in
 * views that never came in consecutive pairs, the certified chain grew past what a commit proof
 * carried, and the chain halted for good). Here every vote of an odd view is lost: odd views end
 * in a TC, even views certify a block whose justify is two views back, so neither commit rule ever
 * fires. Once votes flow again, the next pair of consecutive QCs must commit the whole stretch,
 * every block with a certificate a light client accepts — also after every node restarted at once.
 */
import { describe, expect, it } from 'vitest';
import type { HotStuffCertificate } from '../../consensus/hotstuff/certificate.ts';
import { encodeCertificate, verifyCertificate } from '../../ledger/certificate.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { Cluster, HOTSTUFF_CONFIGS } from '../helpers/hotstuff-cluster.ts';

const CONFIGS = HOTSTUFF_CONFIGS;

/** Certified blocks above the highest committed height on node 0. */
function uncommittedStretch(c: Cluster): number {
  const state = c.hotstuff(0).debugState();
  const certifiedHeight = Math.max(
    ...c.sent.flatMap((s) => (s.msg.type === 'proposal' ? [s.msg.block.header.height] : [])),
  );
  return state === undefined ? 0 : certifiedHeight - c.height(0);
}

function stretchCluster(cfg: (typeof CONFIGS)[number], stretch: number): { c: Cluster; healAt: number } {
  const c = new Cluster({
    n: 4,
    params: {
      qc: cfg.qc,
      chain: cfg.chain,
      emptyBlockIntervalMs: 20,
      viewTimeoutMs: 100,
      maxViewTimeoutMs: 200,
    },
    latencyMs: 5,
    verifyCertificates: true,
  });
  let lossy = true;
  c.route = (_from, _to, msg) => (lossy && msg.type === 'vote' && msg.view % 2 === 1 ? null : 5);
  c.start();
  // Run until the stretch is long enough (and nothing has committed).
  c.run(1_000_000, () => (c.hotstuff(0).debugState().highQcView ?? 0) >= 2 * stretch + 2);
  const healAt = c.now;
  c.at(healAt, () => {
    lossy = false;
  });
  return { c, healAt };
}

for (const cfg of CONFIGS) {
  describe(`hotstuff: a long uncommitted stretch (${cfg.qc}, ${cfg.chain}-chain)`, () => {
    it('commits all of it once two consecutive views certify again; every certificate verifies', () => {
      const STRETCH = 100; // more than the 64 headers a certificate used to carry
      const { c, healAt } = stretchCluster(cfg, STRETCH);
      const before = Math.max(...[0, 1, 2, 3].map((i) => c.height(i)));
      expect(before).toBeLessThanOrEqual(1);
      expect(uncommittedStretch(c)).toBeGreaterThanOrEqual(STRETCH);
      c.run(healAt + 5_000, () => [0, 1, 2, 3].every((i) => c.height(i) >= STRETCH + 2));
      for (const i of [0, 1, 2, 3]) expect(c.height(i), `node ${i}`).toBeGreaterThanOrEqual(STRETCH + 2);
      expect(c.agreement()).toBe(true);
      // Every commit of every node carries a certificate a light client accepts (node 0's were
      // already checked as they were made); those below the rule's block prove their ancestry.
      let ancestors = 0;
      let largest = 0;
      for (const x of c.commits) {
        const cert = x.certificate as HotStuffCertificate;
        if (cert.ancestry !== undefined) ancestors++;
        largest = Math.max(largest, encodeCertificate(cert, ALL_CERTIFICATE_SCHEMES).length);
        const header = c.sent.find(
          (s) => s.msg.type === 'proposal' && Buffer.from(s.msg.hash).toString('hex') === x.hash,
        );
        if (header?.msg.type !== 'proposal') throw new Error(`no proposal for height ${x.height}`);
        expect(verifyCertificate(cert, header.msg.block.header, c.trust, ALL_CERTIFICATE_SCHEMES)).toEqual({
          ok: true,
        });
      }
      expect(ancestors).toBeGreaterThanOrEqual(STRETCH - 2); // on one node at least
      // Size stays a few headers and a log-sized proof, however deep the block was.
      expect(largest).toBeLessThan(4096);
    });

    it('also after every node restarts at once in the middle of the stretch (blocks come back from the WALs)', () => {
      const STRETCH = 80;
      const { c, healAt } = stretchCluster(cfg, STRETCH);
      for (const i of [0, 1, 2, 3]) c.crash(i);
      c.at(healAt + 50, () => {
        for (const i of [0, 1, 2, 3]) c.restart(i);
      });
      c.run(healAt + 20_000, () => [0, 1, 2, 3].every((i) => c.height(i) >= STRETCH + 2));
      for (const i of [0, 1, 2, 3]) expect(c.height(i), `node ${i}`).toBeGreaterThanOrEqual(STRETCH + 2);
      expect(c.agreement()).toBe(true);
    });
  });
}
