/**
 * State snapshots: a node whose chain holds only genesis catches up from the certified state at a
 * height H instead of replaying every block (Raft's InstallSnapshot, CometBFT's state sync).
 *
 * A snapshot at H is
 *   - a manifest: block H's bytes, its commit certificate, the number of state-trie nodes
 *     reachable from its stateRoot, and its logSize (the history holds H + 1 hashes);
 *   - section 'state': those trie nodes (RLP bytes), in the order of a depth-first walk from the
 *     root (children in slot order, each distinct node once, at its first visit);
 *   - section 'log': the transaction-log entries 0 … logSize − 1, as stored;
 *   - section 'history': the hashes of blocks 0 … H.
 * Each section is served by index ranges (`SnapshotSource`) and taken in order
 * (`SnapshotReceiver`).
 *
 * What is trusted: only the genesis file. The certificate of block H is checked against the
 * genesis validator set (a chain without staking: the set never changes), so block H's header is
 * certified, and everything else is checked against it:
 *   - state: the walk order lets every node be checked on arrival — it must hash (keccak256, the
 *     trie's node address) to the next reference the walk expects, starting from the header's
 *     stateRoot, and decode as a well-formed node; so a node is either the right one or rejected at
 *     once, and the walk's end must coincide with the manifest's count (nothing missing or extra);
 *   - log: entries are checked for form on arrival (height ≤ H, never decreasing; the entries of
 *     block H are its transactions), and their RFC 9162 root against the header's logRoot once the
 *     last one is in;
 *   - history: hash 0 is this chain's genesis, hash H − 1 the header's parentHash, hash H the
 *     header's hash, and the root of hashes 0 … H − 1 the header's historyRoot.
 * A chain with staking is refused: the set that certifies block H comes from the state before it,
 * which the snapshot would deliver unverified.
 *
 * Errors are SnapshotError: SNAPSHOT_INVALID (the data is wrong: `meta.section` says which part —
 * 'manifest', 'state', 'log' or 'history' — and `meta.index` the item), SNAPSHOT_UNSUPPORTED (this
 * store cannot take a snapshot: not at genesis, or a chain with staking), SNAPSHOT_INCOMPLETE
 * (install before every part is in), SNAPSHOT_UNAVAILABLE (a source cannot serve that height).
 */
import { RLP } from '@ethereumjs/rlp';
import { byteKey, equalBytes } from '../crypto/bytes.ts';
import { invariant, VerityError } from '../crypto/errors.ts';
import { keccak256, sha256 } from '../crypto/hash.ts';
import { type Block, type BlockLimits, DEFAULT_MAX_BLOCK_BYTES, decodeBlock, headerHash } from './block.ts';
import {
  type CommitCertificate,
  decodeCertificate,
  MAX_CERTIFICATE_BYTES,
  verifyCertificate,
} from './certificate.ts';
import { ChainError, type ChainStore } from './chain.ts';
import { asBytes, asList, asSafeUint, rlpDecodeStrict, rlpEncode } from './codec.ts';
import { StorageError } from './kv.ts';
import { frontierRoot, pushLeaf } from './log/frontier.ts';
import { emptyFrontier, type Frontier, leafHash } from './log/index.ts';
import { EMPTY_ROOT } from './mpt/index.ts';
import { forEachHashRef, nodeFromRaw, type Raw } from './mpt/node.ts';
import { decodeLogEntry } from './receipt.ts';

export type SnapshotErrorCode =
  /** The snapshot's data is wrong (meta.section, meta.index: where). */
  | 'SNAPSHOT_INVALID'
  /** This store cannot take a snapshot: it is past genesis, or its chain has staking. */
  | 'SNAPSHOT_UNSUPPORTED'
  /** install() before every part was received (meta.section, meta.from: what is missing). */
  | 'SNAPSHOT_INCOMPLETE'
  /** A source cannot serve a snapshot at that height (above the head, or below lowestBlock). */
  | 'SNAPSHOT_UNAVAILABLE';

export class SnapshotError extends VerityError<SnapshotErrorCode> {}

export type SnapshotSection = 'state' | 'log' | 'history';

/** Data one part (one call of a SnapshotSource) returns at most; always at least one item. */
export const SNAPSHOT_PART_BYTES = 4 * 1024 * 1024;
/**
 * A state-trie node: a branch is ≤ 532 bytes, a leaf its path and value (an account, or a record
 * of ≤ MAX_RECORD_VALUE_LENGTH = 32 KiB): far below this.
 */
