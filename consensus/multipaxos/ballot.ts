/**
 * Ballots, and what a block and a vote say about them — the pieces both the engine and a
 * certificate verifier need (as consensus/raft/entry.ts is for Raft).
 *
 * A ballot is (round, node): ordered by round, then by the proposer's validator index. The order
 * is total, every proposer owns infinitely many ballots and no two proposers ever share one (the
 * "ballot numbers" of Lamport's "Paxos Made Simple", 2001). Where one number is needed — the
 * round of a double-sign slot, a timer token — a ballot is its ordinal round · 2^20 + node, which
 * orders the same way and stays a safe integer: at most 2^20 validators (parseParams refuses
 * more) and rounds below 2^33.
 *
 * A block's header engine data is its stamp, RLP([1, round, node, q1, q2]): the ballot whose
 * leader created it (Raft's term) and the Phase-1 and Phase-2 quorums, by voting power, that the
 * chain runs with. The quorums ride in every header because a light client trusts the genesis
 * validator set but not the engine parameters: the Phase-2 quorum a certificate must reach is
 * read from the certified header, whose hash the accepting validators signed — and a validator
 * accepts only blocks stamped with its own genesis quorums (engine.ts). A re-proposed block keeps
 * its stamp (its hash cannot change), so a block is proposed in its stamp's ballot or a later one.
 *
 * An acceptance is a validator's signature over acceptedBytes(chain, ballot, slot, hash): "in
 * ballot `ballot` I accepted block `hash` for slot `slot`", domain-separated from every other
 * signature in Verity. Phase 2b's `accepted` message is signed over exactly these bytes, so the
 * envelope signature the runtime verified IS the certificate's vote (as a Raft ack is).
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

export const MULTIPAXOS_ENGINE = 'multipaxos';

export interface Ballot {
  readonly round: number;
  readonly node: number;
}

/** Below every real ballot (round ≥ 1): what a fresh acceptor has promised, genesis's stamp. */
export const NO_BALLOT: Ballot = { round: 0, node: 0 };
/** Validators a ballot can name: node < MAX_NODES. */
export const MAX_NODES = 2 ** 20;
/** The highest round: MAX_ROUND · MAX_NODES + (MAX_NODES − 1) is Number.MAX_SAFE_INTEGER. */
export const MAX_ROUND = 2 ** 33 - 1;

/** Negative, zero or positive as `a` is below, equal to or above `b`. */
export function compareBallots(a: Ballot, b: Ballot): number {
  return a.round - b.round || a.node - b.node;
}

export function sameBallot(a: Ballot, b: Ballot): boolean {
  return a.round === b.round && a.node === b.node;
}

/** One number per ballot, in ballot order (double-sign slots, timer tokens). */
export function ballotOrdinal(b: Ballot): number {
  return b.round * MAX_NODES + b.node;
}

export function formatBallot(b: Ballot): string {
  return `${b.round}.${b.node}`;
}

/** A ballot from two RLP items, strictly: a real ballot has round ≥ 1 unless `none` is allowed. */
export function decodeBallot(
  round: RlpItem | undefined,
  node: RlpItem | undefined,
  what: string,
  o: { none?: boolean } = {},
): Ballot {
  const b = { round: asSafeUint(round, `${what}.round`), node: asSafeUint(node, `${what}.node`) };
  if (b.round > MAX_ROUND || b.node >= MAX_NODES)
    throw new DecodeError('MALFORMED', `${what}: ballot ${formatBallot(b)} out of range`);
  if (b.round === 0 && !(o.none === true && b.node === 0))
    throw new DecodeError('MALFORMED', `${what}: a ballot has a round ≥ 1`);
  return b;
}

/** What a block's header says: the ballot that created it and the chain's quorums (by power). */
export interface Stamp {
  readonly ballot: Ballot;
  readonly phase1Quorum: number;
  readonly phase2Quorum: number;
}

const STAMP_VERSION = 1;
const MAX_STAMP_BYTES = 64;

export function encodeStamp(s: Stamp): Uint8Array {
  return rlpEncode([STAMP_VERSION, s.ballot.round, s.ballot.node, s.phase1Quorum, s.phase2Quorum]);
}

/** A block's stamp, strictly decoded from its header's engine data. */
export function decodeStamp(bytes: Uint8Array): Stamp {
  const what = 'multipaxos engine data';
  const f = asList(rlpDecodeStrict(bytes, MAX_STAMP_BYTES, what), what, 5);
  const version = asSafeUint(f[0], `${what} version`);
  if (version !== STAMP_VERSION)
    throw new DecodeError('MALFORMED', `${what}: version ${version} is not one this code reads`);
  const ballot = decodeBallot(f[1], f[2], `${what} ballot`);
  const phase1Quorum = asSafeUint(f[3], `${what} q1`);
  const phase2Quorum = asSafeUint(f[4], `${what} q2`);
  if (phase1Quorum === 0 || phase2Quorum === 0)
    throw new DecodeError('MALFORMED', `${what}: quorums are ≥ 1`);
  return { ballot, phase1Quorum, phase2Quorum };
}

/**
 * The creating ballot of a committed head (HeadInfo.engineData; genesis, height 0, has none), or
 * undefined when its engine data is not a stamp this code reads.
 */
export function headBallot(height: number, engineData: Uint8Array): Ballot | undefined {
  if (height === 0) return NO_BALLOT;
  try {
    return decodeStamp(engineData).ballot;
  } catch (e) {
    if (e instanceof DecodeError) return undefined;
    throw e;
  }
}

export function stampOfHeader(header: BlockHeader): Stamp {
  return decodeStamp(header.engineData);
}

const ACCEPTED_DOMAIN = concatBytes(utf8('verity-multipaxos-accepted-v1'), new Uint8Array([0]));

/** What an acceptor signs to say it accepted block `hash` for `slot` in `ballot` (Phase 2b). */
export function acceptedBytes(chainId: string, ballot: Ballot, slot: number, hash: Uint8Array): Uint8Array {
  return concatBytes(ACCEPTED_DOMAIN, rlpEncode([utf8(chainId), ballot.round, ballot.node, slot, hash]));
}

/**
 * The commit proof a leader ships: acceptances of block `hash` for `slot`, all in `ballot`, from
 * validators holding the Phase-2 quorum's power. With the block's header it is the block's
 * certificate, and through its `historyRoot` every ancestor's (certificate.ts).
 */
export interface CommitProof {
  readonly ballot: Ballot;
  readonly slot: number;
  readonly hash: Uint8Array;
  /** Strictly increasing validator index. */
  readonly votes: readonly QuorumVote[];
}
