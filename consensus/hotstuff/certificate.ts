/**
 * HotStuff commit certificates for the ledger: proof, to a light client that trusts only genesis,
 * that block B (height h, hash H) is COMMITTED — not merely certified.
 *
 * Payload RLP([[header₁ … headerₖ], qc]): the headers of B's descendants h+1 … h+k, child first,
 * and the QC of the last one. What `verify` checks:
 *  1. links: header₁.parentHash = H, headerᵢ₊₁.parentHash = hash(headerᵢ), heights consecutive;
 *     every header is for this chain, this validator set and the hotstuff engine;
 *  2. every header's engine data: its justify QC is for its parent (same hash) and the justify of
 *     headerᵢ₊₁ has headerᵢ's view; all headers declare the same commit rule `chain` ∈ {2, 3}
 *     (honest validators vote only for blocks declaring their own rule, and the last header is
 *     certified, so the declared rule is the chain's);
 *  3. the commit rule on the top of the chain, with consecutive views:
 *       chain 3:  X ← Y ← Z with view(Z) = view(Y) + 1 = view(X) + 2 and QC(Z)  (HotStuff)
 *       chain 2:  Y ← Z     with view(Z) = view(Y) + 1               and QC(Z)  (Jolteon)
 *     where X (or Y) may be B itself; the rule commits X (Y) and with it every ancestor — B;
 *  4. the QCs of that rule — QC(X) in Y's header, QC(Y) in Z's header and the final QC(Z) — in
 *     ONE multi-pairing: aggregateVerify over (aggregated signer key or group key, vote message)
 *     pairs with the sum of the signatures (messages differ: the views are distinct).
 * Size: k = chain − 1 headers (≈ 500–700 bytes each) + one QC.
 *
 * A block committed as an ANCESTOR of the rule's block T (every block between the committed head
 * and T commits with T) is proven through T instead: payload RLP([[T, header₁ … headerₖ], qc,
 * ancestry]) — T's own commit proof as above, plus an RFC 9162 inclusion proof that B's hash is
 * leaf h of T's `historyRoot` (the tree of the hashes of blocks 0 … T.height − 1). Its size is
 * O(log T.height) whatever the distance from B to T: after a long stretch of certified but
 * uncommitted blocks (views whose QCs never came in consecutive pairs) every block still gets a
 * certificate of a few kilobytes, and a light client checks it the same way.
 *
 * Two kinds: `hotstuff-bls-aggregate` (QCs carry a signer bitmap, > 2/3 of the power) and
 * `hotstuff-bls-threshold` (QCs are threshold signatures under the genesis group key).
 */

import { bls } from '../../crypto/bls/index.ts';
import { equalBytes } from '../../crypto/bytes.ts';
import { onlyTyped } from '../../crypto/errors.ts';
import { type BlockHeader, decodeHeaderItem, headerFields, headerHash } from '../../ledger/block.ts';
import {
  ancestryViolation,
  type CertificateScheme,
  type CommitCertificate,
  decodeAncestry,
  type TrustAnchor,
} from '../../ledger/certificate.ts';
import { asList, DecodeError } from '../../ledger/codec.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { decodeEngineData, type EngineData } from './messages.ts';
import {
  bitmapIndices,
  decodeQcItem,
  encodeQcItem,
  modeTag,
  type PairingInput,
  type QcMode,
  type QcTrust,
  type QuorumCert,
  qcPairingInput,
} from './qc.ts';

export const AGGREGATE_KIND = 'hotstuff-bls-aggregate';
export const THRESHOLD_KIND = 'hotstuff-bls-threshold';
/** Headers one certificate carries: at most the ancestor-proof's T plus a 3-chain's two. */
export const MAX_CERT_HEADERS = 3;

export interface HotStuffCertificate extends CommitCertificate {
  readonly kind: typeof AGGREGATE_KIND | typeof THRESHOLD_KIND;
  readonly headers: readonly BlockHeader[];
  readonly qc: QuorumCert;
  /**
   * Present when the block is committed as an ancestor of `headers[0]` (T): the inclusion proof
   * of the block's hash at index `height` in T's `historyRoot`; `headers[1…]` then prove T.
   */
  readonly ancestry?: readonly Uint8Array[];
}

