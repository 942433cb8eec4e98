/**
 * Installing a state snapshot at a height H (ChainStore.installSnapshot): every part is checked
 * against block H's header and this chain's genesis, then staged — state trie nodes, the log and
 * the block-hash history up to H, the transaction index rebuilt from the log, block H, its
 * certificate and the head — in an overlay of the store, for the chain store to write in one
 * batch. Nothing reaches the store here; a part that disagrees is SNAPSHOT_REJECTED.
 */
import { byteKey, concatBytes, equalBytes, u64be } from '../crypto/bytes.ts';
import { onlyTyped } from '../crypto/errors.ts';
import { type Block, encodeBlock, headerHash } from './block.ts';
import { type CertificateSchemes, type CommitCertificate, encodeCertificate } from './certificate.ts';
import { ChainError } from './chain-error.ts';
import {
  HISTORY_PREFIX,
  heightKey,
  K_ACCOUNT_INDEX_FROM,
  K_HEAD,
  K_LOWEST_BLOCK,
  LOG_PREFIX,
  P_BLOCK,
  P_CERT,
  P_HASH,
  P_TX,
  STATE_LAYOUT,
  STATE_PREFIX,
} from './chain-layout.ts';
import { rlpEncode } from './codec.ts';
import type { Genesis } from './genesis.ts';
import { type KvOp, type KvStore, StagedKvStore } from './kv.ts';
import { TransparencyLog } from './log/index.ts';
import { MerklePatriciaTrie } from './mpt/index.ts';
import { decodeLogEntry, receiptCodeNumber } from './receipt.ts';

/**
 * What `installSnapshot` writes: the state at block H, checked by the caller (SnapshotReceiver).
 */
export interface SnapshotInstall {
  /** Block H; the caller verified its certificate against the trust for H. */
  readonly block: Block;
  readonly certificate: CommitCertificate;
  /**
   * Every state-trie node reachable from H's stateRoot, under its hash (keccak256 of the bytes):
   * the caller walked the trie from the root and checked each one.
   */
  readonly stateNodes: ReadonlyArray<{ readonly hash: Uint8Array; readonly bytes: Uint8Array }>;
  /** Log entries 0 … logSize − 1, as stored (encodeLogEntry). */
  readonly logEntries: readonly Uint8Array[];
  /** The hashes of blocks 0 … H. */
  readonly historyHashes: readonly Uint8Array[];
}

/**
 * Checks `snapshot` against its block's header and the chain (genesis, `genesisHash`) and stages
 * everything `installSnapshot` writes in an overlay of `base`: the caller flushes it as one batch.
 * Re-checks what staging computes anyway — log size and root, history root, hash 0 against genesis
 * and hash H against the block, the root node present.
 */
export async function stageSnapshot(
  base: KvStore,
  genesis: Genesis,
  genesisHash: Uint8Array,
  schemes: CertificateSchemes,
  snapshot: SnapshotInstall,
): Promise<{ stage: StagedKvStore; hash: Uint8Array }> {
  const h = snapshot.block.header;
  const height = h.height;
  const hash = headerHash(h);
  const reject = (why: string): never => {
    throw new ChainError('SNAPSHOT_REJECTED', `snapshot at height ${height}: ${why}`, { height });
  };
  if (!Number.isSafeInteger(height) || height < 1) reject('not above genesis');
  if (h.chainId !== genesis.chainId) reject(`block of chain "${h.chainId}"`);
  if (snapshot.certificate.height !== height || !equalBytes(snapshot.certificate.blockHash, hash))
    reject('the certificate is for another block');
  const hashes = snapshot.historyHashes;
  if (hashes.length !== height + 1) reject(`${hashes.length} history hashes, not ${height + 1}`);
  if (!equalBytes(hashes[0] as Uint8Array, genesisHash)) reject("history hash 0 is not this chain's genesis");
  if (!equalBytes(hashes[height] as Uint8Array, hash)) reject(`history hash ${height} is not the block's`);

  const stage = new StagedKvStore(base);
  await stage.batch(
    snapshot.stateNodes.map((n) => ({ type: 'put', key: STATE_LAYOUT.nodeKey(n.hash), value: n.bytes })),
  );
  try {
    await MerklePatriciaTrie.create({
      store: stage,
      secure: true,
      prefix: STATE_PREFIX,
      root: h.stateRoot,
    });
  } catch (e) {
    reject(`the state root node is missing (${onlyTyped(e).message})`);
  }
  // Fresh log objects over the overlay: this store's own see nothing until the write.
  const log = await TransparencyLog.create({ store: stage, prefix: LOG_PREFIX, cacheNodes: 0 });
  const appended = await log.append(snapshot.logEntries);
  if (appended.size !== h.logSize || !equalBytes(appended.root, h.logRoot))
    reject("the log entries do not match the header's log size and root");
  const history = await TransparencyLog.create({ store: stage, prefix: HISTORY_PREFIX, cacheNodes: 0 });
  await history.append(hashes.slice(1));
  if (history.size !== height + 1 || !equalBytes(await history.root(height), h.historyRoot))
    reject("the history hashes do not match the header's historyRoot");

  const ops: KvOp[] = [];
  // The transaction index, as `commit` writes it: position = order among the block's entries,
  // and the first inclusion wins over a replayed BAD_NONCE copy from a later block.
  const indexedAt = new Map<string, number>();
  let last = 0;
  let position = 0;
  for (let i = 0; i < snapshot.logEntries.length; i++) {
    let entry: ReturnType<typeof decodeLogEntry>;
    try {
      entry = decodeLogEntry(snapshot.logEntries[i] as Uint8Array);
    } catch (e) {
      return reject(`log entry ${i}: ${onlyTyped(e).message}`);
    }
    if (entry.height < last || entry.height > height || entry.height < 1)
      reject(`log entry ${i} is at height ${entry.height}, after height ${last}`);
    position = entry.height === last ? position + 1 : 0;
    last = entry.height;
    const id = byteKey(entry.txId);
    const earlier = indexedAt.get(id);
    if (!entry.receipt.ok && entry.receipt.code === 'BAD_NONCE' && earlier !== undefined && earlier < last)
      continue;
    indexedAt.set(id, last);
    ops.push({
      type: 'put',
      key: concatBytes(P_TX, entry.txId),
      value: rlpEncode([last, position, i, receiptCodeNumber(entry.receipt)]),
    });
  }
  ops.push(
    { type: 'put', key: heightKey(P_BLOCK, height), value: encodeBlock(snapshot.block) },
    { type: 'put', key: concatBytes(P_HASH, hash), value: u64be(height) },
    {
      type: 'put',
      key: heightKey(P_CERT, height),
      value: encodeCertificate(snapshot.certificate, schemes),
    },
    { type: 'put', key: K_HEAD, value: u64be(height) },
    { type: 'put', key: K_ACCOUNT_INDEX_FROM, value: u64be(height + 1) },
    { type: 'put', key: K_LOWEST_BLOCK, value: u64be(height) },
  );
  await stage.batch(ops);
  return { stage, hash };
}
