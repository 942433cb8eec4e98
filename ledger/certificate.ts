/**
 * Commit certificates: the proof that a block is committed, checked by one function given the
 * trusted validator set. Each engine family contributes a `CertificateScheme` (ed25519 vote
 * quorum here; BLS aggregate / threshold, PoW, sortition in their engines). Schemes are passed
 * explicitly — there is no global registry to mutate — so a verifier knows exactly what it accepts.
 *
 * Wire form: RLP([kind, payload]), the payload's shape belongs to the scheme.
 */

import { concatBytes, equalBytes, fromUtf8, utf8 } from '../crypto/bytes.ts';
import { ed25519 } from '../crypto/ed25519.ts';
import { onlyTyped, VerityError } from '../crypto/errors.ts';
import { type BlockHeader, headerHash } from './block.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  DecodeError,
  type RlpInput,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from './codec.ts';
import type { EngineParams } from './genesis.ts';
import { leafHash, verifyInclusion } from './log/index.ts';
import { signingDomain } from './signing-domain.ts';
import type { ValidatorSet } from './validators.ts';

export const MAX_CERTIFICATE_BYTES = 256 * 1024;
/** Votes one certificate may carry. */
const MAX_VOTES = 10_000;
/** An inclusion proof in a tree of < 2^53 leaves has at most 53 hashes. */
export const MAX_ANCESTRY_HASHES = 64;

export interface CommitCertificate {
  readonly kind: string;
  readonly height: number;
  readonly blockHash: Uint8Array;
}

/** What a verifier trusts: everything comes from the genesis file. */
export interface TrustAnchor {
  readonly chainId: string;
  readonly validators: ValidatorSet;
  /** Threshold-BLS group key dealt at genesis (HotStuff threshold mode), if any. */
  readonly thresholdGroupPublicKey?: Uint8Array;
  /**
   * The genesis engine parameters, for schemes whose thresholds depend on them (Algorand's
   * committee sizes and T_final). Optional: anchors built without a genesis leave it out.
   */
  readonly engineParams?: EngineParams;
  /**
   * The epoch of the certified block, on a chain whose set changes: `validators` is that epoch's
   * set and every signature is in its domain (ledger/signing-domain.ts). Absent: epoch 0.
   */
  readonly epoch?: number;
  /**
   * Blocks per epoch, on a chain whose set changes (genesis `staking`): a light client walks the
   * sets of later epochs from genesis through certified epoch transitions (bundle.ts, version 2).
   */
  readonly epochLength?: number;
  /**
   * Blocks within which a light client may trust a set it learned to certify a later header by
   * more than 1/3 of that set's power (skipping verification); shorter than the unbonding period,
   * so the signers' stake is still slashable. Absent: no skipping.
   */
  readonly trustingPeriod?: number;
  /**
   * The genesis block's timestamp (ms): schemes whose rules count from genesis (Proof of Work's
   * ASERT retarget) need it to check a header's difficulty.
   */
  readonly genesisTimeMs?: number;
}

export type CertificateCheck =
  /**
   * `verified`: what the check measured, when the guarantee depends on a quantity (Proof of Work:
   * the confirmations and the work that bury the block), for a verifier to print beside it.
   */
  { readonly ok: true; readonly verified?: string } | { readonly ok: false; readonly reason: string };

export interface CertificateScheme<C extends CommitCertificate = CommitCertificate> {
  readonly kind: string;
  /**
   * What a valid certificate of this kind proves and what that rests on — a fault model, not just
   * "valid": every verifier prints it next to its verdict.
   */
  readonly guarantee: string;
  encodePayload(cert: C): RlpInput;
  decodePayload(item: RlpItem, height: number, blockHash: Uint8Array): C;
  /** Checks the certificate's own evidence (signatures, quorum) for `cert.blockHash` at `cert.height`. */
  verify(cert: C, trust: TrustAnchor): CertificateCheck;
  /**
   * The validators (indices into the set that signed) whose signatures the certificate carries,
   * when its form names them: what a light client's skipping verification counts against a set it
   * trusts (bundle.ts). Undefined: the scheme cannot say (a threshold signature), so no skipping.
   */
  signers?(cert: C): readonly number[] | undefined;
}

export type CertificateSchemes = ReadonlyMap<string, CertificateScheme>;

export class CertificateError extends VerityError<'CERT_MALFORMED' | 'CERT_UNKNOWN_KIND'> {}

export function schemeSet(...schemes: CertificateScheme[]): CertificateSchemes {
  return new Map(schemes.map((s) => [s.kind, s]));
}

