/**
 * Multi-Paxos commit certificates (`multipaxos-q2-accepted`, consensus/multipaxos/certificate.ts),
 * its wire codec, its parameters and its WAL records. Certificates are checked the way a light
 * client does: against a TrustAnchor built from the cluster's genesis (EngineCluster's own check
 * knows only src/schemes.ts, where this engine is not registered yet).
 */
import { describe, expect, it } from 'vitest';
import { CRASH_FAULTS } from '../../consensus/fault-model.ts';
import {
  acceptedBytes,
  type Ballot,
  compareBallots,
  decodeStamp,
  encodeStamp,
  MAX_NODES,
  MAX_ROUND,
} from '../../consensus/multipaxos/ballot.ts';
import type { MultiPaxosCertificate } from '../../consensus/multipaxos/certificate.ts';
import type { MultiPaxosEngine } from '../../consensus/multipaxos/engine.ts';
import {
  MULTIPAXOS_CERT_GUARANTEE,
  MULTIPAXOS_CERT_KIND,
  multipaxos,
  multipaxosCertificateScheme,
} from '../../consensus/multipaxos/index.ts';
import { type MultiPaxosMessage, multipaxosCodec, proposal } from '../../consensus/multipaxos/messages.ts';
import { parseMultiPaxosParams } from '../../consensus/multipaxos/params.ts';
import { ACCEPTED_RECORD, STATE_RECORD } from '../../consensus/multipaxos/records.ts';
import { decodeRecord, encodeRecord } from '../../consensus/record.ts';
import { SeededRng } from '../../consensus/rng.ts';
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
import { DecodeError, rlpEncode } from '../../ledger/codec.ts';
import { EngineCluster } from '../helpers/engine-cluster.ts';

type Msg = MultiPaxosMessage;
type C = EngineCluster<Msg>;
const SCHEMES = schemeSet(multipaxosCertificateScheme as unknown as CertificateScheme);
const B = (round: number, node: number): Ballot => ({ round, node });

/** A signed synchronous cluster whose every block header on the wire is remembered, by hash. */
function signedCluster(n: number, mempool: number): { c: C; headers: Map<string, BlockHeader> } {
  const c = new EngineCluster<Msg>({
    engine: multipaxos,
    n,
    latencyMs: 0,
    settle: true,
    signMessages: true,
    mempool,
  });
  const headers = new Map<string, BlockHeader>();
  c.observe = (_from, _to, msg) => {
    if (msg.type === 'accept') for (const p of msg.blocks) headers.set(toHex(p.hash), p.block.header);
  };
  c.start();
  return { c, headers };
}

const state = (c: C, i: number) => (c.node(i).engine as MultiPaxosEngine).inspect();

function elect(c: C, i: number): void {
  for (let k = 0; k < 4 && state(c, i).role !== 'leader'; k++) c.fire(i, 'election');
  expect(state(c, i).role).toBe('leader');
}

function check(cert: CommitCertificate, header: BlockHeader, c: C) {
  return verifyCertificate(cert, header, c.trust, SCHEMES);
}

/** A stamp with the default quorums of a 3-validator chain (2 and 2). */
const stamp3 = (ballot: Ballot) => encodeStamp({ ballot, phase1Quorum: 2, phase2Quorum: 2 });

/**
 * A run with batched commits (acceptances of lower slots lost, so they commit through a
 * descendant), then a leader change whose Phase 1 adopts blocks of the old ballot and commits them
 * in the new one.
 */
function run() {
  const { c, headers } = signedCluster(3, 8);
  elect(c, 0);
  c.intercept = (_from, msg) => (msg.type === 'accepted' && msg.slot % 4 !== 0 ? null : msg);
  c.input(0, { kind: 'txs-available' });
  c.intercept = undefined;
  expect(c.node(1).chain.length).toBe(8);
  // Blocks 9..12 reach node 1 only, and its acceptances are lost; node 0 crashes.
  c.mempool = 4;
  c.route = (from, to, msg) => (msg.type === 'accepted' ? null : from === 0 && to === 2 ? null : 0);
  c.input(0, { kind: 'txs-available' });
  expect(state(c, 1).accepted.length).toBe(4);
  c.crash(0);
  c.route = () => 0;
  c.fire(1, 'lease'); // the dead leader's lease over node 1 ends
  elect(c, 2);
  c.mempool = 3;
  c.input(2, { kind: 'txs-available' });
  c.restart(0);
  c.fire(2, 'heartbeat');
  c.fire(2, 'heartbeat');
  return { c, headers };
}

