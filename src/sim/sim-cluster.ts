/**
 * The simulated cluster's node lifecycle: one instance per validator (two for twins), each with its
 * own chain store (an unsynced last write a crash may lose), WAL, sign fence, timers and skewed
 * clock, started as a real ConsensusRuntime over the simulated network — Byzantine instances behind
 * their misbehaving transport — crashed, and restarted from what their disks kept. What a run
 * watches (commits, signatures, halts) comes in as hooks; this module checks nothing itself.
 */

import type { SignatureVerifier } from '../../consensus/envelope.ts';
import { stakingEvidenceVerifier } from '../../consensus/evidence.ts';
import { parsePowParams } from '../../consensus/pow/params.ts';
import type { Rng } from '../../consensus/rng.ts';
import type { EngineModule, LeaderOverride, MessageCodec } from '../../consensus/types.ts';
import type { bls } from '../../crypto/bls/index.ts';
import { ChainStore } from '../../ledger/chain.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { peerIdFromEd25519 } from '../../ledger/validators.ts';
import { engineChainOptions } from '../chain-options.ts';
import { ConsensusRuntime, type RuntimeHooks } from '../runtime/runtime.ts';
import { MemorySignFence } from '../runtime/sign-fence.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../schemes.ts';
import { AlternativeBlocks } from './alternative-blocks.ts';
import { type ByzantineMode, byzantineTransport } from './byzantine.ts';
import type { EventQueue } from './event-queue.ts';
import type { SimNetwork } from './network.ts';
import { SimMiner, shareOf, simHashesPerMs } from './sim-miner.ts';
import { SimTimers } from './sim-timers.ts';
import { GENESIS_TIME, validatorKeys } from './sim-world.ts';
import { JournaledKvStore } from './storage-faults.ts';
import { UndoableKvStore } from './undoable-store.ts';

export interface SimNode {
  /** Network endpoint id (an index into the cluster's nodes). */
  readonly id: number;
  readonly validator: number;
  readonly byzantine: boolean;
  chainKv: UndoableKvStore;
  walKv: JournaledKvStore;
  fence: MemorySignFence;
  runtime: ConsensusRuntime<unknown> | undefined;
  timers: SimTimers | undefined;
  skewMs: number;
  up: boolean;
  lastLog: { size: number; root: Uint8Array };
  /** Crashed for good: not restarted, not required to be live. */
  permanent: boolean;
  /** How many times this instance has started. */
  starts: number;
}

export interface SimClusterOptions {
  readonly engine: EngineModule<unknown>;
  readonly genesis: Genesis;
  readonly deal: ReturnType<typeof bls.threshold.deal> | undefined;
  readonly byzantineMode: ByzantineMode;
  readonly queue: EventQueue;
  readonly net: SimNetwork;
  /** Virtual time (true time; a node's clock adds its skew). */
  readonly now: () => number;
  /** Folds a line into the run's trace hash. */
  readonly trace: (line: string) => void;
  /** ConsensusRuntime's snapshotLead (state sync); its default when absent. */
  readonly snapshotLead?: number;
  /** ConsensusRuntime's minBlockIntervalMs; 0 when absent. */
  readonly minBlockIntervalMs?: number;
  /** ConsensusRuntime's busyBlockIntervalMs; the minimum when absent. */
  readonly busyBlockIntervalMs?: number;
  /** What every node's ConsensusRuntime `load` reads (a fixed value); never busy when absent. */
  readonly load?: number;
  /** Each validator's relative share of the hash power (Proof of Work); equal when absent. */
  readonly hashPower?: readonly number[];
  readonly verify: SignatureVerifier;
  /** The run's root random source: each instance's runtime gets `node-<id>` of it (per start). */
  readonly rng: Rng;
  /** Byzantine behaviour's random source: each instance's gets `node-<id>` of it. */
  readonly byzantineRng: Rng;
  /** What the run watches on this instance's runtime. */
  readonly hooks: (node: SimNode, chain: ChainStore) => RuntimeHooks;
  /** Debugging: every runtime log line with its node and virtual time. */
  readonly log?: (line: string) => void;
  /** Every instance's leader choice (SimOptions.leaderOverride). */
  readonly leaderOverride?: LeaderOverride;
}

export class SimCluster {
  readonly nodes: SimNode[] = [];
  readonly #o: SimClusterOptions;

  constructor(o: SimClusterOptions) {
    this.#o = o;
  }

  /** Adds an instance of validator `validator` (a second one for its twin). */
  add(validator: number, byzantine: boolean): SimNode {
    const k = validatorKeys(validator);
    const id = this.#o.net.addEndpoint(peerIdFromEd25519(k.ed.publicKey));
    const node: SimNode = {
      id,
      validator,
      byzantine,
      chainKv: new UndoableKvStore(),
      walKv: new JournaledKvStore(),
      fence: new MemorySignFence(),
      runtime: undefined,
      timers: undefined,
      skewMs: 0,
      up: false,
      lastLog: { size: 0, root: new Uint8Array(0) },
      permanent: false,
      starts: 0,
    };
    this.nodes.push(node);
    return node;
  }

