/**
 * Algorand's BA* (Gilad, Chen, Micali et al., SOSP 2017, §7 and Algorithms 3–9) as a sans-I/O
 * engine, over VRF sortition (sortition.ts), exact binomial selection (binomial.ts), chained seeds
 * (seed.ts) and committee thresholds (committee.ts).
 *
 * One height is one paper round. In it, proposers drawn by sortition propose blocks; after
 * λ_proposal every node takes the highest-priority valid block it holds and runs Reduction (two
 * steps) and BinaryBA* (the three-step loop with the common coin). A block returned at BinaryBA*'s
 * first step gets FINAL votes; with enough of them it is **final** and committed at once. A block
 * returned later is **tentative**: the node builds the next height on it, and commits it when a
 * descendant becomes final (its certificate proves the ancestor through its historyRoot).
 *
 * Deviations from the paper, and why:
 *  - The empty outcome is not an empty block in the chain: a block here carries its proposer's
 *    header fields (time, proposer, seed proof), which no two nodes would compute alike. Agreeing
 *    on "empty" ends the **period** (go-algorand's word): the height starts again at period p + 1,
 *    with fresh sortition (the step of every draw includes the period). MAXSTEPS without a result
 *    also ends the period, where the paper hangs until its recovery protocol (§8.2) runs.
 *  - Recovery from tentative forks (§8.2) is replaced by a rule a node applies whenever it sees
 *    it: the votes that make BinaryBA* return a block at some period (more than T·τ at a step
 *    b ≡ 1 mod 3), or FINAL votes, justify that block at its height; a node still deciding the
 *    height adopts it, and a node standing on another tentative block there moves to the one
 *    justified in the highest period. A block is committed only when final, or below a final one.
 *  - A proposal carries its block (no separate priority gossip): testnets are small.
 *  - Votes name the parent block, so a vote for another fork is never counted on this one.
 *
 * Safety argument (with the committee as stated by params.ts describeBound): an honest node votes
 * FINAL at a height only when it leaves that height, and never votes there again — across restarts
 * too (records.ts). Two passing sets of one step intersect in more than the faulty weight, so one
 * step never passes two values; a final block X at (h, p) and any other block justified or final
 * at h would need honest voters of both, which left or never reached h — impossible below the
 * bound. Liveness needs the honest weight alone to pass every threshold, and synchrony.
 */
import { equalBytes } from '../../crypto/bytes.ts';
import { invariant, onlyTyped } from '../../crypto/errors.ts';
import { vrf } from '../../crypto/vrf.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { ExtendedTree, leafHash } from '../../ledger/log/index.ts';
import type { Validator, ValidatorSet } from '../../ledger/validators.ts';
import { type BlockId, blockId, hashOfBlockId } from '../block-id.ts';
import { decodeRecord, encodeRecord } from '../record.ts';
import { linearTimeout } from '../timeouts.ts';
import type {
  ConsensusEngine,
  EngineContext,
  EngineInput,
  EngineOutput,
  EngineStatus,
  HeadInfo,
  TimerToken,
} from '../types.ts';
import { VoteSet } from '../vote-set.ts';
import { algorandCertificate } from './certificate.ts';
import {
  type AlgorandEngineData,
  type AlgorandMessage,
  type AlgorandProposal,
  type AlgorandVote,
  binaryStepIndex,
  decodeEngineData,
  encodeEngineData,
  MAX_PERIOD,
  nextSortitionSeed,
  STEP_FINAL,
  STEP_PROPOSAL,
  STEP_REDUCTION_ONE,
  STEP_REDUCTION_TWO,
  sortitionStep,
  stepName,
} from './messages.ts';
import { type AlgorandParams, type Committees, committees } from './params.ts';
import {
  BLOCK_KEY_PREFIX,
  type Phase,
  POSITION_KEY,
  POSITION_RECORD,
  type Position,
  TENTATIVE_BLOCK_RECORD,
  type TentativeBlockRecord,
  type TentativeEntry,
} from './records.ts';
import { genesisSeed, seedAlpha, seedFromProof } from './seed.ts';
import {
  commonCoin,
  comparePriority,
  priority,
  SortitionError,
  type SortitionRole,
  selectedCount,
  sortitionAlpha,
  verifySortition,
} from './sortition.ts';
import { rememberOwnVrf } from './vrf-memo.ts';

/** A vote's value: a block id, or the empty outcome. */
type Value = BlockId | typeof EMPTY;
const EMPTY = 'empty' as const;

/** Messages buffered for heights above the one being decided. */
const MAX_BUFFERED = 4096;
/** Heights ahead of ours whose messages are buffered. */
const MAX_HEIGHTS_AHEAD = 8;
/** Periods ahead of ours whose messages are counted. */
const MAX_PERIODS_AHEAD = 16;

interface CountedVote {
  readonly msg: AlgorandVote;
  readonly signature: Uint8Array;
  /** The VRF output, once the sortition proof was verified (for the common coin). */
  output?: Uint8Array;
  j?: number;
}

interface HeldProposal {
  readonly msg: AlgorandProposal;
  readonly signature: Uint8Array;
  readonly from: number;
  readonly priority: Uint8Array;
}

/** A tentative block this node stands on. */
type Standing = TentativeEntry & { readonly block: Block; readonly data: AlgorandEngineData };

/** Parent block facts a height needs: its hash, its own seed, and the seed its committees draw with. */
interface ParentInfo {
  readonly height: number;
  readonly hash: Uint8Array;
  readonly seed: Uint8Array;
  /** The sortition seed of the child height. */
  readonly childSortitionSeed: Uint8Array;
}

/** Everything about one height on one parent. */
class HeightState {
  readonly proposals = new Map<number, HeldProposal[]>();
  /**
   * Second proposals of a proposer (equivocation) kept because the votes chose their block: they
   * never compete, but are persisted and relayed with the block like any proposal.
   */
  readonly chosen = new Map<BlockId, HeldProposal>();
  /** `${period}/${step}` → votes. */
  readonly votes = new Map<string, VoteSet<CountedVote, Value>>();
  readonly blocks = new Map<BlockId, Block>();
  /** The highest-period justification seen: a block BinaryBA* returned or FINAL votes passed. */
  justified: { period: number; value: BlockId; final: boolean; b: number } | undefined;
  readonly height: number;
  readonly parent: ParentInfo;
  constructor(height: number, parent: ParentInfo) {
    this.height = height;
    this.parent = parent;
  }
}

/** The signed proposal of block `value` at a height: one that competed, or a chosen second one. */
function proposalFor(state: HeightState, value: BlockId): HeldProposal | undefined {
  for (const held of state.proposals.values())
    for (const p of held) if (blockId(p.msg.hash) === value) return p;
  return state.chosen.get(value);
}

export class AlgorandEngine implements ConsensusEngine<AlgorandMessage> {
  readonly #ctx: EngineContext;
  readonly #p: AlgorandParams;
  readonly #validators: ValidatorSet;
  readonly #c: Committees;
  #out: EngineOutput<AlgorandMessage>[] = [];
  #started = false;

