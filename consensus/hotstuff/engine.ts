/**
 * Chained HotStuff (Yin, Malkhi, Reiter, Gueta, Abraham, PODC 2019) with the Jolteon / DiemBFT v4
 * two-chain variant, as a sans-I/O engine.
 *
 * Views and blocks. The leader of view v (weighted round-robin, leader.ts) proposes one block
 * extending the block of its highest QC; the block's header carries (v, commit rule, QC of the
 * parent). Validators vote — a BLS signature, or a threshold share, over (chain, v, hash) — and
 * send the vote to the leader of v + 1, which aggregates > 2/3 of the power into QC(v) and carries
 * it in its own proposal: one QC per block, one round of votes per view, linear messages. When it
 * builds at once (transactions pending) it also announces QC(v) to every node (a SYNC; n messages
 * more per view, still linear): the runtime may hold its proposal for the block floor, and the QC
 * alone commits and moves views.
 *
 * Pacemaker. A view ends with QC(v) or with a timeout certificate TC(v): a validator whose view
 * timer expires broadcasts TIMEOUT(v, highQC) (BLS-signed, with its highest QC), and > 2/3 of
 * them form TC(v), whose highQC is the highest among the signers'. Every node advances on any
 * QC(v) or TC(v) it sees, whatever carried it (proposal, timeout, sync), so all honest nodes
 * move together; a node seeing > 1/3 timeouts for a view ≥ its own joins them. The leader of
 * v + 1 proposes on max(highQC, TC.highQC), with TC(v) attached. Timeouts back off
 * exponentially while views fail and reset on a QC. The view timer waits for one leader at a
 * time — for the proposal on entering a view, then, once this node voted, for the next leader's
 * proposal carrying the QC — and adds the idle leader's wait only when that leader may wait (no
 * transactions in the block it extends, none in this node's mempool). A vote whose QC has not
 * come back within rebroadcastMs goes to every node, so the QC forms without the next leader: a
 * dead leader costs its own view only, not also the view before it (whose votes it was to
 * collect). A validator timing out also broadcasts its vote of that view.
 *
 * Safety (votes once per view: lastVotedView covers votes and timeouts, persisted before either
 * leaves, plus the runtime's per-view slot guard):
 *   chain 3 (HotStuff)  vote iff justify.view ≥ lockedQC.view (safeNode: the block extends the
 *                       lock, or justifies itself with a higher QC — equivalent here since every
 *                       block's parent is its justify block); on QC(b''): lock ← b''.justify;
 *                       commit b when b ← b' ← b'' have consecutive views.
 *   chain 2 (Jolteon)   vote iff justify.view = v − 1, or TC(v − 1) is attached and
 *                       justify.view ≥ max(TC.highQcViews); timeouts carry the highest QC;
 *                       commit b on QC(b') with b ← b' in consecutive views.
 * A commit of b commits every uncommitted ancestor; each gets a certificate (certificate.ts)
 * carrying the descendant headers up to the committing QC.
 *
 * Liveness over a lossy, partitioned network: while a view makes no progress the node re-sends
 * its vote and timeout, asks the leader for the proposal it lacks — then everyone, and a holder
 * relays the leader's signed proposal (only a proposal signed by the view's leader is voted
 * for) — and fetches missing ancestor blocks by hash (any block whose hash a QC or a child names
 * is authentic). Nodes seen lagging (a message for an old view) are sent the certificates of the
 * current view; a restarted node asks its peers for theirs, and block sync (the runtime) covers
 * committed history.
 *
 * Empty blocks: the leader proposes at once when the mempool has transactions or the chain it
 * extends holds uncommitted transactions (they commit only when descendants are certified), and
 * otherwise after emptyBlockIntervalMs.
 *
 * Persisted (key "state", before any vote/timeout of the step leaves): curView, lastVotedView,
 * timedOutView, highQC, lockedQC, highTC; and each block voted for (key "block/<hash>", forgotten
 * two heights after its commit), so that after a restart the uncommitted chain can be re-executed without the
 * network. Every uncommitted block of the certified chain was voted for by > 2/3 of the power, so
 * after a restart of every node at once each one is still held by at least one honest validator,
 * and a QC for a block a node lacks can always be served by a peer.
 */

import { equalBytes } from '../../crypto/bytes.ts';
import { invariant, onlyTyped } from '../../crypto/errors.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { asList, asSafeUint, DecodeError } from '../../ledger/codec.ts';
import { ExtendedTree, type Frontier, leafHash } from '../../ledger/log/index.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { type BlockId, blockId, hashOfBlockId } from '../block-id.ts';
import { EngineParamsError } from '../params.ts';
import { decodeRecord, encodeRecord, type RecordSchema } from '../record.ts';
import { exponentialTimeout, tokenIs } from '../timeouts.ts';
import type {
  ConsensusEngine,
  EngineContext,
  EngineInput,
  EngineOutput,
  EngineStatus,
  Evidence,
  ExecuteFailure,
  HeadInfo,
  TimerToken,
} from '../types.ts';
import { VoteSet } from '../vote-set.ts';
import { certificateKind, type HotStuffCertificate } from './certificate.ts';
import { LeaderSchedule } from './leader.ts';
import {
  decodeEngineData,
  type EngineData,
  encodeEngineData,
  type HsMessage,
  MAX_FETCH_HASHES,
  MAX_SYNC_BLOCKS,
  proposalMessage,
} from './messages.ts';
import type { HotStuffParams } from './params.ts';
import { type BlockNode, PendingBlocks } from './pending-blocks.ts';
import {
  assembleAggregateQc,
  assembleTc,
  assembleThresholdQc,
  decodeQcItem,
  decodeTcItem,
  encodeQcItem,
  encodeTcItem,
  genesisQc,
  maxHighQcView,
  modeTag,
  QC_GENESIS,
  type QcTrust,
  type QuorumCert,
  rememberValidQc,
  rememberValidTc,
  type TimeoutCert,
  timeoutMessage,
  verifyQc,
  verifyShare,
  verifySignature,
  verifyTc,
  voteMessage,
} from './qc.ts';

type Proposal = Extract<HsMessage, { type: 'proposal' }>;
type Vote = Extract<HsMessage, { type: 'vote' }>;
type Timeout = Extract<HsMessage, { type: 'timeout' }>;
type Sync = Extract<HsMessage, { type: 'sync' }>;

interface SeenProposal {
  readonly id: BlockId;
  readonly tc: TimeoutCert | undefined;
  /** The leader's signed message, to relay to validators that lost it. */
  readonly msg: Proposal;
  readonly signature: Uint8Array;
}

/** Votes and timeouts further ahead than this are not stored (bounds memory against spam). */
const MAX_VIEW_AHEAD = 64;
const MAX_BLOCKS = 2048;
const MAX_WANTED = 64;
const FETCH_ATTEMPTS = 10;
const MAX_VALUES_PER_VALIDATOR = 4;
const REPLIES_PER_PEER_PER_VIEW = 4;
const MAX_SYNC_BYTES = 8 * 1024 * 1024;
const STATE_KEY = 'state';
const BLOCK_KEY = 'block/';
/**
 * Voted blocks stay in the WAL this many heights past their commit: a chain store may lose its
 * last write (storage.sync off, or a disk that lies about fsync), and if every node lost the same
 * commit, the block must still be somewhere — found by the simulator (test:long) when voted blocks
 * were forgotten at once.
 */
const KEEP_COMMITTED_BLOCKS = 2;
const BAD_JUSTIFY = 'invalid justify QC';

