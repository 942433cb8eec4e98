/**
 * src/runtime/block-pipeline.ts on its own, with a fake chain and runtime: work an engine instance
 * left on a timer (a block held until this clock reaches its timestamp, a build waiting for the
 * clock) is dropped once another epoch's instance runs, and still done while the same one does.
 * The epoch is checked against the instance that armed the timer, not the one running when it
 * fires (it was the latter, which always passed).
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineInput } from '../../consensus/types.ts';
import { type BatchVerifier, inThreadVerifier } from '../../crypto/signature-batch.ts';
import { ChainError, type ChainStore, type ExecutedBlock } from '../../ledger/chain.ts';
import {
  BlockPipeline,
  type BlockPipelineContext,
  type BuildRequest,
  blockFloorMs,
  PACE_LOAD_HIGH,
  PACE_LOAD_LOW,
} from '../../src/runtime/block-pipeline.ts';
import type { BlockClock } from '../../src/runtime/clock-offset.ts';
import type { Mempool } from '../../src/runtime/mempool.ts';
import { silentLogger, type Timers } from '../../src/runtime/ports.ts';
import { blankBlock } from '../helpers/blank-block.ts';

function setup(
  opts: {
    clockWaitMs?: number;
    txVerifier?: BatchVerifier;
    /** Pacing: the runtime option, this clock's reading, the parent's stamp, a full pool. */
    minBlockIntervalMs?: number;
    busyBlockIntervalMs?: number;
    /** RuntimeOptions.load: how busy this node is, read at each build. */
    load?: () => number;
    nowMs?: number;
    parentMs?: number;
    fullPool?: boolean;
    /** EngineModule.certifyingDescendants (default 0), and the committed height (default 0). */
    certifyingDescendants?: number;
    committedHeight?: number;
  } = {},
) {
  const solutions: Array<(header: Uint8Array) => void> = [];
  let epoch = 0;
  const timers = new Map<string, () => void>();
  const timerMs = new Map<string, number>();
  let proposals = 0;
  /** Each proposal's engineData[0]: which request it was built for. */
  const built: Array<number | undefined> = [];
  /** Each proposal's transaction count, and how often the pool was asked for transactions. */
  const proposedTxs: number[] = [];
  let selects = 0;
  const steps: EngineInput<never>[] = [];
  let executions = 0;
  const executeOptions: Array<{ verifier?: BatchVerifier }> = [];
  let clockReads = 0;
  const head = { height: 0, time: { ms: opts.parentMs ?? 0, logical: 0 } };
  const chain = {
    headHash: new Uint8Array(32),
    height: opts.committedHeight ?? 0,
    head,
    async validateAndExecute(_block: unknown, o: { verifier?: BatchVerifier }) {
      executions++;
      executeOptions.push(o);
      throw new ChainError('BLOCK_IN_FUTURE', 'timestamped past this clock', { readyAtMs: 5_000 });
    },
    isSuffix: () => false,
    async propose(o: { engineData?: Uint8Array; txs: readonly unknown[] }) {
      proposals++; // counted, then refused the way a block with no validator set is (nothing built)
      built.push(o.engineData?.[0]);
      proposedTxs.push(o.txs.length);
      throw new ChainError('NOT_FOUND', 'no validator set in these tests');
    },
  } as unknown as ChainStore;
  const fakeTimers = {
    set: (name: string, ms: number, fn: () => void) => {
      timers.set(name, fn);
      timerMs.set(name, ms);
    },
    cancel: (name: string) => timers.delete(name),
    cancelAll: () => timers.clear(),
  } as unknown as Timers;
  const clock = {
    now: () => opts.nowMs ?? 0,
    stampWaitMs: () => {
      clockReads++;
      return opts.clockWaitMs ?? 0;
    },
  } as unknown as BlockClock;
  const context: BlockPipelineContext<never> = {
    options: {
      chain,
      timers: fakeTimers,
      engine: {},
      miner: { mine: (_job, solved) => solutions.push(solved), cancel: () => {} },
      ...(opts.txVerifier === undefined ? {} : { txVerifier: opts.txVerifier }),
      ...(opts.minBlockIntervalMs === undefined ? {} : { minBlockIntervalMs: opts.minBlockIntervalMs }),
      ...(opts.busyBlockIntervalMs === undefined ? {} : { busyBlockIntervalMs: opts.busyBlockIntervalMs }),
      ...(opts.load === undefined ? {} : { load: opts.load }),
      maxBlockTxs: 100,
    },
    mempool: {
      pendingWithBytes: () => undefined,
      includableAtLeast: (n: number) => {
        expect(n).toBe(100); // a full block: max_block_txs
        return opts.fullPool ?? false;
      },
      select: async () => {
        selects++;
        return [{}];
      },
    } as unknown as Mempool,
    clock,
    log: silentLogger,
    counters: { blocksMined: 0, certifiedForks: 0 },
    epoch: () => epoch,
    selfAddress: () => new Uint8Array(20),
    headState: async () => ({}) as never,
    step: async (input) => {
      steps.push(input);
    },
    enqueue: (fn) => void fn(),
    sameInstance: (fn) => {
      const armed = epoch;
      return () => (epoch === armed ? fn() : undefined);
    },
    afterCommit: () => Promise.resolve(),
    certifyingDescendants: opts.certifyingDescendants ?? 0,
  };
  const fire = async (name: string) => {
    const fn = timers.get(name);
    expect(fn, `timer ${name} is armed`).toBeDefined();
    timers.delete(name);
    (fn as () => void)();
    await new Promise((r) => setImmediate(r));
  };
  return {
    pipeline: new BlockPipeline<never>(context),
    timers,
    steps,
    fire,
    nextEpoch: () => epoch++,
    executions: () => executions,
    executeOptions,
    clockReads: () => clockReads,
    solutions,
    timerMs,
    proposals: () => proposals,
    built,
    proposedTxs,
    selects: () => selects,
  };
}

