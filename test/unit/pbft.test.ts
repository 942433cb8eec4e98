/**
 * PBFT engine, driven directly through step() — no runtime, no simulator. A synchronous
 * EngineCluster (test/helpers/engine-cluster.ts) stands in for the runtime: latency 0 and every
 * action settled at once, so each step's messages are delivered FIFO before the next one and
 * timers fire only by hand; real ed25519 envelope signatures; one transaction per block while
 * its mempool lasts. Tests drop messages (`route` → null), crash and restart nodes, fire timers.
 */
import { describe, expect, it } from 'vitest';
import { PbftEngine } from '../../consensus/pbft/engine.ts';
import { parsePbftParams, pbft } from '../../consensus/pbft/index.ts';
import {
  type CheckpointProof,
  checkpointBytes,
  type NewView,
  type PbftMessage,
  type PreparedCert,
  pbftCodec,
  prePrepareBytes,
  prepareBytes,
  type ViewChange,
} from '../../consensus/pbft/messages.ts';
import { deriveReproposals } from '../../consensus/pbft/view-change-proofs.ts';
import { SeededRng } from '../../consensus/rng.ts';
import type { EngineOutput, HeadInfo } from '../../consensus/types.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { type Block, type BlockHeader, headerHash, txRoot } from '../../ledger/block.ts';
import { commitVoteBytes, ed25519QuorumScheme, type QuorumCertificate } from '../../ledger/certificate.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { type ClusterNode, EngineCluster } from '../helpers/engine-cluster.ts';

const N = 4;

/**
 * The cluster every scenario runs on: N validators (and `observers` non-validator nodes after
 * them), synchronous, with real signatures and a mempool of six transactions.
 */
function cluster(params: EngineParams = {}, observers = 0): EngineCluster<PbftMessage> {
  const c = new EngineCluster<PbftMessage>({
    engine: pbft,
    n: N,
    params,
    observers,
    latencyMs: 0,
    settle: true,
    signMessages: true,
    mempool: 6,
    recordOutputs: true,
  });
  c.start();
  return c;
}

/** Drops the messages `drop` picks (never a node's own loopback); the others arrive at once. */
function dropWhere(
  c: EngineCluster<PbftMessage>,
  drop: (from: number, to: number, m: PbftMessage) => boolean,
) {
  c.route = (from, to, m) => (drop(from, to, m) ? null : 0);
}

/** A cluster node's engine state. */
const state = (n: ClusterNode<PbftMessage>) => (n.engine as PbftEngine).debugState();

// The cluster's chain id, validator set and keys: messages made by hand are signed as the
// cluster's nodes sign theirs (every cluster of N validators has the same keys).
const keyring = new EngineCluster<PbftMessage>({ engine: pbft, n: N });
const CHAIN = keyring.chainId;
const validators = keyring.validators;
const edSign = (i: number, bytes: Uint8Array): Uint8Array => keyring.edSign(i, bytes);
const sign = (i: number, msg: PbftMessage): Uint8Array => keyring.sign(i, msg);
const GENESIS = sha256(utf8('genesis'));

function makeBlock(height: number, parent: Uint8Array, tag = 0, txs = 1): { block: Block; hash: Uint8Array } {
  const body = Array.from({ length: txs }, (_, i) => utf8(`tx-${height}-${tag}-${i}`));
  const header: BlockHeader = {
    chainId: CHAIN,
    height,
    parentHash: parent,
    historyRoot: new Uint8Array(32),
    time: { ms: 1_000 + height, logical: tag },
    proposer: new Uint8Array(20),
    txRoot: txRoot(body),
    txCount: body.length,
    stateRoot: new Uint8Array(32),
    logSize: 0,
    logRoot: new Uint8Array(32),
    validatorsHash: validators.hash,
    engine: 'pbft',
    engineData: new Uint8Array(0),
  };
  return { block: { header, txs: body }, hash: headerHash(header) };
}

/** Validator `self`'s engine on its own, outside any cluster (fed by hand). */
function engine(self: number): PbftEngine {
  return new PbftEngine(
    { chainId: CHAIN, validators, self, params: {}, rng: new SeededRng(`e${self}`), signer: {} },
    parsePbftParams({}),
  );
}

