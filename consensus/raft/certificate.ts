/**
 * Raft commit certificates (kind `raft-majority-acks`): proof, to a light client that trusts only
 * genesis, that block B (height h, hash H) is committed by the Raft commit rule.
 *
 * Payload RLP([term, header(D), [[validator, signature]…], [ancestry…]?]):
 *  - D is the acknowledged block: B itself, or (ancestry present) a descendant of B;
 *  - every signature is an acknowledgement, ackBytes(chain, term, D.height, hash(D)) (entry.ts),
 *    of a distinct validator; together they hold a quorum of the configuration D's header names
 *    (config.ts): more than half of its voters' power — of both voter lists while it is joint
 *    (C_old,new) — learners never counting. Without a configuration in D, every validator votes;
 *  - the term rule (Raft §5.4.2, Figure 8): D's own term, in its header's engine data, is `term`.
 *    A leader only counts replicas of an entry of its own term: acknowledgements of an older-term
 *    entry prove it stored, not committed — Figure 8 shows one overwritten after exactly that;
 *  - for an ancestor, an RFC 9162 inclusion proof that H is leaf h of D's `historyRoot` (the tree
 *    of the hashes of blocks 0 … D.height − 1), as HotStuff's ancestry proofs do: O(log D.height)
 *    hashes however far below D the block lies.
 * Why that proves commitment: a majority stored D while in term `term`, and D was created in that
 * term; any later leader needs a vote from one of them, and none votes for a log less up-to-date
 * than its own (§5.4.1) — so every later leader holds D, and with it (by hash) all of D's ancestry.
 *
 * Guarantee: this is a CRASH-FAULT certificate. The argument assumes every validator follows the
 * protocol — a majority that lies (acknowledges without storing, votes twice) can sign a
 * certificate for a block that is later overwritten. It is exactly as good as the assumption that
 * members do not lie; it is not Byzantine evidence of anything.
 */

import type { BlockHeader } from '../../ledger/block.ts';
import type { QuorumVote } from '../../ledger/certificate.ts';
import { asSafeUint } from '../../ledger/codec.ts';
import { type HeaderVoteCertificate, headerVoteScheme } from '../header-vote-certificate.ts';
import { configViolation, Membership } from './config.ts';
import { ackBytes, type CommitProof, decodeEngineData, RAFT_ENGINE } from './entry.ts';

export const RAFT_CERT_KIND = 'raft-majority-acks';

export const RAFT_CERT_GUARANTEE =
  "crash-fault certificate: a majority of the voters' power in the configuration the acknowledged header names (both majorities while it is joint) acknowledged the block (or a same-term descendant) in the term that created it; as good as the assumption that validators do not lie";

export interface RaftCertificate extends HeaderVoteCertificate {
  readonly kind: typeof RAFT_CERT_KIND;
  /** The term the acknowledgements were given in; D's own term. */
  readonly term: number;
  readonly acks: readonly QuorumVote[];
}

/** The certificate of block (`height`, `blockHash`) from a proof for D (`header`); `ancestry` below D. */
export function raftCertificate(
  proof: Pick<CommitProof, 'term' | 'acks'>,
  header: BlockHeader,
  height: number,
  blockHash: Uint8Array,
  ancestry?: readonly Uint8Array[],
): RaftCertificate {
  const base = {
    kind: RAFT_CERT_KIND,
    height,
    blockHash,
    term: proof.term,
    header,
    acks: proof.acks,
  } as const;
  return ancestry === undefined ? base : { ...base, ancestry };
}

const raft = headerVoteScheme<RaftCertificate, number, ReturnType<typeof decodeEngineData>>({
  kind: RAFT_CERT_KIND,
  guarantee: RAFT_CERT_GUARANTEE,
  engine: RAFT_ENGINE,
  did: 'acknowledged',
  vote: 'acknowledgement',
  votesField: 'acks',
  roundFields: 1,
  encodeRound: (term) => [term],
  decodeRound: (f) => asSafeUint(f[0], `${RAFT_CERT_KIND}.term`),
  roundOf: (cert) => cert.term,
  votesOf: (cert) => cert.acks,
  assemble: ({ height, blockHash, round, header, votes, ancestry }) =>
    raftCertificate({ term: round, acks: votes }, header, height, blockHash, ancestry),
  decodeEngineData,
  roundViolation(cert, { term, config }, trust) {
    const badConfig = config === undefined ? undefined : configViolation(config, trust.validators);
    if (badConfig !== undefined) return `acknowledged header's configuration: ${badConfig}`;
    if (term !== cert.term)
      return `acknowledgements of term ${cert.term} for an entry of term ${term}: only an entry of the acknowledging term commits by replication (Raft §5.4.2)`;
    return undefined;
  },
  quorumViolation(cert, { config }, trust) {
    const signers = cert.acks.map((a) => a.validator);
    if (config === undefined) {
      const power = trust.validators.powerOf(signers);
      return power < trust.validators.majorityPower
        ? `acknowledgers hold ${power} of ${trust.validators.totalPower} power; need ${trust.validators.majorityPower}`
        : undefined;
    }
    const membership = new Membership(config, trust.validators);
    return membership.hasQuorum(signers)
      ? undefined
      : `acknowledgers ${signers.join(',')} are not a quorum of ${membership.describe()}`;
  },
  signedMessage: ackBytes,
});

/** The structural rules (everything but the signatures): a reason, or undefined. */
export const certificateRuleViolation = raft.ruleViolation;

export const raftCertificateScheme = raft.scheme;
