/**
 * A block's transactions from their bytes: decoded — or taken from the caller's own decoded copy
 * when it holds those exact bytes (its mempool: a block mostly carries transactions every node
 * admitted before, which then need neither decoding nor hashing again) — and signature-checked,
 * on this thread one at a time or on a batch verifier. A bad one is ChainError BLOCK_REJECTED,
 * naming its index.
 */
import { equalBytes } from '../crypto/bytes.ts';
import { invariant, onlyTyped } from '../crypto/errors.ts';
import type { BatchVerifier } from '../crypto/signature-batch.ts';
import { ChainError } from './chain-error.ts';
import { decodeTransaction, type EncodedTransaction, verifyTransaction, verifyTransactions } from './tx.ts';

/**
 * Transactions a caller already decoded and verified, looked up by their exact encoding: the
 * answer, if any, must be the transaction whose `bytes` equal the argument.
 */
export type KnownTransactions = (bytes: Uint8Array) => EncodedTransaction | undefined;

/** What a chain's transactions must be: for its chain, and at most this many bytes each. */
export interface BlockTxRules {
  readonly chainId: string;
  readonly maxTxBytes: number;
}

/** Decodes and verifies on this thread, each in turn: the first bad one, whatever its fault, is named. */
export function decodeBlockTxs(
  txs: readonly Uint8Array[],
  rules: BlockTxRules,
  known?: KnownTransactions,
): EncodedTransaction[] {
  return txs.map((bytes, i) =>
    rejectingAt(i, () => {
      const etx = decodeOne(bytes, rules, known);
      verifyTransaction(etx, rules.chainId);
      return etx;
    }),
  );
}

/**
 * `decodeBlockTxs` with the signatures checked by `verifier` (a worker pool): the same verdicts,
 * off the event loop, and urgent — consensus waits on the block, not behind the intake queued on
 * the verifier. (Every one is decoded first, so a decoding fault is the one named even after an
 * earlier bad signature.)
 */
export async function decodeAndVerifyBlockTxs(
  txs: readonly Uint8Array[],
  rules: BlockTxRules,
  known: KnownTransactions | undefined,
  verifier: BatchVerifier,
): Promise<EncodedTransaction[]> {
  const etxs = decodeBlockTxsUnverified(txs, rules, known);
  const refused = await verifyTransactions(etxs, rules.chainId, verifier, 'urgent');
  const i = refused.findIndex((e) => e !== undefined);
  if (i >= 0) throw new ChainError('BLOCK_REJECTED', `transaction ${i}: ${(refused[i] as Error).message}`);
  return etxs;
}

/**
 * Decodes without checking signatures: for bytes whose signatures were checked before they were
 * committed (this node's own blocks), or before a signature check.
 */
export function decodeBlockTxsUnverified(
  txs: readonly Uint8Array[],
  rules: BlockTxRules,
  known?: KnownTransactions,
): EncodedTransaction[] {
  return txs.map((bytes, i) => rejectingAt(i, () => decodeOne(bytes, rules, known)));
}

function rejectingAt<T>(i: number, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ChainError('BLOCK_REJECTED', `transaction ${i}: ${onlyTyped(e).message}`);
  }
}

/** One transaction: the caller's decoded copy when it holds these exact bytes, else decoded. */
function decodeOne(
  bytes: Uint8Array,
  rules: BlockTxRules,
  known: KnownTransactions | undefined,
): EncodedTransaction {
  const held = known?.(bytes);
  if (held !== undefined) invariant(equalBytes(held.bytes, bytes), 'a known transaction has these bytes');
  return held !== undefined && held.bytes.length <= rules.maxTxBytes
    ? held
    : decodeTransaction(bytes, rules.maxTxBytes);
}