export const MAX_SNAPSHOT_NODE_BYTES = 64 * 1024;
/** A log entry, RLP([height, txId, receipt]) (decodeLogEntry's own cap). */
export const MAX_SNAPSHOT_LOG_ENTRY_BYTES = 128;
/** What a receiver accepts by default, in bytes of parts (it holds them all until install). */
export const DEFAULT_SNAPSHOT_MAX_BYTES = 1024 * 1024 * 1024;
export const SNAPSHOT_MANIFEST_VERSION = 1;

/** The smallest log entry: RLP list header, a 1-byte height, a 33-byte txId, a 1-byte receipt. */
const MIN_LOG_ENTRY_BYTES = 36;
/** Every state node but the root is referenced by hash, hence encodes to ≥ 32 bytes. */
const MIN_NODE_BYTES = 32;
const HASH_BYTES = 32;

export interface SnapshotManifest {
  readonly height: number;
  /** Block `height` as stored (canonical RLP). */
  readonly block: Uint8Array;
  /** Its commit certificate as stored. */
  readonly certificate: Uint8Array;
  /** State-trie nodes reachable from the block's stateRoot (section 'state' holds this many). */
  readonly stateNodes: number;
  /** The block's logSize (section 'log' holds this many entries; section 'history' height + 1). */
  readonly logSize: number;
}

/** Wire form: RLP([version, height, block, certificate, stateNodes, logSize]). */
export function encodeManifest(m: SnapshotManifest): Uint8Array {
  return rlpEncode([SNAPSHOT_MANIFEST_VERSION, m.height, m.block, m.certificate, m.stateNodes, m.logSize]);
}

/**
 * Strict decoding (canonical RLP, exact field count, size caps: the block within
 * `limits.maxBlockBytes`, the certificate within MAX_CERTIFICATE_BYTES, height ≥ 1). Checks form
 * only: SnapshotReceiver.start verifies the content. SNAPSHOT_INVALID on bad input;
 * SNAPSHOT_UNSUPPORTED for another version.
 */
export function decodeManifest(bytes: Uint8Array, limits: BlockLimits = {}): SnapshotManifest {
  const maxBlock = limits.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES;
  try {
    const f = asList(
      rlpDecodeStrict(bytes, maxBlock + MAX_CERTIFICATE_BYTES + 64, 'snapshot manifest'),
      'snapshot manifest',
    );
    const version = asSafeUint(f[0], 'manifest.version');
    if (version !== SNAPSHOT_MANIFEST_VERSION)
      throw new SnapshotError('SNAPSHOT_UNSUPPORTED', `snapshot manifest version ${version} is unknown`, {
        section: 'manifest',
      });
    if (f.length !== 6) throw new Error(`expected 6 fields, got ${f.length}`);
    const height = asSafeUint(f[1], 'manifest.height');
    if (height < 1) throw new Error('a snapshot is of a height ≥ 1');
    return {
      height,
      block: asBytes(f[2], 'manifest.block', { max: maxBlock }),
      certificate: asBytes(f[3], 'manifest.certificate', { max: MAX_CERTIFICATE_BYTES }),
      stateNodes: asSafeUint(f[4], 'manifest.stateNodes'),
      logSize: asSafeUint(f[5], 'manifest.logSize'),
    };
  } catch (e) {
    if (e instanceof SnapshotError) throw e;
    throw invalid('manifest', `malformed manifest: ${(e as Error).message}`);
  }
}

function invalid(section: SnapshotSection | 'manifest', why: string, meta: Record<string, unknown> = {}) {
  return new SnapshotError('SNAPSHOT_INVALID', why, { section, ...meta });
}

/**
 * The hash references of a state-trie node, in slot order (inline children's included), once its
 * bytes are checked: at most MAX_SNAPSHOT_NODE_BYTES, keccak256 = `hash` (before decoding: hostile
 * bytes never reach the decoder), and a well-formed node. A string says what is wrong.
 */