  /** The committed head. */
  #head: HeadInfo | undefined;
  /** Tentative blocks above the committed head, by ascending height, each on the one below. */
  #tentative: Standing[] = [];
  /** Heights of the tentative chain and the one being decided (keyed by height). */
  readonly #states = new Map<number, HeightState>();
  readonly #validity = new Map<BlockId, 'pending' | 'valid' | 'invalid'>();
  /** Committed through this height already requested (commits in flight). */
  #committing = 0;

  // The height being decided.
  #height = 1;
  #period = 0;
  #phase: Phase = 'waiting';
  /** BinaryBA* step number b (1-based) while in 'binary'. */
  #b = 0;
  /** Reduction's output: BinaryBA*'s input `block_hash`. */
  #blockHash: Value = EMPTY;
  /** BinaryBA*'s current value r. */
  #r: Value = EMPTY;
  /** Own votes of this height, by `${period}/${step}` (re-broadcast while stalled). */
  readonly #ownVotes = new Map<string, AlgorandVote>();
  /** Own votes cast on leaving the previous height (laggards need them to finish it). */
  #leavingVotes: AlgorandVote[] = [];
  #buildingPeriod = -1;
  #proposedPeriod = -1;
  #buffered: Array<{ from: number; msg: AlgorandMessage; signature: Uint8Array }> = [];
  /** No vote or proposal at heights up to this (the WAL lost records, or a restart below its position). */
  #mutedThrough = 0;
  /** A position recovered from the WAL, above what the chain holds: resumed when reached. */
  #resumeAt: Position | undefined;
  #periodsAbandoned = 0;
  /** Own seed proof of the height being decided (one VRF evaluation per height). */
  #seedProof: { height: number; proof: Uint8Array; seed: Uint8Array } | undefined;

  constructor(ctx: EngineContext, params: AlgorandParams) {
    this.#ctx = ctx;
    this.#p = params;
    this.#validators = ctx.validators;
    this.#c = committees(params, ctx.validators);
  }

  status(): EngineStatus {
    return {
      height: this.#height,
      round: this.#period,
      step: this.#phase === 'binary' ? `binary-${this.#b}` : this.#phase,
      viewChanges: this.#periodsAbandoned,
    };
  }

