/**
 * The ledger: transactions, state machine, blocks, certificates, genesis, the chain store and
 * light-client bundles, over two authenticated structures — the Merkle-Patricia trie and the
 * RFC 9162 transparency log. Pure over the KvStore port.
 */
export * from './address.ts';
export * from './block.ts';
export * from './bundle.ts';
export * from './certificate.ts';
export * from './chain.ts';
export * from './codec.ts';
export * from './genesis.ts';
export * from './hlc.ts';
export * from './kv.ts';
export type { AppendResult, SignedTreeHead, TreeHead } from './log/index.ts';
export {
  emptyRoot,
  LogError,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  rootOfEntries,
  TransparencyLog,
  verifyConsistency,
  verifyInclusion,
} from './log/index.ts';
export type { PruningPolicy, TrieOp, TrieOptions } from './mpt/index.ts';
export { EMPTY_ROOT, MerklePatriciaTrie, TrieError, verifyMptProof } from './mpt/index.ts';
export * from './proofs.ts';
export * from './receipt.ts';
export * from './state.ts';
export * from './tx.ts';
export * from './validators.ts';
