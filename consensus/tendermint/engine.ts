/**
 * Tendermint (Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus", 2018, Algorithm 1)
 * as a sans-I/O engine. The code mirrors the paper's "upon" rules: after every input, every rule
 * whose condition holds fires (each "for the first time" rule at most once), until none does.
 *
 * Values are blocks, identified by their hash; valid(v) is asynchronous (the runtime executes the
 * block), so rules that need validity wait for the `executed` input. Quorums are by voting power:
 * 2f+1 means > 2/3 of the total power, f+1 means > 1/3.
 *
 * Persisted before any vote of a step leaves: (height, round, step, lockedRound, lockedValue,
 * validRound, validValue). With the runtime's per-slot signing guard this means a validator never
 * votes against its lock nor signs two votes for one (height, round, step) after a crash.
 */

import { equalBytes } from '../../crypto/bytes.ts';
import { invariant, onlyTyped } from '../../crypto/errors.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import type { QuorumCertificate } from '../../ledger/certificate.ts';
import { asBytes, asList, asSafeUint, DecodeError, rlpEncode } from '../../ledger/codec.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import { type BlockId, blockId, hashOfBlockId } from '../block-id.ts';
import { ProposerSchedule } from '../proposer.ts';
import { decodeRecord, encodeRecord, type RecordSchema } from '../record.ts';
import { linearTimeout, tokenIs } from '../timeouts.ts';
import type {
  ConsensusEngine,
  EngineContext,
  EngineInput,
  EngineOutput,
  EngineStatus,
  HeadInfo,
  TimerToken,
} from '../types.ts';
import { NIL, type Nil, VoteSet } from '../vote-set.ts';
import { proposal, type TmMessage } from './messages.ts';

export interface TendermintParams {
  readonly timeoutProposeMs: number;
  readonly timeoutProposeDeltaMs: number;
  readonly timeoutPrevoteMs: number;
  readonly timeoutPrevoteDeltaMs: number;
  readonly timeoutPrecommitMs: number;
  readonly timeoutPrecommitDeltaMs: number;
  /** With an empty mempool, the round-0 proposer waits this long for transactions. */
  readonly emptyBlockIntervalMs: number;
  /** Pause after a commit before starting the next height (CometBFT's timeout_commit). */
  readonly blockIntervalMs: number;
  /**
   * Re-broadcast this round's own messages at this interval while the round lasts. The paper
   * assumes gossip that eventually delivers every message; over lossy links this is what provides it.
   */
  readonly rebroadcastMs: number;
}

export const TENDERMINT_DEFAULTS: TendermintParams = {
  timeoutProposeMs: 1000,
  timeoutProposeDeltaMs: 500,
  timeoutPrevoteMs: 500,
  timeoutPrevoteDeltaMs: 250,
  timeoutPrecommitMs: 500,
  timeoutPrecommitDeltaMs: 250,
  emptyBlockIntervalMs: 1000,
  blockIntervalMs: 0,
  rebroadcastMs: 1000,
};

type Step = 'propose' | 'prevote' | 'precommit';
const STEP_NUM: Record<Step, number> = { propose: 0, prevote: 1, precommit: 2 };

/** Rounds this far ahead of ours are ignored (bounds memory against Byzantine round spam). */
const MAX_ROUND_AHEAD = 64;
/** Messages buffered for the next height while this node finishes the current one. */
const MAX_BUFFERED = 4096;

/** What a prevote or precommit is for: a block, or nil. */
type Vote = BlockId | Nil;

interface Proposal {
  readonly block: Block;
  readonly hash: BlockId;
  readonly hashBytes: Uint8Array;
  readonly validRound: number;
}

/**
 * What survives a crash. Besides the round and the lock, the valid value keeps its justification
 * — the polka (2f+1 prevote signatures) — and, under its own key, its block: after a restart the
 * node can still re-propose it and relay the polka, without which no correct node would accept
 * the re-proposal and a round could stall forever.
 */
interface Persisted {
  height: number;
  round: number;
  step: number;
  lockedRound: number;
  lockedValue: Uint8Array;
  validRound: number;
  validValue: Uint8Array;
  polka: Array<{ validator: number; signature: Uint8Array }>;
  /**
   * Own votes of this round and the previous one. The re-broadcast carries them: a peer one round
   * behind needs them to reach the quorum (and the timeout) that moves it forward, and a restart
   * must not forget them — or honest nodes split across two rounds wait for each other forever.
   */
  votes: Array<{ round: number; step: number; id: Uint8Array }>;
}

