/**
 * PBFT (Castro & Liskov, "Practical Byzantine Fault Tolerance", OSDI '99; "… and Proactive
 * Recovery", TOCS '02) as a sans-I/O ledger engine. Requests are batched into blocks and the
 * sequence number of a batch is the block height; the digest is the block hash.
 *
 * Normal case. The primary of view v sends PRE-PREPARE(v, n, d, p, block). A backup accepts it
 * (right view, inside the watermarks, first for (v, n), matching the NEW-VIEW's re-proposals),
 * executes the block on its parent, and sends PREPARE(v, n, d, p). prepared(v, n, d) = the
 * PRE-PREPARE + PREPAREs from other validators, together > 2/3 of the power. Then COMMIT(v, n, d);
 * > 2/3 of COMMIT power decides d at n (committed-local), and blocks are committed strictly in
 * sequence order. Quorums are by voting power throughout.
 *
 * Replies. A PBFT client waits for f+1 matching REPLYs. In Verity the client instead waits for
 * the block's commit certificate: the > 2/3 COMMIT signatures, which sign the ledger's commit-vote
 * bytes (round = view) and so ARE an ed25519-quorum certificate. It proves more than f+1 replies
 * (a quorum, not one honest replica, vouches for the result, and the header commits to the state
 * and log roots after execution), so there is no REPLY message.
 *
 * Primary selection: weighted. primary(v) = ProposerSchedule.proposer(1, v) — the CometBFT
 * proposer-priority rotation (consensus/proposer.ts) indexed by view, the same walk Tendermint
 * makes through the rounds of its first height. Each validator leads views in proportion to its
 * power; with equal powers, primary(v) = (v + 1) mod n.
 *
 * Pipelining and the chain. The primary may pre-prepare n+1 (building on the uncommitted block n)
 * before n commits, as long as n+1 ≤ h + L (h = last stable checkpoint, L = watermarkWindow).
 * Because block n+1 names its parent, agreement per sequence number is not enough: the decided
 * blocks must form a chain. The rules:
 *  (R1) PREPARE(v, n, d, p) only if d is valid (executed on p) and p is what this replica has at
 *       n-1: the committed block, or the digest pre-prepared in v at n-1.
 *  (R2) COMMIT(v, n, d) only if prepared(v, n, d) AND its parent p is committed at n-1 or was
 *       itself COMMIT-eligible under (R2) in view v ("prepared chain").
 *  (R3) A new view re-proposes only a contiguous chain (see deriveReproposals, view-change-proofs.ts).
 * Why it is safe: if d is decided at n in view v, > 2/3 of the power sent COMMIT(v, n, d), so
 * honest replicas holding > 1/3 had, by (R2), the whole ancestry of d prepared in v down to a
 * committed block. Each ancestor is therefore "committed" in the paper's sense (prepared at f+1
 * honest replicas) or decided, so — by the paper's view-change argument — every later NEW-VIEW
 * carries each of them at its sequence number, and the highest-view certificate at each of those
 * numbers has exactly that digest (no quorum can prepare anything else there in a later view).
 * The contiguity check of (R3) thus never cuts a decided block, and every decided block's parent
 * is the decided block one below: the committed chain is consistent. What (R3) cuts (a highest-
 * view certificate whose parent is not the entry below) was never decided and is dropped.
 *
 * Checkpoints every K (= checkpointInterval) blocks: CHECKPOINT(n, block hash at n) — the block
 * hash commits to the state and log roots. > 2/3 matching = stable checkpoint: the low watermark
 * h advances and log entries ≤ h are garbage-collected. K ≤ L is required (else the window could
 * never reach the next checkpoint).
 *
 * View change. A replica that sees no commit within emptyBlockIntervalMs + requestTimeoutMs·2^k
 * (k = view changes since the last commit, capped at maxTimeoutMs) moves to v+1 and broadcasts
 * VIEW-CHANGE(v+1, C = stable checkpoint + proof, P = highest-view prepared certificate per
 * n > h). After > 2/3 VIEW-CHANGEs for its view it waits viewChangeTimeoutMs·2^k for the NEW-VIEW,
 * then moves on. f+1 rule: VIEW-CHANGEs from > 1/3 of the power for views above ours make us
 * join the smallest such view. The new primary sends NEW-VIEW(v+1, V, O) with V = the signed
 * VIEW-CHANGEs (> 2/3) and O = deriveReproposals(V), then PRE-PREPAREs for O in the new view.
 * Replicas verify every embedded signature (checkpoint proofs, PRE-PREPARE and PREPARE signatures
 * in the certificates, the VIEW-CHANGE signatures) against the genesis keys, re-derive O, and
 * only then install the view. A valid NEW-VIEW for any higher view is accepted directly, so a
 * replica that missed view changes catches up from one (relayed) NEW-VIEW. A replica that commits
 * a block certified in a later view (block sync brought it) moves to that view: the certificate's
 * > 2/3 COMMITs prove the power moved there, and its VIEW-CHANGE gets it the NEW-VIEW — else each
 * synced commit re-arms its progress timer and it never leaves its old view.
 *
 * Persisted before messages leave (runtime batch): the view and whether it is installed, the
 * stable checkpoint with its proof, every prepared certificate above it (and its block, so a
 * restarted replica can still re-propose or relay it), this replica's own VIEW-CHANGE for its
 * view, the last installed NEW-VIEW, and the block of its latest CHECKPOINT with its commit
 * certificate (the chain store's last write may be unsynced; a restarted replica whose chain lost
 * that block commits it again — see #onCommitted). The runtime's per-slot guard covers the rest: a restarted
 * primary that rebuilds a sequence number it had already pre-prepared gets its original
 * PRE-PREPARE re-sent and looped back, and adopts that block.
 *
 * Gossip (the paper assumes eventual delivery; the network loses messages). On every
 * rebroadcast tick a replica re-sends its COMMIT for its head and relays the votes it holds at
 * newly committed heights that are NOT for the committed block (a Byzantine validator's other
 * half of an equivocation: this is how it gets reported). When no block committed since the
 * last tick it also re-sends its own messages for the uncommitted window and relays the others'
 * for the next block (with the block attached to relayed PRE-PREPAREs) and for the next
 * checkpoint. During a view change it re-sends its VIEW-CHANGEs (and relays the others' every
 * third tick); the last installed NEW-VIEW is re-sent by its primary and sent or relayed to
 * replicas seen sending VIEW-CHANGEs for its view or older ones — also after we left that view
 * again (see #nv).
 */

