/**
 * The consensus runtime: drives one engine over the ledger. It owns the things an engine may not
 * touch — network, storage, timers, clock, keys — and turns engine outputs into effects:
 *
 *  - signs outgoing messages at the boundary (consensus/envelope.ts), verifies incoming ones once,
 *    and catches equivocation by anyone (equivocation-watch.ts);
 *  - makes the engine's `persist` records, and each signature's double-sign guard entry
 *    (signing-guard.ts), durable before the step's messages are sent;
 *  - builds, executes and commits blocks on the chain store (with speculative parents), holding
 *    blocks from this node's future (block times: clock-offset.ts);
 *  - admits transactions to the mempool; what clients are answered (client-intake.ts), gossip
 *    (tx-gossip.ts) and block sync (block-sync.ts) are modules of their own;
 *  - halts for good on a fault of its own (a storage error, or any exception: a bug);
 *  - on a chain whose set changes (ledger/staking), starts a new engine instance with the new set
 *    once an epoch's last block is committed (see #enterEpoch).
 *
 * Everything is processed one event at a time from a FIFO queue, so the runtime behaves the same
 * under the simulator (which awaits `idle()` after each event) and in the real node.
 */

import {
  EnvelopeError,
  encodeEnvelope,
  openEnvelope,
  type SignatureVerifier,
} from '../../consensus/envelope.ts';
import type { Equivocation } from '../../consensus/evidence.ts';
import type { Rng } from '../../consensus/rng.ts';
import type {
  ConsensusEngine,
  EngineInput,
  EngineModule,
  EngineOutput,
  EngineSigner,
  EngineStatus,
  Evidence,
  HeadInfo,
  LeaderOverride,
  MembershipTarget,
  ReadMode,
  SignSlot,
} from '../../consensus/types.ts';
import { bls } from '../../crypto/bls/index.ts';
import { equalBytes } from '../../crypto/bytes.ts';
import { invariant, onlyTyped, VerityError } from '../../crypto/errors.ts';
import { sha256 } from '../../crypto/hash.ts';
import type { BatchVerifier } from '../../crypto/signature-batch.ts';
import { vrf } from '../../crypto/vrf.ts';
import type { Block } from '../../ledger/block.ts';
import type { CommitCertificate } from '../../ledger/certificate.ts';
import type { ChainStore, ExecutedBlock, TxLocation } from '../../ledger/chain.ts';
import type { Clock } from '../../ledger/clock.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import type { Hlc } from '../../ledger/hlc.ts';
import { type KvStore, StorageError } from '../../ledger/kv.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import type { LedgerState } from '../../ledger/state.ts';
import type { EncodedTransaction } from '../../ledger/tx.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { BlockPipeline, DEFAULT_BUILD_MAX_TXS, DEFAULT_MAX_FUTURE_DRIFT_MS } from './block-pipeline.ts';
import { BlockSync } from './block-sync.ts';
import {
  ClientIntake,
  MAX_PENDING_INTAKE,
  MAX_PENDING_INTAKE_BYTES,
  type SyncingAnswer,
} from './client-intake.ts';
import { BlockClock } from './clock-offset.ts';
import { CommitWaiters } from './commit-waiters.ts';
import {
  ALL_ENGINE_RECORDS,
  type Epoch,
  epochAfterHead,
  forgetEngineRecordsBefore,
  genesisEpoch,
  readEngineRecords,
} from './epoch.ts';
import { EventQueue } from './event-queue.ts';
import { EvidenceRelay } from './evidence-relay.ts';
import { type AdmitResult, Mempool, type MempoolOptions } from './mempool.ts';
import { sealOutputs } from './output-sealer.ts';
import { type Channel, type Logger, type Miner, silentLogger, type Timers, type Transport } from './ports.ts';
import { ReadBarrier, ReadError } from './read-barrier.ts';
import type { SignFenceStore } from './sign-fence.ts';
import { SigningGuard, type WalLoss } from './signing-guard.ts';
import { DEFAULT_SNAPSHOT_LEAD, SnapshotSync } from './snapshot-sync.ts';
import { decodeSync, type SyncMessage } from './sync-codec.ts';
import { TxGossip } from './tx-gossip.ts';
import { CheckedWal } from './wal-records.ts';

/** A read the engine has not confirmed (and the chain reached) within this fails with READ_TIMEOUT. */
const READ_TIMEOUT_MS = 5_000;

export interface ValidatorKeys {
  readonly ed25519: Uint8Array;
  readonly bls?: Uint8Array;
  readonly blsShare?: {
    readonly index: number;
    readonly secretKey: Uint8Array;
    readonly publicKey: Uint8Array;
  };
  /** ECVRF secret key (RFC 9381), for engines that draw by VRF. */
  readonly vrf?: Uint8Array;
}

export interface RuntimeHooks {
  /** Every message this node signed (after the guard allowed it). */
  onSigned?(slot: SignSlot | undefined, hash: Uint8Array, description: string, epoch: number): void;
  onCommit?(executed: ExecutedBlock, certificate: CommitCertificate, bySync: boolean): void;
  onEvidence?(evidence: Evidence): void;
  /** A message the guard refused to sign (would have been a double sign). */
  onRefused?(slot: SignSlot, description: string): void;
  /** Equivocation evidence this node caught or received (verified), once per validator and slot. */
  onEquivocation?(evidence: Equivocation): void;
  /** Consensus stopped on this node for good (see `ConsensusRuntime.halted`). */
  onHalt?(halt: Halt): void;
  /** This node's miner solved a block (Proof of Work). */
  onMined?(): void;
  /** This node's engine runs a new epoch with this set (after start, or at a boundary). */
  onEpoch?(epoch: number, validators: ValidatorSet): void;
  /** A transaction this node made itself (an evidence report), before it enters the mempool. */
  onOriginated?(etx: EncodedTransaction): void;
}