const RECORD_KEY = 'state';
/**
 * A record for a height above the chain's (the chain lost an unsynced commit and catches up by
 * sync) is kept here until that height is reached, so that the lower heights' records cannot
 * overwrite it if the node crashes again meanwhile.
 */
const AHEAD_KEY = 'state-ahead';
/**
 * The last state of the height just decided, written with the next height's first record. A
 * validator whose chain loses that commit (an unsynced write, a disk restored from a backup)
 * re-enters the height it decided; without this record it would re-enter it with no lock and
 * could precommit another value in a later round — amnesia that, with one Byzantine peer, let two
 * blocks be decided at one height (found by `npm run test:long`, seed sweep-100693). With it, the
 * node resumes that height exactly as a node that never committed: locked where it was locked.
 */
const PREV_KEY = 'state-prev';
/**
 * The valid value's block, per height (`valid-block/<height>`): a record of each height kept above
 * (this height's, the one ahead, the decided one) must find its own block. One key for all of them
 * let re-entering a lower height (a lost commit) discard the block of the height above, and a
 * validator came back locked on a value whose block it no longer had — it could neither
 * re-propose it nor vote for anything else (found by `npm run test:long`, seed sweep-100515).
 */
const VALID_BLOCK_PREFIX = 'valid-block/';
/** Before per-height keys: read once, then forgotten. */
const LEGACY_VALID_BLOCK_KEY = 'valid-block';

/**
 * The state record (RECORD_KEY, AHEAD_KEY, PREV_KEY). Version 2 (before own votes were kept) lacks
 * the votes; version 3 adds them.
 */
const STATE_RECORD: RecordSchema<Persisted> = {
  name: 'tendermint state record',
  version: 3,
  alsoReads: [2],
  maxBytes: 1 << 20,
  encode: (p) => [
    p.height,
    p.round,
    p.step,
    p.lockedRound + 1,
    p.lockedValue,
    p.validRound + 1,
    p.validValue,
    p.polka.map((v) => [v.validator, v.signature]),
    p.votes.map((v) => [v.round, v.step, v.id]),
  ],
  decode: (f, version) => {
    if (f.length !== (version === 2 ? 8 : 9))
      throw new DecodeError('MALFORMED', `tendermint record v${version}: ${f.length} fields`);
    return {
      height: asSafeUint(f[0], 'height'),
      round: asSafeUint(f[1], 'round'),
      step: asSafeUint(f[2], 'step'),
      lockedRound: asSafeUint(f[3], 'lockedRound') - 1,
      lockedValue: asBytes(f[4], 'lockedValue'),
      validRound: asSafeUint(f[5], 'validRound') - 1,
      validValue: asBytes(f[6], 'validValue'),
      polka: asList(f[7], 'polka').map((v) => {
        const pair = asList(v, 'polka vote', 2);
        return {
          validator: asSafeUint(pair[0], 'validator'),
          signature: asBytes(pair[1], 'signature', { length: 64 }),
        };
      }),
      votes:
        f[8] === undefined
          ? []
          : asList(f[8], 'votes').map((v) => {
              const t = asList(v, 'own vote', 3);
              const step = asSafeUint(t[1], 'step');
              if (step !== 1 && step !== 2)
                throw new DecodeError('MALFORMED', `tendermint record: vote step ${step}`);
              return { round: asSafeUint(t[0], 'round'), step, id: asBytes(t[2], 'id') };
            }),
    };
  },
};

export class TendermintEngine implements ConsensusEngine<TmMessage> {
  readonly #ctx: EngineContext;
  readonly #p: TendermintParams;
  readonly #validators: ValidatorSet;
  readonly #proposers: ProposerSchedule;
  #out: EngineOutput<TmMessage>[] = [];

  // Algorithm 1 state.
  #height = 1;
  #round = 0;
  #step: Step = 'propose';
  #lockedValue: BlockId | undefined;
  #lockedRound = -1;
  #validValue: BlockId | undefined;
  #validRound = -1;
  #decided = false;
  #started = false;
  /** Records read at start for this height or above, applied when their height is reached. */
  #recovered: Persisted[] = [];
  /** Valid-value blocks read back from the WAL, by height, until their height is restored. */
  readonly #recoveredBlocks = new Map<number, Block>();