const genesisHead: HeadInfo = {
  height: 0,
  hash: GENESIS,
  time: { ms: 0, logical: 0 },
  history: [],
  engineData: new Uint8Array(0),
};

type Out = EngineOutput<PbftMessage>;
const evidenceOf = (outs: Out[]) => outs.filter((o) => o.kind === 'evidence');
const broadcasts = (outs: Out[]) => outs.flatMap((o) => (o.kind === 'broadcast' ? [o.msg] : []));

/** A valid prepared certificate for (view, seq, block) from the view's primary and `preparers`. */
function preparedCert(
  view: number,
  seq: number,
  digest: Uint8Array,
  parent: Uint8Array,
  primary: number,
  preparers: number[],
): PreparedCert {
  return {
    view,
    seq,
    digest,
    parent,
    prePrepare: edSign(primary, prePrepareBytes(CHAIN, view, seq, digest, parent)),
    prepares: preparers.map((v) => ({
      validator: v,
      signature: edSign(v, prepareBytes(CHAIN, view, seq, digest, parent)),
    })),
  };
}

function viewChange(view: number, prepared: PreparedCert[] = [], checkpoint?: CheckpointProof): ViewChange {
  return {
    type: 'view-change',
    view,
    checkpoint: checkpoint ?? { seq: 0, digest: new Uint8Array(0), votes: [] },
    prepared,
  };
}

function newView(view: number, vcs: Array<[number, ViewChange]>, o?: NewView['reproposals']): NewView {
  const derived = deriveReproposals(vcs.map(([, vc]) => vc));
  return {
    type: 'new-view',
    view,
    viewChanges: vcs.map(([from, vc]) => ({ from, signature: sign(from, vc), vc })),
    reproposals: o ?? derived.entries.map((e) => ({ seq: e.seq, digest: e.digest })),
  };
}

// -- tests ---------------------------------------------------------------------------------

describe('pbft codec', () => {
  const { block, hash } = makeBlock(3, GENESIS);
  const cert = preparedCert(0, 3, hash, GENESIS, 1, [0, 2]);
  const vc = viewChange(1, [cert]);
  const messages: PbftMessage[] = [
    { type: 'pre-prepare', view: 0, seq: 3, digest: hash, parent: GENESIS, block },
    { type: 'pre-prepare', view: 0, seq: 3, digest: hash, parent: GENESIS, block: undefined },
    { type: 'prepare', view: 2, seq: 3, digest: hash, parent: GENESIS },
    { type: 'commit', view: 2, seq: 3, digest: hash },
    { type: 'checkpoint', seq: 4, digest: hash },
    vc,
    newView(1, [
      [0, vc],
      [2, viewChange(1)],
      [3, viewChange(1)],
    ]),
  ];

  it('round-trips every message kind canonically', () => {
    for (const m of messages) {
      const bytes = pbftCodec.encode(m);
      const back = pbftCodec.decode(bytes);
      expect(toHex(pbftCodec.encode(back))).toBe(toHex(bytes));
      expect(pbftCodec.describe(back)).toBe(pbftCodec.describe(m));
    }
  });

  it('gives distinct double-sign slots per kind and (view, seq); view changes are keyed by view', () => {
    const slots = messages.map((m) => JSON.stringify(pbftCodec.slot(m)));
    // the two pre-prepares (with and without the block) are one message: same slot, same signing bytes
    expect(slots[0]).toBe(slots[1]);
    expect(toHex(pbftCodec.signingBytes(messages[0]!, CHAIN))).toBe(
      toHex(pbftCodec.signingBytes(messages[1]!, CHAIN)),
    );
    expect(new Set(slots.slice(1)).size).toBe(slots.length - 1);
    expect(pbftCodec.slot(vc)?.round).toBe(1);
    expect(pbftCodec.slot(viewChange(2))?.round).toBe(2);
  });

  it("signs COMMIT with the ledger's commit-vote bytes (round = view)", () => {
    expect(toHex(pbftCodec.signingBytes({ type: 'commit', view: 5, seq: 3, digest: hash }, CHAIN))).toBe(
      toHex(commitVoteBytes(CHAIN, 3, 5, hash)),
    );
  });

  it('rejects malformed input with typed errors', () => {
    const bad = [
      new Uint8Array([0xc0]),
      new Uint8Array(0),
      pbftCodec.encode({ type: 'commit', view: 0, seq: 1, digest: hash }).slice(0, -1),
      // a block that does not hash to the digest
      pbftCodec.encode({
        type: 'pre-prepare',
        view: 0,
        seq: 3,
        digest: new Uint8Array(32).fill(7),
        parent: GENESIS,
        block,
      }),
      // votes out of order
      pbftCodec.encode(viewChange(1, [{ ...cert, prepares: [...cert.prepares].reverse() }])),
      // a view-change to view 0
      pbftCodec.encode({ ...vc, view: 0 }),
    ];
    for (const b of bad) {
      let error: unknown;
      try {
        pbftCodec.decode(b);
      } catch (e) {
        error = e;
      }
      expect(error, toHex(b).slice(0, 40)).toBeInstanceOf(Error);
      expect((error as { code?: string }).code).toBeTypeOf('string');
    }
  });

  it('validates parameters', () => {
    expect(pbft.parseParams({})).toMatchObject({ checkpointInterval: 4, watermarkWindow: 8 });
    expect(() => pbft.parseParams({ checkpointInterval: 10, watermarkWindow: 4 })).toThrow(
      /checkpointInterval/,
    );
    expect(() => pbft.parseParams({ bogus: 1 })).toThrow(/unknown parameter/);
    expect(() => pbft.parseParams({ watermarkWindow: 2.5 })).toThrow(/integer/);
    expect(() => pbft.parseParams({ rebroadcastMs: 0 })).toThrow();
  });
});