describe('multipaxos-q2-accepted certificates', () => {
  it('every block any node committed has a certificate that verifies — direct, through a descendant, and for blocks re-proposed in a later ballot', () => {
    const { c, headers } = run();
    expect(c.agreement()).toBe(true);
    expect(c.node(1).chain.length).toBe(15);
    let direct = 0;
    let ancestry = 0;
    let reproposed = 0;
    for (const commit of c.commits) {
      const header = headers.get(commit.hash) as BlockHeader;
      expect(header, `header of ${commit.height}`).toBeDefined();
      const cert = commit.certificate as MultiPaxosCertificate;
      expect(check(cert, header, c)).toEqual({ ok: true });
      const again = decodeCertificate(encodeCertificate(cert, SCHEMES), SCHEMES);
      expect(check(again, header, c)).toEqual({ ok: true });
      if (cert.ancestry === undefined) direct++;
      else ancestry++;
      // Accepted in a later ballot than the one that created the block: a Phase-1 re-proposal.
      if (compareBallots(decodeStamp(header.engineData).ballot, cert.ballot) < 0) reproposed++;
    }
    expect(direct).toBeGreaterThan(3);
    expect(ancestry).toBeGreaterThan(3);
    expect(reproposed).toBeGreaterThan(0);
  });

  describe('a tampered certificate is refused', () => {
    const { c, headers } = run();
    const pick = (withAncestry: boolean) => {
      const commit = c.commits.find(
        (x) => ((x.certificate as MultiPaxosCertificate).ancestry !== undefined) === withAncestry,
      );
      if (commit === undefined) throw new Error('no such certificate');
      return {
        cert: commit.certificate as MultiPaxosCertificate,
        header: headers.get(commit.hash) as BlockHeader,
      };
    };
    const direct = pick(false);
    const through = pick(true);
    const refused = (cert: MultiPaxosCertificate, header: BlockHeader, reason: RegExp) => {
      const r = check(cert, header, c);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.reason).toMatch(reason);
    };

    it('the originals verify', () => {
      expect(check(direct.cert, direct.header, c)).toEqual({ ok: true });
      expect(check(through.cert, through.header, c)).toEqual({ ok: true });
    });

    it('a wrong ballot: the acceptances were signed for another one; a ballot below the block’s own is refused outright', () => {
      const b = direct.cert.ballot;
      refused({ ...direct.cert, ballot: B(b.round + 1, b.node) }, direct.header, /bad acceptance signature/);
      refused({ ...direct.cert, ballot: B(b.round, b.node + 1) }, direct.header, /bad acceptance signature/);
      refused({ ...direct.cert, ballot: B(b.round - 1, MAX_NODES - 1) }, direct.header, /later ballot/);
    });

    it('too little power: below the phase-2 quorum the block’s stamp states', () => {
      refused(
        { ...direct.cert, votes: direct.cert.votes.slice(0, 1) },
        direct.header,
        /hold 1 of 3 power; the phase-2 quorum is 2/,
      );
      refused({ ...through.cert, votes: [] }, through.header, /hold 0 of 3 power/);
    });

    it('a mismatched hash: the certificate of another block, or another accepted header', () => {
      const other = c.commits.find((x) => x.height === direct.cert.height + 1);
      if (other === undefined) throw new Error('no next block');
      const otherHeader = headers.get(other.hash) as BlockHeader;
      // Claimed for the next block: not the accepted one.
      refused(
        { ...direct.cert, height: otherHeader.height, blockHash: headerHash(otherHeader) },
        otherHeader,
        /not the certified block/,
      );
      // The accepted header replaced by the next block's: the signatures name the other hash.
      refused(
        {
          ...direct.cert,
          header: otherHeader,
          height: otherHeader.height,
          blockHash: headerHash(otherHeader),
        },
        otherHeader,
        /bad acceptance signature/,
      );
      // The ledger's check: a certificate for another header than the one presented.
      const r = check(direct.cert, otherHeader, c);
      expect(r.ok).toBe(false);
    });

    it('a wrong signer, a repeated or unordered validator', () => {
      const [v0, ...rest] = direct.cert.votes;
      if (v0 === undefined) throw new Error('no vote');
      const d = direct.cert.header;
      const forged = c.edSign(
        v0.validator === 2 ? 1 : 2,
        acceptedBytes(c.chainId, direct.cert.ballot, d.height, headerHash(d)),
      );
      refused(
        { ...direct.cert, votes: [{ validator: v0.validator, signature: forged }, ...rest] },
        direct.header,
        /bad acceptance signature/,
      );
      refused({ ...direct.cert, votes: [v0, v0] }, direct.header, /strictly increasing/);
      refused(
        { ...direct.cert, votes: [...direct.cert.votes].reverse() },
        direct.header,
        /strictly increasing/,
      );
      refused(
        { ...direct.cert, votes: [...direct.cert.votes, { validator: 7, signature: v0.signature }] },
        direct.header,
        /unknown validator/,
      );
    });

    it('a broken ancestry proof', () => {
      const proof = through.cert.ancestry as readonly Uint8Array[];
      const flipped = proof.map((h, i) => (i === 0 ? h.map((b, j) => (j === 0 ? b ^ 1 : b)) : h));
      refused({ ...through.cert, ancestry: flipped }, through.header, /not in the history/);
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
      refused({ ...direct.cert, header: { ...h, engine: 'raft' } }, direct.header, /engine "raft"/);
    });
  });

  it('the quorum comes from the signed block: Q2 = 1 of 3 certifies with one acceptance (Q1 = 3); a block stamped Q1 + Q2 ≤ total is refused however many sign', () => {
    const { c } = signedCluster(3, 0);
    const certFor = (q1: number, q2: number, signers: number[]) => {
      const block = c.buildBlock(
        0,
        c.genesis,
        encodeStamp({ ballot: B(1, 0), phase1Quorum: q1, phase2Quorum: q2 }),
      );
      const hash = headerHash(block.header);
      const cert: MultiPaxosCertificate = {
        kind: MULTIPAXOS_CERT_KIND,
        height: 1,
        blockHash: hash,
        ballot: B(1, 0),
        header: block.header,
        votes: signers.map((v) => ({
          validator: v,
          signature: c.edSign(v, acceptedBytes(c.chainId, B(1, 0), 1, hash)),
        })),
      };
      return check(cert, block.header, c);
    };
    expect(certFor(3, 1, [0])).toEqual({ ok: true });
    expect(certFor(2, 2, [0]).ok).toBe(false);
    const unsafe = certFor(1, 1, [0, 1, 2]);
    expect(unsafe.ok).toBe(false);
    expect(unsafe.ok ? '' : unsafe.reason).toMatch(/cannot run with.*must exceed the total power 3/);
  });

  it('a malformed payload does not decode', () => {
    const { c } = signedCluster(3, 0);
    const block = c.buildBlock(0, c.genesis, stamp3(B(1, 0)));
    const bad = rlpEncode([utf8(MULTIPAXOS_CERT_KIND), 1, headerHash(block.header), [1]]);
    expect(() => decodeCertificate(bad, SCHEMES)).toThrow(/expected 4 or 5 fields/);
  });
});

