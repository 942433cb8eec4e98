/**
 * What a Raft log entry is in Verity, and what acknowledging one means — the two pieces both the
 * engine and a certificate verifier need.
 *
 * An entry is a block: its index is the block height, its predecessor is `parentHash`, and its
 * term sits in the header's engine data, RLP([1, term]) — or, once the cluster's configuration is
 * not the default one (config.ts), RLP([2, term, [voter…], [outgoing voter…], [learner…]]), the
 * configuration in force for the entry (an empty outgoing list: not joint). Because every block names its parent by
 * hash, two logs that hold the same hash at an index agree on the whole prefix below it — the Log
 * Matching Property of §5.3 holds by construction; the engine still compares terms for the
 * election restriction (§5.4.1) and for the conflict hints of its back-off.
 *
 * An acknowledgement is a follower's signature over ackBytes(chain, term, index, hash): "in term
 * `term` my log held block `hash` at `index`", domain-separated from every other signature in
 * Verity. The follower's AppendEntries reply is signed over exactly these bytes, so the envelope
 * signature the runtime verified IS the certificate's vote (as a Tendermint precommit is).
 */
import { concatBytes, utf8 } from '../../crypto/bytes.ts';
import type { BlockHeader } from '../../ledger/block.ts';
import type { QuorumVote } from '../../ledger/certificate.ts';
import {
  asList,
  asSafeUint,
  DecodeError,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from '../../ledger/codec.ts';
import { MAX_CONFIG_MEMBERS, type RaftConfig } from './config.ts';

export const RAFT_ENGINE = 'raft';
const ENGINE_DATA_VERSION = 1;
const ENGINE_DATA_WITH_CONFIG = 2;
const MAX_ENGINE_DATA = 64 + 3 * 3 * MAX_CONFIG_MEMBERS;
const ACK_DOMAIN = concatBytes(utf8('verity-raft-ack-v1'), new Uint8Array([0]));

/**
 * Header engine data of an entry created by the leader of `term`, under `config` — omitted for the
 * default configuration (every validator votes), so chains that never change it keep RLP([1, term]).
 */
export function encodeEngineData(term: number, config?: RaftConfig): Uint8Array {
  if (config === undefined) return rlpEncode([ENGINE_DATA_VERSION, term]);
  return rlpEncode([
    ENGINE_DATA_WITH_CONFIG,
    term,
    [...config.voters],
    [...(config.outgoing ?? [])],
    [...config.learners],
  ]);
}

/**
 * The term of an entry, and its configuration when not the default one, strictly decoded from its
 * header's engine data. The lists are checked for shape here; against the validator set by whoever
 * holds it (config.ts configViolation).
 */
export function decodeEngineData(bytes: Uint8Array): { readonly term: number; readonly config?: RaftConfig } {
  const item = rlpDecodeStrict(bytes, MAX_ENGINE_DATA, 'raft engine data');
  const head = asList(item, 'raft engine data');
  const version = head[0] === undefined ? 0 : asSafeUint(head[0], 'raft engine data version');
  if (version !== ENGINE_DATA_VERSION && version !== ENGINE_DATA_WITH_CONFIG)
    throw new DecodeError('MALFORMED', `raft engine data: version ${version} is not one this code reads`);
  const f = asList(item, 'raft engine data', version === ENGINE_DATA_VERSION ? 2 : 5);
  const term = asSafeUint(f[1], 'raft engine data term');
  if (term === 0) throw new DecodeError('MALFORMED', 'raft engine data: an entry has a term ≥ 1');
  if (version === ENGINE_DATA_VERSION) return { term };
  const voters = indexList(f[2], 'voters');
  const outgoing = indexList(f[3], 'outgoing voters');
  const learners = indexList(f[4], 'learners');
  if (voters.length === 0)
    throw new DecodeError('MALFORMED', 'raft engine data: a configuration without voters');
  const config: RaftConfig = outgoing.length === 0 ? { voters, learners } : { voters, outgoing, learners };
  return { term, config };
}

function indexList(item: RlpItem | undefined, what: string): number[] {
  const list = asList(item, `raft engine data ${what}`);
  if (list.length > MAX_CONFIG_MEMBERS)
    throw new DecodeError('MALFORMED', `raft engine data: more than ${MAX_CONFIG_MEMBERS} ${what}`);
  const out = list.map((x) => asSafeUint(x, `raft engine data ${what}`));
  for (let i = 1; i < out.length; i++)
    if ((out[i] as number) <= (out[i - 1] as number))
      throw new DecodeError('MALFORMED', `raft engine data: ${what} not strictly ascending`);
  return out;
}

/** The term of the entry whose header this is (genesis, height 0, is term 0). */
export function termOfHeader(header: BlockHeader): number {
  return header.height === 0 ? 0 : decodeEngineData(header.engineData).term;
}

/**
 * The term of a committed head (consensus/types.ts HeadInfo carries its header's engine data). A
 * committed block that does not carry a Raft term is a broken chain, not a peer's input: the
 * DecodeError halts this node's consensus.
 */
export function termOfHead(head: { readonly height: number; readonly engineData: Uint8Array }): number {
  return head.height === 0 ? 0 : decodeEngineData(head.engineData).term;
}

/** What a follower signs to acknowledge block `hash` at `index` in `term`. */
export function ackBytes(chainId: string, term: number, index: number, hash: Uint8Array): Uint8Array {
  return concatBytes(ACK_DOMAIN, rlpEncode([utf8(chainId), term, index, hash]));
}

/**
 * The commit proof a leader ships to its followers: acknowledgements of block `hash` at `index`,
 * all given in `term`, from validators holding a majority of the power. With the block's header
 * (which the follower holds) it is the certificate of that block, and through its `historyRoot`
 * of every ancestor (certificate.ts).
 */
export interface CommitProof {
  readonly term: number;
  readonly index: number;
  readonly hash: Uint8Array;
  /** Strictly increasing validator index. */
  readonly acks: readonly QuorumVote[];
}