describe('deriveReproposals (O from V)', () => {
  const b1 = makeBlock(1, GENESIS);
  const b2 = makeBlock(2, b1.hash);
  const b2x = makeBlock(2, b1.hash, 9);
  const b3 = makeBlock(3, b2.hash);
  const b3orphan = makeBlock(3, b2x.hash);

  it('takes the highest-view certificate per sequence number', () => {
    const o = deriveReproposals([
      viewChange(3, [
        preparedCert(0, 1, b1.hash, GENESIS, 1, [0, 2]),
        preparedCert(0, 2, b2x.hash, b1.hash, 1, [0, 2]),
      ]),
      viewChange(3, [preparedCert(2, 2, b2.hash, b1.hash, 3, [0, 2])]),
    ]);
    expect(o.entries.map((e) => [e.seq, toHex(e.digest)])).toEqual([
      [1, toHex(b1.hash)],
      [2, toHex(b2.hash)],
    ]);
  });

  it('cuts the chain at a gap or at a certificate whose parent is not the entry below', () => {
    const gap = deriveReproposals([
      viewChange(2, [
        preparedCert(0, 1, b1.hash, GENESIS, 1, [0, 2]),
        preparedCert(0, 3, b3.hash, b2.hash, 1, [0, 2]),
      ]),
    ]);
    expect(gap.entries.map((e) => e.seq)).toEqual([1]);
    const broken = deriveReproposals([
      viewChange(3, [
        preparedCert(0, 1, b1.hash, GENESIS, 1, [0, 2]),
        preparedCert(0, 2, b2x.hash, b1.hash, 1, [0, 2]),
        preparedCert(0, 3, b3.hash, b2.hash, 1, [0, 2]),
      ]),
      viewChange(3, [preparedCert(2, 3, b3orphan.hash, b2x.hash, 3, [0, 2])]),
    ]);
    // 3's highest certificate (view 2) extends b2x, which is what O has at 2: kept
    expect(broken.entries.map((e) => toHex(e.digest))).toEqual([b1.hash, b2x.hash, b3orphan.hash].map(toHex));
    const mismatch = deriveReproposals([
      viewChange(3, [
        preparedCert(0, 1, b1.hash, GENESIS, 1, [0, 2]),
        preparedCert(2, 2, b2x.hash, b1.hash, 3, [0, 2]),
        preparedCert(0, 3, b3.hash, b2.hash, 1, [0, 2]),
      ]),
    ]);
    expect(mismatch.entries.map((e) => e.seq)).toEqual([1, 2]);
  });

  it('starts above the highest stable checkpoint in V and chains from its digest', () => {
    const cp: CheckpointProof = { seq: 1, digest: b1.hash, votes: [] };
    const o = deriveReproposals([
      viewChange(1, [
        preparedCert(0, 1, b1.hash, GENESIS, 1, [0, 2]),
        preparedCert(0, 2, b2.hash, b1.hash, 1, [0, 2]),
      ]),
      viewChange(1, [preparedCert(0, 2, b2.hash, b1.hash, 1, [0, 2])], cp),
    ]);
    expect(o.checkpoint.seq).toBe(1);
    expect(o.entries.map((e) => e.seq)).toEqual([2]);
  });
});

