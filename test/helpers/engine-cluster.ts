/**
 * EngineCluster: a minimal, deterministic in-memory cluster of any engine — no ledger execution,
 * no envelopes, no runtime — that drives it step by step for targeted protocol scenarios (rule by
 * rule, as etcd's raft_paper_test.go does) and latency measurements in exact message delays:
 * deliver, drop or delay (`route`), replace (`intercept`), inject forged messages, fire timers
 * (armed ones fire on schedule; `fire` fires one now), crash and restart a node from its
 * persisted records. Blocks are real headers so hashes, QCs and commit certificates are the real
 * ones; "execution" accepts any block whose parent this node has.
 *
 * Control: `route(from, to, msg, now)` returns a delivery delay in ms or null to drop (default:
 * `latencyMs` for every message); `intercept(from, msg, to)` may replace what a node sends (a
 * Byzantine node); `observe` sees every delivered message. Own broadcasts loop back at once,
 * as in the runtime.
 *
 * Options beyond the network (all off by default):
 *  - `signMessages`: a delivered message carries its sender's real envelope signature,
 *    ed25519 over `codec.signingBytes(msg, chainId)` (else 64 zero bytes); a relay carries the
 *    signature it was given, as the runtime forwards it. `sign`/`edSign` make the same by hand.
 *  - `mempool`: transactions for built blocks, one per block while they last (`mempool` stays
 *    writable); blocks are empty otherwise, and always when `build-block` asks for `empty`.
 *  - `observers`: nodes n … n+observers−1 run the engine without a validator key (`self`
 *    undefined); they receive every broadcast and relay.
 *  - `recordOutputs`: every node keeps every output its engine produced (`node(i).outputs`).
 *  - `settle`: each hand-driven action (`start`, `input`, `inject`, `fire`, `fireAll`, `restart`)
 *    then runs every event due now (`settle()`). With `latencyMs: 0` a scenario is synchronous: all
 *    messages of a step are delivered FIFO (by sequence) before the next action, time never advances,
 *    so armed timers fire only by `fire`/`fireAll` (and block sync, every 200 ms, never runs).
 * Every node also keeps its committed chain (`node(i).chain`: block hashes by height − 1) and the
 * certificates they were committed with (`node(i).certificates`), whether by commit or by sync.
 */

import { SeededRng } from '../../consensus/rng.ts';
import type {
  ConsensusEngine,
  EngineInput,
  EngineModule,
  EngineOutput,
  Evidence,
  ExecuteFailure,
  HeadInfo,
  MembershipTarget,
  TimerToken,
} from '../../consensus/types.ts';
import { bls } from '../../crypto/bls/index.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import { type Block, type BlockHeader, headerHash, txRoot, ZERO_HASH } from '../../ledger/block.ts';
import { type CommitCertificate, type TrustAnchor, verifyCertificate } from '../../ledger/certificate.ts';
import type { EngineParams, ThresholdGenesis } from '../../ledger/genesis.ts';
import { frontierRoot, pushLeaf } from '../../ledger/log/frontier.ts';
import { emptyFrontier, emptyRoot, type Frontier, leafHash } from '../../ledger/log/index.ts';
import { peerIdFromEd25519, ValidatorSet } from '../../ledger/validators.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../../src/schemes.ts';

export interface ClusterOptions<M> {
  readonly engine: EngineModule<M>;
  readonly n: number;
  readonly params?: EngineParams;
  /** Deal BLS threshold key shares (HotStuff with qc=threshold). */
  readonly threshold?: boolean;
  readonly latencyMs?: number;
  readonly powers?: readonly number[];
  /** Verify node 0's commit certificates with the light-client scheme (slower). */
  readonly verifyCertificates?: boolean;
  /** Real ed25519 envelope signatures on delivered messages (else zeros). */
  readonly signMessages?: boolean;
  /** Transactions to put in built blocks, one per block while they last. */
  readonly mempool?: number;
  /** Non-validator nodes (indices n, n+1, …) running the engine with `self` undefined. */
  readonly observers?: number;
  /** Keep every output of every node (`node(i).outputs`). */
  readonly recordOutputs?: boolean;
  /** Run the events due now after each hand-driven action (see the file comment). */
  readonly settle?: boolean;
}