import { equalBytes } from '../../crypto/bytes.ts';
import { onlyTyped } from '../../crypto/errors.ts';
import { LruCache } from '../../crypto/lru.ts';
import {
  type Block,
  DEFAULT_MAX_BLOCK_BYTES,
  decodeBlock,
  encodeBlock,
  headerHash,
} from '../../ledger/block.ts';
import {
  type CommitCertificate,
  decodeCertificate,
  encodeCertificate,
  LEDGER_CERTIFICATE_SCHEMES,
  MAX_CERTIFICATE_BYTES,
  type QuorumCertificate,
} from '../../ledger/certificate.ts';
import { asBytes, asList, asSafeUint, DecodeError, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import {
  type BlockId,
  type BlockOnParent,
  blockId,
  blockOnParent,
  hashOfBlockId,
  splitBlockOnParent,
} from '../block-id.ts';
import { ProposerSchedule } from '../proposer.ts';
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
import {
  type CheckpointProof,
  MAX_PBFT_MESSAGE,
  MAX_VIEW,
  type NewView,
  type PbftMessage,
  type PrePrepare,
  type PreparedCert,
  pbftCodec,
  type ViewChange,
} from './messages.ts';
import type { PbftParams } from './params.ts';
import { type DerivedReproposals, deriveReproposals, ViewChangeProofs } from './view-change-proofs.ts';

/** Views this far above ours are ignored (bounds memory and work against view spam). */
const MAX_VIEW_AHEAD = 256;
/** Messages of a view not yet installed, kept until it is. */
const MAX_FUTURE = 4096;
/**
 * COMMITs are counted for decisions in any view within this distance of ours (a replica that
 * missed a view change still sees blocks decided in the next views); one vote set per view.
 */
const COMMIT_VIEW_SPAN = 16;
const MAX_MEMO = 4096;
const MAX_VCS_PER_VALIDATOR = 8;
/**
 * Views of VIEW-CHANGEs kept and re-sent while changing views: ours and the one before. Enough:
 * replicas holding ≤ f of the power cannot gather a quorum without the others, so they are at
 * most one view ahead of them; a group holding more than f pulls the others up (f+1 rule).
 */
const VC_HISTORY = 2;

const STATE_KEY = 'state';
const VC_KEY = 'vc';
const NV_KEY = 'nv';
const CKPT_KEY = 'ckpt';
const blockKey = (seq: number, window: number) => `block-${seq % window}`;

interface PrePrepareEntry {
  readonly digest: BlockId;
  readonly parent: BlockId;
  readonly signature: Uint8Array;
  readonly from: number;
}

/** Everything about one sequence number, by view. */
interface SeqLog {
  readonly pps: Map<number, PrePrepareEntry>;
  readonly prepares: Map<number, VoteSet<Uint8Array, BlockOnParent>>;
  readonly commits: Map<number, VoteSet<Uint8Array, BlockId>>;
  readonly sentPrepare: Set<number>;
  readonly sentCommit: Set<number>;
  /** Views in which this replica has seen the sequence number prepared. */
  readonly preparedIn: Set<number>;
}

/**
 * The safety record (STATE_KEY): the view, whether it is installed, and a VIEW-CHANGE-shaped
 * snapshot of the stable checkpoint and the prepared certificates above it.
 */
interface PersistedState {
  readonly view: number;
  readonly active: boolean;
  readonly installedView: number;
  readonly snapshot: ViewChange;
}

const STATE_RECORD: RecordSchema<PersistedState> = {
  name: 'pbft state record',
  version: 2,
  maxBytes: MAX_PBFT_MESSAGE,
  encode: (p) => [p.view, p.active ? 1 : 0, p.installedView, pbftCodec.encode(p.snapshot)],
  decode: (f) => {
    if (f.length !== 4) throw new DecodeError('MALFORMED', `pbft record: ${f.length} fields, expected 4`);
    const view = asSafeUint(f[0], 'view');
    const installedView = asSafeUint(f[2], 'installedView');
    const snapshot = pbftCodec.decode(asBytes(f[3], 'snapshot'));
    if (snapshot.type !== 'view-change' || view > MAX_VIEW || installedView > view)
      throw new DecodeError('MALFORMED', 'pbft record: snapshot or views out of range');
    return { view, active: asSafeUint(f[1], 'active') === 1, installedView, snapshot };
  },
};

export class PbftEngine implements ConsensusEngine<PbftMessage> {
  readonly #ctx: EngineContext;
  readonly #p: PbftParams;
  readonly #validators: ValidatorSet;
  readonly #schedule: ProposerSchedule;
  readonly #primaryMemo = new LruCache<number, number>(MAX_MEMO);
  #out: EngineOutput<PbftMessage>[] = [];
  #started = false;

  #head: HeadInfo = {
    height: 0,
    hash: new Uint8Array(32),
    time: { ms: 0, logical: 0 },
    history: [],
    engineData: new Uint8Array(0),
  };
  /** Block hash by height for heights in [stable, head] that this replica committed since start. */
  readonly #committed = new Map<number, BlockId>();
  #committing: { seq: number; digest: BlockId; ticks: number; certificate: CommitCertificate } | undefined;
  /**
   * The block of our latest CHECKPOINT with its commit certificate, read back from the WAL on
   * start when the chain store no longer has it: committed again by #tryDecide (see #onCommitted).
   */
  #ckptBlock: { seq: number; digest: BlockId; block: Block; certificate: CommitCertificate } | undefined;
  #lastTickHeight = -1;

  // View state.
  #view = 0;
  /** The view is installed (NEW-VIEW accepted, or view 0); false while changing views. */
  #active = true;
  /**
   * Our VIEW-CHANGEs for the last VC_HISTORY views since the last installed one, oldest first.
   * Re-sent while changing views: a replica still waiting in view v needs the VIEW-CHANGE(v) of
   * a replica that already gave up on v to complete v's quorum (else the two wait forever).
   */
  #myVcs: ViewChange[] = [];
  /** The last view this replica installed. */
  #installedView = 0;
  /**
   * The NEW-VIEW of #installedView — kept when we leave that view again. A replica that missed it
   * (partitioned, crashed) keeps sending VIEW-CHANGEs for that view, or an older one; if everyone
   * who installed the view has since timed out and moved on, nothing else can ever complete it:
   * the VIEW-CHANGEs for it are gone (ours are dropped once the view is installed, and those of
   * views at or below the installed one are ignored), so neither its quorum nor its view-change
   * timer can form, the f+1 rule needs more replicas than the ones that moved on, and the ones
   * that moved on need the laggard's VIEW-CHANGE for their view. Forwarding the NEW-VIEW (the
   * paper's retransmission of the new-view message to a replica that has not accepted it) brings
   * the laggard into that view, whence it times out and joins the others. It is safe: the
   * receiver verifies it completely (every embedded signature, O re-derived) as it would have on
   * time, and delivery order is irrelevant to PBFT's safety (found by the simulator:
   * sweep-100293).
   */
  #nv: { from: number; signature: Uint8Array; msg: NewView } | undefined;
  #nvSentFor = -1;
  #nvTicks = 0;
  /** The installed NEW-VIEW's re-proposals above the stable checkpoint, and its last sequence number. */
  readonly #reproposals = new Map<number, { digest: BlockId; parent: BlockId }>();
  #reproposedUpTo = 0;
  /**
   * Valid VIEW-CHANGEs above the floor (#vcFloor), by validator then view. Kept per view, not
   * just the highest: a replica that gave up on view v (its timer fired) still counts toward
   * v's quorum.
   */
  readonly #vcs = new Map<number, Map<number, { msg: ViewChange; signature: Uint8Array }>>();
  /** The view whose view-change timer is armed (it is armed once per view). */
  #vcTimerFor = -1;
  /** View changes since the last commit: the exponent of the timers' backoff. */
  #failedViews = 0;
  #viewChanges = 0;
  /** A validator was seen in an older view: relay it our NEW-VIEW on the next tick. */
  #lagSeen = false;
  #ticks = 0;
  #nvRelayedAt = -10;
  readonly #nvSentTo = new Map<number, number>();
  #future: Array<{ from: number; msg: PbftMessage; signature: Uint8Array }> = [];
  readonly #futureKeys = new Set<string>();
  /** Checks of the certificates VIEW-CHANGEs and NEW-VIEWs carry (memoised). */
  readonly #proofs: ViewChangeProofs;

  // Log.
  #stable: CheckpointProof = { seq: 0, digest: new Uint8Array(0), votes: [] };
  readonly #seqLogs = new Map<number, SeqLog>();
  /** Highest-view prepared certificate per sequence number above the stable checkpoint. */
  readonly #prepared = new Map<number, PreparedCert>();
  readonly #blocks = new Map<BlockId, Block>();
  readonly #validity = new Map<BlockId, 'pending' | 'valid' | 'invalid'>();
  /** Blocks whose execution failed for a transient reason (parent not executed yet…): retried later. */
  readonly #retry = new Set<BlockId>();
  readonly #checkpoints = new Map<number, VoteSet<Uint8Array, BlockId>>();
  #myCheckpoint: PbftMessage | undefined;

  // Primary.
  /** Highest sequence number assigned in this view (own PRE-PREPARE sent, or re-proposed). */
  #proposedSeq = 0;
  #building: { view: number; seq: number; allowEmpty: boolean; ticks: number } | undefined;
  #txsPending = false;
  #emptyArmed = false;
  #emptyDue = false;

  constructor(ctx: EngineContext, params: PbftParams) {
    this.#ctx = ctx;
    this.#p = params;
    this.#validators = ctx.validators;
    this.#schedule = new ProposerSchedule(ctx.validators, ctx.leaderOverride);
    this.#proofs = new ViewChangeProofs(
      signingDomain(ctx.chainId, ctx.epoch),
      ctx.validators,
      params,
      (view) => this.#primary(view),
      ctx.base,
    );
  }

  status(): EngineStatus {
    return {
      height: this.#head.height + 1,
      round: this.#view,
      step: this.#active ? 'normal' : 'view-change',
      leader: this.#primary(this.#view),
      viewChanges: this.#viewChanges,
    };
  }

  /** For tests: the low watermark, and the highest sequence number this primary assigned. */
  debugState(): { view: number; active: boolean; stable: number; proposed: number; prepared: number[] } {
    return {
      view: this.#view,
      active: this.#active,
      stable: this.#stable.seq,
      proposed: this.#proposedSeq,
      prepared: [...this.#prepared.keys()].sort((a, b) => a - b),
    };
  }

  step(input: EngineInput<PbftMessage>): EngineOutput<PbftMessage>[] {
    this.#out = [];
    switch (input.kind) {
      case 'start':
        this.#onStart(input.head, input.recovered);
        break;
      case 'message':
        if (this.#started) this.#onMessage(input.from, input.msg, input.signature);
        break;
      case 'timeout':
        if (this.#started) this.#onTimeout(input.timer, input.token);
        break;
      case 'txs-available':
        this.#txsPending = true;
        break;
      case 'block-built':
        if (this.#started) this.#onBlockBuilt(input.height, input.round, input.hash, input.block);
        break;
      case 'executed':
        this.#onExecuted(input.hash, input.valid, input.code);
        break;
      case 'committed':
        if (this.#started) this.#onCommitted(input.head, input.block, input.certificate);
        break;
    }
    if (this.#started) this.#progress();
    return this.#out;
  }

  // -- helpers -------------------------------------------------------------------------------

  #primary(view: number): number {
    return this.#primaryMemo.getOrMake(view, () => this.#schedule.proposer(1, view));
  }

  #isPrimary(): boolean {
    return this.#ctx.self !== undefined && this.#primary(this.#view) === this.#ctx.self;
  }

  #logAt(seq: number): SeqLog {
    let log = this.#seqLogs.get(seq);
    if (log === undefined) {
      log = {
        pps: new Map(),
        prepares: new Map(),
        commits: new Map(),
        sentPrepare: new Set(),
        sentCommit: new Set(),
        preparedIn: new Set(),
      };
      this.#seqLogs.set(seq, log);
    }
    return log;
  }

  /** The committed block hash at `seq`, if this replica knows it. */
  #committedAt(seq: number): BlockId | undefined {
    if (seq === this.#head.height) return blockId(this.#head.hash);
    if (seq < this.#head.height) return this.#committed.get(seq);
    if (seq === this.#stable.seq && this.#stable.digest.length > 0) return blockId(this.#stable.digest);
    return undefined;
  }

  #inWindow(seq: number): boolean {
    return seq > this.#stable.seq && seq <= this.#stable.seq + this.#p.watermarkWindow;
  }

  #evidence(type: Evidence['type'], validator: number, seq: number, view: number, detail: string): void {
    this.#out.push({ kind: 'evidence', evidence: { type, validator, height: seq, round: view, detail } });
  }

  #debug(message: string, fields: Record<string, unknown>): void {
    this.#out.push({ kind: 'log', level: 'debug', message: `pbft: ${message}`, fields });
  }

  #broadcast(msg: PbftMessage): void {
    if (this.#ctx.self === undefined) return;
    this.#out.push({ kind: 'broadcast', msg });
  }

  // -- lifecycle -----------------------------------------------------------------------------

  #onStart(head: HeadInfo, recovered: ReadonlyMap<string, Uint8Array>): void {
    this.#started = true;
    this.#head = head;
    // An epoch's instance starts above its base block as the first one starts above genesis: the
    // base is its first stable checkpoint (no votes of this set: the ledger certified it).
    const base = this.#ctx.base;
    if (base !== undefined && base.height > 0)
      this.#stable = { seq: base.height, digest: base.hash, votes: [] };
    this.#committed.set(head.height, blockId(head.hash));
    this.#restore(recovered);
    this.#proposedSeq = Math.max(this.#head.height, this.#stable.seq, this.#reproposedUpTo);
    this.#out.push({ kind: 'set-timer', timer: 'rebroadcast', afterMs: this.#p.rebroadcastMs });
    if (this.#active && this.#view > 0 && this.#nv === undefined) {
      // Installed view without its NEW-VIEW (should not happen): leave it.
      this.#startViewChange(this.#view + 1);
    } else if (!this.#active) {
      this.#sendViewChange();
    } else {
      this.#armProgress();
      // A restarted new primary re-sends its re-proposals (same signatures): they are its log.
      if (this.#isPrimary()) this.#sendReproposals();
    }
  }

  #restore(recovered: ReadonlyMap<string, Uint8Array>): void {
    const ck = recovered.get(CKPT_KEY);
    if (ck !== undefined) {
      try {
        const f = asList(
          rlpDecodeStrict(ck, DEFAULT_MAX_BLOCK_BYTES + MAX_CERTIFICATE_BYTES + 64, 'pbft ckpt record'),
          'pbft ckpt record',
          3,
        );
        const seq = asSafeUint(f[0], 'seq');
        const block = decodeBlock(asBytes(f[1], 'block'));
        const certificate = decodeCertificate(asBytes(f[2], 'certificate'), LEDGER_CERTIFICATE_SCHEMES);
        const digest = headerHash(block.header);
        if (
          seq > this.#head.height &&
          block.header.height === seq &&
          certificate.height === seq &&
          equalBytes(certificate.blockHash, digest)
        )
          this.#ckptBlock = { seq, digest: blockId(digest), block, certificate };
      } catch (e) {
        onlyTyped(e);
        // ignore: block sync is the other way back
      }
    }
    const state = recovered.get(STATE_KEY);
    if (state === undefined) return;
    // Unreadable, it would leave this replica without its prepared certificates — what a view
    // change must carry: decoding throws and the runtime halts with the reason.
    const { view, active, installedView, snapshot } = decodeRecord(STATE_RECORD, state);
    this.#view = view;
    this.#active = active;
    this.#installedView = active ? view : installedView;
    this.#stable = snapshot.checkpoint;
    for (const c of snapshot.prepared) if (c.seq > this.#stable.seq) this.#prepared.set(c.seq, c);
    const vcs = recovered.get(VC_KEY);
    if (vcs !== undefined && !this.#active) {
      try {
        for (const item of asList(rlpDecodeStrict(vcs, MAX_PBFT_MESSAGE * 2, 'pbft vc record'), 'vcs')) {
          const msg = pbftCodec.decode(asBytes(item, 'vc'));
          if (msg.type === 'view-change' && msg.view > this.#installedView && msg.view <= this.#view)
            this.#myVcs.push(msg);
        }
      } catch (e) {
        onlyTyped(e);
        // a fresh VIEW-CHANGE is built (and the guard re-sends the original if it differs)
        this.#myVcs = [];
      }
    }
    const nv = recovered.get(NV_KEY);
    if (nv !== undefined && this.#installedView > 0) {
      try {
        const f = asList(rlpDecodeStrict(nv, MAX_PBFT_MESSAGE + 256, 'pbft nv record'), 'pbft nv record', 3);
        const msg = pbftCodec.decode(asBytes(f[2], 'new-view'));
        if (msg.type === 'new-view' && msg.view === this.#installedView) {
          this.#nv = {
            from: asSafeUint(f[0], 'from'),
            signature: asBytes(f[1], 'signature', { length: 64 }),
            msg,
          };
          this.#nvTicks = 3;
          // Kept while changing views too (to forward to laggards); O matters only in its view.
          if (this.#active) this.#setReproposals(deriveReproposals(msg.viewChanges.map((s) => s.vc)));
        }
      } catch (e) {
        onlyTyped(e);
        this.#nv = undefined;
      }
    }
    for (let i = 0; i < this.#p.watermarkWindow; i++) {
      const bytes = recovered.get(`block-${i}`);
      if (bytes === undefined) continue;
      try {
        const block = decodeBlock(bytes);
        const cert = this.#prepared.get(block.header.height);
        if (cert !== undefined && equalBytes(cert.digest, headerHash(block.header)))
          this.#blocks.set(blockId(cert.digest), block);
      } catch (e) {
        onlyTyped(e);
        // ignore
      }
    }
  }

  #persistState(): void {
    const snapshot: ViewChange = {
      type: 'view-change',
      view: Math.max(1, this.#view),
      checkpoint: this.#stable,
      prepared: [...this.#prepared.values()].sort((a, b) => a.seq - b.seq),
    };
    this.#out.push({
      kind: 'persist',
      key: STATE_KEY,
      record: encodeRecord(STATE_RECORD, {
        view: this.#view,
        active: this.#active,
        installedView: this.#installedView,
        snapshot,
      }),
    });
  }

  // -- inputs --------------------------------------------------------------------------------

  #onMessage(from: number, msg: PbftMessage, signature: Uint8Array): void {
    switch (msg.type) {
      case 'checkpoint':
        this.#onCheckpoint(from, msg.seq, msg.digest, signature);
        return;
      case 'view-change':
        this.#onViewChange(from, msg, signature);
        return;
      case 'new-view':
        this.#onNewView(from, msg, signature);
        return;
      case 'commit':
        this.#onCommit(from, msg.view, msg.seq, msg.digest, signature);
        return;
      case 'pre-prepare':
      case 'prepare':
        break;
    }
    if (msg.view > this.#view || (msg.view === this.#view && !this.#active)) {
      // Early for a view not installed yet (the NEW-VIEW may be late): keep it for then. Only the
      // next view, once per (kind, sender, view, seq), within the window: bounded.
      const key = `${msg.type}:${from}:${msg.view}:${msg.seq}`;
      if (
        msg.view <= this.#view + 1 &&
        this.#inWindow(msg.seq) &&
        this.#future.length < MAX_FUTURE &&
        !this.#futureKeys.has(key)
      ) {
        this.#futureKeys.add(key);
        this.#future.push({ from, msg, signature });
      }
      return;
    }
    if (msg.view < this.#view) {
      if (msg.type === 'pre-prepare') this.#harvestBody(from, msg);
      return;
    }
    if (msg.type === 'pre-prepare') this.#onPrePrepare(from, msg, signature);
    else this.#onPrepare(from, msg.view, msg.seq, msg.digest, msg.parent, signature);
  }

  #onPrePrepare(from: number, msg: PrePrepare, signature: Uint8Array): void {
    const v = msg.view;
    if (from !== this.#primary(v)) {
      this.#evidence(
        'invalid-message',
        from,
        msg.seq,
        v,
        'pre-prepare from a validator that is not the primary',
      );
      return;
    }
    if (!this.#inWindow(msg.seq)) return;
    const digest = blockId(msg.digest);
    const parent = blockId(msg.parent);
    if (v > 0 && msg.seq <= this.#reproposedUpTo) {
      const o = this.#reproposals.get(msg.seq);
      if (o === undefined || o.digest !== digest || o.parent !== parent) {
        this.#evidence(
          'invalid-message',
          from,
          msg.seq,
          v,
          'pre-prepare contradicts the NEW-VIEW re-proposals',
        );
        return;
      }
    }
    const log = this.#logAt(msg.seq);
    const existing = log.pps.get(v);
    if (existing !== undefined) {
      // Another PRE-PREPARE for (v, n) is equivocation, whose evidence the runtime holds; the same
      // one may bring the block we lacked.
      const same = existing.digest === digest && existing.parent === parent;
      if (same && msg.block !== undefined && !this.#blocks.has(digest)) this.#blocks.set(digest, msg.block);
      return;
    }
    log.pps.set(v, { digest, parent, signature, from });
    if (msg.block !== undefined) this.#blocks.set(digest, msg.block);
    if (from === this.#ctx.self && msg.seq > this.#proposedSeq) this.#proposedSeq = msg.seq;
  }

  /** A PRE-PREPARE of an older view: only its block is of interest, if we need it. */
  #harvestBody(from: number, msg: PrePrepare): void {
    if (msg.block === undefined || !this.#inWindow(msg.seq) || from !== this.#primary(msg.view)) return;
    const digest = blockId(msg.digest);
    if (this.#blocks.has(digest) || !this.#wantBody(msg.seq, digest)) return;
    this.#blocks.set(digest, msg.block);
  }

  #wantBody(seq: number, digest: BlockId): boolean {
    if (this.#reproposals.get(seq)?.digest === digest) return true;
    const cert = this.#prepared.get(seq);
    if (cert !== undefined && blockId(cert.digest) === digest) return true;
    const log = this.#seqLogs.get(seq);
    if (log === undefined) return false;
    for (const pp of log.pps.values()) if (pp.digest === digest) return true;
    for (const set of log.commits.values()) if (set.powerFor(digest) > 0) return true;
    return false;
  }

  #onPrepare(
    from: number,
    view: number,
    seq: number,
    digest: Uint8Array,
    parent: Uint8Array,
    signature: Uint8Array,
  ): void {
    if (!this.#inWindow(seq) || from === this.#primary(view)) return; // the primary's vote is its PRE-PREPARE
    const value = blockOnParent(blockId(digest), blockId(parent));
    this.#addVote(this.#logAt(seq).prepares, view, from, value, signature);
  }

  #onCommit(from: number, view: number, seq: number, digest: Uint8Array, signature: Uint8Array): void {
    // Views near ours only: a Byzantine validator could otherwise open a vote set per view.
    if (Math.abs(view - this.#view) > COMMIT_VIEW_SPAN) return;
    // A quorum of COMMITs decides, whatever the view: count them all (bounded) for decisions.
    // Kept for committed sequence numbers too (down to the checkpoint): for relaying to replicas
    // behind us, and to catch a validator that committed two blocks at one (view, seq).
    if (
      seq <= this.#stable.seq ||
      seq > Math.max(this.#head.height, this.#stable.seq) + this.#p.watermarkWindow
    )
      return;
    this.#addVote(this.#logAt(seq).commits, view, from, blockId(digest), signature);
  }

  /**
   * Adds a vote to the set `sets[key]` (a view's prepares or commits, a sequence number's
   * checkpoints). A second value from the same validator is counted per value (the vote book caps
   * it); the runtime, which saw both envelopes, holds the verifiable evidence. Returns the set.
   */
  #addVote<T extends string>(
    sets: Map<number, VoteSet<Uint8Array, T>>,
    key: number,
    from: number,
    value: T,
    signature: Uint8Array,
  ): VoteSet<Uint8Array, T> {
    let set = sets.get(key);
    if (set === undefined) sets.set(key, (set = new VoteSet<Uint8Array, T>(this.#validators)));
    set.add(from, value, signature);
    return set;
  }

  #onCheckpoint(from: number, seq: number, digest: Uint8Array, signature: Uint8Array): void {
    if (seq <= this.#stable.seq || seq % this.#p.checkpointInterval !== 0) return;
    if (seq > Math.max(this.#head.height, this.#stable.seq) + 4 * this.#p.watermarkWindow) return;
    const set = this.#addVote(this.#checkpoints, seq, from, blockId(digest), signature);
    const stable = set.valueWith(this.#validators.quorumPower);
    if (stable !== undefined) {
      this.#setStable({
        seq,
        digest: hashOfBlockId(stable),
        votes: set.votesFor(stable).map((v) => ({ validator: v.validator, signature: v.vote })),
      });
      this.#persistState();
    }
  }

  /** Advances the low watermark and garbage-collects everything at or below it. */
  #setStable(cp: CheckpointProof): void {
    if (cp.seq <= this.#stable.seq) return;
    const ours = this.#committedAt(cp.seq);
    if (ours !== undefined && ours !== blockId(cp.digest)) {
      this.#out.push({
        kind: 'log',
        level: 'warn',
        message: 'pbft: stable checkpoint differs from our committed block',
        fields: { seq: cp.seq, ours: ours.slice(0, 16), stable: blockId(cp.digest).slice(0, 16) },
      });
    }
    this.#stable = cp;
    for (const k of [...this.#seqLogs.keys()]) if (k <= cp.seq) this.#seqLogs.delete(k);
    for (const k of [...this.#prepared.keys()]) if (k <= cp.seq) this.#prepared.delete(k);
    for (const k of [...this.#checkpoints.keys()]) if (k <= cp.seq) this.#checkpoints.delete(k);
    for (const k of [...this.#committed.keys()])
      if (k < cp.seq && k < this.#head.height) this.#committed.delete(k);
    for (const k of [...this.#reproposals.keys()]) if (k <= cp.seq) this.#reproposals.delete(k);
    for (const [id, block] of [...this.#blocks]) {
      if (block.header.height <= cp.seq) {
        this.#blocks.delete(id);
        this.#validity.delete(id);
        this.#retry.delete(id);
      }
    }
    if (this.#validity.size > 4 * MAX_MEMO) {
      for (const id of [...this.#validity.keys()]) if (!this.#blocks.has(id)) this.#validity.delete(id);
    }
  }

  #onBlockBuilt(height: number, round: number, hash: Uint8Array, block: Block): void {
    const b = this.#building;
    if (b === undefined || b.view !== round || b.seq !== height) return;
    this.#building = undefined;
    if (!this.#active || round !== this.#view || !this.#isPrimary()) return;
    const expected = this.#assignedAt(height - 1);
    if (expected === undefined || blockId(block.header.parentHash) !== expected) return;
    if (block.txs.length === 0 && !b.allowEmpty) {
      // Everything in the mempool is already in flight: nothing new to order.
      this.#txsPending = false;
      return;
    }
    // After a non-empty block, try the next one at once: more transactions may be waiting.
    this.#txsPending = block.txs.length > 0;
    const id = blockId(hash);
    this.#validity.set(id, 'valid');
    this.#blocks.set(id, block);
    this.#proposedSeq = height;
    this.#debug('pre-prepare', { view: this.#view, seq: height, txs: block.txs.length });
    this.#broadcast({
      type: 'pre-prepare',
      view: this.#view,
      seq: height,
      digest: hash,
      parent: block.header.parentHash,
      block,
    });
  }

  #onExecuted(hash: Uint8Array, valid: boolean, code: ExecuteFailure | undefined): void {
    const id = blockId(hash);
    if (valid) {
      this.#validity.set(id, 'valid');
      return;
    }
    this.#validity.set(id, 'invalid');
    // The parent was not (or no longer) executed, the chain moved, or a clock was off: worth
    // another try later.
    if (code === 'UNKNOWN_PARENT' || code === 'STALE' || code === 'FUTURE') this.#retry.add(id);
  }

  #onCommitted(head: HeadInfo, block?: Block, certificate?: CommitCertificate): void {
    const decided = this.#committing;
    // Later in this method a commit re-arms the progress timer, so a replica that missed a view
    // change and now commits only by block sync never times out, never sends a VIEW-CHANGE, and
    // so is never sent the NEW-VIEW: it stays in its old view, outside consensus, for good (4
    // validators on 2 cores: one of four syncing every block while the others ran slower without
    // it). A certificate of a later view proves > 2/3 of the power moved there: follow them.
    const certificateView =
      certificate?.kind === 'ed25519-quorum' ? (certificate as QuorumCertificate).round : undefined;
    this.#head = head;
    this.#committed.set(head.height, blockId(head.hash));
    if (this.#committing !== undefined && head.height >= this.#committing.seq) this.#committing = undefined;
    if (this.#ckptBlock !== undefined && head.height >= this.#ckptBlock.seq) this.#ckptBlock = undefined;
    this.#failedViews = 0;
    this.#retryTransient();
    if (this.#proposedSeq < head.height) this.#proposedSeq = head.height;
    if (this.#active) this.#armProgress();
    if (head.height % this.#p.checkpointInterval === 0 && this.#ctx.self !== undefined) {
      // A CHECKPOINT vouches for the state at n: once > 2/3 sign it, every replica discards its
      // log up to n (prepared certificates, COMMITs, blocks), stops counting votes for n and
      // waits — primary included — for block n by block sync. So the block must survive our
      // crash: the paper's checkpoints are on stable storage, whereas the chain store's last
      // write may be unsynced (storage.sync = false; the simulator's "lose the last unsynced
      // write"). Without this copy, the replicas holding > 2/3 that signed CHECKPOINT(n) can all
      // crash and lose block n, every honest replica is left below a stable checkpoint that no
      // store can serve, and the chain stops for good (found by the simulator: sweep-100467).
      // With it (in the WAL, durable before the CHECKPOINT leaves), each honest signer —
      // at least f+1 of any stable checkpoint's — commits block n again on restart (#tryDecide,
      // with its certificate), and block sync spreads it. It is the block we committed, under its
      // quorum certificate: committing it again is no new decision.
      if (block === undefined && decided?.seq === head.height) block = this.#blocks.get(decided.digest);
      if (certificate === undefined && decided?.seq === head.height) certificate = decided.certificate;
      if (block !== undefined && certificate !== undefined && equalBytes(certificate.blockHash, head.hash))
        this.#out.push({
          kind: 'persist',
          key: CKPT_KEY,
          record: rlpEncode([
            head.height,
            encodeBlock(block),
            encodeCertificate(certificate, LEDGER_CERTIFICATE_SCHEMES),
          ]),
        });
      const msg: PbftMessage = { type: 'checkpoint', seq: head.height, digest: head.hash };
      this.#myCheckpoint = msg;
      this.#broadcast(msg);
    }
    // Our VIEW-CHANGE for that view makes its primary (or anyone holding its NEW-VIEW) send us
    // the NEW-VIEW (#nv); we install it and take part again. Following the others is no timeout
    // of ours (and this commit was progress): the next timeouts are not lengthened for it.
    if (certificateView !== undefined && certificateView > this.#view) {
      this.#startViewChange(certificateView);
      this.#failedViews = 0;
    }
  }

  #retryTransient(): void {
    for (const id of this.#retry) if (this.#validity.get(id) === 'invalid') this.#validity.delete(id);
    this.#retry.clear();
  }

  // -- timers --------------------------------------------------------------------------------

  #armProgress(): void {
    this.#out.push({
      kind: 'set-timer',
      timer: 'progress',
      token: { height: this.#head.height, round: this.#view },
      afterMs:
        this.#p.emptyBlockIntervalMs +
        exponentialTimeout(this.#p.requestTimeoutMs, this.#failedViews, this.#p.maxTimeoutMs),
    });
  }

  /** Timers carry (height, view) — view-change timers height 0 — and fire only for where the replica still is. */
  #onTimeout(timer: string, token: TimerToken | undefined): void {
    switch (timer) {
      case 'rebroadcast':
        this.#tick();
        this.#out.push({ kind: 'set-timer', timer: 'rebroadcast', afterMs: this.#p.rebroadcastMs });
        return;
      case 'progress': {
        if (!this.#active || !tokenIs(token, this.#head.height, this.#view)) return;
        this.#out.push({
          kind: 'log',
          level: 'info',
          message: 'pbft: no progress, changing view',
          fields: { view: this.#view, height: this.#head.height },
        });
        this.#startViewChange(this.#view + 1);
        return;
      }
      case 'view-change':
        if (!this.#active && tokenIs(token, 0, this.#view)) this.#startViewChange(this.#view + 1);
        return;
      case 'empty-block':
        this.#emptyArmed = false;
        this.#emptyDue = true;
        return;
    }
  }

  /** Re-broadcast own messages and relay held ones while stalled. */
  #tick(): void {
    if (this.#building !== undefined && ++this.#building.ticks > 2) this.#building = undefined;
    if (this.#committing !== undefined && ++this.#committing.ticks > 2) {
      // The runtime did not commit it (its executed copy was lost?): execute again and retry.
      this.#validity.delete(this.#committing.digest);
      this.#committing = undefined;
    }
    this.#retryTransient();
    const prevHeight = this.#lastTickHeight;
    const stalled = this.#head.height === prevHeight || !this.#active;
    this.#lastTickHeight = this.#head.height;
    const self = this.#ctx.self;
    if (this.#myCheckpoint !== undefined && stalled) this.#broadcast(this.#myCheckpoint);
    if (stalled && this.#ticks % 2 === 0) {
      // The others' CHECKPOINTs for the next checkpoint to become stable.
      const next = Math.min(...this.#checkpoints.keys());
      const set = this.#checkpoints.get(next);
      if (set !== undefined) {
        for (const v of set.all()) {
          if (v.validator === self) continue;
          this.#out.push({
            kind: 'relay',
            from: v.validator,
            msg: { type: 'checkpoint', seq: next, digest: hashOfBlockId(v.value) },
            signature: v.vote,
          });
        }
      }
    }
    this.#ticks++;
    // The last installed NEW-VIEW: re-sent by its primary twice while that view is current, and
    // relayed (not too often: it is large) when a replica still sent VIEW-CHANGEs for its view or
    // an older one — also while we are changing views again (see #nv).
    const nv = this.#nv;
    const nvPrimary = this.#active && nv?.from === self && this.#nvTicks < 2;
    if (nv !== undefined && (nvPrimary || (this.#lagSeen && this.#ticks >= this.#nvRelayedAt + 2))) {
      this.#nvTicks++;
      this.#nvRelayedAt = this.#ticks;
      if (nv.from === self) this.#broadcast(nv.msg);
      else this.#out.push({ kind: 'relay', from: nv.from, msg: nv.msg, signature: nv.signature });
    }
    this.#lagSeen = false;
    if (!this.#active) {
      for (const vc of this.#myVcs) this.#broadcast(vc);
      // Others' VIEW-CHANGEs (large) less often: they matter when their sender cannot reach
      // everyone itself (asymmetric links, a crash).
      if (this.#ticks % 3 !== 0) return;
      for (const [from, views] of this.#vcs) {
        if (from === self) continue;
        for (const vc of views.values())
          this.#out.push({ kind: 'relay', from, msg: vc.msg, signature: vc.signature });
      }
      return;
    }
    this.#relayOddVotes(prevHeight);
    if (!stalled) {
      // Our COMMIT for the block we just committed: a replica one block behind needs it.
      for (const [view, set] of this.#seqLogs.get(this.#head.height)?.commits ?? []) {
        for (const vote of set.all()) {
          if (vote.validator === self && vote.value === blockId(this.#head.hash))
            this.#broadcast({ type: 'commit', view, seq: this.#head.height, digest: this.#head.hash });
        }
      }
      return;
    }
    // Stalled: our own messages for the uncommitted window (and our COMMIT at the head), and the
    // others' we hold for the next block — the one everyone waits for.
    const v = this.#view;
    const hi = this.#stable.seq + this.#p.watermarkWindow;
    const next = this.#head.height + 1;
    for (let n = Math.max(this.#head.height, this.#stable.seq + 1); n <= hi; n++) {
      const log = this.#seqLogs.get(n);
      if (log === undefined) continue;
      const pp = log.pps.get(v);
      if (pp !== undefined && n >= next && (pp.from === self || n <= next + 1)) {
        const msg: PrePrepare = {
          type: 'pre-prepare',
          view: v,
          seq: n,
          digest: hashOfBlockId(pp.digest),
          parent: hashOfBlockId(pp.parent),
          block: this.#blocks.get(pp.digest),
        };
        if (pp.from === self) this.#broadcast(msg);
        else this.#out.push({ kind: 'relay', from: pp.from, msg, signature: pp.signature });
      }
      const others = n === next;
      for (const vote of n >= next ? (log.prepares.get(v)?.all() ?? []) : []) {
        if (vote.validator !== self && !others) continue;
        const { block: digest, parent } = splitBlockOnParent(vote.value);
        const msg: PbftMessage = {
          type: 'prepare',
          view: v,
          seq: n,
          digest: hashOfBlockId(digest),
          parent: hashOfBlockId(parent),
        };
        if (vote.validator === self) this.#broadcast(msg);
        else this.#out.push({ kind: 'relay', from: vote.validator, msg, signature: vote.vote });
      }
      for (const vote of log.commits.get(v)?.all() ?? []) {
        if (vote.validator !== self && !others) continue;
        const msg: PbftMessage = { type: 'commit', view: v, seq: n, digest: hashOfBlockId(vote.value) };
        if (vote.validator === self) this.#broadcast(msg);
        else this.#out.push({ kind: 'relay', from: vote.validator, msg, signature: vote.vote });
      }
    }
  }

  /**
   * Votes at the sequence numbers committed since the last tick that are NOT for the committed
   * block: honest replicas never send those in the deciding view, so they are (mostly) a
   * Byzantine validator's other half of an equivocation. Relaying them — rare and cheap — lets
   * the replicas that got the other half report the double vote.
   */
  #relayOddVotes(since: number): void {
    const self = this.#ctx.self;
    for (
      let n = Math.max(since + 1, this.#stable.seq + 1, this.#head.height - 2);
      n <= this.#head.height;
      n++
    ) {
      const log = this.#seqLogs.get(n);
      const committed = this.#committedAt(n);
      if (log === undefined || committed === undefined) continue;
      for (const [view, set] of log.commits) {
        for (const vote of set.all()) {
          if (vote.validator === self || vote.value === committed) continue;
          this.#out.push({
            kind: 'relay',
            from: vote.validator,
            msg: { type: 'commit', view, seq: n, digest: hashOfBlockId(vote.value) },
            signature: vote.vote,
          });
        }
      }
      for (const [view, set] of log.prepares) {
        for (const vote of set.all()) {
          const { block: digest, parent } = splitBlockOnParent(vote.value);
          if (vote.validator === self || digest === committed) continue;
          this.#out.push({
            kind: 'relay',
            from: vote.validator,
            msg: {
              type: 'prepare',
              view,
              seq: n,
              digest: hashOfBlockId(digest),
              parent: hashOfBlockId(parent),
            },
            signature: vote.vote,
          });
        }
      }
    }
  }

  // -- the rules -----------------------------------------------------------------------------

  #progress(): void {
    this.#viewChangeRules();
    if (this.#active) this.#advanceLog();
    this.#tryDecide();
    if (this.#active) this.#maybePropose();
  }

  /** Execute, PREPARE and COMMIT through the window of the current view (rules R1, R2). */
  #advanceLog(): void {
    const v = this.#view;
    const self = this.#ctx.self;
    const primary = this.#primary(v);
    let chainDigest: BlockId | undefined; // digest at n-1 if COMMIT-eligible in v (R2)
    const hi = this.#stable.seq + this.#p.watermarkWindow;
    for (let n = this.#stable.seq + 1; n <= hi; n++) {
      const log = this.#seqLogs.get(n);
      const pp = log?.pps.get(v);
      if (log === undefined || pp === undefined) {
        chainDigest = undefined;
        continue;
      }
      const committedParent = this.#committedAt(n - 1);
      if (n > this.#head.height) this.#ensureExecuted(pp.digest, n);
      // R1.
      if (self !== undefined && self !== primary && !log.sentPrepare.has(v)) {
        const parentOk =
          committedParent !== undefined
            ? committedParent === pp.parent
            : this.#seqLogs.get(n - 1)?.pps.get(v)?.digest === pp.parent;
        const acceptable =
          n <= this.#head.height
            ? this.#committedAt(n) === pp.digest
            : parentOk && this.#validity.get(pp.digest) === 'valid';
        if (acceptable) {
          log.sentPrepare.add(v);
          this.#broadcast({
            type: 'prepare',
            view: v,
            seq: n,
            digest: hashOfBlockId(pp.digest),
            parent: hashOfBlockId(pp.parent),
          });
        }
      }
      // prepared(v, n, d)?
      if (!log.preparedIn.has(v)) {
        const cert = this.#preparedCert(log, v, n, pp, primary);
        if (cert === undefined) {
          chainDigest = undefined;
          continue;
        }
        log.preparedIn.add(v);
        this.#recordCert(cert);
      }
      // R2.
      const chainOk =
        committedParent !== undefined ? committedParent === pp.parent : chainDigest === pp.parent;
      if (chainOk && self !== undefined && !log.sentCommit.has(v)) {
        log.sentCommit.add(v);
        this.#broadcast({ type: 'commit', view: v, seq: n, digest: hashOfBlockId(pp.digest) });
      }
      chainDigest = chainOk ? pp.digest : undefined;
    }
  }

  #preparedCert(
    log: SeqLog,
    v: number,
    n: number,
    pp: PrePrepareEntry,
    primary: number,
  ): PreparedCert | undefined {
    const set = log.prepares.get(v);
    if (set === undefined) return undefined;
    const votes = set.votesFor(blockOnParent(pp.digest, pp.parent)).filter((x) => x.validator !== primary);
    const power =
      (this.#validators.at(primary)?.power ?? 0) + this.#validators.powerOf(votes.map((x) => x.validator));
    if (power < this.#validators.quorumPower) return undefined;
    return {
      view: v,
      seq: n,
      digest: hashOfBlockId(pp.digest),
      parent: hashOfBlockId(pp.parent),
      prePrepare: pp.signature,
      prepares: votes.map((x) => ({ validator: x.validator, signature: x.vote })),
    };
  }

  /** Keeps the highest-view certificate per sequence number; durable before our COMMIT leaves. */
  #recordCert(cert: PreparedCert): void {
    const existing = this.#prepared.get(cert.seq);
    if (existing !== undefined && existing.view >= cert.view) return;
    this.#prepared.set(cert.seq, cert);
    this.#persistState();
    const block = this.#blocks.get(blockId(cert.digest));
    if (block !== undefined)
      this.#out.push({
        kind: 'persist',
        key: blockKey(cert.seq, this.#p.watermarkWindow),
        record: encodeBlock(block),
      });
  }

  #ensureExecuted(digest: BlockId, seq: number): void {
    if (this.#validity.has(digest) || seq <= this.#head.height) return;
    const block = this.#blocks.get(digest);
    if (block === undefined) return;
    const parent = blockId(block.header.parentHash);
    const parentReady =
      seq - 1 === this.#head.height
        ? parent === blockId(this.#head.hash)
        : this.#validity.get(parent) === 'valid';
    if (!parentReady) return;
    this.#validity.set(digest, 'pending');
    this.#out.push({ kind: 'execute', block, hash: hashOfBlockId(digest) });
  }

  /** Commits the next block once a quorum of COMMITs (any view) decided it and it executed. */
  #tryDecide(): void {
    if (this.#committing !== undefined) return;
    const n = this.#head.height + 1;
    const ck = this.#ckptBlock;
    if (ck !== undefined && ck.seq === n) {
      // Our checkpoint block, lost by the chain store in a crash (see #onCommitted).
      if (!equalBytes(ck.block.header.parentHash, this.#head.hash)) {
        this.#ckptBlock = undefined;
        this.#out.push({
          kind: 'log',
          level: 'warn',
          message: 'pbft: recorded checkpoint block does not extend our head',
          fields: { seq: n, hash: ck.digest.slice(0, 16) },
        });
      } else {
        if (!this.#blocks.has(ck.digest)) this.#blocks.set(ck.digest, ck.block);
        const validity = this.#validity.get(ck.digest);
        if (validity === undefined) this.#ensureExecuted(ck.digest, n);
        else if (validity === 'invalid') this.#retry.add(ck.digest); // (it committed once: transient)
        if (validity === 'valid') {
          this.#committing = { seq: n, digest: ck.digest, ticks: 0, certificate: ck.certificate };
          this.#debug('recommitting our checkpoint block', { seq: n, hash: ck.digest.slice(0, 16) });
          this.#out.push({ kind: 'commit', hash: hashOfBlockId(ck.digest), certificate: ck.certificate });
          return;
        }
      }
    }
    const log = this.#seqLogs.get(n);
    if (log === undefined) return;
    for (const [view, set] of log.commits) {
      const d = set.valueWith(this.#validators.quorumPower);
      if (d === undefined) continue;
      const block = this.#blocks.get(d);
      if (block === undefined) continue; // the body comes with a relayed PRE-PREPARE, or by block sync
      if (!equalBytes(block.header.parentHash, this.#head.hash)) {
        this.#out.push({
          kind: 'log',
          level: 'warn',
          message: 'pbft: decided block does not extend our head',
          fields: { seq: n, view, hash: d.slice(0, 16) },
        });
        continue;
      }
      const validity = this.#validity.get(d);
      if (validity === undefined) this.#ensureExecuted(d, n);
      if (validity !== 'valid') continue;
      const certificate: QuorumCertificate = {
        kind: 'ed25519-quorum',
        height: n,
        blockHash: hashOfBlockId(d),
        round: view,
        votes: set.votesFor(d).map((x) => ({ validator: x.validator, signature: x.vote })),
      };
      this.#committing = { seq: n, digest: d, ticks: 0, certificate };
      this.#out.push({
        kind: 'log',
        level: 'debug',
        message: 'pbft: decided',
        fields: { seq: n, view, hash: d.slice(0, 16) },
      });
      this.#out.push({ kind: 'commit', hash: hashOfBlockId(d), certificate });
      return;
    }
  }

  /** The digest this view has at `seq`: the committed block, or our view's PRE-PREPARE. */
  #assignedAt(seq: number): BlockId | undefined {
    if (seq === this.#head.height) return blockId(this.#head.hash);
    if (seq < this.#head.height) return undefined;
    return this.#seqLogs.get(seq)?.pps.get(this.#view)?.digest;
  }

  #maybePropose(): void {
    if (!this.#isPrimary() || this.#building !== undefined) return;
    if (this.#head.height < this.#stable.seq) return; // catching up by block sync
    let n = this.#proposedSeq + 1;
    if (n <= this.#head.height) {
      n = this.#head.height + 1;
      this.#proposedSeq = this.#head.height;
    }
    if (n > this.#stable.seq + this.#p.watermarkWindow) return; // high watermark
    const parent = this.#assignedAt(n - 1);
    if (parent === undefined) return;
    // Build on a block of ours only once it came back (the guard may have swapped it) and executed.
    if (n - 1 > this.#head.height && this.#validity.get(parent) !== 'valid') return;
    const idle = n - 1 === this.#head.height;
    if (idle && this.#p.emptyBlockIntervalMs === 0) this.#emptyDue = true;
    if (!this.#txsPending && !(idle && this.#emptyDue)) {
      if (idle && !this.#emptyArmed && !this.#emptyDue) {
        this.#emptyArmed = true;
        this.#out.push({ kind: 'set-timer', timer: 'empty-block', afterMs: this.#p.emptyBlockIntervalMs });
      }
      return;
    }
    const allowEmpty = idle && this.#emptyDue;
    this.#emptyDue = false;
    this.#building = { view: this.#view, seq: n, allowEmpty, ticks: 0 };
    this.#out.push({
      kind: 'build-block',
      height: n,
      round: this.#view,
      parent: hashOfBlockId(parent),
      engineData: rlpEncode([this.#view]),
    });
  }

  // -- view change ---------------------------------------------------------------------------

  #startViewChange(target: number): void {
    if (target <= this.#view || target > MAX_VIEW) return;
    this.#out.push({
      kind: 'log',
      level: 'info',
      message: 'pbft: view change',
      fields: { from: this.#view, to: target, height: this.#head.height },
    });
    this.#view = target;
    this.#active = false;
    this.#reproposals.clear();
    this.#reproposedUpTo = 0;
    this.#viewChanges++;
    this.#failedViews++;
    this.#building = undefined;
    this.#emptyArmed = false;
    this.#emptyDue = false;
    this.#vcTimerFor = -1;
    this.#keepFuture((view) => view >= target);
    this.#pruneViewChanges();
    for (const t of ['progress', 'empty-block', 'view-change'])
      this.#out.push({ kind: 'cancel-timer', timer: t });
    this.#sendViewChange();
  }

  /** Our VIEW-CHANGE for the current view: the persisted one, else a fresh one (made durable first). */
  #sendViewChange(): void {
    if (this.#ctx.self === undefined) {
      this.#persistState();
      return;
    }
    let vc = this.#myVcs.find((m) => m.view === this.#view);
    if (vc === undefined) {
      vc = {
        type: 'view-change',
        view: this.#view,
        checkpoint: this.#stable,
        prepared: [...this.#prepared.values()]
          .filter((c) => c.seq > this.#stable.seq)
          .sort((a, b) => a.seq - b.seq),
      };
      this.#myVcs.push(vc);
    }
    this.#myVcs = this.#myVcs.filter((m) => m.view > this.#view - VC_HISTORY && m.view > this.#installedView);
    this.#persistState();
    this.#out.push({
      kind: 'persist',
      key: VC_KEY,
      record: rlpEncode(this.#myVcs.map((m) => pbftCodec.encode(m))),
    });
    for (const m of this.#myVcs) this.#broadcast(m);
  }

  #onViewChange(from: number, msg: ViewChange, signature: Uint8Array): void {
    if (msg.view > this.#view + MAX_VIEW_AHEAD) return;
    // A VIEW-CHANGE for a view we installed (or an older one): its sender has not seen the
    // NEW-VIEW we hold (lost, or it was away). That includes the case where we have already left
    // that view again: see #nv for why the NEW-VIEW is kept, and forwarded, while changing views.
    if (msg.view <= this.#installedView) {
      if (from !== this.#ctx.self) this.#helpLagging(from);
      return;
    }
    if (msg.view <= this.#vcFloor()) return;
    let mine = this.#vcs.get(from);
    if (mine?.has(msg.view)) return;
    if (!this.#proofs.viewChange(from, msg, signature, false)) {
      this.#evidence(
        'invalid-message',
        from,
        msg.checkpoint.seq,
        msg.view,
        'view-change with an invalid certificate',
      );
      return;
    }
    if (mine === undefined) this.#vcs.set(from, (mine = new Map()));
    mine.set(msg.view, { msg, signature });
    if (mine.size > MAX_VCS_PER_VALIDATOR) mine.delete(Math.min(...mine.keys()));
  }

  /**
   * A replica sent a VIEW-CHANGE for a view at or below the last one we installed: it misses that
   * view's NEW-VIEW. Its primary sends it straight away (once per tick per replica), the others
   * relay it on their next tick.
   */
  #helpLagging(from: number): void {
    this.#lagSeen = true;
    const nv = this.#nv;
    if (nv !== undefined && nv.from === this.#ctx.self && this.#nvSentTo.get(from) !== this.#ticks) {
      this.#nvSentTo.set(from, this.#ticks);
      this.#out.push({ kind: 'send', to: from, msg: nv.msg });
    }
  }

  #viewChangeRules(): void {
    // f+1 rule: validators holding > 1/3 of the power want views above ours → join the smallest.
    const wanted: Array<[number, number]> = [];
    for (const [validator, views] of this.#vcs) {
      const top = Math.max(...views.keys());
      if (top > this.#view) wanted.push([validator, top]);
    }
    wanted.sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    let power = 0;
    for (const [validator, view] of wanted) {
      power += this.#validators.at(validator)?.power ?? 0;
      if (power >= this.#validators.oneHonestPower) {
        this.#startViewChange(view);
        break;
      }
    }
    if (this.#active) return;
    const forView = this.#viewChangesFor(this.#view);
    const quorum = this.#validators.quorumPower;
    if (this.#validators.powerOf(forView.map(([v]) => v)) < quorum) return;
    if (this.#vcTimerFor !== this.#view) {
      this.#vcTimerFor = this.#view;
      this.#out.push({
        kind: 'set-timer',
        timer: 'view-change',
        token: { height: 0, round: this.#view },
        afterMs: exponentialTimeout(
          this.#p.viewChangeTimeoutMs,
          Math.max(0, this.#failedViews - 1),
          this.#p.maxTimeoutMs,
        ),
      });
    }
    if (!this.#isPrimary() || this.#nvSentFor === this.#view) return;
    // New primary: the first VIEW-CHANGEs (by validator index) that make a quorum.
    const chosen: typeof forView = [];
    let p = 0;
    for (const e of forView) {
      chosen.push(e);
      p += this.#validators.at(e[0])?.power ?? 0;
      if (p >= quorum) break;
    }
    const derived = deriveReproposals(chosen.map(([, vc]) => vc.msg));
    this.#nvSentFor = this.#view;
    this.#debug('new-view sent', { view: this.#view, from: chosen.map(([v]) => v) });
    this.#broadcast({
      type: 'new-view',
      view: this.#view,
      viewChanges: chosen.map(([from, vc]) => ({ from, signature: vc.signature, vc: vc.msg })),
      reproposals: derived.entries.map((e) => ({ seq: e.seq, digest: e.digest })),
    });
  }

  /** The VIEW-CHANGEs held for `view`, by ascending validator. */
  #viewChangesFor(view: number): Array<[number, { msg: ViewChange; signature: Uint8Array }]> {
    const out: Array<[number, { msg: ViewChange; signature: Uint8Array }]> = [];
    for (const [validator, views] of this.#vcs) {
      const vc = views.get(view);
      if (vc !== undefined) out.push([validator, vc]);
    }
    return out.sort((a, b) => a[0] - b[0]);
  }

  #keepFuture(keep: (view: number) => boolean): void {
    this.#future = this.#future.filter((f) => keep(viewOf(f.msg)));
    this.#futureKeys.clear();
    for (const f of this.#future) {
      const seq = f.msg.type === 'pre-prepare' || f.msg.type === 'prepare' ? f.msg.seq : 0;
      this.#futureKeys.add(`${f.msg.type}:${f.from}:${viewOf(f.msg)}:${seq}`);
    }
  }

  /** VIEW-CHANGEs for views at or below this are of no more use. */
  #vcFloor(): number {
    return Math.max(this.#installedView, this.#view - VC_HISTORY);
  }

  /** Forgets VIEW-CHANGEs at or below the floor. */
  #pruneViewChanges(): void {
    const floor = this.#vcFloor();
    for (const [validator, views] of [...this.#vcs]) {
      for (const v of [...views.keys()]) if (v <= floor) views.delete(v);
      if (views.size === 0) this.#vcs.delete(validator);
    }
  }

  /** Checks a NEW-VIEW completely; returns the re-derived O, or undefined if anything is off. */
  verifyNewView(nv: NewView): DerivedReproposals | undefined {
    return this.#proofs.newView(nv);
  }

  #onNewView(from: number, msg: NewView, signature: Uint8Array): void {
    if (msg.view < this.#view || (msg.view === this.#view && this.#active)) return;
    if (msg.view > this.#view + MAX_VIEW_AHEAD) return;
    if (from !== this.#primary(msg.view)) {
      this.#evidence(
        'invalid-message',
        from,
        0,
        msg.view,
        'new-view from a validator that is not the primary',
      );
      return;
    }
    const derived = this.verifyNewView(msg);
    if (derived === undefined) {
      this.#evidence('invalid-message', from, 0, msg.view, 'new-view that does not verify (V or O)');
      return;
    }
    this.#install(from, msg, signature, derived);
  }

  /** New primary: PRE-PREPAREs in this view for O (with the block when we hold it). */
  #sendReproposals(): void {
    for (const [seq, o] of [...this.#reproposals].sort((a, b) => a[0] - b[0])) {
      this.#broadcast({
        type: 'pre-prepare',
        view: this.#view,
        seq,
        digest: hashOfBlockId(o.digest),
        parent: hashOfBlockId(o.parent),
        block: this.#blocks.get(o.digest),
      });
    }
  }

  #setReproposals(derived: DerivedReproposals): void {
    this.#reproposals.clear();
    this.#reproposedUpTo = 0;
    for (const e of derived.entries) {
      this.#reproposedUpTo = Math.max(this.#reproposedUpTo, e.seq);
      if (e.seq > this.#stable.seq)
        this.#reproposals.set(e.seq, { digest: blockId(e.digest), parent: blockId(e.parent) });
    }
  }

  #install(from: number, nv: NewView, signature: Uint8Array, derived: DerivedReproposals): void {
    const v = nv.view;
    this.#out.push({
      kind: 'log',
      level: 'info',
      message: 'pbft: new view',
      fields: { view: v, checkpoint: derived.checkpoint.seq, reproposals: derived.entries.length },
    });
    if (v > this.#view) this.#viewChanges++;
    this.#view = v;
    this.#active = true;
    this.#installedView = v;
    this.#myVcs = [];
    this.#nv = { from, signature, msg: nv };
    this.#nvTicks = 0;
    this.#vcTimerFor = -1;
    this.#out.push({ kind: 'cancel-timer', timer: 'view-change' });
    this.#pruneViewChanges();
    this.#setStable(derived.checkpoint);
    this.#setReproposals(derived);
    this.#proposedSeq = Math.max(this.#head.height, this.#stable.seq, this.#reproposedUpTo);
    this.#building = undefined;
    this.#emptyArmed = false;
    this.#emptyDue = false;
    this.#persistState();
    this.#out.push({
      kind: 'persist',
      key: NV_KEY,
      record: rlpEncode([from, signature, pbftCodec.encode(nv)]),
    });
    this.#armProgress();
    if (this.#isPrimary()) this.#sendReproposals();
    const replay = this.#future.filter((f) => viewOf(f.msg) === v);
    this.#keepFuture((view) => view > v);
    for (const f of replay) this.#onMessage(f.from, f.msg, f.signature);
  }
}

function viewOf(msg: PbftMessage): number {
  return msg.type === 'checkpoint' ? 0 : msg.view;
}
