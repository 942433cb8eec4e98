/**
 * HotStuff quorum certificates (QC) and timeout certificates (TC) over BLS12-381.
 *
 * What validators sign (domain-separated, bound to the chain):
 *   vote     "verity-hotstuff-vote-v1\0"    ‖ RLP([chainId, view, blockHash])
 *   timeout  "verity-hotstuff-timeout-v1\0" ‖ RLP([chainId, view, highQcView])
 *
 * QC wire form  RLP([tag, view, blockHash, signers, signature]):
 *   tag 0  genesis: view 0, no signers, no signature — the implicit certificate of the genesis
 *          block (the justify of every height-1 block); it certifies nothing else;
 *   tag 1  aggregate: `signers` is a bitmap (bit i of byte i>>3, LSB first, exactly ⌈n/8⌉ bytes,
 *          no bit ≥ n) of validators holding > 2/3 of the power, `signature` the aggregate of
 *          their BLS vote signatures. Check: aggregatePublicKeys(signers) + one verify under that
 *          key — which is FastAggregateVerify by its definition (one pairing check), spelled out.
 *          Size: 8 + 32 + ⌈n/8⌉ + 96 bytes + RLP framing.
 *   tag 2  threshold: no bitmap; `signature` is the t-of-n threshold signature (Lagrange-combined
 *          vote shares) under the genesis group key — constant size (≈ 140 bytes). Check: one verify.
 *
 * TC wire form  RLP([view, signers, [highQcView per signer], signature, highQc]): > 2/3 of the
 * power timed out in `view`; each signer's BLS signature (its validator key, in both QC modes:
 * the messages differ per signer, so threshold shares cannot be combined) covers its own
 * highQcView; `signature` aggregates them and `highQc` is the QC of the largest of those views.
 * Check: signers grouped by highQcView, one aggregated key per group, one aggregateVerify
 * (k + 1 pairings for k distinct views, usually 1 or 2).
 *
 * Verification results are memoised per process (a pure function of the bytes and the trusted
 * keys): every node of a simulation, or a node seeing the same QC in a proposal, a timeout and a
 * sync message, pays for the pairing once.
 */

import { bls } from '../../crypto/bls/index.ts';
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { LruCache } from '../../crypto/lru.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  DecodeError,
  type RlpInput,
  type RlpItem,
  rlpEncode,
} from '../../ledger/codec.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';

export type QcMode = 'aggregate' | 'threshold';

export const QC_GENESIS = 0;
export const QC_AGGREGATE = 1;
export const QC_THRESHOLD = 2;

/** Validators per bitmap: matches the genesis cap (1024). */
export const MAX_VALIDATORS = 1024;
const MAX_BITMAP_BYTES = MAX_VALIDATORS / 8;
const SIGNATURE_BYTES = 96;

export interface QuorumCert {
  readonly tag: typeof QC_GENESIS | typeof QC_AGGREGATE | typeof QC_THRESHOLD;
  readonly view: number;
  readonly blockHash: Uint8Array;
  /** Signer bitmap (aggregate mode); empty otherwise. */
  readonly signers: Uint8Array;
  /** 96-byte BLS signature; empty for the genesis QC. */
  readonly signature: Uint8Array;
}

export interface TimeoutCert {
  readonly view: number;
  readonly signers: Uint8Array;
  /** highQc view of each signer, by ascending validator index. */
  readonly highQcViews: readonly number[];
  readonly signature: Uint8Array;
  /** The QC with view max(highQcViews). */
  readonly highQc: QuorumCert;
}

export function genesisQc(hash: Uint8Array): QuorumCert {
  return {
    tag: QC_GENESIS,
    view: 0,
    blockHash: hash,
    signers: new Uint8Array(0),
    signature: new Uint8Array(0),
  };
}

export function modeTag(mode: QcMode): typeof QC_AGGREGATE | typeof QC_THRESHOLD {
  return mode === 'aggregate' ? QC_AGGREGATE : QC_THRESHOLD;
}

// -- signing bytes ----------------------------------------------------------------------------

