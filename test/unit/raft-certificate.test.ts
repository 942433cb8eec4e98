/**
 * Raft's commit certificates (`raft-majority-acks`, consensus/raft/certificate.ts), its wire codec
 * and its parameters. Certificates are checked the way a light client does: against a TrustAnchor
 * built from the cluster's genesis (EngineCluster's own check knows only src/schemes.ts).
 */
import { describe, expect, it } from 'vitest';
import { CRASH_FAULTS } from '../../consensus/fault-model.ts';
import { type RaftCertificate, raftCertificateScheme } from '../../consensus/raft/certificate.ts';
import type { RaftEngine } from '../../consensus/raft/engine.ts';
import { ackBytes, encodeEngineData } from '../../consensus/raft/entry.ts';
import { RAFT_CERT_GUARANTEE, raft } from '../../consensus/raft/index.ts';
import { appendEntry, type RaftMessage, raftCodec, TERM_SLOT_HEIGHT } from '../../consensus/raft/messages.ts';
import { parseRaftParams } from '../../consensus/raft/params.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { type Block, type BlockHeader, encodeBlock, headerHash } from '../../ledger/block.ts';
import {
  type CertificateScheme,
  type CommitCertificate,
  decodeCertificate,
  encodeCertificate,
  schemeSet,
  verifyCertificate,
} from '../../ledger/certificate.ts';
import { rlpEncode } from '../../ledger/codec.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

type Msg = RaftMessage;
type C = EngineCluster<Msg>;
const SCHEMES = schemeSet(raftCertificateScheme as unknown as CertificateScheme);

/** A signed cluster whose every delivered block header is remembered, by hash. */
function signedCluster(n: number, mempool: number): { c: C; headers: Map<string, BlockHeader> } {
  const c = new EngineCluster<Msg>({
    engine: raft,
    n,
    latencyMs: 0,
    settle: true,
    signMessages: true,
    mempool,
    params: { preVote: false, checkQuorum: false },
  });
  const headers = new Map<string, BlockHeader>();
  c.observe = (_from, _to, msg) => {
    if (msg.type === 'append') for (const e of msg.entries) headers.set(toHex(e.hash), e.block.header);
  };
  c.start();
  return { c, headers };
}

const state = (c: C, i: number) => (c.node(i).engine as RaftEngine).inspect();

function elect(c: C, i: number): void {
  for (let k = 0; k < 6 && state(c, i).role !== 'leader'; k++) c.fire(i, 'election');
  expect(state(c, i).role).toBe('leader');
}

function check(cert: CommitCertificate, header: BlockHeader, c: C) {
  return verifyCertificate(cert, header, c.trust, SCHEMES);
}

/**
 * A run with leader changes and batched commits: entries held back, then acknowledged together
 * (ancestors certified through a descendant), a leader crash, the next leader's no-op committing
 * the entries of the term before.
 */
function run() {
  const { c, headers } = signedCluster(3, 40);
  elect(c, 0);
  c.route = (from, to) => (to === 0 && from !== 0 ? null : 0); // acks held back
  c.input(0, { kind: 'txs-available' });
  c.route = () => 0;
  c.fire(0, 'heartbeat');
  // Entries of term 1 reach node 1 only, then the leader crashes; node 1's no-op of term 2 commits them.
  c.route = (from, to) => (from === 0 && to === 2 ? null : to === 0 ? null : 0);
  c.input(0, { kind: 'txs-available' });
  c.crash(0);
  c.route = () => 0;
  elect(c, 1);
  c.input(1, { kind: 'txs-available' });
  c.fire(1, 'heartbeat');
  c.restart(0);
  c.fire(1, 'heartbeat');
  return { c, headers };
}

