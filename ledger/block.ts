/**
 * Blocks. Verity executes a block before it is certified ("immediate execution"): the header's
 * `stateRoot` is the state AFTER this block's transactions, and `(logSize, logRoot)` is the
 * transparency log after appending this block's entries. A certified header therefore commits
 * to the block's own effects, so one header + certificate proves a transaction, its receipt and
 * the state it produced. (Deferred execution, as in Tendermint, would take execution off the
 * voting path but make every proof wait one more block; a ledger whose product is proofs picks
 * the former.)
 *
 * Header wire form (canonical RLP), hash = SHA-256 of it:
 *   [version, chainId, height, parentHash, historyRoot, [timeMs, timeLogical], proposer, txRoot,
 *    txCount, stateRoot, logSize, logRoot, validatorsHash, engine, engineData]
 *
 * `historyRoot` commits to the whole ancestry: the RFC 9162 tree hash over the hashes of blocks
 * 0 … height − 1. Any ancestor is then provable from a header with O(log height) hashes, so a
 * certificate can prove a block committed as the ancestor of a certified descendant however far
 * below it lies (HotStuff after a long uncommitted stretch), and light clients can skip.
 */
import { utf8 } from '../crypto/bytes.ts';
import { onlyTyped, VerityError } from '../crypto/errors.ts';
import { sha256 } from '../crypto/hash.ts';
import { ADDRESS_LENGTH } from './address.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  asUtf8,
  DecodeError,
  type RlpInput,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from './codec.ts';
import type { Hlc } from './hlc.ts';
import { rootOfEntries } from './log/index.ts';
import { MAX_CHAIN_ID_LENGTH } from './tx.ts';

export const HEADER_VERSION = 2;
export const MAX_HEADER_BYTES = 4096;
export const MAX_ENGINE_DATA_BYTES = 2048;
export const DEFAULT_MAX_BLOCK_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_BLOCK_TXS = 20_000;
export const ZERO_HASH = new Uint8Array(32);

export interface BlockHeader {
  readonly chainId: string;
  readonly height: number;
  readonly parentHash: Uint8Array;
  /** RFC 9162 tree hash over the hashes of blocks 0 … height − 1 (the empty-tree hash at genesis). */
  readonly historyRoot: Uint8Array;
  readonly time: Hlc;
  /** Address of the proposing validator (zero address for genesis). */
  readonly proposer: Uint8Array;
  /** RFC 9162 Merkle tree hash over the block's transaction bytes. */
  readonly txRoot: Uint8Array;
  readonly txCount: number;
  /** Merkle-Patricia root of the state after this block. */
  readonly stateRoot: Uint8Array;
  /** Transparency log size and root after this block's entries. */
  readonly logSize: number;
  readonly logRoot: Uint8Array;
  readonly validatorsHash: Uint8Array;
  readonly engine: string;
  /** Engine-specific data (e.g. round, view, PoW nonce, VRF proof). */
  readonly engineData: Uint8Array;
}

export interface Block {
  readonly header: BlockHeader;
  /** Canonical transaction bytes, in execution order. */
  readonly txs: readonly Uint8Array[];
}

export class BlockError extends VerityError<
  'BLOCK_MALFORMED' | 'BLOCK_TOO_LARGE' | 'BLOCK_INVALID' | 'BLOCK_UNSUPPORTED_VERSION'
> {}

export function headerFields(h: BlockHeader): RlpInput {
  return [
    HEADER_VERSION,
    utf8(h.chainId),
    h.height,
    h.parentHash,
    h.historyRoot,
    [h.time.ms, h.time.logical],
    h.proposer,
    h.txRoot,
    h.txCount,
    h.stateRoot,
    h.logSize,
    h.logRoot,
    h.validatorsHash,
    utf8(h.engine),
    h.engineData,
  ];
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  return rlpEncode(headerFields(h));
}

export function headerHash(h: BlockHeader): Uint8Array {
  return sha256(encodeHeader(h));
}