function checkedRefs(bytes: Uint8Array, hash: Uint8Array): Uint8Array[] | string {
  if (bytes.length > MAX_SNAPSHOT_NODE_BYTES)
    return `${bytes.length} bytes, above ${MAX_SNAPSHOT_NODE_BYTES}`;
  if (!equalBytes(keccak256(bytes), hash)) return 'does not hash to the reference the walk expects';
  let raw: Raw;
  try {
    raw = RLP.decode(bytes) as Raw;
    nodeFromRaw(raw, bytes, 'CORRUPT_NODE', hash);
  } catch (e) {
    return (e as Error).message;
  }
  const refs: Uint8Array[] = [];
  forEachHashRef(raw, (h) => refs.push(h));
  return refs;
}

/** 32-byte hashes packed in one growing buffer: 32 bytes a node, not an object each. */
class HashList {
  #buf = new Uint8Array(HASH_BYTES * 1024);
  length = 0;

  push(hash: Uint8Array): void {
    if ((this.length + 1) * HASH_BYTES > this.#buf.length) {
      const bigger = new Uint8Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    this.#buf.set(hash, this.length * HASH_BYTES);
    this.length++;
  }

  at(i: number): Uint8Array {
    return this.#buf.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES);
  }
}

function checkRange(from: number, count: number): void {
  if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(count) || count < 0)
    throw new SnapshotError('SNAPSHOT_INVALID', `bad part range: from ${from}, count ${count}`);
}

/**
 * Serves the snapshot at one committed height of a chain. Opening walks the state trie once and
 * keeps only the nodes' hashes (32 bytes each); parts are read from the store when asked. It stays
 * valid while the chain commits more blocks: the trie is archive-mode (the nodes of every committed
 * root stay) and the log and the history only grow.
 */
export class SnapshotSource {
  readonly manifest: SnapshotManifest;
  readonly #chain: ChainStore;
  readonly #nodes: HashList;

  private constructor(chain: ChainStore, manifest: SnapshotManifest, nodes: HashList) {
    this.#chain = chain;
    this.manifest = manifest;
    this.#nodes = nodes;
  }

  /**
   * The snapshot at `height` (1 ≤ height ≤ chain.height, and a block the store holds: ≥
   * lowestBlock), else SNAPSHOT_UNAVAILABLE. A damaged store is STORAGE_CORRUPT.
   */
  static async open(chain: ChainStore, height: number): Promise<SnapshotSource> {
    if (!Number.isSafeInteger(height) || height < 1 || height > chain.height)
      throw new SnapshotError(
        'SNAPSHOT_UNAVAILABLE',
        `no snapshot at height ${height}: the chain is at ${chain.height}`,
        { height },
      );
    const block = await chain.getBlock(height);
    const blockBytes = await chain.getBlockBytes(height);
    const certificate = await chain.getCertificateBytes(height);
    if (block === undefined || blockBytes === undefined || certificate === undefined)
      throw new SnapshotError(
        'SNAPSHOT_UNAVAILABLE',
        `no snapshot at height ${height}: this store holds blocks from ${chain.lowestBlock}`,
        { height },
      );
    const nodes = await walkState(chain, block.header.stateRoot);
    const manifest: SnapshotManifest = {
      height,
      block: blockBytes,
      certificate,
      stateNodes: nodes.length,
      logSize: block.header.logSize,
    };
    return new SnapshotSource(chain, manifest, nodes);
  }

  /** State nodes `from` … (at most `count`, and SNAPSHOT_PART_BYTES but at least one). */
  async stateNodes(from: number, count: number): Promise<Uint8Array[]> {
    checkRange(from, count);
    return this.#part(from, count, this.manifest.stateNodes, async (i) => {
      const hash = this.#nodes.at(i);
      const bytes = await this.#chain.stateNode(hash);
      // Served bytes are checked: damaged storage must not get this node blamed by its peers.
      if (bytes === undefined || !equalBytes(keccak256(bytes), hash))
        throw new StorageError(
          'STORAGE_CORRUPT',
          `state trie node ${i} of the snapshot at ${this.manifest.height} is missing or damaged: restore the data directory or resync it`,
        );
      return bytes;
    });
  }

  /** Log entries `from` … (at most `count`, below logSize, and SNAPSHOT_PART_BYTES). */
  async logEntries(from: number, count: number): Promise<Uint8Array[]> {
    checkRange(from, count);
    return this.#part(from, count, this.manifest.logSize, async (i) => {
      const entry = await this.#chain.log.getEntry(i);
      invariant(entry !== undefined, `log entry ${i} below the snapshot's log size is missing`);
      return entry;
    });
  }

  /** Block hashes `from` … (at most `count`, up to the snapshot's height, and SNAPSHOT_PART_BYTES). */
  async historyHashes(from: number, count: number): Promise<Uint8Array[]> {
    checkRange(from, count);
    return this.#part(from, count, this.manifest.height + 1, async (i) => {
      const hash = await this.#chain.history.getEntry(i);
      invariant(hash !== undefined, `history hash ${i} below the snapshot's height is missing`);
      return hash;
    });
  }

  async #part(
    from: number,
    count: number,
    total: number,
    read: (i: number) => Promise<Uint8Array>,
  ): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    let bytes = 0;
    for (let i = from; i < Math.min(total, from + count); i++) {
      const item = await read(i);
      if (out.length > 0 && bytes + item.length > SNAPSHOT_PART_BYTES) break;
      out.push(item);
      bytes += item.length;
    }
    return out;
  }
}

