import { VerityError } from '../../crypto/errors.ts';

export type LogErrorCode =
  /** A size, index or range beyond what the log holds (or an inverted range). */
  | 'OUT_OF_RANGE'
  /** Not a safe non-negative integer, not a byte array, malformed encoding. */
  | 'INVALID_ARGUMENT'
  /** The store is missing a record the log's state says must exist, or a record is malformed. */
  | 'CORRUPT'
  /** Appending would overflow Number.MAX_SAFE_INTEGER leaves. */
  | 'TOO_LARGE';

export class LogError extends VerityError<LogErrorCode> {}
