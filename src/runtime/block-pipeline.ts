/**
 * The block pipeline of one runtime: what an engine's `build-block`, `execute`, `commit`, `mine`
 * and `cancel-mine` outputs do to the chain store. It keeps the blocks executed but not yet
 * committed (the parents later blocks are built and executed on), holds blocks timestamped past
 * this node's clock until it gets there, hands headers to the miner, and says when block sync was
 * served a certified block of a conflicting chain. Every result goes back to the engine as an
 * input (`step`); the runtime (runtime.ts) owns the engine, the epoch and the event queue, and
 * this module reaches them only through its context.
 */
import type { EngineInput, EngineModule, EngineOutput } from '../../consensus/types.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { invariant } from '../../crypto/errors.ts';
import { type Block, decodeHeader, encodeHeader, headerHash } from '../../ledger/block.ts';
import type { CommitCertificate } from '../../ledger/certificate.ts';
import { ChainError, type ChainStore, type ExecutedBlock } from '../../ledger/chain.ts';
import { nextHlc } from '../../ledger/hlc.ts';
import type { LedgerState } from '../../ledger/state.ts';
import type { BlockClock } from './clock-offset.ts';
import type { RuntimeEvent } from './event-queue.ts';
import { ExecutedBlocks } from './executed-blocks.ts';
import type { Mempool } from './mempool.ts';
import type { Logger, Timers } from './ports.ts';
import type { RuntimeOptions } from './runtime.ts';

/** Transactions in a block this node builds, by default (what a block may hold is ledger/block.ts's limit). */
export const DEFAULT_BUILD_MAX_TXS = 5000;
const DEFAULT_MAX_BLOCK_BYTES = 4 * 1024 * 1024;
/** How far past this clock a block may be timestamped, by default (the `[consensus] max_future_drift_ms` setting). */
export const DEFAULT_MAX_FUTURE_DRIFT_MS = 10_000;
/** Blocks from the future (see `#hold`): at most this far ahead, and this many at once. */
const MAX_HOLD_MS = 10 * 60_000;
const MAX_HELD = 64;
/**
 * A held block is looked at again at least this often: this clock may be corrected meanwhile
 * (BlockClock steers by the validators' median once 2f+1 have reported, which a node just started
 * on a clock 20 s behind has not), and then the block is due much sooner than first computed.
 */
const HOLD_RECHECK_MS = 1000;

/**
 * The busy share (RuntimeOptions.load) at or below which the block floor is `minBlockIntervalMs`,
 * and at or above which it is `busyBlockIntervalMs`; linear between. From bench:node on the 2-core
 * machine, four validators and the load generator: each validator's event loop was busy 0.13–0.27
 * at up to 1,000 tx/s offered, 0.29–0.47 at 3,000 and 0.36–0.53 at 4,000, where the machine is
 * saturated (ARCHITECTURE, block pacing).
 */
export const PACE_LOAD_LOW = 0.3;
export const PACE_LOAD_HIGH = 0.5;

/**
 * The floor under the block interval at `load` (0 to 1): `minMs` while the node is not busy,
 * stretching to `busyMs` as it saturates. Every block costs each validator a fixed amount of CPU
 * whatever it holds, so near saturation fewer, larger blocks leave more of the machine for
 * transactions; below it, waiting is only latency (once per block: HotStuff's certifying blocks are
 * not held, #certifiesPending). A
 * `minMs` of 0 turns pacing off, busy or not (the setting's documented meaning); a `busyMs`
 * below `minMs` is `minMs`; a load that is not a number counts as idle.
 */
export function blockFloorMs(minMs: number, busyMs: number, load: number): number {
  if (minMs <= 0 || busyMs <= minMs || !(load > PACE_LOAD_LOW)) return Math.max(0, minMs);
  const stretch = Math.min(1, (load - PACE_LOAD_LOW) / (PACE_LOAD_HIGH - PACE_LOAD_LOW));
  return Math.round(minMs + (busyMs - minMs) * stretch);
}

export type BuildRequest<M> = Extract<EngineOutput<M>, { kind: 'build-block' }>;

