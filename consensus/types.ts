/**
 * The engine contract. An engine is a synchronous, deterministic state machine:
 * `step(input) → outputs`. It never touches the network, storage, timers, the clock or ambient
 * randomness: the runtime (src/runtime) feeds it inputs and carries out its outputs, in order.
 *
 * Contract the runtime guarantees:
 *  - `message` inputs are authenticated: the envelope signature was verified against `from`'s key
 *    (the engine gets the signature too, to put in certificates); own broadcasts are looped back.
 *  - Outputs of one step are executed in order, except that every `persist` of the step — and the
 *    double-sign guard entry of every message the step signs — is made durable in one fsynced
 *    batch BEFORE any message of that step leaves the node.
 *  - `build-block` is answered with `block-built`, `execute` with `executed`, `commit` with
 *    `committed`; in between, other inputs may arrive.
 *  - `committed` is also delivered when block sync advanced the chain (`bySync`).
 */
import type { Block, BlockHeader } from '../ledger/block.ts';
import type { CommitCertificate } from '../ledger/certificate.ts';
import type { EngineParams, ThresholdGenesis } from '../ledger/genesis.ts';
import type { Hlc } from '../ledger/hlc.ts';
import type { Frontier } from '../ledger/log/index.ts';
import type { ValidatorSet } from '../ledger/validators.ts';
import type { FaultModel } from './fault-model.ts';
import type { Rng } from './rng.ts';

export interface HeadInfo {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly time: Hlc;
  /**
   * Right frontier (ledger/log frontier.ts) of the block-hash history of blocks 0 … height: with
   * it an engine proves an uncommitted block an ancestor of another (log/extend.ts) on its own.
   */
  readonly history: Frontier;
  /**
   * The head block's header `engineData` (empty for genesis): what the engine that created the
   * block wrote there — Raft's term, for instance — so an engine knows its own metadata of a head
   * that block sync moved, or that a restart recovered, without keeping a copy of its own.
   */
  readonly engineData: Uint8Array;
  /**
   * The membership the committed state last asked for (ledger `membership` transactions), as
   * indices of the engine's validator set: only for engines with EngineModule.membership, which
   * carry it out (Raft: learners, and joint consensus for the voters).
   */
  readonly membership?: MembershipTarget;
}

/**
 * Why a block was not executed: UNKNOWN_PARENT and STALE may resolve later (the parent arrives,
 * sync moves the head); FUTURE too — the block is timestamped further ahead of this node's clock
 * than the runtime holds blocks for (either clock may be wrong: a later try may pass); INVALID
 * never does.
 */
export type ExecuteFailure = 'UNKNOWN_PARENT' | 'STALE' | 'FUTURE' | 'INVALID';

/** Voters and learners among the validators, as a committed `membership` transaction set them. */
export interface MembershipTarget {
  /** Counts the requests executed so far: a new one is a new number. */
  readonly seq: number;
  readonly voters: readonly number[];
  readonly learners: readonly number[];
}

/**
 * How a read is confirmed before it is served (`GET /account?consistency=…`): `linearizable` —
 * the engine confirms, after the read arrived, that the index it names was committed by a leader
 * still in office (Raft's ReadIndex); `lease` — the same, without a round trip while the leader
 * holds a lease (bounded clock drift assumed). `local` reads, served from whatever this node has
 * committed, never reach the engine.
 */
export type ReadMode = 'linearizable' | 'lease';