  step(input: EngineInput<AlgorandMessage>): EngineOutput<AlgorandMessage>[] {
    this.#out = [];
    switch (input.kind) {
      case 'start':
        this.#onStart(input.head, input.recovered, input.lost?.upToHeight);
        break;
      case 'message':
        if (this.#started) this.#onMessage(input.from, input.msg, input.signature);
        break;
      case 'timeout':
        if (this.#started) this.#onTimeout(input.timer, input.token);
        break;
      case 'block-built':
        this.#onBlockBuilt(input.height, input.round, input.hash, input.block);
        break;
      case 'executed':
        this.#onExecuted(blockId(input.hash), input.valid);
        break;
      case 'committed':
        this.#onCommitted(input.head);
        break;
      case 'txs-available':
      case 'read':
        break;
    }
    if (this.#dirty) this.#persistPosition();
    return this.#out;
  }

  // -- lifecycle ------------------------------------------------------------------------------

  #onStart(head: HeadInfo, recovered: ReadonlyMap<string, Uint8Array>, lostUpTo: number | undefined): void {
    this.#started = true;
    this.#head = head;
    this.#committing = head.height;
    if (lostUpTo !== undefined) this.#mutedThrough = Math.max(this.#mutedThrough, lostUpTo);
    // Unreadable, it would leave this node not knowing which heights it left: decoding throws and
    // the runtime halts rather than resume without it.
    const bytes = recovered.get(POSITION_KEY);
    const position = bytes === undefined ? undefined : decodeRecord(POSITION_RECORD, bytes);
    const blocks = new Map<number, { block: Block; rec: TentativeBlockRecord }>();
    for (const [key, value] of recovered) {
      if (!key.startsWith(BLOCK_KEY_PREFIX)) continue;
      let held: { block: Block; rec: TentativeBlockRecord } | undefined;
      try {
        const rec = decodeRecord(TENTATIVE_BLOCK_RECORD, value);
        held = { block: decodeBlock(rec.block), rec };
      } catch (e) {
        onlyTyped(e); // a damaged block record: the block can come again (relays, sync)
      }
      if (held !== undefined && held.block.header.height > head.height)
        blocks.set(held.block.header.height, held);
      else this.#out.push({ kind: 'forget', key });
    }
    let target = { height: head.height + 1, period: 0 };
    if (position !== undefined && position.height === head.height + 1) target = position;
    else if (position !== undefined && position.height > head.height + 1) {
      // Stand on the recovered tentative chain again, if it still sits on the committed head.
      let parent = head.hash;
      const restored: Standing[] = [];
      for (const t of position.tentative.filter((x) => x.height > head.height)) {
        const block = blocks.get(t.height)?.block;
        if (block === undefined || !equalBytes(headerHash(block.header), t.hash)) break;
        if (!equalBytes(block.header.parentHash, parent)) break;
        restored.push({ ...t, block, data: decodeEngineData(block.header.engineData) });
        parent = t.hash;
      }
      if (restored.length === position.height - head.height - 1) {
        for (const t of restored) {
          // Its height's state holds the signed proposal again, to relay (see #rebroadcast).
          const state = new HeightState(t.height, this.#parentOf(t.height));
          const rec = (blocks.get(t.height) as { rec: TentativeBlockRecord }).rec;
          const msg: AlgorandProposal = {
            type: 'proposal',
            height: t.height,
            period: rec.period,
            block: t.block,
            hash: t.hash,
            proof: rec.proof,
          };
          state.proposals.set(rec.period, [
            { msg, signature: rec.signature, from: rec.from, priority: new Uint8Array(32) },
          ]);
          state.blocks.set(blockId(t.hash), t.block);
          this.#states.set(t.height, state);
          this.#tentative.push(t);
          this.#validity.set(blockId(t.hash), 'pending');
          this.#out.push({ kind: 'execute', block: t.block, hash: t.hash });
        }
        target = position;
      } else {
        // The chain lost blocks below the position: follow (block sync) without voting at heights
        // this node may have left, until the chain is back there.
        this.#resumeAt = position;
        this.#mutedThrough = Math.max(this.#mutedThrough, position.height - 1);
      }
    }
    this.#enterHeight(target.height, target.period, target === position ? position : undefined);
    if (this.#p.rebroadcastMs > 0)
      this.#out.push({ kind: 'set-timer', timer: 'rebroadcast', afterMs: this.#p.rebroadcastMs });
  }

  #onCommitted(head: HeadInfo): void {
    const before = this.#head;
    if (before === undefined || head.height <= before.height) return;
    this.#head = head;
    this.#committing = Math.max(this.#committing, head.height);
    for (const h of [...this.#votedPeriod.keys()]) if (h <= head.height) this.#votedPeriod.delete(h);
    const mine = this.#tentative.find((t) => t.height === head.height);
    if (mine !== undefined && equalBytes(mine.hash, head.hash)) {
      this.#tentative = this.#tentative.filter((t) => t.height > head.height);
      for (const h of [...this.#states.keys()]) if (h <= head.height) this.#states.delete(h);
      this.#forgetBlocksThrough(head.height);
      return;
    }
    // Block sync moved the head past the height being decided, or onto another block than the
    // tentative one here: start over on it.
    this.#tentative = [];
    this.#states.clear();
    this.#forgetBlocksThrough(head.height);
    this.#enterHeight(head.height + 1, (this.#votedPeriod.get(head.height + 1) ?? -1) + 1);
  }

  #forgetBlocksThrough(height: number): void {
    for (let h = height; h > height - 4 && h > 0; h--)
      this.#out.push({ kind: 'forget', key: `${BLOCK_KEY_PREFIX}${h}` });
  }

  // -- heights and periods ----------------------------------------------------------------------

  /** The parent of height `h`: the committed head or a tentative block. */
  #parentOf(h: number): ParentInfo {
    const head = this.#head;
    invariant(head !== undefined, 'algorand: no head before start');
    if (h - 1 === head.height) {
      if (head.height === 0) {
        const seed = genesisSeed(head.hash);
        return { height: 0, hash: head.hash, seed, childSortitionSeed: seed };
      }
      const data = decodeEngineData(head.engineData);
      return {
        height: head.height,
        hash: head.hash,
        seed: data.seed,
        childSortitionSeed: nextSortitionSeed(head.height, data, this.#p.seedRefresh),
      };
    }
    const t = this.#tentative.find((x) => x.height === h - 1);
    invariant(t !== undefined, () => `algorand: no tentative block at ${h - 1} under height ${h}`);
    return {
      height: t.height,
      hash: t.hash,
      seed: t.data.seed,
      childSortitionSeed: nextSortitionSeed(t.height, t.data, this.#p.seedRefresh),
    };
  }

  #stateOf(h: number): HeightState {
    const s = this.#states.get(h);
    invariant(s !== undefined, () => `algorand: no state for height ${h}`);
    return s;
  }

  #enterHeight(height: number, period: number, resume?: Position): void {
    if (height !== this.#height) {
      this.#ownVotes.clear();
      this.#periodSenders.clear();
      this.#seedProof = undefined;
    }
    this.#waitingFor = undefined;
    this.#height = height;
    if (!this.#states.has(height)) this.#states.set(height, new HeightState(height, this.#parentOf(height)));
    const replay = this.#buffered.filter((b) => b.msg.height === height);
    this.#buffered = this.#buffered.filter((b) => b.msg.height > height);
    const floor = this.#resumeAt;
    if (resume === undefined && floor !== undefined && floor.height <= height) {
      // Back at the height of a recovered position (block sync brought the chain there): resume
      // it exactly on the same parent; on another parent, its slots are taken — start above them.
      this.#resumeAt = undefined;
      if (floor.height === height) {
        const recordedParent = floor.tentative.find((t) => t.height === height - 1)?.hash;
        const parent = this.#stateOf(height).parent.hash;
        if (recordedParent === undefined || equalBytes(recordedParent, parent)) resume = floor;
        else period = Math.max(period, Math.min(floor.period + 1, MAX_PERIOD));
      }
    }
    this.#startPeriod(resume?.period ?? period, resume);
    for (const b of replay) this.#onMessage(b.from, b.msg, b.signature);
  }

  /** Starts a period, or (`resume`) goes back to where a recorded position was in it. */
  #startPeriod(period: number, resume?: Position): void {
    for (const p of [...this.#periodSenders.keys()]) if (p <= period) this.#periodSenders.delete(p);
    this.#stepSenders.clear();
    this.#latestBinaryStep.clear();
    if (period > this.#period && this.#phase !== 'waiting') this.#periodsAbandoned += period - this.#period;
    this.#period = period;
    this.#phase = 'propose';
    this.#b = 0;
    this.#blockHash = EMPTY;
    this.#r = EMPTY;
    this.#buildingPeriod = -1;
    this.#proposedPeriod = -1;
    this.#proposalWaitOver = false;
    this.#dirty = true;
    this.#note('debug', resume === undefined ? 'start period' : 'resume period', {
      height: this.#height,
      period,
      ...(resume === undefined
        ? {}
        : { step: resume.phase === 'binary' ? `binary-${resume.b}` : resume.phase }),
    });
    if (resume !== undefined && this.#resume(resume)) return;
    this.#arm('proposal', this.#grown(this.#p.proposalWaitMs), STEP_PROPOSAL);
    if (this.#maySign() && this.#proposedPeriod !== period) {
      const mine = this.#selfSortition('proposer', STEP_PROPOSAL);
      if (mine !== undefined && mine.j > 0) this.#build();
    }
    // Votes for this period that arrived early may already decide a step.
    this.#checkJustifications(this.#height);
  }

  /**
   * Back into a recorded step: the same registers, the same own votes (re-sent as they were: a VRF
   * proof is a function of its input), the step's timer re-armed. Whether it resumed past the
   * proposal wait (otherwise the period runs on from there, without proposing twice).
   */
  #resume(r: Position): boolean {
    const state = this.#stateOf(this.#height);
    this.#proposedPeriod = r.proposed ? r.period : -1;
    this.#b = r.b;
    const asValue = (v: Uint8Array): Value => (v.length === 0 ? EMPTY : blockId(v));
    this.#blockHash = asValue(r.blockHash);
    this.#r = asValue(r.r);
    if (this.#maySign()) {
      for (const v of r.votes) {
        const sel = this.#selfSortition('committee', v.step);
        if (sel === undefined || sel.j === 0) continue;
        const msg: AlgorandVote = {
          type: 'vote',
          height: this.#height,
          period: this.#period,
          step: v.step,
          parent: state.parent.hash,
          value: v.value,
          proof: sel.proof,
        };
        this.#ownVotes.set(`${this.#period}/${v.step}`, msg);
        this.#votedPeriod.set(this.#height, Math.max(this.#period, this.#votedPeriod.get(this.#height) ?? 0));
        this.#out.push({ kind: 'broadcast', msg });
      }
    }
    if (r.phase === 'propose') return false;
    // Waiting for a returned block: BinaryBA* returns again from the same step when its votes come
    // back (re-sent by their senders), with the same own votes.
    this.#phase = r.phase === 'waiting' ? 'binary' : r.phase;
    this.#arm('step', this.#stepMs(), this.#currentStep());
    this.#checkJustifications(this.#height);
    this.#progress();
    return true;
  }

  /**
   * λ_step and λ_proposal grow by a quarter per period (capped at 3×): a height whose periods keep
   * failing is one whose messages take longer than the waits, and longer waits let them arrive —
   * partial synchrony, as Tendermint's growing round timeouts. (Fixed waits left a height empty
   * for a whole minute of slow links in the simulator.)
   */
  #stepMs(): number {
    return this.#grown(this.#p.stepMs);
  }

  #grown(ms: number): number {
    return linearTimeout(ms, ms / 4, Math.min(this.#period, 8));
  }

  #maySign(): boolean {
    return this.#ctx.self !== undefined && this.#height > this.#mutedThrough;
  }

  #arm(timer: 'proposal' | 'step', afterMs: number, step: number): void {
    this.#out.push({
      kind: 'set-timer',
      timer,
      afterMs,
      token: { height: this.#height, round: sortitionStep(this.#period, step) },
    });
  }

  // -- proposing ------------------------------------------------------------------------------

  #build(): void {
    const state = this.#stateOf(this.#height);
    if (this.#buildingPeriod === this.#period) return;
    const seed = this.#ownSeed(state);
    if (seed === undefined) return;
    this.#buildingPeriod = this.#period;
    this.#out.push({
      kind: 'build-block',
      height: this.#height,
      round: this.#period,
      parent: state.parent.hash,
      engineData: encodeEngineData({
        period: this.#period,
        sortitionSeed: state.parent.childSortitionSeed,
        seed: seed.seed,
        seedProof: seed.proof,
      }),
    });
  }

  /** This node's seed for the height: its VRF on (parent's seed, height) — the same every time. */
  #ownSeed(state: HeightState): { seed: Uint8Array; proof: Uint8Array } | undefined {
    if (this.#seedProof?.height === state.height) return this.#seedProof;
    const prove = this.#ctx.signer.vrfProve;
    const key = this.#selfValidator()?.vrfPublicKey;
    if (prove === undefined || key === undefined) return undefined;
    const proof = prove(seedAlpha(state.parent.seed, state.height));
    const seed = seedFromProof(state.parent.seed, state.height, key, proof);
    invariant(seed !== undefined, 'algorand: own seed proof does not verify');
    this.#seedProof = { height: state.height, proof, seed };
    return this.#seedProof;
  }

  #onBlockBuilt(height: number, period: number, hash: Uint8Array, block: Block): void {
    if (height !== this.#height || period !== this.#period || this.#phase !== 'propose') return;
    if (this.#proposedPeriod === period || !this.#maySign()) return;
    const mine = this.#selfSortition('proposer', STEP_PROPOSAL);
    if (mine === undefined || mine.j === 0) return;
    this.#proposedPeriod = period;
    this.#dirty = true;
    const id = blockId(hash);
    this.#validity.set(id, 'valid');
    const msg: AlgorandProposal = { type: 'proposal', height, period, block, hash, proof: mine.proof };
    this.#out.push({ kind: 'broadcast', msg });
  }

  #selfValidator(): Validator | undefined {
    return this.#ctx.self === undefined ? undefined : this.#validators.at(this.#ctx.self);
  }

  /** This node's sortition for a step of the current period (undefined without a VRF key). */
  #selfSortition(
    role: SortitionRole,
    step: number,
    period = this.#period,
  ): { proof: Uint8Array; j: number } | undefined {
    const prove = this.#ctx.signer.vrfProve;
    const me = this.#selfValidator();
    if (prove === undefined || me === undefined) return undefined;
    const key = `${this.#height}/${period}/${step}/${role}`;
    const known = this.#ownProofs.get(key);
    if (known !== undefined) return known;
    const state = this.#stateOf(this.#height);
    const alpha = sortitionAlphaFor(state, period, step, role);
    const proof = prove(alpha);
    const output = vrf.proofToHash(proof);
    if (me.vrfPublicKey !== undefined) rememberOwnVrf(me.vrfPublicKey, proof, alpha, output);
    const sel = {
      proof,
      j: selectedCount(
        output,
        this.#weights(me, role === 'committee' && step === STEP_FINAL ? 'final' : role),
      ),
    };
    // One evaluation per (height, period, step, role): the proposer's is asked for twice.
    if (this.#ownProofs.size >= 64) this.#ownProofs.clear();
    this.#ownProofs.set(key, sel);
    return sel;
  }

  readonly #ownProofs = new Map<string, { proof: Uint8Array; j: number }>();

  #weights(v: Validator, role: SortitionRole | 'final') {
    const tau =
      role === 'proposer'
        ? this.#c.proposer
        : role === 'final'
          ? this.#c.final.expectedSize
          : this.#c.step.expectedSize;
    return { stake: v.power, totalStake: this.#validators.totalPower, expectedSize: tau };
  }

  // -- messages -------------------------------------------------------------------------------

  #onMessage(from: number, msg: AlgorandMessage, signature: Uint8Array): void {
    const head = this.#head;
    if (head === undefined || msg.height <= head.height) return;
    if (msg.height > this.#height) {
      if (msg.height <= this.#height + MAX_HEIGHTS_AHEAD && this.#buffered.length < MAX_BUFFERED)
        this.#buffered.push({ from, msg, signature });
      return;
    }
    const state = this.#states.get(msg.height);
    if (state === undefined) return;
    if (msg.height === this.#height) {
      if (msg.period > this.#period + MAX_PERIODS_AHEAD) return;
      // A node waiting for the block it returned has left the height: no new period there.
      if (msg.period > this.#period && this.#phase !== 'waiting' && this.#catchUp(from, msg.period)) return;
    }
    if (msg.type === 'proposal') this.#onProposal(state, from, msg, signature);
    else this.#onVote(state, from, msg, signature);
  }

  /**
   * Period catch-up: validators holding more than 1/3 of the power (at least one honest) speak in
   * a later period of this height — this one cannot pass without them, so move there (a period is
   * left without a result; safety never depends on staying, see the header). Whether the message
   * itself was handled (the catch-up re-delivers it).
   */
  #catchUp(from: number, period: number): boolean {
    let senders = this.#periodSenders.get(period);
    if (senders === undefined) this.#periodSenders.set(period, (senders = new Set()));
    senders.add(from);
    if (this.#validators.powerOf(senders) < this.#validators.oneHonestPower) return false;
    this.#note('debug', 'period catch-up', { height: this.#height, from: this.#period, to: period });
    this.#out.push({ kind: 'cancel-timer', timer: 'step' });
    this.#startPeriod(period);
    return false;
  }

  #onProposal(state: HeightState, from: number, msg: AlgorandProposal, signature: Uint8Array): void {
    if (!equalBytes(msg.block.header.parentHash, state.parent.hash)) return;
    const held = state.proposals.get(msg.period) ?? [];
    // A second proposal from one proposer is equivocation (the runtime has the evidence), and it
    // never competes for votes. But the votes may have chosen it rather than the one this node got
    // first: then its block is the one the height waits for, and only its relays can bring it.
    const second = held.some((p) => p.from === from);
    if (second && !this.#needsBlock(state, blockId(msg.hash))) return;
    const v = this.#validators.at(from);
    if (v?.vrfPublicKey === undefined) return;
    const why = this.#proposalViolation(state, v, msg);
    if (why !== undefined) {
      this.#invalid(from, msg, why);
      return;
    }
    const sel = this.#verifiedSelection(state, v, msg.period, STEP_PROPOSAL, 'proposer', msg.proof);
    if (sel === undefined || sel.j === 0) {
      this.#invalid(from, msg, 'a proposal without a proposer selection');
      return;
    }
    const mine: HeldProposal = { msg, signature, from, priority: priority(sel.output, sel.j) };
    if (second) {
      state.chosen.set(blockId(msg.hash), mine);
      this.#holdBlock(state, msg);
      this.#progress();
      return;
    }
    const best = held.every((p) => comparePriority(mine.priority, p.priority) > 0);
    held.push(mine);
    state.proposals.set(msg.period, held);
    // Gossip of the highest-priority block seen (§6): relayed on arrival, so that one lost copy
    // does not leave nodes choosing different blocks (Reduction would then end in the empty
    // outcome); lower ones are not passed on.
    if (best && from !== this.#ctx.self && state.height === this.#height && msg.period === this.#period)
      this.#out.push({ kind: 'relay', from, msg, signature });
    this.#holdBlock(state, msg);
    this.#progress();
  }

  /** Keeps a proposal's block for its height and has it executed once. */
  #holdBlock(state: HeightState, msg: AlgorandProposal): void {
    const id = blockId(msg.hash);
    state.blocks.set(id, msg.block);
    if (!this.#validity.has(id)) {
      this.#validity.set(id, 'pending');
      this.#out.push({ kind: 'execute', block: msg.block, hash: msg.hash });
    }
  }

  /** Whether the height's votes chose block `id` (justified, or waited for) and it is not held. */
  #needsBlock(state: HeightState, id: BlockId): boolean {
    if (state.blocks.has(id)) return false;
    if (state.justified?.value === id) return true;
    return state.height === this.#height && this.#waitingFor?.value === id;
  }

  /** A validly signed message that breaks a rule: evidence against its signer. */
  #invalid(from: number, msg: AlgorandMessage, detail: string): void {
    this.#out.push({
      kind: 'evidence',
      evidence: { type: 'invalid-message', validator: from, height: msg.height, round: msg.period, detail },
    });
  }

  /** Why a proposal's block cannot be this height's at this period: its engine data, checked. */
  #proposalViolation(state: HeightState, v: Validator, msg: AlgorandProposal): string | undefined {
    let data: AlgorandEngineData;
    try {
      data = decodeEngineData(msg.block.header.engineData);
    } catch (e) {
      return `engine data: ${onlyTyped(e).message}`;
    }
    if (data.period !== msg.period) return `block of period ${data.period} proposed in period ${msg.period}`;
    if (!equalBytes(data.sortitionSeed, state.parent.childSortitionSeed)) return 'wrong sortition seed';
    const seed = seedFromProof(state.parent.seed, state.height, v.vrfPublicKey as Uint8Array, data.seedProof);
    if (seed === undefined || !equalBytes(seed, data.seed)) return 'seed proof does not verify';
    return undefined;
  }

  #verifiedSelection(
    state: HeightState,
    v: Validator,
    period: number,
    step: number,
    role: SortitionRole,
    proof: Uint8Array,
  ): { output: Uint8Array; j: number } | undefined {
    try {
      return verifySortition(
        v.vrfPublicKey as Uint8Array,
        proof,
        {
          seed: state.parent.childSortitionSeed,
          round: state.height,
          step: sortitionStep(period, step),
          role,
        },
        this.#weights(v, role === 'committee' && step === STEP_FINAL ? 'final' : role),
      );
    } catch (e) {
      if (e instanceof SortitionError && e.code === 'SORTITION_BAD_PROOF') return undefined;
      throw e;
    }
  }

  #onVote(state: HeightState, from: number, msg: AlgorandVote, signature: Uint8Array): void {
    if (!equalBytes(msg.parent, state.parent.hash)) return; // a vote on another fork
    const v = this.#validators.at(from);
    if (v?.vrfPublicKey === undefined) return;
    const key = `${msg.period}/${msg.step}`;
    let set = state.votes.get(key);
    if (set === undefined) state.votes.set(key, (set = new VoteSet(this.#validators)));
    const value: Value = msg.value.length === 0 ? EMPTY : blockId(msg.value);
    const counted: CountedVote = { msg, signature };
    const r = set.add(from, value, counted, () => {
      const sel = this.#verifiedSelection(state, v, msg.period, msg.step, 'committee', msg.proof);
      if (sel === undefined || sel.j === 0) return false;
      counted.output = sel.output;
      counted.j = sel.j;
      return sel.j;
    });
    if (r.invalid) {
      this.#invalid(from, msg, `a ${stepName(msg.step)} vote without a committee selection`);
      return;
    }
    if (!r.added) return;
    this.#checkJustifications(state.height);
    if (state.height !== this.#height) return;
    if (msg.period === this.#period && msg.step >= binaryStepIndex(1) && msg.step < STEP_FINAL)
      this.#latestBinaryStep.set(from, Math.max(msg.step, this.#latestBinaryStep.get(from) ?? 0));
    if (this.#emptyReturnedPast(state, msg)) return;
    // Not once the period returned (waiting for its block): it is left, FINAL maybe voted.
    if (
      this.#phase !== 'waiting' &&
      msg.period === this.#period &&
      msg.step > this.#currentStep() &&
      msg.step < STEP_FINAL
    )
      this.#stepCatchUp(from, msg.step);
    this.#progress();
  }

  /**
   * Step catch-up: the paper's steps are synchronous (everyone times out together under strong
   * synchrony); here a restart or a late timeout leaves a node steps behind, where it never sees
   * a quorum again. When validators holding more than 1/3 of the power vote in a later BinaryBA*
   * step of this period, this node moves there with its value r (a node that had not finished
   * Reduction enters with the empty outcome). Skipping steps only withholds this node's votes in
   * them; FINAL, on which safety rests, is voted only on returning at the first step.
   */
  #stepCatchUp(from: number, step: number): void {
    if (step < binaryStepIndex(1) || step - 2 > this.#p.maxSteps) return;
    let senders = this.#stepSenders.get(step);
    if (senders === undefined) this.#stepSenders.set(step, (senders = new Set()));
    senders.add(from);
    if (this.#validators.powerOf(senders) < this.#validators.oneHonestPower) return;
    for (const s of [...this.#stepSenders.keys()]) if (s <= step) this.#stepSenders.delete(s);
    if (this.#phase !== 'binary') {
      this.#blockHash = EMPTY;
      this.#r = EMPTY;
    }
    this.#b = step - 2;
    this.#enterStep('binary', step, this.#r, this.#stepMs());
  }

  // -- executing ------------------------------------------------------------------------------

  #onExecuted(id: BlockId, valid: boolean): void {
    if (this.#validity.get(id) !== 'pending') return;
    this.#validity.set(id, valid ? 'valid' : 'invalid');
    if (!this.#started) return;
    for (const h of this.#states.keys()) this.#checkJustifications(h);
    this.#progress();
    this.#tryCommit();
  }

  // -- timeouts -------------------------------------------------------------------------------

  #onTimeout(timer: string, token: TimerToken | undefined): void {
    if (timer === 'rebroadcast') {
      this.#rebroadcast();
      this.#out.push({ kind: 'set-timer', timer: 'rebroadcast', afterMs: this.#p.rebroadcastMs });
      return;
    }
    if (token === undefined || token.height !== this.#height) return;
    if (timer === 'proposal') {
      if (this.#phase !== 'propose' || token.round !== sortitionStep(this.#period, STEP_PROPOSAL)) return;
      this.#proposalWaitOver = true;
      this.#progress();
      return;
    }
    if (timer !== 'step' || token.round !== sortitionStep(this.#period, this.#currentStep())) return;
    this.#stepTimedOut();
  }

  #proposalWaitOver = false;

  #currentStep(): number {
    switch (this.#phase) {
      case 'reduction-1':
        return STEP_REDUCTION_ONE;
      case 'reduction-2':
        return STEP_REDUCTION_TWO;
      case 'binary':
        return binaryStepIndex(this.#b);
      default:
        return STEP_PROPOSAL;
    }
  }

  // -- the protocol ---------------------------------------------------------------------------

  /** Moves the current height forward as far as what is held allows. */
  #progress(): void {
    for (let guard = 0; guard < 1000; guard++) if (!this.#advance()) return;
    invariant(false, 'algorand: the step loop did not settle');
  }

  /** One move; whether something happened. */
  #advance(): boolean {
    const state = this.#stateOf(this.#height);
    switch (this.#phase) {
      case 'waiting':
        return false;
      case 'propose': {
        if (!this.#proposalWaitOver) return false;
        // The highest-priority proposal held whose block is valid; wait while a better one validates.
        const held = [...(state.proposals.get(this.#period) ?? [])].sort((a, b) =>
          comparePriority(b.priority, a.priority),
        );
        let choice: Value = EMPTY;
        for (const p of held) {
          const validity = this.#validity.get(blockId(p.msg.hash));
          if (validity === 'pending') return false;
          if (validity === 'valid') {
            choice = blockId(p.msg.hash);
            break;
          }
        }
        this.#proposalWaitOver = false;
        this.#enterStep(
          'reduction-1',
          STEP_REDUCTION_ONE,
          choice,
          this.#grown(this.#p.blockWaitMs) + this.#stepMs(),
        );
        return true;
      }
      case 'reduction-1': {
        const won = this.#passed(state, this.#period, STEP_REDUCTION_ONE);
        if (won === undefined) return false;
        this.#enterStep('reduction-2', STEP_REDUCTION_TWO, won, this.#stepMs());
        return true;
      }
      case 'reduction-2': {
        const won = this.#passed(state, this.#period, STEP_REDUCTION_TWO);
        if (won === undefined) return false;
        this.#startBinary(won);
        return true;
      }
      case 'binary': {
        const won = this.#passed(state, this.#period, binaryStepIndex(this.#b));
        if (won === undefined) return false;
        this.#binaryResult(won);
        return true;
      }
    }
  }

  /** The value that passed a step's threshold, if any. */
  #passed(state: HeightState, period: number, step: number): Value | undefined {
    const needed = step === STEP_FINAL ? this.#c.final.needed : this.#c.step.needed;
    return state.votes.get(`${period}/${step}`)?.valueWith(needed);
  }

  #enterStep(phase: Phase, step: number, vote: Value, timeoutMs: number): void {
    this.#phase = phase;
    this.#dirty = true;
    this.#vote(step, vote);
    this.#arm('step', timeoutMs, step);
  }

  #startBinary(blockHash: Value): void {
    this.#blockHash = blockHash;
    this.#r = blockHash;
    this.#b = 1;
    this.#enterStep('binary', binaryStepIndex(1), this.#r, this.#stepMs());
  }

  /** CountVotes returned TIMEOUT for the current step. */
  #stepTimedOut(): void {
    const state = this.#stateOf(this.#height);
    // Never run ahead alone: a BinaryBA* step does not time out while validators are seen behind
    // it (their latest vote of this period is at an earlier step) and no more than 1/3 of the
    // power has voted in it — the others reach it instead. The paper's steps start together on
    // synchronized clocks; here a node that restarted or caught up can be steps ahead, and one that
    // kept timing out alone stayed ahead for the rest of the period, each side short of a quorum
    // (long sweep seed 100015). With nobody seen behind (votes lost), the step times out as usual.
    if (this.#phase === 'binary' && this.#aloneAhead(state)) {
      this.#arm('step', this.#stepMs(), this.#currentStep());
      return;
    }
    switch (this.#phase) {
      case 'reduction-1':
        // Reduction step 2 re-gossips the popular hash, or the empty outcome.
        this.#enterStep('reduction-2', STEP_REDUCTION_TWO, EMPTY, this.#stepMs());
        break;
      case 'reduction-2':
        this.#startBinary(EMPTY);
        break;
      case 'binary': {
        const phase = this.#b % 3;
        if (phase === 1) this.#r = this.#blockHash;
        else if (phase === 2) this.#r = EMPTY;
        else {
          const votes = state.votes.get(`${this.#period}/${binaryStepIndex(this.#b)}`);
          const verified = (votes?.all() ?? [])
            .map((v) => v.vote)
            .filter(
              (v): v is CountedVote & { output: Uint8Array; j: number } =>
                v.output !== undefined && v.j !== undefined,
            );
          this.#r =
            commonCoin(verified.map((v) => ({ output: v.output, j: v.j }))) === 0 ? this.#blockHash : EMPTY;
        }
        this.#nextBinaryStep();
        break;
      }
      default:
        return;
    }
    this.#progress();
  }

  /**
   * The empty outcome passed a step b ≡ 2 (mod 3) of this period that this node's own BinaryBA*
   * has gone past (its votes came late): the period returned empty for those who saw it, so end
   * it here too rather than run its remaining steps short of them. Ending a period casts no
   * FINAL vote: always safe. Whether it did.
   */
  #emptyReturnedPast(state: HeightState, msg: AlgorandVote): boolean {
    if (msg.period !== this.#period || msg.value.length !== 0 || this.#phase === 'waiting') return false;
    const b = msg.step - 2;
    if (msg.step >= STEP_FINAL || b < 1 || b % 3 !== 2 || this.#willCount(b)) return false;
    if (this.#passed(state, this.#period, msg.step) !== EMPTY) return false;
    this.#note('debug', 'the empty outcome passed a step already left: the period ends', {
      height: this.#height,
      period: this.#period,
      step: b,
    });
    this.#nextPeriod();
    return true;
  }

  #aloneAhead(state: HeightState): boolean {
    const step = this.#currentStep();
    const here = state.votes.get(`${this.#period}/${step}`)?.totalPower ?? 0;
    if (here >= this.#validators.oneHonestPower) return false;
    for (const [validator, latest] of this.#latestBinaryStep)
      if (validator !== this.#ctx.self && latest < step) return true;
    return false;
  }

  /** A value passed BinaryBA* step b (Algorithm 8's three cases). */
  #binaryResult(won: Value): void {
    const phase = this.#b % 3;
    if (phase === 1) {
      if (won !== EMPTY) {
        this.#return(won);
        return;
      }
      this.#r = EMPTY;
    } else if (phase === 2) {
      if (won === EMPTY) {
        this.#return(EMPTY);
        return;
      }
      this.#r = won;
    } else {
      this.#r = won;
    }
    this.#nextBinaryStep();
  }

  #nextBinaryStep(): void {
    if (this.#b >= this.#p.maxSteps) {
      this.#note('info', 'BinaryBA* reached MAXSTEPS: the period ends without a result', {
        height: this.#height,
        period: this.#period,
      });
      this.#nextPeriod();
      return;
    }
    this.#b += 1;
    this.#enterStep('binary', binaryStepIndex(this.#b), this.#r, this.#stepMs());
  }

  #nextPeriod(): void {
    invariant(this.#period < MAX_PERIOD, 'algorand: out of periods');
    this.#out.push({ kind: 'cancel-timer', timer: 'step' });
    this.#startPeriod(this.#period + 1);
  }

  /**
   * BinaryBA* returned `value` at step b: vote it in the next three steps (so laggards finish too),
   * and FINAL when b = 1; then the empty outcome ends the period, a block moves to the next height.
   */
  #return(value: Value): void {
    const b = this.#b;
    for (let s = b + 1; s <= Math.min(b + 3, this.#p.maxSteps); s++) this.#vote(binaryStepIndex(s), value);
    const finalVote = b === 1 && value !== EMPTY;
    if (finalVote) this.#vote(STEP_FINAL, value);
    this.#note('debug', 'BinaryBA* returned', {
      height: this.#height,
      period: this.#period,
      step: b,
      value: value === EMPTY ? 'empty' : value.slice(0, 16),
    });
    if (value === EMPTY) {
      this.#nextPeriod();
      return;
    }
    this.#leavingVotes = [...this.#ownVotes.values()].filter((m) => m.period === this.#period);
    this.#decideTentative(this.#height, this.#period, value, finalVote);
  }

  /**
   * Stands on `value` at height h (returned here, or justified by votes seen) and moves to h + 1,
   * once its block is held and valid; until then the node waits at h.
   */
  #decideTentative(h: number, period: number, value: BlockId, finalVoted: boolean): void {
    const state = this.#stateOf(h);
    const block = state.blocks.get(value);
    if (block === undefined || this.#validity.get(value) !== 'valid') {
      if (h === this.#height) {
        this.#phase = 'waiting';
        this.#waitingFor = { period, value, finalVoted };
        this.#out.push({ kind: 'cancel-timer', timer: 'step' });
        this.#dirty = true;
      }
      return;
    }
    this.#waitingFor = undefined;
    this.#out.push({ kind: 'cancel-timer', timer: 'step' });
    const just = state.justified;
    // Leaving the height on a block whose BinaryBA* first step passed (seen late: a timeout, a
    // relay): FINAL, as if it had returned there. Safety asks only that a FINAL voter leave the
    // height for good, which it does now (see the header); finality no longer needs every node
    // to have seen that step in time.
    if (
      !finalVoted &&
      h === this.#height &&
      just?.final !== true &&
      this.#passed(state, period, binaryStepIndex(1)) === value
    ) {
      const vote = this.#vote(STEP_FINAL, value, period);
      if (vote !== undefined) {
        finalVoted = true;
        this.#leavingVotes = [...this.#leavingVotes.filter((m) => m.height === h), vote];
      }
    }
    this.#note('debug', 'tentative', {
      height: h,
      period,
      value: value.slice(0, 16),
      ...(just === undefined ? {} : { justified: { period: just.period, b: just.b, final: just.final } }),
    });
    // Drop what stood at h and above (another tentative block at h, heights built on it).
    this.#tentative = this.#tentative.filter((t) => t.height < h);
    for (const k of [...this.#states.keys()]) if (k > h) this.#states.delete(k);
    this.#tentative.push({
      height: h,
      period,
      hash: hashOfBlockId(value),
      finalVoted,
      block,
      data: decodeEngineData(block.header.engineData),
    });
    const proposal = proposalFor(state, value);
    if (proposal !== undefined)
      this.#out.push({
        kind: 'persist',
        key: `${BLOCK_KEY_PREFIX}${h}`,
        record: encodeRecord(TENTATIVE_BLOCK_RECORD, {
          from: proposal.from,
          period: proposal.msg.period,
          signature: proposal.signature,
          proof: proposal.msg.proof,
          block: encodeBlock(block),
        }),
      });
    // On a new parent, votes at h + 1 start above any period voted there on the old one (the
    // double-sign guard would refuse them: one slot, other bytes).
    this.#enterHeight(h + 1, (this.#votedPeriod.get(h + 1) ?? -1) + 1);
    this.#tryCommit();
  }

  #waitingFor: { period: number; value: BlockId; finalVoted: boolean } | undefined;
  /** The highest period this node voted in, per height: a new parent there starts above it. */
  readonly #votedPeriod = new Map<number, number>();
  /** The position changed in this step: persisted once at its end, before its messages leave. */
  #dirty = false;
  /** Each validator's latest BinaryBA* step seen in the period being run (see #aloneAhead). */
  readonly #latestBinaryStep = new Map<number, number>();
  /** Who voted in BinaryBA* steps above the current one, in the period being run. */
  readonly #stepSenders = new Map<number, Set<number>>();
  /** Who spoke in periods above the current one, at the height being decided. */
  readonly #periodSenders = new Map<number, Set<number>>();

  /**
   * Justifications at height h (see the header): FINAL votes that pass, or a BinaryBA* step
   * b ≡ 1 (mod 3) passing a block. The highest period wins; a final one commits.
   */
  #checkJustifications(h: number): void {
    const state = this.#states.get(h);
    if (state === undefined) return;
    for (const [key, set] of state.votes) {
      const [period, step] = key.split('/').map(Number) as [number, number];
      const isFinal = step === STEP_FINAL;
      const b = step - 2;
      if (!isFinal && !(step >= binaryStepIndex(1) && b % 3 === 1)) continue;
      const value = set.valueWith(isFinal ? this.#c.final.needed : this.#c.step.needed);
      if (value === undefined || value === EMPTY) continue;
      const j = state.justified;
      if (j?.final === true) {
        if (j.value !== value && isFinal)
          this.#note('warn', 'two blocks final at one height: more faulty weight than the bound', {
            height: h,
          });
        continue;
      }
      if (j === undefined || period > j.period || (isFinal && (period === j.period || j.value === value)))
        state.justified = { period, value, final: isFinal, b: isFinal ? 0 : b };
      else if (!isFinal && period === j.period && value === j.value && b > j.b) j.b = b;
    }
    const j = state.justified;
    if (j === undefined) return;
    if (h === this.#height) {
      if (this.#waitingFor !== undefined) {
        // Waiting for a block: the one justified in the highest period is the one to wait for.
        if (j.value !== this.#waitingFor.value && j.period >= this.#waitingFor.period)
          this.#waitingFor = { period: j.period, value: j.value, finalVoted: false };
        const w = this.#waitingFor;
        this.#decideTentative(h, w.period, w.value, w.finalVoted);
      } else if (j.final || j.period !== this.#period || !this.#willCount(j.b)) {
        // Another period's result, FINAL votes, or a step of this period that this node's own
        // BinaryBA* has gone past (a partition kept its votes away) decides the height; a step
        // still ahead is left to the node's own run (it votes FINAL if it returns at step 1).
        this.#decideTentative(h, j.period, j.value, false);
      }
    } else {
      const mine = this.#tentative.find((t) => t.height === h);
      if (mine === undefined) return;
      if (blockId(mine.hash) !== j.value && (j.period > mine.period || j.final)) {
        if (mine.finalVoted) {
          this.#note('warn', 'a block justified against one this node voted FINAL for: not switching', {
            height: h,
            period: j.period,
          });
          return;
        }
        this.#decideTentative(h, j.period, j.value, false);
      }
    }
    this.#tryCommit();
  }

  /** Whether this node's own BinaryBA* of the current period will still count step b. */
  #willCount(b: number): boolean {
    return (
      this.#phase === 'propose' ||
      this.#phase.startsWith('reduction') ||
      (this.#phase === 'binary' && this.#b <= b)
    );
  }

  // -- committing -----------------------------------------------------------------------------

  /** Commits every tentative block up to the highest final one held and executed. */
  #tryCommit(): void {
    const head = this.#head;
    if (head === undefined) return;
    let finalIdx = -1;
    for (let i = this.#tentative.length - 1; i >= 0; i--) {
      const t = this.#tentative[i] as Standing;
      const j = this.#states.get(t.height)?.justified;
      // FINAL votes of the block's own period: what its certificate is checked against.
      if (j?.final === true && j.value === blockId(t.hash) && j.period === t.data.period) {
        finalIdx = i;
        break;
      }
    }
    if (finalIdx < 0) return;
    const d = this.#tentative[finalIdx] as Standing;
    if (d.height <= this.#committing) return;
    for (let i = 0; i <= finalIdx; i++)
      if (this.#validity.get(blockId((this.#tentative[i] as TentativeEntry).hash)) !== 'valid') return;
    const dState = this.#stateOf(d.height);
    const votes = (dState.votes.get(`${d.data.period}/${STEP_FINAL}`)?.votesFor(blockId(d.hash)) ?? []).map(
      (v) => ({ validator: v.validator, signature: v.vote.signature, proof: v.vote.msg.proof }),
    );
    const below = this.#tentative.filter((t) => t.height < d.height).map((t) => leafHash(t.hash));
    const history = new ExtendedTree(head.history, head.height + 1, below);
    for (let i = 0; i <= finalIdx; i++) {
      const t = this.#tentative[i] as Standing;
      if (t.height <= this.#committing) continue;
      const certificate =
        t.height === d.height
          ? algorandCertificate(d.block.header, votes, t.height, t.hash)
          : algorandCertificate(
              d.block.header,
              votes,
              t.height,
              t.hash,
              history.inclusionProof(t.height, d.height),
            );
      this.#out.push({ kind: 'commit', hash: t.hash, certificate });
    }
    this.#note('debug', 'final', { height: d.height, period: d.period, through: d.height });
    this.#committing = d.height;
  }

  // -- voting, persistence, gossip --------------------------------------------------------------

  #vote(step: number, value: Value, period = this.#period): AlgorandVote | undefined {
    if (!this.#maySign()) return undefined;
    const key = `${period}/${step}`;
    if (this.#ownVotes.has(key)) return undefined;
    const sel = this.#selfSortition('committee', step, period);
    if (sel === undefined || sel.j === 0) return undefined;
    const msg: AlgorandVote = {
      type: 'vote',
      height: this.#height,
      period,
      step,
      parent: this.#stateOf(this.#height).parent.hash,
      value: value === EMPTY ? new Uint8Array(0) : hashOfBlockId(value),
      proof: sel.proof,
    };
    this.#ownVotes.set(key, msg);
    this.#dirty = true;
    this.#votedPeriod.set(this.#height, Math.max(period, this.#votedPeriod.get(this.#height) ?? 0));
    this.#out.push({ kind: 'broadcast', msg });
    return msg;
  }

  /** Writes the position (once per step, before its messages leave: see records.ts). */
  #persistPosition(): void {
    this.#dirty = false;
    const floor = this.#resumeAt;
    if (floor !== undefined && floor.height > this.#height) {
      // Still below a recovered position: it stays the record until the chain is back there.
      this.#out.push({ kind: 'persist', key: POSITION_KEY, record: encodeRecord(POSITION_RECORD, floor) });
      return;
    }
    const bytes = (v: Value): Uint8Array => (v === EMPTY ? new Uint8Array(0) : hashOfBlockId(v));
    const position: Position = {
      height: this.#height,
      period: this.#period,
      tentative: this.#tentative.map(({ height, period, hash, finalVoted }) => ({
        height,
        period,
        hash,
        finalVoted,
      })),
      phase: this.#phase,
      b: this.#b,
      blockHash: bytes(this.#blockHash),
      r: bytes(this.#r),
      proposed: this.#proposedPeriod === this.#period,
      votes: [...this.#ownVotes.values()]
        .filter((m) => m.period === this.#period)
        .map((m) => ({ step: m.step, value: m.value })),
    };
    this.#out.push({ kind: 'persist', key: POSITION_KEY, record: encodeRecord(POSITION_RECORD, position) });
  }

  /**
   * While stalled: own votes of this height and those cast on leaving the last one, the best
   * proposal of this period, and the votes that justify the tentative block below (a node still
   * deciding that height adopts it from them).
   */
  #rebroadcast(): void {
    // Own votes of the step this node is in and the one before (a peer one step behind needs
    // them to pass its step), with those it cast leaving the last height; everything it voted in
    // this period and the previous one, and the best proposal, only while stalled — in the same
    // height and period as at the last tick (steps moved by timeouts are not progress). At n = 32
    // re-sending every own vote every tick was most of the traffic.
    const mark = `${this.#height}/${this.#period}`;
    const stalled = mark === this.#lastMark;
    this.#lastMark = mark;
    const step = this.#currentStep();
    for (const msg of this.#ownVotes.values()) {
      const recent = msg.period === this.#period && msg.step >= step - 1 && msg.step <= step;
      if (recent || (stalled && msg.period >= this.#period - 1)) this.#out.push({ kind: 'broadcast', msg });
    }
    for (const msg of this.#leavingVotes) this.#out.push({ kind: 'broadcast', msg });
    if (stalled) {
      const state = this.#states.get(this.#height);
      const best = [...(state?.proposals.get(this.#period) ?? [])].sort((x, y) =>
        comparePriority(y.priority, x.priority),
      )[0];
      if (best !== undefined)
        this.#out.push({ kind: 'relay', from: best.from, msg: best.msg, signature: best.signature });
    }
    // The tentative chain, from the bottom, whether stalled or not (a node behind needs it while
    // this one moves on tentatively): the votes of the step that justifies each block — a node
    // still deciding that height adopts it and climbs, the messages above being buffered — and its
    // FINAL votes so far, with the signed proposal.
    for (const t of this.#tentative.slice(0, MAX_HEIGHTS_AHEAD)) {
      const tState = this.#states.get(t.height);
      const just = tState?.justified;
      if (tState === undefined || just === undefined) continue;
      const keys = [`${just.period}/${STEP_FINAL}`];
      if (!just.final) keys.push(`${just.period}/${binaryStepIndex(just.b)}`);
      // This node's own votes among them too: they left with the height's own votes.
      for (const key of keys)
        for (const v of tState.votes.get(key)?.votesFor(just.value) ?? [])
          this.#out.push({ kind: 'relay', from: v.validator, msg: v.vote.msg, signature: v.vote.signature });
      const prop = proposalFor(tState, just.value);
      if (prop !== undefined)
        this.#out.push({ kind: 'relay', from: prop.from, msg: prop.msg, signature: prop.signature });
    }
  }

  /** Where the node stood at the last re-broadcast tick (see #rebroadcast). */
  #lastMark = '';

  #note(level: 'debug' | 'info' | 'warn', message: string, fields: Record<string, unknown>): void {
    this.#out.push({ kind: 'log', level, message, fields });
  }
}

function sortitionAlphaFor(
  state: HeightState,
  period: number,
  step: number,
  role: SortitionRole,
): Uint8Array {
  return sortitionAlpha({
    seed: state.parent.childSortitionSeed,
    round: state.height,
    step: sortitionStep(period, step),
    role,
  });
}