/**
 * Why consensus stopped on this node: its storage failed (`STORAGE_*` codes, the node's own fault,
 * never a peer's) or an invariant broke (any other exception escaping an event: a bug). Either
 * way continuing could sign or commit on state the node cannot trust, so it stops — as CometBFT
 * halts on a panic in consensus and TigerBeetle on a failed assertion.
 */
export interface Halt {
  readonly code: string;
  readonly message: string;
  readonly error: unknown;
}

/** An engine's own `halt` output (consensus/types.ts): a condition it cannot go on from. */
export class EngineHalt extends VerityError<string> {}

/** A failure of this node's own storage. */
export function isStorageFault(e: unknown): e is StorageError {
  return e instanceof StorageError;
}

export interface RuntimeOptions<M> {
  readonly engine: EngineModule<M>;
  readonly genesis: Genesis;
  readonly chain: ChainStore;
  readonly transport: Transport;
  readonly timers: Timers;
  readonly clock: Clock;
  /**
   * A monotonic clock in ms (leases: consensus/types.ts EngineContext.monotonicMs; intake's turns
   * in the event queue, event-queue.ts); optional.
   */
  readonly monotonicMs?: () => number;
  /** The simulator's leader choice (Twins scenarios): consensus/types.ts EngineContext.leaderOverride. */
  readonly leaderOverride?: LeaderOverride;
  /** Consensus write-ahead store: the engine record and the double-sign guard. Must be synced. */
  readonly wal: KvStore;
  /** Undefined for a non-validator (observer) node. */
  readonly keys: ValidatorKeys | undefined;
  readonly rng: Rng;
  readonly logger?: Logger;
  readonly verify?: SignatureVerifier;
  /**
   * Checks transaction signatures in batches (a worker pool): gossip frames, and a proposal's or
   * synced block's transactions not seen before. Default: one by one here.
   */
  readonly txVerifier?: BatchVerifier;
  readonly mempool?: MempoolOptions;
  readonly maxBlockTxs?: number;
  readonly maxBlockBytes?: number;
  /**
   * A block this node builds waits until its parent's timestamp plus this long (at most this long)
   * (stretched toward `busyBlockIntervalMs` when busy) unless the pool holds a full block
   * (block-pipeline.ts #paceWaitMs). Default 0: back to back, busy or not.
   */
  readonly minBlockIntervalMs?: number;
  /**
   * The floor when this node is saturated (`load` at PACE_LOAD_HIGH or more); between, it
   * stretches linearly from `minBlockIntervalMs` (block-pipeline.ts blockFloorMs). Default:
   * `minBlockIntervalMs` (no stretch).
   */
  readonly busyBlockIntervalMs?: number;
  /**
   * How busy this node is, 0 to 1 (the node: its event loop's busy share over the last second,
   * src/node/event-loop-load.ts; the simulator: a scripted value). Default: never busy.
   */
  readonly load?: () => number;
  readonly maxFutureDriftMs?: number;
  /** Grinds Proof-of-Work nonces for an engine that asks to `mine` (ports.ts Miner). */
  readonly miner?: Miner;
  readonly statusIntervalMs?: number;
  /** With no new block for this long while a peer is ahead, sync from it. */
  readonly syncStaleMs?: number;
  /**
   * State sync (snapshot-sync.ts): with an empty chain, take a snapshot from a peer at least this
   * many blocks ahead instead of replaying; 0: never (snapshots are served either way). Default
   * DEFAULT_SNAPSHOT_LEAD.
   */
  readonly snapshotLead?: number;
  readonly hooks?: RuntimeHooks;
  /**
   * The sign fence (sign-fence.ts): what this validator signed, kept outside the WAL so that a
   * WAL that lost records is detected. Validators should have one; without it a damaged WAL goes
   * unnoticed.
   */
  readonly fence?: SignFenceStore;
  /**
   * Called after this node built a block, with a way to build and register (as executed) another
   * block at the same position: the simulator's equivocating validators use it (src/sim).
   */
  readonly afterBuild?: (built: BuiltBlock, buildAnother: BuildAnother) => Promise<void>;
}

/** A block this node just built, and what it was built from. */
export interface BuiltBlock {
  readonly hash: Uint8Array;
  readonly block: Block;
  readonly txs: readonly EncodedTransaction[];
}

/** Builds another block on the same parent, with the same engine data; it can then be executed and committed. */
export type BuildAnother = (o: { txs: readonly EncodedTransaction[]; time: Hlc }) => Promise<{
  readonly hash: Uint8Array;
  readonly block: Block;
}>;