export type EngineInput<M> =
  /**
   * First input after construction: the committed head and the last record persisted under each
   * key. `lost`: the WAL lost records at this start (damaged, or a gap the sign fence saw) — what
   * this node stored, acknowledged or accepted up to that height may be gone, so an engine whose
   * votes vouch for what it stored must not vote on them until its committed head passes it.
   */
  | {
      readonly kind: 'start';
      readonly head: HeadInfo;
      readonly recovered: ReadonlyMap<string, Uint8Array>;
      readonly lost?: { readonly upToHeight: number };
    }
  | { readonly kind: 'message'; readonly from: number; readonly msg: M; readonly signature: Uint8Array }
  /** A timer fired, with the token it was armed with (see TimerToken). */
  | { readonly kind: 'timeout'; readonly timer: string; readonly token?: TimerToken }
  /**
   * The mempool went from nothing a block could include to something (a sender's next nonce
   * arrived); also after a commit that leaves something includable.
   */
  | { readonly kind: 'txs-available' }
  /** A client read waiting to be confirmed (answered by `read-ready` or `read-failed` with its id). */
  | { readonly kind: 'read'; readonly id: number; readonly mode: ReadMode }
  | {
      readonly kind: 'block-built';
      readonly height: number;
      readonly round: number;
      readonly hash: Uint8Array;
      readonly block: Block;
    }
  | {
      readonly kind: 'executed';
      readonly hash: Uint8Array;
      readonly valid: boolean;
      /** Why a block was not executed (ExecuteFailure). */
      readonly code?: ExecuteFailure;
      readonly reason?: string;
    }
  /**
   * A block the engine asked to `mine` was solved: `block` is the built block with the winning
   * nonce, executed and held like the one built (it differs only in the nonce), under `hash`.
   */
  | { readonly kind: 'mined'; readonly hash: Uint8Array; readonly block: Block }
  /**
   * Block sync was served `block`, whose certificate verifies, but which does not extend the
   * committed head: a chain forks below what this node committed. Only an engine with
   * probabilistic finality (EngineModule.confirmations) gets it, to weigh against the chain that
   * buried its commit; for any other engine two certified chains break safety and the runtime
   * halts on its own.
   */
  | { readonly kind: 'certified-fork'; readonly block: Block; readonly certificate: CommitCertificate }
  | {
      readonly kind: 'committed';
      readonly head: HeadInfo;
      readonly bySync: boolean;
      /**
       * The block just committed and its certificate (the runtime always sets them): an engine
       * that vouches for the committed state (PBFT's checkpoints) keeps its own durable copy, since
       * the chain store's last write may be unsynced.
       */
      readonly block?: Block;
      readonly certificate?: CommitCertificate;
    };

/**
 * What a timer was armed for: the height and the round (or view) — a timeout for another one is
 * stale. Engines whose views span heights (HotStuff) arm with height 0.
 */
export interface TimerToken {
  readonly height: number;
  readonly round: number;
}

/**
 * A misbehaviour report from an engine's own checks: what one slot's pair of envelopes cannot
 * show — a validly signed message that breaks a rule (`invalid-message`), a proposal contradicted
 * by a certificate for another block in its slot (`duplicate-proposal`). Equivocation itself (two
 * signed messages for one slot) is not reported here: the runtime detects it and keeps evidence
 * anyone can verify offline (consensus/evidence.ts).
 */
export interface Evidence {
  readonly type: 'duplicate-proposal' | 'invalid-message';
  readonly validator: number;
  readonly height: number;
  readonly round: number;
  readonly detail: string;
}

