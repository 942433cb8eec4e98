/**
 * The Proof-of-Stake commit certificate: the finality proof of the checkpoint at or above the
 * block, and the headers that link the block up to that checkpoint's root.
 *
 * Payload: [[header…], justify, finalize] — the certified block's header first, each next one its
 * child, the last the root of checkpoint C; `justify` an FFG aggregate of a link to C, `finalize`
 * one from C to the checkpoint of the next epoch. Each aggregate must verify (one pairing: fast
 * aggregate verify under the signers' BLS keys, in the epoch's signing domain) and its signers
 * must hold more than 2/3 of the stake (less after a long stall: the inactivity leak, leak.ts).
 *
 * What it promises (Casper FFG's accountable safety): a conflicting block can only be certified
 * the same way if validators holding at least 1/3 of the stake signed two votes that break a
 * slashing rule — and those votes convict them. It does not show that C's source was justified
 * (a light client does not walk the chain of justifications): with more than 1/3 of the stake
 * Byzantine, the signers could finalize anything, as with any BFT certificate.
 */

import { toHex } from '../../crypto/bytes.ts';
import { onlyTyped } from '../../crypto/errors.ts';
import { type BlockHeader, decodeHeaderItem, headerFields, headerHash } from '../../ledger/block.ts';
import type {
  CertificateCheck,
  CertificateScheme,
  CommitCertificate,
  TrustAnchor,
} from '../../ledger/certificate.ts';
import { asList, DecodeError } from '../../ledger/codec.ts';
import { signingDomain } from '../../ledger/signing-domain.ts';
import { aggregateSigners, verifyFfg } from './ffg.ts';
import { describeQuorum, linkQuorum, spanEpochs } from './leak.ts';
import { parsePosParams } from './params.ts';
import {
  checkpointId,
  decodeAggregateItem,
  decodePosData,
  encodeAggregateItem,
  type FfgAggregate,
  POS_ENGINE,
} from './rules.ts';

export const POS_CERT_KIND = 'pos-finality';
/** Headers from a block up to the finalized checkpoint's root, at most. */
export const MAX_CERT_HEADERS = 4096;

export const POS_CERT_GUARANTEE =
  "Casper FFG finality: validators holding more than 2/3 of the stake signed a link justifying the checkpoint at or above the block and one finalizing it (BLS aggregates, checked against the epoch's validator set), and the block's header links up to the checkpoint's root. A conflicting finalized block would need validators holding at least 1/3 of the stake to sign slashable votes (two for one target, or one surrounding another) — accountable safety; with more than 1/3 of the stake Byzantine, nothing is promised. After a stall of more than the genesis leakAfter epochs, the inactivity leak lowers both thresholds toward (never to) 1/2 of the stake, as the line above says when it did: a conflict then convicts less — but still someone — and two disjoint halves can never both finalize";

export interface PosCertificate extends CommitCertificate {
  readonly kind: typeof POS_CERT_KIND;
  /** The certified block's header first, up to the finalized checkpoint's root. */
  readonly headers: readonly BlockHeader[];
  readonly justify: FfgAggregate;
  readonly finalize: FfgAggregate;
}

const fail = (reason: string): CertificateCheck => ({ ok: false, reason });