export class ConsensusRuntime<M> {
  readonly #o: RuntimeOptions<M>;
  #engine: ConsensusEngine<M>;
  readonly #logger: Logger;
  readonly mempool: Mempool;
  /** The epoch the engine instance runs: its number, set, base block and this node's place (epoch.ts). */
  #current: Epoch;
  /** The committed membership request, for engines that carry it out (EngineModule.membership). */
  #membership: MembershipTarget | undefined;
  readonly #signer: EngineSigner;
  readonly #chainId: string;
  /** Every event, one at a time: consensus work first, transaction intake in its share. */
  readonly #events: EventQueue;
  #halt: Halt | undefined;
  readonly #blockClock: BlockClock;
  /** The consensus WAL, every record framed and checksummed (wal-records.ts). */
  readonly #wal: CheckedWal;
  /** Damaged WAL records dropped at start by a node that keeps no signing state (walLoss). */
  #droppedLoss: WalLoss | undefined;
  /** What clients' submissions are answered: backpressure, halted, syncing (client-intake.ts). */
  readonly #intake: ClientIntake;
  /** Per engine timer, how many times it was set or cancelled (see 'set-timer' in #apply). */
  readonly #timerGenerations = new Map<string, number>();
  readonly #guard: SigningGuard;
  /** Building, executing, holding, mining and committing blocks (block-pipeline.ts). */
  readonly #pipeline: BlockPipeline<M>;
  /** Equivocation caught, received, passed on and reported for slashing (evidence-relay.ts). */
  readonly #evidence: EvidenceRelay<M>;
  /**
   * Block sync's view of each peer: the height it last claimed, when (our clock), and how many
   * block requests to it failed since it last served one (timeout, empty or invalid reply).
   */
  readonly #sync: BlockSync;
  readonly #snapshots: SnapshotSync;
  readonly #gossip: TxGossip;
  #headState: LedgerState | undefined;
  readonly #commitWaiters: CommitWaiters;
  readonly #reads: ReadBarrier;
  /** Counters for metrics and the simulator summary. */
  readonly counters = {
    messagesIn: 0,
    messagesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    rejected: 0,
    syncedBlocks: 0,
    /** Of those, blocks this node had executed already (from consensus): committed as they were. */
    syncedReused: 0,
    /** Block requests that timed out or got an empty or invalid reply. */
    syncFailures: 0,
    /** State snapshots installed (snapshot-sync.ts), and sessions abandoned. */
    snapshots: 0,
    snapshotFailures: 0,
    evidence: 0,
    /** Proof-of-Work blocks this node mined (its miner solved). */
    blocksMined: 0,
    /** Equivocation evidence held (caught or received, verified). */
    equivocations: 0,
    /** Gossiped transactions dropped unread: the intake queue was over four times its bound. */
    droppedTxGossip: 0,
    /** Gossiped transactions skipped unverified: the mempool had no room for them. */
    txGossipNoRoom: 0,
    /** Consensus messages of another epoch (a peer on the other side of a boundary): set aside. */
    otherEpoch: 0,
    /** Epoch boundaries crossed (a new engine instance started). */
    epochs: 0,
    /** Heights at which block sync was served a certified block of a conflicting chain. */
    certifiedForks: 0,
  };

