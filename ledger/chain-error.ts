import { VerityError } from '../crypto/errors.ts';

export type ChainErrorCode =
  | 'CHAIN_CORRUPT'
  | 'CHAIN_OLD_FORMAT'
  | 'GENESIS_MISMATCH'
  | 'BLOCK_REJECTED'
  /** Valid so far, but timestamped beyond the local clock's drift bound: retry at `meta.readyAtMs`. */
  | 'BLOCK_IN_FUTURE'
  | 'NOT_FOUND'
  | 'OUT_OF_ORDER'
  /** A snapshot's parts disagree with its block's header or with this chain (installSnapshot). */
  | 'SNAPSHOT_REJECTED';

export class ChainError extends VerityError<ChainErrorCode> {}