/** What the pipeline needs from its runtime. */
export interface BlockPipelineContext<M> {
  readonly options: Pick<
    RuntimeOptions<M>,
    | 'chain'
    | 'timers'
    | 'miner'
    | 'hooks'
    | 'maxBlockTxs'
    | 'maxBlockBytes'
    | 'minBlockIntervalMs'
    | 'busyBlockIntervalMs'
    | 'load'
    | 'maxFutureDriftMs'
    | 'afterBuild'
    | 'txVerifier'
  > & { readonly engine: Pick<EngineModule<M>, 'confirmations'> };
  /** EngineModule.certifyingDescendants for this chain's parameters (0: none). */
  readonly certifyingDescendants: number;
  readonly mempool: Mempool;
  readonly clock: BlockClock;
  readonly log: Logger;
  readonly counters: { blocksMined: number; certifiedForks: number };
  /** The epoch the current engine instance runs. */
  epoch(): number;
  /** This node's address in the current set, or undefined (it builds nothing then). */
  selfAddress(): Uint8Array | undefined;
  /** The committed head's state (cached by the runtime until the next commit). */
  headState(): Promise<LedgerState>;
  /** Gives the engine an input and carries out its outputs. */
  step(input: EngineInput<M>): Promise<void>;
  /** Queues work behind the events already waiting. */
  enqueue(fn: RuntimeEvent): void;
  /** Wraps `fn` to run only if the engine instance that asked for it is still the current one. */
  sameInstance<T>(fn: () => T): () => T | undefined;
  /** Everything that follows a commit (mempool, waiters, guard pruning, the engine's input). */
  afterCommit(executed: ExecutedBlock, certificate: CommitCertificate, bySync: boolean): Promise<void>;
}

export class BlockPipeline<M> {
  readonly #c: BlockPipelineContext<M>;
  readonly #chain: ChainStore;
  readonly #timers: Timers;
  /** Blocks executed but not committed (executed-blocks.ts). */
  readonly executed = new ExecutedBlocks();
  /** Blocks held until this clock catches up, and whether each is being looked at again now. */
  readonly #held = new Map<string, 'held' | 'rechecking'>();
  /** Counts build requests (see #build). */
  #buildGeneration = 0;
  /** Counts mining jobs: a solution of a job cancelled or replaced since is dropped. */
  #mineGeneration = 0;
  readonly #certifiedForkHeights = new Set<number>();

  constructor(context: BlockPipelineContext<M>) {
    this.#c = context;
    this.#chain = context.options.chain;
    this.#timers = context.options.timers;
  }

