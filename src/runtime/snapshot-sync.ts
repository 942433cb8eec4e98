/**
 * State sync: a node whose chain is empty (a new member, or one `verity reset` wiped) and whose
 * peers are far ahead installs the certified state at a peer's height — the state trie, the
 * transaction log and the block-hash history, checked against a block whose commit certificate it
 * verifies (ledger/snapshot.ts) — instead of replaying every block; block sync then replays from
 * there. Raft's InstallSnapshot (§7) and CometBFT's state sync play this part.
 *
 * One session at a time, with one peer: the manifest, then the parts in order, one request in
 * flight. A part that does not check out, or a snapshot that fails its final verification, is a
 * major fault of that peer; a timeout a minor one. Either way the session ends, that peer is not
 * asked for a snapshot again, and block sync (paused while a session runs) takes over.
 *
 * Serving: any node answers from its committed chain. Sources are cached (two heights), since a
 * source walks the state trie once to list its nodes.
 */
import { ChainError, type ChainStore } from '../../ledger/chain.ts';
import type { Clock } from '../../ledger/clock.ts';
import {
  decodeManifest,
  encodeManifest,
  SnapshotError,
  type SnapshotManifest,
  SnapshotReceiver,
  SnapshotSource,
} from '../../ledger/snapshot.ts';
import type { Logger, Timers, Transport } from './ports.ts';
import { encodeSync, MAX_SNAPSHOT_ITEMS, type SnapshotSection, type SyncMessage } from './sync-codec.ts';

/** A snapshot request unanswered for this long is sent again (messages get lost)… */
const SNAPSHOT_TIMEOUT_MS = 3_000;
/** …this many times; then the session ends (a minor fault of the peer). */
const SNAPSHOT_RETRIES = 5;
/** Sources kept for serving: the latest heights asked for. */
const CACHED_SOURCES = 2;
/**
 * The default lead for state sync: a node with an empty chain replays up to this many blocks, and
 * takes a snapshot beyond (replaying costs signature checks and trie updates per transaction; a
 * snapshot costs the state's size once).
 */
export const DEFAULT_SNAPSHOT_LEAD = 1000;

export interface SnapshotSyncOptions {
  readonly chain: ChainStore;
  readonly transport: Transport;
  readonly timers: Timers;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * How far ahead (blocks) a peer must be for a node with an empty chain to take a snapshot rather
   * than replay; 0 turns state sync off (this node still serves snapshots).
   */
  readonly minLead: number;
  readonly counters: { snapshots: number; snapshotFailures: number };
  send(to: string, bytes: Uint8Array): void;
  /** Runs `fn` on the runtime's event queue. */
  enqueue(fn: () => Promise<void> | void): void;
  /** The snapshot is installed: the chain's head is its height (the runtime restarts the engine). */
  installed(): Promise<void>;
}

interface Session {
  readonly peer: string;
  readonly startedAt: number;
  /** Undefined until the manifest arrived. */
  receiver: SnapshotReceiver | undefined;
  manifest: SnapshotManifest | undefined;
  /** The request in flight. */
  asked: { section: SnapshotSection | 'manifest'; from: number };
  parts: number;
  bytes: number;
  /** Times the request in flight was sent again. */
  retries: number;
}

export class SnapshotSync {
  readonly #o: SnapshotSyncOptions;
  #session: Session | undefined;
  /** Peers whose snapshot failed: not asked again (block sync still uses them). */
  readonly #refused = new Set<string>();
  readonly #sources = new Map<number, Promise<SnapshotSource>>();

  constructor(o: SnapshotSyncOptions) {
    this.#o = o;
  }

  /** Whether a session is under way: block sync waits meanwhile. */
  active(): boolean {
    return this.#session !== undefined;
  }

  /** A peer claims `height`: start a session with it if this node should take a snapshot. */
  consider(peer: string, height: number): void {
    const chain = this.#o.chain;
    if (this.#session !== undefined || this.#o.minLead <= 0 || this.#refused.has(peer)) return;
    if (chain.height !== 0 || chain.genesis.staking !== undefined || height < this.#o.minLead) return;
    this.#session = {
      peer,
      startedAt: this.#o.clock.now(),
      receiver: undefined,
      manifest: undefined,
      asked: { section: 'manifest', from: 0 },
      parts: 0,
      bytes: 0,
      retries: 0,
    };
    this.#o.logger.info('state sync: asking a peer for a snapshot', { peer, height });
    this.#ask(encodeSync({ kind: 'get-snapshot', height }));
  }

  /** The manifest a peer offers. */
  async onManifest(from: string, bytes: Uint8Array): Promise<void> {
    const s = this.#session;
    if (s?.peer !== from || s.asked.section !== 'manifest') return; // unsolicited
    this.#o.timers.cancel('snapshot-timeout');
    if (bytes.length === 0) return this.#end('the peer has no snapshot to offer', 'minor');
    try {
      s.manifest = decodeManifest(bytes);
      s.receiver = await SnapshotReceiver.start(this.#o.chain, s.manifest);
    } catch (e) {
      return this.#refusedOrOwn(e, 'manifest');
    }
    this.#o.logger.info('state sync: snapshot manifest verified', {
      peer: from,
      height: s.manifest.height,
      stateNodes: s.manifest.stateNodes,
      logSize: s.manifest.logSize,
    });
    await this.#next();
  }