  constructor(opts: RuntimeOptions<M>) {
    this.#o = opts;
    this.#events = new EventQueue((e) => this.halt(e), opts.monotonicMs ? { now: opts.monotonicMs } : {});
    this.#logger = opts.logger ?? silentLogger;
    this.#chainId = opts.genesis.chainId;
    this.#current = genesisEpoch(opts.genesis, opts.keys?.ed25519);
    const { validators, self } = this.#current;
    this.#wal = new CheckedWal(opts.wal);
    this.#commitWaiters = new CommitWaiters((id) => opts.chain.getTxLocation(id));
    this.#reads = new ReadBarrier(opts.timers);
    this.#guard = new SigningGuard({ wal: this.#wal, fence: opts.fence, logger: this.#logger });
    this.#sync = new BlockSync({
      chain: opts.chain,
      genesis: opts.genesis,
      transport: opts.transport,
      timers: opts.timers,
      clock: opts.clock,
      logger: this.#logger,
      ...(opts.statusIntervalMs === undefined ? {} : { statusIntervalMs: opts.statusIntervalMs }),
      ...(opts.syncStaleMs === undefined ? {} : { syncStaleMs: opts.syncStaleMs }),
      ...(opts.maxFutureDriftMs === undefined ? {} : { maxFutureDriftMs: opts.maxFutureDriftMs }),
      ...(opts.txVerifier === undefined ? {} : { txVerifier: opts.txVerifier }),
      known: (bytes) => this.mempool.pendingWithBytes(bytes),
      executedBlock: (hash) => this.#pipeline.executed.get(hash),
      counters: this.counters,
      send: (to, bytes) => this.#send(to, 'sync', bytes),
      enqueue: (fn) => this.#events.enqueue(fn),
      committed: (executed, certificate) => this.#afterCommit(executed, certificate, true),
      forgotten: (peer) => this.#blockClock.forget(peer),
      certifiedFork: (from, block, certificate) => this.#pipeline.certifiedFork(from, block, certificate),
      paused: () => this.#snapshots.active(),
      ...(opts.engine.chainWork === undefined
        ? {}
        : {
            headWork: () =>
              (opts.engine.chainWork as NonNullable<EngineModule<M>['chainWork']>)(
                opts.chain.head.engineData,
                opts.chain.height,
              ),
          }),
    });
    this.#snapshots = new SnapshotSync({
      chain: opts.chain,
      transport: opts.transport,
      timers: opts.timers,
      clock: opts.clock,
      logger: this.#logger,
      minLead: opts.snapshotLead ?? DEFAULT_SNAPSHOT_LEAD,
      counters: this.counters,
      send: (to, bytes) => this.#send(to, 'sync', bytes),
      enqueue: (fn) => this.#events.enqueue(fn),
      installed: () => this.#afterSnapshot(),
    });
    this.#blockClock = new BlockClock({
      clock: opts.clock,
      driftMs: opts.maxFutureDriftMs ?? DEFAULT_MAX_FUTURE_DRIFT_MS,
      validatorPeers: new Set(validators.validators.filter((v) => v.index !== self).map((v) => v.peerId)),
      logger: this.#logger,
      beforeReading: () => this.#sync.prunePeers(),
    });
    this.#signer = {
      ...(opts.keys?.bls === undefined ? {} : { blsSign: (m: Uint8Array) => this.#blsSign(m) }),
      ...(opts.keys?.blsShare === undefined
        ? {}
        : { blsShareSign: (m: Uint8Array) => this.#blsShareSign(m) }),
      ...(opts.keys?.vrf === undefined
        ? {}
        : { vrfProve: (alpha: Uint8Array) => vrf.prove(opts.keys?.vrf as Uint8Array, alpha) }),
    };
    this.#engine = this.#createEngine();
    this.mempool = new Mempool(
      async (address, key) => (await this.#headStateView()).getAccount(address, key),
      opts.mempool,
    );
    this.mempool.onAvailable = () => this.#events.enqueue(() => this.#step({ kind: 'txs-available' }));
    this.#intake = new ClientIntake({
      events: this.#events,
      mempool: this.mempool,
      maxBlockTxs: opts.maxBlockTxs ?? DEFAULT_BUILD_MAX_TXS,
      gossip: (bytes) => this.#gossip.add(bytes),
      syncStatus: () => this.#sync.status(),
      height: () => opts.chain.height,
    });
    this.#evidence = new EvidenceRelay<M>({
      options: opts,
      mempool: this.mempool,
      gossip: () => this.#gossip,
      log: this.#logger,
      counters: this.counters,
      current: () => this.#current,
      headState: () => this.#headStateView(),
      broadcast: (bytes) => this.#send(undefined, 'sync', bytes),
      enqueueBulk: (fn) => this.#events.enqueue(fn, 'bulk'),
    });
    this.#pipeline = new BlockPipeline<M>({
      options: opts,
      certifyingDescendants: opts.engine.certifyingDescendants?.(opts.genesis.engine.params) ?? 0,
      mempool: this.mempool,
      clock: this.#blockClock,
      log: this.#logger,
      counters: this.counters,
      epoch: () => this.#current.epoch,
      selfAddress: () => this.#current.selfAddress,
      headState: () => this.#headStateView(),
      step: (input) => this.#step(input),
      enqueue: (fn) => this.#events.enqueue(fn),
      sameInstance: (fn) => this.#sameInstance(fn),
      afterCommit: (executed, certificate, bySync) => this.#afterCommit(executed, certificate, bySync),
    });
    this.#gossip = new TxGossip({
      chainId: this.#chainId,
      mempool: this.mempool,
      transport: opts.transport,
      timers: opts.timers,
      ...(opts.mempool?.maxTxBytes === undefined ? {} : { maxTxBytes: opts.mempool.maxTxBytes }),
      ...(opts.txVerifier === undefined ? {} : { verifier: opts.txVerifier }),
      counters: this.counters,
      send: (frame) => this.#send(undefined, 'tx', frame),
      sendTo: (peer, frame) => this.#send(peer, 'tx', frame),
      isValidator: (peer) => this.#current.validators.byPeerId(peer) !== undefined,
      selfIsValidator: () => this.#current.self !== undefined,
      enqueue: (fn) => this.#events.enqueue(fn),
      enqueueIntake: (fn, bytes) => this.#events.enqueueIntake(fn, bytes),
      fault: (e) => this.halt(e),
    });
  }

  /** An engine instance for the current epoch and set. */
  #createEngine(): ConsensusEngine<M> {
    const o = this.#o;
    return o.engine.create({
      chainId: this.#chainId,
      ...(this.#current.epoch === 0 ? {} : { epoch: this.#current.epoch, base: this.#current.base }),
      validators: this.#current.validators,
      genesisTimeMs: o.genesis.genesisTime,
      nowMs: () => this.#blockClock.networkNow(),
      self: this.#current.self,
      params: o.engine.parseParams(o.genesis.engine.params, this.#current.validators),
      rng: o.rng.derive(this.#current.epoch === 0 ? 'engine' : `engine/epoch-${this.#current.epoch}`),
      signer: this.#signer,
      ...(o.genesis.threshold === undefined ? {} : { threshold: o.genesis.threshold }),
      ...(o.monotonicMs === undefined ? {} : { monotonicMs: o.monotonicMs }),
      ...(o.leaderOverride === undefined ? {} : { leaderOverride: o.leaderOverride }),
    });
  }

  /** This node's validator index in the current epoch's set, or undefined. */
  get self(): number | undefined {
    return this.#current.self;
  }

  /** The epoch the engine runs (0 without staking) and its validator set. */
  get epoch(): { readonly epoch: number; readonly validators: ValidatorSet } {
    return { epoch: this.#current.epoch, validators: this.#current.validators };
  }

  /**
   * Runs `fn` only if the engine instance that asked for it is still the current one: by identity,
   * not by epoch number, since state sync starts a new instance in the same epoch (#afterSnapshot)
   * and the old one's queued work (a build held for the block floor, an execution, a commit) names
   * blocks of a head that is gone.
   */
  #sameInstance<T>(fn: () => T): () => T | undefined {
    const engine = this.#engine;
    return () => (this.#engine === engine ? fn() : undefined);
  }

  #blsSign(message: Uint8Array): Uint8Array {
    return bls.sign(this.#o.keys?.bls as Uint8Array, message);
  }

  #blsShareSign(message: Uint8Array): { index: number; signature: Uint8Array } {
    const share = this.#o.keys?.blsShare;
    if (share === undefined) throw new Error('no threshold share');
    return bls.threshold.signShare(share, message);
  }

  get chain(): ChainStore {
    return this.#o.chain;
  }

  status(): EngineStatus {
    return this.#engine.status();
  }

  /** Loads the write-ahead state, starts the engine and the status ticker. */
  async start(): Promise<void> {
    const { migrated } = await this.#wal.open();
    if (migrated > 0) this.#logger.info('consensus WAL records framed with checksums', { records: migrated });
    const chain = this.#o.chain;
    if (this.#o.genesis.staking !== undefined) {
      // The epoch of the next block to commit, and its set, from this node's own chain.
      this.#current = await epochAfterHead(chain, this.#o.genesis, this.#o.keys?.ed25519);
      this.#o.transport.admitValidators?.(this.#current.validators.validators.map((v) => v.peerId));
      if (this.#current.epoch !== 0) this.#engine = this.#createEngine();
      this.#evidence.watch.enterEpoch(this.#current.epoch);
      this.#o.hooks?.onEpoch?.(this.#current.epoch, this.#current.validators);
    }
    // Read before the guard loads: a damaged record among them is a loss the guard must count —
    // every epoch's, though only this one's are the engine's now.
    for await (const _ of this.#wal.iterate(ALL_ENGINE_RECORDS));
    const recovered = await readEngineRecords(this.#wal, this.#current.epoch);
    // Keys that may sign in some epoch: this node's guard matters even while it is out of the set.
    // (An engine whose messages have no double-sign slot keeps no signing state to guard.)
    const maySign =
      this.#o.engine.slotless !== true &&
      this.#o.keys !== undefined &&
      (this.#current.self !== undefined || this.#o.genesis.staking !== undefined);
    if (maySign) await this.#guard.load(chain.height);
    else if (this.#wal.damaged().length > 0) {
      // Nothing was signed from this WAL: its damaged records are simply not used.
      const records = [...this.#wal.damaged()];
      this.#logger.warn('consensus WAL records failed their checksum and were dropped', { records });
      this.#droppedLoss = { gap: false, damagedRecords: records };
      await this.#wal.dropDamaged();
    }
    this.#o.transport.onMessage((from, channel, bytes) => this.#onNetwork(from, channel, bytes));
    this.#sync.progressed();
    const fence = this.#guard.refusing(this.#current.epoch);
    this.#events.enqueue(async () => {
      await this.#readMembership();
      await this.#step({
        kind: 'start',
        head: this.#headInfo(),
        recovered,
        ...(fence === undefined ? {} : { lost: { upToHeight: fence.upToHeight } }),
      });
    });
    this.#events.enqueue(() => this.#sync.broadcastStatus());
    this.#armStatusTimer();
    await this.idle();
  }

  /**
   * While a consensus WAL's loss keeps this validator from signing: the slots it refuses
   * (signing-guard.ts; cleared once it signs above them).
   */
  signingFence(): { upToHeight: number; upToViewRound: number } | undefined {
    return this.#guard.refusing(this.#current.epoch);
  }

  /** What the last start found lost from the consensus WAL (undefined: nothing). */
  walLoss(): WalLoss | undefined {
    return this.#guard.loss ?? this.#droppedLoss;
  }

  stop(): void {
    this.#events.stop();
    this.#o.timers.cancelAll();
    this.#pipeline.cancelMining();
    void this.#o.miner?.close?.();
    this.#intake.answerHalted();
  }

  /** Set once consensus halted on this node (a local storage fault or a broken invariant). */
  get halted(): Halt | undefined {
    return this.#halt;
  }

  /**
   * Stops consensus for good on a fault of this node: also called by the node when its storage
   * fails outside consensus (an RPC read of a damaged block).
   */
  halt(e: unknown): void {
    if (this.#halt !== undefined) return;
    const code = e instanceof VerityError ? e.code : 'INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    this.#halt = { code, message, error: e };
    this.stop();
    this.#logger.error(
      isStorageFault(e)
        ? "consensus halted: this node's storage failed (not a peer's fault)"
        : e instanceof EngineHalt
          ? `consensus halted by the engine: ${message}`
          : 'consensus halted: an unexpected error (a bug); nothing more is signed or committed',
      {
        code,
        error: message,
        ...(e instanceof VerityError ? e.meta : {}),
        ...(isStorageFault(e) || e instanceof EngineHalt ? {} : { stack: (e as Error).stack }),
      },
    );
    this.#o.hooks?.onHalt?.(this.#halt);
  }

  debugBusy(): string {
    return this.#events.debug();
  }

  /** Resolves once every queued event has been processed. */
  idle(): Promise<void> {
    return this.#events.idle();
  }

  /** Whether transaction intake is past what the node can admit soon (client-intake.ts). */
  get overloaded(): boolean {
    return this.#intake.overloaded;
  }

  /** NODE_SYNCING, naming the heights, while this node catches up; undefined when it does not. */
  syncingAnswer(): SyncingAnswer | undefined {
    return this.#intake.syncingAnswer();
  }

  /** Admits a transaction from a client (decoded + verified by the caller) and gossips it. */
  submit(etx: EncodedTransaction): Promise<AdmitResult> {
    return this.#intake.admit([etx], (results) => results[0] as AdmitResult);
  }

  /**
   * Admits several client transactions (decoded + verified by the caller) as one unit of intake:
   * nothing else runs between them, so a block built meanwhile sees the whole batch rather than
   * its first transaction (a lone validator otherwise commits a block per transaction, each with
   * its own fsyncs). One result per transaction, in order.
   */
  submitMany(etxs: readonly EncodedTransaction[]): Promise<AdmitResult[]> {
    return this.#intake.admit(etxs, (results) => results);
  }

  /**
   * Resolves once a read in `mode` may be served from this node's committed state: the engine
   * confirmed it (read-barrier.ts) and the chain reached the index it named. Returns that index.
   * A typed ReadError otherwise: READ_UNAVAILABLE (the engine offers no such reads), READ_FAILED
   * (no leader, leadership lost), READ_TIMEOUT.
   */
  read(mode: ReadMode, timeoutMs = READ_TIMEOUT_MS): Promise<number> {
    if (!this.#o.engine.reads.includes(mode))
      return Promise.reject(
        new ReadError(
          'READ_UNAVAILABLE',
          `${this.#o.engine.name} cannot confirm ${mode} reads (it offers ${this.#o.engine.reads.join(', ') || 'local reads only'}); use consistency=local`,
        ),
      );
    return this.#reads.read(
      (id) => this.#events.enqueue(() => this.#step({ kind: 'read', id, mode })),
      () => this.#o.chain.height,
      timeoutMs,
    );
  }

  /** Resolves with where transaction `id` took effect, once committed by any path (commit-waiters.ts). */
  waitForCommit(id: Uint8Array, signal?: AbortSignal): Promise<TxLocation> {
    return this.#commitWaiters.wait(id, signal);
  }

  /** This node's clock against the validators' (positive: ahead), and whether it is off. */
  clockOffset(): { offsetMs: number; peers: number; off: boolean } | undefined {
    return this.#blockClock.offset();
  }

  /**
   * Whether this node is catching up through block sync, and the best height a connected peer
   * reported recently.
   */
  syncStatus(): { syncing: boolean; bestPeerHeight: number } {
    return this.#sync.status();
  }

  #headInfo(): HeadInfo {
    const chain = this.#o.chain;
    return {
      height: chain.height,
      hash: chain.headHash,
      time: chain.head.time,
      history: chain.history.frontier(),
      engineData: chain.head.engineData,
      ...(this.#membership === undefined ? {} : { membership: this.#membership }),
    };
  }

  /**
   * The membership the committed state asks for (ledger/membership.ts), as indices of this epoch's
   * set, for an engine that carries it out: read at each start and after a block that requested one.
   */
  async #readMembership(): Promise<void> {
    if (this.#o.engine.membership !== true) return;
    const r = await this.#o.chain.membershipRequest();
    if (r === undefined) return;
    const indices = (addresses: readonly Uint8Array[]) =>
      addresses.map((a) => this.#current.validators.byAddress(a)?.index).filter((i) => i !== undefined);
    this.#membership = { seq: r.seq, voters: indices(r.voters), learners: indices(r.learners) };
  }

  async #headStateView(): Promise<LedgerState> {
    if (this.#headState === undefined) this.#headState = await this.#o.chain.stateAt();
    return this.#headState;
  }

  // -- engine --------------------------------------------------------------------------------

  async #step(input: EngineInput<M>): Promise<void> {
    const outputs = this.#engine.step(input);
    if (outputs.length > 0) await this.#apply(outputs);
  }

  async #apply(outputs: EngineOutput<M>[]): Promise<void> {
    // 1. Durable first: the engine records, and the guard entry (slot → signed envelope) of every
    //    message this step signs, in one synced batch before anything leaves the node.
    const codec = this.#o.engine.codec;
    const secretKey = this.#o.keys?.ed25519;
    const index = this.self;
    const { walOps, sealed, replaced } = sealOutputs(outputs, {
      codec,
      chainId: this.#chainId,
      epoch: this.#current.epoch,
      signer: secretKey === undefined || index === undefined ? undefined : { index, secretKey },
      guard: this.#guard,
      log: this.#logger,
      onRefused: (slot, description) => this.#o.hooks?.onRefused?.(slot, description),
    });
    await this.#guard.flush(walOps, this.#o.chain.height);

    // 2. Effects, in order.
    for (const out of outputs) {
      switch (out.kind) {
        case 'broadcast':
        case 'send': {
          const to = out.kind === 'send' ? out.to : undefined;
          const original = replaced.get(out);
          if (original !== undefined) this.#sendSealed(original, undefined, to);
          else {
            const seal = sealed.get(out);
            if (seal !== undefined)
              this.#sendSealed(seal.bytes, { msg: out.msg, signature: seal.signature }, to);
          }
          break;
        }
        case 'relay':
          if (out.to === undefined)
            this.#send(
              undefined,
              'consensus',
              encodeEnvelope(codec.encode(out.msg), out.from, out.signature, this.#current.epoch),
            );
          else {
            const peer = this.#current.validators.at(out.to)?.peerId;
            if (peer !== undefined && out.to !== this.self)
              this.#send(
                peer,
                'consensus',
                encodeEnvelope(codec.encode(out.msg), out.from, out.signature, this.#current.epoch),
              );
          }
          break;
        case 'set-timer': {
          // A timer that fired while other events were queued reaches the engine later; if the
          // engine re-armed or cancelled it meanwhile (it moved on to another view), that firing
          // is stale and is dropped here — engines never see a timer they no longer armed.
          const { timer, token } = out;
          const generation = this.#timerGeneration(timer);
          this.#o.timers.set(`engine:${timer}`, out.afterMs, () =>
            this.#events.enqueue(() =>
              // (A new engine instance starts a new generation of every timer: see #startInstance.)
              this.#timerGenerations.get(timer) === generation
                ? this.#step(
                    token === undefined ? { kind: 'timeout', timer } : { kind: 'timeout', timer, token },
                  )
                : undefined,
            ),
          );
          break;
        }
        case 'cancel-timer':
          this.#timerGeneration(out.timer);
          this.#o.timers.cancel(`engine:${out.timer}`);
          break;
        case 'persist':
        case 'forget':
          break; // done above
        // Queued work of an engine instance is dropped once another instance replaces it (a new epoch,
        // or state sync).
        case 'build-block':
          this.#events.enqueue(this.#sameInstance(() => this.#pipeline.build(out)));
          break;
        case 'execute':
          this.#events.enqueue(this.#sameInstance(() => this.#pipeline.execute(out.block, out.hash)));
          break;
        case 'commit':
          this.#events.enqueue(this.#sameInstance(() => this.#pipeline.commit(out.hash, out.certificate)));
          break;
        case 'mine':
          this.#pipeline.mine(out.hash, out.target);
          break;
        case 'cancel-mine':
          this.#pipeline.cancelMining();
          break;
        case 'halt':
          this.halt(new EngineHalt(out.code, out.message));
          return;
        case 'evidence':
          this.counters.evidence++;
          this.#logger.warn('byzantine evidence', { ...out.evidence });
          this.#o.hooks?.onEvidence?.(out.evidence);
          break;
        case 'log':
          this.#logger[out.level](out.message, out.fields);
          break;
        case 'read-ready':
          this.#reads.ready(out.id, out.index);
          break;
        case 'read-failed':
          this.#reads.failed(out.id, out.reason);
          break;
      }
    }
  }

  /** Starts a new generation of engine timer `timer` (set or cancelled): earlier firings are stale. */
  #timerGeneration(timer: string): number {
    const g = (this.#timerGenerations.get(timer) ?? 0) + 1;
    this.#timerGenerations.set(timer, g);
    return g;
  }

  /** Sends a sealed envelope; `msg` is its decoded content if known (else decoded for the loopback). */
  #sendSealed(
    envelope: Uint8Array,
    known: { msg: M; signature: Uint8Array } | undefined,
    to: number | undefined,
  ): void {
    const self = this.self;
    if (self === undefined) return;
    const codec = this.#o.engine.codec;
    // Decoding our own envelope again is only needed for a re-sent original (the guard case).
    const opened: { msg: M; signature: Uint8Array } =
      known ??
      openEnvelope<M>(
        envelope,
        codec,
        this.#current.validators,
        this.#chainId,
        () => true,
        this.#current.epoch,
      );
    const own = opened.msg;
    const signature = opened.signature;
    this.#o.hooks?.onSigned?.(
      codec.slot(own),
      sha256(codec.signingBytes(own, this.#domain())),
      codec.describe(own),
      this.#current.epoch,
    );
    if (to === undefined || to === self) {
      // Own messages take the same path as everyone else's: loop back into the engine.
      this.#events.enqueue(
        this.#sameInstance(() => this.#step({ kind: 'message', from: self, msg: own, signature })),
      );
    }
    if (to === undefined) this.#send(undefined, 'consensus', envelope);
    else if (to !== self) {
      const peer = this.#current.validators.at(to)?.peerId;
      if (peer !== undefined) this.#send(peer, 'consensus', envelope);
    }
  }

  #send(to: string | undefined, channel: Channel, bytes: Uint8Array): void {
    this.counters.messagesOut++;
    this.counters.bytesOut += bytes.length;
    if (to === undefined) this.#o.transport.broadcast(channel, bytes);
    else this.#o.transport.send(to, channel, bytes);
  }

  async #afterCommit(
    executed: ExecutedBlock,
    certificate: CommitCertificate,
    bySync: boolean,
  ): Promise<void> {
    const height = executed.block.header.height;
    // The block's own post-state is the new head's: its trie already holds the paths the block
    // wrote, decoded, and its account cache the accounts it touched. A view opened afresh from the
    // state root would load and decode every one of them again for the mempool's first look at
    // each sender. Only read through here (children execute on tries of their own).
    invariant(equalBytes(executed.hash, this.#o.chain.headHash), 'the block just committed is the head');
    this.#headState = executed.state;
    this.#sync.progressed();
    this.#pipeline.executed.pruneTo(height);
    await this.mempool.update(executed.txs);
    const position = this.#o.engine.guardPosition?.(executed.block.header);
    if (position === undefined) {
      this.#pruneGuard(height, this.#current.base.height);
      this.#evidence.watch.prune(height - this.#current.base.height); // slot numbers count from the epoch's base
    } else {
      // The engine numbers its slots by time, from genesis in every epoch.
      this.#pruneGuard(position, 0);
      this.#evidence.watch.prune(position);
    }
    invariant(executed.entries.length === executed.txs.length, 'one log entry per committed transaction');
    if (executed.txs.some((t) => t.tx.op.type === 'membership')) await this.#readMembership();
    this.#commitWaiters.committed({
      height,
      logSize: executed.block.header.logSize,
      txs: executed.txs,
      receipts: executed.receipts,
    });
    this.#reads.committed(height);
    this.#o.hooks?.onCommit?.(executed, certificate, bySync);
    this.#sync.broadcastStatus();
    if (this.#o.chain.isSuffix(height + 1, this.#current.epoch)) {
      // The epoch's last block is committed: its engine's work is done.
      await this.#enterEpoch();
      if (this.mempool.includable) await this.#step({ kind: 'txs-available' });
      return;
    }
    await this.#step({
      kind: 'committed',
      head: this.#headInfo(),
      bySync,
      block: executed.block,
      certificate,
    });
    if (this.mempool.includable) await this.#step({ kind: 'txs-available' });
  }

  /**
   * State sync moved the head from genesis to a snapshot's height (snapshot-sync.ts): the engine
   * instance is started again on that head — a restart, with the records it persisted meanwhile —
   * and the mempool re-checked against the new state.
   */
  async #afterSnapshot(): Promise<void> {
    this.#headState = undefined;
    this.#sync.progressed();
    await this.mempool.recheck();
    this.#reads.committed(this.#o.chain.height);
    await this.#startInstance();
    this.#logger.info('consensus restarted on the snapshot', { height: this.#o.chain.height });
    this.#sync.broadcastStatus();
    this.#sync.maybeRequest();
  }

  /**
   * Starts the next epoch's engine on the committed head (the last block of the epoch before),
   * with the set the ledger computed for it. What the old instance left running — its timers,
   * queued work, the suffix blocks it built above the boundary — is dropped; its WAL records and
   * signed slots are kept (a crash that loses the boundary block runs that epoch again: epoch.ts),
   * and do not matter to the new instance, which signs in its own domain, so nothing it signs can
   * conflict with the old one's. It starts like a validator restarted with an empty WAL.
   */
  async #enterEpoch(): Promise<void> {
    const chain = this.#o.chain;
    const from = this.#current.epoch;
    await this.#startInstance();
    this.counters.epochs++;
    this.#o.hooks?.onEpoch?.(this.#current.epoch, this.#current.validators);
    this.#logger.info('new epoch: a new engine instance with the epoch’s validator set', {
      epoch: this.#current.epoch,
      from,
      height: chain.height,
      validators: this.#current.validators.size,
      totalPower: this.#current.validators.totalPower,
      self: this.#current.self ?? null,
    });
  }

  /**
   * A new engine instance for the epoch of the block after the head, with that epoch's set, its
   * base and the records this node persisted in it (they exist only if it ran this epoch before:
   * a crash lost the boundary, or state sync moved the head), started on the head.
   */
  async #startInstance(): Promise<void> {
    this.#current = await epochAfterHead(this.#o.chain, this.#o.genesis, this.#o.keys?.ed25519);
    for (const timer of [...this.#timerGenerations.keys()]) {
      this.#timerGeneration(timer);
      this.#o.timers.cancel(`engine:${timer}`);
    }
    this.#pipeline.executed.clear();
    const recovered = await readEngineRecords(this.#wal, this.#current.epoch);
    await forgetEngineRecordsBefore(this.#wal, this.#current.epoch);
    this.#o.transport.admitValidators?.(this.#current.validators.validators.map((v) => v.peerId));
    this.#engine = this.#createEngine();
    this.#evidence.watch.enterEpoch(this.#current.epoch);
    await this.#readMembership();
    await this.#step({ kind: 'start', head: this.#headInfo(), recovered });
  }

  /** What this epoch's signatures are bound to (ledger/signing-domain.ts). */
  #domain(): string {
    return signingDomain(this.#chainId, this.#current.epoch);
  }

  #pruneGuard(height: number, base: number): void {
    const ops = this.#guard.prune(height, this.#current.epoch, base);
    // (Not after an epoch boundary: the new epoch's slots may reuse these keys.)
    if (ops.length > 0) this.#events.enqueue(this.#sameInstance(() => this.#wal.batch(ops)));
  }

  // -- network -------------------------------------------------------------------------------

  #onNetwork(from: string, channel: Channel, bytes: Uint8Array): void {
    this.counters.messagesIn++;
    this.counters.bytesIn += bytes.length;
    switch (channel) {
      case 'consensus':
        this.#events.enqueue(() => this.#onConsensus(from, bytes));
        break;
      case 'tx': {
        // Under a gossip flood, shed transactions rather than memory: they reach us again in
        // proposals or from the client that resubmits.
        // (Frames whose signatures are being checked count too: they wait off the queue.)
        const intake = this.#events.intake;
        const verifying = this.#gossip.verifying;
        if (
          intake.events + verifying.frames > 4 * MAX_PENDING_INTAKE ||
          intake.bytes + verifying.bytes > 4 * MAX_PENDING_INTAKE_BYTES
        ) {
          this.counters.droppedTxGossip++;
          return;
        }
        this.#gossip.receive(from, bytes);
        break;
      }
      case 'sync':
        this.#events.enqueue(() => this.#onSync(from, bytes));
        break;
    }
  }

  async #onConsensus(from: string, bytes: Uint8Array): Promise<void> {
    const { engine } = this.#o;
    let opened: ReturnType<typeof openEnvelope<M>>;
    try {
      opened = openEnvelope(
        bytes,
        engine.codec,
        this.#current.validators,
        this.#chainId,
        this.#o.verify,
        this.#current.epoch,
      );
    } catch (e) {
      if (!(e instanceof EnvelopeError)) throw e; // not the sender's fault: this node's bug
      const code = e.code;
      if (code === 'WRONG_EPOCH') {
        // A peer on the other side of an epoch boundary: not misbehaviour. (One ahead is news of
        // blocks this node lacks; block sync fetches them from the status it also sends.)
        this.counters.otherEpoch++;
        return;
      }
      this.counters.rejected++;
      this.#o.transport.penalize(
        from,
        `consensus message rejected: ${code}`,
        code === 'BAD_SIGNATURE' ? 'major' : 'minor',
      );
      return;
    }
    // A validly signed message for a height no chain could have reached yet (the same bound as a
    // sync claim) is misbehaviour, not news: engines would drop it unseen, so score it here.
    const height = engine.codec.heightOf?.(opened.msg);
    if (height !== undefined && height > this.#sync.maxPlausibleHeight()) {
      this.counters.rejected++;
      this.#o.transport.penalize(from, `consensus message for implausible height ${height}`, 'minor');
      return;
    }
    // Two validly signed messages of one validator for one slot are equivocation in any engine.
    const slot = engine.codec.slot(opened.msg);
    if (slot !== undefined) {
      const hash = sha256(opened.signingBytes);
      const e = this.#evidence.watch.observe(opened.from, slot, hash, bytes);
      if (e !== undefined) this.#evidence.held(e, 'caught');
      const link = engine.codec.ffgLink?.(opened.msg);
      const s =
        link === undefined
          ? undefined
          : this.#evidence.watch.observeVote(opened.from, link, slot, hash, bytes);
      if (s !== undefined) this.#evidence.held(s, 'caught');
    }
    // Our own messages can come back (relayed by peers): after a restart they are how we relearn
    // our own votes. The engine's vote sets ignore duplicates.
    await this.#step({ kind: 'message', from: opened.from, msg: opened.msg, signature: opened.signature });
  }

  /** Equivocation evidence this node holds (caught or received, each verified). */
  equivocations(): Equivocation[] {
    return this.#evidence.evidence();
  }

  #armStatusTimer(): void {
    this.#o.timers.set('status', this.#o.statusIntervalMs ?? 1000, () =>
      this.#events.enqueue(() => {
        this.#sync.broadcastStatus();
        this.#sync.maybeRequest(); // (prunes departed and silent peers first)
        this.#armStatusTimer();
      }),
    );
  }

  async #onSync(from: string, bytes: Uint8Array): Promise<void> {
    let msg: SyncMessage;
    try {
      msg = decodeSync(bytes);
    } catch (e) {
      onlyTyped(e);
      this.counters.rejected++;
      this.#o.transport.penalize(from, 'undecodable sync message', 'major');
      return;
    }
    switch (msg.kind) {
      case 'status':
        // Its clock first (a claim refused as implausible still carries a clock reading).
        this.#blockClock.observe(from, msg.clockMs);
        // A plausible claim far ahead of an empty chain starts state sync before block sync asks.
        if (msg.height <= this.#sync.maxPlausibleHeight()) this.#snapshots.consider(from, msg.height);
        this.#sync.onStatus(from, msg);
        return;
      case 'get-snapshot':
        return this.#snapshots.serveManifest(from, msg.height);
      case 'snapshot-manifest':
        return this.#snapshots.onManifest(from, msg.manifest);
      case 'get-snapshot-part':
        return this.#snapshots.servePart(from, msg);
      case 'snapshot-part':
        return this.#snapshots.onPart(from, msg);
      case 'get-blocks':
        return this.#sync.serve(from, msg.from, msg.count);
      case 'blocks':
        return this.#sync.onBlocks(from, msg.items);
      case 'evidence':
        return this.#evidence.received(from, msg.evidence);
    }
  }
}