  #head: HeadInfo | undefined;
  readonly #proposals = new Map<number, Proposal>();
  readonly #proposalSigs = new Map<number, Uint8Array>();
  readonly #prevotes = new Map<number, VoteSet<Uint8Array, Vote>>();
  readonly #precommits = new Map<number, VoteSet<Uint8Array, Vote>>();
  /** Validators seen sending anything for a round (for the f+1 round-skip rule). */
  readonly #roundSenders = new Map<number, Set<number>>();
  readonly #blocks = new Map<BlockId, Block>();
  readonly #validity = new Map<BlockId, 'pending' | 'valid' | 'invalid'>();
  readonly #fired = new Set<string>();
  #buffered: Array<{ from: number; msg: TmMessage; signature: Uint8Array }> = [];
  #proposedInRound = -1;
  #buildingRound = -1;
  #txsPending = false;
  #waitingForTxs = false;
  #viewChanges = 0;
  /** Own messages of this height by round, for re-broadcast. */
  readonly #sent = new Map<number, TmMessage[]>();

  constructor(ctx: EngineContext, params: TendermintParams) {
    this.#ctx = ctx;
    this.#p = params;
    this.#validators = ctx.validators;
    this.#proposers = new ProposerSchedule(ctx.validators, ctx.leaderOverride);
  }

  status(): EngineStatus {
    return {
      height: this.#height,
      round: this.#round,
      step: this.#decided ? 'commit' : this.#step,
      leader: this.#proposers.proposer(this.#height, this.#round),
      viewChanges: this.#viewChanges,
    };
  }