const block = blankBlock({ time: { ms: 9_000, logical: 0 }, engine: 'pow' });
const hash = new Uint8Array(32).fill(7);
const holdTimer = `hold:${'07'.repeat(32)}`;

describe('block pipeline: timed work of an engine instance', () => {
  it('a block from the future is held, and executed again when its timer fires in the same epoch', async () => {
    const t = setup();
    await t.pipeline.execute(block, hash);
    expect(t.executions()).toBe(1);
    expect(t.steps).toEqual([]); // held: the engine sees it as still executing
    await t.fire(holdTimer);
    expect(t.executions()).toBe(2);
  });

  it('is dropped when the timer fires after an epoch boundary', async () => {
    const t = setup();
    await t.pipeline.execute(block, hash);
    t.nextEpoch();
    await t.fire(holdTimer);
    expect(t.executions()).toBe(1);
    expect(t.steps).toEqual([]);
  });

  it('a build waiting for the clock is retried in the same epoch and dropped after a boundary', async () => {
    const req = {
      kind: 'build-block',
      height: 1,
      round: 0,
      parent: new Uint8Array(32),
    } as BuildRequest<never>;
    const same = setup({ clockWaitMs: 100 });
    await same.pipeline.build(req);
    expect(same.clockReads()).toBe(1);
    await same.fire('build-clock');
    expect(same.clockReads()).toBe(2); // asked again (and waits again)

    const later = setup({ clockWaitMs: 100 });
    await later.pipeline.build(req);
    later.nextEpoch();
    await later.fire('build-clock');
    expect(later.clockReads()).toBe(1);
    expect(later.timers.has('build-clock')).toBe(false);
  });

  it("a miner's solution that arrives after an epoch boundary is dropped", async () => {
    const t = setup();
    const built = { hash, block, parent: undefined, txs: [] };
    t.pipeline.executed.add(built as never);
    t.pipeline.mine(hash, 1n);
    expect(t.solutions).toHaveLength(1);
    t.nextEpoch();
    (t.solutions[0] as (header: Uint8Array) => void)(Uint8Array.of(0xc0)); // never decoded
    await new Promise((r) => setImmediate(r));
    expect(t.steps).toEqual([]);
  });
});

