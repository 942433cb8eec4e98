/**
 * The composition root: one Verity node. Wires the chain store (LevelDB), the consensus WAL
 * (LevelDB, fsynced), the engine through the runtime, the network, the RPC server, metrics and
 * logs — and takes them down in reverse order on stop.
 */

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { engineNames, getEngine } from '../../consensus/registry.ts';
import { SeededRng } from '../../consensus/rng.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { bls } from '../../crypto/bls/index.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { ed25519Backend } from '../../crypto/ed25519.ts';
import { CryptoError } from '../../crypto/errors.ts';
import { addressFromPublicKey, formatAddress } from '../../ledger/address.ts';
import { ChainStore } from '../../ledger/chain.ts';
import { isStateKey } from '../../ledger/chain-layout.ts';
import { type Genesis, GenesisError, parseGenesis } from '../../ledger/genesis.ts';
import { CachingKvStore, StorageError } from '../../ledger/kv.ts';
import type { EncodedTransaction } from '../../ledger/tx.ts';
import { loadKey } from '../keystore.ts';
import { type NodeApi, RpcServer } from '../rpc/server.ts';
import {
  STATUS_HISTORY_WINDOW_MS,
  STATUS_SAMPLE_INTERVAL_MS,
  StatusHistory,
  sampleStatus,
} from '../rpc/status-history.ts';
import { GrindingMiner } from '../runtime/grinding-miner.ts';
import type { AdmitResult } from '../runtime/mempool.ts';
import type { Logger, Transport } from '../runtime/ports.ts';
import { ConsensusRuntime, type Halt, type ValidatorKeys } from '../runtime/runtime.ts';
import { VerifyPool } from '../runtime/verify-pool.ts';
import { LevelKvStore, type LevelKvStoreOptions } from '../storage/level-kv.ts';
import { FileSignFence } from '../storage/sign-fence-file.ts';
import { chainStoreKvOptions, nodeChainOptions } from './chain-store-options.ts';
import { type NodeConfig, verifyThreadCount } from './config.ts';
import { NodeApiError } from './errors.ts';
import { EventLoopLoad } from './event-loop-load.ts';
import { type HomePaths, homePaths } from './home.ts';
import { HomeLock, nodeRunningError, posixLockHolder } from './home-lock.ts';
import { identitiesNow, watchedPaths, watchHome } from './home-watch.ts';
import { listenError } from './listen-error.ts';
import { NodeMetrics } from './metrics.ts';
import { pacingOptions } from './pacing-options.ts';
import { RealTimers } from './timers.ts';

/** What the node needs from its network beyond the runtime's Transport. */
export interface NodeNetwork extends Transport {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): {
    bytesIn: number;
    bytesOut: number;
    penalties: { minor: number; major: number };
    bans: number;
    /** Per channel, when the network counts them: messages (frames) sent. */
    channels?: Readonly<Record<string, { readonly framesOut: number }>>;
  };
  listenAddrs(): string[];
}

export type NetworkFactory = (args: {
  config: NodeConfig;
  genesis: Genesis;
  identitySeed: Uint8Array;
  logger: Logger;
}) => Promise<NodeNetwork>;

export interface StartOptions {
  readonly home: string;
  readonly config: NodeConfig;
  readonly logger: Logger;
  readonly network: NetworkFactory;
  readonly passphrase?: string;
  /** How often the home's identity is checked (home-watch.ts); default 5 s, tests shorten it. */
  readonly homeCheckIntervalMs?: number;
}

async function readGenesis(path: string): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new NodeApiError(
      'NODE_SETUP',
      `cannot read the genesis file ${path}: ${(e as NodeJS.ErrnoException).code}. Create a node with \`verity init\` or \`verity testnet\`.`,
    );
  }
  try {
    return parseGenesis(JSON.parse(text));
  } catch (e) {
    if (e instanceof GenesisError) throw e;
    throw new NodeApiError('NODE_SETUP', `${path} is not valid JSON`);
  }
}

