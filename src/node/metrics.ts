/**
 * Prometheus metrics (prom-client), read at scrape time from the node's components, on a
 * registry of the node's own (so several nodes in one process — tests — do not collide).
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface MetricSources {
  height(): number;
  round(): number;
  mempoolSize(): number;
  mempoolBytes(): number;
  peers(): number;
  bytesIn(): number;
  bytesOut(): number;
  /** Messages (frames) sent to peers, per channel (consensus, tx, sync). */
  messagesOut(): Readonly<Record<string, number>>;
  /** Gossiped transactions dropped unverified, by reason (intake queue full, mempool full). */
  txGossipDropped(): Readonly<Record<string, number>>;
  /** Signature-verification worker threads alive (0: verification runs on the event loop). */
  verifyThreads(): number;
  /** Transaction signatures the verification pool checked, by where: worker, event_loop (a worker had failed). */
  verifyPoolChecks(): Readonly<Record<string, number>>;
  /** Of the signatures handed to the pool, those answered unchecked: verified meanwhile by another batch. */
  verifyPoolSkipped(): number;
  peerPenalties(): number;
  peerBans(): number;
  evidence(): number;
  rejectedMessages(): number;
  syncedBlocks(): number;
  /** Of those, blocks this node had executed already and committed as they were. */
  syncedReused(): number;
  /** Heights at which block sync met a certified block of a conflicting chain. */
  certifiedForks(): number;
  /** State snapshots installed (state sync), and sessions abandoned. */
  snapshots(): number;
  snapshotFailures(): number;
  equivocations(): number;
  /** 1 once consensus halted on this node (a storage fault or a broken invariant). */
  halted(): number;
  /** Seconds the event loop spent running callbacks since start (event-loop-load.ts). */
  eventLoopBusySeconds(): number;
  /** The busy share of the event loop's last window, 0 to 1 (what block pacing reads). */
  eventLoopUtilization(): number;
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly commitLatency: Histogram;
  readonly txsCommitted: Counter;
  readonly txsSubmitted: Counter;
  readonly blockInterval: Histogram;

  constructor(src: MetricSources) {
    const r = this.registry;
    // Process CPU, memory, event-loop lag and GC (prefixed verity_process_… / verity_nodejs_…).
    collectDefaultMetrics({ register: r, prefix: 'verity_' });
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [r],
        collect() {
          this.set(read());
        },
      });
    // A running total kept by a component, exported with counter semantics (TYPE counter).
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [r],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    // The same, per label value (`read` gives each value's running total).
    const labelledCounter = (
      name: string,
      help: string,
      label: string,
      read: () => Readonly<Record<string, number>>,
    ) =>
      new Counter({
        name,
        help,
        labelNames: [label],
        registers: [r],
        collect() {
          this.reset();
          for (const [value, n] of Object.entries(read())) this.inc({ [label]: value }, n);
        },
      });
    gauge('verity_height', 'Height of the last committed block', src.height);
    gauge('verity_consensus_round', 'Current consensus round or view', src.round);
    gauge('verity_mempool_size', 'Transactions waiting in the mempool', src.mempoolSize);
    gauge('verity_mempool_bytes', 'Bytes of transactions waiting in the mempool', src.mempoolBytes);
    gauge('verity_peers', 'Connected peers', src.peers);
    counter('verity_p2p_bytes_in_total', 'Bytes received from peers', src.bytesIn);
    counter('verity_p2p_bytes_out_total', 'Bytes sent to peers', src.bytesOut);
    labelledCounter(
      'verity_p2p_messages_out_total',
      'Messages sent to peers, by channel (consensus, tx gossip, block sync)',
      'channel',
      src.messagesOut,
    );
    labelledCounter(
      'verity_tx_gossip_dropped_total',
      'Gossiped transactions dropped unverified, by reason: intake_full (the intake queue was over its bound), mempool_full (no room in the mempool)',
      'reason',
      src.txGossipDropped,
    );
    gauge(
      'verity_verify_threads',
      'Worker threads checking transaction signatures (node.verify_threads; 0: on the event loop)',
      src.verifyThreads,
    );
    labelledCounter(
      'verity_verify_pool_checks_total',
      'Transaction signatures checked by the verification pool, by where: worker, or event_loop (after a worker failed)',
      'where',
      src.verifyPoolChecks,
    );
    counter(
      'verity_verify_pool_skipped_total',
      "Transaction signatures the verification pool answered without checking: the same transaction verified meanwhile in another batch (a block's, ahead of gossip's)",
      src.verifyPoolSkipped,
    );
    counter('verity_peer_penalties_total', 'Penalties given to misbehaving peers', src.peerPenalties);
    counter('verity_peer_bans_total', 'Peers banned (disconnected for a cool-down) by scoring', src.peerBans);
    counter(
      'verity_byzantine_evidence_total',
      "Misbehaviour reported by the engine's own checks",
      src.evidence,
    );
    counter(
      'verity_equivocations_total',
      'Verified equivocation evidence held (two signed messages of one validator for one slot; GET /evidence)',
      src.equivocations,
    );
    counter('verity_rejected_messages_total', 'Peer messages rejected as invalid', src.rejectedMessages);
    counter('verity_synced_blocks_total', 'Blocks applied through block sync', src.syncedBlocks);
    counter(
      'verity_synced_reused_total',
      'Blocks applied through block sync that this node had already executed (from a proposal), committed without executing them again',
      src.syncedReused,
    );
    counter(
      'verity_certified_forks_total',
      'Heights at which block sync was served a certified block of a conflicting chain (more faulty validators than tolerated)',
      src.certifiedForks,
    );
    counter('verity_state_snapshots_total', 'State snapshots installed (state sync)', src.snapshots);
    counter(
      'verity_state_snapshot_failures_total',
      'State-sync sessions abandoned (a peer timed out or served an invalid snapshot)',
      src.snapshotFailures,
    );
    gauge(
      'verity_consensus_halted',
      '1 if consensus stopped on this node (storage fault or bug; see the log)',
      src.halted,
    );
    counter(
      'verity_event_loop_busy_seconds_total',
      "Seconds the node's event loop spent running callbacks rather than waiting (its busy share over a window is this counter's rate)",
      src.eventLoopBusySeconds,
    );
    gauge(
      'verity_event_loop_utilization',
      "Share of the last second the node's event loop was busy, 0 to 1 (this node's load; it rises too when a competing process takes the machine's cores). Block pacing stretches its floor toward consensus.busy_block_interval_ms from 0.3 to 0.5",
      src.eventLoopUtilization,
    );
    this.commitLatency = new Histogram({
      name: 'verity_tx_commit_latency_seconds',
      help: 'From RPC submission to the block that commits the transaction',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [r],
    });
    this.blockInterval = new Histogram({
      name: 'verity_block_interval_seconds',
      help: 'Time between consecutive committed blocks on this node',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
      registers: [r],
    });
    this.txsCommitted = new Counter({
      name: 'verity_txs_committed_total',
      help: 'Transactions committed',
      registers: [r],
    });
    this.txsSubmitted = new Counter({
      name: 'verity_txs_submitted_total',
      help: 'Transactions accepted over RPC',
      registers: [r],
    });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
