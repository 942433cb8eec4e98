/**
 * The deterministic simulator: one process, virtual time, one root seed. It runs the very same
 * runtime and engine code as the node, over a simulated network, simulated disks and skewed
 * virtual clocks, injects faults, and checks safety on every commit and liveness after healing.
 *
 * Phases: (1) fault phase for `durationMs` — network faults, crashes, pauses, partitions,
 * Byzantine validators, as the fault plan (fault-plan.ts) schedules them; (2) liveness phase — the network heals, crashed honest nodes restart, and
 * every honest node must commit at least `livenessBlocks` new blocks within `livenessMs`. The
 * run is live only if that healed honest core can form a quorum on its own (≥ n − f honest
 * validators and a quorum of the voting power — > 2/3 for BFT engines, > 1/2 for CFT); with
 * fewer (more Byzantine or permanently crashed validators than tolerated) liveness cannot be
 * demonstrated and `live` is false, with the reason in `livenessFailure`.
 *
 * Checks on every honest commit (checkers.ts): agreement, validity (submitted, no transaction
 * taking effect twice), identical roots per height, the node's committed store (log size and
 * root, state trie) against the header, log consistency between successive tree heads. The store
 * and consistency checks are asynchronous reads; they are collected and awaited after every
 * event, before the next one runs (so they read the store the commit left, and never race a
 * crash), which adds no events and leaves the trace unchanged.
 *
 * Same options ⇒ same trace hash: every delivery, timer and commit is folded into a SHA-256 trace.
 * `replayCommand` prints the `verity sim` command line that reproduces a run exactly.
 */

import { createHash } from 'node:crypto';
import { encodeEquivocation } from '../../consensus/evidence.ts';
import { tolerates } from '../../consensus/fault-model.ts';
import { SeededRng, shuffle } from '../../consensus/rng.ts';
import type { EngineModule, LeaderOverride, ReadMode, SignSlot } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import type { ChainStore } from '../../ledger/chain.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { emptyRoot } from '../../ledger/log/index.ts';
import type { EncodedTransaction } from '../../ledger/tx.ts';
import type { AdmitResult } from '../runtime/mempool.ts';
import type { Channel } from '../runtime/ports.ts';
import { ReadError } from '../runtime/read-barrier.ts';
import type { ConsensusRuntime, RuntimeHooks } from '../runtime/runtime.ts';
import { MemorySignFence } from '../runtime/sign-fence.ts';
import type { ByzantineMode } from './byzantine.ts';
import { logExtends, SafetyChecker, storeDivergence, type Violation } from './checkers.ts';
import { EventQueue } from './event-queue.ts';
import { FAULT_KINDS, type FaultAction, type FaultKind, planFaults } from './fault-plan.ts';
import { livenessFailure } from './liveness.ts';
import { SimNetwork } from './network.ts';
import { SimCluster, type SimNode } from './sim-cluster.ts';
import { GENESIS_TIME, memoVerifier, simGenesis } from './sim-world.ts';
import { damageWal, JournaledKvStore, type WalDamage, type WalDamageKind } from './storage-faults.ts';
import { UndoableKvStore } from './undoable-store.ts';
import { describeWire, type TraceTime, VectorTrace, type VectorTraceOptions } from './vector-trace.ts';
import { Workload } from './workload.ts';

export { FAULT_KINDS, type FaultKind };