  #parentOf(hash: Uint8Array): { parent: ExecutedBlock | undefined; ok: boolean } {
    if (equalBytes(hash, this.#chain.headHash)) return { parent: undefined, ok: true };
    const p = this.executed.get(hash);
    return { parent: p, ok: p !== undefined };
  }

  /** The engine's `build-block`: a block of mempool transactions on the parent it names. */
  async build(req: BuildRequest<M>): Promise<void> {
    await this.#build(req, ++this.#buildGeneration, false);
  }

  /**
   * `generation`: the request's number — one held on a timer (for the clock, or the block
   * interval) is dropped when it fires if a later request came meanwhile: the engine has moved
   * on, and building the old one would cost a block's execution and could take the later one's
   * timer. `paced`: it already waited out the block interval (see #paceWaitMs).
   */
  async #build(req: BuildRequest<M>, generation: number, paced: boolean): Promise<void> {
    if (generation !== this.#buildGeneration) return;
    const chain = this.#chain;
    const proposer = this.#c.selfAddress();
    if (proposer === undefined) return;
    const { parent, ok } = this.#parentOf(req.parent);
    if (!ok) {
      this.#c.log.warn('cannot build block: unknown parent', {
        height: req.height,
        parent: toHex(req.parent),
      });
      return;
    }
    const parentHeader = parent?.block.header ?? chain.head;
    const clockWait = this.#c.clock.stampWaitMs(parentHeader.time.ms);
    if (clockWait > 0) {
      // Just started, on a clock past the parent's by more than the drift bound: compare it with the peers' first (the
      // latest build request wins; the engine's own timeouts go on meanwhile).
      // (The instance is captured now, and checked when the timer fires.)
      const again = this.#c.sameInstance(() => this.#build(req, generation, paced));
      this.#timers.set('build-clock', Math.min(clockWait, 250), () => this.#c.enqueue(again));
      return;
    }
    const paceWait = paced ? 0 : this.#paceWaitMs(req, parentHeader.time.ms);
    // A block its parent's commit waits for goes out now, empty (see #certifiesPending).
    const certifying = paceWait > 0 && this.#certifiesPending(parent);
    if (paceWait > 0 && !certifying) {
      // As for the clock: the latest request wins, and the engine's timeouts go on meanwhile.
      const again = this.#c.sameInstance(() => this.#build(req, generation, true));
      this.#timers.set('build-pace', paceWait, () => this.#c.enqueue(again));
      return;
    }
    if (parent !== undefined) this.executed.pin(parent.hash);
    if (req.height !== parentHeader.height + 1) {
      this.#c.log.warn('cannot build block: height does not follow parent', { height: req.height });
      return;
    }
    const exclude = new Set<string>();
    for (let p = parent; p !== undefined && p.block.header.height > chain.height; p = p.parent) {
      for (const t of p.txs) exclude.add(t.idKey); // the mempool's key for an id
    }
    const state = parent?.state ?? (await this.#c.headState());
    const epoch = this.#c.epoch();
    const o = this.#c.options;
    // Above its epoch's last block an engine only finishes certifying that block: no transactions.
    const txs =
      req.empty || certifying || chain.isSuffix(req.height, epoch)
        ? []
        : await this.#c.mempool.select({
            maxTxs: o.maxBlockTxs ?? DEFAULT_BUILD_MAX_TXS,
            maxBytes: o.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES,
            nonceAt: async (addr) => (await state.getAccount(addr)).nonce,
            exclude,
          });
    const time = nextHlc(parentHeader.time, this.#c.clock.now());
    let executed: ExecutedBlock;
    try {
      executed = await chain.propose({
        txs,
        time,
        proposer,
        engineData: req.engineData,
        epoch,
        ...(parent === undefined ? {} : { parent }),
      });
    } catch (e) {
      // No set for it (a suffix of an epoch the committed state no longer holds the set of: a
      // request that raced the epoch's last commit): such a block could not be judged, so none is built.
      if (!(e instanceof ChainError && e.code === 'NOT_FOUND')) throw e;
      this.#c.log.debug('cannot build block: no validator set for it', { height: req.height, epoch });
      return;
    }
    this.executed.add(executed);
    await o.afterBuild?.({ hash: executed.hash, block: executed.block, txs }, async (another) => {
      const built = await chain.propose({
        txs: chain.isSuffix(req.height, epoch) ? [] : [...another.txs],
        time: another.time,
        proposer,
        engineData: req.engineData,
        epoch,
        ...(parent === undefined ? {} : { parent }),
      });
      this.executed.add(built);
      return built;
    });
    await this.#c.step({
      kind: 'block-built',
      height: req.height,
      round: req.round,
      hash: executed.hash,
      block: executed.block,
    });
  }

  /**
   * Whether a block on `parent` is one the commit of transactions already proposed waits for: an
   * uncommitted block with transactions among the `certifyingDescendants` nearest ancestors
   * (HotStuff's two-chain: the parent itself). Held for the floor, such a block would hold those
   * transactions' commit for one more interval — HotStuff's p50 was its other engines' plus about
   * one floor. Built at once and empty instead, it certifies them a round later; the block after
   * the last certifying one is paced as usual, from its empty parent's time, so a full block comes
   * a floor and a round or two after the one before. The empty ones have no transactions to
   * execute or write: bench:node measured no more CPU per transaction near capacity, and 6–9% more
   * at a quarter to half of it, where they are a larger share. (Pacing that next block from the
   * certified block's time instead, a full block per floor, made more blocks and no lower p50.) An
   * engine whose blocks commit on their own certificate has 0.
   */
  #certifiesPending(parent: ExecutedBlock | undefined): boolean {
    let b = parent;
    for (let i = 0; i < this.#c.certifyingDescendants && b !== undefined; i++, b = b.parent) {
      if (b.block.header.height <= this.#chain.height) return false;
      if (b.txs.length > 0) return true;
    }
    return false;
  }

  /**
   * How long to hold a build: until its parent's timestamp plus the floor (`minBlockIntervalMs`,
   * stretched toward `busyBlockIntervalMs` by how busy this node is: blockFloorMs), and at most
   * that long (a parent stamped by a clock ahead of this one waits no longer, and its child may
   * then be stamped closer to it). Every block costs each validator milliseconds of CPU whatever
   * it holds (votes, WAL and fence writes with fsync, the commit batch, status), so without a
   * floor a lightly loaded network commits blocks of a few transactions back to back and keeps its
   * machines' cores busy doing it. Not held: a request when the pool already holds a full block by
   * count (`maxBlockTxs`; looked at once, when the request comes), and one for an empty block
   * (`req.empty`: for the protocol's sake); one that would certify pending transactions is built
   * at once, empty, by the caller (#certifiesPending).
   * Pacing, not a validity rule: other validators accept blocks closer together. (The pool's count
   * starts at the committed nonces, so on an uncommitted parent it counts that parent's
   * transactions too: it can only build sooner.)
   */
  #paceWaitMs(req: BuildRequest<M>, parentMs: number): number {
    const o = this.#c.options;
    const min = o.minBlockIntervalMs ?? 0;
    const interval = o.load === undefined ? min : blockFloorMs(min, o.busyBlockIntervalMs ?? min, o.load());
    if (interval <= 0 || req.empty) return 0;
    const left = parentMs + interval - this.#c.clock.now();
    if (left <= 0 || this.#c.mempool.includableAtLeast(o.maxBlockTxs ?? DEFAULT_BUILD_MAX_TXS)) return 0;
    return Math.min(left, interval);
  }

  /**
   * The engine's `mine`: hands a built block's header to the miner; the solution becomes an
   * executed block of its own (the same execution: only the nonce, and so the hash, differ) and
   * goes back to the engine.
   */
  mine(hash: Uint8Array, target: bigint): void {
    const built = this.executed.get(hash);
    const miner = this.#c.options.miner;
    invariant(miner !== undefined, 'a runtime whose engine mines is given a miner');
    if (built === undefined) return; // pruned by a commit meanwhile: the engine asks again
    const generation = ++this.#mineGeneration;
    const epoch = this.#c.epoch(); // a solution that arrives in a later epoch is dropped
    const solved = (bytes: Uint8Array) => async () => {
      if (generation !== this.#mineGeneration || this.#c.epoch() !== epoch) return;
      const header = decodeHeader(bytes);
      const block: Block = { header, txs: built.block.txs };
      const mined: ExecutedBlock = { ...built, block, hash: headerHash(header) };
      this.executed.add(mined);
      this.#c.counters.blocksMined++;
      this.#c.options.hooks?.onMined?.();
      await this.#c.step({ kind: 'mined', hash: mined.hash, block });
    };
    miner.mine({ header: encodeHeader(built.block.header), target }, (bytes) =>
      this.#c.enqueue(solved(bytes)),
    );
  }

  /** The engine's `cancel-mine` (and the runtime's stop): a solution that arrives later is dropped. */
  cancelMining(): void {
    this.#mineGeneration++;
    this.#c.options.miner?.cancel();
  }

  /** The engine's `execute`: validates and executes a proposed block, and answers `executed`. */
  async execute(block: Block, hash: Uint8Array): Promise<void> {
    const known = this.executed.get(hash);
    if (known !== undefined) return this.#c.step({ kind: 'executed', hash, valid: true });
    const chain = this.#chain;
    if (block.header.height <= chain.height)
      return this.#c.step({ kind: 'executed', hash, valid: false, code: 'STALE', reason: 'stale height' });
    const { parent, ok } = this.#parentOf(block.header.parentHash);
    if (!ok)
      return this.#c.step({
        kind: 'executed',
        hash,
        valid: false,
        code: 'UNKNOWN_PARENT',
        reason: 'unknown parent',
      });
    try {
      const executed = await chain.validateAndExecute(block, {
        nowMs: this.#c.clock.now(),
        maxFutureDriftMs: this.#c.options.maxFutureDriftMs ?? DEFAULT_MAX_FUTURE_DRIFT_MS,
        known: (bytes) => this.#c.mempool.pendingWithBytes(bytes),
        // What gossip did not bring (a full pool skips it; a slow link drops it) is verified on
        // the workers, not on the event loop every other step of this node waits behind.
        ...(this.#c.options.txVerifier === undefined ? {} : { verifier: this.#c.options.txVerifier }),
        epoch: this.#c.epoch(),
        ...(parent === undefined ? {} : { parent }),
      });
      invariant(equalBytes(executed.hash, hash), 'an executed block hashes to what the engine asked for');
      this.executed.add(executed);
      await this.#c.step({ kind: 'executed', hash, valid: true });
    } catch (e) {
      if (e instanceof ChainError && e.code === 'BLOCK_IN_FUTURE') {
        if (this.#hold(block, hash, e.meta.readyAtMs as number)) return;
      }
      // The proposer's fault (an invalid block), or a race with a commit (its parent was just
      // committed): anything else is this node's own and halts it (see EventQueue).
      const stale = e instanceof ChainError && e.code === 'OUT_OF_ORDER';
      // Too far ahead to hold: still not INVALID — the other clock may be the wrong one.
      const future = e instanceof ChainError && e.code === 'BLOCK_IN_FUTURE';
      const invalid = e instanceof ChainError && e.code === 'BLOCK_REJECTED';
      if (!invalid && !stale && !future) throw e;
      this.#c.log.info('rejected proposed block', { height: block.header.height, reason: e.message });
      await this.#c.step({
        kind: 'executed',
        hash,
        valid: false,
        code: stale ? 'STALE' : future ? 'FUTURE' : 'INVALID',
        reason: e.message,
      });
    }
  }

  /**
   * A block timestamped past this node's clock + drift bound is held and executed again when the
   * clock gets there: either clock may be the wrong one, and a block is never INVALID for it (a
   * validator whose clock is behind would otherwise refuse every honest block). The engine sees
   * the block as still executing. Not held (so INVALID) beyond MAX_HOLD_MS — no honest clock is
   * that far off — or beyond MAX_HELD blocks at once.
   */
  #hold(block: Block, hash: Uint8Array, readyAtMs: number): boolean {
    const id = toHex(hash);
    const wait = Math.ceil(readyAtMs - this.#c.clock.now());
    if (wait > MAX_HOLD_MS || (this.#held.size >= MAX_HELD && !this.#held.has(id))) return false;
    if (!this.#held.has(id))
      this.#c.log.info('holding a block from the future until this clock catches up', {
        height: block.header.height,
        waitMs: wait,
      });
    this.#held.set(id, 'held');
    const recheck = this.#c.sameInstance(() => this.execute(block, hash)); // (this engine instance)
    this.#timers.set(`hold:${id}`, Math.min(HOLD_RECHECK_MS, Math.max(1, wait)), () =>
      this.#c.enqueue(async () => {
        this.#held.set(id, 'rechecking');
        await recheck();
        // Held again (still future) or done: only a block held again stays.
        if (this.#held.get(id) === 'rechecking') this.#held.delete(id);
      }),
    );
    return true;
  }

  /** The engine's `commit`: a block it executed, with the certificate that commits it. */
  async commit(hash: Uint8Array, certificate: CommitCertificate): Promise<void> {
    const chain = this.#chain;
    const executed = this.executed.get(hash);
    if (executed === undefined) {
      // Block sync got there first (and pruned the executed copy): nothing left to do.
      if ((await chain.heightOfHash(hash)) !== undefined) return;
      this.#c.log.error('engine committed a block this node never executed', { hash: toHex(hash) });
      return;
    }
    if (executed.block.header.height <= chain.height) return; // already committed through sync
    if (executed.suffix) return; // certified only to commit its epoch's last block, never itself
    await chain.commit(executed, certificate);
    await this.#c.afterCommit(executed, certificate, false);
  }

  /**
   * Block sync was served a block whose certificate verifies but whose parent is not this node's
   * committed head; no peer is blamed either way. Under probabilistic finality
   * (EngineModule.confirmations) that is a fork the engine weighs: one heavier than the chain that
   * buried this node's commit overturned it, and the engine halts. Under a certificate final when
   * it forms, two conflicting chains are certified: more validators are faulty than the engine
   * tolerates. This node's own chain is still one chain, and its engine goes on — which is how it
   * gathers the votes that convict the validators who signed both sides (accountable safety) —
   * but it says so at error level, once per height, and counts it.
   */
  async certifiedFork(from: string, block: Block, certificate: CommitCertificate): Promise<void> {
    const height = block.header.height;
    if (this.#c.options.engine.confirmations !== undefined) {
      this.#c.log.warn("block sync: a peer committed a chain that forks below this node's head", {
        peer: from,
        height,
      });
      await this.#c.step({ kind: 'certified-fork', block, certificate });
      return;
    }
    if (this.#certifiedForkHeights.has(height)) return;
    this.#certifiedForkHeights.add(height);
    this.#c.counters.certifiedForks++;
    this.#c.log.error(
      'two conflicting chains are certified: more validators are faulty than the engine tolerates (safety is broken network-wide; this node keeps its own chain)',
      {
        peer: from,
        height,
        theirs: toHex(headerHash(block.header)),
        theirParent: toHex(block.header.parentHash),
        ours: toHex(this.#chain.headHash),
      },
    );
  }
}