const VOTE_DOMAIN = concatBytes(utf8('verity-hotstuff-vote-v1'), new Uint8Array([0]));
const TIMEOUT_DOMAIN = concatBytes(utf8('verity-hotstuff-timeout-v1'), new Uint8Array([0]));

export function voteMessage(chainId: string, view: number, blockHash: Uint8Array): Uint8Array {
  return concatBytes(VOTE_DOMAIN, rlpEncode([utf8(chainId), view, blockHash]));
}

export function timeoutMessage(chainId: string, view: number, highQcView: number): Uint8Array {
  return concatBytes(TIMEOUT_DOMAIN, rlpEncode([utf8(chainId), view, highQcView]));
}

// -- encoding ---------------------------------------------------------------------------------

export function encodeQcItem(qc: QuorumCert): RlpInput {
  return [qc.tag, qc.view, qc.blockHash, qc.signers, qc.signature];
}

export function encodeQc(qc: QuorumCert): Uint8Array {
  return rlpEncode(encodeQcItem(qc));
}

export function decodeQcItem(item: RlpItem | undefined, what = 'qc'): QuorumCert {
  const f = asList(item, what, 5);
  const tag = asSafeUint(f[0], `${what}.tag`);
  const view = asSafeUint(f[1], `${what}.view`);
  const blockHash = asBytes(f[2], `${what}.blockHash`, { length: 32 });
  const signers = asBytes(f[3], `${what}.signers`, { max: MAX_BITMAP_BYTES });
  const signature = asBytes(f[4], `${what}.signature`, { max: SIGNATURE_BYTES });
  if (tag === QC_GENESIS) {
    if (view !== 0 || signers.length !== 0 || signature.length !== 0)
      throw new DecodeError('MALFORMED', `${what}: a genesis QC has view 0 and no signatures`);
    return { tag, view, blockHash, signers, signature };
  }
  if (tag !== QC_AGGREGATE && tag !== QC_THRESHOLD)
    throw new DecodeError('MALFORMED', `${what}: unknown QC tag ${tag}`);
  if (view === 0) throw new DecodeError('MALFORMED', `${what}: only the genesis QC has view 0`);
  if (signature.length !== SIGNATURE_BYTES)
    throw new DecodeError('MALFORMED', `${what}: signature must be ${SIGNATURE_BYTES} bytes`);
  if (tag === QC_AGGREGATE && signers.length === 0)
    throw new DecodeError('MALFORMED', `${what}: aggregate QC without a signer bitmap`);
  if (tag === QC_THRESHOLD && signers.length !== 0)
    throw new DecodeError('MALFORMED', `${what}: threshold QC carries no signer bitmap`);
  return { tag, view, blockHash, signers, signature };
}

export function encodeTcItem(tc: TimeoutCert): RlpInput {
  return [tc.view, tc.signers, [...tc.highQcViews], tc.signature, encodeQcItem(tc.highQc)];
}

export function decodeTcItem(item: RlpItem | undefined, what = 'tc'): TimeoutCert {
  const f = asList(item, what, 5);
  const view = asSafeUint(f[0], `${what}.view`);
  const signers = asBytes(f[1], `${what}.signers`, { max: MAX_BITMAP_BYTES });
  const views = asList(f[2], `${what}.highQcViews`);
  if (views.length === 0 || views.length > MAX_VALIDATORS)
    throw new DecodeError('MALFORMED', `${what}: 1..${MAX_VALIDATORS} highQc views`);
  const highQcViews = views.map((v, i) => asSafeUint(v, `${what}.highQcViews[${i}]`));
  const signature = asBytes(f[3], `${what}.signature`, { length: SIGNATURE_BYTES });
  const highQc = decodeQcItem(f[4], `${what}.highQc`);
  if (view === 0) throw new DecodeError('MALFORMED', `${what}: view 0 cannot time out`);
  return { view, signers, highQcViews, signature, highQc };
}

export function maxHighQcView(tc: TimeoutCert): number {
  let m = 0;
  for (const v of tc.highQcViews) if (v > m) m = v;
  return m;
}

// -- bitmaps ----------------------------------------------------------------------------------

export function bitmapOf(indices: Iterable<number>, n: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(n / 8));
  for (const i of indices) out[i >> 3] = (out[i >> 3] as number) | (1 << (i & 7));
  return out;
}

