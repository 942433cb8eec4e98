/**
 * The chain store: committed blocks, certificates, the transaction index, the state trie and the
 * transparency log, all in one KvStore under separate key spaces (chain-layout.ts).
 *
 * The block-hash history is an RFC 9162 tree (the same log code) whose leaf i is the hash of block
 * i; every header commits to the history of its ancestors (`historyRoot`, block.ts).
 *
 * Committing a block (block + certificate + trie nodes + log entries + history + index + head) is
 * ONE atomic batch: everything is staged in a StagedKvStore overlay and flushed once. On open, the
 * stored head is checked against the stored state, log and history (roots and sizes); a mismatch
 * is a startup error, never ignored.
 *
 * A store may also start from a state snapshot at a height H (`installSnapshot`, fed by
 * ledger/snapshot.ts): it then holds genesis, block H onwards, the whole log and history, and the
 * state from H on; blocks 1 … H − 1 are absent (`lowestBlock`).
 */
import { concatBytes, equalBytes, u64be } from '../crypto/bytes.ts';
import { invariant, onlyTyped } from '../crypto/errors.ts';
import type { BatchVerifier } from '../crypto/signature-batch.ts';
import {
  type Block,
  type BlockHeader,
  type BlockLimits,
  checkBody,
  DEFAULT_MAX_BLOCK_BYTES,
  decodeBlock,
  encodeBlock,
  HEADER_VERSION,
  headerHash,
  txRoot,
} from './block.ts';
import {
  type BlockTxRules,
  decodeAndVerifyBlockTxs,
  decodeBlockTxs,
  decodeBlockTxsUnverified,
  type KnownTransactions,
} from './block-txs.ts';
import {
  type CertificateSchemes,
  type CommitCertificate,
  decodeCertificate,
  encodeCertificate,
  type TrustAnchor,
} from './certificate.ts';
import { ChainError } from './chain-error.ts';
import {
  accountTxKey,
  HISTORY_PREFIX,
  heightKey,
  K_ACCOUNT_INDEX_FROM,
  K_GENESIS,
  K_HEAD,
  K_LOWEST_BLOCK,
  LOG_PREFIX,
  P_ACCOUNT_TX,
  P_BLOCK,
  P_CERT,
  P_HASH,
  P_TX,
  readHeight,
  STATE_LAYOUT,
  STATE_PREFIX,
} from './chain-layout.ts';
import { asList, asSafeUint, rlpDecodeStrict, rlpEncode } from './codec.ts';
import { buildGenesisState, type Genesis, genesisHeader, trustAnchor } from './genesis.ts';
import { checkBlockTime, type Hlc, HlcError } from './hlc.ts';
import { type KvOp, type KvStore, StagedKvStore, StorageError } from './kv.ts';
import { type LogPreview, TransparencyLog } from './log/index.ts';
import { type MembershipRequest, readMembershipRequest } from './membership.ts';
import { MerklePatriciaTrie } from './mpt/index.ts';
import { encodeLogEntry, type Receipt, receiptCodeNumber, receiptFromNumber } from './receipt.ts';
import { RecentBlocks } from './recent-blocks.ts';
import { type SnapshotInstall, stageSnapshot } from './snapshot-install.ts';
import { epochOf } from './staking/config.ts';
import { type EvidenceVerifier, type StakingRules, storedSet, validatorSetAt } from './staking/lifecycle.ts';
import { applyBlock, LedgerState } from './state.ts';
import { DEFAULT_MAX_TX_BYTES, type EncodedTransaction } from './tx.ts';
import type { ValidatorSet } from './validators.ts';

export type { KnownTransactions } from './block-txs.ts';
export { ChainError, type ChainErrorCode } from './chain-error.ts';
export { HISTORY_PREFIX, LOG_PREFIX, STATE_PREFIX } from './chain-layout.ts';
export type { SnapshotInstall } from './snapshot-install.ts';

export interface TxLocation {
  readonly height: number;
  readonly position: number;
  readonly logIndex: number;
  readonly receipt: Receipt;
}

/**
 * A block executed on top of its parent, not yet committed. The parent is either the committed
 * head or another executed block (speculative chains: HotStuff and pipelined PBFT propose on
 * certified-but-uncommitted blocks). The state trie's new nodes live in `overlay`, an in-memory
 * layer over the parent's overlay (or the chain store), until the block is committed.
 */