export type EngineOutput<M> =
  | { readonly kind: 'broadcast'; readonly msg: M }
  | { readonly kind: 'send'; readonly to: number; readonly msg: M }
  /**
   * Forward another validator's signed message unchanged (gossip). The algorithms assume that
   * what one correct node receives, every correct node eventually receives; relaying is how.
   */
  | {
      readonly kind: 'relay';
      readonly from: number;
      readonly msg: M;
      readonly signature: Uint8Array;
      /** To this validator only (an answer with a block its proposer signed); absent: to all. */
      readonly to?: number;
    }
  /**
   * Arm `timer` (re-arming replaces it). A firing reaches the engine only if the timer was not
   * re-armed or cancelled since, and carries `token` back: what it was armed for, so the engine
   * compares it with where it is now instead of keeping guard fields per timer.
   */
  | {
      readonly kind: 'set-timer';
      readonly timer: string;
      readonly afterMs: number;
      readonly token?: TimerToken;
    }
  | { readonly kind: 'cancel-timer'; readonly timer: string }
  /**
   * Safety state (lock, last vote, view…) to make durable before this step's messages leave.
   * Records are kept per `key` (latest wins); all are handed back on `start`.
   */
  | { readonly kind: 'persist'; readonly key: string; readonly record: Uint8Array }
  /** Drop a persisted record (durably, with the step's persists) that is no longer needed. */
  | { readonly kind: 'forget'; readonly key: string }
  /**
   * Ask the runtime for a block at `height` on top of `parent` (the committed head or a block
   * this node executed), with `engineData` in its header.
   */
  | {
      readonly kind: 'build-block';
      readonly height: number;
      readonly round: number;
      readonly parent: Uint8Array;
      readonly engineData: Uint8Array;
      /** Build an empty block even if transactions are waiting (e.g. to finish a chain). */
      readonly empty?: boolean;
    }
  /** Validate and execute a block (on its parent, found by `header.parentHash`). */
  | { readonly kind: 'execute'; readonly block: Block; readonly hash: Uint8Array }
  /** Commit an executed child of the committed head with its certificate. */
  | { readonly kind: 'commit'; readonly hash: Uint8Array; readonly certificate: CommitCertificate }
  /**
   * Grind the nonce of built block `hash` — the last 8 bytes of its header's engineData, so the
   * last 8 bytes of the encoded header — until SHA-256 of the header, read big-endian, is at most
   * `target`; answered by `mined`. One job at a time: a new `mine` replaces the current one.
   */
  | { readonly kind: 'mine'; readonly hash: Uint8Array; readonly target: bigint }
  /** Abandon the mining job (a better tip arrived: its solution would be wasted work). */
  | { readonly kind: 'cancel-mine' }
  /**
   * Stop consensus on this node for good, loudly: the engine met a condition it cannot continue
   * from without breaking what it already told clients (Proof of Work: a heavier chain that forks
   * below a block this node committed — its k-deep assumption failed, and a ledger never rewinds).
   */
  | { readonly kind: 'halt'; readonly code: string; readonly message: string }
  | { readonly kind: 'evidence'; readonly evidence: Evidence }
  /** Read `id` may be served once this node's committed height reaches `index`. */
  | { readonly kind: 'read-ready'; readonly id: number; readonly index: number }
  /** Read `id` cannot be confirmed (no leader known, leadership lost…); the client may retry. */
  | { readonly kind: 'read-failed'; readonly id: number; readonly reason: string }
  | {
      readonly kind: 'log';
      readonly level: 'debug' | 'info' | 'warn';
      readonly message: string;
      readonly fields?: Record<string, unknown>;
    };

/** Where a message sits in a validator's signing history: two different messages in one slot is equivocation. */
export interface SignSlot {
  readonly height: number;
  readonly round: number;
  /** Engine-defined message kind within the round. */
  readonly step: number;
}

/**
 * A Casper FFG vote's link, source → target checkpoint, in the engine's slot numbering (each
 * epoch as its first slot), so that it compares with the SignSlot heights of the same engine.
 */
export interface FfgLink {
  readonly source: number;
  readonly target: number;
}

/**
 * How an engine's messages cross the wire. Decoding is strict and size-capped; signing bytes are
 * domain-separated per engine and kind (certificate votes sign the ledger's commit-vote bytes).
 */
export interface MessageCodec<M> {
  readonly maxBytes: number;
  encode(msg: M): Uint8Array;
  decode(bytes: Uint8Array): M;
  signingBytes(msg: M, chainId: string): Uint8Array;
  /** The double-sign slot of a message; undefined for messages that may be re-signed freely. */
  slot(msg: M): SignSlot | undefined;
  /**
   * The FFG vote a message casts (Proof of Stake's attestations), if any: the runtime's guard
   * then also refuses to sign one that surrounds, or is surrounded by, a vote it signed before
   * (src/runtime/signing-guard.ts), which the slot alone — one target at a time — cannot see.
   */
  ffgLink?(msg: M): FfgLink | undefined;
  /**
   * The chain height a message is about, when it names one (a Tendermint vote, a PBFT sequence
   * number, a HotStuff proposal's block — not a view). The runtime scores messages for heights no
   * chain can have reached yet.
   */
  heightOf?(msg: M): number | undefined;
  /** One-line description for logs and traces. */
  describe(msg: M): string;
}

export interface EngineStatus {
  readonly height: number;
  readonly round: number;
  readonly step: string;
  readonly leader?: number;
  /** Rounds/views abandoned by timeout since start (liveness metric); reorganizations, for a chain that has them. */
  readonly viewChanges: number;
  /** The most blocks one reorganization abandoned since start (an engine whose tip can reorganize). */
  readonly maxReorgDepth?: number;
}