interface Persisted {
  curView: number;
  lastVotedView: number;
  timedOutView: number;
  highQc: QuorumCert;
  lockedQc: QuorumCert;
  highTc: TimeoutCert | undefined;
}

/** The safety record (STATE_KEY): views voted and timed out, the high and locked QCs, the high TC. */
const STATE_RECORD: RecordSchema<Persisted> = {
  name: 'hotstuff state record',
  version: 1,
  maxBytes: 1 << 20,
  encode: (p) => [
    p.curView,
    p.lastVotedView,
    p.timedOutView,
    encodeQcItem(p.highQc),
    encodeQcItem(p.lockedQc),
    p.highTc === undefined ? [] : [encodeTcItem(p.highTc)],
  ],
  decode: (f) => {
    if (f.length !== 6) throw new DecodeError('MALFORMED', `hotstuff record: ${f.length} fields, expected 6`);
    const tcs = asList(f[5], 'highTc');
    return {
      curView: asSafeUint(f[0], 'curView'),
      lastVotedView: asSafeUint(f[1], 'lastVotedView'),
      timedOutView: asSafeUint(f[2], 'timedOutView'),
      highQc: decodeQcItem(f[3], 'highQc'),
      lockedQc: decodeQcItem(f[4], 'lockedQc'),
      highTc: tcs.length === 0 ? undefined : decodeTcItem(tcs[0], 'highTc'),
    };
  },
};

/** What the parameters require of the validator set: threshold QCs count shares, so equal powers. */
export function checkHotStuffValidators(params: HotStuffParams, validators: ValidatorSet): void {
  if (params.qc === 'threshold' && new Set(validators.validators.map((v) => v.power)).size !== 1)
    throw new EngineParamsError(
      'ENGINE_PARAMS',
      'hotstuff: qc=threshold counts shares, so every validator must have the same power',
    );
}

export class HotStuffEngine implements ConsensusEngine<HsMessage> {
  readonly #ctx: EngineContext;
  readonly #p: HotStuffParams;
  readonly #validators: ValidatorSet;
  readonly #leaders: LeaderSchedule;
  readonly #trust: QcTrust;
  /** The block this instance starts from: genesis, or its epoch's base (EngineContext.base). */
  readonly #base: number;
  /** What this epoch's votes and timeouts sign in place of the chain id (ledger/signing-domain.ts). */
  readonly #domain: string;
  readonly #self: number | undefined;
  readonly #threshold: number;
  #out: EngineOutput<HsMessage>[] = [];
  #started = false;

