/** Typed errors of the Merkle-Patricia trie. Callers branch on `code`. */
import { VerityError } from '../../crypto/errors.ts';

export type TrieErrorCode =
  /** A proof does not hash to the root, is malformed, or has missing / extra nodes. */
  | 'INVALID_PROOF'
  /** `create` / `atRoot` was given a root whose node is not in the store. */
  | 'MISSING_ROOT'
  /** A node referenced by the tree is absent from the store (pruned, or the store lost it). */
  | 'MISSING_NODE'
  /** A stored node does not decode, or does not hash to the key it is stored under. */
  | 'CORRUPT_NODE'
  /** Key or value rejected before touching the trie (wrong type, too long). */
  | 'INVALID_KEY'
  | 'INVALID_VALUE'
  | 'INVALID_OPTIONS'
  /** `root()` called while a queued operation has not settled: await mutations first. */
  | 'BUSY'
  /** A write on a read-only view (`atRoot`). */
  | 'READ_ONLY'
  /** The store was written under a different pruning mode (archive vs keepRoots). */
  | 'PRUNING_MODE_MISMATCH';

export class TrieError extends VerityError<TrieErrorCode> {}