export function certificateKind(mode: QcMode): HotStuffCertificate['kind'] {
  return mode === 'aggregate' ? AGGREGATE_KIND : THRESHOLD_KIND;
}

function fail(reason: string): { ok: false; reason: string } {
  return { ok: false, reason };
}

/** Structural and rule checks; returns the QCs to verify, or a reason. */
export function commitProofQcs(
  cert: HotStuffCertificate,
  trust: { chainId: string; validatorsHash: Uint8Array },
  mode: QcMode,
): QuorumCert[] | string {
  const tag = modeTag(mode);
  if (cert.headers.length === 0 || cert.headers.length > MAX_CERT_HEADERS)
    return `a certificate carries 1..${MAX_CERT_HEADERS} headers`;
  const wrongChain = (h: BlockHeader, i: number): string | undefined => {
    if (h.chainId !== trust.chainId) return `header ${i} is for chain "${h.chainId}"`;
    if (!equalBytes(h.validatorsHash, trust.validatorsHash)) return `header ${i} has another validator set`;
    if (h.engine !== 'hotstuff') return `header ${i} is from engine "${h.engine}"`;
    return undefined;
  };
  // The block the commit rule is about: the certified block itself, or (ancestor proof) T.
  let base = { height: cert.height, hash: cert.blockHash };
  let headers = cert.headers;
  if (cert.ancestry !== undefined) {
    const t = headers[0] as BlockHeader;
    const bad = wrongChain(t, 0);
    if (bad !== undefined) return bad;
    const unproven = ancestryViolation(t, cert.height, cert.blockHash, cert.ancestry, 'certified');
    if (unproven !== undefined) return unproven;
    base = { height: t.height, hash: headerHash(t) };
    headers = headers.slice(1);
    if (headers.length === 0) return 'an ancestor proof needs the commit proof of its descendant';
  }
  const data: EngineData[] = [];
  let parentHash = base.hash;
  for (const [i, h] of headers.entries()) {
    const bad = wrongChain(h, i);
    if (bad !== undefined) return bad;
    if (h.height !== base.height + i + 1) return `header ${i} has height ${h.height}`;
    if (!equalBytes(h.parentHash, parentHash)) return `header ${i} does not extend the previous block`;
    let d: EngineData;
    try {
      d = decodeEngineData(h.engineData);
    } catch (e) {
      return `header ${i}: ${onlyTyped(e).message}`;
    }
    if (!equalBytes(d.justify.blockHash, h.parentHash))
      return `header ${i}: justify QC is not for its parent`;
    if (d.justify.tag !== tag) return `header ${i}: justify QC is not a ${mode} certificate`;
    const prev = data[i - 1];
    if (prev !== undefined && d.justify.view !== prev.view)
      return `header ${i}: justify view ${d.justify.view} is not its parent’s view ${prev.view}`;
    if (prev !== undefined && d.chain !== prev.chain) return 'headers declare different commit rules';
    data.push(d);
    parentHash = headerHash(h);
  }
  const k = headers.length;
  const top = data[k - 1] as EngineData;
  const qc = cert.qc;
  if (qc.tag !== tag) return `final QC is not a ${mode} certificate`;
  if (!equalBytes(qc.blockHash, parentHash)) return 'final QC is not for the last header';
  if (qc.view !== top.view) return `final QC view ${qc.view} is not the last header’s view ${top.view}`;
  if (top.chain === 2) {
    // Y ← Z, QC(Z): Y = parent of Z (header k−1, or the certified block when k = 1).
    if (top.view !== top.justify.view + 1) return 'two-chain views are not consecutive';
    return [top.justify, qc];
  }
  if (k < 2) return 'a three-chain certificate needs at least two descendant headers';
  const mid = data[k - 2] as EngineData;
  if (top.view !== mid.view + 1 || mid.view !== mid.justify.view + 1)
    return 'three-chain views are not consecutive';
  return [mid.justify, top.justify, qc];
}

