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

import { equalBytes } from '../../crypto/bytes.ts';
import { type BlockHeader, decodeHeaderItem, headerFields, headerHash } from '../../ledger/block.ts';
import {
  ancestryViolation,
  badVoteSignature,
  type CertificateCheck,
  type CertificateScheme,
  type CommitCertificate,
  decodeAncestry,
  decodeVotes,
  encodeVotes,
  type QuorumVote,
  type TrustAnchor,
  votesViolation,
} from '../../ledger/certificate.ts';
import { asList, asSafeUint, DecodeError } from '../../ledger/codec.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { configViolation, Membership, type RaftConfig } from './config.ts';
import { ackBytes, type CommitProof, decodeEngineData, RAFT_ENGINE } from './entry.ts';

export const RAFT_CERT_KIND = 'raft-majority-acks';

export const RAFT_CERT_GUARANTEE =
  "crash-fault certificate: a majority of the voters' power in the configuration the acknowledged header names (both majorities while it is joint) acknowledged the block (or a same-term descendant) in the term that created it; as good as the assumption that validators do not lie";

export interface RaftCertificate extends CommitCertificate {
  readonly kind: typeof RAFT_CERT_KIND;
  /** The term the acknowledgements were given in; D's own term. */
  readonly term: number;
  /** D: the acknowledged block's header. */
  readonly header: BlockHeader;
  readonly acks: readonly QuorumVote[];
  /** Present when the certified block is an ancestor of D: its inclusion proof in D's historyRoot. */
  readonly ancestry?: readonly Uint8Array[];
}

/** The certificate of block (`height`, `blockHash`) from a proof for D (`header`); `ancestry` below D. */
export function raftCertificate(
  proof: CommitProof,
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

function fail(reason: string): CertificateCheck {
  return { ok: false, reason };
}

/** The structural rules (everything but the signatures): a reason, or undefined. */
export function certificateRuleViolation(
  cert: RaftCertificate,
  trust: Pick<TrustAnchor, 'chainId' | 'validators' | 'epoch'>,
): string | undefined {
  const d = cert.header;
  if (d.chainId !== trust.chainId) return `acknowledged header is for chain "${d.chainId}"`;
  if (!equalBytes(d.validatorsHash, trust.validators.hash))
    return 'acknowledged header has another validator set';
  if (d.engine !== RAFT_ENGINE) return `acknowledged header is from engine "${d.engine}"`;
  let term: number;
  let config: RaftConfig | undefined;
  try {
    ({ term, config } = decodeEngineData(d.engineData));
  } catch (e) {
    return `acknowledged header: ${(e as Error).message}`;
  }
  const badConfig = config === undefined ? undefined : configViolation(config, trust.validators);
  if (badConfig !== undefined) return `acknowledged header's configuration: ${badConfig}`;
  if (term !== cert.term)
    return `acknowledgements of term ${cert.term} for an entry of term ${term}: only an entry of the acknowledging term commits by replication (Raft §5.4.2)`;
  const unproven =
    ancestryViolation(d, cert.height, cert.blockHash, cert.ancestry, 'acknowledged') ??
    votesViolation(cert.acks, trust.validators, 'acknowledgements');
  if (unproven !== undefined) return unproven;
  if (config === undefined) {
    const power = trust.validators.powerOf(cert.acks.map((a) => a.validator));
    if (power < trust.validators.majorityPower)
      return `acknowledgers hold ${power} of ${trust.validators.totalPower} power; need ${trust.validators.majorityPower}`;
    return undefined;
  }
  const membership = new Membership(config, trust.validators);
  if (!membership.hasQuorum(cert.acks.map((a) => a.validator)))
    return `acknowledgers ${cert.acks.map((a) => a.validator).join(',')} are not a quorum of ${membership.describe()}`;
  return undefined;
}

export const raftCertificateScheme: CertificateScheme<RaftCertificate> = {
  kind: RAFT_CERT_KIND,
  guarantee: RAFT_CERT_GUARANTEE,
  encodePayload(cert) {
    const payload = [cert.term, headerFields(cert.header), encodeVotes(cert.acks)];
    return cert.ancestry === undefined ? payload : [...payload, [...cert.ancestry]];
  },
  decodePayload(item, height, blockHash) {
    const f = asList(item, RAFT_CERT_KIND);
    if (f.length !== 3 && f.length !== 4)
      throw new DecodeError('MALFORMED', `${RAFT_CERT_KIND}: expected 3 or 4 fields, got ${f.length}`);
    const term = asSafeUint(f[0], `${RAFT_CERT_KIND}.term`);
    const header = decodeHeaderItem(f[1]);
    const acks = decodeVotes(f[2], `${RAFT_CERT_KIND}.acks`);
    const base = { kind: RAFT_CERT_KIND, height, blockHash, term, header, acks } as const;
    return f.length === 3 ? base : { ...base, ancestry: decodeAncestry(f[3], `${RAFT_CERT_KIND}.ancestry`) };
  },
  verify(cert, trust) {
    if (cert.kind !== RAFT_CERT_KIND) return fail(`not a ${RAFT_CERT_KIND} certificate`);
    const violation = certificateRuleViolation(cert, trust);
    if (violation !== undefined) return fail(violation);
    const message = ackBytes(
      signingDomain(trust.chainId, trust.epoch),
      cert.term,
      cert.header.height,
      headerHash(cert.header),
    );
    const bad = badVoteSignature(cert.acks, message, trust.validators, 'acknowledgement');
    return bad === undefined ? { ok: true } : fail(bad);
  },
};