export function decodeHeaderItem(item: RlpItem | undefined): BlockHeader {
  const f = asList(item, 'header');
  if (f.length === 0) throw new DecodeError('MALFORMED', 'header: empty');
  const version = asSafeUint(f[0], 'header.version');
  if (version !== HEADER_VERSION) {
    throw new BlockError('BLOCK_UNSUPPORTED_VERSION', `unsupported header version ${version}`);
  }
  if (f.length !== 15) throw new DecodeError('MALFORMED', `header: expected 15 fields, got ${f.length}`);
  const time = asList(f[5], 'header.time', 2);
  return {
    chainId: asUtf8(f[1], 'header.chainId', MAX_CHAIN_ID_LENGTH),
    height: asSafeUint(f[2], 'header.height'),
    parentHash: asBytes(f[3], 'header.parentHash', { length: 32 }),
    historyRoot: asBytes(f[4], 'header.historyRoot', { length: 32 }),
    time: { ms: asSafeUint(time[0], 'header.time.ms'), logical: asSafeUint(time[1], 'header.time.logical') },
    proposer: asBytes(f[6], 'header.proposer', { length: ADDRESS_LENGTH }),
    txRoot: asBytes(f[7], 'header.txRoot', { length: 32 }),
    txCount: asSafeUint(f[8], 'header.txCount'),
    stateRoot: asBytes(f[9], 'header.stateRoot', { length: 32 }),
    logSize: asSafeUint(f[10], 'header.logSize'),
    logRoot: asBytes(f[11], 'header.logRoot', { length: 32 }),
    validatorsHash: asBytes(f[12], 'header.validatorsHash', { length: 32 }),
    engine: asUtf8(f[13], 'header.engine', 32),
    engineData: asBytes(f[14], 'header.engineData', { max: MAX_ENGINE_DATA_BYTES }),
  };
}

function wrapDecode<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BlockError) throw e;
    if (e instanceof DecodeError) {
      throw new BlockError(e.code === 'TOO_LARGE' ? 'BLOCK_TOO_LARGE' : 'BLOCK_MALFORMED', e.message);
    }
    throw new BlockError('BLOCK_MALFORMED', `${what}: ${onlyTyped(e).message}`);
  }
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  return wrapDecode('header', () => decodeHeaderItem(rlpDecodeStrict(bytes, MAX_HEADER_BYTES, 'header')));
}

/**
 * Each block's encoding, once known: a block arrives as bytes inside a consensus message and is
 * stored when it commits, and the proposer encodes its own once to send it — re-encoding a body of
 * thousands of transactions for the store cost as much as decoding it. Blocks are immutable
 * (readonly header and body), so an object's encoding never changes; the strict decoder admits
 * only the canonical encoding, so the bytes a block was decoded from are the ones `encodeBlock`
 * would produce. Callers must not modify the bytes returned.
 */
const encodings = new WeakMap<Block, Uint8Array>();

export function encodeBlock(block: Block): Uint8Array {
  let bytes = encodings.get(block);
  if (bytes === undefined) {
    bytes = rlpEncode([headerFields(block.header), [...block.txs]]);
    encodings.set(block, bytes);
  }
  return bytes;
}

export interface BlockLimits {
  readonly maxBlockBytes?: number;
  readonly maxBlockTxs?: number;
}

/** Strict decoding; also checks that `txRoot` and `txCount` match the body. */
export function decodeBlock(bytes: Uint8Array, limits: BlockLimits = {}): Block {
  return wrapDecode('block', () => {
    const f = asList(
      rlpDecodeStrict(bytes, limits.maxBlockBytes ?? DEFAULT_MAX_BLOCK_BYTES, 'block'),
      'block',
      2,
    );
    const header = decodeHeaderItem(f[0]);
    const txItems = asList(f[1], 'block.txs');
    if (txItems.length > (limits.maxBlockTxs ?? DEFAULT_MAX_BLOCK_TXS)) {
      throw new BlockError('BLOCK_TOO_LARGE', `block has ${txItems.length} transactions`);
    }
    const txs = txItems.map((t, i) => asBytes(t, `block.txs[${i}]`));
    const block = { header, txs };
    checkBody(block);
    bodyChecked.add(block);
    // A copy: the caller's buffer is not ours to keep (it may be a view into a reused frame).
    encodings.set(block, bytes.slice());
    return block;
  });
}

/**
 * Blocks `decodeBlock` made, whose body it checked: a block received from a peer is checked once,
 * not again when it is validated (its header and txs are readonly, and nothing else makes them).
 */
const bodyChecked = new WeakSet<Block>();

/** The body must match the header's commitments to it. */
export function checkBody(block: Block): void {
  if (bodyChecked.has(block)) return;
  if (block.header.txCount !== block.txs.length) {
    throw new BlockError(
      'BLOCK_INVALID',
      `header says ${block.header.txCount} txs, body has ${block.txs.length}`,
    );
  }
  const root = txRoot(block.txs);
  if (!Buffer.from(root).equals(Buffer.from(block.header.txRoot))) {
    throw new BlockError('BLOCK_INVALID', 'txRoot does not match the block body');
  }
}

export function txRoot(txs: readonly Uint8Array[]): Uint8Array {
  return rootOfEntries(txs);
}

export function blockHash(block: Block): Uint8Array {
  return headerHash(block.header);
}