/** Signer indices of a canonical bitmap for `n` validators; undefined if not canonical. */
export function bitmapIndices(bitmap: Uint8Array, n: number): number[] | undefined {
  if (bitmap.length !== Math.ceil(n / 8)) return undefined;
  const out: number[] = [];
  for (let byte = 0; byte < bitmap.length; byte++) {
    const b = bitmap[byte] as number;
    if (b === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      if ((b & (1 << bit)) === 0) continue;
      const i = byte * 8 + bit;
      if (i >= n) return undefined;
      out.push(i);
    }
  }
  return out;
}

// -- verification -----------------------------------------------------------------------------

/** What QCs and TCs are checked against: all of it from genesis. */
export interface QcTrust {
  readonly chainId: string;
  readonly validators: ValidatorSet;
  readonly mode: QcMode;
  /** Threshold mode: the group key every QC verifies under. */
  readonly groupPublicKey?: Uint8Array;
}

const memo = new LruCache<boolean>(100_000);

function memoised(parts: Uint8Array[], check: () => boolean): boolean {
  return memo.getOrMake(toHex(sha256(concatBytes(...parts))), () => {
    try {
      return check();
    } catch {
      return false;
    }
  });
}

function trustKey(t: QcTrust): Uint8Array {
  return concatBytes(
    utf8(t.chainId),
    new Uint8Array([0]),
    t.validators.hash,
    t.groupPublicKey ?? new Uint8Array(0),
  );
}

/** One BLS signature check, memoised (votes and timeouts). */
export function verifySignature(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  return memoised([utf8('sig'), publicKey, sha256(message), signature], () =>
    bls.verify(publicKey, message, signature),
  );
}

