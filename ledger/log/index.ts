export type { LogErrorCode } from './errors.ts';
export { LogError } from './errors.ts';
export { ExtendedTree } from './extend.ts';
export type { Frontier } from './frontier.ts';
export { emptyFrontier, rootOfEntries } from './frontier.ts';
export { emptyRoot, HASH_BYTES, leafHash, nodeHash } from './hashing.ts';
export { DEFAULT_PREFIX } from './layout.ts';
export type { AppendResult, LogPreview, TransparencyLogOptions } from './log.ts';
export { TransparencyLog } from './log.ts';
export type { SignedTreeHead, TreeHead, TreeHeadJson } from './tree-head.ts';
export {
  decodeTreeHead,
  encodeTreeHead,
  equalTreeHeads,
  TREE_HEAD_BYTES,
  treeHeadFromJson,
  treeHeadToJson,
} from './tree-head.ts';
export { rootFromInclusionProof, verifyConsistency, verifyInclusion } from './verify.ts';