export interface SimOptions {
  readonly engine: EngineModule<unknown>;
  readonly engineParams?: EngineParams;
  readonly nodes: number;
  readonly byzantine: number;
  readonly byzantineMode: ByzantineMode;
  readonly faults: ReadonlySet<FaultKind>;
  readonly seed: string;
  readonly durationMs: number;
  readonly txs: number;
  readonly livenessMs?: number;
  readonly livenessBlocks?: number;
  /** Maximum virtual time of the whole run (safety valve). */
  readonly maxEvents?: number;
  /** Use the real ed25519 verifier for every message (no cross-node memo). */
  readonly uncachedVerify?: boolean;
  readonly onProgress?: (p: { phase: 'faults' | 'liveness'; timeMs: number; height: number }) => void;
  /** Debugging: receives every runtime log line with its node and virtual time. */
  readonly log?: (line: string) => void;
  /** Targeted scenarios: schedule crashes, restarts, injections… (see SimControl). */
  readonly scenario?: (ctl: SimControl) => void;
  /**
   * Which validators are Byzantine (exactly `byzantine` of them), instead of the seed's choice —
   * for scenarios that name instances (Twins, twins.ts). The seed's draw is still made, so every
   * other random stream is as without it.
   */
  readonly byzantineValidators?: readonly number[];
  /** The runtime's state-sync lead (RuntimeOptions.snapshotLead); its default when absent. */
  readonly snapshotLead?: number;
  /** The runtime's floor under the block interval (RuntimeOptions.minBlockIntervalMs); 0 when absent. */
  readonly minBlockIntervalMs?: number;
  /** The runtime's floor when busy (RuntimeOptions.busyBlockIntervalMs); the minimum when absent. */
  readonly busyBlockIntervalMs?: number;
  /**
   * How busy every node reports itself, 0 to 1 (RuntimeOptions.load; a real node measures its
   * event loop): a fixed value, so a run replays. 0 when absent.
   */
  readonly load?: number;
  /**
   * Proof of Work: each validator's share of the hash power, as relative weights (one per
   * validator; a Byzantine validator's twin mines with its share). Default: equal shares.
   */
  readonly hashPower?: readonly number[];
  /** Inspect the nodes at the end of the run, before they stop. */
  readonly inspect?: (ctl: SimControl) => Promise<void> | void;
  /**
   * Debugging: record every message with vector clocks (vector-trace.ts); the ShiViz log comes
   * back as `SimResult.vectorTrace`. Recording adds no events and leaves the trace hash unchanged.
   */
  readonly vectorTrace?: VectorTraceOptions;
  /**
   * Genesis `staking` (ledger/staking/config.ts): the validator set changes by epoch through
   * transactions a scenario submits. `candidates` more nodes run with validator keys
   * `nodes … nodes + candidates − 1` that genesis does not list (funded, so they can bond).
   */
  readonly staking?: { readonly config: Record<string, unknown>; readonly candidates?: number };
  /**
   * The leader at each rotation position, the same for every node (EngineContext.leaderOverride):
   * Twins scenarios choose leaders with it. Only engines whose module says `leaderRotation`.
   */
  readonly leaderOverride?: LeaderOverride;
}

/** What a scenario can do to a running simulation. Times are simulated ms from the start. */
export interface SimControl {
  now(): number;
  at(ms: number, fn: () => Promise<void> | void): void;
  /** Instance ids of a validator (two for twins). */
  instancesOf(validator: number): number[];
  runtime(instance: number): ConsensusRuntime<unknown> | undefined;
  /** Crashes an instance; `permanent` ones are not restarted and not required to be live. */
  crash(instance: number, opts?: { loseUnsynced?: boolean; permanent?: boolean }): void;
  /**
   * Restarts a crashed instance; `wipeWal` simulates a validator that lost its consensus WAL (its
   * sign fence survives, as it does on disk: the node must notice), `wipeFence` the fence too.
   */
  restart(
    instance: number,
    opts?: { wipeWal?: boolean; wipeFence?: boolean; wipeChain?: boolean },
  ): Promise<void>;
  /**
   * Loses every message `drop` returns true for, from now on (undefined: none). Instances are
   * network endpoints; consensus messages can be opened with the engine's codec to pick by kind.
   */
  dropMessages(
    drop: ((from: number, to: number, channel: Channel, bytes: Uint8Array) => boolean) | undefined,
  ): void;
  /**
   * Damages one record of a crashed instance's WAL (storage-faults.ts); the instance must notice
   * when it restarts, or the run records a `storage-unnoticed` violation.
   */
  damageWal(instance: number, kind?: WalDamageKind): Promise<WalDamage | undefined>;
  /** Sets an instance's clock to read `ms` ahead of true time (negative: behind). */
  setSkew(instance: number, ms: number): void;
  /** Delivers raw bytes to every up instance as if sent by `fromPeer`. */
  inject(fromPeer: string, channel: Channel, bytes: Uint8Array): void;
  /** Submits a transaction to an instance (recorded as submitted, as the workload's are). */
  submit(instance: number, etx: EncodedTransaction): Promise<AdmitResult>;
  /** Called after every signature an honest instance makes. */
  onSigned(cb: (instance: number, slot: SignSlot | undefined, description: string) => void): void;
}