describe('block pipeline: where a proposal is verified', () => {
  it("a proposal's signatures go to the node's verifier (its worker pool) when it has one, else this thread", async () => {
    const pooled = setup({ txVerifier: inThreadVerifier });
    await pooled.pipeline.execute(block, hash);
    expect(pooled.executeOptions[0]?.verifier).toBe(inThreadVerifier);
    const plain = setup();
    await plain.pipeline.execute(block, hash);
    expect(plain.executeOptions[0]).toBeDefined();
    expect(plain.executeOptions[0]?.verifier).toBeUndefined();
  });
});

describe('block pipeline: a floor under the block interval (min_block_interval_ms)', () => {
  const req = { kind: 'build-block', height: 1, round: 0, parent: new Uint8Array(32) } as BuildRequest<never>;

  it('a build soon after its parent waits out the rest of the interval, then builds without waiting again', async () => {
    const t = setup({ minBlockIntervalMs: 100, parentMs: 1_000, nowMs: 1_030 });
    await t.pipeline.build(req);
    expect(t.proposals()).toBe(0);
    expect(t.timerMs.get('build-pace')).toBe(70);
    await t.fire('build-pace'); // this fake clock stands still: the retry must not wait again
    expect(t.proposals()).toBe(1);
    expect(t.timers.has('build-pace')).toBe(false);
  });

  it('builds at once when the interval has passed, when the pool holds a full block, for an empty block, and when off', async () => {
    const cases = [
      { name: 'interval passed', o: { minBlockIntervalMs: 100, parentMs: 1_000, nowMs: 1_100 }, r: req },
      {
        name: 'full pool',
        o: { minBlockIntervalMs: 100, parentMs: 1_000, nowMs: 1_001, fullPool: true },
        r: req,
      },
      {
        name: 'empty block',
        o: { minBlockIntervalMs: 100, parentMs: 1_000, nowMs: 1_001 },
        r: { ...req, empty: true },
      },
      { name: 'off', o: { minBlockIntervalMs: 0, parentMs: 1_000, nowMs: 1_001 }, r: req },
      { name: 'unset', o: { parentMs: 1_000, nowMs: 1_001 }, r: req },
    ];
    for (const c of cases) {
      const t = setup(c.o);
      await t.pipeline.build(c.r);
      expect(t.proposals(), c.name).toBe(1);
      expect(t.timers.has('build-pace'), c.name).toBe(false);
    }
  });

  it('waits at most the interval when the parent was stamped by a clock far ahead of this one', async () => {
    const t = setup({ minBlockIntervalMs: 100, parentMs: 60_000, nowMs: 1_000 });
    await t.pipeline.build(req);
    expect(t.timerMs.get('build-pace')).toBe(100);
    await t.fire('build-pace');
    expect(t.proposals()).toBe(1);
  });

  it('a held build is dropped once a later request came (the later one built at once, or held in its place)', async () => {
    const o = { minBlockIntervalMs: 100, parentMs: 1_000, nowMs: 1_030, fullPool: false };
    const t = setup(o);
    await t.pipeline.build(req); // held
    o.fullPool = true;
    await t.pipeline.build({ ...req, round: 1 }); // built at once
    expect(t.proposals()).toBe(1);
    await t.fire('build-pace'); // the first one's timer: nothing more is built
    expect(t.proposals()).toBe(1);
  });

  it('a build held for the clock does not take the place of a later one held for the interval', async () => {
    const o = { minBlockIntervalMs: 100, parentMs: 1_000, nowMs: 1_030, clockWaitMs: 200 };
    const t = setup(o);
    await t.pipeline.build({ ...req, engineData: Uint8Array.of(1) }); // held for the clock
    o.clockWaitMs = 0;
    await t.pipeline.build({ ...req, round: 1, engineData: Uint8Array.of(2) }); // held for the interval
    expect(t.timers.has('build-pace')).toBe(true);
    await t.fire('build-clock'); // the first one: superseded, dropped before it could re-arm build-pace
    expect(t.proposals()).toBe(0);
    await t.fire('build-pace');
    expect(t.built).toEqual([2]); // the later request's block, not the first one's
  });

  it('a paced build is dropped when its timer fires after an epoch boundary', async () => {
    const t = setup({ minBlockIntervalMs: 100, parentMs: 1_000, nowMs: 1_030 });
    await t.pipeline.build(req);
    t.nextEpoch();
    await t.fire('build-pace');
    expect(t.proposals()).toBe(0);
  });
});