describe('multipaxos messages', () => {
  const c = new EngineCluster<Msg>({ engine: multipaxos, n: 3 });
  const b1 = c.buildBlock(0, c.genesis, stamp3(B(1, 1)), 0, [utf8('tx')]);
  const b2 = c.buildBlock(0, b1.header, stamp3(B(2, 0)));
  const h1 = headerHash(b1.header);
  const h2 = headerHash(b2.header);
  const sig = new Uint8Array(64).fill(3);
  const msgs: Msg[] = [
    { type: 'prepare', ballot: B(3, 2), head: 0, from: 1 },
    {
      type: 'promise',
      ballot: B(3, 2),
      head: 0,
      accepted: [
        { slot: 1, ballot: B(1, 1), hash: h1, parent: b1.header.parentHash },
        { slot: 2, ballot: B(2, 0), hash: h2, parent: h1 },
      ],
      blocks: [proposal(b2)],
    },
    { type: 'nack', ballot: B(3, 2), promised: B(0, 0), head: 4 },
    { type: 'accept', ballot: B(2, 0), blocks: [proposal(b1), proposal(b2)] },
    {
      type: 'accept',
      ballot: B(2, 0),
      blocks: [],
      proof: { ballot: B(2, 0), slot: 2, hash: h2, votes: [{ validator: 0, signature: sig }] },
    },
    { type: 'accepted', ballot: B(2, 0), slot: 2, hash: h2 },
    { type: 'alive', ballot: B(2, 0), head: 1 },
  ];

  it('round-trip canonically, and describe themselves', () => {
    for (const m of msgs) {
      const bytes = multipaxosCodec.encode(m);
      const back = multipaxosCodec.decode(bytes);
      expect(multipaxosCodec.encode(back)).toEqual(bytes);
      expect(multipaxosCodec.signingBytes(back, 'x')).toEqual(multipaxosCodec.signingBytes(m, 'x'));
      expect(multipaxosCodec.describe(m)).toMatch(/^[a-z]+\(b=\d+\.\d+/);
    }
  });

  it('ACCEPTED signs exactly the certificate’s acceptance bytes; every kind its own domain, per chain', () => {
    const accepted = msgs[5] as Extract<Msg, { type: 'accepted' }>;
    expect(multipaxosCodec.signingBytes(accepted, 'chain')).toEqual(acceptedBytes('chain', B(2, 0), 2, h2));
    const all = msgs.map((m) => toHex(multipaxosCodec.signingBytes(m, 'chain')));
    expect(new Set(all).size).toBe(all.length);
    expect(toHex(multipaxosCodec.signingBytes(accepted, 'other'))).not.toBe(all[5]);
  });

  it('slots: only ACCEPTED, at (slot, ballot ordinal) — distinct for ballots of one round; heights', () => {
    expect(multipaxosCodec.slot(msgs[5] as Msg)).toEqual({ height: 2, round: 2 * MAX_NODES, step: 1 });
    expect(multipaxosCodec.slot({ type: 'accepted', ballot: B(2, 1), slot: 2, hash: h2 })).toEqual({
      height: 2,
      round: 2 * MAX_NODES + 1,
      step: 1,
    });
    for (const i of [0, 1, 2, 3, 4, 6]) expect(multipaxosCodec.slot(msgs[i] as Msg)).toBeUndefined();
    expect(msgs.map((m) => multipaxosCodec.heightOf?.(m))).toEqual([0, 0, 4, 2, undefined, 2, 1]);
  });

  it('decoding is strict: each malformed shape is a DecodeError', () => {
    const g = headerHash(c.genesis);
    const cases: Array<[Uint8Array, RegExp]> = [
      [rlpEncode([9, 1, 0]), /unknown multipaxos message/],
      [rlpEncode([1, 1, 0, 0]), /unknown multipaxos message/],
      [rlpEncode([1, 0, 0, 0, 0]), /round ≥ 1/],
      [rlpEncode([1, MAX_ROUND + 1, 0, 0, 0]), /out of range/],
      [rlpEncode([1, 1, MAX_NODES, 0, 0]), /out of range/],
      [rlpEncode([1, 1, 0, 3, 2]), /from below the head/],
      [rlpEncode([4, 2, 0, [encodeBlock(b2), encodeBlock(b1)], []]), /height/],
      [rlpEncode([4, 1, 5, [encodeBlock(b2)], []]), /later ballot/],
      [rlpEncode([4, 2, 0, [encodeBlock({ header: c.genesis, txs: [] })], []]), /engine data/],
      [
        rlpEncode([
          4,
          2,
          0,
          [encodeBlock({ header: { ...c.genesis, engineData: stamp3(B(1, 0)) }, txs: [] })],
          [],
        ]),
        /height 0/,
      ],
      [rlpEncode([4, 2, 0, [encodeBlock({ ...b1, txs: [] })], []]), /txs|txRoot|accept block 0/],
      [rlpEncode([4, 2, 0, [new Uint8Array([1, 2, 3])], []]), /accept block 0/],
      [
        rlpEncode([
          4,
          2,
          0,
          [],
          [
            2,
            0,
            1,
            h1,
            [
              [1, sig],
              [0, sig],
            ],
          ],
        ]),
        /validator order/,
      ],
      [rlpEncode([4, 2, 0, [], [2, 0, 0, h1, [[0, sig]]]]), /genesis/],
      [rlpEncode([4, 2, 0, [], [2, 0, 1, h1, []]]), /no votes/],
      [rlpEncode([5, 2, 0, 0, h1]), /genesis/],
      [rlpEncode([5, 2, 0, 1, g.subarray(1)]), /32 bytes/],
      [
        rlpEncode([
          2,
          3,
          2,
          0,
          [
            [2, 1, 1, h1, g],
            [1, 1, 1, h1, g],
          ],
          [],
        ]),
        /slot order/,
      ],
      [rlpEncode([2, 3, 2, 0, [[1, 4, 0, h1, g]], []]), /above the promise/],
      [rlpEncode([2, 3, 2, 0, [[1, 1, 1, h2, g]], [encodeBlock(b1)]]), /not one it reports/],
      [rlpEncode([3, 3, 2, 0, 1, 0]), /round ≥ 1/],
      [rlpEncode([6, 2, 0]), /unknown multipaxos message/],
    ];
    for (const [bytes, reason] of cases) {
      let err: unknown;
      try {
        multipaxosCodec.decode(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, `decoding ${toHex(bytes).slice(0, 40)}`).toBeInstanceOf(DecodeError);
      expect((err as Error).message).toMatch(reason);
    }
    const badStamp = c.buildBlock(0, c.genesis, rlpEncode([1, 1, 0, 0, 2]));
    expect(() => multipaxosCodec.decode(rlpEncode([4, 2, 0, [encodeBlock(badStamp)], []]))).toThrow(
      DecodeError,
    );
  });

  it('fuzz: truncated, extended and bit-flipped encodings decode or throw a DecodeError — never anything else', () => {
    const rng = new SeededRng('multipaxos-fuzz');
    let refused = 0;
    for (const m of msgs) {
      const bytes = multipaxosCodec.encode(m);
      for (let k = 0; k < 300; k++) {
        let mutated: Uint8Array;
        const how = rng.int(3);
        if (how === 0) mutated = bytes.subarray(0, rng.int(bytes.length));
        else if (how === 1)
          mutated = new Uint8Array([...bytes, ...Array.from({ length: 1 + rng.int(4) }, () => rng.int(256))]);
        else {
          mutated = bytes.slice();
          for (let f = 0; f <= rng.int(3); f++) {
            const i = rng.int(mutated.length);
            mutated[i] = (mutated[i] as number) ^ (1 << rng.int(8));
          }
        }
        try {
          const back = multipaxosCodec.decode(mutated);
          expect(multipaxosCodec.encode(back)).toEqual(mutated); // canonical: what decodes re-encodes the same
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
          refused++;
        }
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});

describe('the multipaxos module', () => {
  it('is a crash-fault engine named multipaxos whose description states what its certificates guarantee', () => {
    expect(multipaxos.name).toBe('multipaxos');
    expect(multipaxos.faultModel).toBe(CRASH_FAULTS);
    expect(multipaxos.description).toContain(MULTIPAXOS_CERT_GUARANTEE);
    expect(MULTIPAXOS_CERT_GUARANTEE).toMatch(/crash-fault/);
    expect(MULTIPAXOS_CERT_GUARANTEE).toMatch(/Q1 \+ Q2 > total/);
    expect(MULTIPAXOS_CERT_GUARANTEE).toMatch(/do not lie/);
    expect(multipaxosCertificateScheme.guarantee).toBe(MULTIPAXOS_CERT_GUARANTEE);
    expect(multipaxos.byzantine).toBeUndefined();
  });

  it('parameters: defaults are majorities by power; Flexible Paxos quorums are refused unless Q1 + Q2 > total and each is in 1..total', () => {
    const five = new EngineCluster<Msg>({ engine: multipaxos, n: 5 }).validators;
    const weighted = new EngineCluster<Msg>({ engine: multipaxos, n: 3, powers: [5, 3, 2] }).validators;
    expect(multipaxos.parseParams({}, five)).toEqual({
      electionTimeoutMs: 1000,
      heartbeatMs: 100,
      maxInflight: 4,
      phase1Quorum: 3,
      phase2Quorum: 3,
    });
    expect(multipaxos.parseParams({}, weighted)).toMatchObject({ phase1Quorum: 6, phase2Quorum: 6 });
    expect(multipaxos.parseParams({ phase1Quorum: 4, phase2Quorum: 2 }, five)).toMatchObject({
      phase1Quorum: 4,
      phase2Quorum: 2,
    });
    expect(multipaxos.parseParams({ phase1Quorum: 9, phase2Quorum: 2 }, weighted)).toMatchObject({
      phase1Quorum: 9,
      phase2Quorum: 2,
    });
    expect(() => multipaxos.parseParams({ phase1Quorum: 3, phase2Quorum: 2 }, five)).toThrow(
      /must exceed the total power 5/,
    );
    expect(() => multipaxos.parseParams({ phase1Quorum: 8, phase2Quorum: 2 }, weighted)).toThrow(
      /must exceed the total power 10/,
    );
    expect(() => multipaxos.parseParams({ phase1Quorum: 6 }, five)).toThrow(/above the total power/);
    expect(() => multipaxos.parseParams({ phase2Quorum: 2 }, five)).toThrow(/must exceed/); // with the default Q1 = 3
    expect(() => parseMultiPaxosParams({ phase1Quorum: -1 })).toThrow(/phase1Quorum/);
    expect(() => parseMultiPaxosParams({ phase2Quorum: 1.5 })).toThrow(/integer/);
    expect(() => parseMultiPaxosParams({ heartbeatMs: 1000 })).toThrow(/below electionTimeoutMs/);
    expect(() => parseMultiPaxosParams({ unsafeQuorums: true })).toThrow(/unknown parameter/);
    // Without the validator set (the cluster's own check): bounds only, 0 = majority.
    expect(parseMultiPaxosParams({})).toMatchObject({ phase1Quorum: 0, phase2Quorum: 0 });
  });

  it('a state or accepted record that does not decode stops the start (the runtime halts); an acceptance above the promise raises it', () => {
    const c = new EngineCluster<Msg>({ engine: multipaxos, n: 3, latencyMs: 0, settle: true });
    c.start();
    c.crash(0);
    c.node(0).wal.set('state', new Uint8Array([1, 2, 3]));
    expect(() => c.restart(0)).toThrow(DecodeError);
    c.node(0).wal.set(
      'state',
      encodeRecord(STATE_RECORD, { promised: B(1, 1), committed: 0, reach: 1, lost: 0 }),
    );
    c.node(0).wal.set(
      'state/copy',
      encodeRecord(STATE_RECORD, { promised: B(1, 1), committed: 0, reach: 1, lost: 0 }),
    );
    c.node(0).wal.set('accepted/1', rlpEncode([1, 1, 1, new Uint8Array(5)]));
    expect(() => c.restart(0)).toThrow();
    // A record the runtime dropped as damaged is simply absent: an acceptance above the promise on
    // disk is then a promise of that ballot (accepting in b promises b), written back to both copies.
    const b1: Block = c.buildBlock(0, c.genesis, stamp3(B(2, 1)));
    c.node(0).wal.set('accepted/1', encodeRecord(ACCEPTED_RECORD, { ballot: B(2, 1), block: b1 }));
    c.restart(0);
    expect(state(c, 0).promised).toEqual(B(2, 1));
    expect(state(c, 0).accepted.map((a) => a.slot)).toEqual([1]);
    for (const key of ['state', 'state/copy'])
      expect(decodeRecord(STATE_RECORD, c.node(0).wal.get(key) as Uint8Array)).toEqual({
        promised: B(2, 1),
        committed: 0,
        reach: 1,
        lost: 0,
      });
  });
});
