/**
 * Raft (Ongaro & Ousterhout, "In Search of an Understandable Consensus Algorithm (Extended
 * Version)", 2014) as a sans-I/O engine, with the etcd-io/raft additions a production cluster
 * runs with: PreVote (thesis §9.6), CheckQuorum, the leader's no-op entry on election (§8) and
 * conflict hints for the nextIndex back-off. Section and figure numbers below are the paper's.
 *
 * Mapping onto Verity (consensus/types.ts):
 *  - an entry is a block (entry.ts): index = height, term in the header's engine data; the
 *    committed prefix is the chain store (the runtime's head), the uncommitted suffix lives in this
 *    engine's WAL records (records.ts) and is executed speculatively by the runtime before a
 *    follower acknowledges it;
 *  - AppendEntries replies are signed acknowledgements (ackBytes): a majority of them for an entry
 *    of the leader's own term is the commit certificate (certificate.ts), shipped to followers in
 *    every append so they commit the same blocks with the same certificates;
 *  - persistent state (term, vote, entries) goes out as `persist` outputs, which the runtime makes
 *    durable before any message of the same step leaves — Figure 2's "before responding to RPCs".
 *
 * Membership (§6, config.ts): the configuration in force is the one in the log's last entry. The
 * leader carries out what the committed state asks for (HeadInfo.membership, set by a signed
 * `membership` transaction): learners change in one entry; voters change through the joint
 * configuration C_old,new — one entry — and, once that entry is committed, C_new. A leader that C_new
 * leaves out steps down once C_new is committed. A node campaigns while a configuration its log may
 * still fall back to names it a voter — the last entry's, the committed one, or an uncommitted
 * entry's (thesis §4.2.2: it "might still be needed until the Cnew entry is committed"); a node that
 * none of them names a voter never campaigns.
 *
 * Replication: the leader broadcasts each new entry once (observers follow from it) and a
 * heartbeat every heartbeatMs; a follower that lacks what an append builds on rejects it with a
 * hint, and the leader repairs it with one append in flight at a time. The leader keeps at most
 * `maxInflight` entries beyond its commit point.
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
  MembershipTarget,
  ReadMode,
  TimerToken,
} from '../types.ts';
import { VoteSet } from '../vote-set.ts';
import { certificateRuleViolation, raftCertificate } from './certificate.ts';
import {
  configViolation,
  defaultConfig,
  isDefaultConfig,
  Membership,
  nextConfig,
  type RaftConfig,
  sameConfig,
  transitionViolation,
} from './config.ts';
import { type CommitProof, decodeEngineData, encodeEngineData } from './entry.ts';
import { type LogEntry, logEntry, RaftLog } from './log.ts';
import { type AppendEntry, MAX_APPEND_ENTRIES, type RaftMessage } from './messages.ts';
import type { RaftParams } from './params.ts';
import { Progress } from './progress.ts';
import { LeaderReads } from './reads.ts';
import { ENTRY_PREFIX, ENTRY_RECORD, entryKey, STATE_KEYS, STATE_RECORD } from './records.ts';

type Role = 'follower' | 'pre-candidate' | 'candidate' | 'leader';
type Ballot = 'granted' | 'denied';
type Append = Extract<RaftMessage, { type: 'append' }>;
type OwedAck = { readonly term: number; readonly index: number; readonly hash: Uint8Array };

/** Blocks one repair append carries, by bytes (at least one block). */
const MAX_REPAIR_BYTES = 4 * 1024 * 1024;
/** Acknowledgements waiting for execution; older ones are dropped (a later heartbeat asks again). */
const MAX_OWED_ACKS = 256;
/** Forwarded reads' wire ids: 2^21 random bases × 2^32 reads each, all safe integers. */
const WIRE_READ_STARTS = 2 ** 21;
const WIRE_READS_PER_START = 2 ** 32;

export interface RaftEngineOptions {
  /**
   * TEST ONLY — the mistake of Figure 8: the leader also commits an entry of an EARLIER term once
   * a majority stores it. parseRaftParams refuses it; tests construct the engine with it to show
   * the rule is what keeps agreement (test/unit/raft-paper.test.ts).
   */
  readonly unsafeCommitPreviousTerm?: boolean;
  /**
   * TEST ONLY — every node serves a read at once at what it has committed, confirming nothing:
   * the stale reads ReadIndex exists to prevent, for the simulator's read checker to catch.
   */
  readonly unsafeLocalReads?: boolean;
  /**
   * TEST ONLY — the mistake §6 warns of: voters change from C_old to C_new in one entry, without
   * the joint configuration, and followers take such a step. Tests show it lets two disjoint
   * majorities decide (test/unit/raft-membership.test.ts).
   */
  readonly unsafeSkipJointConsensus?: boolean;
}

const EMPTY_HEAD: HeadInfo = {
  height: 0,
  hash: new Uint8Array(32),
  time: { ms: 0, logical: 0 },
  history: [],
  engineData: new Uint8Array(0),
};

export class RaftEngine implements ConsensusEngine<RaftMessage> {
  readonly #ctx: EngineContext;
  readonly #p: RaftParams;
  readonly #validators: ValidatorSet;
  /** This validator's index; undefined for an observer, which follows and commits but never votes. */
  readonly #self: number | undefined;
  readonly #unsafeCommitPreviousTerm: boolean;
  readonly #unsafeLocalReads: boolean;
  readonly #unsafeSkipJoint: boolean;
  #out: EngineOutput<RaftMessage>[] = [];
  #started = false;
  /** Every validator votes: the configuration of entries that name none. */
  readonly #default: Membership;
  /** Memberships by the configuration object of an entry (entries share one per decode). */
  readonly #memberships = new WeakMap<RaftConfig, Membership>();
  /** What the committed state last asked for (ledger `membership` transactions). */
  #request: MembershipTarget | undefined;

  // Figure 2, persistent state on all servers (records.ts).
  #term = 0;
  #votedFor: number | undefined;
  #log = new RaftLog(EMPTY_HEAD);

  // Volatile state on all servers.
  #role: Role = 'follower';
  #leader: number | undefined;
  /** Heard from the leader less than electionTimeoutMs ago (the `lease` timer ends it). */
  #leaseActive = false;
  /** This (pre-)campaign's votes. */
  #ballots: VoteSet<Uint8Array, Ballot> | undefined;
  /** The best commit proof known: this leader's own, or the last one a leader shipped. */
  #proof: CommitProof | undefined;
  /** The highest height a `commit` was output for (committed, or on its way). */
  #emitted = 0;
  readonly #validity = new Map<BlockId, 'pending' | 'valid' | 'invalid'>();
  /** Acknowledgements owed to the leader, sent once the entries they cover are executed. */
  #owedAcks: OwedAck[] = [];
  #elections = 0;

  // Volatile state on leaders, reinitialized after election.
  #progress: Progress | undefined;
  /** Acknowledgements of this term, per index, by block. */
  readonly #acks = new Map<number, VoteSet<Uint8Array, BlockId>>();
  #commitIndex = 0;
  /** The commitIndex the leader last asked every follower to acknowledge exactly (#advanceCommit). */
  #alignedAt = 0;
  /** The block being built, and heartbeats since it was asked for (a build the runtime dropped). */
  #building: { height: number; heartbeats: number } | undefined;
  #txsPending = false;