export interface SimResult {
  readonly engine: string;
  readonly nodes: number;
  readonly byzantine: number;
  readonly byzantineMode: ByzantineMode;
  readonly tolerated: boolean;
  readonly seed: string;
  readonly simulatedMs: number;
  readonly committedHeight: number;
  /** Committed transactions of the workload's budget (`txs`). */
  readonly committedTxs: number;
  /**
   * Committed transactions beyond the budget, submitted after healing so that an engine that
   * makes no empty blocks (EngineModule.emptyBlocks) has blocks to make; 0 for the others.
   */
  readonly demandTxs: number;
  /** Reads the simulator asked of an engine that confirms them: served, and refused (typed). */
  readonly reads: { readonly served: number; readonly failed: number };
  readonly viewChanges: number;
  readonly messages: number;
  readonly bytes: number;
  readonly safe: boolean;
  readonly live: boolean;
  /** Why the run is not live (undefined when it is). */
  readonly livenessFailure?: string;
  readonly violations: readonly Violation[];
  readonly traceHash: string;
  /** Free-text misbehaviour reports of the engines (invalid messages, duplicate proposals…). */
  readonly engineReports: number;
  /**
   * Verified equivocation evidence the honest nodes hold (consensus/evidence.ts), one per
   * (validator, slot), in order of validator then slot.
   */
  readonly evidence: ReadonlyArray<{ readonly validator: number; readonly slot: SignSlot }>;
  /** The same evidence, encoded (consensus/evidence.ts): what `verity evidence verify` checks offline. */
  readonly evidenceBytes: readonly Uint8Array[];
  readonly refusedDoubleSigns: number;
  /** WAL records the `corrupt` fault damaged (storage-faults.ts); each must have been noticed. */
  readonly walRecordsDamaged: number;
  readonly wallMs: number;
  /**
   * For a chain whose tip can reorganize (Proof of Work): blocks mined by every miner, the share
   * that did not end on the best chain an honest node holds, and the deepest reorganization an
   * honest node went through. Absent when nothing was mined.
   */
  readonly mining?: { readonly mined: number; readonly orphanRate: number; readonly maxReorgDepth: number };
  /** The ShiViz log (vector-trace.ts), when `vectorTrace` was asked for. */
  readonly vectorTrace?: string;
  /** Final state of every node instance (for diagnosis). */
  readonly nodeStates: ReadonlyArray<{
    id: number;
    validator: number;
    byzantine: boolean;
    up: boolean;
    height: number;
    status: unknown;
  }>;
}

/**
 * The largest block-interval floor a simulation takes (SimOptions.minBlockIntervalMs): what
 * `verity sim --min-block-interval` and the long sweep accept too, so every run's replay command
 * replays it.
 */
export const MAX_SIM_MIN_BLOCK_INTERVAL_MS = 1000;

/** Both floors (ms) within what a simulation takes (MAX_SIM_MIN_BLOCK_INTERVAL_MS). */
function checkFloors(o: SimOptions): void {
  for (const name of ['minBlockIntervalMs', 'busyBlockIntervalMs'] as const) {
    const ms = o[name] ?? 0;
    if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_SIM_MIN_BLOCK_INTERVAL_MS)
      throw new RangeError(
        `${name} must be an integer from 0 to ${MAX_SIM_MIN_BLOCK_INTERVAL_MS}, not ${ms}`,
      );
  }
}