async function optionalKey(path: string, passphrase: string | undefined) {
  try {
    return await loadKey(path, passphrase === undefined ? {} : { passphrase });
  } catch (e) {
    if (e instanceof CryptoError && e.code === 'KEYFILE_MALFORMED' && /ENOENT/.test(e.message))
      return undefined;
    throw e;
  }
}

/**
 * Opens one of the home's LevelDB stores. Its lock held by someone else is another node in this
 * home that node.pid did not reveal (its file deleted, or the race HomeLock leaves to LevelDB):
 * say so as a start with node.pid would.
 */
async function openStore(paths: HomePaths, dir: string, opts: LevelKvStoreOptions): Promise<LevelKvStore> {
  try {
    return await LevelKvStore.open(dir, opts);
  } catch (e) {
    if (e instanceof StorageError && e.code === 'STORAGE_LOCKED')
      throw nodeRunningError(paths.home, posixLockHolder(join(dir, 'LOCK')));
    throw e;
  }
}

/** Runs `listen`, turning its failure into a ListenError that names `setting` and where to change it. */
async function listening<T>(
  setting: 'p2p.listen' | 'rpc.listen',
  address: string,
  paths: HomePaths,
  listen: () => Promise<T>,
): Promise<T> {
  try {
    return await listen();
  } catch (e) {
    throw listenError(setting, address, paths.config, e);
  }
}

export class VerityNode {
  readonly genesis: Genesis;
  readonly chain: ChainStore;
  readonly runtime: ConsensusRuntime<unknown>;
  readonly network: NodeNetwork;
  readonly metrics: NodeMetrics;
  readonly rpc: RpcServer;
  readonly logger: Logger;
  readonly #stores: Array<{ close(): Promise<void> }>;
  readonly #lock: HomeLock;
  /** Stops sampling /status for GET /status/history (sampled from start to stop). */
  #stopSampling: (() => void) | undefined;
  /** Stops checking that the home is still the one opened (home-watch.ts). */
  #stopHomeWatch: (() => void) | undefined;
  private readonly blockListeners = new Set<(height: number) => void>();
  private readonly submittedAt = new Map<string, number>();
  #rpcAddress: { host: string; port: number } | undefined;
  #lastCommitAt = 0;
  #stopping: Promise<void> | undefined;
  #started = false;
  #resolveHalted: ((h: Halt) => void) | undefined;
  /**
   * Resolves if consensus halts on this node (its storage failed, or an invariant broke): the
   * node then serves nothing new and `verity start` stops it and exits non-zero (runtime.ts, Halt).
   */
  readonly halted: Promise<Halt> = new Promise((resolve) => {
    this.#resolveHalted = resolve;
  });

  private constructor(parts: {
    genesis: Genesis;
    chain: ChainStore;
    runtime: ConsensusRuntime<unknown>;
    network: NodeNetwork;
    metrics: NodeMetrics;
    rpc: RpcServer;
    logger: Logger;
    stores: Array<{ close(): Promise<void> }>;
    lock: HomeLock;
  }) {
    this.genesis = parts.genesis;
    this.chain = parts.chain;
    this.runtime = parts.runtime;
    this.network = parts.network;
    this.metrics = parts.metrics;
    this.rpc = parts.rpc;
    this.logger = parts.logger;
    this.#stores = parts.stores;
    this.#lock = parts.lock;
  }

  /**
   * Starts a node in `o.home`, or fails with what started so far stopped again: a NodeRunningError
   * if another node runs there (nothing opened), a ListenError naming `p2p.listen` or `rpc.listen`
   * if an address cannot be listened on.
   */
  static async start(o: StartOptions): Promise<VerityNode> {
    // Before anything in the home is opened, so a second start touches nothing (home-lock.ts).
    const lock = HomeLock.acquire(o.home);
    try {
      return await VerityNode.#start(o, lock);
    } catch (e) {
      lock.release();
      throw e;
    }
  }