/** Signing capabilities an engine may need inside its logic (BLS votes); pure computations. */
export interface EngineSigner {
  blsSign?(message: Uint8Array): Uint8Array;
  blsShareSign?(message: Uint8Array): { index: number; signature: Uint8Array };
  /**
   * An ECVRF proof (RFC 9381, 80 bytes) of `alpha` under this validator's VRF key (genesis
   * `vrfPublicKey`). A VRF has one output per input, so evaluating it twice signs nothing twice.
   */
  vrfProve?(alpha: Uint8Array): Uint8Array;
}

export interface EngineContext {
  /** The chain id, as headers carry it. */
  readonly chainId: string;
  /**
   * The epoch this engine instance runs (ledger/staking): the runtime starts a new instance with
   * the new set at each epoch boundary. Everything the engine signs or verifies itself is in the
   * epoch's domain, `signingDomain(chainId, epoch)`. Absent: epoch 0 (the chain id itself).
   */
  readonly epoch?: number;
  /**
   * The block this instance's chain starts from: genesis, or the last block of the epoch before,
   * committed and certified under the previous set. Like genesis, it needs no certificate of this
   * instance's own: an engine that justifies blocks by their parent's certificate (a HotStuff QC)
   * or garbage-collects below a certified checkpoint (PBFT) treats it as its genesis. Absent:
   * genesis (height 0).
   */
  readonly base?: { readonly height: number; readonly hash: Uint8Array };
  readonly validators: ValidatorSet;
  /** The genesis block's timestamp (ms): the anchor of schedules that count from it (ASERT). */
  readonly genesisTimeMs?: number;
  /**
   * This node's wall clock in ms (virtual time in the simulator, skew included), injected: only
   * for engines whose time is slots counted from genesis (Proof of Stake), which every validator
   * must place alike without a message telling it where it is.
   */
  readonly nowMs?: () => number;
  /** This node's validator index, or undefined for a non-validator (observer) node. */
  readonly self: number | undefined;
  readonly params: EngineParams;
  readonly rng: Rng;
  readonly signer: EngineSigner;
  readonly threshold?: ThresholdGenesis;
  /**
   * A monotonic clock in ms, injected (virtual time in the simulator): only for leases, whose
   * safety is about elapsed time across a pause, which no count of timer firings can measure.
   */
  readonly monotonicMs?: () => number;
  /**
   * A test harness's choice of leader (validator index) at a position of the shared rotation —
   * the number of rotation steps, consensus/proposer.ts: Tendermint's height + round, HotStuff's
   * view, PBFT's 1 + view; undefined keeps the rotation's own. Only the simulator sets it (Twins
   * scenarios choose the leader of each round); every node of a run gets the same function, so
   * they still agree on every leader. Honoured by engines whose module says `leaderRotation`.
   */
  readonly leaderOverride?: LeaderOverride;
}

/** See EngineContext.leaderOverride. */
export type LeaderOverride = (position: number) => number | undefined;

export interface ConsensusEngine<M> {
  step(input: EngineInput<M>): EngineOutput<M>[];
  status(): EngineStatus;
}

/**
 * Byzantine helpers for the simulator: a conflicting variant of a message this node is about to
 * send (another block, another vote), used by the `equivocate` mode. Optional per engine.
 */
export interface ByzantineContext {
  readonly rng: Rng;
  /** A different, valid block at the same position as the block `hash` (the runtime built both). */
  alternative(hash: Uint8Array): { readonly block: Block; readonly hash: Uint8Array } | undefined;
}

export interface EngineByzantine<M> {
  conflicting(msg: M, ctx: ByzantineContext): M | undefined;
}

