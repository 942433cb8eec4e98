/** Ethereum-compatible Merkle-Patricia trie: public surface of `ledger/mpt`. */
export { EMPTY_ROOT, MAX_KEY_BYTES } from './constants.ts';
export { TrieError, type TrieErrorCode } from './errors.ts';
export { DEFAULT_PREFIX } from './layout.ts';
export {
  MAX_PROOF_BYTES,
  MAX_PROOF_NODE_BYTES,
  MAX_PROOF_NODES,
  type VerifyOptions,
  verifyMptProof,
} from './proof.ts';
export { MerklePatriciaTrie, type PruningPolicy, type TrieOp, type TrieOptions } from './trie.ts';