  #head: { height: number; hash: Uint8Array; id: BlockId; history: Frontier } = {
    height: 0,
    hash: new Uint8Array(32),
    id: '' as BlockId, // set on start
    history: [],
  };
  /** Highest height a `commit` was emitted for. */
  #emittedHeight = 0;

  // Persisted safety and pacemaker state.
  #curView = 1;
  #lastVotedView = 0;
  #timedOutView = 0;
  #highQc: QuorumCert = genesisQc(new Uint8Array(32));
  #lockedQc: QuorumCert = genesisQc(new Uint8Array(32));
  #highTc: TimeoutCert | undefined;
  #dirty = false;

  #consecutiveTimeouts = 0;
  /**
   * View and vote timers armed with an idle leader's wait, by view (0: none); when transactions
   * arrive, a second timer without it ('view-busy', 'vote-busy') runs alongside, the first to
   * fire counts.
   */
  #viewTimerIdleView = 0;
  #voteTimerIdleView = 0;
  /**
   * Leaders whose last view this node waited out without their proposal or QC (down, or cut off
   * from it): the votes they are to collect go to every node at once, so their next view costs
   * a view change only. Forgotten when a proposal of theirs arrives.
   */
  readonly #silentLeaders = new Set<number>();
  #viewChanges = 0;
  #lastTickView = -1;
  #stalledTicks = 0;

  readonly #blocks = new PendingBlocks({
    maxBlocks: MAX_BLOCKS,
    maxWanted: MAX_WANTED,
    fetchAttempts: FETCH_ATTEMPTS,
    maxFetchHashes: MAX_FETCH_HASHES,
    maxServedBlocks: MAX_SYNC_BLOCKS,
    maxServedBytes: MAX_SYNC_BYTES,
  });
  readonly #proposals = new Map<number, SeenProposal>();
  readonly #votes = new Map<number, VoteSet<Uint8Array, BlockId>>();
  readonly #timeouts = new Map<number, Map<number, { highQc: QuorumCert; signature: Uint8Array }>>();
  /**
   * Validators whose proposal, vote, timeout or sync failed a BLS check, by view: nothing more of
   * theirs in that view is verified (each check costs a pairing, and an authenticated sender of a bad
   * signature is Byzantine — honest validators never send one). Views outside the kept window
   * count against its nearest edge (#failedChecksKey), so this holds at most MAX_VIEW_AHEAD + 2 views.
   */
  readonly #failedChecks = new Map<number, Set<number>>();
  readonly #qcByView = new Map<number, QuorumCert>();
  readonly #qcByBlock = new Map<BlockId, QuorumCert>();
  #commitTarget: { targetId: BlockId; targetHeight: number; topId: BlockId; qc: QuorumCert } | undefined;

  #myVote: Vote | undefined;
  #myTimeout: Timeout | undefined;
  #myProposal: Proposal | undefined;
  #proposedView = 0;
  #buildingView = 0;
  #waitingView = 0;
  #emptyDueView = 0;
  #txsPending = false;
  #syncRequestedView = 0;
  #relayedView = 0;
  #eager = false;
  readonly #replies = new Map<number, number>();
  /** WAL keys of the blocks this node voted for and has not seen committed, with their heights. */
  readonly #persistedBlocks = new Map<string, number>();

  constructor(ctx: EngineContext, params: HotStuffParams) {
    this.#ctx = ctx;
    this.#p = params;
    this.#validators = ctx.validators;
    this.#leaders = new LeaderSchedule(ctx.validators, ctx.leaderOverride);
    this.#self = ctx.self;
    let threshold = 0;
    if (params.qc === 'threshold') {
      const t = ctx.threshold;
      if (t === undefined)
        throw new EngineParamsError(
          'ENGINE_PARAMS',
          'hotstuff: qc=threshold needs a threshold key deal in genesis',
        );
      checkHotStuffValidators(params, ctx.validators);
      const power = ctx.validators.validators[0]?.power ?? 1;
      if (t.threshold * power < ctx.validators.quorumPower)
        throw new EngineParamsError(
          'ENGINE_PARAMS',
          `hotstuff: threshold ${t.threshold} of ${ctx.validators.size} shares is not > 2/3 of the power`,
        );
      if (t.threshold > ctx.validators.size - Math.floor((ctx.validators.size - 1) / 3))
        throw new EngineParamsError(
          'ENGINE_PARAMS',
          `hotstuff: threshold ${t.threshold} exceeds the ${ctx.validators.size - Math.floor((ctx.validators.size - 1) / 3)} honest validators`,
        );
      if (t.sharePublicKeys.length !== ctx.validators.size)
        throw new EngineParamsError('ENGINE_PARAMS', 'hotstuff: one threshold share key per validator');
      threshold = t.threshold;
    }
    if (ctx.self !== undefined) {
      if (ctx.signer.blsSign === undefined)
        throw new EngineParamsError('ENGINE_PARAMS', 'hotstuff: a validator needs its BLS key');
      if (params.qc === 'threshold' && ctx.signer.blsShareSign === undefined)
        throw new EngineParamsError(
          'ENGINE_PARAMS',
          'hotstuff: qc=threshold needs this validator’s key share',
        );
    }
    this.#threshold = threshold;
    this.#domain = signingDomain(ctx.chainId, ctx.epoch);
    this.#base = ctx.base?.height ?? 0;
    this.#trust = {
      chainId: this.#domain,
      validators: ctx.validators,
      mode: params.qc,
      ...(ctx.threshold === undefined || params.qc !== 'threshold'
        ? {}
        : { groupPublicKey: ctx.threshold.groupPublicKey }),
    };
  }

  status(): EngineStatus {
    return {
      height: this.#head.height + 1,
      round: this.#curView,
      step:
        this.#timedOutView >= this.#curView
          ? 'timeout'
          : this.#lastVotedView >= this.#curView
            ? 'voted'
            : 'propose',
      leader: this.#leaders.leader(this.#curView),
      viewChanges: this.#viewChanges,
    };
  }

  /** Read-only view of the safety state, for tests and diagnostics. */
  debugState(): {
    view: number;
    lastVotedView: number;
    highQcView: number;
    lockedQcView: number;
    highTcView: number;
    blocks: number;
  } {
    return {
      view: this.#curView,
      lastVotedView: this.#lastVotedView,
      highQcView: this.#highQc.view,
      lockedQcView: this.#lockedQc.view,
      highTcView: this.#highTc?.view ?? 0,
      blocks: this.#blocks.size,
    };
  }

  step(input: EngineInput<HsMessage>): EngineOutput<HsMessage>[] {
    this.#out = [];
    // No catch-all: inputs are authenticated and decoded strictly before they get here, and every
    // rule checks what it reads; anything thrown is a bug, and the runtime halts on it.
    switch (input.kind) {
      case 'start':
        this.#onStart(input.head, input.recovered);
        break;
      case 'message':
        if (this.#started) this.#onMessage(input.from, input.msg, input.signature);
        break;
      case 'timeout':
        if (this.#started) this.#onTimer(input.timer, input.token);
        break;
      case 'txs-available': {
        const arrived = !this.#txsPending;
        this.#txsPending = true;
        if (this.#started && arrived) this.#onTxsArrived();
        if (this.#started) this.#tryPropose();
        break;
      }
      case 'block-built':
        if (this.#started) this.#onBlockBuilt(input.round, input.hash, input.block);
        break;
      case 'executed':
        if (this.#started) this.#onExecuted(input.hash, input.valid, input.code, input.reason);
        break;
      case 'committed':
        if (this.#started) this.#onCommitted(input.head, input.bySync);
        break;
    }
    if (this.#dirty) {
      this.#dirty = false;
      this.#out.push({ kind: 'persist', key: STATE_KEY, record: encodeRecord(STATE_RECORD, this.#record()) });
    }
    return this.#out;
  }

  #record(): Persisted {
    return {
      curView: this.#curView,
      lastVotedView: this.#lastVotedView,
      timedOutView: this.#timedOutView,
      highQc: this.#highQc,
      lockedQc: this.#lockedQc,
      highTc: this.#highTc,
    };
  }

  #note(level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, unknown>): void {
    this.#out.push(
      fields === undefined ? { kind: 'log', level, message } : { kind: 'log', level, message, fields },
    );
  }

  #evidence(type: Evidence['type'], validator: number, view: number, detail: string): void {
    this.#out.push({
      kind: 'evidence',
      evidence: { type, validator, height: this.#head.height + 1, round: view, detail },
    });
  }

  #leader(view: number): number {
    return this.#leaders.leader(view);
  }

  #broadcast(msg: HsMessage): void {
    this.#out.push({ kind: 'broadcast', msg });
  }

  #send(to: number, msg: HsMessage): void {
    this.#out.push({ kind: 'send', to, msg });
  }

  // -- lifecycle ------------------------------------------------------------------------------

  #onStart(head: HeadInfo, recovered: ReadonlyMap<string, Uint8Array>): void {
    this.#started = true;
    this.#setHead(head);
    this.#emittedHeight = head.height;
    // At genesis (or the base block an epoch starts from) the genesis QC is real; later, without a
    // record, it is a placeholder that proposes nothing (a real QC arrives with the first message).
    this.#highQc = genesisQc(head.hash);
    this.#lockedQc = this.#highQc;
    const raw = recovered.get(STATE_KEY);
    if (raw !== undefined) {
      // Unreadable, it would leave this node without its lock: decoding throws and the runtime
      // halts with the reason, rather than resume voting unlocked.
      const r = decodeRecord(STATE_RECORD, raw);
      this.#curView = Math.max(1, r.curView);
      this.#lastVotedView = r.lastVotedView;
      this.#timedOutView = r.timedOutView;
      if (r.highQc.view > 0) this.#highQc = r.highQc;
      if (r.lockedQc.view > 0) this.#lockedQc = r.lockedQc;
      this.#highTc = r.highTc;
    }
    // Blocks voted for before the crash: re-execute the uncommitted chain locally.
    const blocks: Block[] = [];
    for (const [key, bytes] of recovered) {
      if (!key.startsWith(BLOCK_KEY)) continue;
      let b: Block | undefined;
      try {
        b = decodeBlock(bytes);
      } catch (e) {
        onlyTyped(e);
        // a damaged block record: it can be fetched again
      }
      if (b === undefined || b.header.height <= head.height - KEEP_COMMITTED_BLOCKS) {
        this.#out.push({ kind: 'forget', key });
        continue;
      }
      this.#persistedBlocks.set(key, b.header.height);
      if (b.header.height > head.height) blocks.push(b);
    }
    blocks.sort((a, b) => a.header.height - b.header.height);
    for (const b of blocks) {
      try {
        this.#addBlock(b, headerHash(b.header), decodeEngineData(b.header.engineData), undefined);
      } catch (e) {
        onlyTyped(e);
        // not a block of ours
      }
    }
    // After a restart, the first view this node leads gets its proposal at once (no idle wait):
    // the view may be half done, and if this node had proposed in it before the crash, the
    // runtime's slot guard re-sends that very proposal.
    this.#eager = raw !== undefined || head.height > this.#base;
    this.#startView();
    this.#armTick();
    if (head.height > this.#base || raw !== undefined) this.#requestSync(undefined);
  }

  #setHead(head: HeadInfo): void {
    this.#head = { height: head.height, hash: head.hash, id: blockId(head.hash), history: head.history };
  }

  #armTick(): void {
    this.#out.push({ kind: 'set-timer', timer: 'tick', afterMs: this.#p.rebroadcastMs });
  }

  #requestSync(to: number | undefined): void {
    const msg: Sync = {
      type: 'sync',
      view: this.#curView,
      highQc: this.#highQc,
      tc: this.#highTc,
      request: true,
      blocks: [],
    };
    if (to === undefined) this.#broadcast(msg);
    else if (to !== this.#self) this.#send(to, msg);
  }

  // -- timers ---------------------------------------------------------------------------------

  /** View timers carry their view (height 0: views span heights); a firing for another is stale. */
  #onTimer(timer: string, token: TimerToken | undefined): void {
    switch (timer) {
      case 'view':
        if (tokenIs(token, 0, this.#curView)) this.#localTimeout();
        return;
      case 'view-busy':
        if (tokenIs(token, 0, this.#curView)) this.#localTimeout();
        return;
      case 'vote':
      case 'vote-busy':
        // The next leader has not carried this view's QC back in time: it may be down. Every node
        // can assemble the QC from votes it holds and move on; otherwise this view would be lost
        // with it, and the dead leader's own view would be a second view change in a row.
        if (timer === 'vote-busy' && !tokenIs(token, 0, this.#curView)) return;
        if (this.#myVote?.view === this.#curView && this.#timedOutView < this.#curView)
          this.#broadcast(this.#myVote);
        return;
      case 'empty-block':
        if (this.#waitingView === this.#curView) {
          this.#emptyDueView = this.#curView;
          this.#tryPropose();
        }
        return;
      case 'tick':
        this.#armTick();
        this.#onTick();
        return;
    }
  }

  /**
   * While a view is stalled (longer than an idle leader's wait plus one tick): re-send own
   * messages, ask for what is missing.
   */
  #onTick(): void {
    const v = this.#curView;
    if (v !== this.#lastTickView) {
      this.#lastTickView = v;
      this.#stalledTicks = 0;
      return;
    }
    this.#stalledTicks++;
    const self = this.#self;
    if (self !== undefined) {
      if (this.#myTimeout?.view === v) {
        // Timed out: keep the timeout (and this view's vote) flowing until a TC forms.
        this.#broadcast(this.#myTimeout);
        if (this.#myVote?.view === v) this.#broadcast(this.#myVote);
      } else if (this.#myVote?.view === v) {
        // The vote may be lost, or the next leader down — once it had time to form the QC: at
        // once if the chain holds uncommitted transactions, else after an idle leader's wait.
        // To everyone: any node can assemble the QC (see the 'vote' timer).
        if (
          this.#proposesAtOnce(this.#myVote.blockHash, 'chain') ||
          this.#stalledTicks * this.#p.rebroadcastMs > this.#p.emptyBlockIntervalMs
        )
          this.#broadcast(this.#myVote);
      }
      if (!this.#proposals.has(v) && this.#leader(v) !== self && this.#timedOutView < v) {
        // Missing this view's proposal: ask the leader, then everyone (who relay it).
        if (this.#stalledTicks === 1) this.#requestSync(this.#leader(v));
        else this.#requestSync(undefined);
      }
    }
    const ids = this.#blocks.fetchRound();
    if (ids.length > 0) this.#broadcast({ type: 'fetch', hashes: ids.map(hashOfBlockId) });
  }

  // -- pacemaker ------------------------------------------------------------------------------

  #enterView(view: number, reason: 'qc' | 'tc' | 'join'): void {
    if (view <= this.#curView) return;
    if (reason === 'qc') this.#consecutiveTimeouts = 0;
    else {
      this.#consecutiveTimeouts++;
      this.#viewChanges += view - this.#curView;
    }
    this.#curView = view;
    this.#dirty = true;
    this.#prune();
    this.#note('debug', 'enter view', { view, reason, highQc: this.#highQc.view });
    if (reason === 'tc' && this.#self !== undefined && this.#highTc !== undefined) {
      // The new leader needs TC(view − 1) to propose; it usually forms it itself, this makes sure.
      const leader = this.#leader(view);
      if (leader !== this.#self)
        this.#send(leader, {
          type: 'sync',
          view,
          highQc: this.#highQc,
          tc: this.#highTc,
          request: false,
          blocks: [],
        });
    }
    this.#startView();
  }

  #startView(): void {
    this.#replies.clear();
    this.#armViewTimer();
    this.#out.push({ kind: 'cancel-timer', timer: 'empty-block' });
    this.#tryPropose();
    this.#tryVote();
  }

  /**
   * The view timer, armed for what the view waits for next: on entering it, the leader's proposal;
   * once this node has proposed or voted, the next leader's proposal carrying this view's QC (it
   * is re-armed then). The base timeout doubles with each consecutive view change by timeout
   * (reset by a QC), plus an idle leader's wait (emptyBlockIntervalMs) unless that leader will
   * propose at once (#proposesAtOnce).
   */
  #armViewTimer(): void {
    const v = this.#curView;
    const busy =
      this.#myVote?.view === v
        ? this.#proposesAtOnce(this.#myVote.blockHash, 'block')
        : this.#myProposal?.view === v
          ? this.#txsPending || this.#myProposal.block.header.txCount > 0
          : this.#proposesAtOnce(this.#highQc.blockHash, 'block');
    this.#viewTimerIdleView = busy ? 0 : v;
    // Re-armed: a busy timer of the earlier arming is superseded by this one.
    this.#out.push({ kind: 'cancel-timer', timer: 'view-busy' });
    const ms = this.#viewTimeout() + (busy ? 0 : this.#p.emptyBlockIntervalMs);
    this.#out.push({ kind: 'set-timer', timer: 'view', afterMs: ms, token: { height: 0, round: v } });
  }

  /**
   * Whether a leader extending `blockHash` proposes at once rather than after an idle wait (see
   * #tryPropose): it does when it holds transactions — this node does, and transactions are
   * gossiped — or when the block carries some (a block is never committed by its own QC, so they
   * are still uncommitted there). 'chain' also counts the uncommitted blocks below it: looser (the
   * leader may have committed them meanwhile), for re-sends only, where early costs nothing.
   */
  #proposesAtOnce(blockHash: Uint8Array, what: 'block' | 'chain'): boolean {
    if (this.#txsPending) return true;
    const id = blockId(blockHash);
    if (what === 'chain') return this.#blocks.chainHasTxs(id, this.#head.height);
    return (this.#blocks.get(id)?.block.header.txCount ?? 0) > 0;
  }

  #viewTimeout(): number {
    return exponentialTimeout(this.#p.viewTimeoutMs, this.#consecutiveTimeouts, this.#p.maxViewTimeoutMs);
  }

  /** Sends this view's vote to every node unless its QC comes back first. */
  #armVoteTimer(blockHash: Uint8Array): void {
    const idle = !this.#proposesAtOnce(blockHash, 'chain');
    this.#voteTimerIdleView = idle ? this.#curView : 0;
    this.#out.push({ kind: 'cancel-timer', timer: 'vote-busy' });
    this.#out.push({
      kind: 'set-timer',
      timer: 'vote',
      afterMs: this.#p.rebroadcastMs + (idle ? this.#p.emptyBlockIntervalMs : 0),
    });
  }

  /**
   * Transactions arrived while this node waits for a leader with timers armed for its idle wait:
   * a leader holding transactions proposes at once, so both end sooner — through a second timer
   * each, without the wait (the first to fire counts: nothing is extended).
   */
  #onTxsArrived(): void {
    const v = this.#curView;
    if (this.#timedOutView >= v) return;
    const token = { height: 0, round: v };
    if (this.#viewTimerIdleView === v) {
      this.#viewTimerIdleView = 0;
      this.#out.push({ kind: 'set-timer', timer: 'view-busy', afterMs: this.#viewTimeout(), token });
    }
    if (this.#voteTimerIdleView === v && this.#myVote?.view === v) {
      this.#voteTimerIdleView = 0;
      this.#out.push({ kind: 'set-timer', timer: 'vote-busy', afterMs: this.#p.rebroadcastMs, token });
    }
  }

  #localTimeout(): void {
    const self = this.#self;
    if (self === undefined || this.#ctx.signer.blsSign === undefined) return;
    const v = this.#curView;
    if (this.#myTimeout?.view !== v) {
      this.#timedOutView = Math.max(this.#timedOutView, v);
      this.#lastVotedView = Math.max(this.#lastVotedView, v);
      this.#dirty = true;
      // Timed out (the timer, or > 1/3 of the power did): the view's timers are done. Cancelled
      // before the timeout goes out — its loopback may complete the TC — or a timer that fires in
      // between would be taken, once this node is in view v + 1, for that view's own and time it
      // out at once (the timeouts of all honest nodes come close together after a dead leader).
      this.#out.push({ kind: 'cancel-timer', timer: 'view' });
      this.#out.push({ kind: 'cancel-timer', timer: 'view-busy' });
      const signature = this.#ctx.signer.blsSign(timeoutMessage(this.#domain, v, this.#highQc.view));
      this.#myTimeout = {
        type: 'timeout',
        view: v,
        highQc: this.#highQc,
        signature,
        tc: this.#highTc?.view === v - 1 ? this.#highTc : undefined,
      };
      this.#note('debug', 'view timeout', { view: v, highQc: this.#highQc.view });
    }
    this.#broadcast(this.#myTimeout);
    // Let anyone assemble this view's QC if the next leader is down.
    if (this.#myVote?.view === v) this.#broadcast(this.#myVote);
  }

  #prune(): void {
    const v = this.#curView;
    for (const k of this.#votes.keys()) if (k < v - 2) this.#votes.delete(k);
    for (const k of this.#timeouts.keys()) if (k < v - 1) this.#timeouts.delete(k);
    for (const k of this.#failedChecks.keys()) if (k < v - 1) this.#failedChecks.delete(k);
    for (const k of this.#proposals.keys()) if (k < v - 8) this.#proposals.delete(k);
    for (const [k, qc] of this.#qcByView) {
      if (k < v - 64 && k < this.#highQc.view) {
        this.#qcByView.delete(k);
        this.#qcByBlock.delete(blockId(qc.blockHash));
      }
    }
  }

  // -- certificates -----------------------------------------------------------------------------

  /** A verified QC: record it, raise highQC, advance the view, apply lock and commit rules. */
  #processQc(qc: QuorumCert, from: number | undefined): void {
    if (qc.view === 0) return;
    const id = blockId(qc.blockHash);
    const known = this.#qcByView.get(qc.view);
    if (known === undefined) {
      this.#qcByView.set(qc.view, qc);
      this.#qcByBlock.set(id, qc);
      const seen = this.#proposals.get(qc.view);
      if (seen !== undefined && seen.id !== id) {
        this.#evidence(
          'duplicate-proposal',
          this.#leader(qc.view),
          qc.view,
          `signed proposal ${seen.id.slice(0, 12)} but ${id.slice(0, 12)} was certified`,
        );
      }
    } else if (!equalBytes(known.blockHash, qc.blockHash)) {
      this.#note('warn', 'two QCs for one view: more than 1/3 of the power equivocated', { view: qc.view });
      return;
    }
    if (qc.view > this.#highQc.view) {
      this.#highQc = qc;
      this.#dirty = true;
      if (!this.#blocks.has(id) && id !== this.#head.id) this.#want(id, from);
    }
    if (qc.view >= this.#curView) this.#enterView(qc.view + 1, 'qc');
    this.#lockAndCommit(qc);
  }

  #processTc(tc: TimeoutCert, from: number | undefined): void {
    this.#processQc(tc.highQc, from);
    if (this.#highTc === undefined || tc.view > this.#highTc.view) {
      this.#highTc = tc;
      this.#dirty = true;
    }
    if (tc.view === this.#curView && !this.#proposals.has(tc.view) && !this.#qcByView.has(tc.view))
      this.#silentLeaders.add(this.#leader(tc.view));
    if (tc.view >= this.#curView) this.#enterView(tc.view + 1, 'tc');
  }

  #lockAndCommit(qc: QuorumCert): void {
    const x = this.#blocks.get(blockId(qc.blockHash));
    if (x === undefined) return;
    if (this.#p.chain === 3) {
      // QC(b''): lock on b' (b''.justify); commit b when b ← b' ← b'' in consecutive views.
      if (x.justify.view > this.#lockedQc.view) {
        this.#lockedQc = x.justify;
        this.#dirty = true;
      }
      // The lock is a QC this node has processed, so never above the highest one.
      invariant(this.#lockedQc.view <= this.#highQc.view, () => 'hotstuff: locked QC above the high QC');
      const p = this.#blocks.get(x.parentId);
      if (p !== undefined && x.view === p.view + 1 && p.view === p.justify.view + 1)
        this.#setCommitTarget(p.parentId, p.height - 1, x.id, qc);
    } else if (x.view === x.justify.view + 1) {
      // QC(b'): commit b when b ← b' in consecutive views.
      this.#setCommitTarget(x.parentId, x.height - 1, x.id, qc);
    }
  }

  #setCommitTarget(targetId: BlockId, targetHeight: number, topId: BlockId, qc: QuorumCert): void {
    if (targetHeight <= this.#head.height) return;
    if (this.#commitTarget !== undefined && this.#commitTarget.targetHeight >= targetHeight) return;
    this.#commitTarget = { targetId, targetHeight, topId, qc };
    this.#tryCommit();
  }

  /** Emits `commit` for every uncommitted ancestor up to the target, oldest first, once executed. */
  #tryCommit(): void {
    const t = this.#commitTarget;
    if (t === undefined) return;
    if (t.targetHeight <= this.#emittedHeight) {
      if (t.targetHeight <= this.#head.height) this.#commitTarget = undefined;
      return;
    }
    const path: BlockNode[] = [];
    let n = this.#blocks.get(t.topId);
    while (n !== undefined) {
      path.push(n);
      if (n.parentId === this.#head.id) break;
      if (n.height <= this.#head.height + 1) {
        this.#note('warn', 'certified chain does not extend the committed head', { height: n.height });
        this.#commitTarget = undefined;
        return;
      }
      const parent = this.#blocks.get(n.parentId);
      if (parent === undefined) {
        this.#want(n.parentId, undefined);
        return;
      }
      n = parent;
    }
    if (n === undefined) return;
    path.reverse();
    const ti = path.findIndex((b) => b.id === t.targetId);
    if (ti < 0) {
      this.#commitTarget = undefined;
      return;
    }
    // Everything up to the target is committed; what this node has executed of it commits now
    // (a node that executes late — it holds blocks from its future — commits a prefix at a time,
    // while the target runs ahead), the rest as it is executed.
    let ready = -1;
    for (let i = 0; i <= ti; i++) {
      const b = path[i] as BlockNode;
      if (b.status === 'invalid') {
        this.#note('warn', 'a committed block failed execution here', { height: b.height });
        this.#commitTarget = undefined;
        return;
      }
      if (b.status !== 'valid') break; // executing, or waiting for its parent: later
      ready = i;
    }
    if (ready < 0 || (path[ready] as BlockNode).height <= this.#emittedHeight) return;
    // The target's certificate is the commit rule's chain above it; each ancestor committing with
    // it is proven through it: T's header and the ancestor's place in T's block-hash history,
    // computed from the committed history's frontier plus the uncommitted blocks below T.
    const kind = certificateKind(this.#p.qc);
    const target = path[ti] as BlockNode;
    const rule = path.slice(ti + 1).map((x) => x.block.header);
    const history = new ExtendedTree(
      this.#head.history,
      this.#head.height + 1,
      path.slice(0, ti).map((x) => leafHash(x.hash)),
    );
    for (let i = 0; i <= ready; i++) {
      const b = path[i] as BlockNode;
      if (b.height <= this.#emittedHeight) continue;
      const certificate: HotStuffCertificate =
        i === ti
          ? { kind, height: b.height, blockHash: b.hash, headers: rule, qc: t.qc }
          : {
              kind,
              height: b.height,
              blockHash: b.hash,
              headers: [target.block.header, ...rule],
              qc: t.qc,
              ancestry: history.inclusionProof(b.height, target.height),
            };
      this.#note('debug', 'commit', { height: b.height, view: b.view, by: t.qc.view });
      this.#out.push({ kind: 'commit', hash: b.hash, certificate });
      this.#emittedHeight = b.height;
    }
  }

  // -- blocks ---------------------------------------------------------------------------------

  #addBlock(block: Block, hash: Uint8Array, d: EngineData, from: number | undefined): BlockNode | undefined {
    const id = blockId(hash);
    const known = this.#blocks.get(id);
    if (known !== undefined) return known;
    if (block.header.height <= this.#head.height) return undefined;
    const node: BlockNode = {
      block,
      hash,
      id,
      parentId: blockId(block.header.parentHash),
      height: block.header.height,
      view: d.view,
      justify: d.justify,
      status: 'waiting',
    };
    this.#blocks.add(node, () => blockId(this.#highQc.blockHash));
    this.#tryExecute(node, from);
    const qc = this.#qcByBlock.get(id);
    if (qc !== undefined) this.#lockAndCommit(qc);
    return node;
  }

  #tryExecute(node: BlockNode, from: number | undefined): void {
    if (node.status !== 'waiting') return;
    if (node.parentId !== this.#head.id) {
      const parent = this.#blocks.get(node.parentId);
      if (parent === undefined) {
        if (node.height - 1 > this.#head.height) this.#want(node.parentId, from);
        else node.status = 'invalid'; // its parent would be a committed block other than the head
        return;
      }
      if (parent.status === 'invalid') {
        node.status = 'invalid';
        return;
      }
      if (parent.status !== 'valid') return;
    }
    node.status = 'executing';
    this.#out.push({ kind: 'execute', block: node.block, hash: node.hash });
  }

  #onExecuted(
    hash: Uint8Array,
    valid: boolean,
    code: ExecuteFailure | undefined,
    reason: string | undefined,
  ): void {
    const id = blockId(hash);
    const node = this.#blocks.get(id);
    if (node === undefined || node.status !== 'executing') return;
    if (!valid) {
      // Only INVALID is final (the contract): a stale block is dropped, and one whose parent the
      // runtime did not have — or timestamped beyond what it holds — waits to be tried again
      // (when the parent executes or commits).
      if (code === 'STALE') this.#blocks.delete(id);
      else if (code === 'UNKNOWN_PARENT' || code === 'FUTURE') node.status = 'waiting';
      else node.status = 'invalid';
      this.#note('info', 'block not executed', { height: node.height, view: node.view, code, reason });
      return;
    }
    node.status = 'valid';
    for (const child of this.#blocks.waitingChildren(id)) this.#tryExecute(child, undefined);
    this.#tryCommit();
    this.#tryPropose();
    this.#tryVote();
  }

  /** A block named by a QC or a child is missing: fetch it, from `from` first if given. */
  #want(id: BlockId, from: number | undefined): void {
    if (!this.#blocks.want(id, this.#head.id)) return;
    const msg: HsMessage = { type: 'fetch', hashes: [hashOfBlockId(id)] };
    if (from !== undefined && from !== this.#self) this.#send(from, msg);
    else this.#broadcast(msg);
  }

  #onCommitted(head: HeadInfo, bySync: boolean): void {
    if (head.height <= this.#head.height) return;
    this.#setHead(head);
    if (this.#emittedHeight < head.height) this.#emittedHeight = head.height;
    this.#txsPending = false; // the runtime re-announces a non-empty mempool right after
    this.#blocks.pruneTo(this.#head);
    for (const [key, height] of this.#persistedBlocks) {
      if (height > head.height - KEEP_COMMITTED_BLOCKS) continue;
      this.#persistedBlocks.delete(key);
      this.#out.push({ kind: 'forget', key });
    }
    for (const b of this.#blocks.waitingChildren(this.#head.id)) this.#tryExecute(b, undefined);
    if (this.#commitTarget !== undefined && this.#commitTarget.targetHeight <= head.height)
      this.#commitTarget = undefined;
    this.#tryCommit();
    this.#tryPropose();
    if (bySync && this.#syncRequestedView !== this.#curView) {
      // Caught up by block sync: ask for the certified, uncommitted tail of the chain.
      this.#syncRequestedView = this.#curView;
      this.#requestSync(undefined);
    }
  }

  // -- messages -------------------------------------------------------------------------------

  #onMessage(from: number, msg: HsMessage, signature: Uint8Array): void {
    switch (msg.type) {
      case 'proposal':
        this.#onProposal(from, msg, signature);
        break;
      case 'vote':
        this.#onVote(from, msg);
        break;
      case 'timeout':
        this.#onTimeoutMsg(from, msg);
        break;
      case 'sync':
        this.#onSync(from, msg);
        break;
      case 'fetch':
        this.#onFetch(from, msg);
        break;
    }
  }

  /** Checks a block's engine data against this chain; a reason if it does not fit. */
  #badEngineData(block: Block, d: EngineData): string | undefined {
    if (d.chain !== this.#p.chain) return `declares a ${d.chain}-chain rule`;
    if (d.justify.tag !== QC_GENESIS && d.justify.tag !== modeTag(this.#p.qc))
      return 'justify QC of another mode';
    if (!equalBytes(d.justify.blockHash, block.header.parentHash)) return 'justify QC is not for its parent';
    if (d.justify.tag === QC_GENESIS && block.header.height !== this.#base + 1)
      return `genesis QC above height ${this.#base + 1}`;
    if (!verifyQc(d.justify, this.#trust)) return BAD_JUSTIFY;
    return undefined;
  }

  #onProposal(from: number, m: Proposal, signature: Uint8Array): void {
    if (this.#hasFailed(from, m.view)) return;
    const bad = this.#badEngineData(m.block, m.data);
    if (bad !== undefined) {
      if (bad === BAD_JUSTIFY) this.#failedCheck(from, m.view, `proposal: ${bad}`);
      else this.#evidence('invalid-message', from, m.view, `proposal: ${bad}`);
      return;
    }
    if (m.tc !== undefined && !verifyTc(m.tc, this.#trust)) {
      this.#failedCheck(from, m.view, 'proposal: invalid TC');
      return;
    }
    // A proposal is justified by QC(v − 1) or TC(v − 1); this also bounds v by certified views.
    if (m.data.justify.view !== m.view - 1 && m.tc?.view !== m.view - 1) return;
    const leader = this.#leader(m.view);
    if (from !== leader) return;
    if (!equalBytes(m.block.header.proposer, this.#validators.at(leader)?.address ?? new Uint8Array(0))) {
      this.#evidence('invalid-message', from, m.view, 'proposal: block proposer is not the leader');
      return;
    }
    if (m.view + 1 >= this.#curView) this.#silentLeaders.delete(from); // alive: it proposes now
    this.#processQc(m.data.justify, from);
    if (m.tc !== undefined) this.#processTc(m.tc, from);
    const id = blockId(m.hash);
    const seen = this.#proposals.get(m.view);
    // A second proposal for the view is equivocation: the runtime holds the evidence.
    if (seen !== undefined) return;
    const certified = this.#qcByView.get(m.view);
    if (certified !== undefined && blockId(certified.blockHash) !== id)
      this.#evidence(
        'duplicate-proposal',
        from,
        m.view,
        `proposal ${id.slice(0, 12)} but another block was certified`,
      );
    if (m.view >= this.#curView - 8) this.#proposals.set(m.view, { id, tc: m.tc, msg: m, signature });
    this.#addBlock(m.block, m.hash, m.data, from);
    this.#tryVote();
  }

  #tryVote(): void {
    const self = this.#self;
    if (self === undefined) return;
    const v = this.#curView;
    if (v <= this.#lastVotedView) return;
    const seen = this.#proposals.get(v);
    if (seen === undefined) return;
    const b = this.#blocks.get(seen.id);
    if (b === undefined || b.status !== 'valid') return;
    if (this.#p.chain === 3) {
      if (b.justify.view < this.#lockedQc.view) return; // safeNode
    } else if (b.justify.view !== v - 1) {
      const tc = seen.tc?.view === v - 1 ? seen.tc : this.#highTc?.view === v - 1 ? this.#highTc : undefined;
      if (tc === undefined || b.justify.view < maxHighQcView(tc)) return;
    }
    const message = voteMessage(this.#domain, v, b.hash);
    let signature: Uint8Array;
    if (this.#p.qc === 'threshold') {
      const share = this.#ctx.signer.blsShareSign?.(message);
      if (share === undefined || share.index !== self + 1) {
        this.#note('warn', 'hotstuff: this node’s key share does not match its validator index');
        return;
      }
      signature = share.signature;
    } else {
      const sig = this.#ctx.signer.blsSign?.(message);
      if (sig === undefined) return;
      signature = sig;
    }
    invariant(v > this.#lastVotedView, () => `hotstuff: a second vote in view ${v}`);
    invariant(
      this.#p.chain !== 3 || b.justify.view >= this.#lockedQc.view,
      () =>
        `hotstuff: vote in view ${v} for a block whose justify (view ${b.justify.view}) is below the lock`,
    );
    this.#lastVotedView = v;
    this.#dirty = true;
    const key = `${BLOCK_KEY}${b.id}`;
    if (!this.#persistedBlocks.has(key)) {
      this.#persistedBlocks.set(key, b.height);
      this.#out.push({ kind: 'persist', key, record: encodeBlock(b.block) });
    }
    this.#myVote = { type: 'vote', view: v, blockHash: b.hash, signature };
    const next = this.#leader(v + 1);
    if (this.#silentLeaders.has(next)) this.#broadcast(this.#myVote);
    else this.#send(next, this.#myVote);
    // Now waiting for the next leader: the view timer covers that, and if it has not brought the
    // QC back within a re-send interval (plus its idle wait, if it may wait), the vote goes to
    // every node (#onTimer 'vote').
    this.#armViewTimer();
    this.#armVoteTimer(b.hash);
  }

  #failedChecksKey(view: number): number {
    return Math.min(Math.max(view, this.#curView - 1), this.#curView + MAX_VIEW_AHEAD);
  }

  #hasFailed(from: number, view: number): boolean {
    return this.#failedChecks.get(this.#failedChecksKey(view))?.has(from) ?? false;
  }

  /** Records a failed BLS check of `from` in `view` and reports it (once per view: see #failedChecks). */
  #failedCheck(from: number, view: number, detail: string): void {
    const key = this.#failedChecksKey(view);
    let set = this.#failedChecks.get(key);
    if (set === undefined) this.#failedChecks.set(key, (set = new Set()));
    set.add(from);
    this.#evidence('invalid-message', from, view, detail);
  }

  #onVote(from: number, m: Vote): void {
    if (this.#qcByView.has(m.view)) return; // already certified: nothing to verify
    if (m.view < this.#highQc.view) return;
    if (m.view + 1 < this.#curView) {
      this.#helpLagging(from);
      return;
    }
    if (m.view > this.#curView + MAX_VIEW_AHEAD) return;
    const validator = this.#validators.at(from);
    if (validator === undefined || this.#hasFailed(from, m.view)) return;
    const id = blockId(m.blockHash);
    let book = this.#votes.get(m.view);
    if (book === undefined)
      this.#votes.set(m.view, (book = new VoteSet(this.#validators, MAX_VALUES_PER_VALIDATOR)));
    const message = voteMessage(this.#domain, m.view, m.blockHash);
    const added = book.add(from, id, m.signature, () =>
      this.#p.qc === 'threshold'
        ? verifyShare(
            this.#ctx.threshold?.sharePublicKeys[from] ?? new Uint8Array(0),
            message,
            from + 1,
            m.signature,
          )
        : verifySignature(validator.blsPublicKey, message, m.signature),
    );
    if (added.invalid) {
      this.#failedCheck(
        from,
        m.view,
        `vote with a bad BLS ${this.#p.qc === 'threshold' ? 'share' : 'signature'}`,
      );
      return;
    }
    // A duplicate, or an equivocator past the cap. (A conflicting vote is counted per value; the
    // runtime, which saw both envelopes, holds the verifiable evidence.)
    if (!added.added) return;
    const reached =
      this.#p.qc === 'threshold'
        ? book.countFor(id) >= this.#threshold
        : book.powerFor(id) >= this.#validators.quorumPower;
    if (!reached) return;
    const votes = book.votesFor(id).map(({ validator: v, vote }) => ({ validator: v, signature: vote }));
    // Every vote was verified on arrival, so assembling cannot fail on a peer's input.
    const qc =
      this.#p.qc === 'threshold'
        ? assembleThresholdQc(m.view, m.blockHash, votes, this.#threshold)
        : assembleAggregateQc(m.view, m.blockHash, votes, this.#validators.size);
    rememberValidQc(qc, this.#trust);
    this.#note('debug', 'formed QC', { view: m.view, votes: votes.length });
    this.#processQc(qc, undefined);
    // (Only when it is building at once: an idle leader's QC commits no transaction, and the
    // others, moved into its view a second before its proposal, would ask for that proposal.)
    if (this.#leader(m.view + 1) === this.#self && this.#buildingView === this.#curView) this.#announceQc(qc);
  }

  /**
   * The next leader announces the QC it formed to every node at once, instead of only in its
   * proposal: the runtime may hold that proposal for the block floor (min_block_interval_ms), and
   * the QC alone is what commits the parent (two-chain) and moves the others into the new view.
   * A QC proves itself, so it is sent as a SYNC; the proposal carries it again, verified once
   * (verifyQc is memoised).
   */
  #announceQc(qc: QuorumCert): void {
    this.#broadcast({
      type: 'sync',
      view: this.#curView,
      highQc: qc,
      tc: undefined,
      request: false,
      blocks: [],
    });
  }

  /**
   * Timeouts and syncs carry the sender's highest QC and, optionally, a TC: verify both (evidence
   * and false if either is invalid, or the QC is of the other mode) and advance on them.
   */
  #acceptCarried(from: number, m: Timeout | Sync, what: 'timeout' | 'sync'): boolean {
    if (this.#hasFailed(from, m.view)) return false;
    if (!verifyQc(m.highQc, this.#trust) || (m.highQc.view > 0 && m.highQc.tag !== modeTag(this.#p.qc))) {
      this.#failedCheck(from, m.view, `${what} with an invalid QC`);
      return false;
    }
    if (m.tc !== undefined) {
      if (!verifyTc(m.tc, this.#trust)) {
        this.#failedCheck(from, m.view, `${what} with an invalid TC`);
        return false;
      }
      this.#processTc(m.tc, from);
    }
    this.#processQc(m.highQc, from);
    return true;
  }

  #onTimeoutMsg(from: number, m: Timeout): void {
    if (!this.#acceptCarried(from, m, 'timeout')) return;
    if (m.view < this.#curView) {
      this.#helpLagging(from);
      return;
    }
    if (m.view > this.#curView + MAX_VIEW_AHEAD) return;
    const validator = this.#validators.at(from);
    if (validator === undefined) return;
    let set = this.#timeouts.get(m.view);
    if (set === undefined) this.#timeouts.set(m.view, (set = new Map()));
    if (set.has(from)) return;
    if (
      !verifySignature(
        validator.blsPublicKey,
        timeoutMessage(this.#domain, m.view, m.highQc.view),
        m.signature,
      )
    ) {
      this.#failedCheck(from, m.view, 'timeout with a bad BLS signature');
      return;
    }
    set.set(from, { highQc: m.highQc, signature: m.signature });
    const power = this.#validators.powerOf(set.keys());
    if (power >= this.#validators.quorumPower) {
      const tc = assembleTc(
        m.view,
        [...set].map(([validator, t]) => ({ validator, highQc: t.highQc, signature: t.signature })),
        this.#validators.size,
      );
      rememberValidTc(tc, this.#trust);
      this.#note('debug', 'formed TC', { view: m.view, highQc: tc.highQc.view });
      this.#processTc(tc, undefined);
      return;
    }
    // > 1/3 timed out in a view ≥ ours: an honest node gave up on it; join so a TC forms.
    if (power >= this.#validators.oneHonestPower && this.#timedOutView < m.view) {
      if (m.view > this.#curView) this.#enterView(m.view, 'join');
      if (m.view === this.#curView) this.#localTimeout();
    }
  }

  #onSync(from: number, m: Sync): void {
    if (!this.#acceptCarried(from, m, 'sync')) return;
    if (m.blocks.length > 0) this.#acceptBlocks(m.blocks, from);
    if (!m.request || from === this.#self || !this.#allowReply(from)) return;
    const blocks: Block[] = [];
    if (m.highQc.view < this.#highQc.view)
      this.#blocks.serveChain(
        blockId(this.#highQc.blockHash),
        blockId(m.highQc.blockHash),
        blocks,
        new Set(),
      );
    this.#send(from, {
      type: 'sync',
      view: this.#curView,
      highQc: this.#highQc,
      tc: this.#highTc,
      request: false,
      blocks,
    });
    // A validator in our view without its proposal: re-send ours (the same signed message), or
    // relay the leader's (once per view: a relay reaches everyone).
    if (m.view !== this.#curView) return;
    if (this.#myProposal !== undefined && this.#myProposal.view === this.#curView) {
      this.#send(from, this.#myProposal);
      return;
    }
    const seen = this.#proposals.get(this.#curView);
    if (seen !== undefined && this.#relayedView < this.#curView) {
      this.#relayedView = this.#curView;
      this.#out.push({
        kind: 'relay',
        from: this.#leader(this.#curView),
        msg: seen.msg,
        signature: seen.signature,
      });
    }
  }

  #onFetch(from: number, m: Extract<HsMessage, { type: 'fetch' }>): void {
    if (from === this.#self || !this.#allowReply(from)) return;
    const blocks: Block[] = [];
    const seen = new Set<BlockId>();
    for (const h of m.hashes) this.#blocks.serveChain(blockId(h), undefined, blocks, seen);
    if (blocks.length === 0) return;
    this.#send(from, {
      type: 'sync',
      view: this.#curView,
      highQc: this.#highQc,
      tc: this.#highTc,
      request: false,
      blocks,
    });
  }

  /** Blocks by hash: accepted only if wanted (named by a QC or a child), verified as we go. */
  #acceptBlocks(blocks: readonly Block[], from: number): void {
    const pending = blocks.map((b) => ({ b, hash: headerHash(b.header), done: false }));
    for (let progress = true; progress; ) {
      progress = false;
      for (const x of pending) {
        if (x.done) continue;
        const id = blockId(x.hash);
        if (this.#blocks.has(id) || x.b.header.height <= this.#head.height) {
          x.done = true;
          continue;
        }
        if (!this.#blocks.isWanted(id) && !this.#qcByBlock.has(id)) continue;
        x.done = true;
        let d: EngineData;
        try {
          d = decodeEngineData(x.b.header.engineData);
        } catch (e) {
          onlyTyped(e);
          continue;
        }
        if (this.#badEngineData(x.b, d) !== undefined) continue;
        this.#processQc(d.justify, from);
        this.#addBlock(x.b, x.hash, d, from);
        progress = true;
      }
    }
  }

  #allowReply(peer: number): boolean {
    const n = this.#replies.get(peer) ?? 0;
    if (n >= REPLIES_PER_PEER_PER_VIEW) return false;
    this.#replies.set(peer, n + 1);
    return true;
  }

  /** A peer sent something for an old view: give it the certificate of ours. */
  #helpLagging(peer: number): void {
    if (peer === this.#self || !this.#allowReply(peer)) return;
    this.#send(peer, {
      type: 'sync',
      view: this.#curView,
      highQc: this.#highQc,
      tc: this.#highTc,
      request: false,
      blocks: [],
    });
  }

  // -- proposing ------------------------------------------------------------------------------

  #tryPropose(): void {
    const self = this.#self;
    const v = this.#curView;
    if (self === undefined || this.#leader(v) !== self) return;
    if (this.#proposedView >= v || this.#buildingView === v || this.#timedOutView >= v) return;
    const qc = this.#highQc;
    if (qc.view !== v - 1 && this.#highTc?.view !== v - 1) return; // not justified (yet)
    if (qc.view === 0 && this.#head.height !== this.#base) return; // placeholder after a restart
    const pid = blockId(qc.blockHash);
    let parentHeight: number;
    if (pid === this.#head.id) parentHeight = this.#head.height;
    else {
      const parent = this.#blocks.get(pid);
      if (parent === undefined) {
        this.#want(pid, undefined);
        return;
      }
      if (parent.status !== 'valid') return; // proposed again once executed
      parentHeight = parent.height;
    }
    const urgent =
      this.#eager ||
      this.#txsPending ||
      this.#emptyDueView === v ||
      this.#p.emptyBlockIntervalMs === 0 ||
      this.#blocks.chainHasTxs(pid, this.#head.height);
    if (!urgent) {
      if (this.#waitingView !== v) {
        this.#waitingView = v;
        this.#out.push({ kind: 'set-timer', timer: 'empty-block', afterMs: this.#p.emptyBlockIntervalMs });
      }
      return;
    }
    this.#buildingView = v;
    this.#out.push({
      kind: 'build-block',
      height: parentHeight + 1,
      round: v,
      parent: qc.blockHash,
      engineData: encodeEngineData({ view: v, chain: this.#p.chain, justify: qc }),
    });
  }

  #onBlockBuilt(view: number, hash: Uint8Array, block: Block): void {
    if (view !== this.#curView || this.#buildingView !== view || this.#proposedView >= view) return;
    this.#proposedView = view;
    this.#eager = false;
    let justifyView: number;
    try {
      justifyView = decodeEngineData(block.header.engineData).justify.view;
    } catch (e) {
      onlyTyped(e);
      return;
    }
    const tc = justifyView !== view - 1 && this.#highTc?.view === view - 1 ? this.#highTc : undefined;
    const msg = proposalMessage(view, block, tc, hash) as Proposal;
    this.#myProposal = msg;
    this.#armViewTimer();
    this.#note('debug', 'propose', { view, height: block.header.height, txs: block.txs.length });
    this.#broadcast(msg);
  }
}