export interface Commit {
  readonly node: number;
  readonly height: number;
  readonly hash: string;
  readonly time: number;
  readonly certificate: CommitCertificate;
}

interface Node<M> {
  readonly index: number;
  engine: ConsensusEngine<M>;
  up: boolean;
  head: { height: number; hash: Uint8Array; header: BlockHeader };
  /** Committed block hashes (hex), by height − 1, and the certificates they were committed with. */
  readonly chain: string[];
  readonly certificates: CommitCertificate[];
  /** Every output of this node's engine (across restarts), with `recordOutputs`. */
  readonly outputs: EngineOutput<M>[];
  readonly executed: Map<string, Block>;
  readonly wal: Map<string, Uint8Array>;
  /** Armed timers: the arming's sequence number and token. */
  readonly timers: Map<string, { seq: number; token: TimerToken | undefined }>;
  logical: number;
  /** How many times this node has started (a restart draws fresh randomness, as a process does). */
  starts: number;
}

export type { Node as ClusterNode };

type Event = { at: number; seq: number; run: () => void };

const CHAIN_ID = 'cluster';
const keyCache = new Map<
  number,
  {
    bls: ReturnType<typeof bls.keygen>;
    ed: ReturnType<typeof ed25519.keygen>;
    vrf: { secretKey: Uint8Array; publicKey: Uint8Array };
  }
>();
function keys(i: number) {
  let k = keyCache.get(i);
  if (k === undefined) {
    k = {
      bls: bls.keygen(sha256(utf8(`cluster-bls-${i}`))),
      ed: ed25519.keygen(sha256(utf8(`cluster-ed-${i}`))),
      vrf: (() => {
        const secretKey = sha256(utf8(`cluster-vrf-${i}`));
        return { secretKey, publicKey: vrf.publicKeyFromSecret(secretKey) };
      })(),
    };
    keyCache.set(i, k);
  }
  return k;
}
const dealCache = new Map<number, ReturnType<typeof bls.threshold.deal>>();

export class EngineCluster<M> {
  readonly module: EngineModule<M>;
  readonly validators: ValidatorSet;
  readonly engineParams: EngineParams;
  readonly threshold: ThresholdGenesis | undefined;
  readonly trust: TrustAnchor;
  readonly genesis: BlockHeader;
  readonly nodes: Node<M>[] = [];
  readonly commits: Commit[] = [];
  readonly evidence: Array<{ node: number; evidence: Evidence }> = [];
  /** Every message a node signed and sent (by type), for checks. */
  readonly sent: Array<{ from: number; to: number | 'all'; msg: M; time: number }> = [];
  /** Every timer a node set, with its view when the step that set it ended. */
  readonly timers: Array<{ node: number; timer: string; afterMs: number; view: number; time: number }> = [];
  route: (from: number, to: number, msg: M, now: number) => number | null;
  intercept: ((from: number, msg: M, to: number) => M | null) | undefined;
  observe: ((from: number, to: number, msg: M, now: number) => void) | undefined;
  /** Makes node `node`'s execution of a block fail with a code (a runtime that lacked the parent…). */
  failExecute: ((node: number, block: Block) => ExecuteFailure | undefined) | undefined;
  /** Transactions left for built blocks (option `mempool`), one per block. */
  mempool: number;
  messages = 0;
  bytes = 0;
  now = 0;
  readonly chainId = CHAIN_ID;
  readonly #queue: Event[] = [];
  #seq = 0;
  #timerSeq = 0;
  #txSeq = 0;
  readonly #deal: ReturnType<typeof bls.threshold.deal> | undefined;
  readonly #verify: boolean;
  readonly #sign: boolean;
  readonly #record: boolean;
  readonly #settle: boolean;
  /** Committed blocks with their certificates (agreement holds, so one store serves all). */
  readonly #chain = new Map<number, { block: Block; hash: Uint8Array; certificate: CommitCertificate }>();
  /** Block hash → frontier of the block-hash history up to and including that block. */
  readonly #history = new Map<string, Frontier>();