export interface ExecutedBlock {
  readonly block: Block;
  readonly hash: Uint8Array;
  readonly txs: readonly EncodedTransaction[];
  readonly receipts: readonly Receipt[];
  /** The state after the block. */
  readonly state: LedgerState;
  readonly stateRoot: Uint8Array;
  readonly logSize: number;
  readonly logRoot: Uint8Array;
  /** This block's log entries. */
  readonly entries: readonly Uint8Array[];
  /**
   * The log as predicted after this block: a child's prediction extends it, and the commit reuses
   * its leaf hashes (each entry is hashed once, not once per descendant and again at commit).
   */
  readonly logPreview: LogPreview;
  /**
   * The uncommitted block this one was executed on, or undefined for the committed head. Cut to
   * undefined when this block is committed (ChainStore.commit): a link kept would hold every
   * block committed since the node started, reachable from the newest one (HotStuff executes each
   * block on an uncommitted parent), and every read would walk their overlays.
   */
  readonly parent: ExecutedBlock | undefined;
  readonly overlay: StagedKvStore;
  /**
   * Built or executed by the engine of an epoch that ends below it (see `validatorsFor`): such a
   * block only lets that engine finish certifying its epoch's last block, and is never committed.
   */
  readonly suffix?: true;
}

export interface ChainOptions {
  readonly schemes: CertificateSchemes;
  readonly limits?: BlockLimits;
  /** Maximum transaction size accepted inside a block. */
  readonly maxTxBytes?: number;
  /**
   * How evidence transactions are judged (the engine's codec: consensus/evidence.ts). Required
   * when genesis enables staking: every node must execute evidence alike.
   */
  readonly verifyEvidence?: EvidenceVerifier;
  /**
   * The engine carries out `membership` requests (EngineModule.membership): on a chain without
   * staking they execute, among the genesis validators (ledger/membership.ts). Otherwise they fail
   * with MEMBERSHIP_UNSUPPORTED.
   */
  readonly membership?: boolean;
  /**
   * The engine's own rules for a header against its parent's (EngineModule.headerFault: Proof of
   * Work's target, retarget, cumulative work and the work itself), checked on every block this
   * store validates — proposed or synced — so a block that came by block sync is held to them too.
   * Returns why the header breaks them, or undefined.
   */
  readonly headerRule?: (header: BlockHeader, hash: Uint8Array, parent: BlockHeader) => string | undefined;
}

/**
 * Committed blocks kept in memory for reads (recent-blocks.ts): a few seconds of blocks under load,
 * and never more than a few full-size blocks' worth of memory.
 */
const RECENT_BLOCKS = 32;
const RECENT_BLOCK_BYTES = 16 * 1024 * 1024;

/** The accounts a transaction involves, for the account index: its sender, a transfer's recipient. */
function accountsOf(etx: EncodedTransaction): Uint8Array[] {
  const op = etx.tx.op;
  return op.type === 'transfer' && !equalBytes(op.to, etx.from) ? [etx.from, op.to] : [etx.from];
}

/** The version field of a stored block's header, without decoding the rest (it may be of another version). */
function headerVersionOf(blockBytes: Uint8Array): number | undefined {
  try {
    const block = asList(rlpDecodeStrict(blockBytes, DEFAULT_MAX_BLOCK_BYTES, 'block'), 'block', 2);
    return asSafeUint(asList(block[0], 'header')[0], 'header.version');
  } catch {
    return undefined;
  }
}

export class ChainStore {
  readonly genesis: Genesis;
  readonly #base: KvStore;
  readonly #staged: StagedKvStore;
  readonly #opts: ChainOptions;
  readonly log: TransparencyLog;
  /** Leaf i: the hash of block i, for every committed block (size = height + 1). */
  readonly history: TransparencyLog;
  #head: BlockHeader;
  #headHash: Uint8Array;
  #accountIndexFrom = 1;
  #lowestBlock = 1;
  #genesisHash: Uint8Array;
  #committing = false;
  /** The newest committed blocks, served without reading them back (recent-blocks.ts). */
  readonly #recent = new RecentBlocks(RECENT_BLOCKS, RECENT_BLOCK_BYTES);
  /** The rules every block executes under (applyBlock), all but its height. */
  readonly #rules: Omit<StakingRules, 'height'>;

  private constructor(
    genesis: Genesis,
    base: KvStore,
    staged: StagedKvStore,
    log: TransparencyLog,
    history: TransparencyLog,
    head: BlockHeader,
    genesisHash: Uint8Array,
    opts: ChainOptions,
  ) {
    this.genesis = genesis;
    this.#base = base;
    this.#staged = staged;
    this.log = log;
    this.history = history;
    this.#head = head;
    this.#headHash = headerHash(head);
    this.#genesisHash = genesisHash;
    this.#opts = opts;
    this.#rules =
      genesis.staking !== undefined
        ? {
            staking: genesis.staking,
            ...(opts.verifyEvidence === undefined ? {} : { verifyEvidence: opts.verifyEvidence }),
          }
        : opts.membership === true
          ? { membership: { validators: genesis.validators.validators.map((v) => v.address) } }
          : {};
  }

