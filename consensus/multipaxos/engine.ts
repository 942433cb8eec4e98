/**
 * Multi-Paxos (Lamport, "The Part-Time Parliament" 1998 and "Paxos Made Simple" 2001, §3) with
 * Flexible Paxos quorums (Howard, Malkhi & Spiegelman, "Flexible Paxos: Quorum intersection
 * revisited", 2016) as a sans-I/O engine.
 *
 * Mapping onto Verity (consensus/types.ts):
 *  - a slot is a block height and a value is a block; the committed prefix is the chain store (the
 *    runtime's head), and what this acceptor accepted above it lives in its WAL (records.ts);
 *  - a ballot is (round, node), totally ordered (ballot.ts); a block's header carries the ballot
 *    that created it and the chain's quorums (its stamp);
 *  - Phase 1 (prepare/promise) runs once per leader, for every slot above its committed head at
 *    once; Phase 2 (accept/accepted) runs per block, pipelined up to `maxInflight` blocks;
 *  - the Phase-1 quorum is `phase1Quorum` of the voting power, the Phase-2 quorum `phase2Quorum`,
 *    with Q1 + Q2 > total (params.ts) — majorities by default;
 *  - the signed `accepted` messages of a Phase-2 quorum for one block in one ballot are its commit
 *    certificate (certificate.ts), shipped by the leader in its accepts so that every node commits
 *    the same blocks with the same certificates;
 *  - promised ballot and accepted (ballot, block) per slot go out as `persist` outputs, which the
 *    runtime makes durable before any message of the same step leaves.
 *
 * The rules, with the paper's names where it has them:
 *  - Phase 1a: a follower that hears from no leader for a timeout drawn from [T, 2T) picks a ballot
 *    above every one it has seen (and above its committed head's, HeadInfo.engineData), promises it
 *    to itself on disk and broadcasts PREPARE(b, head) — again every heartbeatMs to the acceptors
 *    that have not answered (messages may be lost; an acceptor answers the same ballot again).
 *  - Phase 1b: an acceptor promises b if b ≥ its promised ballot AND (P) the candidate's committed
 *    head is at least the highest slot whose accepted record the acceptor may have forgotten — the
 *    highest height it ever committed, or one below when it still holds that height's record (its
 *    chain lost the last commit); the promise reports what it accepted for every slot above that
 *    head. Otherwise it answers NACK with its promise and that floor.
 *  - Phase 2a: with promises holding Q1, the candidate re-proposes, for every open slot, the value
 *    accepted with the highest ballot — the contiguous run of them from its head, rule (A) of
 *    phase-one.ts, where the argument that dropping the rest is safe lives — and then new blocks.
 *  - Phase 2b: an acceptor accepts a block in ballot b ≥ its promise (raising its promise to b) if
 *    (C) its parent is the block it accepted one slot below in the same ballot, or one it committed
 *    — so a ballot's acceptances at one acceptor are a hash chain from its head — and the block is
 *    stamped with this chain's quorums. It replies ACCEPTED once the runtime executed the block.
 *  - Commit: a block accepted in one ballot by Q2 is chosen; the leader commits it with all its
 *    ancestors (certified through its historyRoot), and ships the proof to everyone.
 *  - A stable leader: heartbeats every heartbeatMs (an empty accept carrying the commit proof,
 *    answered with ALIVE, and the proposals from its last acceptance on to an acceptor that
 *    accepted nothing since the previous heartbeat); an acceptor that heard from its leader less
 *    than T ago ignores other proposers' prepares (the leader's lease); a leader that hears from
 *    less than Q2 for T steps down. Dueling proposers: a proposer that meets a higher ballot steps
 *    down and waits a fresh random [T, 2T) before its next Phase 1, so one gets through.
 *  - Reads: none confirmed yet (the module declares no read modes): only `local` reads.
 *  - Observers (no validator key) apply accepts to a volatile copy and commit by the shipped
 *    proofs; they never promise, accept or campaign.
 *
 * Deviations from the paper, and why:
 *  - Values are hash-chained blocks, so per-slot independence is given up: (A) re-proposes only the
 *    contiguous run from the head and drops everything after the first gap or break, where the
 *    paper fills gaps with no-ops — a no-op at a gap would not be the parent the next value names,
 *    and a value past a gap was never chosen (phase-one.ts). (C) makes acceptance in-order per
 *    ballot; a block that arrives before its parent (reordered links) is held, a few at most, and
 *    accepted once its parent is (else the leader's heartbeat re-sends it).
 *  - (P), the promise floor: acceptors forget what they accepted for committed slots (the chain
 *    holds it), so an acceptor must not promise to a candidate that would ask about a slot whose
 *    record it forgot — that candidate would treat the slot as open with no report. The candidate
 *    catches up by block sync; when every chain lost the same last commit (unsynced writes), the
 *    record of that height, kept until the next commit, lets a candidate one below re-propose it.
 *  - A WAL that lost records (damaged ones, dropped by the runtime) is recovered conservatively
 *    (#onStart): the state record is kept twice, every acceptance bounds the promise from below, and
 *    an acceptance whose record is gone raises the floor of (P) past it.
 *  - A learner does not hear each acceptor's accepted message: the leader alone counts them and
 *    ships the resulting proof (a certificate) in its accepts.
 *  - An acceptor sends ACCEPTED only for a block the runtime executed as valid.
 *  - The quorum sizes ride in every block's stamp, so a light client, which trusts the genesis
 *    validator set but not engine parameters, reads the Phase-2 quorum a certificate must reach
 *    from the (signed) block itself.
 *  - A promise carries blocks within a byte budget; a candidate missing the block of a slot it
 *    adopts asks that acceptor again with a second prepare of the same ballot (a higher `from`).
 *  - The head's own accepted record stays in the WAL until the next commit, so a node whose chain
 *    loses that write (unsynced) comes back holding the block, and can accept on top of it.
 *
 * Negative controls (test/unit/multipaxos-paper.test.ts) run the engine with test-only options
 * that parseParams never produces: quorums with Q1 + Q2 ≤ total, and acceptance without (C) —
 * each loses agreement in a scripted scenario that the real rules get through.
 */