/** The walk: depth-first from the root, children in slot order, each distinct node at its first visit. */
async function walkState(chain: ChainStore, root: Uint8Array): Promise<HashList> {
  const out = new HashList();
  if (equalBytes(root, EMPTY_ROOT)) return out;
  const seen = new Set<string>();
  const stack: Uint8Array[] = [root];
  for (let hash = stack.pop(); hash !== undefined; hash = stack.pop()) {
    const key = byteKey(hash);
    if (seen.has(key)) continue;
    seen.add(key);
    const bytes = await chain.stateNode(hash);
    const refs = bytes === undefined ? 'missing' : checkedRefs(bytes, hash);
    if (typeof refs === 'string')
      throw new StorageError(
        'STORAGE_CORRUPT',
        `state trie node ${Buffer.from(hash).toString('hex')} is damaged (${refs}): restore the data directory or resync it`,
      );
    out.push(hash);
    for (let i = refs.length - 1; i >= 0; i--) stack.push(refs[i] as Uint8Array);
  }
  return out;
}

export interface SnapshotReceiverOptions {
  /**
   * Bytes of parts the receiver accepts in all (default DEFAULT_SNAPSHOT_MAX_BYTES): it holds every
   * part in memory until install. Beyond it: SNAPSHOT_INVALID. Per-item overhead (an object and a
   * set entry per state node, an array slot per log entry or hash) comes on top.
   */
  readonly maxBytes?: number;
}

/**
 * Takes a snapshot into a chain store that holds only genesis: the manifest is verified at start,
 * each part as it arrives (in order: every add call appends), and `install` writes it all in one
 * atomic batch. An add call that throws leaves the receiver as it was — except that a log or
 * history section whose root turns out wrong when its last item arrives is dropped (meta.restart:
 * `next()` asks for it again from 0; which part was wrong cannot be told). A SNAPSHOT_INVALID with
 * meta.section 'manifest' condemns the manifest: start over with another.
 *
 * Memory: every part is held until install (see SnapshotReceiverOptions.maxBytes).
 */
export class SnapshotReceiver {
  readonly manifest: SnapshotManifest;
  readonly #chain: ChainStore;
  readonly #block: Block;
  readonly #blockHash: Uint8Array;
  readonly #certificate: CommitCertificate;
  readonly #maxBytes: number;
  #bytes = 0;
  // state: the walk's pending references (a stack), the nodes taken, the hashes seen
  #pending: Uint8Array[];
  readonly #nodes: Array<{ readonly hash: Uint8Array; readonly bytes: Uint8Array }> = [];
  readonly #seen = new Set<string>();
  // log
  #entries: Uint8Array[] = [];
  #logFrontier: Frontier = emptyFrontier();
  #lastLogHeight = 0;
  // history
  #hashes: Uint8Array[] = [];
  #historyFrontier: Frontier = emptyFrontier();
  #installed = false;

  private constructor(
    chain: ChainStore,
    manifest: SnapshotManifest,
    block: Block,
    certificate: CommitCertificate,
    maxBytes: number,
  ) {
    this.#chain = chain;
    this.manifest = manifest;
    this.#block = block;
    this.#blockHash = headerHash(block.header);
    this.#certificate = certificate;
    this.#maxBytes = maxBytes;
    const root = block.header.stateRoot;
    this.#pending = equalBytes(root, EMPTY_ROOT) ? [] : [root];
  }