  constructor(o: ClusterOptions<M>) {
    this.module = o.engine;
    this.engineParams = { ...(o.params ?? {}) };
    o.engine.parseParams(this.engineParams);
    this.validators = new ValidatorSet(
      Array.from({ length: o.n }, (_, i) => {
        const k = keys(i);
        return {
          name: `v${i}`,
          publicKey: k.ed.publicKey,
          blsPublicKey: k.bls.publicKey,
          blsPop: new Uint8Array(96),
          peerId: peerIdFromEd25519(k.ed.publicKey),
          power: o.powers?.[i] ?? 1,
          ...(o.engine.requiresVrfKeys === true ? { vrfPublicKey: k.vrf.publicKey } : {}),
        };
      }),
    );
    if (o.threshold === true) {
      let deal = dealCache.get(o.n);
      if (deal === undefined) {
        deal = bls.threshold.deal(Math.floor((2 * o.n) / 3) + 1, o.n, sha256(utf8(`cluster-deal-${o.n}`)));
        dealCache.set(o.n, deal);
      }
      this.#deal = deal;
      this.threshold = {
        threshold: deal.threshold,
        groupPublicKey: deal.groupPublicKey,
        commitments: deal.commitments,
        sharePublicKeys: deal.shares.map((s) => s.publicKey),
      };
    } else {
      this.threshold = undefined;
    }
    this.trust = {
      chainId: CHAIN_ID,
      validators: this.validators,
      engineParams: this.engineParams,
      ...(this.threshold === undefined ? {} : { thresholdGroupPublicKey: this.threshold.groupPublicKey }),
    };
    this.genesis = {
      chainId: CHAIN_ID,
      height: 0,
      parentHash: ZERO_HASH,
      historyRoot: emptyRoot(),
      time: { ms: 0, logical: 0 },
      proposer: new Uint8Array(20),
      txRoot: txRoot([]),
      txCount: 0,
      stateRoot: ZERO_HASH,
      logSize: 0,
      logRoot: emptyRoot(),
      validatorsHash: this.validators.hash,
      engine: o.engine.name,
      engineData: new Uint8Array(0),
    };
    const genesisHistory = emptyFrontier();
    pushLeaf(genesisHistory, 0, leafHash(headerHash(this.genesis)));
    this.#history.set(toHex(headerHash(this.genesis)), genesisHistory);
    const latency = o.latencyMs ?? 10;
    this.route = () => latency;
    this.#verify = o.verifyCertificates ?? false;
    this.#sign = o.signMessages ?? false;
    this.#record = o.recordOutputs ?? false;
    this.#settle = o.settle ?? false;
    this.mempool = o.mempool ?? 0;
    for (let i = 0; i < o.n + (o.observers ?? 0); i++) {
      this.nodes.push({
        index: i,
        engine: this.#createEngine(i, 1),
        up: true,
        head: { height: 0, hash: headerHash(this.genesis), header: this.genesis },
        chain: [],
        certificates: [],
        outputs: [],
        executed: new Map(),
        wal: new Map(),
        timers: new Map(),
        logical: 0,
        starts: 1,
      });
    }
  }