describe('raft-majority-acks certificates', () => {
  it('every block any node committed has a certificate that verifies — direct, and through a descendant', () => {
    const { c, headers } = run();
    expect(c.agreement()).toBe(true);
    let direct = 0;
    let ancestry = 0;
    for (const commit of c.commits) {
      const header = headers.get(commit.hash);
      expect(header, `header of ${commit.height}`).toBeDefined();
      const cert = commit.certificate as RaftCertificate;
      expect(check(cert, header as BlockHeader, c)).toEqual({ ok: true });
      // It survives the wire.
      const again = decodeCertificate(encodeCertificate(cert, SCHEMES), SCHEMES);
      expect(check(again, header as BlockHeader, c)).toEqual({ ok: true });
      if (cert.ancestry === undefined) direct++;
      else ancestry++;
    }
    expect(direct).toBeGreaterThan(3);
    expect(ancestry).toBeGreaterThan(3);
    // The previous term's entries were committed through an entry of the later term.
    const byTerm = c.commits.filter((x) => x.node === 1).map((x) => (x.certificate as RaftCertificate).term);
    expect(new Set(byTerm)).toEqual(new Set([1, 2]));
  });

  describe('a tampered certificate is refused', () => {
    const { c, headers } = run();
    const pick = (withAncestry: boolean) => {
      const commit = c.commits.find(
        (x) => ((x.certificate as RaftCertificate).ancestry !== undefined) === withAncestry,
      );
      if (commit === undefined) throw new Error('no such certificate');
      return { cert: commit.certificate as RaftCertificate, header: headers.get(commit.hash) as BlockHeader };
    };
    const direct = pick(false);
    const through = pick(true);
    const refused = (cert: RaftCertificate, header: BlockHeader, reason: RegExp) => {
      const r = check(cert, header, c);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.reason).toMatch(reason);
    };

    it('the originals verify', () => {
      expect(check(direct.cert, direct.header, c)).toEqual({ ok: true });
      expect(check(through.cert, through.header, c)).toEqual({ ok: true });
    });

    it('a wrong signer: an ack signed by another key, or claimed for another validator', () => {
      const [a0, ...rest] = direct.cert.acks;
      const d = direct.cert.header;
      const forged = c.edSign(
        (a0?.validator ?? 0) === 2 ? 1 : 2,
        ackBytes(c.chainId, direct.cert.term, d.height, headerHash(d)),
      );
      refused(
        { ...direct.cert, acks: [{ validator: a0?.validator ?? 0, signature: forged }, ...rest] },
        direct.header,
        /bad acknowledgement signature/,
      );
      const others = [0, 1, 2].filter((v) => !direct.cert.acks.some((a) => a.validator === v));
      if (others.length > 0 && a0 !== undefined) {
        const relabeled = [{ validator: others[0] as number, signature: a0.signature }, ...rest].sort(
          (x, y) => x.validator - y.validator,
        );
        refused({ ...direct.cert, acks: relabeled }, direct.header, /bad acknowledgement signature/);
      }
    });

    it('a minority of the power', () => {
      refused(
        { ...direct.cert, acks: direct.cert.acks.slice(0, 1) },
        direct.header,
        /hold 1 of 3 power; need 2/,
      );
      refused({ ...through.cert, acks: [] }, through.header, /hold 0 of 3 power/);
    });

    it('the same validator twice, or out of order', () => {
      const a = direct.cert.acks[0];
      if (a === undefined) throw new Error('no ack');
      refused({ ...direct.cert, acks: [a, a] }, direct.header, /strictly increasing/);
      refused(
        { ...direct.cert, acks: [...direct.cert.acks].reverse() },
        direct.header,
        /strictly increasing/,
      );
    });

    it('a broken ancestry proof: a flipped hash, a proof for another height, a "descendant" that is not above', () => {
      const proof = through.cert.ancestry as readonly Uint8Array[];
      const flipped = proof.map((h, i) => (i === 0 ? h.map((b, j) => (j === 0 ? b ^ 1 : b)) : h));
      refused({ ...through.cert, ancestry: flipped }, through.header, /not in the history/);
      refused({ ...through.cert, ancestry: proof.slice(1) }, through.header, /not in the history/);
      // Claiming the ancestor is the acknowledged block itself.
      const { ancestry: _drop, ...noProof } = through.cert;
      refused(noProof, through.header, /not the certified block/);
      refused({ ...direct.cert, ancestry: proof }, direct.header, /not above/);
    });

    it('a header of another chain, validator set or engine', () => {
      const h = direct.cert.header;
      refused({ ...direct.cert, header: { ...h, chainId: 'other' } }, direct.header, /chain "other"/);
      refused(
        { ...direct.cert, header: { ...h, validatorsHash: new Uint8Array(32) } },
        direct.header,
        /validator set/,
      );
      refused(
        { ...direct.cert, header: { ...h, engine: 'tendermint' } },
        direct.header,
        /engine "tendermint"/,
      );
    });
  });

  it('§5.4.2 the term rule: genuine acknowledgements of term 2 for an entry of term 1 are refused; of term 1, accepted', () => {
    const { c } = signedCluster(3, 0);
    const block = c.buildBlock(0, c.genesis, encodeEngineData(1));
    const hash = headerHash(block.header);
    const certFor = (term: number): RaftCertificate => ({
      kind: 'raft-majority-acks',
      height: 1,
      blockHash: hash,
      term,
      header: block.header,
      acks: [0, 1].map((v) => ({ validator: v, signature: c.edSign(v, ackBytes(c.chainId, term, 1, hash)) })),
    });
    const stale = check(certFor(2), block.header, c);
    expect(stale.ok).toBe(false);
    expect(stale.ok ? '' : stale.reason).toMatch(/acknowledgements of term 2 for an entry of term 1/);
    expect(check(certFor(1), block.header, c)).toEqual({ ok: true });
  });

  it('a malformed payload does not decode', () => {
    const { c } = signedCluster(3, 0);
    const block = c.buildBlock(0, c.genesis, encodeEngineData(1));
    const bad = rlpEncode([utf8('raft-majority-acks'), 1, headerHash(block.header), [1]]);
    expect(() => decodeCertificate(bad, SCHEMES)).toThrow(/expected 3 or 4 fields/);
  });
});