  /**
   * Checks that `chain` can take a snapshot (SNAPSHOT_UNSUPPORTED: not at genesis, or staking) and
   * that the manifest is sound: block H decodes under the chain's limits, is of this chain at the
   * manifest's height with its logSize, its certificate verifies against the trust for H (the
   * genesis set), the counts fit the byte cap (SNAPSHOT_INVALID otherwise).
   */
  static async start(
    chain: ChainStore,
    manifest: SnapshotManifest,
    opts: SnapshotReceiverOptions = {},
  ): Promise<SnapshotReceiver> {
    if (chain.genesis.staking !== undefined)
      throw new SnapshotError(
        'SNAPSHOT_UNSUPPORTED',
        'this chain has staking: the validator set that certifies block H is read from the state before it, which a snapshot would deliver unverified — catch up by replaying blocks',
      );
    if (chain.height !== 0)
      throw new SnapshotError(
        'SNAPSHOT_UNSUPPORTED',
        `a snapshot installs only on a chain at genesis; this one is at height ${chain.height}`,
      );
    const maxBytes = opts.maxBytes ?? DEFAULT_SNAPSHOT_MAX_BYTES;
    invariant(Number.isSafeInteger(maxBytes) && maxBytes > 0, 'maxBytes must be a positive integer');
    const { height, stateNodes, logSize } = manifest;
    for (const [name, n] of [
      ['height', height],
      ['stateNodes', stateNodes],
      ['logSize', logSize],
    ] as const)
      if (!Number.isSafeInteger(n) || n < 0)
        throw invalid('manifest', `manifest ${name} ${n} is not a count`);
    if (height < 1) throw invalid('manifest', 'a snapshot is of a height ≥ 1');
    // The sane bound: what the manifest announces must fit what this receiver will hold.
    const least =
      (height + 1) * HASH_BYTES +
      logSize * MIN_LOG_ENTRY_BYTES +
      Math.max(0, stateNodes - 1) * MIN_NODE_BYTES;
    if (least > maxBytes)
      throw invalid(
        'manifest',
        `the snapshot (height ${height}, ${stateNodes} state nodes, ${logSize} log entries) holds more than the ${maxBytes} bytes this receiver accepts`,
        { maxBytes },
      );
    if (!(manifest.block instanceof Uint8Array) || !(manifest.certificate instanceof Uint8Array))
      throw invalid('manifest', 'manifest block and certificate must be bytes');
    let block: Block;
    let certificate: CommitCertificate;
    try {
      block = decodeBlock(manifest.block, chain.limits);
      certificate = decodeCertificate(manifest.certificate, chain.schemes);
    } catch (e) {
      if (!(e instanceof VerityError)) throw e;
      throw invalid('manifest', `manifest block or certificate: ${e.message}`);
    }
    const h = block.header;
    if (h.height !== height)
      throw invalid('manifest', `manifest of height ${height} carries block ${h.height}`);
    if (h.chainId !== chain.genesis.chainId) throw invalid('manifest', `block of chain "${h.chainId}"`);
    if (h.logSize !== logSize)
      throw invalid('manifest', `manifest logSize ${logSize}, but block ${height} says ${h.logSize}`);
    if (h.txCount > logSize) throw invalid('manifest', `block ${height} has more transactions than the log`);
    if (equalBytes(h.stateRoot, EMPTY_ROOT) !== (stateNodes === 0))
      throw invalid('manifest', `manifest stateNodes ${stateNodes} for state root of block ${height}`);
    const check = verifyCertificate(certificate, h, await chain.trustFor(height), chain.schemes);
    if (!check.ok) throw invalid('manifest', `certificate of block ${height}: ${check.reason}`);
    return new SnapshotReceiver(chain, manifest, block, certificate, maxBytes);
  }