  /** Starts (or restarts) an instance from what its disks hold. */
  async start(node: SimNode): Promise<void> {
    const o = this.#o;
    const { net, now } = o;
    const k = validatorKeys(node.validator);
    const chain = await ChainStore.open(node.chainKv, o.genesis, {
      schemes: ALL_CERTIFICATE_SCHEMES,
      verifyEvidence: stakingEvidenceVerifier({
        engine: o.engine.name,
        chainId: o.genesis.chainId,
        codec: o.engine.codec as MessageCodec<unknown>,
      }),
      ...engineChainOptions(o.engine, o.genesis),
    });
    const timers = new SimTimers(
      o.queue,
      now,
      () => node.up,
      () => net.endpoint(node.id).pausedUntil,
      (id) => o.trace(`t${now()},${node.id},${id};`),
    );
    let transport = net.transport(node.id);
    net.setUp(node.id, true);
    node.up = true;
    node.timers = timers;
    node.starts += 1;
    const alternatives =
      node.byzantine && o.byzantineMode === 'equivocate' ? new AlternativeBlocks() : undefined;
    if (node.byzantine && o.byzantineMode !== 'twins') {
      transport = byzantineTransport(transport, {
        mode: o.byzantineMode,
        module: o.engine,
        validators: o.genesis.validators,
        chainId: o.genesis.chainId,
        index: node.validator,
        secretKey: k.ed.secretKey,
        rng: o.byzantineRng.derive(`node-${node.id}`),
        alternative: (h) => alternatives?.get(h),
        ...(o.byzantineMode === 'selfish' || o.byzantineMode === 'private-chain'
          ? {
              mining: {
                pool: new Set(this.nodes.filter((n) => n.byzantine).map((n) => n.validator)),
                confirmations: parsePowParams(o.genesis.engine.params).confirmations,
              },
            }
          : {}),
      });
    }
    const hooks = o.hooks(node, chain);
    const share = o.deal?.shares[node.validator];
    const runtime = new ConsensusRuntime({
      engine: o.engine,
      genesis: o.genesis,
      chain,
      transport,
      timers,
      clock: { now: () => now() + node.skewMs },
      // Virtual time: a pause delays the node's events, not its clock.
      monotonicMs: () => now(),
      wal: node.walKv,
      fence: node.fence,
      keys: {
        ed25519: k.ed.secretKey,
        bls: k.bls.secretKey,
        ...(o.engine.requiresVrfKeys === true ? { vrf: k.vrf.secretKey } : {}),
        ...(share === undefined ? {} : { blsShare: share }),
      },
      // A restarted process draws fresh randomness, as a real one does; the first start keeps the
      // stream that runs without restarts have always had.
      rng: o.rng.derive(node.starts === 1 ? `node-${node.id}` : `node-${node.id}/start-${node.starts}`),
      verify: o.verify,
      statusIntervalMs: 1000,
      miner: new SimMiner(
        timers,
        o.rng.derive(`miner-${node.id}/start-${node.starts}`),
        simHashesPerMs(o.genesis, shareOf(o.hashPower, node.validator, o.genesis.validators.size)),
      ),
      ...(o.snapshotLead === undefined ? {} : { snapshotLead: o.snapshotLead }),
      ...(o.minBlockIntervalMs === undefined ? {} : { minBlockIntervalMs: o.minBlockIntervalMs }),
      ...(o.busyBlockIntervalMs === undefined ? {} : { busyBlockIntervalMs: o.busyBlockIntervalMs }),
      ...(o.load === undefined ? {} : { load: () => o.load as number }),
      ...(o.leaderOverride === undefined ? {} : { leaderOverride: o.leaderOverride }),
      ...(o.log === undefined ? {} : { logger: this.#logger(node, o.log) }),
      ...(alternatives === undefined ? {} : { afterBuild: alternatives.afterBuild }),
      hooks: {
        ...hooks,
        onCommit: (ex, certificate, bySync) => {
          alternatives?.prune(ex.block.header.height);
          hooks.onCommit?.(ex, certificate, bySync);
        },
      },
    });
    node.runtime = runtime;
    node.lastLog = { size: chain.head.logSize, root: chain.head.logRoot };
    await runtime.start();
  }

  /** Crashes an instance; it may lose its chain's last write (not fsynced; the WAL always is). */
  crash(node: SimNode, loseUnsynced: boolean): void {
    if (!node.up) return;
    node.runtime?.stop();
    node.runtime = undefined;
    node.up = false;
    this.#o.net.setUp(node.id, false);
    if (loseUnsynced) node.chainKv.undoLast();
    this.#o.trace(`x${this.#o.now()},${node.id},${loseUnsynced ? 1 : 0};`);
  }

  #logger(node: SimNode, log: (line: string) => void) {
    const emit = (lvl: string) => (msg: string, f?: Record<string, unknown>) =>
      log(
        `${((this.#o.now() - GENESIS_TIME) / 1000).toFixed(3)} n${node.id} ${lvl} ${msg} ${f ? JSON.stringify(f) : ''}`,
      );
    return { debug: emit('D'), info: emit('I'), warn: emit('W'), error: emit('E') };
  }
}