export async function runSimulation(o: SimOptions): Promise<SimResult> {
  checkFloors(o);
  if (o.load !== undefined && !(o.load >= 0 && o.load <= 1))
    throw new RangeError(`load must be from 0 to 1, not ${o.load}`);
  const wallStart = performance.now();
  const root = new SeededRng(o.seed);
  const netRng = root.derive('network');
  const workRng = root.derive('workload');
  const byzRng = root.derive('byzantine');
  const queue = new EventQueue();
  let now = GENESIS_TIME;
  const clockNow = () => now;
  const net = new SimNetwork(queue, netRng, clockNow);
  const checker = new SafetyChecker();
  const trace = createHash('sha256');
  const params = { ...o.engine.simParams, ...o.engineParams };
  const candidates = o.staking?.candidates ?? 0;
  const { genesis, deal } = simGenesis(
    o.engine.name,
    params,
    o.nodes,
    o.staking === undefined ? undefined : { config: o.staking.config, fundValidators: o.nodes + candidates },
  );
  const verify = o.uncachedVerify ? ed25519.verify : memoVerifier();
  const model = o.engine.faultModel;
  let tolerated = tolerates(model, o.nodes, o.byzantine, o.byzantineMode);
  let refused = 0;
  let mined = 0;
  /** The deepest reorganization an honest node reported (kept across its restarts). */
  let maxReorgDepth = 0;
  let evidence = 0;
  const equivocations = new Map<string, { validator: number; slot: SignSlot }>();
  const evidenceBytes: Uint8Array[] = [];

  // Which validators are Byzantine: chosen by the seed, so rotation positions vary across runs.
  const seededByz = shuffle(
    Array.from({ length: o.nodes }, (_, i) => i),
    byzRng,
  ).slice(0, o.byzantine);
  const byzSet = new Set(o.byzantineValidators ?? seededByz);
  // With unequal hash power, what a Proof-of-Work model tolerates is a share of it, not a count.
  if (o.hashPower !== undefined && o.byzantine > 0) {
    const total = o.hashPower.reduce((a, b) => a + b, 0);
    const byzantineShare = [...byzSet].reduce((a, v) => a + (o.hashPower?.[v] ?? 0), 0) / total;
    const admitted = model.byzantineModes === 'all' || model.byzantineModes.includes(o.byzantineMode);
    tolerated = admitted && byzantineShare < 0.5;
  }

  net.observer = (ev) => {
    trace.update(`d${ev.time},${ev.from},${ev.to},${ev.channel},${ev.duplicate ? 1 : 0},`);
    trace.update(createHash('sha256').update(ev.bytes).digest());
  };

  const cluster: SimCluster = new SimCluster({
    engine: o.engine,
    genesis,
    deal,
    byzantineMode: o.byzantineMode,
    queue,
    net,
    now: clockNow,
    trace: (line) => trace.update(line),
    verify,
    rng: root,
    byzantineRng: byzRng,
    hooks: (node, chain) => watch(node, chain),
    ...(o.log === undefined ? {} : { log: o.log }),
    ...(o.snapshotLead === undefined ? {} : { snapshotLead: o.snapshotLead }),
    ...(o.minBlockIntervalMs === undefined ? {} : { minBlockIntervalMs: o.minBlockIntervalMs }),
    ...(o.busyBlockIntervalMs === undefined ? {} : { busyBlockIntervalMs: o.busyBlockIntervalMs }),
    ...(o.load === undefined ? {} : { load: o.load }),
    ...(o.hashPower === undefined ? {} : { hashPower: o.hashPower }),
    ...(o.leaderOverride === undefined ? {} : { leaderOverride: o.leaderOverride }),
  });
  const nodes = cluster.nodes;
  for (let v = 0; v < o.nodes; v++) {
    cluster.add(v, byzSet.has(v));
    if (byzSet.has(v) && o.byzantineMode === 'twins') cluster.add(v, true);
  }
  for (let c = 0; c < candidates; c++) cluster.add(o.nodes + c, false);

  // -- vector-clock trace (vector-trace.ts), only when asked for: hooks on sends and deliveries --
  const vt = o.vectorTrace === undefined ? undefined : new VectorTrace(nodes.length, o.vectorTrace);
  const vtAt = (id: number): TraceTime => ({
    t: now - GENESIS_TIME,
    wall: now - GENESIS_TIME + (nodes[id]?.skewMs ?? 0),
  });
  if (vt !== undefined) {
    // A broadcast sends one byte array to every peer: describe it once.
    const described = new WeakMap<Uint8Array, string>();
    const describe = (channel: Channel, bytes: Uint8Array) => {
      let d = described.get(bytes);
      if (d === undefined) described.set(bytes, (d = describeWire(o.engine.codec, channel, bytes)));
      return d;
    };
    const hashDelivery = net.observer;
    net.observer = (ev) => {
      hashDelivery?.(ev);
      vt.receive(
        vtAt(ev.to),
        ev.msg,
        ev.from,
        ev.to,
        ev.channel,
        describe(ev.channel, ev.bytes),
        ev.duplicate,
      );
    };
    net.sendObserver = (ev) =>
      vt.send(
        vtAt(ev.from),
        ev.msg,
        ev.from,
        ev.to,
        ev.channel,
        describe(ev.channel, ev.bytes),
        ev.fate === 'scheduled' ? undefined : ev.fate,
      );
  }

  // Storage faults damage the WAL of validators the fault model has room for beside the Byzantine
  // ones: a validator whose WAL lost a record refuses to sign until the chain passes what it may
  // have signed, so it is one of the f for liveness.
  // (Their own random source: runs without them replay exactly as before the fault existed.)
  const storageRng = root.derive('storage');
  const walVictims = o.faults.has('corrupt')
    ? shuffle(
        nodes.filter((n) => !n.byzantine),
        storageRng,
      ).slice(0, Math.max(0, model.tolerated(o.nodes) - o.byzantine))
    : [];
  // What goes wrong, and when: a pure function of the fault stream (fault-plan.ts).
  const plan = planFaults(root.derive('faults'), {
    faults: o.faults,
    durationMs: o.durationMs,
    nodes,
    walVictims: walVictims.map((n) => n.id),
    twins: o.byzantineMode === 'twins' && o.byzantine > 0,
  });
  for (const n of nodes) n.skewMs = plan.skewMs.get(n.id) ?? 0;
  /** Damage done to a crashed node's WAL, to be noticed when it starts again. */
  const unnoticed = new Map<number, WalDamage>();
  let walRecordsDamaged = 0;

  /** What the run watches on an instance's runtime: signatures, evidence, halts and commits. */
  const watch = (node: SimNode, chain: ChainStore): RuntimeHooks => ({
    onSigned: (slot, hash, desc, epoch) => {
      if (node.byzantine) return;
      checker.onSigned(now, node.validator, slot, hash, desc, epoch);
      for (const cb of signedListeners) cb(node.id, slot, desc);
    },
    onRefused: () => {
      refused++;
    },
    // Evidence a node reports is a submission like the workload's (a Byzantine validator's
    // runtime reports too: any key holder may submit transactions).
    onOriginated: (etx) => checker.submitted(etx.id),
    onEpoch: (epoch, validators) => {
      if (!node.byzantine) checker.epochSet(now, node.id, epoch, toHex(validators.hash));
    },
    onEvidence: () => {
      evidence++;
    },
    onEquivocation: (e) => {
      if (node.byzantine) return;
      const key = `${e.validator}/${e.slot.height}/${e.slot.round}/${e.slot.step}`;
      if (!equivocations.has(key)) {
        equivocations.set(key, { validator: e.validator, slot: e.slot });
        evidenceBytes.push(encodeEquivocation(e));
      }
    },
    onMined: () => {
      mined++;
    },
    onHalt: (halt) => {
      trace.update(`h${now},${node.id};`);
      vt?.local(vtAt(node.id), node.id, `HALT ${halt.code}: ${halt.message}`);
      if (!node.byzantine) checker.halted(now, node.id, halt.code, halt.message);
    },
    onCommit: (ex) => {
      const h = ex.block.header;
      trace.update(`c${now},${node.id},${h.height},${toHex(ex.hash)};`);
      vt?.local(
        vtAt(node.id),
        node.id,
        `commit height=${h.height} hash=${toHex(ex.hash).slice(0, 12)} hlc=${h.time.ms - GENESIS_TIME}.${h.time.logical} txs=${ex.txs.length}`,
      );
      if (node.byzantine) return;
      // Log consistency on this node: the new tree head must extend the previous one.
      const prev = node.lastLog;
      checkConsistency(node, prev.size, prev.root, h.logSize, h.logRoot);
      node.lastLog = { size: h.logSize, root: h.logRoot };
      // What the node's store actually holds now, against the header it committed.
      const at = now;
      asyncChecks.push(
        storeDivergence(chain, h).then((d) => {
          if (d !== undefined) checker.storeDiverged(at, node.id, h.height, d);
        }),
      );
      checker.onCommit(now, node.id, {
        height: h.height,
        hash: ex.hash,
        stateRoot: h.stateRoot,
        logSize: h.logSize,
        logRoot: h.logRoot,
        txIds: ex.txs.map((t) => t.id),
        txOk: ex.receipts.map((r) => r.ok),
      });
      for (const t of ex.txs) workload.onCommitted(toHex(t.id));
    },
  });
  const startNode = async (node: SimNode) => {
    vt?.local(
      vtAt(node.id),
      node.id,
      `${node.starts === 0 ? 'start' : 'restart'} validator v${node.validator}${node.byzantine ? ` (byzantine: ${o.byzantineMode})` : ''} skew=${node.skewMs}`,
    );
    await cluster.start(node);
    const damage = unnoticed.get(node.id);
    if (damage !== undefined) {
      unnoticed.delete(node.id);
      if (node.runtime?.walLoss() === undefined) checker.storageFaultUnnoticed(now, node.id, damage);
    }
  };

  // Store and consistency checks read the node's own store asynchronously; collected here and
  // awaited after every event (runUntil), before anything else can change the store.
  const asyncChecks: Array<Promise<void>> = [];
  const checkConsistency = (
    node: SimNode,
    size1: number,
    root1: Uint8Array,
    size2: number,
    root2: Uint8Array,
  ): void => {
    if (size1 === 0) return;
    const chain = node.runtime?.chain;
    if (chain === undefined) return;
    const at = now;
    asyncChecks.push(
      logExtends(chain.log, size1, root1, size2, root2).then((ok) => {
        if (!ok) checker.logInconsistent(at, node.id, size1, size2);
      }),
    );
  };
  const awaitChecks = async () => {
    while (asyncChecks.length > 0) await Promise.all(asyncChecks.splice(0));
  };

  const signedListeners: Array<(instance: number, slot: SignSlot | undefined, description: string) => void> =
    [];
  const crashNode = (node: SimNode, loseUnsynced: boolean) => {
    if (!node.byzantine) maxReorgDepth = Math.max(maxReorgDepth, node.runtime?.status().maxReorgDepth ?? 0);
    if (node.up)
      vt?.local(vtAt(node.id), node.id, `crash${loseUnsynced ? ' (loses its unsynced write)' : ''}`);
    cluster.crash(node, loseUnsynced);
  };

  // -- workload: each account keeps one transaction in flight (workload.ts) -----------------
  const workload = new Workload({
    chainId: genesis.chainId,
    rng: workRng,
    txs: o.txs,
    now: () => now,
    targets: () => nodes.filter((n) => n.up && !n.byzantine && n.runtime !== undefined),
    submitted: (id, demand) => checker.submitted(id, demand),
  });

  // -- fault schedule: the plan's actions, at their times ----------------------------------
  const faultEnd = GENESIS_TIME + o.durationMs;
  net.faults = { ...net.faults, ...plan.network };
  const schedule = (at: number, fn: () => Promise<void> | void) => queue.push(at, fn);
  const applyFault = async (a: FaultAction): Promise<void> => {
    const node = 'node' in a ? (nodes[a.node] as SimNode) : undefined;
    switch (a.kind) {
      case 'partition':
        net.partition(a.groups.map((g) => [...g]));
        trace.update(`p${now};`);
        return;
      case 'cut-links':
        for (const [from, to] of a.links) net.cut(from, to);
        trace.update(`p${now};`);
        return;
      case 'heal':
        net.healAll();
        return;
      case 'cut':
        net.cut(a.from, a.to);
        return;
      case 'restore':
        net.restore(a.from, a.to);
        return;
      case 'pause':
        net.pause(a.node, GENESIS_TIME + a.untilMs);
        vt?.local(vtAt(a.node), a.node, `paused until t=${a.untilMs}`);
        return;
      case 'crash':
        crashNode(node as SimNode, a.loseUnsynced);
        return;
      case 'corrupt-wal': {
        // Crash the victim, damage one record of its WAL; it must notice when it restarts.
        // Only a validator that has signed keeps a sign fence; without one, a damaged WAL is
        // (rightly) a refusal to start, which is the e2e suite's to check, not the sweep's.
        const victim = node as SimNode;
        if (!victim.up || (await victim.fence.load()).fence === undefined) return;
        crashNode(victim, false);
        const d = await damageWal(victim.walKv, storageRng);
        if (d === undefined) return;
        walRecordsDamaged++;
        unnoticed.set(victim.id, d);
        trace.update(`w${now},${victim.id},${d.kind},${d.key};`);
        return;
      }
      case 'restart': {
        const victim = node as SimNode;
        if (!victim.up && !victim.permanent) await startNode(victim);
        return;
      }
    }
  };
  for (const a of plan.actions) schedule(GENESIS_TIME + a.at, () => applyFault(a));

  const ctl: SimControl = {
    now: () => now - GENESIS_TIME,
    at: (ms, fn) => schedule(GENESIS_TIME + ms, fn),
    instancesOf: (v) => nodes.filter((n) => n.validator === v).map((n) => n.id),
    runtime: (id) => nodes[id]?.runtime,
    crash: (id, opts = {}) => {
      const node = nodes[id] as SimNode;
      node.permanent = opts.permanent ?? false;
      crashNode(node, opts.loseUnsynced ?? false);
    },
    restart: async (id, opts = {}) => {
      const node = nodes[id] as SimNode;
      if (node.up) return;
      if (opts.wipeWal) node.walKv = new JournaledKvStore();
      if (opts.wipeFence) node.fence = new MemorySignFence();
      if (opts.wipeChain) {
        // `verity reset`: the chain data goes, keys, WAL and sign fence stay.
        node.chainKv = new UndoableKvStore();
        node.lastLog = { size: 0, root: emptyRoot() };
      }
      node.permanent = false;
      await startNode(node);
    },
    damageWal: async (id, kind) => {
      const node = nodes[id] as SimNode;
      if (node.up) throw new Error('damageWal: crash the instance first');
      const d = await damageWal(node.walKv, storageRng, kind);
      if (d === undefined) return undefined;
      walRecordsDamaged++;
      unnoticed.set(node.id, d);
      trace.update(`w${now},${node.id},${d.kind},${d.key};`);
      return d;
    },
    setSkew: (id, ms) => {
      (nodes[id] as SimNode).skewMs = ms;
      trace.update(`s${now},${id},${ms};`);
    },
    dropMessages: (drop) => {
      net.drop = drop;
    },
    inject: (fromPeer, channel, bytes) => {
      for (const n of nodes) {
        if (!n.up) continue;
        const ep = net.endpoint(n.id);
        ep.handler?.(fromPeer, channel, bytes);
      }
    },
    onSigned: (cb) => {
      signedListeners.push(cb);
    },
    submit: async (id, etx) => {
      checker.submitted(etx.id);
      const rt = (nodes[id] as SimNode).runtime;
      if (rt === undefined) return { ok: false, code: 'NODE_HALTED', reason: 'instance is down' };
      return rt.submit(etx);
    },
  };
  o.scenario?.(ctl);

  // -- run ------------------------------------------------------------------------------------
  for (const n of nodes) await startNode(n);
  const tickWorkload = () => {
    schedule(now + 200, async () => {
      await workload.tick();
      if (now < faultEnd + (o.livenessMs ?? 30_000)) tickWorkload();
    });
  };
  tickWorkload();

  // Reads, for an engine that confirms them (EngineModule.reads): every 500 ms a random up honest
  // node serves one, in a random mode; the checker holds it to what was committed when it began.
  // (Their own random source: engines without reads replay exactly as before reads existed.)
  const readRng = root.derive('reads');
  const reads = { served: 0, failed: 0 };
  const tickReads = () => {
    schedule(now + 500, () => {
      const up = nodes.filter((n) => n.up && !n.byzantine && n.runtime !== undefined);
      const node = up.length > 0 ? up[readRng.int(up.length)] : undefined;
      const mode = o.engine.reads[readRng.int(o.engine.reads.length)] as ReadMode;
      const runtime = node?.runtime;
      if (node !== undefined && runtime !== undefined) {
        const floor = checker.maxHeight;
        runtime.read(mode).then(
          (index) => {
            reads.served++;
            if (index < floor) checker.staleRead(now, node.id, mode, floor, index);
          },
          (e: unknown) => {
            // A read that cannot be confirmed now is a typed answer; anything else is a bug.
            if (e instanceof ReadError) reads.failed++;
            else checker.halted(now, node.id, 'READ', e instanceof Error ? e.message : String(e));
          },
        );
      }
      if (now < faultEnd + (o.livenessMs ?? 30_000)) tickReads();
    });
  };
  if (o.engine.reads.length > 0) tickReads();

  const settle = async () => {
    for (const n of nodes) if (n.runtime) await n.runtime.idle();
  };
  let events = 0;
  const maxEvents = o.maxEvents ?? 5_000_000;
  const runUntil = async (limit: number, stop?: () => boolean) => {
    let lastProgress = now;
    for (;;) {
      const next = queue.peekTime();
      if (next === undefined || next > limit || events >= maxEvents) break;
      const ev = queue.pop();
      if (ev === undefined) break;
      now = ev.time;
      await ev.run();
      await settle();
      await awaitChecks();
      if (o.log)
        for (const n of nodes)
          if (n.runtime && n.runtime.debugBusy() !== 'q=0 draining=false')
            o.log(`BUSY n${n.id} ${n.runtime.debugBusy()}`);
      events++;
      if (o.onProgress && now - lastProgress >= 5000) {
        lastProgress = now;
        o.onProgress({
          phase: now <= faultEnd ? 'faults' : 'liveness',
          timeMs: now - GENESIS_TIME,
          height: checker.maxHeight,
        });
      }
      if (stop?.()) break;
    }
    if (now < limit && (queue.peekTime() === undefined || (queue.peekTime() as number) > limit)) now = limit;
  };

  await runUntil(faultEnd);

  // -- liveness phase: heal, restart, and require progress from every honest node --------------
  net.healAll();
  net.drop = undefined;
  net.faults = { loss: 0, duplicate: 0, replayMaxMs: 0, minLatencyMs: 5, jitterMs: 20 };
  for (const n of nodes) if (!n.up && !n.byzantine && !n.permanent) await startNode(n);
  if (!o.engine.emptyBlocks) workload.demand();
  const heightOf = (n: SimNode) => n.runtime?.chain.height ?? 0;
  const honest = nodes.filter((n) => !n.byzantine && !n.permanent);
  const target = Math.max(...honest.map(heightOf)) + (o.livenessBlocks ?? 2);
  const livenessDeadline = now + (o.livenessMs ?? 30_000);
  await runUntil(livenessDeadline, () => honest.every((n) => heightOf(n) >= target));
  const failure = livenessFailure({
    model,
    validators: genesis.validators,
    honest: honest.map((n) => ({ validator: n.validator, height: heightOf(n) })),
    target,
    blocks: o.livenessBlocks ?? 2,
    withinMs: o.livenessMs ?? 30_000,
  });
  const live = failure === undefined;
  await awaitChecks();
  await o.inspect?.(ctl);
  for (const n of nodes) n.runtime?.stop();
  // (runtimes are stopped but still answer status())

  const viewChanges = honest.reduce((s, n) => s + (n.runtime?.status().viewChanges ?? 0), 0);
  for (const n of honest) maxReorgDepth = Math.max(maxReorgDepth, n.runtime?.status().maxReorgDepth ?? 0);
  const bestChain = Math.max(0, ...honest.map((n) => n.runtime?.status().height ?? 0));
  return {
    engine: o.engine.name,
    nodes: o.nodes,
    byzantine: o.byzantine,
    byzantineMode: o.byzantineMode,
    tolerated,
    seed: o.seed,
    simulatedMs: now - GENESIS_TIME,
    committedHeight: checker.maxHeight,
    committedTxs: checker.committedTxs,
    demandTxs: checker.demandTxs,
    reads,
    viewChanges,
    ...(mined === 0
      ? {}
      : { mining: { mined, orphanRate: Math.max(0, 1 - bestChain / mined), maxReorgDepth } }),
    messages: net.messages,
    bytes: net.bytes,
    safe: checker.safe,
    live,
    ...(failure === undefined ? {} : { livenessFailure: failure }),
    violations: checker.violations,
    traceHash: trace.digest('hex'),
    engineReports: evidence,
    evidenceBytes,
    evidence: [...equivocations.values()].sort(
      (a, b) =>
        a.validator - b.validator ||
        a.slot.height - b.slot.height ||
        a.slot.round - b.slot.round ||
        a.slot.step - b.slot.step,
    ),
    refusedDoubleSigns: refused,
    walRecordsDamaged,
    wallMs: Math.round(performance.now() - wallStart),
    ...(vt === undefined
      ? {}
      : {
          vectorTrace: vt.render(
            `${replayCommand(o)}${o.byzantineValidators === undefined ? '' : ` (byzantine validators ${o.byzantineValidators.join(',')})`}`,
          ),
        }),
    nodeStates: nodes.map((n) => ({
      id: n.id,
      validator: n.validator,
      byzantine: n.byzantine,
      up: n.up,
      height: n.runtime?.chain.height ?? -1,
      status: n.runtime?.status(),
    })),
  };
}