  static async #start(o: StartOptions, lock: HomeLock): Promise<VerityNode> {
    const paths = homePaths(o.home);
    const log = o.logger;
    const genesis = await readGenesis(paths.genesis);
    const engine = getEngine(genesis.engine.name) as EngineModule<unknown> | undefined;
    if (engine === undefined) {
      throw new NodeApiError(
        'NODE_SETUP',
        `genesis uses engine "${genesis.engine.name}", which this build does not have (${engineNames().join(', ')})`,
      );
    }
    engine.parseParams(genesis.engine.params, genesis.validators);

    const ed = await optionalKey(paths.ed25519Key, o.passphrase);
    const blsKey = await optionalKey(paths.blsKey, o.passphrase);
    const share = await optionalKey(paths.blsShareKey, o.passphrase);
    const vrfKey = await optionalKey(paths.vrfKey, o.passphrase);
    const listed = ed === undefined ? undefined : genesis.validators.byPublicKey(ed.publicKey)?.vrfPublicKey;
    if (vrfKey !== undefined && listed !== undefined && !equalBytes(vrfKey.publicKey, listed))
      throw new NodeApiError(
        'NODE_SETUP',
        `${paths.vrfKey} is not the VRF key genesis lists for this validator: put this validator's own vrf.json in keys/`,
      );
    const identitySeed = ed?.secretKey ?? new Uint8Array(randomBytes(32));
    const keys: ValidatorKeys | undefined =
      ed === undefined
        ? undefined
        : {
            ed25519: ed.secretKey,
            ...(blsKey === undefined ? {} : { bls: blsKey.secretKey }),
            ...(vrfKey === undefined ? {} : { vrf: vrfKey.secretKey }),
            ...(share === undefined
              ? {}
              : {
                  blsShare: {
                    index: Number(share.extra?.index ?? 0),
                    secretKey: share.secretKey,
                    publicKey: share.publicKey,
                  },
                }),
          };

