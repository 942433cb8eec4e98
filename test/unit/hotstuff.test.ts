/**
 * HotStuff building blocks: parameters, the wire codec (strict, size-capped, hostile input), QCs
 * and TCs, the pacemaker's backoff, weighted voting power, and the commit-certificate schemes (a
 * light client's view: genesis only).
 */

import { describe, expect, it } from 'vitest';
import {
  certificateKind,
  hotstuffAggregateScheme,
  hotstuffThresholdScheme,
} from '../../consensus/hotstuff/certificate.ts';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { LeaderSchedule } from '../../consensus/hotstuff/leader.ts';
import {
  decodeEngineData,
  encodeEngineData,
  type HsMessage,
  hotstuffCodec,
} from '../../consensus/hotstuff/messages.ts';
import {
  assembleAggregateQc,
  assembleTc,
  bitmapIndices,
  bitmapOf,
  type QcTrust,
  type QuorumCert,
  timeoutMessage,
  verifyQc,
  verifyTc,
  voteMessage,
} from '../../consensus/hotstuff/qc.ts';
import { SeededRng } from '../../consensus/rng.ts';
import { VerityError } from '../../crypto/errors.ts';
import { headerHash } from '../../ledger/block.ts';
import {
  type CertificateScheme,
  decodeCertificate,
  encodeCertificate,
  schemeSet,
  verifyCertificate,
} from '../../ledger/certificate.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { checkEngine } from '../../src/genesis-builder.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';
import { Cluster } from '../helpers/hotstuff-cluster.ts';

const schemes = schemeSet(
  hotstuffAggregateScheme as unknown as CertificateScheme,
  hotstuffThresholdScheme as unknown as CertificateScheme,
);

function run(qc: 'aggregate' | 'threshold', chain: 2 | 3, ms = 400): Cluster {
  const c = new Cluster({ n: 4, params: { qc, chain, emptyBlockIntervalMs: 0 } });
  c.start();
  c.run(ms);
  return c;
}

function trustOf(c: Cluster): QcTrust {
  return {
    chainId: c.trust.chainId,
    validators: c.validators,
    mode: c.params.qc,
    ...(c.threshold === undefined ? {} : { groupPublicKey: c.threshold.groupPublicKey }),
  };
}

describe('hotstuff parameters', () => {
  it('fills defaults: aggregate QCs, two-chain commit', () => {
    expect(hotstuff.parseParams({})).toMatchObject({ qc: 'aggregate', chain: 2 });
    expect(hotstuff.parseParams({ qc: 'threshold', chain: 3 })).toMatchObject({ qc: 'threshold', chain: 3 });
  });

  it('rejects unknown, mistyped and out-of-range parameters with a typed error', () => {
    for (const bad of [
      { qc: 'bls' },
      { chain: 4 },
      { chain: 2.5 },
      { view: 1 },
      { viewTimeoutMs: -1 },
      { chain: '2' },
    ]) {
      expect(() => hotstuff.parseParams(bad)).toThrow(VerityError);
    }
  });

  it('refuses threshold QCs with unequal voting power (shares are counted, not weighed)', () => {
    expect(() => new Cluster({ n: 4, params: { qc: 'threshold' }, powers: [1, 1, 1, 2] })).toThrow(
      /same power/,
    );
    expect(() => new Cluster({ n: 4, params: { qc: 'aggregate' }, powers: [1, 1, 1, 2] })).not.toThrow();
  });

  it('refuses them when genesis is checked, given the validator set (not first when the node votes)', () => {
    const unequal = new Cluster({ n: 4, params: { qc: 'aggregate' }, powers: [1, 1, 1, 2] }).validators;
    const equal = new Cluster({ n: 4, params: { qc: 'aggregate' } }).validators;
    expect(() => hotstuff.parseParams({ qc: 'threshold' }, unequal)).toThrow(/same power/);
    expect(() => hotstuff.parseParams({ qc: 'threshold' }, equal)).not.toThrow();
    expect(() => hotstuff.parseParams({ qc: 'aggregate' }, unequal)).not.toThrow();
    expect(() => checkEngine('hotstuff', { qc: 'threshold' }, unequal)).toThrow(/same power/);
  });
});