export function encodeCertificate(cert: CommitCertificate, schemes: CertificateSchemes): Uint8Array {
  const scheme = schemes.get(cert.kind);
  if (scheme === undefined)
    throw new CertificateError('CERT_UNKNOWN_KIND', `unknown certificate kind ${cert.kind}`);
  return rlpEncode([utf8(cert.kind), cert.height, cert.blockHash, scheme.encodePayload(cert)]);
}

export function decodeCertificate(bytes: Uint8Array, schemes: CertificateSchemes): CommitCertificate {
  try {
    const f = asList(rlpDecodeStrict(bytes, MAX_CERTIFICATE_BYTES, 'certificate'), 'certificate', 4);
    const kind = fromUtf8(asBytes(f[0], 'certificate.kind', { max: 32 }));
    const scheme = schemes.get(kind);
    if (scheme === undefined)
      throw new CertificateError('CERT_UNKNOWN_KIND', `unknown certificate kind "${kind}"`);
    const height = asSafeUint(f[1], 'certificate.height');
    const blockHash = asBytes(f[2], 'certificate.blockHash', { length: 32 });
    return scheme.decodePayload(f[3] as RlpItem, height, blockHash);
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError('CERT_MALFORMED', `certificate: ${onlyTyped(e).message}`);
  }
}

/** Full check: the certificate is for exactly this header, and its evidence verifies. */
export function verifyCertificate(
  cert: CommitCertificate,
  header: BlockHeader,
  trust: TrustAnchor,
  schemes: CertificateSchemes,
): CertificateCheck {
  const scheme = schemes.get(cert.kind);
  if (scheme === undefined) return { ok: false, reason: `unknown certificate kind "${cert.kind}"` };
  if (header.chainId !== trust.chainId)
    return { ok: false, reason: `header is for chain "${header.chainId}"` };
  if (!equalBytes(header.validatorsHash, trust.validators.hash)) {
    return { ok: false, reason: 'header validatorsHash does not match the trusted validator set' };
  }
  if (cert.height !== header.height) {
    return { ok: false, reason: `certificate is for height ${cert.height}, header is ${header.height}` };
  }
  if (!equalBytes(cert.blockHash, headerHash(header))) {
    return { ok: false, reason: 'certificate is for a different block hash' };
  }
  return scheme.verify(cert, trust);
}

// ---------------------------------------------------------------------------------------------
// ed25519 vote quorum: > 2/3 of voting power signed the same commit vote.

const COMMIT_VOTE_DOMAIN = concatBytes(utf8('verity-commit-v1'), new Uint8Array([0]));

/**
 * The message a validator signs to commit `blockHash` at `height` in `round` (Tendermint's
 * precommit, PBFT's COMMIT with view = round). Engines sign exactly these bytes, so one verifier
 * checks every ed25519-quorum certificate.
 */
export function commitVoteBytes(
  chainId: string,
  height: number,
  round: number,
  blockHash: Uint8Array,
): Uint8Array {
  return concatBytes(COMMIT_VOTE_DOMAIN, rlpEncode([utf8(chainId), height, round, blockHash]));
}

export interface QuorumVote {
  readonly validator: number;
  readonly signature: Uint8Array;
}

export interface QuorumCertificate extends CommitCertificate {
  readonly kind: 'ed25519-quorum';
  readonly round: number;
  /** Strictly increasing validator index: one canonical encoding, no double counting. */
  readonly votes: readonly QuorumVote[];
}

// ---------------------------------------------------------------------------------------------
// Pieces every scheme made of signed votes shares (ed25519 quorums here; Raft's and Multi-Paxos's
// acknowledgements): the votes' wire form, their order and signers, and the proof that a block is
// an ancestor of the block the votes are about.

export function encodeVotes(votes: readonly QuorumVote[]): RlpInput {
  return votes.map((v) => [v.validator, v.signature]);
}

/**
 * Strictly: [[validator, 64-byte signature]…], at most MAX_VOTES. Certificates check order and
 * signers when verified (votesViolation); `ordered` refuses, at decode, votes out of strictly
 * increasing validator order and an empty list — what a commit proof in a message must be.
 */
export function decodeVotes(
  item: RlpItem | undefined,
  what: string,
  o: { ordered?: boolean } = {},
): QuorumVote[] {
  const items = asList(item, what);
  if (items.length > MAX_VOTES) throw new DecodeError('MALFORMED', `${what}: too many votes`);
  if (o.ordered && items.length === 0) throw new DecodeError('MALFORMED', `${what}: no votes`);
  let last = -1;
  return items.map((v, i) => {
    const pair = asList(v, `${what}[${i}]`, 2);
    const validator = asSafeUint(pair[0], `${what}[${i}].validator`);
    if (o.ordered && validator <= last)
      throw new DecodeError('MALFORMED', `${what}: not in strictly increasing validator order`);
    last = validator;
    return { validator, signature: asBytes(pair[1], `${what}[${i}].signature`, { length: 64 }) };
  });
}

