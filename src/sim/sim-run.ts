/**
 * One simulation run (simulation.ts describes what it does and checks), as a struct with phases
 * after TigerBeetle's VOPR: the constructor builds the world from the options — random streams,
 * network, cluster, fault plan, workload — and `run` drives it: `#start` (fault actions, scenario,
 * nodes, workload and read ticks), `#runUntil` the end of the fault phase, `#livenessPhase`, then
 * `#result`. What the run watches on every runtime (`#hooks`), what a scenario may do to it
 * (`#control`) and how a planned fault is applied (`#applyFault`) are methods of their own.
 *
 * Determinism: every random stream is derived from the root seed by name (so the order of
 * derivation is free), and events go on the one queue in the order this file pushes them, which
 * replays are held to by the trace hash.
 */

import { createHash } from 'node:crypto';
import { encodeEquivocation } from '../../consensus/evidence.ts';
import { type FaultModel, tolerates } from '../../consensus/fault-model.ts';
import { type Rng, SeededRng, shuffle } from '../../consensus/rng.ts';
import type { ReadMode, SignSlot } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import type { ChainStore } from '../../ledger/chain.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { emptyRoot } from '../../ledger/log/index.ts';
import type { Channel } from '../runtime/ports.ts';
import { ReadError } from '../runtime/read-barrier.ts';
import type { RuntimeHooks } from '../runtime/runtime.ts';
import { MemorySignFence } from '../runtime/sign-fence.ts';
import { logExtends, SafetyChecker, storeDivergence } from './checkers.ts';
import { EventQueue } from './event-queue.ts';
import { type FaultAction, type FaultPlan, planFaults } from './fault-plan.ts';
import { livenessFailure } from './liveness.ts';
import { SimNetwork } from './network.ts';
import { SimCluster, type SimNode } from './sim-cluster.ts';
import { GENESIS_TIME, memoVerifier, simGenesis } from './sim-world.ts';
import type { SimControl, SimOptions, SimResult } from './simulation.ts';
import { damageWal, JournaledKvStore, type WalDamage } from './storage-faults.ts';
import { UndoableKvStore } from './undoable-store.ts';
import { describeWire, type TraceTime, VectorTrace } from './vector-trace.ts';
import { Workload } from './workload.ts';

type SignedListener = (instance: number, slot: SignSlot | undefined, description: string) => void;

export class SimRun {
  readonly #o: SimOptions;
  /** The vector trace's first line: the command that replays this run. */
  readonly #describe: () => string;
  readonly #wallStart = performance.now();
  readonly #root: SeededRng;
  readonly #storageRng: Rng;
  readonly #readRng: Rng;
  readonly #queue = new EventQueue();
  #now = GENESIS_TIME;
  readonly #net: SimNetwork;
  readonly #checker = new SafetyChecker();
  readonly #trace = createHash('sha256');
  readonly #genesis: Genesis;
  readonly #model: FaultModel;
  readonly #tolerated: boolean;
  readonly #cluster: SimCluster;
  readonly #nodes: readonly SimNode[];
  readonly #vt: VectorTrace | undefined;
  readonly #plan: FaultPlan;
  readonly #workload: Workload;
  readonly #faultEnd: number;
  readonly #livenessMs: number;

  /** Damage done to a crashed node's WAL, to be noticed when it starts again. */
  readonly #unnoticed = new Map<number, WalDamage>();
  /**
   * Store and consistency checks read the node's own store asynchronously; collected here and
   * awaited after every event (#runUntil), before anything else can change the store.
   */
  readonly #asyncChecks: Array<Promise<void>> = [];
  readonly #signedListeners: SignedListener[] = [];
  readonly #equivocations = new Map<string, { validator: number; slot: SignSlot }>();
  readonly #evidenceBytes: Uint8Array[] = [];
  readonly #reads = { served: 0, failed: 0 };
  #refused = 0;
  #mined = 0;
  #evidence = 0;
  #walRecordsDamaged = 0;
  /** The deepest reorganization an honest node reported (kept across its restarts). */
  #maxReorgDepth = 0;
  #events = 0;