  #createEngine(i: number, start: number): ConsensusEngine<M> {
    const share = this.#deal?.shares[i];
    const secret = keys(i).bls.secretKey;
    return this.module.create({
      chainId: CHAIN_ID,
      validators: this.validators,
      self: i < this.validators.size ? i : undefined,
      params: { ...this.engineParams },
      rng: new SeededRng(start === 1 ? `cluster-${i}` : `cluster-${i}/start-${start}`),
      signer: {
        blsSign: (m) => bls.sign(secret, m),
        ...(this.module.requiresVrfKeys === true
          ? { vrfProve: (alpha: Uint8Array) => vrf.prove(keys(i).vrf.secretKey, alpha) }
          : {}),
        ...(share === undefined
          ? {}
          : { blsShareSign: (m: Uint8Array) => bls.threshold.signShare(share, m) }),
      },
      ...(this.threshold === undefined ? {} : { threshold: this.threshold }),
      monotonicMs: () => this.now,
      nowMs: () => this.now,
      genesisTimeMs: 0,
    });
  }

  /** Signs `message` with validator i's BLS key (to forge or equivocate in scenarios). */
  blsSign(i: number, message: Uint8Array): Uint8Array {
    return bls.sign(keys(i).bls.secretKey, message);
  }

  shareSign(i: number, message: Uint8Array): Uint8Array {
    const share = this.#deal?.shares[i];
    if (share === undefined) throw new Error('no threshold deal');
    return bls.threshold.signShare(share, message).signature;
  }

  /** Signs `bytes` with validator i's ed25519 key (the envelope key). */
  edSign(i: number, bytes: Uint8Array): Uint8Array {
    return ed25519.sign(bytes, keys(i).ed.secretKey);
  }

  /** Validator i's envelope signature of `msg`, as `signMessages` makes it. */
  sign(i: number, msg: M): Uint8Array {
    return this.edSign(i, this.module.codec.signingBytes(msg, CHAIN_ID));
  }

  node(i: number): Node<M> {
    const node = this.nodes[i];
    if (node === undefined) throw new Error(`no node ${i}`);
    return node;
  }

  address(i: number): Uint8Array {
    return addressFromPublicKey(keys(i).ed.publicKey);
  }

  /** A block on `parent` (a header known to node `i`) with `txs`, as the runtime would build it. */
  buildBlock(
    i: number,
    parent: BlockHeader,
    engineData: Uint8Array,
    logicalBump = 0,
    txs: readonly Uint8Array[] = [],
  ): Block {
    const node = this.nodes[i] as Node<M>;
    node.logical++;
    const parentHash = headerHash(parent);
    const history = this.historyOf(parentHash);
    const header: BlockHeader = {
      ...this.genesis,
      height: parent.height + 1,
      parentHash,
      historyRoot: frontierRoot(history),
      time: { ms: Math.max(parent.time.ms, this.now), logical: node.logical + logicalBump },
      proposer: this.address(i),
      txRoot: txRoot(txs),
      txCount: txs.length,
      engineData,
    };
    const mine = history.slice();
    pushLeaf(mine, header.height, leafHash(headerHash(header)));
    this.#history.set(toHex(headerHash(header)), mine);
    return { header, txs };
  }

  /** The block-hash history frontier up to and including block `hash` (built by buildBlock). */
  historyOf(hash: Uint8Array): Frontier {
    const f = this.#history.get(toHex(hash));
    if (f === undefined) throw new Error(`no history for block ${toHex(hash).slice(0, 12)}`);
    return f;
  }

  headInfo(head: { height: number; hash: Uint8Array; header: BlockHeader }): HeadInfo {
    return {
      height: head.height,
      hash: head.hash,
      time: head.header.time,
      history: this.historyOf(head.hash),
      engineData: head.header.engineData,
      ...(this.#membership === undefined ? {} : { membership: this.#membership }),
    };
  }

  #membership: MembershipTarget | undefined;

  /** The committed block at `height` (the first commit of that height by any node). */
  committedBlock(
    height: number,
  ): { block: Block; hash: Uint8Array; certificate: CommitCertificate } | undefined {
    return this.#chain.get(height);
  }

  /**
   * As if a `membership` transaction had just been committed: from now on every head the nodes
   * are given carries the request, and each up node (of `tell`, if given; the others learn it at
   * their next commit) is told at once (a `committed` input of the head it has).
   */
  requestMembership(
    target: { voters: readonly number[]; learners?: readonly number[] },
    tell?: readonly number[],
  ): void {
    this.#membership = {
      seq: (this.#membership?.seq ?? 0) + 1,
      voters: target.voters,
      learners: target.learners ?? [],
    };
    for (const node of this.nodes)
      if (node.up && (tell === undefined || tell.includes(node.index)))
        this.#step(node, { kind: 'committed', head: this.headInfo(node.head), bySync: false });
    if (this.#settle) this.#settled();
  }

  at(time: number, run: () => void): void {
    // Binary insertion after every event due at the same time or earlier (seq order): the same
    // order a full sort by (at, seq) gives, without re-sorting the queue on every insertion.
    const q = this.#queue;
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((q[mid] as Event).at <= time) lo = mid + 1;
      else hi = mid;
    }
    q.splice(lo, 0, { at: time, seq: this.#seq++, run });
  }

  start(): void {
    for (const node of this.nodes) this.#startNode(node, new Map());
    this.#syncTick();
    this.#settled();
  }

  /**
   * Runs every event due now — the messages, block and execution results and commits these cause,
   * FIFO — without advancing time. Throws after `limit` events (a livelock at one instant).
   */
  settle(limit = 200_000): void {
    for (let n = 0; ; n++) {
      const ev = this.#queue[0];
      if (ev === undefined || ev.at > this.now) return;
      if (n >= limit) throw new Error(`settle: more than ${limit} events at ${this.now} ms`);
      this.#queue.shift();
      ev.run();
    }
  }

  #settled(): void {
    if (this.#settle) this.settle();
  }

  /** Block sync, as the runtime does it: a node two or more blocks behind copies committed blocks. */
  /**
   * Whether the built-in block sync runs. It copies the first block committed at each height to a
   * node two behind, whatever `route` says: a test of two sides that each decide turns it off.
   */
  syncing = true;

  #syncTick(): void {
    this.at(this.now + 200, () => {
      if (!this.syncing) return this.#syncTick();
      const best = Math.max(...this.nodes.map((n) => n.head.height));
      for (const node of this.nodes) {
        if (!node.up || node.head.height + 2 > best) continue;
        for (let h = node.head.height + 1; h <= best; h++) {
          const c = this.#chain.get(h);
          if (c === undefined) break;
          node.head = { height: h, hash: c.hash, header: c.block.header };
          this.#extendChain(node, h, c.hash, c.certificate);
          for (const [k, b] of node.executed) if (b.header.height <= h) node.executed.delete(k);
          this.#step(node, {
            kind: 'committed',
            head: this.headInfo(node.head),
            bySync: true,
            block: c.block,
            certificate: c.certificate,
          });
        }
      }
      this.#syncTick();
    });
  }

  #startNode(node: Node<M>, recovered: Map<string, Uint8Array>, lost?: { upToHeight: number }): void {
    const h = node.head;
    this.#apply(
      node,
      node.engine.step({
        kind: 'start',
        head: this.headInfo(h),
        recovered,
        ...(lost === undefined ? {} : { lost }),
      }),
    );
  }

  crash(i: number): void {
    const node = this.nodes[i] as Node<M>;
    node.up = false;
    node.timers.clear();
  }

  /**
   * Restarts node i from its persisted records (its executed blocks are forgotten). With
   * `loseLastCommit`, its chain also lost its last committed block — an unsynced chain write, as
   * the simulator's crash fault does — so it restarts one height behind its consensus records.
   * `lost`: what the runtime tells an engine whose WAL lost records (consensus/types.ts, start).
   */
  restart(i: number, opts: { loseLastCommit?: boolean; lost?: { upToHeight: number } } = {}): void {
    const node = this.nodes[i] as Node<M>;
    if (opts.loseLastCommit && node.head.height > 0) {
      const h = node.head.height - 1;
      const below = this.#chain.get(h);
      if (h > 0 && below === undefined) throw new Error(`no committed block at height ${h}`);
      node.head =
        below === undefined
          ? { height: 0, hash: headerHash(this.genesis), header: this.genesis }
          : { height: h, hash: below.hash, header: below.block.header };
      node.chain.length = node.head.height;
      node.certificates.length = node.head.height;
    }
    node.up = true;
    node.executed.clear();
    node.starts += 1;
    node.engine = this.#createEngine(i, node.starts);
    this.#startNode(node, new Map(node.wal), opts.lost);
    this.#settled();
  }

  /**
   * Delivers `msg` to node `to` as if sent by `from` (no checks: scenarios forge freely), with
   * `signature` (default: `from`'s own with `signMessages`, else zeros).
   */
  inject(from: number, to: number, msg: M, signature?: Uint8Array): void {
    this.#deliver(from, to, msg, signature ?? this.#envelope(from, msg));
    this.#settled();
  }

  run(untilMs: number, stop?: () => boolean): void {
    for (;;) {
      const ev = this.#queue[0];
      if (ev === undefined || ev.at > untilMs) break;
      this.#queue.shift();
      this.now = ev.at;
      ev.run();
      if (stop?.()) return;
    }
    this.now = untilMs;
  }

  height(i: number): number {
    return (this.nodes[i] as Node<M>).head.height;
  }

  #step(node: Node<M>, input: EngineInput<M>): void {
    if (!node.up) return;
    this.#apply(node, node.engine.step(input));
  }

  /** Steps node `i` with any input now (a scenario's hand on the engine). */
  input(i: number, input: EngineInput<M>): void {
    this.#step(this.nodes[i] as Node<M>, input);
    this.#settled();
  }

  /** Fires node `i`'s armed timer `timer` now, with the token it was armed with. */
  fire(i: number, timer: string): void {
    this.#fire(i, timer);
    this.#settled();
  }

  /**
   * Fires `timer` at every running node that has it armed, all before any resulting event runs;
   * returns how many fired.
   */
  fireAll(timer: string): number {
    let fired = 0;
    for (const node of this.nodes) {
      if (!node.up || !node.timers.has(timer)) continue;
      this.#fire(node.index, timer);
      fired++;
    }
    this.#settled();
    return fired;
  }

  #fire(i: number, timer: string): void {
    const node = this.nodes[i] as Node<M>;
    const armed = node.timers.get(timer);
    if (armed === undefined) throw new Error(`node ${i}: timer ${timer} is not armed`);
    node.timers.delete(timer);
    this.#step(
      node,
      armed.token === undefined ? { kind: 'timeout', timer } : { kind: 'timeout', timer, token: armed.token },
    );
  }

  /** Whether node `i` has timer `timer` armed. */
  armed(i: number, timer: string): boolean {
    return (this.nodes[i] as Node<M>).timers.has(timer);
  }

  /** The envelope signature of `msg` from `from`: real with `signMessages`, else zeros. */
  #envelope(from: number, msg: M): Uint8Array {
    return this.#sign ? this.sign(from, msg) : new Uint8Array(64);
  }

  #deliver(from: number, to: number, msg: M, signature: Uint8Array): void {
    const node = this.nodes[to] as Node<M>;
    if (!node.up) return;
    this.observe?.(from, to, msg, this.now);
    // Round-trip through the codec: what a node gets is what the wire carries.
    const codec = this.module.codec;
    const decoded = codec.decode(codec.encode(msg));
    this.#step(node, { kind: 'message', from, msg: decoded, signature });
  }

  /** Sends `msg`, signed by `from` with `signature` (re-signed if `intercept` replaces it), to `to`. */
  #transmit(from: number, to: number, msg: M, signature: Uint8Array): void {
    let m: M | null = msg;
    if (this.intercept !== undefined) m = this.intercept(from, msg, to);
    if (m === null) return;
    const out = m;
    const sig = out === msg ? signature : this.#envelope(from, out);
    if (to === from) {
      this.at(this.now, () => this.#deliver(from, to, out, sig));
      return;
    }
    this.messages++;
    this.bytes += this.module.codec.encode(out).length + 100; // + envelope
    const delay = this.route(from, to, out, this.now);
    if (delay === null) return;
    this.at(this.now + delay, () => this.#deliver(from, to, out, sig));
  }

  /** Node `node` commits block `hash` at `height` (by commit or sync): its chain ends there. */
  #extendChain(node: Node<M>, height: number, hash: Uint8Array, certificate: CommitCertificate): void {
    node.chain.length = height - 1;
    node.certificates.length = height - 1;
    node.chain.push(toHex(hash));
    node.certificates.push(certificate);
  }

  #apply(node: Node<M>, outputs: EngineOutput<M>[]): void {
    const i = node.index;
    if (this.#record) node.outputs.push(...outputs);
    for (const out of outputs) {
      switch (out.kind) {
        case 'persist':
          node.wal.set(out.key, out.record);
          break;
        case 'forget':
          node.wal.delete(out.key);
          break;
        case 'broadcast': {
          this.sent.push({ from: i, to: 'all', msg: out.msg, time: this.now });
          const signature = this.#envelope(i, out.msg);
          for (let j = 0; j < this.nodes.length; j++) this.#transmit(i, j, out.msg, signature);
          break;
        }
        case 'send':
          this.sent.push({ from: i, to: out.to, msg: out.msg, time: this.now });
          this.#transmit(i, out.to, out.msg, this.#envelope(i, out.msg));
          break;
        case 'relay':
          for (let j = 0; j < this.nodes.length; j++)
            if (j !== i && (out.to === undefined || out.to === j))
              this.#transmit(out.from, j, out.msg, out.signature);
          break;
        case 'set-timer': {
          this.timers.push({
            node: i,
            timer: out.timer,
            afterMs: out.afterMs,
            view: node.engine.status().round,
            time: this.now,
          });
          const seq = ++this.#timerSeq;
          const { timer, token } = out;
          node.timers.set(timer, { seq, token });
          this.at(this.now + out.afterMs, () => {
            if (node.timers.get(timer)?.seq !== seq) return;
            node.timers.delete(timer);
            this.#step(
              node,
              token === undefined ? { kind: 'timeout', timer } : { kind: 'timeout', timer, token },
            );
          });
          break;
        }
        case 'cancel-timer':
          node.timers.delete(out.timer);
          break;
        case 'build-block': {
          const parent =
            toHex(out.parent) === toHex(node.head.hash)
              ? node.head.header
              : node.executed.get(toHex(out.parent))?.header;
          if (parent === undefined || parent.height + 1 !== out.height) break;
          const txs: Uint8Array[] = [];
          if (out.empty !== true && this.mempool > 0) {
            this.mempool--;
            txs.push(utf8(`cluster-tx-${++this.#txSeq}`));
          }
          const block = this.buildBlock(i, parent, out.engineData, 0, txs);
          const hash = headerHash(block.header);
          node.executed.set(toHex(hash), block);
          this.at(this.now, () =>
            this.#step(node, { kind: 'block-built', height: out.height, round: out.round, hash, block }),
          );
          break;
        }
        case 'execute': {
          const p = toHex(out.block.header.parentHash);
          const ok =
            out.block.header.height > node.head.height &&
            (p === toHex(node.head.hash) || node.executed.has(p)) &&
            toHex(out.block.header.historyRoot) ===
              toHex(frontierRoot(this.historyOf(out.block.header.parentHash)));
          const fault = this.failExecute?.(i, out.block);
          if (ok && fault === undefined) node.executed.set(toHex(out.hash), out.block);
          this.at(this.now, () =>
            this.#step(node, {
              kind: 'executed',
              hash: out.hash,
              valid: ok && fault === undefined,
              ...(fault !== undefined
                ? { code: fault, reason: 'injected' }
                : ok
                  ? {}
                  : { reason: 'unknown parent' }),
            }),
          );
          break;
        }
        case 'commit': {
          const block = node.executed.get(toHex(out.hash));
          if (block === undefined || toHex(block.header.parentHash) !== toHex(node.head.hash))
            throw new Error(`node ${i}: commit of ${toHex(out.hash).slice(0, 12)} out of order`);
          if (this.#verify && i === 0) {
            const check = verifyCertificate(
              out.certificate,
              block.header,
              this.trust,
              ALL_CERTIFICATE_SCHEMES,
            );
            if (!check.ok) throw new Error(`node ${i}: bad commit certificate: ${check.reason}`);
          }
          node.head = { height: block.header.height, hash: out.hash, header: block.header };
          this.#extendChain(node, block.header.height, out.hash, out.certificate);
          if (!this.#chain.has(block.header.height))
            this.#chain.set(block.header.height, { block, hash: out.hash, certificate: out.certificate });
          this.commits.push({
            node: i,
            height: block.header.height,
            hash: toHex(out.hash),
            time: this.now,
            certificate: out.certificate,
          });
          for (const [k, b] of node.executed)
            if (b.header.height <= block.header.height) node.executed.delete(k);
          const head = this.headInfo(node.head);
          this.at(this.now, () => this.#step(node, { kind: 'committed', head, bySync: false }));
          break;
        }
        case 'evidence':
          this.evidence.push({ node: i, evidence: out.evidence });
          break;
        case 'log':
          break;
      }
    }
  }

  /** Agreement: no two nodes committed different blocks at one height. */
  agreement(): boolean {
    const at = new Map<number, string>();
    for (const c of this.commits) {
      const prior = at.get(c.height);
      if (prior !== undefined && prior !== c.hash) return false;
      at.set(c.height, c.hash);
    }
    return true;
  }
}
