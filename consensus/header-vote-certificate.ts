/**
 * The commit certificate of the crash-fault engines (Raft, Multi-Paxos): validators signed one
 * message over a header D's height and hash in one round (a term, a ballot), and the certified
 * block is D itself or, with an RFC 9162 inclusion proof in D's `historyRoot`, an ancestor of D.
 *
 * Payload RLP([round fields…, header(D), [[validator, signature]…], [ancestry…]?]).
 *
 * What every such kind checks, in this order and with these reasons, is here once: D is of the
 * trusted chain, validator set and engine, and its engine data decodes; the kind's own rules on
 * that data and the round; the ancestry; distinct known signers in order; the kind's quorum; and
 * last (the costly part) every signature over the kind's message. Each kind gives its round, its
 * rules, its quorum and its message: its file says why they prove commitment.
 */

import { equalBytes } from '../crypto/bytes.ts';
import { onlyTyped } from '../crypto/errors.ts';
import { type BlockHeader, decodeHeaderItem, headerFields, headerHash } from '../ledger/block.ts';
import {
  ancestryViolation,
  badVoteSignature,
  type CertificateScheme,
  type CommitCertificate,
  decodeAncestry,
  decodeVotes,
  encodeVotes,
  type QuorumVote,
  type TrustAnchor,
  votesViolation,
} from '../ledger/certificate.ts';
import { asList, DecodeError, type RlpInput, type RlpItem } from '../ledger/codec.ts';
import { signingDomain } from '../ledger/signing-domain.ts';

export interface HeaderVoteCertificate extends CommitCertificate {
  /** D: the header the votes are about. */
  readonly header: BlockHeader;
  /** Present when the certified block is an ancestor of D: its inclusion proof in D's historyRoot. */
  readonly ancestry?: readonly Uint8Array[];
}

export type HeaderVoteTrust = Pick<TrustAnchor, 'chainId' | 'validators' | 'epoch'>;

/** A kind of header-vote certificate: `C` the certificate, `R` its round, `E` D's engine data. */
export interface HeaderVoteKind<C extends HeaderVoteCertificate, R, E> {
  readonly kind: string;
  readonly guarantee: string;
  /** The engine whose headers these are (BlockHeader.engine). */
  readonly engine: string;
  /** Words for reasons: what the signers did to D ("acknowledged"), and one signature ("acknowledgement"). */
  readonly did: string;
  readonly vote: string;
  /** The name of the votes in decode errors ("acks"). */
  readonly votesField: string;
  /** How many payload fields the round takes, before D's header. */
  readonly roundFields: number;
  encodeRound(round: R): RlpInput[];
  decodeRound(fields: readonly RlpItem[]): R;
  roundOf(cert: C): R;
  votesOf(cert: C): readonly QuorumVote[];
  /** The certificate from its parts (decoding). */
  assemble(parts: {
    height: number;
    blockHash: Uint8Array;
    round: R;
    header: BlockHeader;
    votes: QuorumVote[];
    ancestry: Uint8Array[] | undefined;
  }): C;
  decodeEngineData(engineData: Uint8Array): E;
  /** The kind's rules on D's engine data and the round: a reason, or undefined. */
  roundViolation(cert: C, data: E, trust: HeaderVoteTrust): string | undefined;
  /** Whether the signers (distinct, known, in order) are a quorum: a reason, or undefined. */
  quorumViolation(cert: C, data: E, trust: HeaderVoteTrust): string | undefined;
  /** What each validator signed. */
  signedMessage(domain: string, round: R, height: number, hash: Uint8Array): Uint8Array;
}

export interface HeaderVoteScheme<C extends HeaderVoteCertificate> {
  readonly scheme: CertificateScheme<C>;
  /** Every rule but the signatures: a reason, or undefined (what an engine checks of its own proofs). */
  ruleViolation(cert: C, trust: HeaderVoteTrust): string | undefined;
}

export function headerVoteScheme<C extends HeaderVoteCertificate, R, E>(
  k: HeaderVoteKind<C, R, E>,
): HeaderVoteScheme<C> {
  const ruleViolation = (cert: C, trust: HeaderVoteTrust): string | undefined => {
    const d = cert.header;
    if (d.chainId !== trust.chainId) return `${k.did} header is for chain "${d.chainId}"`;
    if (!equalBytes(d.validatorsHash, trust.validators.hash))
      return `${k.did} header has another validator set`;
    if (d.engine !== k.engine) return `${k.did} header is from engine "${d.engine}"`;
    let data: E;
    try {
      data = k.decodeEngineData(d.engineData);
    } catch (e) {
      return `${k.did} header: ${onlyTyped(e).message}`;
    }
    return (
      k.roundViolation(cert, data, trust) ??
      ancestryViolation(d, cert.height, cert.blockHash, cert.ancestry, k.did) ??
      votesViolation(k.votesOf(cert), trust.validators, `${k.vote}s`) ??
      k.quorumViolation(cert, data, trust)
    );
  };
  const fields = k.roundFields;
  const scheme: CertificateScheme<C> = {
    kind: k.kind,
    guarantee: k.guarantee,
    encodePayload(cert) {
      const payload = [
        ...k.encodeRound(k.roundOf(cert)),
        headerFields(cert.header),
        encodeVotes(k.votesOf(cert)),
      ];
      return cert.ancestry === undefined ? payload : [...payload, [...cert.ancestry]];
    },
    decodePayload(item, height, blockHash) {
      const f = asList(item, k.kind);
      if (f.length !== fields + 2 && f.length !== fields + 3)
        throw new DecodeError(
          'MALFORMED',
          `${k.kind}: expected ${fields + 2} or ${fields + 3} fields, got ${f.length}`,
        );
      return k.assemble({
        height,
        blockHash,
        round: k.decodeRound(f.slice(0, fields)),
        header: decodeHeaderItem(f[fields]),
        votes: decodeVotes(f[fields + 1], `${k.kind}.${k.votesField}`),
        ancestry: f.length === fields + 2 ? undefined : decodeAncestry(f[fields + 2], `${k.kind}.ancestry`),
      });
    },
    verify(cert, trust) {
      if (cert.kind !== k.kind) return { ok: false, reason: `not a ${k.kind} certificate` };
      const violation = ruleViolation(cert, trust);
      if (violation !== undefined) return { ok: false, reason: violation };
      const message = k.signedMessage(
        signingDomain(trust.chainId, trust.epoch),
        k.roundOf(cert),
        cert.header.height,
        headerHash(cert.header),
      );
      const bad = badVoteSignature(k.votesOf(cert), message, trust.validators, k.vote);
      return bad === undefined ? { ok: true } : { ok: false, reason: bad };
    },
  };
  return { scheme, ruleViolation };
}