describe('hotstuff codec', () => {
  const c = run('aggregate', 2, 200);
  const proposals = c.sent.filter((s) => s.msg.type === 'proposal').map((s) => s.msg);
  const votes = c.sent.filter((s) => s.msg.type === 'vote').map((s) => s.msg);

  it('round-trips every message kind canonically', () => {
    const p = proposals[5] as Extract<HsMessage, { type: 'proposal' }>;
    const qc = (proposals[3] as Extract<HsMessage, { type: 'proposal' }>).data.justify;
    const tcView = p.view - 1;
    const tc = assembleTc(
      tcView,
      [0, 1, 2].map((v) => ({
        validator: v,
        highQc: qc,
        signature: c.blsSign(v, timeoutMessage('cluster', tcView, qc.view)),
      })),
      4,
    );
    const msgs: HsMessage[] = [
      p,
      { ...p, tc },
      votes[0] as HsMessage,
      { type: 'timeout', view: 9, highQc: qc, signature: new Uint8Array(96).fill(3), tc },
      { type: 'sync', view: 9, highQc: qc, tc: undefined, request: true, blocks: [p.block] },
      { type: 'fetch', hashes: [p.hash, new Uint8Array(32)] },
    ];
    for (const m of msgs) {
      const bytes = hotstuffCodec.encode(m);
      const back = hotstuffCodec.decode(bytes);
      expect(hotstuffCodec.encode(back)).toEqual(bytes);
      expect(hotstuffCodec.signingBytes(back, 'x')).toEqual(hotstuffCodec.signingBytes(m, 'x'));
      expect(hotstuffCodec.describe(back)).toBeTypeOf('string');
    }
    expect(verifyTc(tc, trustOf(c))).toBe(true);
  });

  it('slots: one proposal, one vote and one timeout per view', () => {
    const p = proposals[0] as HsMessage;
    expect(hotstuffCodec.slot(p)).toEqual({ height: 1, round: 0, step: 0 });
    expect(hotstuffCodec.slot(votes[0] as HsMessage)?.step).toBe(1);
    expect(hotstuffCodec.slot({ type: 'fetch', hashes: [new Uint8Array(32)] })).toBeUndefined();
  });

  it('rejects malformed messages with typed errors, never anything else', () => {
    const rng = new SeededRng('hs-fuzz');
    const good = hotstuffCodec.encode(proposals[2] as HsMessage);
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0xc0]),
      rlpEncode([9, 1]),
      rlpEncode([2, 1, new Uint8Array(31), new Uint8Array(96)]),
      rlpEncode([2, 1, new Uint8Array(32), new Uint8Array(95)]),
      rlpEncode([5, []]),
      rlpEncode([5, Array.from({ length: 17 }, () => new Uint8Array(32))]),
      rlpEncode([
        3,
        1,
        [1, 1, new Uint8Array(32), new Uint8Array(1), new Uint8Array(96)],
        new Uint8Array(96),
        [],
      ]), // highQc view ≥ view
      rlpEncode([4, 1, [0, 0, new Uint8Array(32), new Uint8Array(0), new Uint8Array(0)], [], 2, []]), // request not a bool
    ];
    for (let i = 0; i < 300; i++) {
      const b = good.slice();
      for (let k = 0; k < 1 + rng.int(4); k++) b[rng.int(b.length)] = rng.int(256);
      bad.push(b);
      bad.push(good.subarray(0, rng.int(good.length)));
    }
    let rejected = 0;
    for (const b of bad) {
      try {
        hotstuffCodec.decode(b);
      } catch (e) {
        expect(e).toBeInstanceOf(VerityError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(bad.length / 2);
  });

  it('engine data: view, commit rule and the parent’s QC; strict', () => {
    const d = (proposals[4] as Extract<HsMessage, { type: 'proposal' }>).data;
    expect(decodeEngineData(encodeEngineData(d))).toEqual(d);
    expect(() => encodeEngineData({ ...d, view: d.justify.view })).not.toThrow();
    expect(() => decodeEngineData(encodeEngineData({ ...d, view: d.justify.view }))).toThrow(VerityError);
    expect(() => decodeEngineData(rlpEncode([1, 5, 4, []]))).toThrow(VerityError);
  });
});