describe('pbft engine', () => {
  it('commits blocks in order with a valid ed25519-quorum certificate', () => {
    const c = cluster();
    c.input(1, { kind: 'txs-available' });
    for (const n of c.nodes) expect(n.chain.length).toBeGreaterThanOrEqual(4);
    const shortest = Math.min(...c.nodes.map((n) => n.chain.length));
    for (const n of c.nodes) expect(n.chain.slice(0, shortest)).toEqual(c.node(0).chain.slice(0, shortest));
    const cert = c.node(0).certificates[0] as QuorumCertificate;
    expect(ed25519QuorumScheme.verify(cert, { chainId: CHAIN, validators })).toEqual({ ok: true });
  });

  it('lets an observer (no validator key) follow the chain from the COMMIT quorums, silently', () => {
    const c = cluster({}, 1);
    c.input(1, { kind: 'txs-available' });
    const observer = c.node(N);
    expect(observer.chain.length).toBeGreaterThanOrEqual(4);
    expect(observer.chain).toEqual(c.node(0).chain.slice(0, observer.chain.length));
    expect(observer.outputs.filter((o) => o.kind === 'broadcast' || o.kind === 'build-block')).toEqual([]);
  });

  it('pipelines within the watermark window and no further: the primary stops at h + L', () => {
    const c = cluster({ checkpointInterval: 2, watermarkWindow: 4 });
    // Nothing commits (so no checkpoint becomes stable): the primary (validator 1 in view 0) keeps
    // pre-preparing on its own uncommitted blocks until the high watermark.
    dropWhere(c, (_f, _t, m) => m.type === 'commit');
    c.fireAll('rebroadcast'); // (a first tick: the next one finds everyone stalled)
    c.input(1, { kind: 'txs-available' });
    const builds = c.node(1).outputs.flatMap((o) => (o.kind === 'build-block' ? [o.height] : []));
    expect(builds).toEqual([1, 2, 3, 4]);
    expect(state(c.node(1)).proposed).toBe(4);
    // pipelined: block n+1 was built on the uncommitted block n
    const pps = broadcasts(c.node(1).outputs).filter((m) => m.type === 'pre-prepare');
    expect(pps.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    for (let i = 1; i < pps.length; i++) {
      expect(toHex((pps[i] as { parent: Uint8Array }).parent)).toBe(
        toHex((pps[i - 1] as { digest: Uint8Array }).digest),
      );
    }
    for (const n of c.nodes) expect(n.chain).toEqual([]);
    expect(state(c.node(0)).prepared).toEqual([1, 2, 3, 4]);
    // Let the commits through (re-sent on the rebroadcast tick): the window moves on.
    dropWhere(c, () => false);
    c.fireAll('rebroadcast');
    expect(c.node(0).chain.length).toBeGreaterThan(4);
    expect(state(c.node(1)).proposed).toBeGreaterThan(4);
  });

  it('sends no COMMIT for a block whose parent is neither committed nor prepared (the chain rule)', () => {
    const c = cluster();
    c.fireAll('rebroadcast');
    // Sequence 1 never prepares (its PREPAREs are lost); 2, built on it, prepares.
    dropWhere(c, (_f, _t, m) => m.type === 'prepare' && m.seq === 1);
    c.mempool = 2;
    c.input(1, { kind: 'txs-available' });
    for (const n of c.nodes) {
      expect(state(n).prepared).toEqual([2]);
      const commits = broadcasts(n.outputs).filter((m) => m.type === 'commit');
      expect(commits).toEqual([]);
      expect(n.chain).toEqual([]);
    }
    // Once 1's PREPAREs get through (re-sent on a stalled tick), both commit, in order.
    dropWhere(c, () => false);
    c.fireAll('rebroadcast');
    for (const n of c.nodes) expect(n.chain.length).toBe(2);
  });

  it('stabilises checkpoints and garbage-collects the log below them', () => {
    const c = cluster({ checkpointInterval: 2, watermarkWindow: 4 });
    c.input(1, { kind: 'txs-available' });
    for (const n of c.nodes) {
      const s = state(n);
      expect(s.stable).toBeGreaterThanOrEqual(4);
      expect(s.stable % 2).toBe(0);
      expect(s.prepared.every((seq) => seq > s.stable)).toBe(true);
      // the stable checkpoint is persisted with its proof
      expect(n.wal.has('state')).toBe(true);
    }
    // every replica sent CHECKPOINTs for the even heights it committed
    const cps = broadcasts(c.node(0).outputs).filter((m) => m.type === 'checkpoint');
    expect(cps.length).toBeGreaterThanOrEqual(2);
    expect(cps.every((m) => m.seq % 2 === 0)).toBe(true);
  });

  it('carries a prepared-but-uncommitted block into the new view: re-proposed and committed with the same hash', () => {
    const c = cluster();
    // Block 1 prepares everywhere, but no COMMIT gets through.
    dropWhere(c, (_f, _t, m) => m.type === 'commit');
    c.input(1, { kind: 'txs-available' });
    const pp = broadcasts(c.node(1).outputs).find((m) => m.type === 'pre-prepare' && m.seq === 1);
    expect(pp).toBeDefined();
    const hash = toHex((pp as { digest: Uint8Array }).digest);
    for (const n of c.nodes) expect(state(n).prepared).toContain(1);
    // The primary crashes; the others time out and change view. View 1's primary is validator 2.
    c.crash(1);
    dropWhere(c, () => false);
    // (validator 3 follows by the f+1 rule; firing its timer too would be a second timeout)
    for (const i of [0, 2]) c.fire(i, 'progress');
    for (const i of [0, 2, 3]) {
      const s = state(c.node(i));
      expect(s.view).toBe(1);
      expect(s.active).toBe(true);
      expect(c.node(i).chain[0]).toBe(hash);
    }
    const nv = broadcasts(c.node(2).outputs).find((m) => m.type === 'new-view') as NewView;
    expect(toHex(nv.reproposals[0]!.digest)).toBe(hash);
    // the decision's certificate is from view 1
    expect((c.node(0).certificates[0] as QuorumCertificate | undefined)?.round).toBe(1);
  });

  it('persists what it needs: a restarted replica keeps its view, checkpoint and prepared certificates', () => {
    const c = cluster();
    dropWhere(c, (_f, _t, m) => m.type === 'commit');
    c.input(1, { kind: 'txs-available' });
    const before = state(c.node(0));
    expect(before.prepared.length).toBeGreaterThan(0);
    c.fire(0, 'progress'); // → view change to 1, VIEW-CHANGE persisted
    const vc = broadcasts(c.node(0).outputs).find((m) => m.type === 'view-change') as ViewChange;
    c.crash(0);
    c.restart(0);
    const after = state(c.node(0));
    expect(after.view).toBe(1);
    expect(after.active).toBe(false);
    expect(after.prepared).toEqual(before.prepared);
    // it re-sends the very same VIEW-CHANGE (same signing bytes: the guard would allow it)
    const outs = c.node(0).outputs;
    const resent = broadcasts(outs.slice(outs.length - 50)).filter((m) => m.type === 'view-change');
    expect(resent.length).toBeGreaterThan(0);
    expect(toHex(pbftCodec.encode(resent[resent.length - 1]!))).toBe(toHex(pbftCodec.encode(vc)));
  });
});

/** Replica `i` takes part: the next block, from `primary`, commits there with a COMMIT of its own. */
function expectTakesPart(c: EngineCluster<PbftMessage>, i: number, primary: number): void {
  const sent = c.node(i).outputs.length;
  c.mempool = 1;
  c.input(primary, { kind: 'txs-available' });
  expect(c.height(i)).toBe(c.height(primary));
  const mine = c.node(i).outputs.slice(sent);
  expect(mine.some((o) => o.kind === 'broadcast' && o.msg.type === 'commit')).toBe(true);
}

describe('pbft liveness: what the simulator found', () => {
  it('forwards the NEW-VIEW of a view it has already left to replicas still changing to it (sweep-100293)', () => {
    const c = cluster();
    c.crash(1); // view 0's primary, for good: three replicas left, every one of them needed
    // Nothing from validator 2 (view 1's primary) reaches the others for a while.
    dropWhere(c, (from) => from === 2);
    for (const i of [0, 2, 3]) c.fire(i, 'progress');
    expect(state(c.node(2))).toMatchObject({ view: 1, active: true });
    for (const i of [0, 3]) expect(state(c.node(i))).toMatchObject({ view: 1, active: false });
    // 2 times out in view 1 as well (its VIEW-CHANGE(2) is lost too), then the network heals.
    c.fire(2, 'progress');
    expect(state(c.node(2))).toMatchObject({ view: 2, active: false });
    dropWhere(c, () => false);
    // 0 and 3 hold two VIEW-CHANGE(1)s (no quorum, no view-change timer) and one VIEW-CHANGE(2)
    // (the f+1 rule needs two); 2 holds one VIEW-CHANGE(2). Only view 1's NEW-VIEW, which 2 keeps
    // and forwards when 0 and 3 re-send their VIEW-CHANGE(1)s, gets them out.
    c.fireAll('rebroadcast');
    for (const i of [0, 3]) expect(state(c.node(i))).toMatchObject({ view: 1, active: true });
    // 0 times out of view 1; with 2's VIEW-CHANGE(2), 3 (view 2's primary) follows by the f+1 rule.
    c.fire(0, 'progress');
    for (const i of [0, 2, 3]) expect(state(c.node(i))).toMatchObject({ view: 2, active: true });
    c.input(3, { kind: 'txs-available' });
    for (const i of [0, 2, 3]) expect(c.node(i).chain.length).toBeGreaterThanOrEqual(2);
  });

  it('a replica that missed a view change and commits only by block sync rejoins the new view', () => {
    const c = cluster();
    c.input(1, { kind: 'txs-available' });
    const before = c.height(3);
    expect(before).toBeGreaterThanOrEqual(1);
    // Validator 3 hears nothing while the others change to view 1 and commit in it.
    dropWhere(c, (from, to) => from === 3 || to === 3);
    for (const i of [0, 1]) c.fire(i, 'progress'); // 2 follows by the f+1 rule
    for (const i of [0, 1, 2]) expect(state(c.node(i))).toMatchObject({ view: 1, active: true });
    c.mempool = 2;
    c.input(2, { kind: 'txs-available' });
    expect(c.height(0)).toBeGreaterThanOrEqual(before + 2);
    expect(state(c.node(3))).toMatchObject({ view: 0, active: true });
    // The network heals; block sync brings 3 the blocks certified in view 1. Each commit re-arms
    // its progress timer, so only the certificate's view can tell it that it is behind.
    dropWhere(c, () => false);
    c.run(c.now + 250);
    expect(c.height(3)).toBe(c.height(0));
    expect(state(c.node(3))).toMatchObject({ view: 1, active: true });
    // And it takes part again: the next block commits at 3 by its own COMMIT quorum, not by sync.
    expectTakesPart(c, 3, 2);
  });

  it('rejoins when the others have moved on twice meanwhile (NEW-VIEW of the latest view)', () => {
    const c = cluster();
    c.input(1, { kind: 'txs-available' });
    const before = c.height(3);
    dropWhere(c, (from, to) => from === 3 || to === 3);
    for (const i of [0, 1]) c.fire(i, 'progress');
    c.mempool = 2;
    c.input(2, { kind: 'txs-available' });
    expect(c.height(0)).toBeGreaterThanOrEqual(before + 2);
    // 0-2 leave view 1; view 2's primary is 3 (cut off), so they go on to view 3 (primary 0).
    for (const i of [0, 1]) c.fire(i, 'progress');
    for (const i of [0, 1, 2]) if (c.armed(i, 'view-change')) c.fire(i, 'view-change');
    for (const i of [0, 1, 2]) expect(state(c.node(i))).toMatchObject({ view: 3, active: true });
    expect(state(c.node(3))).toMatchObject({ view: 0, active: true });
    dropWhere(c, () => false);
    c.run(c.now + 250);
    expect(c.height(3)).toBe(c.height(0));
    expect(state(c.node(3))).toMatchObject({ view: 3, active: true });
    expectTakesPart(c, 3, 0);
  });

  it('rejoins when the replica that missed the view change is the old primary', () => {
    const c = cluster();
    c.input(1, { kind: 'txs-available' });
    const before = c.height(1);
    dropWhere(c, (from, to) => from === 1 || to === 1);
    for (const i of [0, 3]) c.fire(i, 'progress');
    for (const i of [0, 2, 3]) expect(state(c.node(i))).toMatchObject({ view: 1, active: true });
    c.mempool = 2;
    c.input(2, { kind: 'txs-available' });
    expect(c.height(0)).toBeGreaterThanOrEqual(before + 2);
    expect(state(c.node(1))).toMatchObject({ view: 0, active: true });
    dropWhere(c, () => false);
    c.run(c.now + 250);
    expect(state(c.node(1))).toMatchObject({ view: 1, active: true });
    expectTakesPart(c, 1, 2);
  });

  it('keeps its checkpoint block durable: replicas whose chain lost it commit it again (sweep-100467)', () => {
    const c = cluster({ checkpointInterval: 2, watermarkWindow: 4 });
    c.input(1, { kind: 'txs-available' });
    const head = c.height(0);
    expect(head % 2).toBe(0);
    for (const n of c.nodes) expect(state(n).stable).toBe(head);
    const tip = c.node(0).chain[head - 1] as string;
    // Every replica crashes and its chain store loses the last (unsynced) write: the checkpoint
    // block, which the stable checkpoint lets everyone garbage-collect and nobody else can serve.
    for (let i = 0; i < N; i++) c.crash(i);
    for (let i = 0; i < N; i++) c.restart(i, { loseLastCommit: true });
    for (const n of c.nodes) {
      expect(n.head.height).toBe(head);
      expect(n.chain[head - 1]).toBe(tip);
      expect(
        ed25519QuorumScheme.verify(n.certificates.at(-1) as QuorumCertificate, {
          chainId: CHAIN,
          validators,
        }),
      ).toEqual({ ok: true });
    }
    // …and the chain goes on above the checkpoint.
    c.mempool = 2;
    c.input(1, { kind: 'txs-available' });
    for (const n of c.nodes) expect(n.head.height).toBeGreaterThan(head);
  });
});

describe('pbft view change verification', () => {
  const b1 = makeBlock(1, GENESIS);

  it('rejects a NEW-VIEW whose O does not match V, accepts the correct one', () => {
    const e = engine(0);
    e.step({ kind: 'start', head: genesisHead, recovered: new Map() });
    const vcs: Array<[number, ViewChange]> = [1, 2, 3].map((v) => [
      v,
      viewChange(1, v === 3 ? [preparedCert(0, 1, b1.hash, GENESIS, 1, [2, 3])] : []),
    ]);
    // O should re-propose b1 at 1; the primary of view 1 (validator 2) claims another block.
    const forged = newView(1, vcs, [{ seq: 1, digest: makeBlock(1, GENESIS, 5).hash }]);
    let outs = e.step({ kind: 'message', from: 2, msg: forged, signature: sign(2, forged) });
    expect(evidenceOf(outs).map((o) => o.kind === 'evidence' && o.evidence.type)).toEqual([
      'invalid-message',
    ]);
    expect(e.debugState().view).toBe(0);
    // Dropping O entirely is just as wrong.
    const empty = newView(1, vcs, []);
    outs = e.step({ kind: 'message', from: 2, msg: empty, signature: sign(2, empty) });
    expect(evidenceOf(outs)).toHaveLength(1);
    expect(e.debugState().view).toBe(0);
    // The correct NEW-VIEW is installed (a replica may join a higher view directly from one).
    const good = newView(1, vcs);
    outs = e.step({ kind: 'message', from: 2, msg: good, signature: sign(2, good) });
    expect(evidenceOf(outs)).toHaveLength(0);
    expect(e.debugState()).toMatchObject({ view: 1, active: true });
    // …and only a PRE-PREPARE matching O is accepted at sequence 1 in view 1.
    const wrong = makeBlock(1, GENESIS, 6);
    const bad: PbftMessage = {
      type: 'pre-prepare',
      view: 1,
      seq: 1,
      digest: wrong.hash,
      parent: GENESIS,
      block: wrong.block,
    };
    outs = e.step({ kind: 'message', from: 2, msg: bad, signature: sign(2, bad) });
    expect(evidenceOf(outs)).toHaveLength(1);
    const ok: PbftMessage = {
      type: 'pre-prepare',
      view: 1,
      seq: 1,
      digest: b1.hash,
      parent: GENESIS,
      block: b1.block,
    };
    outs = e.step({ kind: 'message', from: 2, msg: ok, signature: sign(2, ok) });
    expect(evidenceOf(outs)).toHaveLength(0);
    expect(outs.some((o) => o.kind === 'execute' && toHex(o.hash) === toHex(b1.hash))).toBe(true);
  });

  it('rejects a NEW-VIEW from a validator that is not the new primary, or with too few VIEW-CHANGEs', () => {
    const e = engine(0);
    e.step({ kind: 'start', head: genesisHead, recovered: new Map() });
    const vcs: Array<[number, ViewChange]> = [1, 2, 3].map((v) => [v, viewChange(1)]);
    const nv = newView(1, vcs);
    let outs = e.step({ kind: 'message', from: 3, msg: nv, signature: sign(3, nv) });
    expect(evidenceOf(outs)).toHaveLength(1);
    const few = newView(1, vcs.slice(0, 2));
    outs = e.step({ kind: 'message', from: 2, msg: few, signature: sign(2, few) });
    expect(evidenceOf(outs)).toHaveLength(1);
    // a VIEW-CHANGE inside V whose own signature is not its sender's
    const tampered: NewView = {
      ...nv,
      viewChanges: nv.viewChanges.map((s, i) => (i === 0 ? { ...s, signature: sign(0, s.vc) } : s)),
    };
    outs = e.step({ kind: 'message', from: 2, msg: tampered, signature: sign(2, tampered) });
    expect(evidenceOf(outs)).toHaveLength(1);
    expect(e.debugState().view).toBe(0);
  });

  it('rejects a VIEW-CHANGE whose prepared certificate carries a forged signature', () => {
    const e = engine(0);
    e.step({ kind: 'start', head: genesisHead, recovered: new Map() });
    const good = preparedCert(0, 1, b1.hash, GENESIS, 1, [2, 3]);
    // validator 3's PREPARE signature, made with validator 0's key
    const forged: PreparedCert = {
      ...good,
      prepares: good.prepares.map((p) =>
        p.validator === 3
          ? {
              validator: 3,
              signature: edSign(0, prepareBytes(CHAIN, 0, 1, b1.hash, GENESIS)),
            }
          : p,
      ),
    };
    // a PRE-PREPARE "signature" by someone other than view 0's primary
    const wrongPrimary: PreparedCert = {
      ...good,
      prePrepare: edSign(2, prePrepareBytes(CHAIN, 0, 1, b1.hash, GENESIS)),
    };
    // too little power: the primary and one PREPARE
    const thin = preparedCert(0, 1, b1.hash, GENESIS, 1, [2]);
    // a checkpoint "proof" with a forged vote
    const badCheckpoint: CheckpointProof = {
      seq: 4,
      digest: b1.hash,
      votes: [0, 1, 2].map((v) => ({
        validator: v,
        signature: edSign(v === 2 ? 3 : v, checkpointBytes(CHAIN, 4, b1.hash)),
      })),
    };
    for (const [from, vc] of [
      [2, viewChange(1, [forged])],
      [3, viewChange(1, [wrongPrimary])],
      [2, viewChange(1, [thin])],
      [3, viewChange(1, [], badCheckpoint)],
    ] as Array<[number, ViewChange]>) {
      const outs = e.step({ kind: 'message', from, msg: vc, signature: sign(from, vc) });
      expect(evidenceOf(outs), pbftCodec.describe(vc)).toHaveLength(1);
    }
    // Two invalid VIEW-CHANGEs (> 1/3 of the power) did not drag us into view 1…
    expect(e.debugState().view).toBe(0);
    // …two valid ones do (the f+1 rule).
    const outs2 = [2, 3].flatMap((from) => {
      const vc = viewChange(1, [good]);
      return e.step({ kind: 'message', from, msg: vc, signature: sign(from, vc) });
    });
    expect(evidenceOf(outs2)).toHaveLength(0);
    expect(e.debugState()).toMatchObject({ view: 1, active: false });
    const mine = broadcasts(outs2).find((m) => m.type === 'view-change') as ViewChange;
    expect(mine.view).toBe(1);
  });
});
