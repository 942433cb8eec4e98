/**
 * Block sync: how a node that is behind catches up with committed blocks. Every node broadcasts
 * its committed head (and its clock) each status interval; a node behind — two blocks, or one for
 * a second — asks one peer for the next blocks (`get-blocks`), verifies each block's certificate
 * against the genesis validator set, re-executes it to its header's roots and commits it. A
 * certified block that does not extend our head is a fork below it, not the peer's doing: the
 * runtime weighs or reports it (BlockPipeline.certifiedFork). The peer asked is the one
 * with the fewest recent failures, then the most cumulative work (on a chain that counts it), then
 * the highest claim; a timeout, an empty or misaligned reply
 * is a minor failure and the next request goes elsewhere, an invalid block or certificate a major
 * one. Claims expire with the peer's connection or after ten silent status intervals, and a lead
 * is plausible only up to one block per millisecond since our head's timestamp. A block that
 * fails for any other reason than its validity is this node's own fault: it propagates (and the
 * runtime halts), and no peer is blamed.
 */

import { equalBytes } from '../../crypto/bytes.ts';
import { onlyTyped } from '../../crypto/errors.ts';
import type { BatchVerifier } from '../../crypto/signature-batch.ts';
import type { Block } from '../../ledger/block.ts';
import { decodeBlock, headerHash } from '../../ledger/block.ts';
import type { KnownTransactions } from '../../ledger/block-txs.ts';
import { type CommitCertificate, decodeCertificate, verifyCertificate } from '../../ledger/certificate.ts';
import { ChainError, type ChainStore, type ExecutedBlock } from '../../ledger/chain.ts';
import type { Clock } from '../../ledger/clock.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import type { Logger, Timers, Transport } from './ports.ts';
import { encodeSync, MAX_SYNC_BATCH, type SyncMessage } from './sync-codec.ts';

/**
 * Plausible lead: a peer's claimed height must be one the chain could have reached. Every block
 * after our head carries a timestamp later than our head's and at most the drift bound ahead of
 * its proposer's clock, and no engine here commits more than one block per millisecond (each
 * height costs at least a network round trip, signature checks and an fsync). So a claim above
 *   our height + (now − our head's time + drift bound + LEAD_SLACK_MS) × MAX_BLOCKS_PER_MS
 * is a lie (meant to make us chase it) and is scored down. The bound grows with the time since
 * our head, so a node back from any length of downtime still accepts its honest peers' heights;
 * the slack absorbs clock skew between us and the validators. A node whose head is current
 * accepts leads of about 70,000 blocks, where the old fixed cap accepted 50,000,000.
 */
const MAX_BLOCKS_PER_MS = 1;
const LEAD_SLACK_MS = 60_000;
/**
 * A block request unanswered within the timeout counts as a failure of the peer asked, and the
 * next request goes out at once (to another peer if there is one). Peers answer from their store
 * at once, so a short first timeout recovers a lost request or reply quickly; each timeout doubles
 * it (up to the maximum), as TCP's retransmission timer does, so a reply slow to arrive over a
 * slow link is still waited for; a served request brings it back to the first.
 */
const SYNC_TIMEOUT_MS = 1_500;
const MAX_SYNC_TIMEOUT_MS = 12_000;
/**
 * A peer one block ahead is normal while consensus finishes the height; after this long it is
 * not, and the block is fetched (a node back from a restart otherwise trails its peers by one
 * block, and misses its turn to propose, until consensus catches it up).
 */
const ONE_BEHIND_MS = 1_000;
/**
 * A peer's claimed height is forgotten when the peer leaves `transport.peers()` (disconnected or
 * banned) or when no status has refreshed it for this many status intervals.
 */
const PEER_STATUS_TTL_INTERVALS = 10;