  // Reads (reads.ts): the leader's rounds, and this follower's reads forwarded to the leader.
  #reads: LeaderReads | undefined;
  /** Reads that arrived before this leader committed an entry of its term (§6.4 step 1). */
  #deferredReads: Array<{ id: number; from: number | undefined; mode: ReadMode }> = [];
  /** Forwarded reads by wire id: the runtime's id and the term they were asked in. */
  readonly #forwardedReads = new Map<number, { readonly id: number; readonly term: number }>();
  /**
   * Wire ids of forwarded reads: a random base per start, then a counter. The runtime numbers
   * reads from 1 on every start, so its ids would let an answer to a read asked before a restart —
   * delayed or duplicated on the wire, same term — serve a read asked after it, at an older index.
   */
  #nextWireRead: number;
  /**
   * Within an election timeout of starting, this node grants no vote (with CheckQuorum): it may
   * have heard from a leader just before it stopped, and that leader's lease counts on it.
   */
  #quietAfterStart = false;
  /**
   * The WAL lost records at start (consensus/types.ts): entries this node acknowledged up to this
   * height may be gone, so its log no longer vouches for them — it grants no vote and does not
   * campaign until its committed head passes this height (a lost acknowledgement can otherwise
   * elect a leader without a committed entry).
   */
  #lostUpTo: number | undefined;

  constructor(ctx: EngineContext, params: RaftParams, options: RaftEngineOptions = {}) {
    this.#ctx = ctx;
    this.#p = params;
    this.#validators = ctx.validators;
    this.#self = ctx.self;
    this.#unsafeCommitPreviousTerm = options.unsafeCommitPreviousTerm === true;
    this.#unsafeLocalReads = options.unsafeLocalReads === true;
    this.#unsafeSkipJoint = options.unsafeSkipJointConsensus === true;
    this.#nextWireRead = ctx.rng.derive('read-ids').int(WIRE_READ_STARTS) * WIRE_READS_PER_START;
    this.#default = new Membership(defaultConfig(this.#validators), this.#validators);
  }

  status(): EngineStatus {
    return {
      height: this.#log.head.height + 1,
      round: this.#term,
      step: this.#role,
      ...(this.#leader === undefined ? {} : { leader: this.#leader }),
      viewChanges: this.#elections,
    };
  }

  /** For tests and operators: the uncommitted log, and the leader's commitIndex. */
  inspect(): {
    term: number;
    votedFor: number | undefined;
    role: Role;
    lastIndex: number;
    /** The committed head's term. */
    headTerm: number;
    commitIndex: number;
    /** The configuration the log's last entry names (§6). */
    config: RaftConfig;
    /** The committed head's configuration. */
    committedConfig: RaftConfig;
    entries: ReadonlyArray<{ index: number; term: number; hash: Uint8Array }>;
  } {
    return {
      term: this.#term,
      votedFor: this.#votedFor,
      role: this.#role,
      lastIndex: this.#log.lastIndex,
      headTerm: this.#log.head.term,
      commitIndex: Math.max(this.#commitIndex, this.#emitted),
      config: this.#current().config,
      committedConfig: this.#membershipOf(this.#log.head.config).config,
      entries: this.#log.uncommitted.map((e) => ({ index: e.index, term: e.term, hash: e.hash })),
    };
  }

  step(input: EngineInput<RaftMessage>): EngineOutput<RaftMessage>[] {
    this.#out = [];
    switch (input.kind) {
      case 'start':
        this.#onStart(input.head, input.recovered);
        if (input.lost !== undefined && input.lost.upToHeight > input.head.height) {
          this.#lostUpTo = input.lost.upToHeight;
          this.#note('warn', 'WAL records lost: no votes until the chain passes them', {
            upToHeight: this.#lostUpTo,
          });
        }
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
        if (this.#started) this.#onRead(input.id, undefined, input.mode);
        else this.#out.push({ kind: 'read-failed', id: input.id, reason: 'consensus has not started' });
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
   * Restores term, vote and the uncommitted entries. An entry record that does not decode throws,
   * and the runtime halts: an acknowledged entry the node no longer holds could undo a commit.
   */
  #onStart(head: HeadInfo, recovered: ReadonlyMap<string, Uint8Array>): void {
    this.#started = true;
    this.#request = head.membership;
    const copies = STATE_KEYS.map((key) => recovered.get(key)).filter((b) => b !== undefined);
    for (const bytes of copies) {
      const s = decodeRecord(STATE_RECORD, bytes);
      if (s.term >= this.#term) {
        this.#term = s.term;
        this.#votedFor = s.votedFor;
      }
    }
    const stored: Array<{ key: string; entry: LogEntry }> = [];
    for (const [key, bytes] of recovered)
      if (key.startsWith(ENTRY_PREFIX))
        stored.push({ key, entry: logEntry(decodeRecord(ENTRY_RECORD, bytes)) });
    stored.sort((a, b) => a.entry.index - b.entry.index);
    // This node appended each stored entry while in its term or a later one. A term below them is
    // a state record lost with its copy: the term comes back from the entries, and the vote in it
    // counts as spent (unknown), so this node cannot vote twice in it.
    const entryTerm = Math.max(0, ...stored.map((e) => e.entry.term));
    if (entryTerm > this.#term) {
      this.#note('warn', 'state record lost: the term comes back from the entries, its vote as spent', {
        term: entryTerm,
      });
      this.#term = entryTerm;
      this.#votedFor = this.#self;
    }
    this.#log = new RaftLog(head);
    // The head's term (its engineData) bounds the term from below too: without records — a new
    // epoch's instance (ledger/staking), which starts on the last epoch's head — entries must
    // never go back below it. The vote in it counts as spent: this node may have cast it.
    if (this.#log.lastTerm > this.#term) {
      this.#term = this.#log.lastTerm;
      this.#votedFor = this.#self;
    }
    if (copies.length < STATE_KEYS.length && this.#term > 0) this.#persistState();
    for (const { key, entry } of stored) {
      const log = this.#log;
      if (
        entry.index > head.height &&
        entry.index === log.lastIndex + 1 &&
        equalBytes(entry.block.header.parentHash, log.lastHash)
      ) {
        this.#appendEntry(entry, { persist: false });
        continue;
      }
      // The head's own entry stays until the next commit (see #onCommitted). Below the head: the
      // chain store holds it. Above it but off the chain: a branch the chain did not take.
      if (entry.index !== head.height || !equalBytes(entry.hash, head.hash))
        this.#out.push({ kind: 'forget', key });
    }
    this.#emitted = head.height;
    this.#commitIndex = head.height;
    if (this.#p.checkQuorum && this.#self !== undefined) {
      this.#quietAfterStart = true;
      this.#arm('quiet', this.#p.electionTimeoutMs);
    }
    this.#note('info', 'start', {
      term: this.#term,
      head: head.height,
      entries: this.#log.uncommitted.length,
      ...(this.#log.lastConfig === undefined ? {} : { config: this.#current().describe() }),
    });
    this.#armElection();
  }