  /** What to ask for next, in order state → log → history; undefined once every part is in. */
  next(): { section: SnapshotSection; from: number } | undefined {
    if (this.#installed) return undefined;
    if (this.#nodes.length < this.manifest.stateNodes) return { section: 'state', from: this.#nodes.length };
    if (this.#entries.length < this.manifest.logSize) return { section: 'log', from: this.#entries.length };
    if (this.#hashes.length < this.manifest.height + 1)
      return { section: 'history', from: this.#hashes.length };
    return undefined;
  }

  /** Bytes of parts held so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Appends the next state nodes (from index `next().from` of section 'state'), each checked. */
  addStateNodes(nodes: readonly Uint8Array[]): void {
    const total = this.manifest.stateNodes;
    const first = this.#nodes.length;
    this.#checkCount('state', nodes, first, total);
    const pending = this.#pending.slice();
    const fresh = new Map<string, { hash: Uint8Array; bytes: Uint8Array }>();
    const seen = (hash: Uint8Array) => this.#seen.has(byteKey(hash)) || fresh.has(byteKey(hash));
    // Drops references to nodes already taken (a node met again in the walk is not sent again).
    const skipSeen = () => {
      while (pending.length > 0 && seen(pending[pending.length - 1] as Uint8Array)) pending.pop();
    };
    let bytes = 0;
    skipSeen();
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i];
      const index = first + i;
      if (!(node instanceof Uint8Array))
        throw invalid('state', `state node ${index} is not bytes`, { index });
      const expected = pending.pop();
      if (expected === undefined)
        throw invalid('manifest', `the state trie has ${index} nodes, not the manifest's ${total}`, {
          index,
        });
      const refs = checkedRefs(node, expected);
      if (typeof refs === 'string') throw invalid('state', `state node ${index}: ${refs}`, { index });
      fresh.set(byteKey(expected), { hash: expected, bytes: node });
      bytes += node.length;
      for (let r = refs.length - 1; r >= 0; r--) pending.push(refs[r] as Uint8Array);
      skipSeen();
    }
    const taken = first + nodes.length;
    if (taken === total && pending.length > 0)
      throw invalid('manifest', `the state trie has more nodes than the manifest's ${total}`);
    if (taken < total && pending.length === 0)
      throw invalid('manifest', `the state trie has ${taken} nodes, not the manifest's ${total}`);
    this.#charge('state', bytes);
    this.#pending = pending;
    for (const [key, node] of fresh) {
      this.#seen.add(key);
      this.#nodes.push(node);
    }
  }

  /** Appends the next log entries (from index `next().from` of section 'log'). */
  addLogEntries(entries: readonly Uint8Array[]): void {
    const { logSize } = this.manifest;
    const h = this.#block.header;
    const first = this.#entries.length;
    this.#checkCount('log', entries, first, logSize);
    // Entries logSize − txCount … logSize − 1 are block H's own transactions, in order.
    const ownFrom = logSize - h.txCount;
    const frontier = this.#logFrontier.slice();
    let last = this.#lastLogHeight;
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const index = first + i;
      const bad = (why: string) => invalid('log', `log entry ${index}: ${why}`, { index });
      if (!(entry instanceof Uint8Array)) throw bad('not bytes');
      let decoded: ReturnType<typeof decodeLogEntry>;
      try {
        decoded = decodeLogEntry(entry);
      } catch (e) {
        if (!(e instanceof VerityError)) throw e;
        throw bad(e.message);
      }
      if (decoded.height < 1 || decoded.height < last || decoded.height > h.height)
        throw bad(`height ${decoded.height} after height ${last}, in a snapshot at ${h.height}`);
      if (index >= ownFrom !== (decoded.height === h.height))
        throw bad(`height ${decoded.height}, but block ${h.height} has ${h.txCount} transactions`);
      if (
        index >= ownFrom &&
        !equalBytes(decoded.txId, sha256(this.#block.txs[index - ownFrom] as Uint8Array))
      )
        throw bad(`not transaction ${index - ownFrom} of block ${h.height}`);
      last = decoded.height;
      pushLeaf(frontier, index, leafHash(entry));
      bytes += entry.length;
    }
    if (first + entries.length === logSize && !equalBytes(frontierRoot(frontier), h.logRoot)) {
      this.#uncharge(this.#entries.reduce((n, e) => n + e.length, 0));
      this.#entries = [];
      this.#logFrontier = emptyFrontier();
      this.#lastLogHeight = 0;
      throw invalid('log', `the log entries do not hash to block ${h.height}'s logRoot`, { restart: true });
    }
    this.#charge('log', bytes);
    this.#logFrontier = frontier;
    this.#lastLogHeight = last;
    for (const e of entries) this.#entries.push(e);
  }

  /** Appends the next block hashes (from index `next().from` of section 'history'). */
  addHistoryHashes(hashes: readonly Uint8Array[]): void {
    const h = this.#block.header;
    const height = h.height;
    const first = this.#hashes.length;
    this.#checkCount('history', hashes, first, height + 1);
    const frontier = this.#historyFrontier.slice();
    for (let i = 0; i < hashes.length; i++) {
      const hash = hashes[i];
      const index = first + i;
      const bad = (why: string) => invalid('history', `history hash ${index}: ${why}`, { index });
      if (!(hash instanceof Uint8Array) || hash.length !== HASH_BYTES) throw bad('not 32 bytes');
      if (index === 0 && !equalBytes(hash, this.#chain.genesisHash)) throw bad("not this chain's genesis");
      if (index === height - 1 && !equalBytes(hash, h.parentHash)) throw bad(`not block ${height}'s parent`);
      if (index === height && !equalBytes(hash, this.#blockHash)) throw bad(`not block ${height}'s hash`);
      if (index < height) pushLeaf(frontier, index, leafHash(hash));
    }
    // The header commits to hashes 0 … H − 1: check once the last of them is in.
    if (
      first < height &&
      first + hashes.length >= height &&
      !equalBytes(frontierRoot(frontier), h.historyRoot)
    ) {
      this.#uncharge(this.#hashes.length * HASH_BYTES);
      this.#hashes = [];
      this.#historyFrontier = emptyFrontier();
      throw invalid('history', `the history hashes do not hash to block ${height}'s historyRoot`, {
        restart: true,
      });
    }
    this.#charge('history', hashes.length * HASH_BYTES);
    this.#historyFrontier = frontier;
    for (const x of hashes) this.#hashes.push(x);
  }

  /**
   * Verifies the whole (every part in, the walk complete, the roots matched) and writes it in ONE
   * atomic batch (ChainStore.installSnapshot); a failure before the write leaves the store as it
   * was. SNAPSHOT_INCOMPLETE if a part is missing; SNAPSHOT_UNSUPPORTED if the chain moved past
   * genesis meanwhile.
   */
  async install(): Promise<void> {
    if (this.#installed)
      throw new SnapshotError('SNAPSHOT_UNSUPPORTED', 'this snapshot is already installed');
    const missing = this.next();
    if (missing !== undefined)
      throw new SnapshotError(
        'SNAPSHOT_INCOMPLETE',
        `the snapshot lacks its ${missing.section} part from ${missing.from}`,
        { ...missing },
      );
    const h = this.#block.header;
    invariant(this.#pending.length === 0, 'a complete state section leaves no reference pending');
    // A non-empty log was matched as its last entry came in; an empty one is matched here.
    if (!equalBytes(frontierRoot(this.#logFrontier), h.logRoot))
      throw invalid('log', `the log entries do not hash to block ${h.height}'s logRoot`);
    try {
      await this.#chain.installSnapshot({
        block: this.#block,
        certificate: this.#certificate,
        stateNodes: this.#nodes,
        logEntries: this.#entries,
        historyHashes: this.#hashes,
      });
    } catch (e) {
      if (e instanceof ChainError && e.code === 'OUT_OF_ORDER')
        throw new SnapshotError(
          'SNAPSHOT_UNSUPPORTED',
          `the chain cannot take the snapshot now: ${e.message}`,
        );
      if (e instanceof ChainError && e.code === 'SNAPSHOT_REJECTED') throw invalid('manifest', e.message);
      throw e;
    }
    this.#installed = true;
    // Installed: the parts are in the store now.
    this.#nodes.length = 0;
    this.#seen.clear();
    this.#entries = [];
    this.#hashes = [];
  }

  #checkCount(section: SnapshotSection, items: readonly unknown[], first: number, total: number): void {
    if (!Array.isArray(items)) throw invalid(section, `${section} part is not a list`);
    if (first + items.length > total)
      throw invalid(
        section,
        `${items.length} ${section} items from ${first} go beyond the snapshot's ${total}`,
        { index: total },
      );
  }

  #charge(section: SnapshotSection, bytes: number): void {
    if (this.#bytes + bytes > this.#maxBytes)
      throw invalid(section, `the snapshot exceeds the ${this.#maxBytes} bytes this receiver accepts`, {
        maxBytes: this.#maxBytes,
      });
    this.#bytes += bytes;
  }

  #uncharge(bytes: number): void {
    this.#bytes -= bytes;
  }
}
