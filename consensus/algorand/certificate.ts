/**
 * Algorand BA* commit certificates (kind `algorand-final`): proof, to a light client that trusts
 * only genesis, that block B (height h, hash H) is final.
 *
 * Payload RLP([header(D), [[validator, signature, proof]…], [ancestry…]?]):
 *  - D is the FINAL block: B itself, or (ancestry present) a final descendant of B — a block BA*
 *    agreed on only tentatively becomes final with the first final block above it;
 *  - every vote is a FINAL-step committee vote for hash(D): an ed25519 signature over
 *    voteSigningBytes(chain, D.height, period, STEP_FINAL, D.parentHash, hash(D)) (messages.ts),
 *    with the period read from D's engine data, and the validator's sortition proof (VRF, 80
 *    bytes) for that height and FINAL step, role committee, drawn with the sortition seed D's
 *    engine data names; validators in strictly increasing order (one canonical encoding, no
 *    double counting);
 *  - every proof verifies under the validator's genesis VRF key and selects j ≥ 1 of its stake
 *    units, with the genesis stake table (the validator powers) and τ_final from the genesis
 *    parameters (capped at the total stake); the sum of the j exceeds T_final·τ_final
 *    (committees(…).final.needed, params.ts);
 *  - for an ancestor, an RFC 9162 inclusion proof that H is leaf h of D's `historyRoot` (the tree
 *    of the hashes of blocks 0 … D.height − 1), as Raft's certificates do.
 *
 * What the certificate does not check: that the sortition seed is the right one. It is a value of
 * D's header, which the FINAL voters signed (they sign hash(D)), and nodes that follow the chain
 * derive it block by block (messages.ts nextSortitionSeed); an offline verifier has only genesis
 * and takes it as stated. See ALGORAND_CERT_GUARANTEE for what that costs in each mode.
 */

import { equalBytes } from '../../crypto/bytes.ts';
import { invariant } from '../../crypto/errors.ts';
import { VRF_PROOF_LENGTH } from '../../crypto/vrf.ts';
import {
  BlockError,
  type BlockHeader,
  decodeHeaderItem,
  headerFields,
  headerHash,
} from '../../ledger/block.ts';
import {
  ancestryViolation,
  badVoteSignature,
  type CertificateCheck,
  type CertificateScheme,
  type CommitCertificate,
  decodeAncestry,
  type TrustAnchor,
  votesViolation,
} from '../../ledger/certificate.ts';
import { asBytes, asList, asSafeUint, DecodeError, type RlpItem } from '../../ledger/codec.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { EngineParamsError } from '../params.ts';
import {
  ALGORAND_ENGINE,
  type AlgorandEngineData,
  decodeEngineData,
  STEP_FINAL,
  sortitionStep,
  voteSigningBytes,
} from './messages.ts';
import { ALGORAND_DEFAULTS, type AlgorandParams, algorandParams, committees } from './params.ts';
import { SortitionError, verifySortition } from './sortition.ts';

export const ALGORAND_CERT_KIND = 'algorand-final';
/** Votes one certificate may carry (at most one per validator; genesis allows 1,024 validators). */
export const ALGORAND_CERT_MAX_VOTES = 10_000;

export const ALGORAND_CERT_GUARANTEE =
  'Byzantine-fault certificate from a sortition committee (Algorand BA* FINAL step): members of the FINAL-step committee, drawn by VRF sortition from the genesis stake table, signed the block with total selected weight above T_final·τ_final (a tentative block is certified through a final descendant, with an ancestry proof). ' +
  'When τ_final ≥ the total stake the committee is every validator and this is a classic voting certificate: safe while the faulty power stays below (2·T_final − 1) of the total. ' +
  'Otherwise the committee is a sample, and the certificate is safe with overwhelming probability only under the paper’s assumption of more than 80% honest stake. ' +
  'The committee seed is the one the block header names: nodes that follow the chain check it block by block, an offline verifier takes it as stated — in sampled mode a forged seed could be ground to pick a faulty committee; in full-committee mode the seed does not change who is selected.';

export interface AlgorandFinalVote {
  readonly validator: number;
  /** ed25519 over voteSigningBytes(chain, D.height, period, STEP_FINAL, D.parentHash, hash(D)). */
  readonly signature: Uint8Array;
  /** The validator's FINAL-step sortition proof (ECVRF, 80 bytes). */
  readonly proof: Uint8Array;
}

export interface AlgorandCertificate extends CommitCertificate {
  readonly kind: typeof ALGORAND_CERT_KIND;
  /** D: the header of the FINAL block (the certified block or a final descendant). */
  readonly header: BlockHeader;
  /** Strictly increasing validator index. */
  readonly votes: readonly AlgorandFinalVote[];
  /** Present when the certified block is an ancestor of D: its inclusion proof in D's historyRoot. */
  readonly ancestry?: readonly Uint8Array[];
}

/** The certificate of block (`height`, `blockHash`) from FINAL votes for D (`header`); `ancestry` below D. */
export function algorandCertificate(
  header: BlockHeader,
  votes: readonly AlgorandFinalVote[],
  height: number,
  blockHash: Uint8Array,
  ancestry?: readonly Uint8Array[],
): AlgorandCertificate {
  const base = { kind: ALGORAND_CERT_KIND, height, blockHash, header, votes } as const;
  return ancestry === undefined ? base : { ...base, ancestry };
}

function fail(reason: string): CertificateCheck {
  return { ok: false, reason };
}