describe('block pipeline: a block that certifies pending transactions is not held (certifyingDescendants)', () => {
  /** An executed, uncommitted block at `height` (the fake chain's head is at 0) on `parent`. */
  const executed = (height: number, txs: number, parent?: ExecutedBlock): ExecutedBlock =>
    ({
      block: { header: { height, time: { ms: 1_000, logical: 0 } } },
      hash: new Uint8Array(32).fill(height),
      txs: Array.from({ length: txs }, () => ({})),
      parent,
    }) as unknown as ExecutedBlock;
  /** A build on the newest of `chain` (oldest first, heights 1, 2, …), 30 ms into a 100 ms floor. */
  async function buildOn(
    chain: readonly number[],
    certifyingDescendants: number,
    { nowMs = 1_030, committedHeight = 0, clockWaitMs = 0 } = {},
  ) {
    const t = setup({ minBlockIntervalMs: 100, nowMs, certifyingDescendants, committedHeight, clockWaitMs });
    let parent: ExecutedBlock | undefined;
    for (const [i, txs] of chain.entries()) {
      parent = executed(i + 1, txs, parent);
      t.pipeline.executed.add(parent);
    }
    const tip = parent as ExecutedBlock;
    await t.pipeline.build({
      kind: 'build-block',
      height: tip.block.header.height + 1,
      round: 0,
      parent: tip.hash,
    } as BuildRequest<never>);
    return t;
  }

  it('two-chain (1): a block on an uncommitted parent with transactions is built at once, empty', async () => {
    const t = await buildOn([5], 1);
    expect(t.proposedTxs).toEqual([0]);
    expect(t.selects()).toBe(0); // the pool is not even asked
    expect(t.timers.has('build-pace')).toBe(false);
  });

  it('its child, on an empty parent, is held for the floor and then carries transactions', async () => {
    const t = await buildOn([5, 0], 1);
    expect(t.proposals()).toBe(0);
    expect(t.timerMs.get('build-pace')).toBe(70);
    await t.fire('build-pace');
    expect(t.proposedTxs).toEqual([1]);
  });

  it('three-chain (2): the grandchild of a block with transactions is certifying too, the next one is not', async () => {
    expect((await buildOn([5, 0], 2)).proposedTxs).toEqual([0]);
    const t = await buildOn([5, 0, 0], 2);
    expect(t.proposals()).toBe(0);
    expect(t.timers.has('build-pace')).toBe(true);
  });

  it('a block with transactions that committed already (still linked from its child) needs no certifying', async () => {
    const t = await buildOn([5, 0], 2, { committedHeight: 1 });
    expect(t.proposals()).toBe(0);
    expect(t.timers.has('build-pace')).toBe(true);
  });

  it('an engine whose blocks commit on their own certificate (0) holds the build as before', async () => {
    const t = await buildOn([5], 0);
    expect(t.proposals()).toBe(0);
    expect(t.timers.has('build-pace')).toBe(true);
  });

  it('a certifying build still waits for this clock to pass its parent first', async () => {
    const t = await buildOn([5], 1, { clockWaitMs: 40 });
    expect(t.proposals()).toBe(0);
    expect(t.timers.has('build-clock')).toBe(true);
  });

  it('HotStuff declares one certifying block for the two-chain rule, two for the three-chain', () => {
    expect(hotstuff.certifyingDescendants?.({})).toBe(1);
    expect(hotstuff.certifyingDescendants?.({ chain: 2 })).toBe(1);
    expect(hotstuff.certifyingDescendants?.({ chain: 3 })).toBe(2);
    expect(tendermint.certifyingDescendants).toBeUndefined();
  });

  it('a build the floor would not hold carries transactions as usual', async () => {
    const t = await buildOn([5], 1, { nowMs: 1_200 });
    expect(t.proposedTxs).toEqual([1]);
  });
});