export interface EngineModule<M = unknown> {
  readonly name: string;
  readonly description: string;
  /** What it tolerates (consensus/fault-model.ts). */
  readonly faultModel: FaultModel;
  /**
   * Whether it keeps making blocks when no transaction waits (Tendermint, PBFT, HotStuff do;
   * Raft makes an entry only for transactions or a new term). The simulator gives an engine
   * without empty blocks transactions after healing, so that its liveness shows as new blocks.
   */
  readonly emptyBlocks: boolean;
  /** The read modes it can confirm (ReadMode); empty: only `local` reads. */
  readonly reads: readonly ReadMode[];
  /**
   * Whether every validator needs its own VRF key (genesis `vrfPublicKey`, handed to the engine
   * as `signer.vrfProve`): sortition-based engines. Genesis builders and the simulator give one.
   */
  readonly requiresVrfKeys?: boolean;
  /**
   * Whether its leaders (proposer, primary) come from the shared rotation and honour
   * EngineContext.leaderOverride: what lets a Twins scenario choose the leader of each round.
   */
  readonly leaderRotation?: boolean;
  /**
   * Whether it carries out the ledger's `membership` requests (voters and learners among the
   * validators, changed by a signed transaction): Raft.
   */
  readonly membership?: boolean;
  /**
   * Whether nothing it sends has a double-sign slot (its codec's `slot` is always undefined: Proof
   * of Work, where two blocks at one height is the protocol). Its WAL then holds no signing state:
   * a damaged record is dropped — a block to fetch again — not a loss the sign fence must cover.
   */
  readonly slotless?: boolean;
  readonly codec: MessageCodec<M>;
  /**
   * The engine's own rules for a header, given its parent's (Proof of Work: the target the
   * retarget gives, the cumulative work, the work itself): why `header` (hashing to `hash`) breaks
   * them, or undefined. The chain store checks them on every block it validates — block sync's
   * too, which no engine sees before it commits (src/chain-options.ts).
   */
  headerFault?(
    header: BlockHeader,
    hash: Uint8Array,
    parent: BlockHeader,
    params: EngineParams,
    genesisTimeMs: number,
  ): string | undefined;
  /**
   * The cumulative work of a block, from its header's engine data (Proof of Work), for an engine
   * whose fork choice is by work: block sync announces it and catches up from the heaviest peer.
   */
  chainWork?(engineData: Uint8Array, height: number): bigint;
  /**
   * Where a committed block puts this engine's double-sign slots (the SignSlot heights), when they
   * are not block heights (Proof of Stake: slots of time, several per block when proposers miss):
   * the guard and the equivocation watch forget slots two below it. Absent: the block's height.
   */
  guardPosition?(header: BlockHeader): number;
  /**
   * Probabilistic finality (Proof of Work): how many blocks are mined on a block before it commits,
   * and how long that takes on schedule — what a client waiting for a commit is told, and how long
   * the node lets it wait. Absent: a certificate is final when it forms.
   */
  confirmations?(params: EngineParams): { readonly blocks: number; readonly expectedMs: number };
  /**
   * How many blocks, each certified, must be built on a block before its commit rule commits it
   * (HotStuff: 1 with the two-chain rule, 2 with the three-chain). Block pacing builds such
   * certifying blocks at once, empty, rather than hold them for the floor, so that the floor
   * delays the next transactions, not a commit (src/runtime/block-pipeline.ts). Absent: a block commits
   * on its own certificate (or, Proof of Work, on mined confirmations, which are not paced).
   */
  certifyingDescendants?(params: EngineParams): number;
  /**
   * For an engine whose blocks become final well after they are made (Proof of Stake: Casper FFG
   * finalizes an epoch's checkpoint two epochs later), how long that takes on schedule: the node
   * lets a client wait for a commit several times that. Absent: about one round.
   */
  finalityDelayMs?(params: EngineParams): number;
  /**
   * Parameters the simulator runs with unless a run names its own (each key may be overridden):
   * what a real deployment tunes for its machines but a virtual-time run must not pay for — Proof
   * of Work's genesis target, which the simulator grinds for real. Absent: the genesis defaults.
   */
  readonly simParams?: EngineParams;
  /**
   * Validates engine parameters from genesis (throws a typed error) and fills defaults. With the
   * validator set, also what depends on it (quorum or committee sizes, equal powers…), so that a
   * genesis the engine cannot run is refused when it is checked, not when the node starts voting.
   */
  parseParams(params: EngineParams, validators?: ValidatorSet): Record<string, string | number | boolean>;
  create(ctx: EngineContext): ConsensusEngine<M>;
  readonly byzantine?: EngineByzantine<M>;
}