function decodeFinalVotes(item: RlpItem | undefined, what: string): AlgorandFinalVote[] {
  const items = asList(item, what);
  if (items.length > ALGORAND_CERT_MAX_VOTES)
    throw new DecodeError('MALFORMED', `${what}: more than ${ALGORAND_CERT_MAX_VOTES} votes`);
  return items.map((v, i) => {
    const f = asList(v, `${what}[${i}]`, 3);
    return {
      validator: asSafeUint(f[0], `${what}[${i}].validator`),
      signature: asBytes(f[1], `${what}[${i}].signature`, { length: 64 }),
      proof: asBytes(f[2], `${what}[${i}].proof`, { length: VRF_PROOF_LENGTH }),
    };
  });
}

/**
 * The Algorand parameters of the trusted genesis. A trust anchor without engine parameters (one
 * not built by genesis.ts trustAnchor) is checked with the defaults, ALGORAND_DEFAULTS.
 */
function trustedParams(trust: TrustAnchor): AlgorandParams | string {
  if (trust.engineParams === undefined) return ALGORAND_DEFAULTS;
  try {
    return algorandParams(trust.engineParams);
  } catch (e) {
    if (!(e instanceof EngineParamsError)) throw e;
    return `the trusted genesis parameters are not Algorand's: ${e.message}`;
  }
}

export const algorandCertificateScheme: CertificateScheme<AlgorandCertificate> = {
  kind: ALGORAND_CERT_KIND,
  guarantee: ALGORAND_CERT_GUARANTEE,
  encodePayload(cert) {
    const payload = [headerFields(cert.header), cert.votes.map((v) => [v.validator, v.signature, v.proof])];
    return cert.ancestry === undefined ? payload : [...payload, [...cert.ancestry]];
  },
  decodePayload(item, height, blockHash) {
    const f = asList(item, ALGORAND_CERT_KIND);
    if (f.length !== 2 && f.length !== 3)
      throw new DecodeError('MALFORMED', `${ALGORAND_CERT_KIND}: expected 2 or 3 fields, got ${f.length}`);
    let header: BlockHeader;
    try {
      header = decodeHeaderItem(f[0]);
    } catch (e) {
      if (!(e instanceof BlockError)) throw e;
      throw new DecodeError('MALFORMED', `${ALGORAND_CERT_KIND}.header: ${e.message}`);
    }
    const votes = decodeFinalVotes(f[1], `${ALGORAND_CERT_KIND}.votes`);
    const base = algorandCertificate(header, votes, height, blockHash);
    return f.length === 2
      ? base
      : { ...base, ancestry: decodeAncestry(f[2], `${ALGORAND_CERT_KIND}.ancestry`) };
  },
  verify(cert, trust) {
    if (cert.kind !== ALGORAND_CERT_KIND) return fail(`not an ${ALGORAND_CERT_KIND} certificate`);
    const d = cert.header;
    const { validators } = trust;
    if (d.chainId !== trust.chainId) return fail(`final header is for chain "${d.chainId}"`);
    if (!equalBytes(d.validatorsHash, validators.hash)) return fail('final header has another validator set');
    if (d.engine !== ALGORAND_ENGINE) return fail(`final header is from engine "${d.engine}"`);
    let data: AlgorandEngineData;
    try {
      data = decodeEngineData(d.engineData);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      return fail(`final header engine data: ${e.message}`);
    }
    const structural =
      ancestryViolation(d, cert.height, cert.blockHash, cert.ancestry, 'final') ??
      votesViolation(cert.votes, validators, 'final votes');
    if (structural !== undefined) return fail(structural);
    const noVrf = validators.validators.filter((v) => v.vrfPublicKey === undefined);
    if (noVrf.length > 0)
      return fail(`no VRF key in the trusted validator set for ${noVrf.map((v) => v.name).join(', ')}`);
    const params = trustedParams(trust);
    if (typeof params === 'string') return fail(params);
    const { final } = committees(params, validators);

    const message = voteSigningBytes(
      signingDomain(trust.chainId, trust.epoch),
      d.height,
      data.period,
      STEP_FINAL,
      d.parentHash,
      headerHash(d),
    );
    const badSignature = badVoteSignature(cert.votes, message, validators, 'final vote');
    if (badSignature !== undefined) return fail(badSignature);

    const ctx = {
      seed: data.sortitionSeed,
      round: d.height,
      step: sortitionStep(data.period, STEP_FINAL),
      role: 'committee',
    } as const;
    let weight = 0;
    for (const vote of cert.votes) {
      const v = validators.at(vote.validator);
      invariant(
        v !== undefined && v.vrfPublicKey !== undefined,
        'votesViolation and the VRF-key check establish a known validator with a VRF key',
      );
      const who = `validator ${vote.validator} (${v.name})`;
      let j: number;
      try {
        j = verifySortition(v.vrfPublicKey, vote.proof, ctx, {
          stake: v.power,
          totalStake: validators.totalPower,
          expectedSize: final.expectedSize,
        }).j;
      } catch (e) {
        if (!(e instanceof SortitionError)) throw e;
        return fail(`FINAL sortition of ${who} at height ${d.height}, period ${data.period}: ${e.message}`);
      }
      if (j === 0)
        return fail(
          `${who} was not selected for the FINAL committee of height ${d.height}, period ${data.period}`,
        );
      weight += j;
    }
    if (weight < final.needed)
      return fail(
        `FINAL votes carry committee weight ${weight}; need ${final.needed} (more than ${final.numerator}/${final.denominator} of τ_final ${final.expectedSize})`,
      );
    return { ok: true };
  },
};