describe('hotstuff QCs and TCs', () => {
  for (const mode of ['aggregate', 'threshold'] as const) {
    it(`${mode}: a QC verifies; any change to it does not`, () => {
      const c = run(mode, 2, 200);
      const p = c.sent.find((s) => s.msg.type === 'proposal' && s.msg.view === 5)?.msg as Extract<
        HsMessage,
        { type: 'proposal' }
      >;
      const qc = p.data.justify;
      const t = trustOf(c);
      expect(verifyQc(qc, t)).toBe(true);
      const sig = qc.signature.slice();
      sig[10] = (sig[10] as number) ^ 1;
      expect(verifyQc({ ...qc, signature: sig }, t)).toBe(false);
      expect(verifyQc({ ...qc, view: qc.view + 1 }, t)).toBe(false);
      expect(verifyQc({ ...qc, blockHash: new Uint8Array(32) }, t)).toBe(false);
      if (mode === 'aggregate') {
        expect(qc.signers.length).toBe(1);
        // Two signers are not a quorum of four; a bitmap naming validator 5 of 4 is not canonical.
        expect(verifyQc({ ...qc, signers: bitmapOf([0, 1], 4) }, t)).toBe(false);
        expect(verifyQc({ ...qc, signers: new Uint8Array([0xff]) }, t)).toBe(false);
        expect(verifyQc({ ...qc, signers: new Uint8Array([0x0f, 0]) }, t)).toBe(false);
        // The QC of one mode is not accepted by the other.
        expect(
          verifyQc(qc, {
            ...t,
            mode: 'threshold',
            groupPublicKey: c.validators.at(0)?.blsPublicKey as Uint8Array,
          }),
        ).toBe(false);
      } else {
        expect(qc.signers.length).toBe(0);
        expect(verifyQc(qc, { ...t, groupPublicKey: c.validators.at(0)?.blsPublicKey as Uint8Array })).toBe(
          false,
        );
      }
    });
  }

  it('bitmaps are canonical: exact length, no bits past n', () => {
    expect(bitmapIndices(bitmapOf([0, 3, 8], 9), 9)).toEqual([0, 3, 8]);
    expect(bitmapIndices(new Uint8Array([1]), 9)).toBeUndefined();
    expect(bitmapIndices(new Uint8Array([1, 2]), 9)).toBeUndefined();
  });

  it('a TC needs > 2/3 of the power, every signer’s own highQC view, and the highest QC', () => {
    const c = run('aggregate', 2, 200);
    const qcs = c.sent
      .filter((s) => s.msg.type === 'proposal')
      .map((s) => (s.msg as Extract<HsMessage, { type: 'proposal' }>).data.justify);
    const low = qcs[3] as QuorumCert;
    const high = qcs[6] as QuorumCert;
    const t = trustOf(c);
    const view = high.view + 5;
    const entries = [
      { validator: 0, highQc: low, signature: c.blsSign(0, timeoutMessage('cluster', view, low.view)) },
      { validator: 2, highQc: high, signature: c.blsSign(2, timeoutMessage('cluster', view, high.view)) },
      { validator: 3, highQc: low, signature: c.blsSign(3, timeoutMessage('cluster', view, low.view)) },
    ];
    const tc = assembleTc(view, entries, 4);
    expect(tc.highQc.view).toBe(high.view);
    expect(tc.highQcViews).toEqual([low.view, high.view, low.view]);
    expect(verifyTc(tc, t)).toBe(true);
    expect(verifyTc({ ...tc, highQc: low }, t)).toBe(false); // not the highest
    expect(verifyTc({ ...tc, highQcViews: [low.view, low.view, low.view], highQc: low }, t)).toBe(false); // lies about views
    expect(verifyTc(assembleTc(view, entries.slice(0, 2), 4), t)).toBe(false); // 2 of 4
    expect(verifyTc({ ...tc, view: view + 1 }, t)).toBe(false);
  });
});

describe('hotstuff pacemaker', () => {
  it('view timeouts double with each consecutive failed view, cap at maxViewTimeoutMs and reset on a QC', () => {
    const base = 100;
    const max = 800;
    const c = new Cluster({
      n: 4,
      params: { viewTimeoutMs: base, maxViewTimeoutMs: max, emptyBlockIntervalMs: 0 },
    });
    // Views 1–5 fail (every proposal and vote is lost, so each ends in a TC); view 6 succeeds.
    const FAILED = 5;
    c.route = (_from, _to, msg) =>
      (msg.type === 'proposal' || msg.type === 'vote') && msg.view <= FAILED ? null : 10;
    c.start();
    c.run(6000);
    expect(c.agreement()).toBe(true);
    // The engine's schedule: viewTimeoutMs × 2^(consecutive view changes by timeout), capped, + the
    // idle leader's wait (0 here); QC(6) resets it.
    const expected = [100, 200, 400, 800, 800, 800, 100, 100, 100];
    for (let i = 0; i < 4; i++) {
      const byView = new Map<number, Set<number>>();
      for (const t of c.timers) {
        if (t.node !== i || t.timer !== 'view') continue;
        let set = byView.get(t.view);
        if (set === undefined) byView.set(t.view, (set = new Set()));
        set.add(t.afterMs);
      }
      expect(
        expected.map((_, k) => [...(byView.get(k + 1) ?? [])]),
        `node ${i}`,
      ).toEqual(expected.map((ms) => [ms]));
      // …and the timer is what ends each failed view: timeouts are sent that far apart (+ one hop).
      const sentAt = (v: number) =>
        c.sent.find((s) => s.from === i && s.msg.type === 'timeout' && s.msg.view === v)?.time as number;
      for (let v = 2; v <= FAILED; v++) {
        const gap = sentAt(v) - sentAt(v - 1) - (expected[v - 1] as number);
        expect(gap, `node ${i}, view ${v}`).toBeGreaterThanOrEqual(0);
        expect(gap, `node ${i}, view ${v}`).toBeLessThanOrEqual(30);
      }
    }
    expect(c.sent.some((s) => s.msg.type === 'timeout' && s.msg.view > FAILED)).toBe(false);
    expect(c.height(0)).toBeGreaterThan(5);
  });
});