/** One multi-pairing over every QC's (key, message, signature). */
export function verifyQcsBatch(
  qcs: readonly QuorumCert[],
  t: QcTrust,
): { ok: true } | { ok: false; reason: string } {
  const inputs: PairingInput[] = [];
  for (const qc of qcs) {
    if (qc.view === 0) return fail('a commit proof cannot rest on the genesis QC');
    const input = qcPairingInput(qc, t);
    if (typeof input === 'string') return fail(input);
    inputs.push(input);
  }
  let signature: Uint8Array;
  try {
    signature = bls.aggregateSignatures(inputs.map((i) => i.signature));
  } catch {
    return fail('a QC signature is not a valid G2 point');
  }
  const ok = bls.aggregateVerify(
    inputs.map((i) => i.publicKey),
    inputs.map((i) => i.message),
    signature,
  );
  return ok ? { ok: true } : fail('QC signatures do not verify');
}

function scheme(mode: QcMode): CertificateScheme<HotStuffCertificate> {
  const kind = certificateKind(mode);
  return {
    kind,
    guarantee: `Byzantine-fault certificate: ${mode === 'threshold' ? 'a BLS threshold signature of more than 2/3 of the validators' : 'a BLS aggregate signature of validators holding more than 2/3 of the power'} on a HotStuff commit rule over this block; no conflicting block can commit unless more than 1/3 of the power is faulty`,
    encodePayload(cert) {
      const payload = [cert.headers.map(headerFields), encodeQcItem(cert.qc)];
      return cert.ancestry === undefined ? payload : [...payload, [...cert.ancestry]];
    },
    decodePayload(item, height, blockHash) {
      const f = asList(item, kind);
      if (f.length !== 2 && f.length !== 3)
        throw new DecodeError('MALFORMED', `${kind}: expected 2 or 3 fields, got ${f.length}`);
      const items = asList(f[0], `${kind}.headers`);
      if (items.length === 0 || items.length > MAX_CERT_HEADERS)
        throw new DecodeError('MALFORMED', `${kind}: 1..${MAX_CERT_HEADERS} headers`);
      const headers = items.map((h) => decodeHeaderItem(h));
      const qc = decodeQcItem(f[1], `${kind}.qc`);
      if (qc.tag !== modeTag(mode)) throw new DecodeError('MALFORMED', `${kind}: QC of another kind`);
      if (f.length === 2) return { kind, height, blockHash, headers, qc };
      return { kind, height, blockHash, headers, qc, ancestry: decodeAncestry(f[2], `${kind}.ancestry`) };
    },
    // Aggregate QCs name their signers in a bitmap (over the set that signed); a threshold
    // signature does not say whose shares it combined.
    signers(cert) {
      if (mode !== 'aggregate') return undefined;
      return bitmapIndices(cert.qc.signers, cert.qc.signers.length * 8) ?? undefined;
    },
    verify(cert, trust: TrustAnchor) {
      if (cert.kind !== kind) return fail(`not a ${kind} certificate`);
      if (mode === 'threshold' && trust.thresholdGroupPublicKey === undefined)
        return fail('the trust anchor has no threshold group key');
      const qcs = commitProofQcs(
        cert,
        { chainId: trust.chainId, validatorsHash: trust.validators.hash },
        mode,
      );
      if (typeof qcs === 'string') return fail(qcs);
      return verifyQcsBatch(qcs, {
        chainId: signingDomain(trust.chainId, trust.epoch),
        validators: trust.validators,
        mode,
        ...(trust.thresholdGroupPublicKey === undefined
          ? {}
          : { groupPublicKey: trust.thresholdGroupPublicKey }),
      });
    },
  };
}

export const hotstuffAggregateScheme: CertificateScheme<HotStuffCertificate> = scheme('aggregate');
export const hotstuffThresholdScheme: CertificateScheme<HotStuffCertificate> = scheme('threshold');