export const posCertificateScheme: CertificateScheme<PosCertificate> = {
  kind: POS_CERT_KIND,
  guarantee: POS_CERT_GUARANTEE,
  encodePayload: (cert) => [
    cert.headers.map(headerFields),
    encodeAggregateItem(cert.justify),
    encodeAggregateItem(cert.finalize),
  ],
  decodePayload(item, height, blockHash) {
    const f = asList(item, POS_CERT_KIND, 3);
    const headers = asList(f[0], `${POS_CERT_KIND}.headers`);
    if (headers.length < 1 || headers.length > MAX_CERT_HEADERS)
      throw new DecodeError('MALFORMED', `${POS_CERT_KIND}: expected 1…${MAX_CERT_HEADERS} headers`);
    return {
      kind: POS_CERT_KIND,
      height,
      blockHash,
      headers: headers.map((h) => decodeHeaderItem(h)),
      justify: decodeAggregateItem(f[1], `${POS_CERT_KIND}.justify`),
      finalize: decodeAggregateItem(f[2], `${POS_CERT_KIND}.finalize`),
    };
  },
  // The finalizing link's signers: each vouched that C was justified and is final now (what a
  // light client's skipping verification counts against a set it trusts: ledger/bundle.ts).
  signers: (cert) => {
    const out: number[] = [];
    cert.finalize.signers.forEach((byte, i) => {
      for (let bit = 0; bit < 8; bit++) if ((byte >> bit) & 1) out.push(i * 8 + bit);
    });
    return out;
  },
  verify(cert, trust: TrustAnchor) {
    if (cert.kind !== POS_CERT_KIND) return fail(`not a ${POS_CERT_KIND} certificate`);
    if (trust.engineParams === undefined)
      return fail('the trust anchor lacks the genesis engine parameters (slots per epoch)');
    let slotsPerEpoch: number;
    let leakAfter: number;
    try {
      ({ slotsPerEpoch, leakAfter } = parsePosParams(trust.engineParams));
    } catch (e) {
      return fail(`the genesis engine parameters: ${onlyTyped(e).message}`);
    }
    const [first] = cert.headers;
    if (
      first === undefined ||
      toHex(headerHash(first)) !== toHex(cert.blockHash) ||
      first.height !== cert.height
    )
      return fail('the first header is not the certified block');
    let parentHash: Uint8Array | undefined;
    let last: BlockHeader = first;
    for (const h of cert.headers) {
      if (h.chainId !== trust.chainId) return fail(`header ${h.height} is for chain "${h.chainId}"`);
      if (h.engine !== POS_ENGINE) return fail(`header ${h.height} is not a pos header`);
      if (parentHash !== undefined && toHex(h.parentHash) !== toHex(parentHash))
        return fail(`header ${h.height} does not link to the header before it`);
      parentHash = headerHash(h);
      last = h;
    }
    const c = cert.justify.target;
    if (toHex(headerHash(last)) !== toHex(c.root))
      return fail("the last header is not the checkpoint's root");
    let rootSlot: number;
    try {
      rootSlot = decodePosData(last.engineData).slot;
    } catch (e) {
      return fail(`the checkpoint root's engine data: ${onlyTyped(e).message}`);
    }
    if (c.slot % slotsPerEpoch !== 0 || rootSlot > c.slot)
      return fail(`checkpoint slot ${c.slot} is not an epoch start at or after its root's slot ${rootSlot}`);
    if (checkpointId(cert.finalize.source) !== checkpointId(c))
      return fail('the finalizing link does not start at the justified checkpoint');
    if (cert.finalize.target.slot !== c.slot + slotsPerEpoch)
      return fail("the finalizing link does not reach the next epoch's checkpoint");
    // (A source may sit off an epoch start: the instance's start is a checkpoint at its own slot.)
    if (cert.justify.source.slot >= c.slot)
      return fail('the justifying link does not come from an earlier checkpoint');
    // Both links clear the threshold of the justifying link's span: more than 2/3, or less under
    // the inactivity leak (leak.ts), as every full node's view counts them.
    const span = spanEpochs(cert.justify.source.slot, c.slot, slotsPerEpoch);
    const quorum = linkQuorum(trust.validators, span, leakAfter);
    const domain = signingDomain(trust.chainId, trust.epoch ?? 0);
    const shares: string[] = [];
    const powers: number[] = [];
    for (const [what, a] of [
      ['justifying', cert.justify],
      ['finalizing', cert.finalize],
    ] as const) {
      const signers = aggregateSigners(a, trust.validators);
      if (signers === undefined) return fail(`the ${what} link's signer bitmap is malformed`);
      const power = trust.validators.powerOf(signers);
      if (power < quorum)
        return fail(
          `the ${what} link holds ${power} of ${trust.validators.totalPower} stake, not ${describeQuorum(span, leakAfter) === undefined ? 'more than 2/3' : `the ${quorum} the leak asks of a link over ${span} epochs`}`,
        );
      if (!verifyFfg(trust.validators, domain, a.source, a.target, signers, a.signature))
        return fail(`the ${what} link's aggregate signature does not verify`);
      shares.push(`${power}/${trust.validators.totalPower}`);
      powers.push(power);
    }
    const epoch = c.slot / slotsPerEpoch;
    // Said only when a link needed it: the full stake behind a long link rests on no leak.
    const leak = powers.some((p) => p < trust.validators.quorumPower)
      ? describeQuorum(span, leakAfter)
      : undefined;
    return {
      ok: true,
      verified: `checkpoint of epoch ${epoch} justified by ${shares[0]} of the stake (from epoch ${Math.floor(cert.justify.source.slot / slotsPerEpoch)}) and finalized by ${shares[1]} (to epoch ${epoch + 1}); ${cert.headers.length - 1} headers up to its root${leak === undefined ? '' : `; ${leak} — a conflicting finalized block would convict less than 1/3 of the stake`}`,
    };
  },
};
