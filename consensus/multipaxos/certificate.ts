/**
 * Multi-Paxos commit certificates (kind `multipaxos-q2-accepted`): proof, to a light client that
 * trusts only genesis, that block B (height h, hash H) is chosen.
 *
 * Payload RLP([round, node, header(D), [[validator, signature]…], [ancestry…]?]):
 *  - D is the accepted block: B itself, or (ancestry present) a descendant of B;
 *  - every signature is an acceptance, acceptedBytes(chain, (round, node), D.height, hash(D))
 *    (ballot.ts), of a distinct validator — all in the one ballot (round, node);
 *  - together they hold at least the Phase-2 quorum stated in D's own stamp (its engine data), and
 *    the stamp's quorums are ones the chain can run with (Q1 + Q2 > total power, each at most the
 *    total): the validators signed hash(D), so they vouched for the stamp, and a validator accepts
 *    only blocks stamped with its genesis quorums;
 *  - D's stamp ballot is at most (round, node): a block is proposed in the ballot that created it
 *    or, re-proposed after a Phase 1, a later one — never an earlier one;
 *  - for an ancestor, an RFC 9162 inclusion proof that H is leaf h of D's `historyRoot` (the tree
 *    of the hashes of blocks 0 … D.height − 1), as Raft's certificates do.
 * Why that proves B chosen: a Phase-2 quorum accepting D in one ballot is Paxos's definition of
 * "chosen". Every later leader's Phase 1 meets that quorum (Q1 + Q2 > total) and re-proposes D
 * with its whole ancestry — an acceptor accepts a block in a ballot only on top of its parent
 * accepted in the same ballot or committed (engine.ts) — so every later commit extends D, and B.
 *
 * Guarantee: this is a CRASH-FAULT certificate. The argument assumes every validator follows the
 * protocol — acceptors that lie (accept without storing, promise and forget) can sign a certificate
 * for a block a later leader never re-proposes. It is exactly as good as the assumption that
 * members do not lie, and as Q1 + Q2 > total; it is not Byzantine evidence of anything.
 */

import type { BlockHeader } from '../../ledger/block.ts';
import type { QuorumVote } from '../../ledger/certificate.ts';
import { type HeaderVoteCertificate, headerVoteScheme } from '../header-vote-certificate.ts';
import {
  acceptedBytes,
  type Ballot,
  type CommitProof,
  compareBallots,
  decodeBallot,
  decodeStamp,
  formatBallot,
  MULTIPAXOS_ENGINE,
  type Stamp,
} from './ballot.ts';
import { quorumViolation } from './params.ts';

export const MULTIPAXOS_CERT_KIND = 'multipaxos-q2-accepted';

export const MULTIPAXOS_CERT_GUARANTEE =
  'crash-fault certificate: validators holding the Phase-2 quorum of power accepted the block (or a descendant) in one ballot, and every Phase-1 quorum meets every Phase-2 quorum (Q1 + Q2 > total power); as good as the assumption that validators do not lie';

export interface MultiPaxosCertificate extends HeaderVoteCertificate {
  readonly kind: typeof MULTIPAXOS_CERT_KIND;
  /** The ballot every acceptance was given in. */
  readonly ballot: Ballot;
  readonly votes: readonly QuorumVote[];
}

/** The certificate of block (`height`, `blockHash`) from a proof for D (`header`); `ancestry` below D. */
export function multipaxosCertificate(
  proof: Pick<CommitProof, 'ballot' | 'votes'>,
  header: BlockHeader,
  height: number,
  blockHash: Uint8Array,
  ancestry?: readonly Uint8Array[],
): MultiPaxosCertificate {
  const base = {
    kind: MULTIPAXOS_CERT_KIND,
    height,
    blockHash,
    ballot: proof.ballot,
    header,
    votes: proof.votes,
  } as const;
  return ancestry === undefined ? base : { ...base, ancestry };
}

const multipaxos = headerVoteScheme<MultiPaxosCertificate, Ballot, Stamp>({
  kind: MULTIPAXOS_CERT_KIND,
  guarantee: MULTIPAXOS_CERT_GUARANTEE,
  engine: MULTIPAXOS_ENGINE,
  did: 'accepted',
  vote: 'acceptance',
  votesField: 'votes',
  roundFields: 2,
  encodeRound: (ballot) => [ballot.round, ballot.node],
  decodeRound: (f) => decodeBallot(f[0], f[1], `${MULTIPAXOS_CERT_KIND}.ballot`),
  roundOf: (cert) => cert.ballot,
  votesOf: (cert) => cert.votes,
  assemble: ({ height, blockHash, round, header, votes, ancestry }) =>
    multipaxosCertificate({ ballot: round, votes }, header, height, blockHash, ancestry),
  decodeEngineData: decodeStamp,
  roundViolation(cert, stamp, trust) {
    if (compareBallots(stamp.ballot, cert.ballot) > 0)
      return `acceptances in ballot ${formatBallot(cert.ballot)} of a block created in the later ballot ${formatBallot(stamp.ballot)}`;
    const unsafe = quorumViolation(stamp.phase1Quorum, stamp.phase2Quorum, trust.validators.totalPower);
    return unsafe === undefined
      ? undefined
      : `accepted header states quorums the chain cannot run with: ${unsafe}`;
  },
  quorumViolation(cert, stamp, trust) {
    const power = trust.validators.powerOf(cert.votes.map((v) => v.validator));
    return power < stamp.phase2Quorum
      ? `acceptors hold ${power} of ${trust.validators.totalPower} power; the phase-2 quorum is ${stamp.phase2Quorum}`
      : undefined;
  },
  signedMessage: acceptedBytes,
});

/** The structural rules (everything but the signatures): a reason, or undefined. */
export const certificateRuleViolation = multipaxos.ruleViolation;

export const multipaxosCertificateScheme = multipaxos.scheme;