    const chainKv = await openStore(paths, paths.chainDb, chainStoreKvOptions(o.config.storage.sync));
    // Said before anything reads the store (a drop may make opening the chain fail), then
    // acknowledged: this line is all a chain store's drop calls for, as block sync refills it.
    for (const drop of chainKv.droppedOnOpen())
      log.error(
        "LevelDB dropped part of the chain store's log as it opened (it failed its checksum): writes acknowledged before the last stop may be lost. If the node does not follow the chain, stop it, delete HOME/data/chain and start it again to sync the chain back (keep the consensus WAL)",
        { store: paths.chainDb, ...drop },
      );
    await chainKv.acknowledgeDrops().catch(async (e) => {
      await chainKv.close().catch(() => undefined);
      throw e;
    });
    const walKv = await openStore(paths, paths.walDb, { sync: true }).catch(async (e) => {
      await chainKv.close().catch(() => undefined);
      throw e;
    });
    // What the home watch compares against, read now that both stores are open (home-watch.ts).
    const homeIdentities = identitiesNow(watchedPaths(paths));
    const fence = keys === undefined ? undefined : new FileSignFence(paths.signFence);
    const stores: Array<{ close(): Promise<void> }> = [
      chainKv,
      walKv,
      ...(fence === undefined ? [] : [fence]),
    ];
    // What has started so far, stopped in reverse if a later step fails: a failed start must not
    // leave a port bound (a supervisor would see a node that answers) or a store open.
    const started: Array<() => Promise<void>> = [];
    try {
      // Trie nodes are read again and again (every block's fresh trie instance starts cold, and
      // reads what the block before wrote): keep the hot ones in memory in front of LevelDB. Other
      // keys (index entries, log records, blocks) are cached once read, until the next commit, and
      // not on write: caching every write held ~5 entries per transaction — heap grew 127 → 278 MB
      // over 60,000 transfers in bench:node, and collector time with it.
      const chain = await ChainStore.open(
        new CachingKvStore(chainKv, 200_000, isStateKey),
        genesis,
        nodeChainOptions(engine, genesis, o.config),
      );
      log.info('chain opened', {
        height: chain.height,
        head: toHex(chain.headHash),
        genesis: toHex(chain.genesisHash),
      });
      const network = await o.network({ config: o.config, genesis, identitySeed, logger: log });
      started.push(() => network.stop());
      const threads = verifyThreadCount(o.config.node.verifyThreads, availableParallelism());
      const verifyPool =
        threads === 0
          ? undefined
          : new VerifyPool({
              threads,
              onFailure: (e) =>
                log.error('a signature verification worker failed; its work moves to the event loop', {
                  error: e.message,
                }),
            });
      // Closed with the stores, after the network and RPC that hand it work.
      if (verifyPool !== undefined) stores.push(verifyPool);
      let node: VerityNode | undefined;
      // (Closed by the runtime's stop, on shutdown or a failed start alike.)
      const miner = new GrindingMiner();
      // How busy the event loop is: block pacing reads it, and the metrics export it.
      const loadMeter = new EventLoopLoad().start();
      stores.push({ close: async () => loadMeter.stop() }); // (stopped on a failed start too)
      const runtime = new ConsensusRuntime<unknown>({
        engine,
        genesis,
        chain,
        transport: network,
        timers: new RealTimers(),
        clock: { now: () => Date.now() },
        // Leases measure elapsed time: a monotonic clock, which NTP does not step.
        monotonicMs: () => performance.now(),
        wal: walKv,
        ...(fence === undefined ? {} : { fence }),
        keys,
        rng: new SeededRng(toHex(randomBytes(16))),
        logger: log,
        mempool: o.config.mempool,
        maxBlockTxs: o.config.consensus.maxBlockTxs,
        maxBlockBytes: o.config.consensus.maxBlockBytes,
        ...pacingOptions(o.config.consensus, loadMeter),
        maxFutureDriftMs: o.config.consensus.maxFutureDriftMs,
        statusIntervalMs: o.config.consensus.statusIntervalMs,
        snapshotLead: o.config.consensus.snapshotLead,
        ...(verifyPool === undefined ? {} : { txVerifier: verifyPool }),
        miner,
        hooks: {
          onCommit: (ex, _cert, bySync) => node?.onCommitted(ex.block.header.height, ex.txs, bySync),
          onEvidence: (e) => log.warn('equivocation evidence', { ...e }),
          onHalt: (h) => {
            if (node !== undefined) node.#resolveHalted?.(h);
          },
        },
      });
      started.push(async () => {
        runtime.stop();
        await runtime.idle();
      });
      if (keys !== undefined && runtime.self === undefined) {
        const why =
          genesis.staking === undefined
            ? 'this node has a key that is not a validator in genesis: running as a full node'
            : "this node's key is not in the current epoch's validator set: running as a full node until it is (register and bond: verity tx send --register-validator NAME, --stake N)";
        log.warn(why, {
          address: ed === undefined ? null : formatAddress(addressFromPublicKey(ed.publicKey)),
        });
      }
      const metrics = new NodeMetrics({
        height: () => chain.height,
        round: () => runtime.status().round,
        mempoolSize: () => runtime.mempool.size,
        mempoolBytes: () => runtime.mempool.bytes,
        peers: () => network.peers().length,
        bytesIn: () => network.stats().bytesIn,
        bytesOut: () => network.stats().bytesOut,
        messagesOut: () =>
          Object.fromEntries(
            Object.entries(network.stats().channels ?? {}).map(([ch, c]) => [ch, c.framesOut]),
          ),
        txGossipDropped: () => ({
          intake_full: runtime.counters.droppedTxGossip,
          mempool_full: runtime.counters.txGossipNoRoom,
        }),
        verifyThreads: () => verifyPool?.threads ?? 0,
        verifyPoolChecks: () => ({
          worker: verifyPool?.stats.checks ?? 0,
          event_loop: verifyPool?.stats.inThread ?? 0,
        }),
        verifyPoolSkipped: () => verifyPool?.stats.skipped ?? 0,
        peerPenalties: () => {
          const p = network.stats().penalties;
          return p.minor + p.major;
        },
        peerBans: () => network.stats().bans,
        evidence: () => runtime.counters.evidence,
        rejectedMessages: () => runtime.counters.rejected,
        syncedBlocks: () => runtime.counters.syncedBlocks,
        syncedReused: () => runtime.counters.syncedReused,
        certifiedForks: () => runtime.counters.certifiedForks,
        snapshots: () => runtime.counters.snapshots,
        snapshotFailures: () => runtime.counters.snapshotFailures,
        halted: () => (runtime.halted === undefined ? 0 : 1),
        eventLoopBusySeconds: () => loadMeter.busySeconds(),
        eventLoopUtilization: () => loadMeter.utilization(),
        equivocations: () => runtime.counters.equivocations,
      });
      const statusHistory = new StatusHistory({
        intervalMs: STATUS_SAMPLE_INTERVAL_MS,
        windowMs: STATUS_HISTORY_WINDOW_MS,
      });
      const [host, portText] = o.config.rpc.listen.split(':') as [string, string];
      const parts = { genesis, chain, runtime, network, metrics, logger: log, stores, lock };
      const api: NodeApi = {
        genesis,
        chain,
        genesisHash: chain.genesisHash,
        status: () => runtime.status(),
        statusHistory: () => ({ now: Date.now(), history: statusHistory }),
        validator: () => {
          const v = runtime.self === undefined ? undefined : runtime.epoch.validators.at(runtime.self);
          return v === undefined
            ? undefined
            : { index: v.index, name: v.name, address: formatAddress(v.address) };
        },
        peers: () => network.peers(),
        syncing: () => runtime.syncStatus().syncing,
        mempool: () => ({ size: runtime.mempool.size, bytes: runtime.mempool.bytes }),
        pendingNonce: (address, committed) => runtime.mempool.pendingNonce(address, committed),
        submit: (etx: EncodedTransaction): Promise<AdmitResult> => runtime.submit(etx),
        submitMany: (etxs) => runtime.submitMany(etxs),
        hasRoomFor: (etx) => runtime.mempool.seenKey(etx.idKey) || runtime.mempool.hasRoomFor(etx),
        pending: (id) => runtime.mempool.has(id),
        overloaded: () => runtime.overloaded,
        syncingAnswer: () => runtime.syncingAnswer(),
        waitForCommit: (id, signal) => runtime.waitForCommit(id, signal),
        onBlock: (listener) => {
          node?.blockListeners.add(listener);
          return () => node?.blockListeners.delete(listener);
        },
        metricsText: () => metrics.text(),
        health: () => node?.health() ?? { ok: false, problems: ['starting'] },
        clockOffset: () => runtime.clockOffset(),
        equivocations: () => runtime.equivocations(),
        read: (mode) => runtime.read(mode),
        storageFault: (e) => runtime.halt(e),
        noteSubmitted: (etx) => {
          metrics.txsSubmitted.inc();
          if (node !== undefined && node.submittedAt.size < 200_000)
            node.submittedAt.set(etx.idKey, performance.now());
        },
      };
      const rpc = new RpcServer(api, {
        host,
        port: Number(portText),
        maxBodyBytes: o.config.rpc.maxBodyBytes,
        maxConnections: o.config.rpc.maxConnections,
        maxConnectionsPerIp: o.config.rpc.maxConnectionsPerIp,
        maxRequestsPerSecondPerIp: o.config.rpc.maxRequestsPerSecondPerIp,
        // A Proof-of-Work commit waits for k confirmations, a Proof-of-Stake one for FFG finality:
        // never less than three times their schedule.
        commitTimeoutMs: Math.max(
          o.config.rpc.commitTimeoutMs,
          3 * (engine.confirmations?.(genesis.engine.params).expectedMs ?? 0),
          3 * (engine.finalityDelayMs?.(genesis.engine.params) ?? 0),
        ),
        maxTxBytes: o.config.mempool.maxTxBytes,
        ...(verifyPool === undefined ? {} : { verifier: verifyPool }),
        logger: log,
      });
      node = new VerityNode({ ...parts, rpc });
      started.push(() => rpc.close());
      node.#rpcAddress = await listening('rpc.listen', o.config.rpc.listen, paths, () => rpc.listen());
      await listening('p2p.listen', o.config.p2p.listen, paths, () => network.start());
      await runtime.start();
      node.#lastCommitAt = performance.now();
      // On timers of its own: the runtime's stop cancels all of the runtime's.
      node.#stopSampling = sampleStatus({
        history: statusHistory,
        timers: new RealTimers(),
        sample: () => {
          const s = runtime.status();
          return {
            time: Date.now(),
            height: chain.height,
            round: s.round,
            viewChanges: s.viewChanges,
            peers: network.peers().length,
            mempool: { size: runtime.mempool.size, bytes: runtime.mempool.bytes },
          };
        },
      });
      // Checked only from now: a failed start has nothing to halt. (A second halt is ignored.)
      node.#stopHomeWatch = watchHome({
        home: paths.home,
        before: homeIdentities,
        onRemoved: (e) => runtime.halt(e),
        ...(o.homeCheckIntervalMs === undefined ? {} : { intervalMs: o.homeCheckIntervalMs }),
      });
      node.#started = true;
      log.info('node started', {
        moniker: o.config.node.moniker,
        engine: genesis.engine.name,
        validator: runtime.self ?? null,
        rpc: `http://${node.#rpcAddress.host}:${node.#rpcAddress.port}`,
        p2p: network.listenAddrs(),
        // blst (native) or noble (pure JS, ~20× slower); VERITY_BLS_BACKEND forces one.
        blsBackend: bls.backend,
        // libsodium (native, ~2.4× OpenSSL's rate here) or openssl; VERITY_ED25519_BACKEND forces one.
        ed25519Backend,
        verifyThreads: threads,
      });
      return node;
    } catch (e) {
      for (const stop of started.reverse()) await stop().catch(() => undefined);
      for (const s of stores) await s.close().catch(() => undefined);
      throw e;
    }
  }

  /** Healthy: fully started and consensus running; otherwise what is wrong (GET /health). */
  health(): { ok: boolean; problems: string[] } {
    const problems: string[] = [];
    if (!this.#started) problems.push('starting');
    // Consensus stops first on shutdown, while the RPC still answers: not green from then on.
    if (this.#stopping !== undefined) problems.push('stopping');
    const halt = this.runtime.halted;
    if (halt !== undefined) problems.push(`consensus halted (${halt.code}): ${halt.message}`);
    const clock = this.runtime.clockOffset();
    if (clock?.off)
      problems.push(
        `this node's clock is ${(Math.abs(clock.offsetMs) / 1000).toFixed(1)} s ${clock.offsetMs > 0 ? 'ahead of' : 'behind'} its peers: fix its time sync`,
      );
    const fence = this.runtime.signingFence();
    if (fence !== undefined)
      problems.push(
        `the consensus WAL lost records: not signing until past slot height ${fence.upToHeight}${fence.upToViewRound > 0 ? ` and view ${fence.upToViewRound}` : ''}`,
      );
    return { ok: problems.length === 0, problems };
  }

  get rpcUrl(): string {
    const a = this.#rpcAddress;
    return a === undefined ? '' : `http://${a.host}:${a.port}`;
  }

  private onCommitted(height: number, txs: readonly EncodedTransaction[], bySync: boolean): void {
    const now = performance.now();
    this.metrics.blockInterval.observe((now - this.#lastCommitAt) / 1000);
    this.#lastCommitAt = now;
    this.metrics.txsCommitted.inc(txs.length);
    for (const t of txs) {
      const key = t.idKey;
      const at = this.submittedAt.get(key);
      if (at !== undefined) {
        this.metrics.commitLatency.observe((now - at) / 1000);
        this.submittedAt.delete(key);
      }
    }
    this.logger.info('committed', { height, txs: txs.length, bySync });
    for (const l of this.blockListeners) l(height);
  }

  /** Graceful shutdown: consensus first (no new signatures), then RPC, network and storage. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#stopSampling?.();
      this.#stopHomeWatch?.();
      this.runtime.stop();
      await this.runtime.idle().catch(() => undefined);
      await this.rpc.close().catch(() => undefined);
      await this.network.stop().catch(() => undefined);
      for (const s of this.#stores) await s.close().catch(() => undefined);
      this.#lock.release();
      this.logger.info('node stopped', { height: this.chain.height });
    })();
    return this.#stopping;
  }
}