describe('raft messages', () => {
  const c = new EngineCluster<Msg>({ engine: raft, n: 3 });
  const b1 = c.buildBlock(0, c.genesis, encodeEngineData(1));
  const b2 = c.buildBlock(0, b1.header, encodeEngineData(2));
  const g = headerHash(c.genesis);
  const sig = new Uint8Array(64).fill(3);
  const msgs: Msg[] = [
    {
      type: 'append',
      term: 2,
      prevIndex: 0,
      prevHash: g,
      prevTerm: 0,
      entries: [appendEntry(b1), appendEntry(b2)],
    },
    {
      type: 'append',
      term: 2,
      prevIndex: 2,
      prevHash: headerHash(b2.header),
      prevTerm: 2,
      entries: [],
      proof: { term: 2, index: 2, hash: headerHash(b2.header), acks: [{ validator: 0, signature: sig }] },
    },
    { type: 'ack', term: 2, index: 2, hash: headerHash(b2.header) },
    { type: 'reject', term: 2, index: 5, hintIndex: 2, hintTerm: 2 },
    { type: 'vote-request', term: 3, lastIndex: 2, lastTerm: 2, pre: true },
    { type: 'vote', term: 3, candidate: 1, granted: true, pre: false },
    {
      type: 'commit',
      term: 2,
      proof: { term: 2, index: 2, hash: headerHash(b2.header), acks: [{ validator: 1, signature: sig }] },
    },
  ];

  it('round-trip canonically, and describe themselves', () => {
    for (const m of msgs) {
      const bytes = raftCodec.encode(m);
      const back = raftCodec.decode(bytes);
      expect(raftCodec.encode(back)).toEqual(bytes);
      expect(raftCodec.signingBytes(back, 'x')).toEqual(raftCodec.signingBytes(m, 'x'));
      expect(raftCodec.describe(m)).toMatch(/^[a-z-]+\(t=\d+/);
    }
  });

  it('an ack signs exactly the certificate’s acknowledgement bytes; every other kind its own domain', () => {
    const ack = msgs[2] as Extract<Msg, { type: 'ack' }>;
    expect(raftCodec.signingBytes(ack, 'chain')).toEqual(ackBytes('chain', 2, 2, ack.hash));
    const all = msgs.map((m) => toHex(raftCodec.signingBytes(m, 'chain')));
    expect(new Set(all).size).toBe(all.length);
    const vote = msgs[5] as Msg;
    expect(toHex(raftCodec.signingBytes({ ...vote, pre: true } as Msg, 'chain'))).not.toBe(
      toHex(raftCodec.signingBytes(vote, 'chain')),
    );
    expect(toHex(raftCodec.signingBytes(vote, 'other'))).not.toBe(
      toHex(raftCodec.signingBytes(vote, 'chain')),
    );
  });

  it('slots: an ack at (index, term); a granted real vote at (TERM_SLOT_HEIGHT, term); nothing else', () => {
    expect(raftCodec.slot(msgs[2] as Msg)).toEqual({ height: 2, round: 2, step: 1 });
    expect(raftCodec.slot(msgs[5] as Msg)).toEqual({ height: TERM_SLOT_HEIGHT, round: 3, step: 2 });
    expect(
      raftCodec.slot({ type: 'vote', term: 3, candidate: 1, granted: false, pre: false }),
    ).toBeUndefined();
    expect(raftCodec.slot({ type: 'vote', term: 3, candidate: 1, granted: true, pre: true })).toBeUndefined();
    for (const i of [0, 1, 3, 4, 6]) expect(raftCodec.slot(msgs[i] as Msg)).toBeUndefined();
    expect(raftCodec.heightOf?.(msgs[0] as Msg)).toBe(2);
  });

  it('decoding is strict: entries must extend prev and each other, with terms in order; unknown shapes fail', () => {
    const enc = (prevIndex: number, prevHash: Uint8Array, prevTerm: number, term: number, blocks: Block[]) =>
      rlpEncode([1, term, prevIndex, prevHash, prevTerm, blocks.map((b) => encodeBlock(b)), []]);
    expect(() => raftCodec.decode(enc(1, g, 0, 2, [b2]))).toThrow(/does not extend/);
    expect(() => raftCodec.decode(enc(0, g, 0, 2, [b2]))).toThrow(/height/);
    expect(() => raftCodec.decode(enc(0, g, 0, 1, [b1, b2]))).toThrow(/out of order/); // term 2 above the sender's 1
    expect(() => raftCodec.decode(enc(0, g, 2, 2, [b1]))).toThrow(/out of order/); // term 1 after prevTerm 2
    expect(() => raftCodec.decode(enc(0, g, 3, 2, []))).toThrow(/prevTerm above/);
    expect(() => raftCodec.decode(rlpEncode([2, 1, 1, g, 0]))).toThrow(/unknown raft message/);
    expect(() => raftCodec.decode(rlpEncode([9, 1]))).toThrow(/unknown raft message/);
    expect(() => raftCodec.decode(rlpEncode([5, 1, 1, 2, 0]))).toThrow(/0 or 1/);
    expect(() => raftCodec.decode(rlpEncode([6, 1, []]))).toThrow(/no proof/);
    const badEngineData = c.buildBlock(0, c.genesis, rlpEncode([1, 0]));
    expect(() => raftCodec.decode(enc(0, g, 0, 1, [badEngineData]))).toThrow(/term ≥ 1/);
  });
});

describe('the raft module', () => {
  it('is a crash-fault engine whose description states what its certificates guarantee', () => {
    expect(raft.name).toBe('raft');
    expect(raft.faultModel).toBe(CRASH_FAULTS);
    expect(raft.description).toContain(RAFT_CERT_GUARANTEE);
    expect(raft.byzantine).toBeUndefined();
  });

  it('parameters: defaults, bounds, booleans; the test-only unsafe rule is refused', () => {
    const c = new EngineCluster<Msg>({ engine: raft, n: 1 });
    expect(raft.parseParams({}, c.validators)).toEqual({
      electionTimeoutMs: 1000,
      heartbeatMs: 100,
      maxInflight: 4,
      preVote: true,
      checkQuorum: true,
    });
    expect(parseRaftParams({ preVote: false, maxInflight: 1 })).toMatchObject({
      preVote: false,
      maxInflight: 1,
    });
    expect(() => parseRaftParams({ maxInflight: 0 })).toThrow(/maxInflight/);
    expect(() => parseRaftParams({ maxInflight: 1.5 })).toThrow(/integer/);
    expect(() => parseRaftParams({ electionTimeoutMs: 5 })).toThrow(/electionTimeoutMs/);
    expect(() => parseRaftParams({ heartbeatMs: 1000 })).toThrow(/below electionTimeoutMs/);
    expect(() => parseRaftParams({ preVote: 1 })).toThrow(/true or false/);
    expect(() => parseRaftParams({ lease: true })).toThrow(/unknown parameter/);
    expect(() => parseRaftParams({ unsafeCommitPreviousTerm: true })).toThrow(/tests only/);
  });

  it('a state or entry record that does not decode stops the start (the runtime halts)', () => {
    const c = new EngineCluster<Msg>({ engine: raft, n: 3, latencyMs: 0, settle: true });
    c.start();
    c.crash(0);
    c.node(0).wal.set('state', new Uint8Array([1, 2, 3]));
    expect(() => c.restart(0)).toThrow();
    c.node(0).wal.delete('state');
    c.node(0).wal.set('entry/1', rlpEncode([1, new Uint8Array(5)]));
    expect(() => c.restart(0)).toThrow();
    c.node(0).wal.delete('entry/1');
    expect(() => c.restart(0)).not.toThrow();
  });
});