import { equalBytes } from '../../crypto/bytes.ts';
import { invariant } from '../../crypto/errors.ts';
import type { Block } from '../../ledger/block.ts';
import { ExtendedTree, leafHash } from '../../ledger/log/index.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { type BlockId, blockId } from '../block-id.ts';
import { decodeRecord, encodeRecord } from '../record.ts';
import { tokenIs } from '../timeouts.ts';
import type {
  ConsensusEngine,
  EngineContext,
  EngineInput,
  EngineOutput,
  EngineStatus,
  ExecuteFailure,
  HeadInfo,
  TimerToken,
} from '../types.ts';
import { VoteSet } from '../vote-set.ts';
import {
  type Ballot,
  ballotOrdinal,
  type CommitProof,
  compareBallots,
  encodeStamp,
  formatBallot,
  headBallot,
  MAX_NODES,
  MAX_ROUND,
  NO_BALLOT,
  sameBallot,
} from './ballot.ts';
import { certificateRuleViolation, multipaxosCertificate } from './certificate.ts';
import {
  MAX_ACCEPT_BLOCKS,
  MAX_PROMISE_BLOCKS,
  MAX_PROMISE_REPORTS,
  type MultiPaxosMessage,
  type Proposal,
  proposal,
  type Report,
} from './messages.ts';
import { type MultiPaxosParams, type Quorums, resolveQuorums } from './params.ts';
import { PhaseOne } from './phase-one.ts';
import {
  ACCEPTED_PREFIX,
  ACCEPTED_RECORD,
  type AcceptorState,
  acceptedKey,
  STATE_COPY_KEY,
  STATE_KEY,
  STATE_RECORD,
} from './records.ts';

type Role = 'follower' | 'candidate' | 'leader';
type Msg<T extends MultiPaxosMessage['type']> = Extract<MultiPaxosMessage, { type: T }>;

/** What this node accepted (an observer: learned) for a slot. */
interface Held {
  readonly slot: number;
  readonly ballot: Ballot;
  readonly p: Proposal;
  readonly id: BlockId;
}

/** An acceptance owed to a leader once its block is executed. */
interface Owed {
  readonly ballot: Ballot;
  readonly slot: number;
  readonly hash: Uint8Array;
}

/** The leader's state for its ballot. */
interface Lead {
  /** This ballot's proposals above the committed head: one hash chain from it. */
  readonly proposals: Map<number, Held>;
  last: number;
  lastHash: Uint8Array;
  /** Acceptances of this ballot, per slot, by block. */
  readonly votes: Map<number, VoteSet<Uint8Array, BlockId>>;
  /** Per acceptor, the highest slot it accepted in this ballot (by (C), everything below too). */
  readonly match: Map<number, number>;
  /** `match` at the previous heartbeat: an acceptor that did not move since is re-sent its blocks. */
  readonly matchAtBeat: Map<number, number>;
  /** Validators heard from since the last quorum check. */
  readonly heard: Set<number>;
  /** The block being built, and heartbeats since it was asked for (a build the runtime dropped). */
  building: { height: number; heartbeats: number } | undefined;
}

/** Bytes of blocks one message carries (at least one block), by an estimate of their size. */
const MAX_RUN_BYTES = 4 * 1024 * 1024;
/** Acceptances waiting for execution; older ones are dropped (a re-send asks again). */
const MAX_OWED = 256;
/** Blocks of the current ballot held while their parent has not arrived (reordered accepts). */
const MAX_EARLY = 16;

export interface MultiPaxosEngineOptions {
  /**
   * TEST ONLY — quorums forced past parseParams's check, such as Q1 + Q2 ≤ total: a new leader's
   * Phase 1 can then miss a chosen block. Tests construct the engine with it to show that quorum
   * intersection is what keeps agreement (test/unit/multipaxos-paper.test.ts).
   */
  readonly unsafeQuorums?: Quorums;
  /**
   * TEST ONLY — acceptance per slot as in the paper, without rule (C): a block is accepted
   * whatever this acceptor holds below it. Tests show that rule (A)'s dropping is then unsafe.
   */
  readonly unsafeAcceptAnyParent?: boolean;
}

const EMPTY_HEAD: HeadInfo = {
  height: 0,
  hash: new Uint8Array(32),
  time: { ms: 0, logical: 0 },
  history: [],
  engineData: new Uint8Array(0),
};

function approxSize(block: Block): number {
  return 1024 + block.txs.reduce((n, tx) => n + tx.length + 8, 0);
}

export class MultiPaxosEngine implements ConsensusEngine<MultiPaxosMessage> {
  readonly #ctx: EngineContext;
  readonly #p: MultiPaxosParams;
  readonly #q: Quorums;
  readonly #unsafe: boolean;
  readonly #unsafeAnyParent: boolean;
  readonly #validators: ValidatorSet;
  /** This validator's index; undefined for an observer, which follows and commits but never votes. */
  readonly #self: number | undefined;
  #out: EngineOutput<MultiPaxosMessage>[] = [];
  #started = false;

  // Durable (records.ts).
  #promised: Ballot = NO_BALLOT;
  /** The highest height this node ever committed (≥ the head, unless the chain lost a write). */
  #committed = 0;
  /** Accepted (ballot, block) per slot above the committed head. */
  readonly #accepted = new Map<number, Held>();
  /**
   * Blocks of the promised ballot that arrived before their parent (links reorder accepts), by
   * slot: accepted, in order, once the parent is — instead of waiting for the leader's re-send at
   * its next heartbeat. Bounded; a block of another ballot is dropped when drained.
   */
  readonly #early = new Map<number, { readonly ballot: Ballot; readonly p: Proposal }>();
  /** The highest slot ever accepted: a start that finds a record missing below it lost one. */
  #reach = 0;
  /** The highest slot whose accepted record may have been lost from the WAL (0: none). */
  #lost = 0;

  #head: HeadInfo = EMPTY_HEAD;
  #role: Role = 'follower';
  #leader: number | undefined;
  /** Heard from the leader less than electionTimeoutMs ago (the `lease` timer ends it). */
  #leaseActive = false;
  /** The highest round seen in any message: a new ballot goes above it. */
  #roundSeen = 0;
  #ballotsStarted = 0;
  /** The best commit proof known: this leader's own, or the last one a leader shipped. */
  #proof: CommitProof | undefined;
  /** The highest height a `commit` was output for (committed, or on its way). */
  #emitted = 0;
  readonly #validity = new Map<BlockId, 'pending' | 'valid' | 'invalid'>();
  #owed: Owed[] = [];
  #txsPending = false;
  #phase1: PhaseOne | undefined;
  #lead: Lead | undefined;

  constructor(ctx: EngineContext, params: MultiPaxosParams, options: MultiPaxosEngineOptions = {}) {
    this.#ctx = ctx;
    this.#p = params;
    this.#validators = ctx.validators;
    this.#self = ctx.self;
    invariant(ctx.validators.size <= MAX_NODES, 'multipaxos: at most 2^20 validators');
    this.#unsafe = options.unsafeQuorums !== undefined;
    this.#unsafeAnyParent = options.unsafeAcceptAnyParent === true;
    this.#q = options.unsafeQuorums ?? resolveQuorums(params, ctx.validators);
  }