/** POSIX shell quoting: bare when only safe characters, else single quotes. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The `verity sim` command line that replays a run: every option the command has a flag for,
 * exactly (the fault phase in ms, values shell-quoted). Options without a flag (`livenessMs`,
 * `livenessBlocks`, `maxEvents`, `uncachedVerify`, scenarios) are not representable; the sweeps,
 * whose failures this prints, use none of them.
 */
export function replayCommand(o: SimOptions): string {
  const params = Object.entries(o.engineParams ?? {});
  const engine = `${o.engine.name}${params.length ? `:${params.map(([k, v]) => `${k}=${v}`).join(',')}` : ''}`;
  const faults = FAULT_KINDS.filter((f) => o.faults.has(f)).join(',');
  const duration = o.durationMs % 1000 === 0 ? `${o.durationMs / 1000}s` : `${o.durationMs}ms`;
  return [
    'verity sim',
    `--engine ${shellQuote(engine)}`,
    `--nodes ${o.nodes}`,
    `--byzantine ${o.byzantine}`,
    `--byzantine-mode ${o.byzantineMode}`,
    faults ? `--faults ${faults}` : '',
    `--seed ${shellQuote(o.seed)}`,
    `--duration ${duration}`,
    `--txs ${o.txs}`,
    o.hashPower === undefined ? '' : `--hash-power ${o.hashPower.join(',')}`,
    o.minBlockIntervalMs ? `--min-block-interval ${o.minBlockIntervalMs}` : '',
    // (Apart, the two do nothing, and the command refuses one without the other.)
    o.load
      ? `--busy-block-interval ${o.busyBlockIntervalMs ?? o.minBlockIntervalMs ?? 0} --load ${o.load}`
      : '',
  ]
    .filter(Boolean)
    .join(' ');
}