  // -- messages: the rules for all servers ----------------------------------------------------

  #onMessage(from: number, msg: RaftMessage, signature: Uint8Array): void {
    if (this.#validators.at(from) === undefined) return;
    // An observer only follows the leader's appends and commit notices.
    if (this.#self === undefined && msg.type !== 'append' && msg.type !== 'commit') return;
    // A read request or answer of another term changes no one's term: it is retried, or fails.
    if ((msg.type === 'read-request' || msg.type === 'read-index') && msg.term !== this.#term) return;
    if (msg.term > this.#term && !this.#adoptHigherTerm(from, msg)) return;
    if (msg.term < this.#term) {
      this.#answerStale(from, msg);
      return;
    }
    switch (msg.type) {
      case 'append':
        this.#onAppend(from, msg);
        break;
      case 'ack':
        this.#onAck(from, msg, signature);
        break;
      case 'reject':
        this.#onReject(from, msg);
        break;
      case 'vote-request':
        this.#onVoteRequest(from, msg);
        break;
      case 'vote':
        this.#onVote(from, msg, signature);
        break;
      case 'commit':
        this.#onCommitNotice(from, msg.proof);
        break;
      case 'read-probe':
        this.#onReadProbe(from, msg.seq);
        break;
      case 'read-echo':
        this.#onReadEcho(from, msg.seq);
        break;
      case 'read-request':
        if (from !== this.#self) this.#onRead(msg.id, from, 'linearizable');
        break;
      case 'read-index':
        {
          const read = this.#forwardedReads.get(msg.id);
          if (read === undefined || read.term !== msg.term) break; // not asked by this start
          this.#forwardedReads.delete(msg.id);
          this.#out.push({ kind: 'read-ready', id: read.id, index: msg.index });
        }
        break;
    }
  }

  /**
   * §5.1: a message of a higher term makes this node a follower in that term — with etcd's
   * exceptions. Returns whether the message is processed further.
   */
  #adoptHigherTerm(from: number, m: RaftMessage): boolean {
    if (m.type === 'vote-request') {
      // Thesis §9.6 (and etcd with CheckQuorum): within an election timeout of hearing from a
      // leader, a vote request neither gets a vote nor moves the term — so a node that was cut
      // off cannot depose a leader the others still hear from.
      if (this.#inLease() && (m.pre || this.#p.checkQuorum)) {
        this.#note('debug', 'ignoring a vote request while the leader is live', {
          from,
          term: m.term,
          pre: m.pre,
        });
        return false;
      }
      if (m.pre) return true; // a pre-vote changes no term
      this.#becomeFollower(m.term, undefined);
      return true;
    }
    // A granted pre-vote carries the term the candidate is about to run in, not the voter's.
    if (m.type === 'vote' && m.pre && m.granted) return true;
    const fromLeader = m.type === 'append' || m.type === 'commit' || m.type === 'read-probe';
    this.#becomeFollower(m.term, fromLeader ? from : undefined);
    return fromLeader;
  }

  /**
   * A message of an older term. AppendEntries and RequestVote are answered with the current term
   * (§5.1), so a stale leader or candidate steps down. With CheckQuorum this is also what frees a
   * node that ran ahead in term while its peers ignored its vote requests: the leader's next
   * heartbeat draws a reply in the higher term, and an election follows (etcd's "stuck candidate").
   */
  #answerStale(from: number, m: RaftMessage): void {
    if (this.#self === undefined || from === this.#self) return;
    if (m.type === 'append')
      this.#send(from, { type: 'reject', term: this.#term, index: m.prevIndex, hintIndex: 0, hintTerm: 0 });
    else if (m.type === 'vote-request')
      this.#send(from, { type: 'vote', term: this.#term, candidate: from, granted: false, pre: m.pre });
  }

  /** Whether the WAL loss at start still keeps this node from voting (see #lostUpTo). */
  #voteFenced(): boolean {
    if (this.#lostUpTo === undefined) return false;
    if (this.#log.head.height < this.#lostUpTo) return true;
    this.#lostUpTo = undefined;
    this.#note('info', 'the chain passed what the WAL lost: voting again', { head: this.#log.head.height });
    return false;
  }

  #inLease(): boolean {
    return (
      this.#quietAfterStart || (this.#leader !== undefined && (this.#role === 'leader' || this.#leaseActive))
    );
  }

  // -- roles ----------------------------------------------------------------------------------

  /** Follower of `leader` (if known) in `term` ≥ the current one; a new term clears the vote. */
  #becomeFollower(term: number, leader: number | undefined): void {
    invariant(term >= this.#term, () => `raft: term moving down from ${this.#term} to ${term}`);
    // Reads forwarded to another leader, or in another term, will not be answered.
    if (term > this.#term || leader !== this.#leader) this.#failForwardedReads('the leader changed');
    if (term > this.#term) {
      this.#term = term;
      this.#votedFor = undefined;
      this.#leaseActive = false;
      this.#persistState();
    }
    if (this.#role === 'leader') this.#stopLeading();
    this.#role = 'follower';
    this.#leader = leader;
    this.#ballots = undefined;
    this.#armElection();
  }

  #stopLeading(): void {
    for (const r of [...(this.#reads?.pending ?? []), ...this.#deferredReads])
      if (r.from === undefined) this.#readFailed(r.id, 'this node is no longer the leader');
    this.#reads = undefined;
    this.#deferredReads = [];
    this.#out.push({ kind: 'cancel-timer', timer: 'heartbeat' });
    this.#out.push({ kind: 'cancel-timer', timer: 'check-quorum' });
    this.#progress = undefined;
    this.#acks.clear();
    this.#building = undefined;
    this.#alignedAt = 0;
    this.#note('info', 'no longer leading', { term: this.#term });
  }

  /**
   * §5.2: a follower that hears from no leader for an election timeout starts an election: a new
   * term, a vote for itself (on disk first), RequestVote to everyone. With PreVote it first asks
   * whether it could win (for term + 1, changing nothing), and runs only if a majority says so.
   */
  #campaign(pre: boolean): void {
    const self = this.#self;
    invariant(self !== undefined, 'raft: an observer never campaigns');
    if (!pre) {
      this.#term++;
      this.#votedFor = self;
      this.#persistState();
      this.#elections++;
    }
    this.#failForwardedReads('no leader: an election is under way');
    this.#role = pre ? 'pre-candidate' : 'candidate';
    this.#leader = undefined;
    this.#leaseActive = false;
    this.#ballots = new VoteSet(this.#validators);
    this.#ballots.add(self, 'granted', new Uint8Array(0));
    this.#note('debug', pre ? 'pre-vote' : 'election', { term: this.#term + (pre ? 1 : 0) });
    this.#out.push({ kind: 'broadcast', msg: this.#voteRequest() });
    // §5.2: a split vote ends by the timeout (randomized anew), and the next election.
    this.#armElection();
    this.#arm('campaign-retry', this.#p.heartbeatMs);
    this.#tally();
  }

  #voteRequest(): RaftMessage {
    const pre = this.#role === 'pre-candidate';
    return { type: 'vote-request', term: pre ? this.#term + 1 : this.#term, ...this.#log.claim(), pre };
  }

  /**
   * §5.1: "servers retry RPCs if they do not receive a response in a timely manner" — every
   * heartbeat interval of a campaign, the request goes again to the voters that have not answered
   * (a lost request or reply would otherwise cost a whole election timeout; answers are idempotent).
   */
  #retryCampaign(): void {
    const b = this.#ballots;
    if (b === undefined || (this.#role !== 'pre-candidate' && this.#role !== 'candidate')) return;
    const msg = this.#voteRequest();
    for (const v of this.#validators.validators)
      if (!b.has(v.index) && v.index !== this.#self) this.#send(v.index, msg);
    this.#arm('campaign-retry', this.#p.heartbeatMs);
  }

  /**
   * A quorum of this log's configuration granting wins (both majorities, when joint); denials that
   * leave no quorum possible end the (pre-)campaign.
   */
  #tally(): void {
    const b = this.#ballots;
    if (b === undefined) return;
    const membership = this.#current();
    if (membership.hasQuorum(b.votesFor('granted').map((v) => v.validator))) {
      if (this.#role === 'pre-candidate') this.#campaign(false);
      else this.#becomeLeader();
    } else if (membership.blocksQuorum(b.votesFor('denied').map((v) => v.validator))) {
      this.#becomeFollower(this.#term, undefined);
    }
  }

  #becomeLeader(): void {
    const self = this.#self;
    invariant(self !== undefined && this.#role === 'candidate', 'raft: only a candidate becomes leader');
    this.#role = 'leader';
    this.#leader = self;
    this.#ballots = undefined;
    this.#progress = new Progress(this.#validators, self, this.#log.lastIndex);
    this.#reads = new LeaderReads(self);
    this.#acks.clear();
    this.#commitIndex = this.#emitted;
    this.#alignedAt = 0;
    this.#building = undefined;
    this.#out.push({ kind: 'cancel-timer', timer: 'election' });
    this.#out.push({ kind: 'cancel-timer', timer: 'lease' });
    this.#note('info', 'elected', { term: this.#term, lastIndex: this.#log.lastIndex });
    this.#arm('heartbeat', this.#p.heartbeatMs);
    if (this.#p.checkQuorum) this.#arm('check-quorum', this.#p.electionTimeoutMs);
    // §5.2: heartbeats at once, to establish authority; §8: an entry of the new term at once, so
    // that the entries of earlier terms commit with it (they never commit by counting, §5.4.2).
    this.#broadcastHeartbeat(this.#log.lastIndex);
    this.#maybeBuild();
  }

  // -- elections ------------------------------------------------------------------------------

  /**
   * RequestVote receiver (Figure 2, §5.2, §5.4.1): grant if this node has not voted for someone
   * else this term (and follows no leader in it), and the candidate's log is at least as
   * up-to-date. A pre-vote for a later term is granted on the log alone — it binds nothing.
   */
  #onVoteRequest(from: number, m: Extract<RaftMessage, { type: 'vote-request' }>): void {
    const self = this.#self;
    if (self === undefined || from === self) return; // own campaign: counted when it started
    const free = this.#votedFor === from || (this.#votedFor === undefined && this.#leader === undefined);
    const canVote = (free || (m.pre && m.term > this.#term)) && !this.#voteFenced();
    if (!canVote || !this.#log.isUpToDate(m.lastTerm, m.lastIndex)) {
      this.#send(from, { type: 'vote', term: this.#term, candidate: from, granted: false, pre: m.pre });
      return;
    }
    if (!m.pre) {
      // One vote per term, first come first served — on disk before the reply leaves.
      invariant(
        this.#votedFor === undefined || this.#votedFor === from,
        () => `raft: a second vote in term ${this.#term}`,
      );
      this.#votedFor = from;
      this.#persistState();
      this.#armElection();
    }
    this.#send(from, { type: 'vote', term: m.term, candidate: from, granted: true, pre: m.pre });
  }

  #onVote(from: number, m: Extract<RaftMessage, { type: 'vote' }>, signature: Uint8Array): void {
    const b = this.#ballots;
    if (b === undefined || m.candidate !== this.#self) return;
    const pre = this.#role === 'pre-candidate';
    if (m.pre !== pre) return; // a reply to another round
    if (m.term !== (pre && m.granted ? this.#term + 1 : this.#term)) return;
    b.add(from, m.granted ? 'granted' : 'denied', signature);
    this.#tally();
  }

  // -- replication: followers -----------------------------------------------------------------

  #onAppend(from: number, m: Append): void {
    if (this.#role === 'leader') {
      // Election Safety (§5.2): one leader per term — this is my own broadcast, looped back, and
      // I acknowledge it like everyone else (my ack counts in the certificate).
      if (from === this.#self)
        this.#owe(m.prevIndex + m.entries.length, m.entries.at(-1)?.hash ?? m.prevHash);
      else this.#note('warn', 'an append from another leader of my term', { from, term: m.term });
      return;
    }
    if (from === this.#self) return; // my own broadcast from when I led this term
    // §5.2: a candidate that hears from the leader of its term returns to follower.
    if (this.#role !== 'follower' || this.#leader !== from) this.#becomeFollower(this.#term, from);
    this.#heardFromLeader();
    if (m.proof !== undefined) this.#learnProof(m.proof);
    const result = this.#appendEntries(m);
    if ('hint' in result) {
      if (this.#self !== undefined)
        this.#send(from, {
          type: 'reject',
          term: this.#term,
          index: m.prevIndex,
          hintIndex: result.hint.index,
          hintTerm: result.hint.term,
        });
    } else {
      this.#owe(result.index, result.hash);
    }
    this.#tryCommit();
  }

  /**
   * AppendEntries receiver (Figure 2, rules 2–4): refuse an append whose previous entry this log
   * does not hold (by hash, which fixes the whole prefix); otherwise skip what is held, truncate at
   * the first conflicting entry, and append the rest. Returns what to acknowledge, or the hint.
   */
  #appendEntries(m: Append): { index: number; hash: Uint8Array } | { hint: { index: number; term: number } } {
    const log = this.#log;
    const head = log.head;
    if (!log.holds(m.prevIndex, m.prevHash))
      return { hint: log.findConflictByTerm(Math.min(m.prevIndex, log.lastIndex), m.prevTerm) };
    for (const e of m.entries) {
      const index = e.block.header.height;
      if (index <= head.height) continue; // committed here: the leader holds it too (§5.4.3)
      const held = log.entry(index);
      if (held !== undefined && equalBytes(held.hash, e.hash)) {
        this.#executeIfNeeded(held);
        continue;
      }
      if (held !== undefined) this.#truncate(index);
      if (!equalBytes(e.block.header.parentHash, log.lastHash) || e.term < log.lastTerm) {
        // Only a leader whose log lacks this node's committed head (or lies about terms) sends
        // this — a broken assumption elsewhere, not to be taken into this log.
        this.#note('warn', 'an append that does not extend the committed chain', { index });
        return { hint: { index: head.height, term: head.term } };
      }
      const entry = this.#asLogEntry(e);
      const illegal = this.#illegalConfig(entry);
      if (illegal !== undefined) {
        this.#note('warn', 'an append whose configuration step is not allowed', { index, reason: illegal });
        return { hint: { index: log.lastIndex, term: log.lastTerm } };
      }
      this.#appendEntry(entry, { persist: true });
    }
    const last = m.prevIndex + m.entries.length;
    // Everything in it is committed here already: acknowledge the head, which every leader holds.
    if (last < head.height) return { index: head.height, hash: head.hash };
    return { index: last, hash: m.entries.at(-1)?.hash ?? m.prevHash };
  }

  #asLogEntry(e: AppendEntry): LogEntry {
    const { block, hash, term } = e;
    const config = decodeEngineData(block.header.engineData).config;
    return { index: block.header.height, term, hash, id: blockId(hash), block, config };
  }

  /** §5.3: a conflicting entry and everything after it go — never a committed one. */
  #truncate(index: number): void {
    invariant(
      index > this.#emitted,
      () => `raft: a log conflict at ${index} would remove an entry committed up to ${this.#emitted}`,
    );
    for (const e of this.#log.truncateFrom(index)) {
      this.#out.push({ kind: 'forget', key: entryKey(e.index) });
      this.#validity.delete(e.id);
    }
    this.#owedAcks = this.#owedAcks.filter((a) => a.index < index);
  }

  /** Appends to the log, persists (unless restored from the WAL) and has the runtime execute it. */
  #appendEntry(e: LogEntry, o: { persist: boolean }): void {
    this.#log.append(e);
    if (o.persist)
      this.#out.push({
        kind: 'persist',
        key: entryKey(e.index),
        record: encodeRecord(ENTRY_RECORD, e.block),
      });
    this.#executeIfNeeded(e);
  }

  #executeIfNeeded(e: LogEntry): void {
    if (this.#validity.has(e.id)) return;
    this.#validity.set(e.id, 'pending');
    this.#out.push({ kind: 'execute', block: e.block, hash: e.hash });
  }

  #onExecuted(hash: Uint8Array, valid: boolean, code: ExecuteFailure | undefined): void {
    const id = blockId(hash);
    if (this.#validity.get(id) !== 'pending') return;
    if (valid) this.#validity.set(id, 'valid');
    else if (code === 'INVALID') {
      // A crash-fault leader does not propose invalid blocks; this node never acknowledges one.
      this.#validity.set(id, 'invalid');
      this.#note('warn', 'an entry failed execution', { hash: id.slice(0, 16) });
    } else this.#validity.delete(id); // may resolve later: executed again when the leader re-sends it
    this.#flushAcks();
    this.#tryCommit();
  }

  /** An acknowledgement of (`index`, `hash`) in this term, owed to the leader once executed. */
  #owe(index: number, hash: Uint8Array): void {
    if (this.#self === undefined) return;
    this.#owedAcks.push({ term: this.#term, index, hash });
    if (this.#owedAcks.length > MAX_OWED_ACKS) this.#owedAcks.shift();
    this.#flushAcks();
  }

  /**
   * Sends the acknowledgements whose entries are all executed (valid): an ack says the block is
   * held — persisted in an earlier or this very step — and valid here.
   */
  #flushAcks(): void {
    const leader = this.#leader;
    if (leader === undefined) return;
    const ready = this.#executedThrough();
    const sent = new Set<number>();
    const waiting: OwedAck[] = [];
    for (const a of this.#owedAcks) {
      if (a.term !== this.#term) continue;
      if (a.index > ready) waiting.push(a);
      else if (!sent.has(a.index)) {
        sent.add(a.index);
        this.#send(leader, { type: 'ack', term: a.term, index: a.index, hash: a.hash });
      }
    }
    this.#owedAcks = waiting;
  }

  /** The highest index up to which every uncommitted entry is executed and valid. */
  #executedThrough(): number {
    let through = this.#log.head.height;
    for (const e of this.#log.uncommitted) {
      if (this.#validity.get(e.id) !== 'valid') break;
      through = e.index;
    }
    return through;
  }

  #onCommitNotice(from: number, proof: CommitProof): void {
    if (from === this.#self || this.#role === 'leader') return;
    if (this.#role !== 'follower' || this.#leader !== from) this.#becomeFollower(this.#term, from);
    this.#heardFromLeader();
    this.#learnProof(proof);
    this.#tryCommit();
  }

  // -- commitment -----------------------------------------------------------------------------

  #learnProof(p: CommitProof): void {
    if (p.index > this.#log.head.height && p.index > (this.#proof?.index ?? 0)) this.#proof = p;
  }

  /**
   * Commits what the best proof covers, as far as this node holds and has executed it — in order,
   * one child of the committed head after another, each with its certificate: D's own, or an
   * ancestry proof through D.
   */
  #tryCommit(): void {
    const p = this.#proof;
    if (p === undefined || p.index <= this.#emitted) return;
    const d = this.#log.entry(p.index);
    if (d === undefined || !equalBytes(d.hash, p.hash)) return; // not holding the proven block yet
    if (!this.#usable(p, d)) return;
    const through = Math.min(p.index, this.#executedThrough());
    if (through <= this.#emitted) return;
    const log = this.#log;
    const head = log.head;
    // Each block below D is proven through D: its place in D's historyRoot, from the committed
    // history's frontier and the uncommitted blocks below D.
    const below = log.slice(head.height + 1, p.index - 1).map((e) => leafHash(e.hash));
    const history = new ExtendedTree(head.history, head.height + 1, below);
    for (let i = this.#emitted + 1; i <= through; i++) {
      const e = log.entry(i);
      invariant(e !== undefined, () => `raft: committing ${i}, which the log does not hold`);
      const certificate =
        i === p.index
          ? raftCertificate(p, d.block.header, i, e.hash)
          : raftCertificate(p, d.block.header, i, e.hash, history.inclusionProof(i, p.index));
      this.#out.push({ kind: 'commit', hash: e.hash, certificate });
    }
    this.#note('debug', 'commit', { through, by: p.index, term: p.term });
    this.#emitted = through;
  }

  /**
   * A proof commits only if it obeys the rule: acknowledgements from a majority, given in the
   * term of the acknowledged entry itself (§5.4.2). A leader's own proofs are built that way; a
   * shipped one is checked (signatures were checked where each ack arrived: the crash-fault model
   * trusts the leader to pass them on unchanged).
   */
  #usable(p: CommitProof, d: LogEntry): boolean {
    if (this.#role === 'leader' && this.#unsafeCommitPreviousTerm) return true;
    const violation = certificateRuleViolation(raftCertificate(p, d.block.header, d.index, d.hash), {
      chainId: this.#ctx.chainId,
      validators: this.#validators,
      ...(this.#ctx.epoch === undefined ? {} : { epoch: this.#ctx.epoch }),
    });
    if (violation === undefined) return true;
    this.#note('warn', 'ignoring a commit proof', { index: p.index, reason: violation });
    this.#proof = undefined;
    return false;
  }

  #onCommitted(head: HeadInfo): void {
    if (head.membership !== undefined && head.membership.seq !== this.#request?.seq) {
      this.#request = head.membership;
      this.#note('info', 'membership requested', {
        seq: head.membership.seq,
        voters: head.membership.voters.join(','),
        learners: head.membership.learners.join(','),
      });
    }
    const log = this.#log;
    const before = log.head;
    if (head.height <= before.height) {
      this.#maybeBuild();
      return;
    }
    const mine = this.#emitted >= head.height ? log.entry(head.height) : undefined;
    invariant(
      mine === undefined || equalBytes(mine.hash, head.hash),
      () => `raft: the chain committed another block at ${head.height} than this engine did`,
    );
    const { removed, abandoned } = log.advanceHead(head);
    for (const e of abandoned)
      invariant(e.index > this.#emitted, () => `raft: committed entry ${e.index} is off the committed chain`);
    // The chain store holds what it committed — but its last write may be unsynced: the head's own
    // entry stays in the WAL until the next commit, so a node whose chain loses that block (it
    // acknowledged it: a majority may count on it) comes back still holding it, uncommitted.
    if (before.height > 0) this.#out.push({ kind: 'forget', key: entryKey(before.height) });
    for (const e of removed) {
      if (!equalBytes(e.hash, head.hash)) this.#out.push({ kind: 'forget', key: entryKey(e.index) });
      this.#validity.delete(e.id);
    }
    this.#emitted = Math.max(this.#emitted, head.height);
    this.#commitIndex = Math.max(this.#commitIndex, head.height);
    for (const i of this.#acks.keys()) if (i <= head.height) this.#acks.delete(i);
    // §6: a leader that C_new leaves out manages the cluster until C_new is committed, then steps down.
    if (
      this.#role === 'leader' &&
      this.#self !== undefined &&
      !this.#committedMembership().isVoter(this.#self)
    ) {
      this.#note('info', 'the committed configuration has no vote for this leader: stepping down', {
        config: this.#committedMembership().describe(),
      });
      this.#becomeFollower(this.#term, undefined);
    }
    this.#serveDeferredReads();
    this.#maybeBuild();
    this.#tryCommit();
    this.#flushAcks();
  }

  // -- replication: the leader ----------------------------------------------------------------

  /**
   * A new entry of this term: the no-op at once (§8), then one per batch of transactions as long as
   * the pipeline has room (maxInflight entries beyond the commit point).
   */
  #maybeBuild(): void {
    if (this.#role !== 'leader' || this.#building !== undefined) return;
    const log = this.#log;
    const noop = log.lastTerm !== this.#term; // the term's first entry: always, whatever is uncommitted
    const change = noop ? undefined : this.#configChange();
    if (!noop && !this.#txsPending && change === undefined) return;
    if (!noop && log.lastIndex - this.#emitted >= this.#p.maxInflight) return;
    const config = change ?? this.#current().config;
    this.#building = { height: log.lastIndex + 1, heartbeats: 0 };
    this.#out.push({
      kind: 'build-block',
      height: log.lastIndex + 1,
      round: this.#term,
      parent: log.lastHash,
      engineData: encodeEngineData(
        this.#term,
        isDefaultConfig(config, this.#validators) ? undefined : config,
      ),
    });
  }

  /**
   * The configuration the next entry moves to, if one is due (config.ts nextConfig): only once this
   * leader has committed an entry of its term (etcd's guard for changes after an election), and
   * only one change at a time — none while an entry whose configuration differs from the
   * committed one is uncommitted (etcd's pendingConfIndex).
   */
  #configChange(): RaftConfig | undefined {
    const log = this.#log;
    if (log.termAt(this.#emitted) !== this.#term) return undefined;
    const committed = this.#committedMembership().config;
    if (log.uncommitted.some((e) => !sameConfig(this.#membershipOf(e.config).config, committed)))
      return undefined;
    let next = nextConfig(committed, this.#request);
    if (next === undefined) return undefined;
    if (this.#unsafeSkipJoint && next.outgoing !== undefined)
      next = { voters: next.voters, learners: next.learners };
    const bad = configViolation(next, this.#validators);
    if (bad !== undefined) {
      this.#note('warn', 'a membership request this engine cannot carry out', { reason: bad });
      return undefined;
    }
    return next;
  }

  #onBlockBuilt(height: number, round: number, hash: Uint8Array, block: Block): void {
    if (this.#role !== 'leader' || round !== this.#term || this.#building?.height !== height) return;
    this.#building = undefined;
    const log = this.#log;
    if (height !== log.lastIndex + 1 || !equalBytes(block.header.parentHash, log.lastHash)) return;
    const e = logEntry(block);
    const changes = !sameConfig(this.#membershipOf(e.config).config, this.#current().config);
    if (log.lastTerm === this.#term && block.txs.length === 0 && !changes) {
      this.#txsPending = false; // the mempool holds nothing the pipeline does not
      return;
    }
    invariant(equalBytes(e.hash, hash), 'raft: a built block hashes to what the runtime said');
    invariant(e.term === this.#term, 'raft: a built block carries the leader’s term');
    invariant(
      this.#illegalConfig(e) === undefined,
      () => `raft: a built block's configuration: ${this.#illegalConfig(e)}`,
    );
    if (changes)
      this.#note('info', 'configuration change appended', {
        index: e.index,
        config: this.#membershipOf(e.config).describe(),
      });
    this.#validity.set(e.id, 'valid'); // the runtime executed it to build it
    this.#appendEntry(e, { persist: true });
    // Sent once to everyone (observers follow from it); followers behind reject it and get repaired.
    this.#out.push({
      kind: 'broadcast',
      msg: this.#append(e.index - 1, [{ block: e.block, hash: e.hash, term: e.term }]),
    });
    this.#progress?.broadcast(e.index);
    this.#maybeBuild();
  }

  #append(prevIndex: number, entries: AppendEntry[]): Append {
    const prevHash = this.#log.hashAt(prevIndex);
    invariant(prevHash !== undefined, () => `raft: no hash for entry ${prevIndex}`);
    const base = {
      type: 'append',
      term: this.#term,
      prevIndex,
      prevHash,
      prevTerm: this.#log.termAt(prevIndex) ?? 0,
      entries,
    } as const;
    return this.#proof === undefined ? base : { ...base, proof: this.#proof };
  }

  #broadcastHeartbeat(at: number): void {
    this.#out.push({ kind: 'broadcast', msg: this.#append(at, []) });
  }

  #onAck(from: number, m: Extract<RaftMessage, { type: 'ack' }>, signature: Uint8Array): void {
    const progress = this.#progress;
    if (this.#role !== 'leader' || progress === undefined) return;
    progress.heardFrom(from);
    const log = this.#log;
    const known = log.hashAt(m.index);
    if (
      m.index > log.lastIndex ||
      (known === undefined ? m.index > log.head.height : !equalBytes(known, m.hash))
    ) {
      this.#note('warn', 'an acknowledgement of a block this leader does not hold', { from, index: m.index });
      return;
    }
    progress.acknowledged(from, m.index);
    const e = log.entry(m.index);
    if (m.index > log.head.height && e !== undefined) {
      let set = this.#acks.get(m.index);
      if (set === undefined) this.#acks.set(m.index, (set = new VoteSet(this.#validators)));
      set.add(from, e.id, signature);
    }
    this.#advanceCommit();
    this.#repairIfBehind(from);
  }

  /**
   * Figure 2 (rules for leaders, last) with §5.4.2: commitIndex moves to N once a majority of the
   * power has matchIndex ≥ N AND entry N is of the current term — an older-term entry commits
   * only with one of this term above it (Figure 8). The certificate needs the acknowledgements of
   * one block D ≤ N of this term from a majority; when the majority acknowledged different
   * indices (batches), every follower is asked to acknowledge N itself.
   */
  #advanceCommit(): void {
    const progress = this.#progress;
    invariant(progress !== undefined, 'raft: only a leader advances commitIndex');
    const n = this.#quorumMatch(progress);
    if (n > this.#commitIndex && (this.#log.termAt(n) === this.#term || this.#unsafeCommitPreviousTerm))
      this.#commitIndex = n;
    if (this.#commitIndex <= this.#emitted) return;
    const proof = this.#proofAt(this.#commitIndex);
    if (proof === undefined) {
      if (this.#alignedAt !== this.#commitIndex) {
        this.#alignedAt = this.#commitIndex;
        this.#broadcastHeartbeat(this.#commitIndex);
      }
      return;
    }
    if (proof.index <= (this.#proof?.index ?? 0)) return;
    this.#proof = proof;
    this.#tryCommit();
    this.#out.push({ kind: 'broadcast', msg: { type: 'commit', term: this.#term, proof } });
  }

  /**
   * The highest N whose configuration's quorum (the one in N's own header: it is what a certificate
   * is checked against) has matchIndex ≥ N.
   */
  #quorumMatch(progress: Progress): number {
    for (let n = this.#log.lastIndex; n > this.#commitIndex; n--)
      if (this.#membershipOf(this.#log.configAt(n)).hasQuorum(progress.matchedBy(n))) return n;
    return this.#commitIndex;
  }

  /**
   * The highest D ≤ n above the commit point whose acknowledgements in this term hold a quorum of
   * D's configuration.
   */
  #proofAt(n: number): CommitProof | undefined {
    for (let d = n; d > this.#emitted; d--) {
      const e = this.#log.entry(d);
      // Terms only grow along the log: below an older-term entry there is no current-term one.
      if (e === undefined || (e.term !== this.#term && !this.#unsafeCommitPreviousTerm)) return undefined;
      const acks = this.#acks.get(d);
      if (
        acks !== undefined &&
        this.#membershipOf(e.config).hasQuorum(acks.votesFor(e.id).map((v) => v.validator))
      )
        return {
          term: this.#term,
          index: d,
          hash: e.hash,
          acks: acks.votesFor(e.id).map((v) => ({ validator: v.validator, signature: v.vote })),
        };
    }
    return undefined;
  }

  /**
   * A failed consistency check (§5.3): back nextIndex off — with the follower's hint, to the last
   * index where this log's term is at most the term the follower has there (etcd) — and send the
   * entries from there. Rejects of appends broadcast while a repair is on its way are ignored.
   */
  #onReject(from: number, m: Extract<RaftMessage, { type: 'reject' }>): void {
    const progress = this.#progress;
    if (this.#role !== 'leader' || progress === undefined) return;
    progress.heardFrom(from);
    const f = progress.of(from);
    if (f === undefined || from === this.#self || m.index <= f.match) return; // stale
    if (f.repairAt !== undefined && f.repairAt !== m.index) return;
    // The follower holds an entry at hintIndex; at or below this leader's committed head, the
    // term search would only run into blocks this leader no longer holds — probe there instead.
    const log = this.#log;
    const probe = Math.max(
      log.findConflictByTerm(m.hintIndex, m.hintTerm).index,
      Math.min(m.hintIndex, log.head.height),
    );
    f.next = Math.max(f.match + 1, Math.min(m.index, probe + 1));
    f.repairAt = undefined;
    this.#sendRepair(from);
  }

  #repairIfBehind(to: number): void {
    const f = this.#progress?.of(to);
    if (f === undefined || to === this.#self || f.repairAt !== undefined) return;
    if (f.next <= this.#log.lastIndex) this.#sendRepair(to);
  }

  /** Figure 7: the entries from nextIndex on, after the entry before them; one repair in flight. */
  #sendRepair(to: number): void {
    const f = this.#progress?.of(to);
    const log = this.#log;
    if (f === undefined || f.next > log.lastIndex) return;
    if (log.hashAt(f.next - 1) === undefined) {
      // Behind the entries this leader still holds: the runtime's block sync catches it up.
      this.#note('debug', 'follower behind the retained log', { follower: to, next: f.next });
      return;
    }
    const entries: AppendEntry[] = [];
    let bytes = 0;
    for (const e of log.slice(f.next, Math.min(log.lastIndex, f.next + MAX_APPEND_ENTRIES - 1))) {
      const size = 1024 + e.block.txs.reduce((n, tx) => n + tx.length + 8, 0);
      if (entries.length > 0 && bytes + size > MAX_REPAIR_BYTES) break;
      entries.push({ block: e.block, hash: e.hash, term: e.term });
      bytes += size;
    }
    f.repairAt = f.next - 1;
    this.#send(to, this.#append(f.next - 1, entries));
  }

  #onHeartbeatTimer(): void {
    const progress = this.#progress;
    invariant(progress !== undefined, 'raft: a heartbeat without leading');
    progress.clearRepairs();
    if (this.#building !== undefined && ++this.#building.heartbeats > 2) this.#building = undefined;
    // While commitIndex waits for a certificate, the heartbeat asks for acknowledgements of it.
    this.#broadcastHeartbeat(this.#commitIndex > this.#emitted ? this.#commitIndex : this.#log.lastIndex);
    this.#maybeBuild();
    this.#arm('heartbeat', this.#p.heartbeatMs);
  }

  /** CheckQuorum: a leader that has not heard from a majority for an election timeout steps down. */
  #onCheckQuorum(): void {
    const progress = this.#progress;
    invariant(progress !== undefined, 'raft: check-quorum without leading');
    if (!progress.quorumActive(this.#current())) {
      this.#note('warn', 'check-quorum: no quorum heard from; stepping down', { term: this.#term });
      this.#becomeFollower(this.#term, undefined);
      return;
    }
    this.#arm('check-quorum', this.#p.electionTimeoutMs);
  }

  // -- reads (thesis §6.4; reads.ts) -----------------------------------------------------------

  /**
   * A read to confirm: this node's own (`from` undefined) or one a follower forwarded. A follower
   * forwards its own to the leader; the leader serves it at its commit index once that index is of
   * its own term (its no-op committed) — at once under a lease, else after a probe round.
   */
  #onRead(id: number, from: number | undefined, mode: ReadMode): void {
    if (this.#unsafeLocalReads && from === undefined) {
      this.#out.push({ kind: 'read-ready', id, index: this.#emitted });
      return;
    }
    if (this.#role !== 'leader') {
      if (from !== undefined) return; // forwarded to a node that no longer leads: the follower retries
      const leader = this.#leader;
      if (this.#self === undefined || leader === undefined) {
        this.#readFailed(
          id,
          this.#self === undefined ? 'an observer cannot confirm reads' : 'no leader known',
        );
        return;
      }
      const wire = this.#nextWireRead++;
      this.#forwardedReads.set(wire, { id, term: this.#term });
      this.#send(leader, { type: 'read-request', term: this.#term, id: wire });
      return;
    }
    if (this.#log.termAt(this.#emitted) !== this.#term) {
      this.#deferredReads.push({ id, from, mode });
      return;
    }
    const reads = this.#reads;
    invariant(reads !== undefined && this.#self !== undefined, 'raft: a leader keeps its reads');
    const index = Math.max(this.#commitIndex, this.#emitted);
    const now = this.#leaseClock();
    if (mode === 'lease' && now !== undefined && reads.leased(now)) {
      this.#readReady(id, from, index);
      return;
    }
    const seq = reads.probe(now);
    reads.register({ id, from, index, seq });
    this.#out.push({ kind: 'broadcast', msg: { type: 'read-probe', term: this.#term, seq } });
    this.#releaseReads(reads.echo(this.#self, seq, this.#leaseMs(), this.#current()));
  }

  #serveDeferredReads(): void {
    if (this.#role !== 'leader' || this.#log.termAt(this.#emitted) !== this.#term) return;
    const deferred = this.#deferredReads;
    this.#deferredReads = [];
    for (const r of deferred) this.#onRead(r.id, r.from, r.mode);
  }

  /** A probe from the leader this node follows in this term: it is a heartbeat too; echo it. */
  #onReadProbe(from: number, seq: number): void {
    if (from === this.#self || this.#role === 'leader') return;
    if (this.#role !== 'follower' || this.#leader !== from) this.#becomeFollower(this.#term, from);
    this.#heardFromLeader();
    if (this.#self !== undefined) this.#send(from, { type: 'read-echo', term: this.#term, seq });
  }

  #onReadEcho(from: number, seq: number): void {
    const reads = this.#reads;
    if (this.#role !== 'leader' || reads === undefined) return;
    this.#progress?.heardFrom(from);
    this.#releaseReads(reads.echo(from, seq, this.#leaseMs(), this.#current()));
  }

  #releaseReads(reads: ReadonlyArray<{ id: number; from: number | undefined; index: number }>): void {
    for (const r of reads) this.#readReady(r.id, r.from, r.index);
  }

  #readReady(id: number, from: number | undefined, index: number): void {
    if (from === undefined) this.#out.push({ kind: 'read-ready', id, index });
    else this.#send(from, { type: 'read-index', term: this.#term, id, index });
  }

  #readFailed(id: number, reason: string): void {
    this.#out.push({ kind: 'read-failed', id, reason });
  }

  #failForwardedReads(reason: string): void {
    for (const { id } of this.#forwardedReads.values()) this.#readFailed(id, reason);
    this.#forwardedReads.clear();
  }

  /** Leases need CheckQuorum (followers in a lease grant no vote) and the injected clock. */
  #leaseClock(): number | undefined {
    return this.#p.checkQuorum ? this.#ctx.monotonicMs?.() : undefined;
  }

  #leaseMs(): number | undefined {
    return this.#leaseClock() === undefined ? undefined : this.#p.electionTimeoutMs;
  }

  // -- timers ---------------------------------------------------------------------------------

  #onTimeout(timer: string, token: TimerToken | undefined): void {
    // The quiet period belongs to the start, not to a term: a node that moved to a later term
    // during it would otherwise stay quiet, and deny every vote, forever.
    if (timer === 'quiet') {
      this.#quietAfterStart = false;
      return;
    }
    if (!tokenIs(token, 0, this.#term)) return; // armed in an earlier term
    switch (timer) {
      case 'election':
        if (this.#voteFenced() || !this.#mayCampaign()) this.#armElection();
        // A node that campaigns only through a configuration it may fall back to always asks for
        // pre-votes first: cut off from a live leader, it must not depose it (thesis §4.2.3).
        else if (this.#role !== 'leader')
          this.#campaign(this.#p.preVote || !this.#current().isVoter(this.#self as number));
        break;
      case 'lease':
        this.#leaseActive = false;
        break;
      case 'campaign-retry':
        this.#retryCampaign();
        break;
      case 'heartbeat':
        if (this.#role === 'leader') this.#onHeartbeatTimer();
        break;
      case 'check-quorum':
        if (this.#role === 'leader') this.#onCheckQuorum();
        break;
    }
  }

  #arm(timer: string, afterMs: number): void {
    this.#out.push({ kind: 'set-timer', timer, afterMs, token: { height: 0, round: this.#term } });
  }

  /** §5.2: an election timeout drawn anew from [T, 2T) each time, so that split votes are rare. */
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

  // -- membership (config.ts) -----------------------------------------------------------------

  #membershipOf(config: RaftConfig | undefined): Membership {
    if (config === undefined) return this.#default;
    let m = this.#memberships.get(config);
    if (m === undefined) this.#memberships.set(config, (m = new Membership(config, this.#validators)));
    return m;
  }

  /** §6: the configuration this node decides with — its log's last entry's, committed or not. */
  #current(): Membership {
    return this.#membershipOf(this.#log.lastConfig);
  }

  #committedMembership(): Membership {
    return this.#membershipOf(this.#log.head.config);
  }

  /**
   * Whether this node campaigns: a voter of its log's configuration, or of one the log may still
   * fall back to until it commits further — the committed head's, or an uncommitted entry's. Ongaro's
   * thesis §4.2.2 (Figure 4.6): a server that C_new leaves out "should still start new elections,
   * as it might still be needed until the Cnew entry is committed" — when it alone holds C_new, the
   * voters that lack it still decide by C_old,new, need its vote, and it refuses them for their
   * shorter log: only it can lead, replicate C_new and commit it. Its own vote counts only where
   * its log's configuration names it a voter (#tally counts by #current()). etcd-io/raft gets the
   * same from switching configurations when they are applied, not appended.
   */
  #mayCampaign(): boolean {
    const self = this.#self;
    if (self === undefined) return false;
    if (this.#current().isVoter(self) || this.#committedMembership().isVoter(self)) return true;
    return this.#log.uncommitted.some((e) => this.#membershipOf(e.config).isVoter(self));
  }

  /** Why `e`'s configuration may not follow the log's last one (config.ts), or undefined. */
  #illegalConfig(e: LogEntry): string | undefined {
    if (e.config !== undefined) {
      const bad = configViolation(e.config, this.#validators);
      if (bad !== undefined) return bad;
    }
    if (this.#unsafeSkipJoint) return undefined;
    return transitionViolation(this.#current().config, this.#membershipOf(e.config).config);
  }

  // -- outputs --------------------------------------------------------------------------------

  #send(to: number, msg: RaftMessage): void {
    this.#out.push({ kind: 'send', to, msg });
  }

  #persistState(): void {
    const record = encodeRecord(STATE_RECORD, { term: this.#term, votedFor: this.#votedFor });
    for (const key of STATE_KEYS) this.#out.push({ kind: 'persist', key, record });
  }

  #note(level: 'debug' | 'info' | 'warn', message: string, fields?: Record<string, unknown>): void {
    this.#out.push({
      kind: 'log',
      level,
      message: `raft: ${message}`,
      ...(fields === undefined ? {} : { fields }),
    });
  }
}