export interface BlockSyncOptions {
  readonly chain: ChainStore;
  readonly genesis: Genesis;
  readonly transport: Transport;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly statusIntervalMs?: number;
  /** With no new block for this long while a peer is ahead, sync from it. */
  readonly syncStaleMs?: number;
  readonly maxFutureDriftMs?: number;
  /** Checks synced blocks' transaction signatures (a worker pool); default: this thread. */
  readonly txVerifier?: BatchVerifier;
  /**
   * Transactions this node already holds decoded (the mempool's): a synced block's copies of them
   * are taken as they are, not decoded and hashed again, as for a block consensus delivers. A
   * validator that fell behind holds most of what the blocks it fetches carry (gossip reached it).
   * (Their signatures are not checked again either way: tx.ts remembers verified ids.)
   */
  readonly known?: KnownTransactions;
  /**
   * The block with this header hash as this node already executed it (the block pipeline's, from
   * a proposal consensus delivered), if it still holds it: a validator that falls behind has
   * usually executed the blocks it then fetches, and executing each again (decoding its
   * transactions, updating the state and log) doubled the work that made it fall behind.
   */
  executedBlock?(hash: Uint8Array): ExecutedBlock | undefined;
  /** The runtime's counters (shared). */
  readonly counters: { rejected: number; syncedBlocks: number; syncedReused: number; syncFailures: number };
  /** Sends a frame on the sync channel (to one peer, or every peer). */
  send(to: string | undefined, bytes: Uint8Array): void;
  /** Runs `fn` on the runtime's event queue. */
  enqueue(fn: () => Promise<void> | void): void;
  /** A synced block is committed: the runtime's after-commit work (mempool, waiters, engine). */
  committed(executed: ExecutedBlock, certificate: CommitCertificate): Promise<void>;
  /**
   * A block whose certificate verifies but which does not extend the committed head: a chain the
   * network certified forks below what this node committed. Not the serving peer's fault (it
   * proved the block committed); the runtime decides what it means (see BlockPipeline.certifiedFork).
   */
  certifiedFork(from: string, block: Block, certificate: CommitCertificate): Promise<void>;
  /** A peer's claim was forgotten (it left, or went silent). */
  forgotten?(peer: string): void;
  /** Whether to ask for no blocks now (state sync is installing a snapshot: snapshot-sync.ts). */
  paused?(): boolean;
  /**
   * The committed head's cumulative work, on a chain whose engine counts it (EngineModule.chainWork):
   * sent in this node's status, and the order in which peers ahead are asked (the most work
   * first), so that a node catching up follows the heaviest chain its peers show, not the longest.
   */
  headWork?(): bigint;
}

/** Why a reply failed, and how much it counts against the peer that sent it (`none`: not its doing). */
interface SyncFailure {
  readonly reason: string;
  readonly severity: 'minor' | 'major' | 'none';
}

export class BlockSync {
  readonly #o: BlockSyncOptions;
  readonly #logger: Logger;
  /**
   * Each peer's view: the height it last claimed, when (our clock), and how many block requests
   * to it failed since it last served one (timeout, empty or invalid reply).
   */
  readonly #peerSync = new Map<string, { height: number; at: number; failures: number; work?: bigint }>();
  #inflight: { peer: string; from: number } | undefined;
  /** A reply's blocks are being applied, one event each (see `#applyFrom`). */
  #applying = false;
  #timeoutMs = SYNC_TIMEOUT_MS;
  #lastProgressAt = 0;
  /** When a peer was first seen ahead of our head (undefined once we progress). */
  #behindSince: number | undefined;

  constructor(o: BlockSyncOptions) {
    this.#o = o;
    this.#logger = o.logger;
  }

  /** Consensus or sync committed a block (or the node started): progress, for the staleness rule. */
  progressed(): void {
    this.#lastProgressAt = this.#o.clock.now();
    this.#behindSince = undefined;
  }