  /** Opens (or initialises from genesis) the chain in `base`, checking its integrity. */
  static async open(base: KvStore, genesis: Genesis, opts: ChainOptions): Promise<ChainStore> {
    invariant(
      genesis.staking === undefined || opts.verifyEvidence !== undefined,
      'a chain with staking needs an evidence verifier (ChainOptions.verifyEvidence)',
    );
    const staged = new StagedKvStore(base);
    const storedHead = await base.get(K_HEAD);
    if (storedHead === undefined) {
      // Fresh store: write the genesis block in one batch.
      const trie = await MerklePatriciaTrie.create({ store: staged, secure: true, prefix: STATE_PREFIX });
      const state = await buildGenesisState(genesis, trie);
      const header = genesisHeader(genesis, state.root());
      await trie.commit();
      const hash = headerHash(header);
      await staged.batch([
        { type: 'put', key: heightKey(P_BLOCK, 0), value: encodeBlock({ header, txs: [] }) },
        { type: 'put', key: concatBytes(P_HASH, hash), value: u64be(0) },
        { type: 'put', key: K_GENESIS, value: hash },
        { type: 'put', key: K_HEAD, value: u64be(0) },
        { type: 'put', key: K_ACCOUNT_INDEX_FROM, value: u64be(1) },
      ]);
      const history = await TransparencyLog.create({ store: staged, prefix: HISTORY_PREFIX });
      await history.append([hash]);
      await staged.flush();
      const log = await TransparencyLog.create({ store: staged, prefix: LOG_PREFIX });
      return new ChainStore(genesis, base, staged, log, history, header, hash, opts);
    }
    // Existing store: it must be this genesis, and head, state and log must agree.
    const scratch = await MerklePatriciaTrie.create({ secure: true });
    const expectedGenesis = headerHash(
      genesisHeader(genesis, (await buildGenesisState(genesis, scratch)).root()),
    );
    const storedGenesis = await base.get(K_GENESIS);
    const genesisBytes = await base.get(heightKey(P_BLOCK, 0));
    if (genesisBytes !== undefined && headerVersionOf(genesisBytes) !== HEADER_VERSION)
      throw new ChainError(
        'CHAIN_OLD_FORMAT',
        `the data directory holds blocks of header version ${headerVersionOf(genesisBytes)}, written by an older Verity; this one writes version ${HEADER_VERSION} — start from a fresh data directory (a new testnet, or delete HOME/data)`,
      );
    if (storedGenesis === undefined || !equalBytes(storedGenesis, expectedGenesis)) {
      throw new ChainError(
        'GENESIS_MISMATCH',
        'the data directory holds a different chain than this genesis file (use a fresh --home, or the matching genesis)',
      );
    }
    const height = readHeight(storedHead);
    const raw = await base.get(heightKey(P_BLOCK, height));
    if (raw === undefined)
      throw new ChainError('CHAIN_CORRUPT', `head block ${height} is missing from the store`);
    const head = decodeBlock(raw, opts.limits).header;
    // Every committed block was written with its certificate and hash index in one batch.
    if (height > 0 && (await base.get(heightKey(P_CERT, height))) === undefined)
      throw new ChainError('CHAIN_CORRUPT', `head block ${height} has no commit certificate in the store`);
    const indexed = await base.get(concatBytes(P_HASH, headerHash(head)));
    if (indexed === undefined || readHeight(indexed) !== height)
      throw new ChainError('CHAIN_CORRUPT', `head block ${height} is missing from the hash index`);
    const log = await TransparencyLog.create({ store: staged, prefix: LOG_PREFIX });
    if (log.size !== head.logSize) {
      throw new ChainError(
        'CHAIN_CORRUPT',
        `log holds ${log.size} entries but head block ${height} says ${head.logSize}`,
      );
    }
    if (!equalBytes(await log.root(), head.logRoot)) {
      throw new ChainError('CHAIN_CORRUPT', `log root does not match head block ${height}`);
    }
    const history = await TransparencyLog.create({ store: staged, prefix: HISTORY_PREFIX });
    if (history.size !== height + 1)
      throw new ChainError(
        'CHAIN_CORRUPT',
        `block history holds ${history.size} hashes but the head is block ${height}`,
      );
    const last = await history.getEntry(height);
    if (
      last === undefined ||
      !equalBytes(last, headerHash(head)) ||
      !equalBytes(await history.root(height), head.historyRoot)
    )
      throw new ChainError('CHAIN_CORRUPT', `block history does not match head block ${height}`);
    try {
      await MerklePatriciaTrie.create({
        store: staged,
        secure: true,
        prefix: STATE_PREFIX,
        root: head.stateRoot,
      });
    } catch (e) {
      throw new ChainError(
        'CHAIN_CORRUPT',
        `state root of head block ${height} is missing: ${(e as Error).message}`,
      );
    }
    const store = new ChainStore(genesis, base, staged, log, history, head, storedGenesis, opts);
    const indexFrom = await base.get(K_ACCOUNT_INDEX_FROM);
    if (indexFrom === undefined) {
      // Written before the account index existed: it covers the blocks committed from now on.
      await base.batch([{ type: 'put', key: K_ACCOUNT_INDEX_FROM, value: u64be(height + 1) }]);
      store.#accountIndexFrom = height + 1;
    } else store.#accountIndexFrom = readHeight(indexFrom);
    const lowest = await base.get(K_LOWEST_BLOCK);
    if (lowest !== undefined) store.#lowestBlock = readHeight(lowest);
    return store;
  }