export interface PairingInput {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * The (aggregated key, message, signature) of a non-genesis QC after its structural and quorum
 * checks — ready for one pairing check, alone or batched with others. A reason if it fails.
 */
export function qcPairingInput(qc: QuorumCert, t: QcTrust): PairingInput | string {
  if (qc.tag === QC_GENESIS) return 'a genesis QC certifies no block';
  if (qc.tag !== modeTag(t.mode)) return `QC is not a ${t.mode} certificate`;
  const message = voteMessage(t.chainId, qc.view, qc.blockHash);
  if (qc.tag === QC_THRESHOLD) {
    if (t.groupPublicKey === undefined) return 'no threshold group key in the trust anchor';
    return { publicKey: t.groupPublicKey, message, signature: qc.signature };
  }
  const signers = bitmapIndices(qc.signers, t.validators.size);
  if (signers === undefined) return 'QC signer bitmap is not canonical for this validator set';
  if (signers.length === 0) return 'QC has no signers';
  if (t.validators.powerOf(signers) < t.validators.quorumPower)
    return `QC signers hold ${t.validators.powerOf(signers)} of ${t.validators.totalPower} power`;
  const keys = signers.map((i) => t.validators.at(i)?.blsPublicKey as Uint8Array);
  let publicKey: Uint8Array;
  try {
    publicKey = bls.aggregatePublicKeys(keys);
  } catch {
    return 'cannot aggregate the signers’ keys';
  }
  return { publicKey, message, signature: qc.signature };
}

/** Full check of a QC; the genesis QC passes structurally (callers restrict where it may appear). */
export function verifyQc(qc: QuorumCert, t: QcTrust): boolean {
  if (qc.tag === QC_GENESIS) return qc.view === 0 && qc.signature.length === 0;
  return memoised([utf8('qc'), trustKey(t), encodeQc(qc)], () => {
    const input = qcPairingInput(qc, t);
    if (typeof input === 'string') return false;
    // = bls.fastAggregateVerify(signer keys, …): the key is aggregated in qcPairingInput so that
    // commit certificates (certificate.ts) can batch the same (key, message, signature) triples.
    return bls.verify(input.publicKey, input.message, input.signature);
  });
}

/** Marks a QC this process assembled from individually verified votes as valid. */
export function rememberValidQc(qc: QuorumCert, t: QcTrust): void {
  memoised([utf8('qc'), trustKey(t), encodeQc(qc)], () => true);
}

export function verifyTc(tc: TimeoutCert, t: QcTrust): boolean {
  return memoised([utf8('tc'), trustKey(t), rlpEncode(encodeTcItem(tc))], () => {
    const signers = bitmapIndices(tc.signers, t.validators.size);
    if (signers === undefined || signers.length !== tc.highQcViews.length) return false;
    if (t.validators.powerOf(signers) < t.validators.quorumPower) return false;
    for (const v of tc.highQcViews) if (v >= tc.view) return false;
    if (tc.highQc.view !== maxHighQcView(tc) || tc.highQc.view >= tc.view) return false;
    if (!verifyQc(tc.highQc, t)) return false;
    const groups = new Map<number, Uint8Array[]>();
    signers.forEach((s, i) => {
      const v = tc.highQcViews[i] as number;
      let g = groups.get(v);
      if (g === undefined) groups.set(v, (g = []));
      g.push(t.validators.at(s)?.blsPublicKey as Uint8Array);
    });
    const keys: Uint8Array[] = [];
    const messages: Uint8Array[] = [];
    for (const [v, g] of [...groups].sort((a, b) => a[0] - b[0])) {
      keys.push(bls.aggregatePublicKeys(g));
      messages.push(timeoutMessage(t.chainId, tc.view, v));
    }
    return bls.aggregateVerify(keys, messages, tc.signature);
  });
}

/** Aggregates individually verified timeouts into a TC. */
export function assembleTc(
  view: number,
  timeouts: ReadonlyArray<{ validator: number; highQc: QuorumCert; signature: Uint8Array }>,
  n: number,
): TimeoutCert {
  const sorted = [...timeouts].sort((a, b) => a.validator - b.validator);
  let high = (sorted[0] as (typeof sorted)[number]).highQc;
  for (const s of sorted) if (s.highQc.view > high.view) high = s.highQc;
  return {
    view,
    signers: bitmapOf(
      sorted.map((s) => s.validator),
      n,
    ),
    highQcViews: sorted.map((s) => s.highQc.view),
    signature: bls.aggregateSignatures(sorted.map((s) => s.signature)),
    highQc: high,
  };
}

/** Aggregates individually verified votes (aggregate mode). */
export function assembleAggregateQc(
  view: number,
  blockHash: Uint8Array,
  votes: ReadonlyArray<{ validator: number; signature: Uint8Array }>,
  n: number,
): QuorumCert {
  const sorted = [...votes].sort((a, b) => a.validator - b.validator);
  return {
    tag: QC_AGGREGATE,
    view,
    blockHash,
    signers: bitmapOf(
      sorted.map((v) => v.validator),
      n,
    ),
    signature: bls.aggregateSignatures(sorted.map((v) => v.signature)),
  };
}

/** Combines t individually verified shares (share index = validator index + 1). */
export function assembleThresholdQc(
  view: number,
  blockHash: Uint8Array,
  shares: ReadonlyArray<{ validator: number; signature: Uint8Array }>,
  threshold: number,
): QuorumCert {
  const partials = shares.map((s) => ({ index: s.validator + 1, signature: s.signature }));
  return {
    tag: QC_THRESHOLD,
    view,
    blockHash,
    signers: new Uint8Array(0),
    signature: bls.threshold.combine(partials, threshold),
  };
}

export function qcId(qc: QuorumCert): string {
  return `${qc.view}:${toHex(qc.blockHash)}`;
}

/** A threshold vote share checked against its genesis share key (bls.threshold.verifyShare), memoised. */
export function verifyShare(
  sharePublicKey: Uint8Array,
  message: Uint8Array,
  index: number,
  signature: Uint8Array,
): boolean {
  return memoised([utf8('share'), sharePublicKey, sha256(message), signature], () =>
    bls.threshold.verifyShare(sharePublicKey, message, { index, signature }),
  );
}

/** Marks a TC this process assembled from individually verified timeouts as valid. */
export function rememberValidTc(tc: TimeoutCert, t: QcTrust): void {
  memoised([utf8('tc'), trustKey(t), rlpEncode(encodeTcItem(tc))], () => true);
}