  /** A part of the snapshot under way. */
  async onPart(from: string, m: Extract<SyncMessage, { kind: 'snapshot-part' }>): Promise<void> {
    const s = this.#session;
    const r = s?.receiver;
    if (s === undefined || r === undefined || s.peer !== from) return;
    if (m.height !== s.manifest?.height || m.section !== s.asked.section || m.from !== s.asked.from) return;
    this.#o.timers.cancel('snapshot-timeout');
    if (m.items.length === 0) return this.#end(`an empty ${m.section} part`, 'minor');
    try {
      if (m.section === 'state') r.addStateNodes(m.items);
      else if (m.section === 'log') r.addLogEntries(m.items);
      else r.addHistoryHashes(m.items);
    } catch (e) {
      return this.#refusedOrOwn(e, `${m.section} part`);
    }
    s.parts++;
    for (const item of m.items) s.bytes += item.length;
    await this.#next();
  }

  /** Serves a manifest: the snapshot at `height`, or at this node's head if it is lower. */
  async serveManifest(to: string, height: number): Promise<void> {
    const h = Math.min(height, this.#o.chain.height);
    const source = h < 1 ? undefined : await this.#available(h);
    this.#o.send(
      to,
      encodeSync({
        kind: 'snapshot-manifest',
        manifest: source === undefined ? new Uint8Array(0) : encodeManifest(source.manifest),
      }),
    );
  }

  /** Serves a part of the snapshot at `height` (a height above the head gets nothing). */
  async servePart(to: string, m: Extract<SyncMessage, { kind: 'get-snapshot-part' }>): Promise<void> {
    if (m.height < 1 || m.height > this.#o.chain.height) return;
    const source = await this.#available(m.height);
    if (source === undefined) return;
    const count = Math.min(m.count, MAX_SNAPSHOT_ITEMS);
    const items =
      m.section === 'state'
        ? await source.stateNodes(m.from, count)
        : m.section === 'log'
          ? await source.logEntries(m.from, count)
          : await source.historyHashes(m.from, count);
    this.#o.send(
      to,
      encodeSync({ kind: 'snapshot-part', height: m.height, section: m.section, from: m.from, items }),
    );
  }

  /** The source at `height`, or undefined where this store cannot serve one (below what it holds). */
  async #available(height: number): Promise<SnapshotSource | undefined> {
    try {
      return await this.#source(height);
    } catch (e) {
      if (e instanceof SnapshotError && e.code === 'SNAPSHOT_UNAVAILABLE') return undefined;
      throw e;
    }
  }

  #source(height: number): Promise<SnapshotSource> {
    let source = this.#sources.get(height);
    if (source === undefined) {
      source = SnapshotSource.open(this.#o.chain, height);
      this.#sources.set(height, source);
      source.catch(() => this.#sources.delete(height));
      while (this.#sources.size > CACHED_SOURCES)
        this.#sources.delete(this.#sources.keys().next().value as number);
    }
    return source;
  }

  /** Asks for what the receiver lacks next, or installs the complete snapshot. */
  async #next(): Promise<void> {
    const s = this.#session;
    const r = s?.receiver;
    const manifest = s?.manifest;
    if (s === undefined || r === undefined || manifest === undefined) return;
    const next = r.next();
    if (next !== undefined) {
      s.asked = next;
      this.#ask(
        encodeSync({
          kind: 'get-snapshot-part',
          height: manifest.height,
          section: next.section,
          from: next.from,
          count: MAX_SNAPSHOT_ITEMS,
        }),
      );
      return;
    }
    try {
      await r.install();
    } catch (e) {
      return this.#refusedOrOwn(e, 'snapshot');
    }
    this.#session = undefined;
    this.#o.counters.snapshots++;
    this.#o.logger.info('state sync: snapshot installed; block sync continues from it', {
      peer: s.peer,
      height: manifest.height,
      stateNodes: manifest.stateNodes,
      logSize: manifest.logSize,
      parts: s.parts,
      bytes: s.bytes,
      ms: Math.round(this.#o.clock.now() - s.startedAt),
    });
    await this.#o.installed();
  }

  /** Sends a request, and again on each timeout up to SNAPSHOT_RETRIES times. */
  #ask(bytes: Uint8Array, retry = false): void {
    const s = this.#session;
    if (s === undefined) return;
    s.retries = retry ? s.retries + 1 : 0;
    this.#o.send(s.peer, bytes);
    const asked = s.asked;
    this.#o.timers.set('snapshot-timeout', SNAPSHOT_TIMEOUT_MS, () =>
      this.#o.enqueue(() => {
        if (this.#session !== s || s.asked !== asked) return;
        if (s.retries < SNAPSHOT_RETRIES) this.#ask(bytes, true);
        else this.#end(`no answer within ${SNAPSHOT_TIMEOUT_MS} ms, ${SNAPSHOT_RETRIES + 1} times`, 'minor');
      }),
    );
  }

  /**
   * A snapshot error is the peer's doing unless it says this node cannot take one (its chain moved
   * meanwhile, through block sync or consensus): then the session simply ends. Anything else is
   * this node's own fault and propagates.
   */
  #refusedOrOwn(e: unknown, what: string): void {
    if (e instanceof SnapshotError && e.code === 'SNAPSHOT_UNSUPPORTED') {
      this.#o.logger.info('state sync: this node cannot take the snapshot any more', { reason: e.message });
      this.#session = undefined;
      return;
    }
    if (!(e instanceof SnapshotError || (e instanceof ChainError && e.code === 'BLOCK_REJECTED'))) throw e;
    this.#end(`invalid ${what}: ${e.message}`, 'major');
  }

  #end(reason: string, severity: 'minor' | 'major'): void {
    const s = this.#session;
    if (s === undefined) return;
    this.#session = undefined;
    this.#o.timers.cancel('snapshot-timeout');
    this.#refused.add(s.peer);
    this.#o.counters.snapshotFailures++;
    this.#o.logger.warn('state sync: snapshot abandoned; block sync replays instead', {
      peer: s.peer,
      reason,
    });
    this.#o.transport.penalize(s.peer, `state sync: ${reason}`, severity);
  }
}