  status(): EngineStatus {
    return {
      height: this.#head.height + 1,
      round: this.#promised.round,
      step: this.#role,
      ...(this.#leader === undefined ? {} : { leader: this.#leader }),
      viewChanges: this.#ballotsStarted,
    };
  }

  /** For tests and operators. */
  inspect(): {
    promised: Ballot;
    role: Role;
    leader: number | undefined;
    head: number;
    committed: number;
    lost: number;
    quorums: Quorums;
    accepted: ReadonlyArray<{ slot: number; ballot: Ballot; hash: Uint8Array }>;
    proposals: ReadonlyArray<{ slot: number; hash: Uint8Array }>;
  } {
    const bySlot = (a: Held, b: Held) => a.slot - b.slot;
    return {
      promised: this.#promised,
      role: this.#role,
      leader: this.#leader,
      head: this.#head.height,
      committed: this.#committed,
      lost: this.#lost,
      quorums: this.#q,
      accepted: [...this.#accepted.values()]
        .sort(bySlot)
        .map((h) => ({ slot: h.slot, ballot: h.ballot, hash: h.p.hash })),
      proposals: [...(this.#lead?.proposals.values() ?? [])]
        .sort(bySlot)
        .map((h) => ({ slot: h.slot, hash: h.p.hash })),
    };
  }

  step(input: EngineInput<MultiPaxosMessage>): EngineOutput<MultiPaxosMessage>[] {
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
        this.#maybeBuild();
        break;
      case 'read':
        // The module declares no read modes (index.ts): a runtime sends none; refuse any that comes.
        this.#out.push({ kind: 'read-failed', id: input.id, reason: 'multipaxos confirms no reads yet' });
        break;
      case 'block-built':
        this.#onBlockBuilt(input.height, input.round, input.hash, input.block);
        break;
      case 'executed':
        this.#onExecuted(input.hash, input.valid, input.code);
        break;
      case 'committed':
        if (this.#started) this.#onCommitted(input.head);
        break;
    }
    return this.#out;
  }

  // -- start and restart ----------------------------------------------------------------------

  /**
   * Restores the promise and the accepted records. A record that does not decode throws, and the
   * runtime halts: an acceptor that forgot a promise or an acceptance could help choose a second
   * block for a slot.
   *
   * A record that failed its checksum is not handed on (src/runtime/wal-records.ts): the WAL may
   * come back partial, and the start recovers from what survived, conservatively —
   *  - the promise is the highest of the state copies (records.ts) and of every ballot accepted
   *    in (accepting in b promises b);
   *  - an accepted record missing between the commits and `reach`, or accepted records without a
   *    state copy, mean an acceptance may be forgotten: `lost` is raised to `reach`, and rule (P)
   *    refuses every candidate whose head is below it — one that could ask about that slot — while
   *    this node waits for the chain to pass it (the runtime's sign fence refuses its ACCEPTED
   *    there meanwhile);
   *  - both state copies are written again, so the next damage finds one intact.
   */
  #onStart(head: HeadInfo, recovered: ReadonlyMap<string, Uint8Array>): void {
    this.#started = true;
    this.#head = head;
    let copies = 0;
    for (const key of [STATE_KEY, STATE_COPY_KEY]) {
      const bytes = recovered.get(key);
      if (bytes === undefined) continue;
      const s = decodeRecord(STATE_RECORD, bytes);
      copies++;
      if (compareBallots(s.promised, this.#promised) > 0) this.#promised = s.promised;
      this.#committed = Math.max(this.#committed, s.committed);
      this.#reach = Math.max(this.#reach, s.reach);
      this.#lost = Math.max(this.#lost, s.lost);
    }
    const stored = this.#state();
    const slots = new Set<number>();
    for (const [key, bytes] of recovered) {
      if (!key.startsWith(ACCEPTED_PREFIX)) continue;
      const r = decodeRecord(ACCEPTED_RECORD, bytes);
      const p = proposal(r.block);
      const slot = p.block.header.height;
      invariant(key === acceptedKey(slot), () => `multipaxos: record ${key} holds a block of height ${slot}`);
      slots.add(slot);
      if (compareBallots(r.ballot, this.#promised) > 0) this.#promised = r.ballot;
      this.#reach = Math.max(this.#reach, slot);
      if (slot > head.height) this.#accepted.set(slot, { slot, ballot: r.ballot, p, id: blockId(p.hash) });
      // The head's own record stays until the next commit (records.ts); the rest the chain holds.
      else if (slot !== head.height || !equalBytes(p.hash, head.hash))
        this.#out.push({ kind: 'forget', key });
    }
    if (!sameBallot(stored.promised, this.#promised))
      this.#note('warn', 'an acceptance above the promise on disk: promising its ballot', {
        stored: formatBallot(stored.promised),
        promised: formatBallot(this.#promised),
      });
    let missing: number | undefined;
    for (let s = Math.max(head.height, this.#committed) + 1; s <= this.#reach && missing === undefined; s++)
      if (!slots.has(s)) missing = s;
    if ((missing !== undefined || (copies === 0 && slots.size > 0)) && this.#reach > this.#lost) {
      this.#lost = Math.max(this.#lost, this.#reach);
      this.#note('warn', 'the WAL lost records: promising no candidate below the last slot accepted', {
        ...(missing === undefined ? { state: 'missing' } : { slot: missing }),
        lost: this.#lost,
      });
    }
    this.#committed = Math.max(this.#committed, head.height);
    if (
      copies === 1 ||
      !equalBytes(encodeRecord(STATE_RECORD, stored), encodeRecord(STATE_RECORD, this.#state()))
    )
      this.#persistState();
    this.#emitted = head.height;
    for (const h of [...this.#accepted.values()].sort((a, b) => a.slot - b.slot)) this.#executeIfNeeded(h);
    this.#note('info', 'start', {
      promised: formatBallot(this.#promised),
      head: head.height,
      committed: this.#committed,
      accepted: this.#accepted.size,
      ...(this.#lost > head.height ? { lost: this.#lost } : {}),
    });
    this.#armElection();
  }

  // -- messages -------------------------------------------------------------------------------

  #onMessage(from: number, msg: MultiPaxosMessage, signature: Uint8Array): void {
    if (this.#validators.at(from) === undefined) return;
    // An observer only follows the leader's accepts.
    if (this.#self === undefined && msg.type !== 'accept') return;
    this.#roundSeen = Math.max(
      this.#roundSeen,
      msg.ballot.round,
      msg.type === 'nack' ? msg.promised.round : 0,
    );
    if ((msg.type === 'prepare' || msg.type === 'accept') && msg.ballot.node !== from) {
      this.#note('warn', `a ${msg.type} of a ballot that is not the sender's`, {
        from,
        ballot: formatBallot(msg.ballot),
      });
      return;
    }
    switch (msg.type) {
      case 'prepare':
        this.#onPrepare(from, msg);
        break;
      case 'promise':
        this.#onPromise(from, msg, signature);
        break;
      case 'nack':
        this.#onNack(from, msg, signature);
        break;
      case 'accept':
        this.#onAccept(from, msg);
        break;
      case 'accepted':
        this.#onAccepted(from, msg, signature);
        break;
      case 'alive':
        if (this.#role === 'leader' && sameBallot(msg.ballot, this.#promised)) this.#lead?.heard.add(from);
        break;
    }
  }

  /**
   * Rule (P): the lowest candidate head this acceptor serves — the highest slot whose accepted
   * record it may have forgotten, or lost from its WAL. Records go when the slot is committed,
   * except the head's own (records.ts): a node whose chain lost its last commit (head =
   * committed − 1) still holds the record of `committed` — the committed block — and reports it,
   * so a candidate at its head can re-propose that block: when every node lost the same last
   * commit from its chain, no block sync can bring it back.
   */
  #floor(): number {
    const top = Math.max(this.#head.height, this.#committed);
    const forgotten = top > this.#head.height && this.#accepted.has(top) ? top - 1 : top;
    return Math.max(forgotten, this.#lost);
  }

  #inLease(): boolean {
    return this.#leader !== undefined && (this.#role === 'leader' || this.#leaseActive);
  }

  // -- Phase 1: acceptors ---------------------------------------------------------------------

  /**
   * Phase 1b: promise a ballot at least as high as every earlier promise to a candidate not behind
   * this node's commits (P), reporting every accepted slot above the candidate's head — on disk
   * before the promise leaves. While its leader is live, an acceptor ignores other proposers.
   */
  #onPrepare(from: number, m: Msg<'prepare'>): void {
    const self = this.#self;
    if (self === undefined) return;
    if (from !== self && from !== this.#leader && this.#inLease()) {
      this.#note('debug', 'ignoring a prepare while the leader is live', {
        from,
        ballot: formatBallot(m.ballot),
      });
      return;
    }
    if (compareBallots(m.ballot, this.#promised) < 0 || this.#floor() > m.head) {
      this.#nack(from, m.ballot);
      return;
    }
    const held = [...this.#accepted.values()].filter((h) => h.slot > m.head).sort((a, b) => a.slot - b.slot);
    if (held.length > MAX_PROMISE_REPORTS) {
      // Cutting the report short could hide a chosen block: refuse instead.
      this.#note('warn', 'too many accepted slots to report; refusing the prepare', {
        from,
        slots: held.length,
      });
      this.#nack(from, m.ballot);
      return;
    }
    if (compareBallots(m.ballot, this.#promised) > 0) this.#raisePromise(m.ballot);
    else if (from !== self) this.#armElection(); // the same ballot again (a fetch): let it finish
    const blocks: Proposal[] = [];
    let bytes = 0;
    for (const h of held) {
      if (h.slot <= m.from) continue;
      const size = approxSize(h.p.block);
      if (blocks.length > 0 && (bytes + size > MAX_RUN_BYTES || blocks.length >= MAX_PROMISE_BLOCKS)) break;
      blocks.push(h.p);
      bytes += size;
    }
    const accepted: Report[] = held.map((h) => ({
      slot: h.slot,
      ballot: h.ballot,
      hash: h.p.hash,
      parent: h.p.block.header.parentHash,
    }));
    this.#send(from, { type: 'promise', ballot: m.ballot, head: this.#head.height, accepted, blocks });
  }

  #nack(to: number, ballot: Ballot): void {
    if (this.#self === undefined) return;
    this.#send(to, { type: 'nack', ballot, promised: this.#promised, head: this.#floor() });
  }

  /** Promises `b` (above the current promise): on disk with this step, and no longer leading. */
  #raisePromise(b: Ballot): void {
    invariant(compareBallots(b, this.#promised) > 0, 'multipaxos: a promise only moves up');
    this.#promised = b;
    this.#persistState();
    this.#leaseActive = false;
    if (this.#role === 'leader') this.#stopLeading();
    this.#role = 'follower';
    this.#phase1 = undefined;
    this.#leader = undefined;
    this.#armElection();
  }

  // -- Phase 1: candidates --------------------------------------------------------------------

  /**
   * Phase 1a: a ballot above every one seen, promised to itself on disk before the prepare leaves,
   * for every slot above the committed head. A node whose chain lost a commit waits for sync.
   */
  #campaign(): void {
    const self = this.#self;
    invariant(self !== undefined, 'multipaxos: an observer never campaigns');
    if (this.#head.height < this.#floor()) {
      this.#note('debug', 'not campaigning: the chain is behind what this node committed', {
        head: this.#head.height,
        committed: this.#committed,
        floor: this.#floor(),
      });
      this.#armElection();
      return;
    }
    const round =
      Math.max(
        this.#promised.round,
        this.#roundSeen,
        headBallot(this.#head.height, this.#head.engineData)?.round ?? 0,
      ) + 1;
    invariant(round <= MAX_ROUND, 'multipaxos: rounds exhausted');
    const ballot = { round, node: self };
    this.#promised = ballot;
    this.#persistState();
    if (this.#role === 'leader') this.#stopLeading();
    this.#role = 'candidate';
    this.#leader = undefined;
    this.#leaseActive = false;
    this.#phase1 = new PhaseOne(this.#validators, ballot);
    this.#ballotsStarted++;
    this.#note('debug', 'phase 1', { ballot: formatBallot(ballot), head: this.#head.height });
    this.#broadcast({ type: 'prepare', ballot, head: this.#head.height, from: this.#head.height });
    // No quorum within [T, 2T): a new ballot.
    this.#armElection();
    this.#arm('phase1-retry', this.#p.heartbeatMs);
  }

  /**
   * Messages can be lost ("Paxos Made Simple" §2.1), so Phase 1 is retried within its ballot: every
   * heartbeat interval the prepare goes again to the acceptors that have neither promised nor
   * refused, and a block still missing is asked for again. Without it, one lost prepare or promise
   * costs a whole timeout and a new ballot — and when Q1 needs every acceptor that is up, lossy
   * links can keep every candidate from ever collecting them. Answers are idempotent: an acceptor
   * promises the same ballot again, with the same reports (Raft retries its RequestVote likewise).
   */
  #retryPhaseOne(): void {
    const ph = this.#phase1;
    if (this.#role !== 'candidate' || ph === undefined) return;
    const head = this.#head.height;
    for (const v of this.#validators.validators)
      if (v.index !== this.#self && !ph.answered(v.index))
        this.#send(v.index, { type: 'prepare', ballot: ph.ballot, head, from: head });
    ph.askAgain();
    this.#tryLead();
    if (this.#role === 'candidate') this.#arm('phase1-retry', this.#p.heartbeatMs);
  }

  #onPromise(from: number, m: Msg<'promise'>, signature: Uint8Array): void {
    const ph = this.#phase1;
    if (this.#role !== 'candidate' || ph === undefined || !sameBallot(m.ballot, this.#promised)) return;
    if (m.head > this.#head.height) {
      this.#note('warn', 'a promise from an acceptor ahead of this candidate (rule P)', {
        from,
        head: m.head,
      });
      return;
    }
    ph.promise(from, m.accepted, m.blocks, signature);
    if (ph.conflicts > 0)
      this.#note('warn', 'two reports of one slot and ballot name different blocks', {
        from,
        count: ph.conflicts,
      });
    this.#tryLead();
  }

  /**
   * A refusal. A higher promise means another proposer is ahead: step down and back off a random
   * [T, 2T). A refusal for being behind counts; once Q1 can no longer be reached, step down.
   */
  #onNack(from: number, m: Msg<'nack'>, signature: Uint8Array): void {
    if (this.#role === 'follower' || !sameBallot(m.ballot, this.#promised)) return;
    if (compareBallots(m.promised, this.#promised) > 0) {
      this.#note('debug', 'preempted by a higher ballot', {
        from,
        ballot: formatBallot(this.#promised),
        higher: formatBallot(m.promised),
      });
      this.#stepDown();
      return;
    }
    const ph = this.#phase1;
    if (this.#role !== 'candidate' || ph === undefined || m.head <= this.#head.height) return;
    if (ph.refuse(from, signature) > this.#validators.totalPower - this.#q.phase1) {
      this.#note('info', 'behind the commits of acceptors that a phase-1 quorum needs; waiting for sync', {
        head: this.#head.height,
      });
      this.#stepDown();
    }
  }

  /**
   * With promises holding Q1: rule (A) (phase-one.ts), then leadership once every adopted block is
   * in hand — a block a promise had no room for is asked of its reporter with a second prepare.
   */
  #tryLead(): void {
    const ph = this.#phase1;
    if (this.#role !== 'candidate' || ph === undefined || ph.promisedPower < this.#q.phase1) return;
    const blocks: Proposal[] = [];
    for (const r of ph.adopted(this.#head)) {
      const held = this.#accepted.get(r.slot);
      const p =
        ph.block(r.hash) ?? (held !== undefined && equalBytes(held.p.hash, r.hash) ? held.p : undefined);
      if (p === undefined) {
        if (ph.ask(r.slot))
          this.#send(r.from, {
            type: 'prepare',
            ballot: ph.ballot,
            head: this.#head.height,
            from: r.slot - 1,
          });
        return;
      }
      blocks.push(p);
    }
    this.#becomeLeader(blocks);
  }

  #becomeLeader(chain: readonly Proposal[]): void {
    const self = this.#self;
    invariant(self !== undefined && this.#role === 'candidate', 'multipaxos: only a candidate leads');
    const lead: Lead = {
      proposals: new Map(),
      last: this.#head.height,
      lastHash: this.#head.hash,
      votes: new Map(),
      match: new Map(),
      matchAtBeat: new Map(),
      heard: new Set([self]),
      building: undefined,
    };
    for (const v of this.#validators.validators) lead.matchAtBeat.set(v.index, this.#head.height);
    for (const p of chain) {
      const slot = p.block.header.height;
      lead.proposals.set(slot, { slot, ballot: this.#promised, p, id: blockId(p.hash) });
      lead.last = slot;
      lead.lastHash = p.hash;
    }
    this.#role = 'leader';
    this.#leader = self;
    this.#phase1 = undefined;
    this.#lead = lead;
    for (const timer of ['election', 'lease', 'phase1-retry'])
      this.#out.push({ kind: 'cancel-timer', timer });
    this.#note('info', 'leading', { ballot: formatBallot(this.#promised), adopted: chain.length });
    this.#arm('heartbeat', this.#p.heartbeatMs);
    this.#arm('check-quorum', this.#p.electionTimeoutMs);
    const runs = this.#runs(this.#head.height + 1);
    if (runs.length === 0) this.#broadcast(this.#accept([]));
    for (const run of runs) this.#broadcast(this.#accept(run));
    this.#maybeBuild();
  }

  #stopLeading(): void {
    this.#out.push({ kind: 'cancel-timer', timer: 'heartbeat' });
    this.#out.push({ kind: 'cancel-timer', timer: 'check-quorum' });
    this.#lead = undefined;
    this.#note('info', 'no longer leading', { ballot: formatBallot(this.#promised) });
  }

  /** Back to follower, keeping the promise; a fresh random timeout before the next Phase 1. */
  #stepDown(): void {
    if (this.#role === 'leader') this.#stopLeading();
    this.#role = 'follower';
    this.#phase1 = undefined;
    this.#leader = undefined;
    this.#armElection();
  }

  // -- Phase 2: acceptors ---------------------------------------------------------------------

  /**
   * Phase 2b: accept the blocks of a ballot at least as high as the promise, in order, each on
   * its parent (C). A proof is learned whatever the ballot: a chosen block stays chosen.
   */
  #onAccept(from: number, m: Msg<'accept'>): void {
    if (m.proof !== undefined) this.#learnProof(m.proof);
    const order = compareBallots(m.ballot, this.#promised);
    if (order < 0) {
      if (from !== this.#self) this.#nack(from, m.ballot);
      this.#tryCommit();
      return;
    }
    if (order > 0) this.#raisePromise(m.ballot);
    if (from !== this.#self) {
      this.#leader = from;
      this.#heardFromLeader();
    }
    for (const [i, p] of m.blocks.entries()) {
      const r = this.#acceptOne(m.ballot, p);
      if (r === 'early') for (const q of m.blocks.slice(i)) this.#holdEarly(m.ballot, q);
      if (r !== 'accepted') break;
    }
    this.#drainEarly();
    if (m.blocks.length === 0 && this.#self !== undefined && from !== this.#self)
      this.#send(from, { type: 'alive', ballot: m.ballot, head: this.#head.height });
    this.#tryCommit();
    this.#flushOwed();
  }

  /**
   * Accepts one block in ballot `b` (= the promise): 'accepted'; 'early' if the slot below is not
   * held yet (its parent may still arrive); 'refused' if it does not extend what is held.
   */
  #acceptOne(b: Ballot, p: Proposal): 'accepted' | 'early' | 'refused' {
    const slot = p.block.header.height;
    if (slot <= this.#head.height) return 'accepted'; // committed here
    if (p.stamp.phase1Quorum !== this.#q.phase1 || p.stamp.phase2Quorum !== this.#q.phase2) {
      this.#note('warn', 'a block stamped with other quorums than this chain’s', { slot });
      return 'refused';
    }
    const parent = p.block.header.parentHash;
    const below = this.#accepted.get(slot - 1);
    const chained =
      this.#unsafeAnyParent ||
      (slot - 1 === this.#head.height && equalBytes(parent, this.#head.hash)) ||
      (below !== undefined &&
        equalBytes(below.p.hash, parent) &&
        (sameBallot(below.ballot, b) || slot - 1 <= this.#committed));
    if (!chained) {
      if (below === undefined && slot - 1 > this.#head.height) return 'early';
      this.#note('debug', 'an accept that does not extend what this node holds in its ballot', {
        slot,
        ballot: formatBallot(b),
      });
      return 'refused';
    }
    const held = this.#accepted.get(slot);
    if (held === undefined || !sameBallot(held.ballot, b) || !equalBytes(held.p.hash, p.hash)) {
      invariant(
        held === undefined || compareBallots(held.ballot, b) <= 0,
        'multipaxos: an acceptance below an earlier one',
      );
      if (held !== undefined && held.id !== blockId(p.hash)) this.#validity.delete(held.id);
      const h: Held = { slot, ballot: b, p, id: blockId(p.hash) };
      this.#accepted.set(slot, h);
      if (this.#self !== undefined)
        this.#out.push({
          kind: 'persist',
          key: acceptedKey(slot),
          record: encodeRecord(ACCEPTED_RECORD, { ballot: b, block: p.block }),
        });
      if (slot > this.#reach) {
        this.#reach = slot;
        this.#persistState();
      }
    }
    this.#executeIfNeeded(this.#accepted.get(slot) as Held);
    this.#owe(b, slot, p.hash);
    return 'accepted';
  }

  #holdEarly(b: Ballot, p: Proposal): void {
    const slot = p.block.header.height;
    if (this.#early.has(slot) || this.#early.size >= MAX_EARLY) return;
    this.#early.set(slot, { ballot: b, p });
  }

  /** Accepts held early blocks whose parent has arrived, lowest slot first (see #early). */
  #drainEarly(): void {
    while (this.#early.size > 0) {
      const slot = Math.min(...this.#early.keys());
      const e = this.#early.get(slot) as { ballot: Ballot; p: Proposal };
      if (!sameBallot(e.ballot, this.#promised) || slot <= this.#head.height) {
        this.#early.delete(slot);
        continue;
      }
      if (this.#acceptOne(e.ballot, e.p) === 'early') return; // still waiting for its parent
      this.#early.delete(slot);
    }
  }

  #executeIfNeeded(h: Held): void {
    if (this.#validity.has(h.id)) return;
    this.#validity.set(h.id, 'pending');
    this.#out.push({ kind: 'execute', block: h.p.block, hash: h.p.hash });
  }

  #onExecuted(hash: Uint8Array, valid: boolean, code: ExecuteFailure | undefined): void {
    const id = blockId(hash);
    if (this.#validity.get(id) !== 'pending') return;
    if (valid) this.#validity.set(id, 'valid');
    else if (code === 'INVALID') {
      // A crash-fault leader proposes no invalid block; this node never reports accepting one.
      this.#validity.set(id, 'invalid');
      this.#note('warn', 'a proposed block failed execution', { hash: id.slice(0, 16) });
    } else this.#validity.delete(id); // may resolve later: executed again when the leader re-sends it
    this.#flushOwed();
    this.#maybeBuild();
    this.#tryCommit();
  }

  /** An acceptance of (`slot`, `hash`) in `ballot`, sent to its leader once the block executed. */
  #owe(ballot: Ballot, slot: number, hash: Uint8Array): void {
    if (this.#self === undefined) return;
    this.#owed.push({ ballot, slot, hash });
    if (this.#owed.length > MAX_OWED) this.#owed.shift();
    this.#flushOwed();
  }

  /**
   * Sends the acceptances whose blocks executed as valid — still held, in the current ballot. The
   * record was persisted in an earlier step or in this one, so before the message leaves.
   */
  #flushOwed(): void {
    const waiting: Owed[] = [];
    const sent = new Set<number>();
    for (const o of this.#owed) {
      if (!sameBallot(o.ballot, this.#promised)) continue; // a ballot given up since
      const h = this.#accepted.get(o.slot);
      if (h === undefined || !sameBallot(h.ballot, o.ballot) || !equalBytes(h.p.hash, o.hash)) continue;
      const v = this.#validity.get(h.id);
      if (v === 'pending') waiting.push(o);
      else if (v === 'valid' && !sent.has(o.slot)) {
        sent.add(o.slot);
        this.#send(o.ballot.node, { type: 'accepted', ballot: o.ballot, slot: o.slot, hash: o.hash });
      }
    }
    this.#owed = waiting;
  }

  // -- Phase 2: the leader --------------------------------------------------------------------

  #accept(blocks: readonly Proposal[]): Msg<'accept'> {
    const base = { type: 'accept', ballot: this.#promised, blocks } as const;
    return this.#proof === undefined ? base : { ...base, proof: this.#proof };
  }

  /** This ballot's proposals from `slot` on, in runs one accept each can carry. */
  #runs(slot: number, limit = Number.POSITIVE_INFINITY): Proposal[][] {
    const lead = this.#lead;
    const out: Proposal[][] = [];
    if (lead === undefined) return out;
    let run: Proposal[] = [];
    let bytes = 0;
    for (let s = slot; s <= lead.last && out.length < limit; s++) {
      const h = lead.proposals.get(s);
      if (h === undefined) break;
      const size = approxSize(h.p.block);
      if (run.length > 0 && (run.length >= MAX_ACCEPT_BLOCKS || bytes + size > MAX_RUN_BYTES)) {
        out.push(run);
        run = [];
        bytes = 0;
      }
      run.push(h.p);
      bytes += size;
    }
    if (run.length > 0 && out.length < limit) out.push(run);
    return out;
  }

  /**
   * A new block of this ballot on top of the last proposal, while fewer than maxInflight are
   * proposed beyond the commit point and the last proposal has executed here (it is the parent).
   */
  #maybeBuild(): void {
    const lead = this.#lead;
    if (this.#role !== 'leader' || lead === undefined || lead.building !== undefined || !this.#txsPending)
      return;
    if (lead.last - this.#emitted >= this.#p.maxInflight) return;
    const last = lead.proposals.get(lead.last);
    if (last !== undefined && this.#validity.get(last.id) !== 'valid') return;
    lead.building = { height: lead.last + 1, heartbeats: 0 };
    this.#out.push({
      kind: 'build-block',
      height: lead.last + 1,
      round: ballotOrdinal(this.#promised),
      parent: lead.lastHash,
      engineData: encodeStamp({
        ballot: this.#promised,
        phase1Quorum: this.#q.phase1,
        phase2Quorum: this.#q.phase2,
      }),
    });
  }

  #onBlockBuilt(height: number, round: number, hash: Uint8Array, block: Block): void {
    const lead = this.#lead;
    if (this.#role !== 'leader' || lead === undefined) return;
    if (round !== ballotOrdinal(this.#promised) || lead.building?.height !== height) return;
    lead.building = undefined;
    if (height !== lead.last + 1 || !equalBytes(block.header.parentHash, lead.lastHash)) return;
    if (block.txs.length === 0) {
      this.#txsPending = false; // the mempool holds nothing the pipeline does not
      return;
    }
    const p = proposal(block);
    invariant(equalBytes(p.hash, hash), 'multipaxos: a built block hashes to what the runtime said');
    invariant(sameBallot(p.stamp.ballot, this.#promised), 'multipaxos: a built block carries the ballot');
    invariant(!lead.proposals.has(height), 'multipaxos: one proposal per slot and ballot');
    const h: Held = { slot: height, ballot: this.#promised, p, id: blockId(hash) };
    this.#validity.set(h.id, 'valid'); // the runtime executed it to build it
    lead.proposals.set(height, h);
    lead.last = height;
    lead.lastHash = hash;
    this.#broadcast(this.#accept([p]));
    this.#maybeBuild();
  }

  #onAccepted(from: number, m: Msg<'accepted'>, signature: Uint8Array): void {
    const lead = this.#lead;
    if (this.#role !== 'leader' || lead === undefined || !sameBallot(m.ballot, this.#promised)) return;
    lead.heard.add(from);
    const h = lead.proposals.get(m.slot);
    if (h === undefined || !equalBytes(h.p.hash, m.hash)) return; // committed already, or never proposed
    let set = lead.votes.get(m.slot);
    if (set === undefined) lead.votes.set(m.slot, (set = new VoteSet(this.#validators)));
    set.add(from, h.id, signature);
    lead.match.set(from, Math.max(lead.match.get(from) ?? 0, m.slot));
    this.#advanceCommit();
  }

  /**
   * The highest slot whose proposal Q2 accepted in this ballot is chosen — and by (C), with it
   * every proposal below: commit through it and ship the proof.
   */
  #advanceCommit(): void {
    const lead = this.#lead;
    invariant(lead !== undefined, 'multipaxos: only a leader counts acceptances');
    for (let s = lead.last; s > this.#emitted && s > (this.#proof?.slot ?? 0); s--) {
      const h = lead.proposals.get(s);
      const set = lead.votes.get(s);
      if (h === undefined || set === undefined || set.powerFor(h.id) < this.#q.phase2) continue;
      this.#proof = {
        ballot: this.#promised,
        slot: s,
        hash: h.p.hash,
        votes: set.votesFor(h.id).map((v) => ({ validator: v.validator, signature: v.vote })),
      };
      this.#tryCommit();
      this.#broadcast(this.#accept([]));
      return;
    }
  }

  /**
   * Heartbeat: the proof to everyone; and to an acceptor that accepted nothing of this ballot
   * since the previous heartbeat while proposals wait (a lost accept, a restart, a block that
   * arrived before its parent), the proposals from its last acceptance on.
   */
  #onHeartbeat(): void {
    const lead = this.#lead;
    invariant(lead !== undefined, 'multipaxos: a heartbeat without leading');
    if (lead.building !== undefined && ++lead.building.heartbeats > 2) lead.building = undefined;
    this.#broadcast(this.#accept([]));
    for (const v of this.#validators.validators) {
      if (v.index === this.#self) continue;
      const match = Math.max(lead.match.get(v.index) ?? 0, this.#head.height);
      const stalled = lead.matchAtBeat.get(v.index) === match;
      lead.matchAtBeat.set(v.index, match);
      if (stalled) for (const run of this.#runs(match + 1, 1)) this.#send(v.index, this.#accept(run));
    }
    this.#maybeBuild();
    this.#arm('heartbeat', this.#p.heartbeatMs);
  }

  /** A leader that has not heard from a Phase-2 quorum for T cannot commit: it steps down. */
  #onCheckQuorum(): void {
    const lead = this.#lead;
    invariant(lead !== undefined && this.#self !== undefined, 'multipaxos: check-quorum without leading');
    lead.heard.add(this.#self);
    if (this.#validators.powerOf(lead.heard) < this.#q.phase2) {
      this.#note('warn', 'no phase-2 quorum heard from; stepping down', {
        ballot: formatBallot(this.#promised),
      });
      this.#stepDown();
      return;
    }
    lead.heard.clear();
    this.#arm('check-quorum', this.#p.electionTimeoutMs);
  }

  // -- commitment -----------------------------------------------------------------------------

  #learnProof(p: CommitProof): void {
    if (p.slot > this.#head.height && p.slot > (this.#proof?.slot ?? 0)) this.#proof = p;
  }

  /**
   * Commits what the best proof covers, as far as this node holds and has executed it: the held
   * blocks from the head up to the proven one D must form its ancestry, and each commits in order
   * with its certificate — D's own, or an ancestry proof through D's historyRoot.
   */
  #tryCommit(): void {
    const p = this.#proof;
    if (p === undefined || p.slot <= this.#emitted) return;
    const head = this.#head;
    const chain: Held[] = [];
    let want = p.hash;
    for (let s = p.slot; s > head.height; s--) {
      const h = this.#accepted.get(s);
      if (h === undefined || !equalBytes(h.p.hash, want)) return; // not holding D's ancestry yet
      chain.push(h);
      want = h.p.block.header.parentHash;
    }
    if (!equalBytes(want, head.hash)) {
      this.#note('warn', 'a proof of a block that does not extend the committed head', { slot: p.slot });
      return;
    }
    chain.reverse();
    const d = chain.at(-1) as Held;
    if (!this.#usable(p, d)) return;
    let through = this.#emitted;
    for (const h of chain) {
      if (h.slot <= this.#emitted) continue;
      if (this.#validity.get(h.id) !== 'valid') break;
      through = h.slot;
    }
    if (through <= this.#emitted) return;
    const history = new ExtendedTree(
      head.history,
      head.height + 1,
      chain.slice(0, -1).map((h) => leafHash(h.p.hash)),
    );
    for (let i = this.#emitted + 1; i <= through; i++) {
      const h = chain[i - head.height - 1] as Held;
      const certificate =
        i === p.slot
          ? multipaxosCertificate(p, d.p.block.header, i, h.p.hash)
          : multipaxosCertificate(p, d.p.block.header, i, h.p.hash, history.inclusionProof(i, p.slot));
      this.#out.push({ kind: 'commit', hash: h.p.hash, certificate });
    }
    this.#note('debug', 'commit', { through, by: p.slot, ballot: formatBallot(p.ballot) });
    this.#emitted = through;
  }

  /**
   * A proof commits only if it obeys the certificate's rules (certificate.ts). A leader's own
   * proofs are built that way; a shipped one is checked — its signatures were checked where each
   * acceptance arrived (the crash-fault model trusts the leader to pass them on unchanged).
   */
  #usable(p: CommitProof, d: Held): boolean {
    if (this.#unsafe) return true;
    const violation = certificateRuleViolation(multipaxosCertificate(p, d.p.block.header, d.slot, d.p.hash), {
      chainId: this.#ctx.chainId,
      validators: this.#validators,
      ...(this.#ctx.epoch === undefined ? {} : { epoch: this.#ctx.epoch }),
    });
    if (violation === undefined) return true;
    this.#note('warn', 'ignoring a commit proof', { slot: p.slot, reason: violation });
    this.#proof = undefined;
    return false;
  }

  #onCommitted(head: HeadInfo): void {
    const before = this.#head;
    if (head.height <= before.height) return;
    const mine = this.#emitted >= head.height ? this.#accepted.get(head.height) : undefined;
    invariant(
      mine === undefined || equalBytes(mine.p.hash, head.hash),
      () => `multipaxos: the chain committed another block at ${head.height} than this engine did`,
    );
    this.#head = head;
    this.#committed = Math.max(this.#committed, head.height);
    this.#persistState();
    // The previous head's own record goes now; the new head's stays until the next commit.
    if (before.height > 0) this.#out.push({ kind: 'forget', key: acceptedKey(before.height) });
    for (const [slot, h] of this.#accepted) {
      if (slot > head.height) continue;
      this.#accepted.delete(slot);
      this.#validity.delete(h.id);
      if (slot !== head.height || !equalBytes(h.p.hash, head.hash))
        this.#out.push({ kind: 'forget', key: acceptedKey(slot) });
    }
    this.#emitted = Math.max(this.#emitted, head.height);
    const lead = this.#lead;
    if (lead !== undefined) {
      const atHead = lead.proposals.get(head.height);
      for (const s of [...lead.proposals.keys()]) if (s <= head.height) lead.proposals.delete(s);
      for (const s of [...lead.votes.keys()]) if (s <= head.height) lead.votes.delete(s);
      const next = lead.proposals.get(head.height + 1);
      if (
        (atHead !== undefined && !equalBytes(atHead.p.hash, head.hash)) ||
        (next !== undefined && !equalBytes(next.p.block.header.parentHash, head.hash))
      ) {
        // Only a stale leader's proposals can leave the committed chain: a later ballot chose.
        this.#note('warn', 'proposals off the committed chain; stepping down', { head: head.height });
        this.#stepDown();
      } else if (lead.last <= head.height) {
        lead.last = head.height;
        lead.lastHash = head.hash;
      }
    }
    this.#maybeBuild();
    this.#tryCommit();
    this.#flushOwed();
  }

  // -- timers ---------------------------------------------------------------------------------

  #onTimeout(timer: string, token: TimerToken | undefined): void {
    if (!tokenIs(token, 0, ballotOrdinal(this.#promised))) return; // armed under an earlier promise
    switch (timer) {
      case 'election':
        if (this.#role !== 'leader' && this.#self !== undefined) this.#campaign();
        break;
      case 'lease':
        this.#leaseActive = false;
        break;
      case 'phase1-retry':
        this.#retryPhaseOne();
        break;
      case 'heartbeat':
        if (this.#role === 'leader') this.#onHeartbeat();
        break;
      case 'check-quorum':
        if (this.#role === 'leader') this.#onCheckQuorum();
        break;
    }
  }

  #arm(timer: string, afterMs: number): void {
    this.#out.push({
      kind: 'set-timer',
      timer,
      afterMs,
      token: { height: 0, round: ballotOrdinal(this.#promised) },
    });
  }

  /** A timeout drawn anew from [T, 2T) each time: the randomized backoff that ends duels. */
  #armElection(): void {
    if (this.#self === undefined) return; // observers never campaign
    const t = this.#p.electionTimeoutMs;
    this.#arm('election', t + this.#ctx.rng.int(t));
  }

  #heardFromLeader(): void {
    if (this.#self === undefined) return;
    this.#armElection();
    this.#leaseActive = true;
    this.#arm('lease', this.#p.electionTimeoutMs);
  }

  // -- outputs --------------------------------------------------------------------------------

  #send(to: number, msg: MultiPaxosMessage): void {
    this.#out.push({ kind: 'send', to, msg });
  }

  #broadcast(msg: MultiPaxosMessage): void {
    this.#out.push({ kind: 'broadcast', msg });
  }

  #state(): AcceptorState {
    return { promised: this.#promised, committed: this.#committed, reach: this.#reach, lost: this.#lost };
  }

  /** Both copies of the state record (records.ts), in this step's one WAL batch. */
  #persistState(): void {
    if (this.#self === undefined) return;
    const record = encodeRecord(STATE_RECORD, this.#state());
    for (const key of [STATE_KEY, STATE_COPY_KEY]) this.#out.push({ kind: 'persist', key, record });
  }

  #note(level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, unknown>): void {
    this.#out.push({
      kind: 'log',
      level,
      message: `multipaxos: ${message}`,
      ...(fields === undefined ? {} : { fields }),
    });
  }
}