  /**
   * The lowest height ≥ 1 whose block (and certificate) this store holds: 1, unless the store
   * started from a snapshot at H (then H; blocks 1 … H − 1 read as undefined). Genesis (0) is
   * always held.
   */
  get lowestBlock(): number {
    return this.#lowestBlock;
  }

  /** The block limits this store decodes blocks under. */
  get limits(): BlockLimits {
    return this.#opts.limits ?? {};
  }

  /**
   * A state-trie node's stored bytes by its hash (keccak256 of them), unchecked; undefined if the
   * store does not hold it. The trie is archive-mode: the nodes of every committed root stay.
   */
  async stateNode(hash: Uint8Array): Promise<Uint8Array | undefined> {
    return this.#staged.get(STATE_LAYOUT.nodeKey(hash));
  }

  /** The first height whose transactions the account index (accountTxs) covers. */
  get accountIndexFrom(): number {
    return this.#accountIndexFrom;
  }

  /**
   * Committed transactions that `address` sent or received (a transfer to it), newest first: at
   * most `limit`, below `beforeHeight` if given. Like the id index, a transaction is listed at its
   * first inclusion (a replayed copy can only fail its nonce). Heights under accountIndexFrom are
   * not indexed. The index is written in the block's commit batch, so it is never ahead or behind.
   */
  async accountTxs(
    address: Uint8Array,
    opts: { readonly limit: number; readonly beforeHeight?: number },
  ): Promise<Array<{ height: number; position: number; id: Uint8Array }>> {
    const prefix = concatBytes(P_ACCOUNT_TX, address);
    const found: Array<{ height: number; position: number; id: Uint8Array }> = [];
    const before = opts.beforeHeight ?? Number.POSITIVE_INFINITY;
    for await (const [key, id] of this.#staged.iterate(prefix, { reverse: true })) {
      const at = key.subarray(prefix.length);
      const height = readHeight(at.subarray(0, 8));
      if (height >= before) continue;
      found.push({ height, position: Buffer.from(at.subarray(8, 12)).readUInt32BE(0), id });
      if (found.length >= opts.limit) break;
    }
    return found;
  }

  get schemes(): CertificateSchemes {
    return this.#opts.schemes;
  }

  get height(): number {
    return this.#head.height;
  }

  get head(): BlockHeader {
    return this.#head;
  }

  get headHash(): Uint8Array {
    return this.#headHash;
  }

  get genesisHash(): Uint8Array {
    return this.#genesisHash;
  }

  /**
   * The validator set in force at block `height`, read from the state after `parent` (the block
   * before it, committed or executed) — or, for a suffix block, from the committed state. Without
   * staking it is the genesis set at every height.
   *
   * `epoch`: the epoch of the engine asking. An engine may have to build or execute blocks above
   * its epoch's last block before that block is committed (HotStuff certifies a block through its
   * descendants): those blocks are its epoch's suffix — signed by its set, without transactions,
   * and never committed; the next epoch's engine starts again from the epoch's last block.
   */
  async validatorsFor(height: number, parent?: ExecutedBlock, epoch?: number): Promise<ValidatorSet> {
    const staking = this.genesis.staking;
    if (staking === undefined) return this.genesis.validators;
    // A suffix block is signed by its epoch's set, which the committed state holds (the head lies
    // in that epoch until its last block commits); the parent's state may have pruned it already
    // (a suffix running past later epoch ends), and the suffix must be able to grow for as long
    // as the engine needs to certify the epoch's last block.
    const set = this.isSuffix(height, epoch)
      ? await storedSet(await this.stateAt(), epoch as number)
      : await validatorSetAt(parent?.state ?? (await this.stateAt()), height, staking);
    if (set === undefined)
      throw new ChainError('NOT_FOUND', `no validator set is known yet for block ${height}`, { height });
    return set;
  }

  /** Whether block `height` lies above the last block of epoch `epoch` (see `validatorsFor`). */
  isSuffix(height: number, epoch: number | undefined): boolean {
    const staking = this.genesis.staking;
    return staking !== undefined && epoch !== undefined && height > (epoch + 1) * staking.epochLength;
  }

  /** The epoch of block `height` (0 on a chain without staking). */
  epochOf(height: number): number {
    const staking = this.genesis.staking;
    return staking === undefined ? 0 : epochOf(height, staking.epochLength);
  }

  /** What certifies block `height`: the set and signing epoch in force there (block sync, RPC). */
  async trustFor(height: number, parent?: ExecutedBlock): Promise<TrustAnchor> {
    const epoch = this.epochOf(height);
    return {
      ...trustAnchor(this.genesis),
      validators: await this.validatorsFor(height, parent),
      ...(epoch === 0 ? {} : { epoch }),
    };
  }