describe('block pipeline: the floor stretches when this node is busy (busy_block_interval_ms)', () => {
  const req = { kind: 'build-block', height: 1, round: 0, parent: new Uint8Array(32) } as BuildRequest<never>;

  it('blockFloorMs: the minimum up to the low mark, the busy floor from the high mark, a straight line between', () => {
    expect(PACE_LOAD_LOW).toBeLessThan(PACE_LOAD_HIGH);
    for (const load of [0, PACE_LOAD_LOW / 2, PACE_LOAD_LOW])
      expect(blockFloorMs(100, 200, load), `${load}`).toBe(100);
    for (const load of [PACE_LOAD_HIGH, (PACE_LOAD_HIGH + 1) / 2, 1, 7])
      expect(blockFloorMs(100, 200, load), `${load}`).toBe(200);
    expect(blockFloorMs(100, 200, (PACE_LOAD_LOW + PACE_LOAD_HIGH) / 2)).toBe(150);
    expect(blockFloorMs(100, 200, PACE_LOAD_LOW + (PACE_LOAD_HIGH - PACE_LOAD_LOW) / 4)).toBe(125);
    // Never shorter than the minimum: a busy floor at or below it does not stretch (nor shrink).
    expect(blockFloorMs(100, 50, 1)).toBe(100);
    expect(blockFloorMs(100, 100, 1)).toBe(100);
    // A minimum of 0 is no pacing at all, however busy (min_block_interval_ms = 0: back to back).
    expect(blockFloorMs(0, 200, 1)).toBe(0);
    // A reading that is not a number is idle, never a reason to wait.
    expect(blockFloorMs(100, 200, Number.NaN)).toBe(100);
  });

  it('a build waits out the stretched floor when busy, the minimum when idle, and reads the load at each build', async () => {
    let load = 1;
    const reads: number[] = [];
    const o = { minBlockIntervalMs: 100, busyBlockIntervalMs: 200, parentMs: 1_000, nowMs: 1_030 };
    const read = () => {
      reads.push(load);
      return load;
    };
    const t = setup({ ...o, load: read });
    await t.pipeline.build(req);
    expect(t.timerMs.get('build-pace')).toBe(170); // 1,000 + 200 − 1,030
    load = 0;
    await t.pipeline.build({ ...req, round: 1 });
    expect(t.timerMs.get('build-pace')).toBe(70); // 1,000 + 100 − 1,030
    load = (PACE_LOAD_LOW + PACE_LOAD_HIGH) / 2;
    await t.pipeline.build({ ...req, round: 2 });
    expect(t.timerMs.get('build-pace')).toBe(120); // 1,000 + 150 − 1,030
    expect(reads).toEqual([1, 0, (PACE_LOAD_LOW + PACE_LOAD_HIGH) / 2]);
    load = 1;
    await t.fire('build-pace'); // waited once: built without waiting again, however busy now
    expect(t.proposals()).toBe(1);
  });

  it('busy, but the stretched floor has passed, the pool holds a full block, or no busy floor is set: builds at once', async () => {
    const cases = [
      {
        name: 'passed',
        o: { minBlockIntervalMs: 100, busyBlockIntervalMs: 200, parentMs: 1_000, nowMs: 1_200 },
      },
      {
        name: 'full pool',
        o: {
          minBlockIntervalMs: 100,
          busyBlockIntervalMs: 200,
          parentMs: 1_000,
          nowMs: 1_001,
          fullPool: true,
        },
      },
      {
        name: 'no busy floor, minimum passed',
        o: { minBlockIntervalMs: 100, parentMs: 1_000, nowMs: 1_100 },
      },
    ];
    for (const c of cases) {
      const t = setup({ ...c.o, load: () => 1 });
      await t.pipeline.build(req);
      expect(t.proposals(), c.name).toBe(1);
      expect(t.timers.has('build-pace'), c.name).toBe(false);
    }
  });
});