  constructor(o: SimOptions, describe: () => string) {
    this.#o = o;
    this.#describe = describe;
    const root = new SeededRng(o.seed);
    this.#root = root;
    const byzRng = root.derive('byzantine');
    this.#net = new SimNetwork(this.#queue, root.derive('network'), () => this.#now);
    const params = { ...o.engine.simParams, ...o.engineParams };
    const candidates = o.staking?.candidates ?? 0;
    const { genesis, deal } = simGenesis(
      o.engine.name,
      params,
      o.nodes,
      o.staking === undefined
        ? undefined
        : { config: o.staking.config, fundValidators: o.nodes + candidates },
    );
    this.#genesis = genesis;
    this.#model = o.engine.faultModel;

    // Which validators are Byzantine: chosen by the seed, so rotation positions vary across runs.
    const seededByz = shuffle(
      Array.from({ length: o.nodes }, (_, i) => i),
      byzRng,
    ).slice(0, o.byzantine);
    const byzSet = new Set(o.byzantineValidators ?? seededByz);
    this.#tolerated = this.#tolerates(byzSet);

    this.#net.observer = (ev) => {
      this.#trace.update(`d${ev.time},${ev.from},${ev.to},${ev.channel},${ev.duplicate ? 1 : 0},`);
      this.#trace.update(createHash('sha256').update(ev.bytes).digest());
    };
    this.#cluster = new SimCluster({
      engine: o.engine,
      genesis,
      deal,
      byzantineMode: o.byzantineMode,
      queue: this.#queue,
      net: this.#net,
      now: () => this.#now,
      trace: (line) => this.#trace.update(line),
      verify: o.uncachedVerify ? ed25519.verify : memoVerifier(),
      rng: root,
      byzantineRng: byzRng,
      hooks: (node, chain) => this.#hooks(node, chain),
      ...(o.log === undefined ? {} : { log: o.log }),
      ...(o.snapshotLead === undefined ? {} : { snapshotLead: o.snapshotLead }),
      ...(o.minBlockIntervalMs === undefined ? {} : { minBlockIntervalMs: o.minBlockIntervalMs }),
      ...(o.busyBlockIntervalMs === undefined ? {} : { busyBlockIntervalMs: o.busyBlockIntervalMs }),
      ...(o.load === undefined ? {} : { load: o.load }),
      ...(o.hashPower === undefined ? {} : { hashPower: o.hashPower }),
      ...(o.leaderOverride === undefined ? {} : { leaderOverride: o.leaderOverride }),
    });
    this.#nodes = this.#cluster.nodes;
    for (let v = 0; v < o.nodes; v++) {
      this.#cluster.add(v, byzSet.has(v));
      if (byzSet.has(v) && o.byzantineMode === 'twins') this.#cluster.add(v, true);
    }
    for (let c = 0; c < candidates; c++) this.#cluster.add(o.nodes + c, false);
    this.#vt =
      o.vectorTrace === undefined
        ? undefined
        : this.#recordVectorTrace(new VectorTrace(this.#nodes.length, o.vectorTrace));

    // Storage faults damage the WAL of validators the fault model has room for beside the
    // Byzantine ones: a validator whose WAL lost a record refuses to sign until the chain passes
    // what it may have signed, so it is one of the f for liveness.
    // (Their own random source: runs without them replay exactly as before the fault existed.)
    this.#storageRng = root.derive('storage');
    const walVictims = o.faults.has('corrupt')
      ? shuffle(
          this.#nodes.filter((n) => !n.byzantine),
          this.#storageRng,
        ).slice(0, Math.max(0, this.#model.tolerated(o.nodes) - o.byzantine))
      : [];
    // What goes wrong, and when: a pure function of the fault stream (fault-plan.ts).
    this.#plan = planFaults(root.derive('faults'), {
      faults: o.faults,
      durationMs: o.durationMs,
      nodes: this.#nodes,
      walVictims: walVictims.map((n) => n.id),
      twins: o.byzantineMode === 'twins' && o.byzantine > 0,
    });
    for (const n of this.#nodes) n.skewMs = this.#plan.skewMs.get(n.id) ?? 0;

    // -- workload: each account keeps one transaction in flight (workload.ts) ---------------
    this.#workload = new Workload({
      chainId: genesis.chainId,
      rng: root.derive('workload'),
      txs: o.txs,
      now: () => this.#now,
      targets: () => this.#nodes.filter((n) => n.up && !n.byzantine && n.runtime !== undefined),
      submitted: (id, demand) => this.#checker.submitted(id, demand),
    });
    // Reads (their own random source: engines without reads replay exactly as before reads existed).
    this.#readRng = root.derive('reads');
    this.#faultEnd = GENESIS_TIME + o.durationMs;
    this.#livenessMs = o.livenessMs ?? 30_000;
    this.#net.faults = { ...this.#net.faults, ...this.#plan.network };
  }

  async run(): Promise<SimResult> {
    await this.#start();
    await this.#runUntil(this.#faultEnd);
    const liveness = await this.#livenessPhase();
    await this.#awaitChecks();
    await this.#o.inspect?.(this.#control());
    for (const n of this.#nodes) n.runtime?.stop();
    // (runtimes are stopped but still answer status())
    return this.#result(liveness);
  }

  // -- setup ------------------------------------------------------------------------------------

  /** With unequal hash power, what a Proof-of-Work model tolerates is a share of it, not a count. */
  #tolerates(byzSet: ReadonlySet<number>): boolean {
    const o = this.#o;
    if (o.hashPower === undefined || o.byzantine === 0)
      return tolerates(this.#model, o.nodes, o.byzantine, o.byzantineMode);
    const total = o.hashPower.reduce((a, b) => a + b, 0);
    const byzantineShare = [...byzSet].reduce((a, v) => a + (o.hashPower?.[v] ?? 0), 0) / total;
    const admitted =
      this.#model.byzantineModes === 'all' || this.#model.byzantineModes.includes(o.byzantineMode);
    return admitted && byzantineShare < 0.5;
  }

  /** The vector-clock trace (vector-trace.ts), only when asked for: hooks on sends and deliveries. */
  #recordVectorTrace(vt: VectorTrace): VectorTrace {
    const net = this.#net;
    // A broadcast sends one byte array to every peer: describe it once.
    const described = new WeakMap<Uint8Array, string>();
    const describe = (channel: Channel, bytes: Uint8Array) => {
      let d = described.get(bytes);
      if (d === undefined) described.set(bytes, (d = describeWire(this.#o.engine.codec, channel, bytes)));
      return d;
    };
    const hashDelivery = net.observer;
    net.observer = (ev) => {
      hashDelivery?.(ev);
      vt.receive(
        this.#vtAt(ev.to),
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
        this.#vtAt(ev.from),
        ev.msg,
        ev.from,
        ev.to,
        ev.channel,
        describe(ev.channel, ev.bytes),
        ev.fate === 'scheduled' ? undefined : ev.fate,
      );
    return vt;
  }

  #vtAt(id: number): TraceTime {
    return { t: this.#now - GENESIS_TIME, wall: this.#now - GENESIS_TIME + (this.#nodes[id]?.skewMs ?? 0) };
  }

  // -- what the run watches ---------------------------------------------------------------------

  /** What the run watches on an instance's runtime: signatures, evidence, halts and commits. */
  #hooks(node: SimNode, chain: ChainStore): RuntimeHooks {
    const checker = this.#checker;
    return {
      onSigned: (slot, hash, desc, epoch) => {
        if (node.byzantine) return;
        checker.onSigned(this.#now, node.validator, slot, hash, desc, epoch);
        for (const cb of this.#signedListeners) cb(node.id, slot, desc);
      },
      onRefused: () => {
        this.#refused++;
      },
      // Evidence a node reports is a submission like the workload's (a Byzantine validator's
      // runtime reports too: any key holder may submit transactions).
      onOriginated: (etx) => checker.submitted(etx.id),
      onEpoch: (epoch, validators) => {
        if (!node.byzantine) checker.epochSet(this.#now, node.id, epoch, toHex(validators.hash));
      },
      onEvidence: () => {
        this.#evidence++;
      },
      onEquivocation: (e) => {
        if (node.byzantine) return;
        const key = `${e.validator}/${e.slot.height}/${e.slot.round}/${e.slot.step}`;
        if (!this.#equivocations.has(key)) {
          this.#equivocations.set(key, { validator: e.validator, slot: e.slot });
          this.#evidenceBytes.push(encodeEquivocation(e));
        }
      },
      onMined: () => {
        this.#mined++;
      },
      onHalt: (halt) => {
        this.#trace.update(`h${this.#now},${node.id};`);
        this.#vt?.local(this.#vtAt(node.id), node.id, `HALT ${halt.code}: ${halt.message}`);
        if (!node.byzantine) checker.halted(this.#now, node.id, halt.code, halt.message);
      },
      onCommit: (ex) => {
        const h = ex.block.header;
        this.#trace.update(`c${this.#now},${node.id},${h.height},${toHex(ex.hash)};`);
        this.#vt?.local(
          this.#vtAt(node.id),
          node.id,
          `commit height=${h.height} hash=${toHex(ex.hash).slice(0, 12)} hlc=${h.time.ms - GENESIS_TIME}.${h.time.logical} txs=${ex.txs.length}`,
        );
        if (node.byzantine) return;
        // Log consistency on this node: the new tree head must extend the previous one.
        const prev = node.lastLog;
        this.#checkConsistency(node, prev.size, prev.root, h.logSize, h.logRoot);
        node.lastLog = { size: h.logSize, root: h.logRoot };
        // What the node's store actually holds now, against the header it committed.
        const at = this.#now;
        this.#asyncChecks.push(
          storeDivergence(chain, h).then((d) => {
            if (d !== undefined) checker.storeDiverged(at, node.id, h.height, d);
          }),
        );
        checker.onCommit(this.#now, node.id, {
          height: h.height,
          hash: ex.hash,
          stateRoot: h.stateRoot,
          logSize: h.logSize,
          logRoot: h.logRoot,
          txIds: ex.txs.map((t) => t.id),
          txOk: ex.receipts.map((r) => r.ok),
        });
        for (const t of ex.txs) this.#workload.onCommitted(toHex(t.id));
      },
    };
  }

  #checkConsistency(node: SimNode, size1: number, root1: Uint8Array, size2: number, root2: Uint8Array): void {
    if (size1 === 0) return;
    const chain = node.runtime?.chain;
    if (chain === undefined) return;
    const at = this.#now;
    this.#asyncChecks.push(
      logExtends(chain.log, size1, root1, size2, root2).then((ok) => {
        if (!ok) this.#checker.logInconsistent(at, node.id, size1, size2);
      }),
    );
  }

  async #awaitChecks(): Promise<void> {
    while (this.#asyncChecks.length > 0) await Promise.all(this.#asyncChecks.splice(0));
  }

  // -- nodes and faults -------------------------------------------------------------------------

  async #startNode(node: SimNode): Promise<void> {
    this.#vt?.local(
      this.#vtAt(node.id),
      node.id,
      `${node.starts === 0 ? 'start' : 'restart'} validator v${node.validator}${node.byzantine ? ` (byzantine: ${this.#o.byzantineMode})` : ''} skew=${node.skewMs}`,
    );
    await this.#cluster.start(node);
    const damage = this.#unnoticed.get(node.id);
    if (damage !== undefined) {
      this.#unnoticed.delete(node.id);
      if (node.runtime?.walLoss() === undefined)
        this.#checker.storageFaultUnnoticed(this.#now, node.id, damage);
    }
  }

  #crashNode(node: SimNode, loseUnsynced: boolean): void {
    if (!node.byzantine)
      this.#maxReorgDepth = Math.max(this.#maxReorgDepth, node.runtime?.status().maxReorgDepth ?? 0);
    if (node.up)
      this.#vt?.local(
        this.#vtAt(node.id),
        node.id,
        `crash${loseUnsynced ? ' (loses its unsynced write)' : ''}`,
      );
    this.#cluster.crash(node, loseUnsynced);
  }

  /** Damages one record of a crashed node's WAL; it must notice when it restarts. */
  async #damageWal(node: SimNode, kind?: Parameters<typeof damageWal>[2]): Promise<WalDamage | undefined> {
    const d = await damageWal(node.walKv, this.#storageRng, kind);
    if (d === undefined) return undefined;
    this.#walRecordsDamaged++;
    this.#unnoticed.set(node.id, d);
    this.#trace.update(`w${this.#now},${node.id},${d.kind},${d.key};`);
    return d;
  }

  #schedule(at: number, fn: () => Promise<void> | void): void {
    this.#queue.push(at, fn);
  }

  async #applyFault(a: FaultAction): Promise<void> {
    const net = this.#net;
    const node = 'node' in a ? (this.#nodes[a.node] as SimNode) : undefined;
    switch (a.kind) {
      case 'partition':
        net.partition(a.groups.map((g) => [...g]));
        this.#trace.update(`p${this.#now};`);
        return;
      case 'cut-links':
        for (const [from, to] of a.links) net.cut(from, to);
        this.#trace.update(`p${this.#now};`);
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
        this.#vt?.local(this.#vtAt(a.node), a.node, `paused until t=${a.untilMs}`);
        return;
      case 'crash':
        this.#crashNode(node as SimNode, a.loseUnsynced);
        return;
      case 'corrupt-wal': {
        // Crash the victim, damage one record of its WAL; it must notice when it restarts.
        // Only a validator that has signed keeps a sign fence; without one, a damaged WAL is
        // (rightly) a refusal to start, which is the e2e suite's to check, not the sweep's.
        const victim = node as SimNode;
        if (!victim.up || (await victim.fence.load()).fence === undefined) return;
        this.#crashNode(victim, false);
        await this.#damageWal(victim);
        return;
      }
      case 'restart': {
        const victim = node as SimNode;
        if (!victim.up && !victim.permanent) await this.#startNode(victim);
        return;
      }
    }
  }

  /** What a scenario can do to the run (SimControl). */
  #control(): SimControl {
    const nodes = this.#nodes;
    return {
      now: () => this.#now - GENESIS_TIME,
      at: (ms, fn) => this.#schedule(GENESIS_TIME + ms, fn),
      instancesOf: (v) => nodes.filter((n) => n.validator === v).map((n) => n.id),
      runtime: (id) => nodes[id]?.runtime,
      crash: (id, opts = {}) => {
        const node = nodes[id] as SimNode;
        node.permanent = opts.permanent ?? false;
        this.#crashNode(node, opts.loseUnsynced ?? false);
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
        await this.#startNode(node);
      },
      damageWal: async (id, kind) => {
        const node = nodes[id] as SimNode;
        if (node.up) throw new Error('damageWal: crash the instance first');
        return this.#damageWal(node, kind);
      },
      setSkew: (id, ms) => {
        (nodes[id] as SimNode).skewMs = ms;
        this.#trace.update(`s${this.#now},${id},${ms};`);
      },
      dropMessages: (drop) => {
        this.#net.drop = drop;
      },
      inject: (fromPeer, channel, bytes) => {
        for (const n of nodes) {
          if (!n.up) continue;
          const ep = this.#net.endpoint(n.id);
          ep.handler?.(fromPeer, channel, bytes);
        }
      },
      onSigned: (cb) => {
        this.#signedListeners.push(cb);
      },
      submit: async (id, etx) => {
        this.#checker.submitted(etx.id);
        const rt = (nodes[id] as SimNode).runtime;
        if (rt === undefined) return { ok: false, code: 'NODE_HALTED', reason: 'instance is down' };
        return rt.submit(etx);
      },
    };
  }

  // -- phases -----------------------------------------------------------------------------------

  /** The fault plan's actions at their times, the scenario, every node, and the periodic ticks. */
  async #start(): Promise<void> {
    for (const a of this.#plan.actions) this.#schedule(GENESIS_TIME + a.at, () => this.#applyFault(a));
    this.#o.scenario?.(this.#control());
    for (const n of this.#nodes) await this.#startNode(n);
    this.#tickWorkload();
    if (this.#o.engine.reads.length > 0) this.#tickReads();
  }

  #ticking(): boolean {
    return this.#now < this.#faultEnd + this.#livenessMs;
  }

  #tickWorkload(): void {
    this.#schedule(this.#now + 200, async () => {
      await this.#workload.tick();
      if (this.#ticking()) this.#tickWorkload();
    });
  }

  /**
   * Reads, for an engine that confirms them (EngineModule.reads): every 500 ms a random up honest
   * node serves one, in a random mode; the checker holds it to what was committed when it began.
   */
  #tickReads(): void {
    this.#schedule(this.#now + 500, () => {
      const up = this.#nodes.filter((n) => n.up && !n.byzantine && n.runtime !== undefined);
      const node = up.length > 0 ? up[this.#readRng.int(up.length)] : undefined;
      const mode = this.#o.engine.reads[this.#readRng.int(this.#o.engine.reads.length)] as ReadMode;
      const runtime = node?.runtime;
      if (node !== undefined && runtime !== undefined) {
        const floor = this.#checker.maxHeight;
        runtime.read(mode).then(
          (index) => {
            this.#reads.served++;
            if (index < floor) this.#checker.staleRead(this.#now, node.id, mode, floor, index);
          },
          (e: unknown) => {
            // A read that cannot be confirmed now is a typed answer; anything else is a bug.
            if (e instanceof ReadError) this.#reads.failed++;
            else this.#checker.halted(this.#now, node.id, 'READ', e instanceof Error ? e.message : String(e));
          },
        );
      }
      if (this.#ticking()) this.#tickReads();
    });
  }

  async #settle(): Promise<void> {
    for (const n of this.#nodes) if (n.runtime) await n.runtime.idle();
  }

  /** Runs events until virtual time `limit` (or `stop` says so), settling every node after each. */
  async #runUntil(limit: number, stop?: () => boolean): Promise<void> {
    const o = this.#o;
    const queue = this.#queue;
    const maxEvents = o.maxEvents ?? 5_000_000;
    let lastProgress = this.#now;
    for (;;) {
      const next = queue.peekTime();
      if (next === undefined || next > limit || this.#events >= maxEvents) break;
      const ev = queue.pop();
      if (ev === undefined) break;
      this.#now = ev.time;
      await ev.run();
      await this.#settle();
      await this.#awaitChecks();
      if (o.log)
        for (const n of this.#nodes)
          if (n.runtime && n.runtime.debugBusy() !== 'q=0 draining=false')
            o.log(`BUSY n${n.id} ${n.runtime.debugBusy()}`);
      this.#events++;
      if (o.onProgress && this.#now - lastProgress >= 5000) {
        lastProgress = this.#now;
        o.onProgress({
          phase: this.#now <= this.#faultEnd ? 'faults' : 'liveness',
          timeMs: this.#now - GENESIS_TIME,
          height: this.#checker.maxHeight,
        });
      }
      if (stop?.()) break;
    }
    if (this.#now < limit && (queue.peekTime() === undefined || (queue.peekTime() as number) > limit))
      this.#now = limit;
  }

  /** Heal, restart, and require progress from every honest node: why not, or undefined if live. */
  async #livenessPhase(): Promise<{ failure: string | undefined; honest: SimNode[] }> {
    const o = this.#o;
    const net = this.#net;
    net.healAll();
    net.drop = undefined;
    net.faults = { loss: 0, duplicate: 0, replayMaxMs: 0, minLatencyMs: 5, jitterMs: 20 };
    for (const n of this.#nodes) if (!n.up && !n.byzantine && !n.permanent) await this.#startNode(n);
    if (!o.engine.emptyBlocks) this.#workload.demand();
    const heightOf = (n: SimNode) => n.runtime?.chain.height ?? 0;
    const honest = this.#nodes.filter((n) => !n.byzantine && !n.permanent);
    const target = Math.max(...honest.map(heightOf)) + (o.livenessBlocks ?? 2);
    await this.#runUntil(this.#now + this.#livenessMs, () => honest.every((n) => heightOf(n) >= target));
    const failure = livenessFailure({
      model: this.#model,
      validators: this.#genesis.validators,
      honest: honest.map((n) => ({ validator: n.validator, height: heightOf(n) })),
      target,
      blocks: o.livenessBlocks ?? 2,
      withinMs: this.#livenessMs,
    });
    return { failure, honest };
  }

  #result({ failure, honest }: { failure: string | undefined; honest: SimNode[] }): SimResult {
    const o = this.#o;
    const checker = this.#checker;
    const viewChanges = honest.reduce((s, n) => s + (n.runtime?.status().viewChanges ?? 0), 0);
    for (const n of honest)
      this.#maxReorgDepth = Math.max(this.#maxReorgDepth, n.runtime?.status().maxReorgDepth ?? 0);
    const bestChain = Math.max(0, ...honest.map((n) => n.runtime?.status().height ?? 0));
    const mined = this.#mined;
    return {
      engine: o.engine.name,
      nodes: o.nodes,
      byzantine: o.byzantine,
      byzantineMode: o.byzantineMode,
      tolerated: this.#tolerated,
      seed: o.seed,
      simulatedMs: this.#now - GENESIS_TIME,
      committedHeight: checker.maxHeight,
      committedTxs: checker.committedTxs,
      demandTxs: checker.demandTxs,
      reads: this.#reads,
      viewChanges,
      ...(mined === 0
        ? {}
        : {
            mining: {
              mined,
              orphanRate: Math.max(0, 1 - bestChain / mined),
              maxReorgDepth: this.#maxReorgDepth,
            },
          }),
      messages: this.#net.messages,
      bytes: this.#net.bytes,
      safe: checker.safe,
      live: failure === undefined,
      ...(failure === undefined ? {} : { livenessFailure: failure }),
      violations: checker.violations,
      traceHash: this.#trace.digest('hex'),
      engineReports: this.#evidence,
      evidenceBytes: this.#evidenceBytes,
      evidence: [...this.#equivocations.values()].sort(
        (a, b) =>
          a.validator - b.validator ||
          a.slot.height - b.slot.height ||
          a.slot.round - b.slot.round ||
          a.slot.step - b.slot.step,
      ),
      refusedDoubleSigns: this.#refused,
      walRecordsDamaged: this.#walRecordsDamaged,
      wallMs: Math.round(performance.now() - this.#wallStart),
      ...(this.#vt === undefined ? {} : { vectorTrace: this.#vt.render(this.#describe()) }),
      nodeStates: this.#nodes.map((n) => ({
        id: n.id,
        validator: n.validator,
        byzantine: n.byzantine,
        up: n.up,
        height: n.runtime?.chain.height ?? -1,
        status: n.runtime?.status(),
      })),
    };
  }
}