describe('hotstuff weighted voting power (aggregate QCs)', () => {
  const powers = [1, 1, 1, 2]; // total 5: a QC needs power ≥ 4 — three signers are not enough without 3

  it('leaders are chosen in proportion to power', () => {
    const c = new Cluster({ n: 4, powers, params: { emptyBlockIntervalMs: 0 } });
    const schedule = new LeaderSchedule(c.validators);
    const counts = [0, 0, 0, 0];
    for (let v = 1; v <= 5000; v++) counts[schedule.leader(v)] = (counts[schedule.leader(v)] as number) + 1;
    expect(counts).toEqual([1000, 1000, 1000, 2000]);
    // The running engines follow that schedule: proposers of views 1–30, six per unit of power.
    c.start();
    c.run(2000);
    const proposers = [0, 0, 0, 0];
    for (let v = 1; v <= 30; v++) {
      const p = c.sent.find((s) => s.msg.type === 'proposal' && s.msg.view === v);
      expect(p, `view ${v}`).toBeDefined();
      proposers[p?.from as number] = (proposers[p?.from as number] as number) + 1;
    }
    expect(proposers).toEqual([6, 6, 6, 12]);
  });

  it('a QC needs more than 2/3 of the power, not of the validators', () => {
    const c = new Cluster({ n: 4, powers, params: {} });
    const t = trustOf(c);
    const hash = new Uint8Array(32).fill(9);
    const qcOf = (signers: number[]) =>
      assembleAggregateQc(
        3,
        hash,
        signers.map((v) => ({ validator: v, signature: c.blsSign(v, voteMessage('cluster', 3, hash)) })),
        4,
      );
    expect(c.validators.quorumPower).toBe(4);
    expect(verifyQc(qcOf([0, 1, 2]), t)).toBe(false); // 3 of 4 validators, 3 of 5 power
    expect(verifyQc(qcOf([0, 1, 3]), t)).toBe(true); // 4 of 5 power
    expect(verifyQc(qcOf([2, 3]), t)).toBe(false); // 3 of 5 power
    expect(verifyQc(qcOf([0, 1, 2, 3]), t)).toBe(true);
  });

  it('engines count power: without the power-2 validator three votes never form a QC; without a power-1 one they do', () => {
    const run = (down: number) => {
      const c = new Cluster({ n: 4, powers, params: { emptyBlockIntervalMs: 0, viewTimeoutMs: 200 } });
      c.start();
      c.crash(down);
      c.run(4000);
      return c;
    };
    const stalled = run(3);
    // The three others vote (> 2/3 of the validators) and time out, but hold 3 of 5 power.
    const votes = stalled.sent.filter((s) => s.msg.type === 'vote' && s.msg.view === 1);
    expect([...new Set(votes.map((s) => s.from))].sort()).toEqual([0, 1, 2]);
    expect(stalled.sent.some((s) => s.msg.type === 'timeout')).toBe(true);
    expect(
      stalled.sent.some(
        (s) => s.msg.type === 'proposal' && (s.msg.data.justify.view > 0 || s.msg.tc !== undefined),
      ),
    ).toBe(false);
    for (let i = 0; i < 3; i++) expect(stalled.height(i)).toBe(0);
    const live = run(0);
    expect(live.agreement()).toBe(true);
    for (let i = 1; i < 4; i++) expect(live.height(i)).toBeGreaterThan(20);
  });
});