  /** A view of the state after block `height` (default: the head). */
  async stateAt(height = this.#head.height): Promise<LedgerState> {
    const header = height === this.#head.height ? this.#head : (await this.getBlock(height))?.header;
    if (header === undefined) throw new ChainError('NOT_FOUND', `no block at height ${height}`);
    const trie = await MerklePatriciaTrie.create({
      store: this.#staged,
      secure: true,
      prefix: STATE_PREFIX,
      root: header.stateRoot,
    });
    return new LedgerState(trie);
  }

  /**
   * The latest membership request committed (in the head's state), or undefined if none was: what
   * an engine that carries out requests (ChainOptions.membership) reads to change its membership.
   */
  async membershipRequest(): Promise<MembershipRequest | undefined> {
    return readMembershipRequest(await this.stateAt());
  }

  /**
   * A committed block's bytes: one of the newest as committed, else as stored and checked
   * (#readBlock) before they are served to anyone.
   */
  async getBlockBytes(height: number): Promise<Uint8Array | undefined> {
    return (await this.#readBlock(height))?.raw;
  }

  async getBlock(height: number): Promise<Block | undefined> {
    return (await this.#readBlock(height))?.block;
  }

  /**
   * Block `height`: one of the newest from memory, as committed (recent-blocks.ts); any other is
   * read and checked against the store's own hashes: it decodes, its header hash is indexed at
   * that height, and its transactions hash to the header's root. A block that fails is damaged
   * storage (STORAGE_CORRUPT: the node halts and says so), never served to a peer — which would
   * reject it and blame this node — nor to a client.
   */
  async #readBlock(height: number): Promise<{ raw: Uint8Array; block: Block } | undefined> {
    if (!Number.isSafeInteger(height) || height < 0 || height > this.#head.height) return undefined;
    const recent = this.#recent.get(height);
    if (recent !== undefined) return recent;
    const raw = await this.#staged.get(heightKey(P_BLOCK, height));
    if (raw === undefined) return undefined;
    const corrupt = (why: string) =>
      new StorageError(
        'STORAGE_CORRUPT',
        `stored block ${height} is damaged (${why}): restore the data directory or resync it`,
        { height },
      );
    let block: Block;
    try {
      block = decodeBlock(raw, this.#opts.limits);
    } catch (e) {
      // decodeBlock also checks the transactions against the header's root.
      throw corrupt(onlyTyped(e).message);
    }
    if (block.header.height !== height) throw corrupt(`it says height ${block.header.height}`);
    if ((await this.heightOfHash(headerHash(block.header))) !== height)
      throw corrupt('its header hash is not the one indexed at its height');
    return { raw, block };
  }

  async heightOfHash(hash: Uint8Array): Promise<number | undefined> {
    const raw = await this.#staged.get(concatBytes(P_HASH, hash));
    return raw === undefined ? undefined : readHeight(raw);
  }

  async getCertificateBytes(height: number): Promise<Uint8Array | undefined> {
    return this.#staged.get(heightKey(P_CERT, height));
  }

  async getCertificate(height: number): Promise<CommitCertificate | undefined> {
    const raw = await this.getCertificateBytes(height);
    return raw === undefined ? undefined : decodeCertificate(raw, this.#opts.schemes);
  }

  async getTxLocation(id: Uint8Array): Promise<TxLocation | undefined> {
    const raw = await this.#staged.get(concatBytes(P_TX, id));
    if (raw === undefined) return undefined;
    const f = asList(rlpDecodeStrict(raw, 64, 'tx index'), 'tx index', 4);
    return {
      height: asSafeUint(f[0], 'height'),
      position: asSafeUint(f[1], 'position'),
      logIndex: asSafeUint(f[2], 'logIndex'),
      receipt: receiptFromNumber(asSafeUint(f[3], 'receipt')),
    };
  }

  /** A block's transactions decoded and verified on this thread (block-txs.ts). */
  decodeTxs(txs: readonly Uint8Array[], known?: KnownTransactions): EncodedTransaction[] {
    return decodeBlockTxs(txs, this.#txRules(), known);
  }

  /** The same, the signatures checked urgently by `verifier` (a worker pool; block-txs.ts). */
  decodeAndVerifyTxs(
    txs: readonly Uint8Array[],
    known: KnownTransactions | undefined,
    verifier: BatchVerifier,
  ): Promise<EncodedTransaction[]> {
    return decodeAndVerifyBlockTxs(txs, this.#txRules(), known, verifier);
  }

  /** Decoded only: for committed blocks, whose signatures were checked before (block-txs.ts). */
  decodeTxsUnverified(txs: readonly Uint8Array[], known?: KnownTransactions): EncodedTransaction[] {
    return decodeBlockTxsUnverified(txs, this.#txRules(), known);
  }

  #txRules(): BlockTxRules {
    return { chainId: this.genesis.chainId, maxTxBytes: this.#opts.maxTxBytes ?? DEFAULT_MAX_TX_BYTES };
  }

  /** Uncommitted ancestors from the head's child up to `parent`, oldest first. */
  #pending(parent: ExecutedBlock | undefined): ExecutedBlock[] {
    const chain: ExecutedBlock[] = [];
    for (let p = parent; p !== undefined && p.block.header.height > this.#head.height; p = p.parent)
      chain.push(p);
    return chain.reverse();
  }

  #parentOf(parent: ExecutedBlock | undefined): { header: BlockHeader; hash: Uint8Array } {
    return parent === undefined
      ? { header: this.#head, hash: this.#headHash }
      : { header: parent.block.header, hash: parent.hash };
  }

  /**
   * Executes `txs` as block `height` on top of `parent` (default: the committed head). Nothing is
   * written to the store: the trie's new nodes go to an in-memory overlay.
   */
  async #execute(txs: readonly EncodedTransaction[], height: number, parent: ExecutedBlock | undefined) {
    const p = this.#parentOf(parent);
    if (height !== p.header.height + 1) {
      throw new ChainError('OUT_OF_ORDER', `cannot execute height ${height} on parent ${p.header.height}`);
    }
    if (parent !== undefined && parent.block.header.height <= this.#head.height) {
      throw new ChainError(
        'OUT_OF_ORDER',
        `parent ${parent.block.header.height} is already behind the committed head`,
      );
    }
    const overlay = new StagedKvStore(parent?.overlay ?? this.#staged);
    const trie = await MerklePatriciaTrie.create({
      store: overlay,
      secure: true,
      prefix: STATE_PREFIX,
      root: p.header.stateRoot,
    });
    const state = new LedgerState(trie);
    const { stateRoot, receipts } = await applyBlock(state, txs, { height, ...this.#rules });
    await trie.commit(); // into the overlay: children read these nodes through it
    const entries = txs.map((etx, i) =>
      encodeLogEntry({ height, txId: etx.id, receipt: receipts[i] as Receipt }),
    );
    const pending = this.#pending(parent);
    // A parent chain that descends from the committed head extends its own prediction. One left on
    // a fork the head did not take (an engine may still execute on it; such a block never commits)
    // is predicted from the committed log and the pending entries, as it always was.
    const oldest = pending[0];
    const preview =
      parent !== undefined &&
      oldest !== undefined &&
      equalBytes(oldest.block.header.parentHash, this.#headHash)
        ? this.log.previewAppend(entries, parent.logPreview)
        : this.log.previewAppend([...pending.flatMap((p) => p.entries), ...entries]);
    // Block `height` commits to the hashes of blocks 0 … height − 1: committed ones, then pending.
    const historyRoot = this.history.previewAppend(pending.map((p) => p.hash)).root;
    return {
      historyRoot,
      state,
      receipts: [...receipts],
      stateRoot,
      logSize: preview.size,
      logRoot: preview.root,
      entries,
      logPreview: preview,
      overlay,
      parent,
    };
  }

  /**
   * Validates a proposed block — structure, parent link, time, body, signatures — executes it on
   * its parent (the head, or `opts.parent`) and checks the header's state and log commitments.
   * Nothing is written.
   */
  async validateAndExecute(
    block: Block,
    opts: {
      parent?: ExecutedBlock;
      nowMs?: number;
      maxFutureDriftMs?: number;
      known?: KnownTransactions;
      /** Checks the transactions' signatures (a worker pool); default: this thread. */
      verifier?: BatchVerifier;
      /** The epoch of the engine that asks (see `validatorsFor`). */
      epoch?: number;
    } = {},
  ): Promise<ExecutedBlock> {
    const h = block.header;
    const reject = (reason: string): never => {
      throw new ChainError('BLOCK_REJECTED', `block ${h.height}: ${reason}`);
    };
    const p = this.#parentOf(opts.parent);
    if (h.chainId !== this.genesis.chainId) reject(`wrong chain "${h.chainId}"`);
    if (h.height !== p.header.height + 1) reject(`expected height ${p.header.height + 1}`);
    if (!equalBytes(h.parentHash, p.hash)) reject('parent hash does not match its parent');
    let validators: ValidatorSet;
    try {
      validators = await this.validatorsFor(h.height, opts.parent, opts.epoch);
    } catch (e) {
      // A block of an epoch whose set is not known here (not yet in the parent's state, or a suffix
      // of an epoch the committed head has left): not a block this engine can judge.
      if (e instanceof ChainError && e.code === 'NOT_FOUND') return reject(e.message);
      throw e;
    }
    const suffix = this.isSuffix(h.height, opts.epoch);
    if (suffix && block.txs.length > 0)
      reject("a block above its epoch's last block carries no transactions");
    if (!equalBytes(h.validatorsHash, validators.hash)) reject('validatorsHash does not match');
    if (h.engine !== this.genesis.engine.name)
      reject(`engine "${h.engine}" is not "${this.genesis.engine.name}"`);
    if (validators.byAddress(h.proposer) === undefined) reject('proposer is not a validator');
    const hash = headerHash(h);
    const engineFault = this.#opts.headerRule?.(h, hash, p.header);
    if (engineFault !== undefined) reject(engineFault);
    const drift = opts.maxFutureDriftMs ?? 0;
    try {
      checkBlockTime(h.time, p.header.time, opts.nowMs ?? Number.MAX_SAFE_INTEGER, drift);
      checkBody(block);
    } catch (e) {
      // Ahead of this node's clock is not invalid: either clock may be off, and the block becomes
      // acceptable once this clock catches up (the caller retries then).
      if (e instanceof HlcError && e.code === 'TIME_IN_FUTURE')
        throw new ChainError('BLOCK_IN_FUTURE', `block ${h.height}: ${e.message}`, {
          readyAtMs: h.time.ms - drift,
        });
      reject((e as Error).message);
    }
    const txs =
      opts.verifier === undefined
        ? this.decodeTxs(block.txs, opts.known)
        : await this.decodeAndVerifyTxs(block.txs, opts.known, opts.verifier);
    const exec = await this.#execute(txs, h.height, opts.parent);
    if (!equalBytes(exec.historyRoot, h.historyRoot)) reject('historyRoot does not match its ancestors');
    if (!equalBytes(exec.stateRoot, h.stateRoot)) reject('stateRoot does not match execution');
    if (exec.logSize !== h.logSize || !equalBytes(exec.logRoot, h.logRoot))
      reject('log size/root does not match');
    return { block, hash, txs, ...exec, ...(suffix ? { suffix: true as const } : {}) };
  }

  /** Builds and executes a new block on top of `parent` (default: the committed head). */
  async propose(args: {
    txs: readonly EncodedTransaction[];
    time: Hlc;
    proposer: Uint8Array;
    engineData: Uint8Array;
    parent?: ExecutedBlock;
    /** The epoch of the engine that asks (see `validatorsFor`). */
    epoch?: number;
  }): Promise<ExecutedBlock> {
    const p = this.#parentOf(args.parent);
    const height = p.header.height + 1;
    const validators = await this.validatorsFor(height, args.parent, args.epoch);
    const suffix = this.isSuffix(height, args.epoch);
    invariant(
      !suffix || args.txs.length === 0,
      "a block above its epoch's last block carries no transactions",
    );
    const exec = await this.#execute(args.txs, height, args.parent);
    const txBytes = args.txs.map((t) => t.bytes);
    const header: BlockHeader = {
      chainId: this.genesis.chainId,
      height,
      parentHash: p.hash,
      historyRoot: exec.historyRoot,
      time: args.time,
      proposer: args.proposer,
      txRoot: txRoot(txBytes),
      txCount: txBytes.length,
      stateRoot: exec.stateRoot,
      logSize: exec.logSize,
      logRoot: exec.logRoot,
      validatorsHash: validators.hash,
      engine: this.genesis.engine.name,
      engineData: args.engineData,
    };
    return {
      block: { header, txs: txBytes },
      hash: headerHash(header),
      txs: args.txs,
      ...exec,
      ...(suffix ? { suffix: true as const } : {}),
    };
  }

  /**
   * Commits an executed child of the head with its certificate, in one atomic batch. The caller
   * (consensus) has checked the certificate.
   */
  async commit(executed: ExecutedBlock, certificate: CommitCertificate): Promise<void> {
    if (this.#committing) throw new ChainError('OUT_OF_ORDER', 'a commit is already in progress');
    this.#committing = true;
    let trieOpsBackup: KvOp[] | undefined;
    try {
      const { block } = executed;
      const h = block.header;
      invariant(
        executed.suffix === undefined,
        `block ${h.height} lies above its epoch's last block: never committed`,
      );
      if (h.height !== this.#head.height + 1 || !equalBytes(h.parentHash, this.#headHash)) {
        throw new ChainError('OUT_OF_ORDER', `block ${h.height} does not extend head ${this.#head.height}`);
      }
      if (!equalBytes(certificate.blockHash, executed.hash) || certificate.height !== h.height) {
        throw new ChainError('BLOCK_REJECTED', 'certificate is for a different block');
      }
      if (this.#staged.pending !== 0) this.#staged.discard();
      // The block's trie nodes move from its overlay into this commit's batch. (Not flushed into the
      // overlay's base: that may be a committed parent's overlay, which no longer reaches the store.)
      const trieOps = executed.overlay.takeOps();
      trieOpsBackup = trieOps;
      const appended = await this.log.append(executed.entries, executed.logPreview);
      if (appended.size !== h.logSize || !equalBytes(appended.root, h.logRoot)) {
        throw new ChainError('CHAIN_CORRUPT', 'log after append does not match the header');
      }
      const history = await this.history.append([executed.hash]);
      if (history.size !== h.height + 1)
        throw new ChainError('CHAIN_CORRUPT', 'block history after append does not match the height');
      // Written with the staged log and history in one batch, never staged themselves: nothing
      // reads them back before the write (the BAD_NONCE read below is of the committed index).
      const raw = encodeBlock(block);
      const ops: KvOp[] = [
        ...trieOps,
        { type: 'put', key: heightKey(P_BLOCK, h.height), value: raw },
        { type: 'put', key: concatBytes(P_HASH, executed.hash), value: u64be(h.height) },
        {
          type: 'put',
          key: heightKey(P_CERT, h.height),
          value: encodeCertificate(certificate, this.#opts.schemes),
        },
        { type: 'put', key: K_HEAD, value: u64be(h.height) },
      ];
      for (let i = 0; i < executed.txs.length; i++) {
        const etx = executed.txs[i] as EncodedTransaction;
        const key = concatBytes(P_TX, etx.id);
        // First inclusion wins: a replayed copy (which can only fail with BAD_NONCE) is in the log
        // but never shadows where the transaction actually took effect. Any other receipt consumed
        // the sender's nonce, so it is necessarily the first inclusion: only BAD_NONCE needs a read.
        const receipt = executed.receipts[i] as Receipt;
        if (!receipt.ok && receipt.code === 'BAD_NONCE' && (await this.#staged.get(key)) !== undefined)
          continue;
        for (const party of accountsOf(etx))
          ops.push({ type: 'put', key: accountTxKey(party, h.height, i), value: etx.id });
        ops.push({
          type: 'put',
          key,
          value: rlpEncode([
            h.height,
            i,
            appended.firstIndex + i,
            receiptCodeNumber(executed.receipts[i] as Receipt),
          ]),
        });
      }
      await this.#staged.flush(ops);
      this.#head = h;
      this.#headHash = executed.hash;
      // (A small encoding may be a view into a shared slab, crypto/bytes.ts: a kept copy owns its bytes.)
      this.#recent.add(h.height, {
        raw: raw.byteLength === raw.buffer.byteLength ? raw : raw.slice(),
        block,
      });
      // Detach it from the blocks beneath (see ExecutedBlock.parent): its children now read the
      // committed state straight from the store, through its (emptied) overlay.
      executed.overlay.rebase(this.#staged);
      (executed as { parent: ExecutedBlock | undefined }).parent = undefined;
    } catch (e) {
      this.#staged.discard();
      // Put the trie nodes back in the overlay so children executed on this block still read them.
      if (trieOpsBackup !== undefined) await executed.overlay.batch(trieOpsBackup);
      // In-memory structures (log frontiers) may be ahead of the store: reload them from disk.
      await this.log.reload();
      await this.history.reload();
      throw e;
    } finally {
      this.#committing = false;
    }
  }

  /**
   * Installs the state at a height H into a store that holds only genesis: block H and its
   * certificate, the state trie at H, the log and the block-hash history up to H, the transaction
   * index rebuilt from the log (the account index starts at H + 1: senders are not in the log), the
   * head and `lowestBlock` = H. ONE atomic batch on the base store, staged in an overlay of its own:
   * this store's head, log and history move only once it is written, and a failure before the write
   * leaves store and object as they were.
   *
   * The caller (SnapshotReceiver, ledger/snapshot.ts) has verified the certificate against the trust
   * for H and that `stateNodes` is exactly the trie under the header's stateRoot. This re-checks what
   * writing computes anyway — log size and root, history root, hash 0 against genesis and hash H
   * against the block, the root node present — and refuses with SNAPSHOT_REJECTED; OUT_OF_ORDER
   * unless the store is at genesis with no commit in progress.
   */
  async installSnapshot(snapshot: SnapshotInstall): Promise<void> {
    if (this.#committing) throw new ChainError('OUT_OF_ORDER', 'a commit is already in progress');
    if (this.#head.height !== 0 || this.log.size !== 0 || this.history.size !== 1)
      throw new ChainError(
        'OUT_OF_ORDER',
        `a snapshot installs only on a store at genesis; this one is at height ${this.#head.height}`,
      );
    this.#committing = true;
    try {
      if (this.#staged.pending !== 0) this.#staged.discard();
      const { stage, hash } = await stageSnapshot(
        this.#base,
        this.genesis,
        this.#genesisHash,
        this.#opts.schemes,
        snapshot,
      );
      const h = snapshot.block.header;
      const height = h.height;
      await stage.flush();
      // Written: only now does this object move (its log and history re-read the store).
      await this.log.reload();
      await this.history.reload();
      this.#head = h;
      this.#headHash = hash;
      this.#recent.clear();
      this.#accountIndexFrom = height + 1;
      this.#lowestBlock = height;
    } finally {
      this.#committing = false;
    }
  }

  async close(): Promise<void> {
    await this.#base.close();
  }
}