  /** Broadcasts this node's committed head and clock. */
  broadcastStatus(): void {
    this.#o.send(
      undefined,
      encodeSync({
        kind: 'status',
        height: this.#o.chain.height,
        hash: this.#o.chain.headHash,
        clockMs: Math.max(0, Math.round(this.#o.clock.now())),
        ...(this.#o.headWork === undefined ? {} : { work: this.#o.headWork() }),
      }),
    );
  }

  /**
   * A peer's status: its claim is recorded (and blocks are asked for if it is ahead), unless the
   * claim is implausible — then it is scored down and false is returned.
   */
  onStatus(from: string, msg: Extract<SyncMessage, { kind: 'status' }>): boolean {
    // A height implausibly far ahead of ours is a lie meant to make us chase it: score it down.
    if (msg.height > this.maxPlausibleHeight()) {
      this.#o.counters.rejected++;
      this.#o.transport.penalize(
        from,
        `claims height ${msg.height}, far ahead of ${this.#o.chain.height}`,
        'minor',
      );
      return false;
    }
    const now = this.#o.clock.now();
    const known = this.#peerSync.get(from);
    const work = this.#o.headWork === undefined ? undefined : msg.work;
    if (known === undefined)
      this.#peerSync.set(from, {
        height: msg.height,
        at: now,
        failures: 0,
        ...(work === undefined ? {} : { work }),
      });
    else {
      known.height = msg.height;
      known.at = now;
      if (work !== undefined) known.work = work;
    }
    this.maybeRequest();
    return true;
  }

  /**
   * The best height a connected peer reported recently, and whether this node is catching up: two
   * or more blocks below a claim whose peer has not failed a request since it last served one. A
   * peer claiming blocks it never serves would otherwise keep this node "syncing" for good (and
   * its clients answered NODE_SYNCING). Expired claims are skipped, not forgotten: asking changes
   * nothing here (the RPC and client intake ask at any time).
   */
  status(): { syncing: boolean; bestPeerHeight: number } {
    const height = this.#o.chain.height;
    let best = height;
    let believed = height;
    if (this.#peerSync.size > 0) {
      const live = this.#liveClaim();
      for (const [peer, p] of this.#peerSync) {
        if (!live(peer, p.at)) continue;
        best = Math.max(best, p.height);
        if (p.failures === 0) believed = Math.max(believed, p.height);
      }
    }
    return { syncing: believed >= height + 2, bestPeerHeight: best };
  }

  /** Answers a peer's get-blocks with committed blocks and their certificates (capped). */
  async serve(to: string, fromHeight: number, count: number): Promise<void> {
    const chain = this.#o.chain;
    const items: Array<{ block: Uint8Array; certificate: Uint8Array }> = [];
    let bytes = 0;
    for (let h = Math.max(1, fromHeight); h <= chain.height && items.length < count; h++) {
      const block = await chain.getBlockBytes(h);
      const certificate = await chain.getCertificateBytes(h);
      if (block === undefined || certificate === undefined) break;
      bytes += block.length + certificate.length;
      if (bytes > 8 * 1024 * 1024 && items.length > 0) break;
      items.push({ block, certificate });
    }
    if (items.length > 0) this.#o.send(to, encodeSync({ kind: 'blocks', items }));
  }

  /** The highest height a peer can plausibly claim (see MAX_BLOCKS_PER_MS). */
  maxPlausibleHeight(): number {
    const chain = this.#o.chain;
    const sinceHead = Math.max(0, this.#o.clock.now() - chain.head.time.ms);
    const window = sinceHead + (this.#o.maxFutureDriftMs ?? 10_000) + LEAD_SLACK_MS;
    return chain.height + Math.floor(window * MAX_BLOCKS_PER_MS);
  }

  /** Forgets the heights of peers that are gone (disconnected, banned) or silent too long. */
  prunePeers(): void {
    if (this.#peerSync.size === 0) return;
    const live = this.#liveClaim();
    for (const [peer, p] of this.#peerSync) {
      if (live(peer, p.at)) continue;
      this.#peerSync.delete(peer);
      this.#o.forgotten?.(peer);
    }
  }

  /** Whether a claim made at `at` still stands now: its peer is connected and it is recent. */
  #liveClaim(): (peer: string, at: number) => boolean {
    const connected = new Set(this.#o.transport.peers());
    const ttl = PEER_STATUS_TTL_INTERVALS * (this.#o.statusIntervalMs ?? 1000);
    const now = this.#o.clock.now();
    return (peer, at) => connected.has(peer) && now - at <= ttl;
  }

  /**
   * Asks one peer for the next blocks when a connected peer claims a height above ours (two
   * above, or one if consensus has made no progress for `syncStaleMs`). Among the peers that
   * claim more than we have, the one with the fewest failed requests is asked, the highest
   * claim first on a tie (then the smallest id): a peer that claimed blocks and did not serve
   * them is passed over for the others until they fail as often, and is asked again only when
   * no better one is left. Right after a failure, `exclude` (the peer that failed) is not asked
   * at all: with nobody else to ask, the next status message or tick retries it, so a peer that
   * answers every request at once with nothing useful cannot hold us in a request loop.
   */
  maybeRequest(exclude?: string): void {
    if (this.#inflight !== undefined || this.#applying || this.#o.paused?.() === true) return;
    this.prunePeers();
    const height = this.#o.chain.height;
    let best: string | undefined;
    let bestPeer: { height: number; failures: number; work?: bigint } | undefined;
    for (const [peer, p] of this.#peerSync) {
      if (p.height <= height || peer === exclude) continue;
      // On a chain that counts work, the heavier claim first (a longer chain may be lighter).
      const heavier = (p.work ?? 0n) > (bestPeer?.work ?? 0n);
      const asHeavy = (p.work ?? 0n) === (bestPeer?.work ?? 0n);
      if (
        bestPeer === undefined ||
        p.failures < bestPeer.failures ||
        (p.failures === bestPeer.failures &&
          (heavier ||
            (asHeavy &&
              (p.height > bestPeer.height || (p.height === bestPeer.height && peer < (best as string))))))
      ) {
        best = peer;
        bestPeer = p;
      }
    }
    if (best === undefined || bestPeer === undefined) return;
    const now = this.#o.clock.now();
    this.#behindSince ??= now;
    // One block behind is normal while consensus finishes a height: that block is fetched only
    // once it has been the case for ONE_BEHIND_MS, or consensus made no progress for syncStaleMs —
    // on a timer, not at the next status, which could come a status interval later.
    const fetchAt = Math.min(
      this.#behindSince + ONE_BEHIND_MS,
      this.#lastProgressAt + (this.#o.syncStaleMs ?? 2000),
    );
    if (bestPeer.height < height + 2 && now < fetchAt) {
      this.#o.timers.set('sync-behind', fetchAt - now, () => this.#o.enqueue(() => this.maybeRequest()));
      return;
    }
    this.#o.timers.cancel('sync-behind');
    const request = { peer: best, from: height + 1 };
    this.#inflight = request;
    this.#o.send(
      best,
      encodeSync({
        kind: 'get-blocks',
        from: request.from,
        count: Math.min(MAX_SYNC_BATCH, bestPeer.height - height),
      }),
    );
    const timeoutMs = this.#timeoutMs;
    this.#o.timers.set('sync-timeout', timeoutMs, () =>
      this.#o.enqueue(() => {
        if (this.#inflight !== request) return;
        this.#inflight = undefined;
        // A peer that left is simply forgotten; one still connected claimed blocks it did not serve.
        if (this.#o.transport.peers().includes(request.peer)) {
          this.#timeoutMs = Math.min(MAX_SYNC_TIMEOUT_MS, timeoutMs * 2);
          this.#syncFailed(request.peer, `no blocks within ${timeoutMs} ms`, 'minor');
        } else this.#peerSync.delete(request.peer);
        this.maybeRequest(request.peer);
      }),
    );
  }

  /**
   * A block request to `peer` failed: pass it over while others failed less, and penalize it
   * unless the failure was not its doing (`none`: it served a certified block of another fork).
   */
  #syncFailed(peer: string, reason: string, severity: SyncFailure['severity']): void {
    const p = this.#peerSync.get(peer);
    if (p !== undefined) p.failures++;
    this.#o.counters.syncFailures++;
    if (severity !== 'none') this.#o.transport.penalize(peer, `block sync: ${reason}`, severity);
  }

  /** A `blocks` reply: applied if it answers our outstanding request, else ignored. */
  async onBlocks(from: string, items: Extract<SyncMessage, { kind: 'blocks' }>['items']): Promise<void> {
    const request = this.#inflight;
    if (request?.peer !== from) return; // unsolicited
    this.#inflight = undefined;
    this.#o.timers.cancel('sync-timeout');
    if (items.length === 0) {
      this.#finish(from, { reason: 'empty blocks reply', severity: 'minor' });
      return;
    }
    this.#applying = true;
    await this.#applyFrom(from, request.from, items, 0);
  }

  /**
   * Applies a reply's block `i` (to `get-blocks` from `fromHeight`) and queues the next as an
   * event of its own: a reply of up to 64 blocks (8 MiB) took seconds to apply, and as one event
   * it held every other event back — the consensus messages that would let this node rejoin, and
   * its transaction intake (which event-queue.ts gives a turn only between events). No new
   * request goes out until the reply is done (`#applying`).
   */
  async #applyFrom(
    from: string,
    fromHeight: number,
    items: Extract<SyncMessage, { kind: 'blocks' }>['items'],
    i: number,
  ): Promise<void> {
    let outcome: 'next' | 'done' | SyncFailure;
    try {
      outcome = await this.#applyOne(from, fromHeight + i, items[i] as (typeof items)[number]);
    } catch (e) {
      this.#applying = false;
      throw e;
    }
    if (outcome === 'next' && i + 1 < items.length) {
      this.#o.enqueue(() => this.#applyFrom(from, fromHeight, items, i + 1));
      return;
    }
    this.#applying = false;
    this.#finish(from, typeof outcome === 'string' ? undefined : outcome);
  }

  /** A reply is done: on a failure the peer is scored and another asked, else the next blocks. */
  #finish(from: string, failed: SyncFailure | undefined): void {
    if (failed !== undefined) {
      this.#syncFailed(from, failed.reason, failed.severity);
      this.maybeRequest(from);
      return;
    }
    const p = this.#peerSync.get(from);
    if (p !== undefined) p.failures = 0;
    this.#timeoutMs = SYNC_TIMEOUT_MS;
    this.maybeRequest();
  }

  /**
   * Verifies and commits one block of a reply, which must be at `expected` (one that consensus
   * committed meanwhile is skipped), carry a valid certificate and re-execute to its header's
   * roots. Returns `next` to go on, `done` if the reply's blocks no longer extend the
   * head, or why the reply failed (blocks before the failure stay committed).
   */
  async #applyOne(
    from: string,
    expected: number,
    item: Extract<SyncMessage, { kind: 'blocks' }>['items'][number],
  ): Promise<'next' | 'done' | SyncFailure> {
    const chain = this.#o.chain;
    let block: Block;
    let cert: CommitCertificate;
    try {
      block = decodeBlock(item.block);
      cert = decodeCertificate(item.certificate, chain.schemes);
    } catch (e) {
      return { reason: `bad synced block: ${onlyTyped(e).message}`, severity: 'major' };
    }
    if (block.header.height !== expected) {
      return {
        reason: `sent height ${block.header.height} where ${expected} was asked for`,
        severity: 'minor',
      };
    }
    if (block.header.height <= chain.height) return 'next'; // consensus committed it meanwhile
    if (block.header.height !== chain.height + 1) return 'done';
    // The set and signing epoch of this block, from this node's own state (the head is its parent).
    const trust = await chain.trustFor(block.header.height);
    const check = verifyCertificate(cert, block.header, trust, chain.schemes);
    if (!check.ok) return { reason: `synced block certificate invalid: ${check.reason}`, severity: 'major' };
    if (!equalBytes(block.header.parentHash, chain.headHash)) {
      // Certified, yet not on our chain: the fork is below our head, where the peer cannot have
      // put it — two chains were certified (or, under proof of work, outmined). No peer is blamed.
      await this.#o.certifiedFork(from, block, cert);
      return { reason: `its block ${block.header.height} is certified on another fork`, severity: 'none' };
    }
    // Executed already on this same parent (our head): the same header hash is the same block and
    // the same resulting state, so that execution is what committing it needs. (A suffix block —
    // above its epoch's last — is never committed; none can be next here while its epoch is open,
    // and the pipeline's copies are dropped when the next epoch starts. Checked all the same, as
    // BlockPipeline.commit does.)
    const ready = this.#o.executedBlock?.(headerHash(block.header));
    let executed: ExecutedBlock;
    if (ready !== undefined && ready.suffix === undefined) {
      executed = ready;
      this.#o.counters.syncedReused++;
    } else
      try {
        // The certificate proves the block committed; execution must still reproduce its roots.
        executed = await chain.validateAndExecute(block, {
          ...(this.#o.txVerifier === undefined ? {} : { verifier: this.#o.txVerifier }),
          ...(this.#o.known === undefined ? {} : { known: this.#o.known }),
        });
      } catch (e) {
        // Only a block that fails validation is the peer's doing. Anything else — the disk, a
        // damaged store — is ours: it propagates and halts this node, and no peer is blamed.
        if (!(e instanceof ChainError && e.code === 'BLOCK_REJECTED')) throw e;
        this.#logger.warn('synced block failed validation', {
          height: block.header.height,
          from,
          error: e.message,
        });
        return { reason: 'synced block failed validation', severity: 'major' };
      }
    await chain.commit(executed, cert);
    this.#o.counters.syncedBlocks++;
    await this.#o.committed(executed, cert);
    return 'next';
  }
}