describe('hotstuff commit certificates', () => {
  for (const mode of ['aggregate', 'threshold'] as const) {
    for (const chain of [2, 3] as const) {
      it(`${mode}, ${chain}-chain: commits carry a light-client proof; tampering fails`, () => {
        const c = run(mode, chain, 300);
        expect(c.agreement()).toBe(true);
        const commits = c.commits.filter((x) => x.node === 0);
        expect(commits.length).toBeGreaterThan(5);
        const commit = commits[4] as (typeof commits)[number];
        const cert =
          commit.certificate as import('../../consensus/hotstuff/certificate.ts').HotStuffCertificate;
        expect(cert.kind).toBe(certificateKind(mode));
        expect(cert.headers.length).toBe(chain - 1);
        const node0 = c.nodes[0];
        expect(node0).toBeDefined();
        // The certified header: the parent of the first descendant header.
        const header = c.commits.length > 0 ? findHeader(c, commit.height) : undefined;
        expect(header).toBeDefined();
        if (header === undefined) return;
        const bytes = encodeCertificate(cert, ALL_CERTIFICATE_SCHEMES);
        const back = decodeCertificate(bytes, ALL_CERTIFICATE_SCHEMES);
        expect(encodeCertificate(back, schemes)).toEqual(bytes);
        expect(verifyCertificate(back, header, c.trust, ALL_CERTIFICATE_SCHEMES)).toEqual({ ok: true });

        const fails = (x: typeof cert, why?: RegExp) => {
          const r = verifyCertificate(x, header, c.trust, ALL_CERTIFICATE_SCHEMES);
          expect(r.ok).toBe(false);
          if (why && !r.ok) expect(r.reason).toMatch(why);
        };
        const sig = cert.qc.signature.slice();
        sig[5] = (sig[5] as number) ^ 4;
        fails({ ...cert, qc: { ...cert.qc, signature: sig } });
        fails({ ...cert, qc: { ...cert.qc, view: cert.qc.view + 1 } });
        fails({ ...cert, headers: cert.headers.slice(1) }, /height|headers|not for|consecutive|extend/);
        const h0 = cert.headers[0];
        if (h0 !== undefined) {
          fails({
            ...cert,
            headers: [
              { ...h0, time: { ...h0.time, logical: h0.time.logical + 1 } },
              ...cert.headers.slice(1),
            ],
          });
        }
        fails({ ...cert, height: cert.height + 1, blockHash: new Uint8Array(32) });
        // A light client without the group key cannot accept threshold certificates.
        if (mode === 'threshold') {
          const { thresholdGroupPublicKey: _drop, ...noKey } = c.trust;
          expect(verifyCertificate(back, header, noKey, ALL_CERTIFICATE_SCHEMES).ok).toBe(false);
        }
        // Every commit of every node verifies.
        for (const x of c.commits) {
          const h = findHeader(c, x.height);
          if (h === undefined) continue;
          expect(verifyCertificate(x.certificate, h, c.trust, ALL_CERTIFICATE_SCHEMES)).toEqual({ ok: true });
        }
      });
    }
  }

  it('a 2-chain proof is not accepted for a 3-chain chain (the rule is in the certified headers)', () => {
    const c = run('aggregate', 3, 300);
    const commit = c.commits.find((x) => x.node === 1 && x.height === 4);
    const cert = commit?.certificate as import('../../consensus/hotstuff/certificate.ts').HotStuffCertificate;
    const header = findHeader(c, 4);
    if (header === undefined) throw new Error('no header');
    // Drop the last header and use the QC carried by the (new) last one's child: a two-chain.
    const top = cert.headers[1];
    if (top === undefined) throw new Error('short certificate');
    const shorter = {
      ...cert,
      headers: cert.headers.slice(0, 1),
      qc: decodeEngineData(top.engineData).justify,
    };
    const r = verifyCertificate(shorter, header, c.trust, ALL_CERTIFICATE_SCHEMES);
    expect(r.ok).toBe(false);
    expect(headerHash(header)).toEqual(cert.blockHash);
  });
});

/** The committed header at `height` (every node commits the same one). */
function findHeader(c: Cluster, height: number) {
  for (const s of c.sent) {
    if (s.msg.type === 'proposal' && s.msg.block.header.height === height) {
      const id = Buffer.from(s.msg.hash).toString('hex');
      if (c.commits.some((x) => x.height === height && x.hash === id)) return s.msg.block.header;
    }
  }
  return undefined;
}
