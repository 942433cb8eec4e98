/**
 * What makes a Proof-of-Work header valid, shared by the engine (for every block it hears of) and
 * the certificate verifier (for every header of a light client's bundle):
 *  - its header engine data is [version 1 | bits u32 | chainWork u256 | nonce u64] (45 bytes,
 *    big-endian). The nonce is last, so it is the last 8 bytes of the encoded header: a miner
 *    varies them without re-encoding anything (src/runtime/miner.ts);
 *  - `bits` is what the ASERT rule gives for its parent (asert.ts), anchored at genesis: block 1
 *    mines at the genesis target, and each later target depends only on the parent's height and
 *    timestamp — so a verifier checks a header's difficulty from its parent alone, with no window
 *    of earlier headers (Bitcoin's 2016-block rule would need the window's first header);
 *  - `chainWork` is the parent's plus this block's work (2^256 / (target + 1)): the cumulative
 *    work is in the header, so a node compares tips — and a light client prints what buries a
 *    block — without summing from genesis;
 *  - SHA-256 of the header, read big-endian, is at most the target.
 */

import { bytesToBigInt, concatBytes, u32be, u64be } from '../../crypto/bytes.ts';
import { onlyTyped } from '../../crypto/errors.ts';
import type { BlockHeader } from '../../ledger/block.ts';
import { DecodeError } from '../../ledger/codec.ts';
import { asertTarget } from './asert.ts';
import type { PowParams } from './params.ts';
import { decodeCompact, encodeCompact, hashMeetsTarget, workOf } from './target.ts';

export const POW_ENGINE = 'pow';
export const POW_DATA_VERSION = 1;
export const POW_DATA_BYTES = 45;
export const NONCE_BYTES = 8;

export interface PowData {
  readonly bits: number;
  readonly chainWork: bigint;
  readonly nonce: bigint;
}

/** What a child's validity depends on: its parent's height, time and cumulative work. */
export interface PowAncestor {
  readonly height: number;
  readonly timeMs: number;
  readonly chainWork: bigint;
}

export function encodePowData(d: PowData): Uint8Array {
  const work = new Uint8Array(32);
  let w = d.chainWork;
  for (let i = 31; i >= 0; i--) {
    work[i] = Number(w & 0xffn);
    w >>= 8n;
  }
  return concatBytes(new Uint8Array([POW_DATA_VERSION]), u32be(d.bits), work, u64be(d.nonce));
}

export function decodePowData(bytes: Uint8Array): PowData {
  if (bytes.length !== POW_DATA_BYTES || bytes[0] !== POW_DATA_VERSION)
    throw new DecodeError('MALFORMED', `pow engine data: expected ${POW_DATA_BYTES} bytes of version 1`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    bits: view.getUint32(1),
    chainWork: bytesToBigInt(bytes.subarray(5, 37)),
    nonce: view.getBigUint64(37),
  };
}

/** The chain's work at a committed head: zero at genesis (whose engine data is empty). */
export function chainWorkOf(engineData: Uint8Array, height: number): bigint {
  return height === 0 ? 0n : decodePowData(engineData).chainWork;
}

/** The retarget's fixed inputs: genesis is ASERT's anchor. */
export interface RetargetRule {
  readonly genesisTarget: bigint;
  readonly genesisTimeMs: number;
  readonly spacingMs: number;
  readonly halfLifeMs: number;
}

export function retargetRule(p: PowParams, genesisTimeMs: number): RetargetRule {
  return {
    genesisTarget: decodeCompact(p.genesisBits),
    genesisTimeMs,
    spacingMs: p.blockIntervalMs,
    halfLifeMs: p.halfLifeMs,
  };
}

/**
 * The compact target of a child of `parent`. ASERT measures time from the anchor's parent; genesis
 * has none, so a virtual one a spacing before it: block 1 mines at exactly the genesis target.
 */
export function expectedBits(parent: PowAncestor, rule: RetargetRule): number {
  const target = asertTarget({
    anchorTarget: rule.genesisTarget,
    timeDiff: parent.timeMs - (rule.genesisTimeMs - rule.spacingMs),
    heightDiff: parent.height,
    spacing: rule.spacingMs,
    halfLife: rule.halfLifeMs,
    powLimit: rule.genesisTarget,
  });
  return encodeCompact(target);
}

/** The engine data of a child of `parent` about to be mined (nonce 0: the miner varies it). */
export function childData(parent: PowAncestor, rule: RetargetRule): PowData {
  const bits = expectedBits(parent, rule);
  return { bits, chainWork: parent.chainWork + workOf(decodeCompact(bits)), nonce: 0n };
}

/**
 * Why `header` (hashing to `hash`) is not a valid Proof-of-Work child of `parent`, or undefined.
 * Checks only what the header itself proves; the runtime checks everything else (state, body,
 * timestamps against the parent and the clock).
 */
export function powHeaderFault(
  header: BlockHeader,
  hash: Uint8Array,
  parent: PowAncestor | undefined,
  rule: RetargetRule,
): string | undefined {
  if (header.engine !== POW_ENGINE) return `engine "${header.engine}" is not pow`;
  let d: PowData;
  try {
    d = decodePowData(header.engineData);
  } catch (e) {
    return onlyTyped(e).message;
  }
  let target: bigint;
  try {
    target = decodeCompact(d.bits);
  } catch (e) {
    return onlyTyped(e).message;
  }
  if (target === 0n || target > rule.genesisTarget) return 'target out of range';
  if (!hashMeetsTarget(hash, target)) return 'hash does not meet its target';
  if (parent === undefined) return undefined;
  if (header.height !== parent.height + 1) return 'height does not follow its parent';
  if (header.time.ms < parent.timeMs) return 'timestamp before its parent';
  const bits = expectedBits(parent, rule);
  if (d.bits !== bits) return `bits 0x${d.bits.toString(16)} where the retarget gives 0x${bits.toString(16)}`;
  if (d.chainWork !== parent.chainWork + workOf(target))
    return 'chainWork is not its parent’s plus its own work';
  return undefined;
}

/** The ancestor record a header gives its children (call only on a valid header, or genesis). */
export function ancestorOf(header: BlockHeader): PowAncestor {
  return {
    height: header.height,
    timeMs: header.time.ms,
    chainWork: chainWorkOf(header.engineData, header.height),
  };
}
