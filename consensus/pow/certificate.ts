/**
 * The Proof-of-Work commit certificate: the header chain that buries a block k deep — what a
 * Bitcoin SPV client checks. Payload: [header of the block, header of its child, … k more]. The
 * verifier checks that the first header hashes to the certified block, that each next header
 * links to the one before, meets its own target, carries the target the ASERT rule gives for its
 * parent (anchored at genesis: the trust anchor's genesis time and engine parameters), and adds
 * its work to the cumulative work. Nothing is signed: the proof is the work.
 *
 * What it promises is probabilistic, and the verifier says so: an attacker who wants to replace
 * the block must mine a heavier branch from below it; with less than half the hash power the
 * chance falls exponentially with k (Nakamoto 2008, §11). A light client that trusts only genesis
 * cannot tell an honest burying chain from one an attacker mined in private at the difficulty the
 * rule allowed — which is why it prints the work it verified, not just "valid".
 */
import { toHex } from '../../crypto/bytes.ts';
import { type BlockHeader, decodeHeaderItem, headerFields, headerHash } from '../../ledger/block.ts';
import type {
  CertificateCheck,
  CertificateScheme,
  CommitCertificate,
  TrustAnchor,
} from '../../ledger/certificate.ts';
import { asList, DecodeError } from '../../ledger/codec.ts';
import { parsePowParams } from './params.ts';
import { ancestorOf, decodePowData, POW_ENGINE, powHeaderFault, retargetRule } from './rules.ts';
import { decodeCompact, workOf } from './target.ts';

export const POW_CERT_KIND = 'pow-confirmations';
/** k is at most 100 (params.ts): the certified header and k above it. */
const MAX_HEADERS = 101;

export const POW_CERT_GUARANTEE =
  "probabilistic finality: the block is buried under k headers of proof of work, each checked against its target and the ASERT retarget rule anchored at genesis; no signature is involved — replacing the block takes out-mining that work, and an attacker with less than half the hash power succeeds with a probability that falls exponentially in k (Nakamoto 2008, §11). It proves that this much work was spent on the block, not that the block is on the network's heaviest chain: compare the work printed with what the network mines";

export interface PowCertificate extends CommitCertificate {
  readonly kind: typeof POW_CERT_KIND;
  /** The certified header first, then the k headers mined on top of it. */
  readonly headers: readonly BlockHeader[];
}

const fail = (reason: string): CertificateCheck => ({ ok: false, reason });

/** Confirmations (headers above the block) and the work they add: call on a certificate that verified. */
export function burialOf(cert: PowCertificate): { confirmations: number; work: bigint } {
  let work = 0n;
  for (const h of cert.headers.slice(1)) work += workOf(decodeCompact(decodePowData(h.engineData).bits));
  return { confirmations: cert.headers.length - 1, work };
}

export const powCertificateScheme: CertificateScheme<PowCertificate> = {
  kind: POW_CERT_KIND,
  guarantee: POW_CERT_GUARANTEE,
  encodePayload: (cert) => cert.headers.map(headerFields),
  decodePayload(item, height, blockHash) {
    const f = asList(item, POW_CERT_KIND);
    if (f.length < 2 || f.length > MAX_HEADERS)
      throw new DecodeError(
        'MALFORMED',
        `${POW_CERT_KIND}: expected 2…${MAX_HEADERS} headers, got ${f.length}`,
      );
    return { kind: POW_CERT_KIND, height, blockHash, headers: f.map((h) => decodeHeaderItem(h)) };
  },
  verify(cert, trust: TrustAnchor) {
    if (cert.kind !== POW_CERT_KIND) return fail(`not a ${POW_CERT_KIND} certificate`);
    if (trust.engineParams === undefined || trust.genesisTimeMs === undefined)
      return fail('the trust anchor lacks the genesis engine parameters and time the retarget rule needs');
    const params = parsePowParams(trust.engineParams);
    const rule = retargetRule(params, trust.genesisTimeMs);
    const [first] = cert.headers;
    if (
      first === undefined ||
      toHex(headerHash(first)) !== toHex(cert.blockHash) ||
      first.height !== cert.height
    )
      return fail('the first header is not the certified block');
    if (cert.headers.length - 1 < params.confirmations)
      return fail(`${cert.headers.length - 1} confirmations, the chain requires ${params.confirmations}`);
    let parent: BlockHeader | undefined;
    let parentHash: Uint8Array | undefined;
    for (const h of cert.headers) {
      const hash = headerHash(h);
      if (h.chainId !== trust.chainId) return fail(`header ${h.height} is for chain "${h.chainId}"`);
      if (h.engine !== POW_ENGINE) return fail(`header ${h.height} is not a pow header`);
      if (parentHash !== undefined && toHex(h.parentHash) !== toHex(parentHash))
        return fail(`header ${h.height} does not link to the header before it`);
      // The certified header's own target is checked against its bits only (its parent is not in
      // the certificate); every confirmation's target is checked against the retarget rule.
      const fault = powHeaderFault(h, hash, parent === undefined ? undefined : ancestorOf(parent), rule);
      if (fault !== undefined) return fail(`header ${h.height}: ${fault}`);
      parent = h;
      parentHash = hash;
    }
    const { confirmations, work } = burialOf(cert);
    return {
      ok: true,
      verified: `${confirmations} confirmations; ${work} expected hashes of work above the block (about 2^${Math.log2(Number(work)).toFixed(1)})`,
    };
  },
};