  step(input: EngineInput<TmMessage>): EngineOutput<TmMessage>[] {
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
        if (this.#waitingForTxs) this.#proposeNow();
        else if (!this.#txsPending && this.#round === 0 && this.#step === 'propose') this.#armProposeForTxs();
        this.#txsPending = true;
        break;
      case 'block-built':
        this.#onBlockBuilt(input.height, input.round, input.hash, input.block);
        break;
      case 'executed':
        this.#validity.set(blockId(input.hash), input.valid ? 'valid' : 'invalid');
        break;
      case 'committed':
        this.#onCommitted(input.head);
        break;
    }
    if (this.#started && !this.#decided) this.#evaluate();
    return this.#out;
  }

  // -- lifecycle ------------------------------------------------------------------------------

  #onStart(head: HeadInfo, recovered: ReadonlyMap<string, Uint8Array>): void {
    this.#started = true;
    this.#head = head;
    this.#resetHeight(head.height + 1);
    this.#recovered = [];
    for (const key of [RECORD_KEY, AHEAD_KEY, PREV_KEY]) {
      const bytes = recovered.get(key);
      if (bytes === undefined) continue;
      // Unreadable, it would leave this node not knowing where it was locked: decoding throws and
      // the runtime halts (with the reason) rather than resume without the lock.
      const record = decodeRecord(STATE_RECORD, bytes);
      if (record.height < this.#height) continue;
      this.#recovered.push(record);
      if (key === RECORD_KEY && record.height > this.#height)
        this.#out.push({ kind: 'persist', key: AHEAD_KEY, record: bytes });
    }
    for (const [key, bytes] of recovered) {
      if (key !== LEGACY_VALID_BLOCK_KEY && !key.startsWith(VALID_BLOCK_PREFIX)) continue;
      let block: Block | undefined;
      try {
        block = decodeBlock(bytes);
      } catch (e) {
        onlyTyped(e);
        // a damaged record: the block can come again with its proposal
      }
      if (key === LEGACY_VALID_BLOCK_KEY) this.#out.push({ kind: 'forget', key });
      if (block !== undefined && block.header.height >= this.#height - 1)
        this.#recoveredBlocks.set(block.header.height, block);
      else if (key !== LEGACY_VALID_BLOCK_KEY) this.#out.push({ kind: 'forget', key });
    }
    this.#startRound(this.#restoreRecovered());
  }

  /**
   * If the state persisted before a crash is for the height we are entering, resume its round
   * with its lock and valid value. (The local chain may be behind that height — a lost unsynced
   * write — and catch up by sync: the record is applied when the height is reached.)
   */
  #restoreRecovered(): number {
    this.#recovered = this.#recovered.filter((x) => x.height >= this.#height);
    let r: Persisted | undefined;
    for (const x of this.#recovered)
      if (x.height === this.#height && (r === undefined || x.round > r.round)) r = x;
    if (r === undefined) return 0;
    this.#recovered = this.#recovered.filter((x) => x.height > this.#height);
    for (const v of r.votes) {
      if (v.round < r.round - 1) continue;
      const type = v.step === STEP_NUM.prevote ? 'prevote' : 'precommit';
      this.#remember({ type, height: this.#height, round: v.round, id: v.id });
    }
    this.#lockedRound = r.lockedRound;
    this.#lockedValue = r.lockedValue.length ? blockId(r.lockedValue) : undefined;
    this.#validRound = r.validRound;
    this.#validValue = r.validValue.length ? blockId(r.validValue) : undefined;
    if (this.#validValue !== undefined && this.#validRound >= 0) {
      const set = new VoteSet<Uint8Array, Vote>(this.#validators);
      for (const v of r.polka) set.add(v.validator, this.#validValue, v.signature);
      this.#prevotes.set(this.#validRound, set);
      const block = this.#recoveredBlocks.get(this.#height);
      if (block !== undefined && blockId(headerHash(block.header)) === this.#validValue) {
        this.#blocks.set(this.#validValue, block);
        this.#validity.set(this.#validValue, 'pending');
        this.#out.push({ kind: 'execute', block, hash: hashOfBlockId(this.#validValue) });
      }
    }
    for (const h of this.#recoveredBlocks.keys()) if (h <= this.#height) this.#recoveredBlocks.delete(h);
    return r.round;
  }

  #resetHeight(height: number): void {
    this.#height = height;
    this.#round = 0;
    this.#step = 'propose';
    this.#lockedValue = undefined;
    this.#lockedRound = -1;
    this.#validValue = undefined;
    this.#validRound = -1;
    this.#decided = false;
    this.#proposals.clear();
    this.#proposalSigs.clear();
    this.#prevotes.clear();
    this.#precommits.clear();
    this.#roundSenders.clear();
    this.#blocks.clear();
    this.#validity.clear();
    this.#fired.clear();
    this.#sent.clear();
    this.#proposedInRound = -1;
    this.#buildingRound = -1;
    this.#waitingForTxs = false;
  }

  #onCommitted(head: HeadInfo): void {
    if (head.height < this.#height) return;
    this.#head = head;
    for (const t of ['propose', 'propose-txs', 'prevote', 'precommit', 'empty-block', 'rebroadcast'])
      this.#out.push({ kind: 'cancel-timer', timer: t });
    this.#txsPending = false; // the runtime re-announces a non-empty mempool right after
    const next = head.height + 1;
    const replay = this.#buffered.filter((b) => b.msg.height === next);
    this.#buffered = [];
    // Keep the decided height's lock and votes until the next commit (see PREV_KEY): written in
    // the same fsynced batch as the next height's first record.
    if (head.height === this.#height)
      this.#out.push({ kind: 'persist', key: PREV_KEY, record: this.#record() });
    // The decided height's valid block goes with its record (PREV_KEY); the one before it is done.
    this.#out.push({ kind: 'forget', key: `${VALID_BLOCK_PREFIX}${head.height - 1}` });
    this.#resetHeight(next);
    const resumeRound = this.#restoreRecovered();
    this.#persist();
    if (this.#p.blockIntervalMs > 0 && resumeRound === 0) {
      this.#out.push({ kind: 'set-timer', timer: 'new-height', afterMs: this.#p.blockIntervalMs });
      this.#decided = true; // hold rules until the interval ends
      this.#buffered = replay;
      return;
    }
    this.#startRound(resumeRound);
    for (const b of replay) this.#onMessage(b.from, b.msg, b.signature);
  }

  // -- StartRound -----------------------------------------------------------------------------

  #proposer(round: number): number {
    return this.#proposers.proposer(this.#height, round);
  }

  #startRound(round: number): void {
    if (round > this.#round) this.#viewChanges += round - this.#round;
    this.#out.push({
      kind: 'log',
      level: 'debug',
      message: 'start round',
      fields: { height: this.#height, round },
    });
    this.#round = round;
    this.#step = 'propose';
    this.#waitingForTxs = false;
    this.#persist();
    if (this.#p.rebroadcastMs > 0)
      this.#out.push({ kind: 'set-timer', timer: 'rebroadcast', afterMs: this.#p.rebroadcastMs });
    if (this.#ctx.self !== undefined && this.#proposer(round) === this.#ctx.self) {
      if (this.#validValue !== undefined) {
        const block = this.#blocks.get(this.#validValue);
        // Re-propose the valid value (we may lack its body after a restart: then we stay silent).
        if (block !== undefined) this.#broadcastProposal(block, this.#validValue, this.#validRound);
      } else if (round === 0 && !this.#txsPending && this.#p.emptyBlockIntervalMs > 0) {
        this.#waitingForTxs = true;
        this.#out.push({ kind: 'set-timer', timer: 'empty-block', afterMs: this.#p.emptyBlockIntervalMs });
      } else {
        this.#proposeNow();
      }
    }
    // Round 0 allows for a proposer waiting up to the empty-block interval for transactions —
    // unless this node has some: its proposer, which gets them by gossip, has no reason to wait.
    const proposeTimeout =
      linearTimeout(this.#p.timeoutProposeMs, this.#p.timeoutProposeDeltaMs, round) +
      (round === 0 && !this.#txsPending ? this.#p.emptyBlockIntervalMs : 0);
    this.#out.push({
      kind: 'set-timer',
      timer: 'propose',
      afterMs: proposeTimeout,
      token: { height: this.#height, round },
    });
  }

  /**
   * Gossip: forward the messages we hold from others for the rounds that matter — the current
   * and previous round, and the valid value's round (its proposal and polka let every correct
   * node accept its re-proposal). Only when a round stalls (this runs on the re-broadcast timer).
   */
  #relayHeld(): void {
    const rounds = new Set([this.#round - 1, this.#round, this.#validRound].filter((r) => r >= 0));
    for (const r of rounds) {
      const prop = this.#proposals.get(r);
      const proposerOf = this.#proposer(r);
      if (
        prop !== undefined &&
        proposerOf !== this.#ctx.self &&
        (r === this.#round || r === this.#validRound)
      ) {
        const sig = this.#proposalSigs.get(r);
        if (sig !== undefined) {
          this.#out.push({
            kind: 'relay',
            from: proposerOf,
            msg: proposal(this.#height, r, prop.validRound, prop.block, prop.hashBytes),
            signature: sig,
          });
        }
      }
      for (const [type, sets] of [
        ['prevote', this.#prevotes],
        ['precommit', this.#precommits],
      ] as const) {
        const set = sets.get(r);
        if (set === undefined) continue;
        for (const v of set.all()) {
          if (v.validator === this.#ctx.self && r >= this.#round - 1) continue; // re-broadcast already
          const id = v.value === NIL ? new Uint8Array(0) : hashOfBlockId(v.value);
          this.#out.push({
            kind: 'relay',
            from: v.validator,
            msg: { type, height: this.#height, round: r, id },
            signature: v.vote,
          });
        }
      }
    }
  }

  #remember(msg: TmMessage): void {
    let list = this.#sent.get(msg.round);
    if (list === undefined) this.#sent.set(msg.round, (list = []));
    list.push(msg);
  }

  #proposeNow(): void {
    this.#waitingForTxs = false;
    if (
      this.#buildingRound === this.#round ||
      this.#proposedInRound === this.#round ||
      this.#head === undefined
    )
      return;
    this.#buildingRound = this.#round;
    this.#out.push({
      kind: 'build-block',
      height: this.#height,
      round: this.#round,
      parent: this.#head.hash,
      engineData: rlpEncode([this.#round]),
    });
  }

  #onBlockBuilt(height: number, round: number, hash: Uint8Array, block: Block): void {
    if (height !== this.#height || round !== this.#round || this.#step !== 'propose' || this.#decided) return;
    const id = blockId(hash);
    this.#blocks.set(id, block);
    this.#validity.set(id, 'valid');
    this.#broadcastProposal(block, id, -1);
  }

  #broadcastProposal(block: Block, id: BlockId, validRound: number): void {
    if (this.#proposedInRound === this.#round) return;
    this.#proposedInRound = this.#round;
    const msg = proposal(this.#height, this.#round, validRound, block, hashOfBlockId(id));
    this.#remember(msg);
    this.#out.push({ kind: 'broadcast', msg });
  }

  // -- messages -------------------------------------------------------------------------------

  #onMessage(from: number, msg: TmMessage, signature: Uint8Array): void {
    if (msg.height === this.#height + 1 || (msg.height === this.#height && this.#decided)) {
      if (this.#buffered.length < MAX_BUFFERED) this.#buffered.push({ from, msg, signature });
      return;
    }
    if (msg.height !== this.#height || msg.round > this.#round + MAX_ROUND_AHEAD) return;
    let senders = this.#roundSenders.get(msg.round);
    if (senders === undefined) this.#roundSenders.set(msg.round, (senders = new Set()));
    senders.add(from);
    switch (msg.type) {
      case 'proposal':
        this.#onProposal(from, msg, signature);
        break;
      case 'prevote':
      case 'precommit': {
        const sets = msg.type === 'prevote' ? this.#prevotes : this.#precommits;
        let set = sets.get(msg.round);
        if (set === undefined) sets.set(msg.round, (set = new VoteSet(this.#validators)));
        const value: Vote = msg.id.length === 0 ? NIL : blockId(msg.id);
        // A second vote of one validator in one slot is counted per value (the vote book caps
        // it); the runtime, which saw both envelopes, holds the verifiable evidence.
        set.add(from, value, signature);
        break;
      }
    }
  }

  #onProposal(from: number, msg: Extract<TmMessage, { type: 'proposal' }>, signature: Uint8Array): void {
    if (from !== this.#proposer(msg.round)) return; // only the round's proposer may propose
    if (msg.validRound >= msg.round || msg.validRound < -1) return;
    const id = blockId(msg.hash);
    const existing = this.#proposals.get(msg.round);
    // A second proposal for the round is equivocation: the runtime holds the evidence.
    if (existing !== undefined) return;
    if (
      msg.block.header.height !== this.#height ||
      (this.#head !== undefined && !equalBytes(msg.block.header.parentHash, this.#head.hash))
    ) {
      return;
    }
    this.#proposals.set(msg.round, {
      block: msg.block,
      hash: id,
      hashBytes: msg.hash,
      validRound: msg.validRound,
    });
    this.#proposalSigs.set(msg.round, signature);
    this.#blocks.set(id, msg.block);
    if (!this.#validity.has(id)) {
      this.#validity.set(id, 'pending');
      this.#out.push({ kind: 'execute', block: msg.block, hash: msg.hash });
    }
  }

  // -- timeouts -------------------------------------------------------------------------------

  #onTimeout(timer: string, token: TimerToken | undefined): void {
    if (timer === 'new-height') {
      this.#decided = false;
      const replay = this.#buffered.filter((b) => b.msg.height === this.#height);
      this.#buffered = this.#buffered.filter((b) => b.msg.height !== this.#height);
      this.#startRound(0);
      for (const b of replay) this.#onMessage(b.from, b.msg, b.signature);
      return;
    }
    if (timer === 'rebroadcast') {
      if (this.#decided) return;
      // This round's and the previous round's messages: a peer one round behind needs the
      // latter to reach the quorum (and the timeout) that moves it forward.
      for (const r of [this.#round - 1, this.#round])
        for (const msg of this.#sent.get(r) ?? []) this.#out.push({ kind: 'broadcast', msg });
      this.#relayHeld();
      this.#out.push({ kind: 'set-timer', timer: 'rebroadcast', afterMs: this.#p.rebroadcastMs });
      return;
    }
    if (timer === 'empty-block') {
      if (this.#waitingForTxs && this.#round === 0 && this.#step === 'propose') this.#proposeNow();
      return;
    }
    if (!tokenIs(token, this.#height, this.#round)) return;
    if ((timer === 'propose' || timer === 'propose-txs') && this.#step === 'propose') {
      // The timeout exists for a proposal that does not come, not for one we are still
      // validating (a big block): then the prevote waits for the execution result, which always
      // arrives, instead of voting nil and failing the round for everyone.
      const prop = this.#proposals.get(this.#round);
      if (prop !== undefined && this.#validity.get(prop.hash) === 'pending') return;
      this.#vote('prevote', NIL);
      this.#step = 'prevote';
      this.#persist();
    } else if (timer === 'prevote' && this.#step === 'prevote') {
      this.#vote('precommit', NIL);
      this.#step = 'precommit';
      this.#persist();
    } else if (timer === 'precommit') {
      this.#startRound(this.#round + 1);
    }
  }

  /**
   * Transactions arrived during round 0's propose step: the proposer, if it is up, has them too
   * (gossip) and proposes at once, so no proposal within the propose timeout from now means a
   * proposer that is down — nothing is gained by also waiting out its empty-block interval (a
   * validator back from a crash would otherwise hold every other one up for that long, again at
   * each of its turns while it catches up). A second timer: the longer one still stands, and the
   * first to fire ends the step.
   */
  #armProposeForTxs(): void {
    if (this.#p.emptyBlockIntervalMs <= 0) return;
    this.#out.push({
      kind: 'set-timer',
      timer: 'propose-txs',
      afterMs: linearTimeout(this.#p.timeoutProposeMs, this.#p.timeoutProposeDeltaMs, 0),
      token: { height: this.#height, round: 0 },
    });
  }

  #arm(timer: 'prevote' | 'precommit', afterMs: number): void {
    this.#out.push({
      kind: 'set-timer',
      timer,
      afterMs,
      token: { height: this.#height, round: this.#round },
    });
  }

  // -- the upon rules -------------------------------------------------------------------------

  #once(key: string): boolean {
    if (this.#fired.has(key)) return false;
    this.#fired.add(key);
    return true;
  }

  #vote(type: 'prevote' | 'precommit', value: Vote): void {
    if (this.#ctx.self === undefined) return;
    const id = value === NIL ? new Uint8Array(0) : hashOfBlockId(value);
    const msg: TmMessage = { type, height: this.#height, round: this.#round, id };
    this.#remember(msg);
    this.#out.push({ kind: 'broadcast', msg });
  }

  #valid(id: BlockId): boolean {
    return this.#validity.get(id) === 'valid';
  }

  #evaluate(): void {
    const quorum = this.#validators.quorumPower;
    for (let guard = 0; guard < 1000; guard++) {
      if (this.#decided || !this.#applyOneRule(quorum)) return;
    }
  }

  /** Fires the first applicable rule; returns whether one fired. */
  #applyOneRule(quorum: number): boolean {
    const h = this.#height;
    const r = this.#round;
    const prop = this.#proposals.get(r);
    const prevotes = this.#prevotes.get(r);
    const precommits = this.#precommits.get(r);

    // Decision (any round): PROPOSAL(h, r', v) and 2f+1 PRECOMMIT(h, r', id(v)) with valid(v).
    for (const [round, set] of this.#precommits) {
      const value = set.valueWith(quorum);
      if (value === undefined || value === NIL) continue;
      const block = this.#blocks.get(value);
      if (block === undefined) {
        // We know the decision but not the block: fetch by executing a proposal later, or sync.
        continue;
      }
      if (this.#validity.get(value) === undefined) {
        this.#validity.set(value, 'pending');
        this.#out.push({ kind: 'execute', block, hash: hashOfBlockId(value) });
        continue;
      }
      if (!this.#valid(value)) continue;
      const votes = set.votesFor(value);
      const certificate: QuorumCertificate = {
        kind: 'ed25519-quorum',
        height: h,
        blockHash: hashOfBlockId(value),
        round,
        votes: votes.map((v) => ({ validator: v.validator, signature: v.vote })),
      };
      this.#decided = true;
      for (const t of ['propose', 'prevote', 'precommit', 'empty-block', 'rebroadcast'])
        this.#out.push({ kind: 'cancel-timer', timer: t });
      this.#out.push({
        kind: 'log',
        level: 'debug',
        message: 'decided',
        fields: { height: h, round, hash: value.slice(0, 16) },
      });
      this.#out.push({ kind: 'commit', hash: hashOfBlockId(value), certificate });
      return true;
    }

    // Round skip: f+1 (by power) senders of round r' > r.
    for (const [round, senders] of this.#roundSenders) {
      if (round > r && this.#validators.powerOf(senders) >= this.#validators.oneHonestPower) {
        this.#startRound(round);
        return true;
      }
    }

    if (this.#step === 'propose' && prop !== undefined) {
      const v = prop.hash;
      if (prop.validRound === -1) {
        if (this.#validity.get(v) === 'pending') return false;
        const ok = this.#valid(v) && (this.#lockedRound === -1 || this.#lockedValue === v);
        this.#vote('prevote', ok ? v : NIL);
        this.#step = 'prevote';
        this.#persist();
        return true;
      }
      // PROPOSAL(h, r, v, vr) with 2f+1 PREVOTE(h, vr, id(v)), 0 ≤ vr < r.
      const vrVotes = this.#prevotes.get(prop.validRound);
      if (vrVotes !== undefined && vrVotes.powerFor(v) >= quorum) {
        if (this.#validity.get(v) === 'pending') return false;
        const ok = this.#valid(v) && (this.#lockedRound <= prop.validRound || this.#lockedValue === v);
        this.#vote('prevote', ok ? v : NIL);
        this.#step = 'prevote';
        this.#persist();
        return true;
      }
    }

    // 2f+1 PREVOTE(h, r, *) while step = prevote, first time: schedule OnTimeoutPrevote.
    if (
      this.#step === 'prevote' &&
      prevotes !== undefined &&
      prevotes.totalPower >= quorum &&
      this.#once(`pv-any:${r}`)
    ) {
      this.#arm('prevote', linearTimeout(this.#p.timeoutPrevoteMs, this.#p.timeoutPrevoteDeltaMs, r));
      return true;
    }

    // PROPOSAL(h, r, v) and 2f+1 PREVOTE(h, r, id(v)), valid(v), step ≥ prevote, first time.
    if (
      prop !== undefined &&
      prevotes !== undefined &&
      this.#step !== 'propose' &&
      prevotes.powerFor(prop.hash) >= quorum &&
      this.#valid(prop.hash)
    ) {
      if (this.#once(`pv-value:${r}`)) {
        if (this.#step === 'prevote') {
          // Locks only move up: a lock in a later round than the one being decided cannot exist.
          invariant(
            r >= this.#lockedRound,
            () => `tendermint: lock moves down from round ${this.#lockedRound} to ${r}`,
          );
          this.#lockedValue = prop.hash;
          this.#lockedRound = r;
          this.#vote('precommit', prop.hash);
          this.#step = 'precommit';
        }
        this.#validValue = prop.hash;
        this.#validRound = r;
        this.#out.push({
          kind: 'persist',
          key: `${VALID_BLOCK_PREFIX}${this.#height}`,
          record: encodeBlock(prop.block),
        });
        this.#persist();
        return true;
      }
    }

    // 2f+1 PREVOTE(h, r, nil) while step = prevote.
    if (this.#step === 'prevote' && prevotes !== undefined && prevotes.powerFor(NIL) >= quorum) {
      this.#vote('precommit', NIL);
      this.#step = 'precommit';
      this.#persist();
      return true;
    }

    // 2f+1 PRECOMMIT(h, r, *) first time: schedule OnTimeoutPrecommit.
    if (precommits !== undefined && precommits.totalPower >= quorum && this.#once(`pc-any:${r}`)) {
      this.#arm('precommit', linearTimeout(this.#p.timeoutPrecommitMs, this.#p.timeoutPrecommitDeltaMs, r));
      return true;
    }
    return false;
  }

  #persist(): void {
    this.#out.push({ kind: 'persist', key: RECORD_KEY, record: this.#record() });
  }

  /** The state a restart must resume from (see Persisted). */
  #record(): Uint8Array {
    const polka =
      this.#validValue === undefined
        ? []
        : (this.#prevotes.get(this.#validRound)?.votesFor(this.#validValue) ?? []).map((v) => ({
            validator: v.validator,
            signature: v.vote,
          }));
    const votes: Persisted['votes'] = [];
    for (const round of [this.#round - 1, this.#round])
      for (const m of this.#sent.get(round) ?? [])
        if (m.type === 'prevote' || m.type === 'precommit')
          votes.push({ round, step: STEP_NUM[m.type], id: m.id });
    return encodeRecord(STATE_RECORD, {
      height: this.#height,
      round: this.#round,
      step: STEP_NUM[this.#step],
      lockedRound: this.#lockedRound,
      lockedValue: this.#lockedValue === undefined ? new Uint8Array(0) : hashOfBlockId(this.#lockedValue),
      validRound: this.#validRound,
      validValue: this.#validValue === undefined ? new Uint8Array(0) : hashOfBlockId(this.#validValue),
      polka,
      votes,
    });
  }
}