/**
 * Why the votes cannot count (undefined when they can): out of strictly increasing validator
 * order (one canonical encoding, no double counting), or from a validator the set does not have.
 * `noun` names them in the reason ("votes", "acknowledgements"…).
 */
export function votesViolation(
  votes: readonly QuorumVote[],
  validators: ValidatorSet,
  noun: string,
): string | undefined {
  let last = -1;
  for (const vote of votes) {
    if (vote.validator <= last) return `${noun} are not in strictly increasing validator order`;
    last = vote.validator;
    if (validators.at(vote.validator) === undefined)
      return `${noun.replace(/s$/, '')} from unknown validator index ${vote.validator}`;
  }
  return undefined;
}

/** The first vote whose signature over `message` does not verify, as a reason; else undefined. */
export function badVoteSignature(
  votes: readonly QuorumVote[],
  message: Uint8Array,
  validators: ValidatorSet,
  noun: string,
): string | undefined {
  for (const vote of votes) {
    const v = validators.at(vote.validator);
    if (v === undefined || !ed25519.verify(vote.signature, message, v.publicKey))
      return `bad ${noun} signature from validator ${vote.validator} (${v?.name ?? '?'})`;
  }
  return undefined;
}

export function decodeAncestry(item: RlpItem | undefined, what: string): Uint8Array[] {
  const proof = asList(item, what);
  if (proof.length === 0 || proof.length > MAX_ANCESTRY_HASHES)
    throw new DecodeError('MALFORMED', `${what}: 1..${MAX_ANCESTRY_HASHES} hashes`);
  return proof.map((p, i) => asBytes(p, `${what}[${i}]`, { length: 32 }));
}

/**
 * Whether block (`height`, `blockHash`) is `d` itself or — with `ancestry`, an RFC 9162 inclusion
 * proof — leaf `height` of d's `historyRoot` (the hashes of blocks 0 … d.height − 1): a reason
 * when it is neither, else undefined. Certificates prove ancestors through a descendant this way,
 * in O(log d.height) hashes whatever the distance.
 */
export function ancestryViolation(
  d: BlockHeader,
  height: number,
  blockHash: Uint8Array,
  ancestry: readonly Uint8Array[] | undefined,
  noun: string,
): string | undefined {
  if (ancestry === undefined)
    return d.height === height && equalBytes(headerHash(d), blockHash)
      ? undefined
      : `the ${noun} block is not the certified block`;
  if (d.height <= height) return `ancestry proof through block ${d.height}, not above ${height}`;
  if (!verifyInclusion(leafHash(blockHash), height, d.height, ancestry, d.historyRoot))
    return `block is not in the history of block ${d.height}`;
  return undefined;
}

export const ed25519QuorumScheme: CertificateScheme<QuorumCertificate> = {
  kind: 'ed25519-quorum',
  guarantee:
    'Byzantine-fault certificate: validators holding more than 2/3 of the power signed this block; no conflicting block can be certified unless more than 1/3 of the power is faulty',
  encodePayload(cert) {
    return [cert.round, encodeVotes(cert.votes)];
  },
  decodePayload(item, height, blockHash) {
    const f = asList(item, 'quorum', 2);
    const votes = decodeVotes(f[1], 'quorum.votes');
    return { kind: 'ed25519-quorum', height, blockHash, round: asSafeUint(f[0], 'quorum.round'), votes };
  },
  signers(cert) {
    return cert.votes.map((v) => v.validator);
  },
  verify(cert, trust) {
    const { validators } = trust;
    const message = commitVoteBytes(
      signingDomain(trust.chainId, trust.epoch),
      cert.height,
      cert.round,
      cert.blockHash,
    );
    const bad =
      votesViolation(cert.votes, validators, 'votes') ??
      badVoteSignature(cert.votes, message, validators, 'vote');
    if (bad !== undefined) return { ok: false, reason: bad };
    const power = validators.powerOf(cert.votes.map((v) => v.validator));
    if (power < validators.quorumPower) {
      return {
        ok: false,
        reason: `signers hold ${power} of ${validators.totalPower} power; need ${validators.quorumPower}`,
      };
    }
    return { ok: true };
  },
};

/** The schemes the ledger itself knows; engines extend the set. */
export const LEDGER_CERTIFICATE_SCHEMES: CertificateSchemes = schemeSet(
  ed25519QuorumScheme as unknown as CertificateScheme,
);
