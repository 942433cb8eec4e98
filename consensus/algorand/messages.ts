/**
 * Algorand BA* wire messages (canonical RLP), what each validator signs, and the header engine data
 * of a block — the pieces the engine and a certificate verifier share.
 *
 *   [1, height, period, block, proof]                       PROPOSAL: `proof` is the proposer's
 *       sortition proof (role proposer, step index 0); signs "verity-algorand-proposal-v1" ‖
 *       [chain, h, period, hash(block)]
 *   [2, height, period, step, parent, value, proof]          VOTE: a committee vote of step `step`
 *       for `value` (a 32-byte block hash, or empty: the empty outcome) on top of `parent`;
 *       `proof` is its sortition proof; signs "verity-algorand-vote-v1" ‖ [chain, h, period, step,
 *       parent, value]
 *
 * The sortition proof is not signed: a VRF output is unique per key and input, so a relayer that
 * swaps a proof for another valid one changes nothing it proves (j, priority, coin).
 *
 * Steps within a period (`step` in a vote; the sortition step is period·256 + step):
 *   0 proposal · 1 REDUCTION_ONE · 2 REDUCTION_TWO · 2+b BinaryBA* step b (1 ≤ b ≤ 250) · 255 FINAL
 *
 * Block engine data: RLP([1, period, sortitionSeed, seed, seedProof]) — the period the block was
 * agreed in, the seed the committees of its height were drawn with, its own seed (the VRF output
 * of the proposer on the parent's seed and the height, seed.ts) and that VRF proof.
 */
import { concatBytes, toHex, utf8 } from '../../crypto/bytes.ts';
import { VRF_PROOF_LENGTH } from '../../crypto/vrf.ts';
import { type Block, decodeBlock, encodeBlock, headerHash } from '../../ledger/block.ts';
import { asBytes, asList, asSafeUint, DecodeError, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import type { MessageCodec, SignSlot } from '../types.ts';
import { SORTITION_SEED_LENGTH } from './sortition.ts';

export const ALGORAND_ENGINE = 'algorand';
export const MAX_ALGORAND_MESSAGE = 9 * 1024 * 1024;

export const STEP_PROPOSAL = 0;
export const STEP_REDUCTION_ONE = 1;
export const STEP_REDUCTION_TWO = 2;
export const STEP_FINAL = 255;
/** BinaryBA* step b is step index 2 + b. */
export const MAX_BINARY_STEPS = 250;
export const binaryStepIndex = (b: number): number => 2 + b;
/** Periods per height are bounded so that period·256 + step fits the sortition's u32 step. */
export const MAX_PERIOD = 2 ** 24 - 1;

/** The sortition step of a (period, step index). */
export function sortitionStep(period: number, step: number): number {
  return period * 256 + step;
}

export type AlgorandMessage =
  | {
      readonly type: 'proposal';
      readonly height: number;
      readonly period: number;
      readonly block: Block;
      readonly hash: Uint8Array;
      readonly proof: Uint8Array;
    }
  | {
      readonly type: 'vote';
      readonly height: number;
      readonly period: number;
      readonly step: number;
      readonly parent: Uint8Array;
      /** A block hash, or empty for the empty outcome. */
      readonly value: Uint8Array;
      readonly proof: Uint8Array;
    };

export type AlgorandVote = Extract<AlgorandMessage, { type: 'vote' }>;
export type AlgorandProposal = Extract<AlgorandMessage, { type: 'proposal' }>;

const PROPOSAL_DOMAIN = concatBytes(utf8('verity-algorand-proposal-v1'), new Uint8Array([0]));
const VOTE_DOMAIN = concatBytes(utf8('verity-algorand-vote-v1'), new Uint8Array([0]));

/** What a committee vote's signature covers (also what a certificate's FINAL votes are checked against). */
export function voteSigningBytes(
  chainId: string,
  height: number,
  period: number,
  step: number,
  parent: Uint8Array,
  value: Uint8Array,
): Uint8Array {
  return concatBytes(VOTE_DOMAIN, rlpEncode([utf8(chainId), height, period, step, parent, value]));
}

function validStep(step: number): boolean {
  return (
    step === STEP_REDUCTION_ONE ||
    step === STEP_REDUCTION_TWO ||
    step === STEP_FINAL ||
    (step >= binaryStepIndex(1) && step <= binaryStepIndex(MAX_BINARY_STEPS))
  );
}

export const algorandCodec: MessageCodec<AlgorandMessage> = {
  maxBytes: MAX_ALGORAND_MESSAGE,
  encode(m) {
    return m.type === 'proposal'
      ? rlpEncode([1, m.height, m.period, encodeBlock(m.block), m.proof])
      : rlpEncode([2, m.height, m.period, m.step, m.parent, m.value, m.proof]);
  },
  decode(bytes) {
    const f = asList(rlpDecodeStrict(bytes, MAX_ALGORAND_MESSAGE, 'algorand message'), 'algorand message');
    const type = asSafeUint(f[0], 'type');
    const height = asSafeUint(f[1], 'height');
    const period = asSafeUint(f[2], 'period');
    if (height < 1) throw new DecodeError('MALFORMED', 'algorand message: height ≥ 1');
    if (period > MAX_PERIOD)
      throw new DecodeError('MALFORMED', `algorand message: period above ${MAX_PERIOD}`);
    if (type === 1 && f.length === 5) {
      const block = decodeBlock(asBytes(f[3], 'block'));
      if (block.header.height !== height)
        throw new DecodeError('MALFORMED', 'proposal block height differs from the proposal');
      const proof = asBytes(f[4], 'proof', { length: VRF_PROOF_LENGTH });
      return { type: 'proposal', height, period, block, hash: headerHash(block.header), proof };
    }
    if (type === 2 && f.length === 7) {
      const step = asSafeUint(f[3], 'step');
      if (!validStep(step)) throw new DecodeError('MALFORMED', `algorand vote: unknown step ${step}`);
      const parent = asBytes(f[4], 'parent', { length: 32 });
      const value = asBytes(f[5], 'value');
      if (value.length !== 0 && value.length !== 32)
        throw new DecodeError('MALFORMED', 'algorand vote: value must be a 32-byte hash or empty');
      if (step === STEP_FINAL && value.length === 0)
        throw new DecodeError('MALFORMED', 'algorand vote: a FINAL vote names a block');
      const proof = asBytes(f[6], 'proof', { length: VRF_PROOF_LENGTH });
      return { type: 'vote', height, period, step, parent, value, proof };
    }
    throw new DecodeError('MALFORMED', `unknown algorand message type ${type}`);
  },
  signingBytes(m, chainId) {
    return m.type === 'proposal'
      ? concatBytes(PROPOSAL_DOMAIN, rlpEncode([utf8(chainId), m.height, m.period, m.hash]))
      : voteSigningBytes(chainId, m.height, m.period, m.step, m.parent, m.value);
  },
  heightOf(m) {
    return m.height;
  },
  slot(m): SignSlot {
    return { height: m.height, round: m.period, step: m.type === 'proposal' ? STEP_PROPOSAL : m.step };
  },
  describe(m) {
    if (m.type === 'proposal') return `proposal(h=${m.height}, p=${m.period}, ${toHex(m.hash).slice(0, 12)})`;
    const v = m.value.length === 0 ? 'empty' : toHex(m.value).slice(0, 12);
    return `vote(h=${m.height}, p=${m.period}, ${stepName(m.step)}, ${v})`;
  },
};

export function stepName(step: number): string {
  if (step === STEP_PROPOSAL) return 'proposal';
  if (step === STEP_REDUCTION_ONE) return 'reduction-1';
  if (step === STEP_REDUCTION_TWO) return 'reduction-2';
  if (step === STEP_FINAL) return 'final';
  return `binary-${step - 2}`;
}

// -- block engine data ------------------------------------------------------------------------

const ENGINE_DATA_VERSION = 1;
const MAX_ENGINE_DATA = 256;

export interface AlgorandEngineData {
  readonly period: number;
  /** The seed the committees of this block's height were drawn with. */
  readonly sortitionSeed: Uint8Array;
  /** This block's own seed: SHA-256 of the proposer's VRF output on (parent's seed, height). */
  readonly seed: Uint8Array;
  readonly seedProof: Uint8Array;
}

export function encodeEngineData(d: AlgorandEngineData): Uint8Array {
  return rlpEncode([ENGINE_DATA_VERSION, d.period, d.sortitionSeed, d.seed, d.seedProof]);
}

export function decodeEngineData(bytes: Uint8Array): AlgorandEngineData {
  const f = asList(
    rlpDecodeStrict(bytes, MAX_ENGINE_DATA, 'algorand engine data'),
    'algorand engine data',
    5,
  );
  const version = asSafeUint(f[0], 'algorand engine data version');
  if (version !== ENGINE_DATA_VERSION)
    throw new DecodeError('MALFORMED', `algorand engine data: version ${version} is not one this code reads`);
  const period = asSafeUint(f[1], 'period');
  if (period > MAX_PERIOD)
    throw new DecodeError('MALFORMED', `algorand engine data: period above ${MAX_PERIOD}`);
  return {
    period,
    sortitionSeed: asBytes(f[2], 'sortitionSeed', { length: SORTITION_SEED_LENGTH }),
    seed: asBytes(f[3], 'seed', { length: SORTITION_SEED_LENGTH }),
    seedProof: asBytes(f[4], 'seedProof', { length: VRF_PROOF_LENGTH }),
  };
}

/**
 * The sortition seed of height h + 1 from block h's engine data: the paper's look-back
 * (seed.ts lookBackRound: round r draws with the seed of r − 1 − (r mod R)) carried forward one
 * block at a time, so no node needs old blocks to know it: at a refresh (h + 1 ≡ 0 mod R) it is
 * block h's own seed, otherwise the seed block h was drawn with.
 */
export function nextSortitionSeed(height: number, data: AlgorandEngineData, refresh: number): Uint8Array {
  return (height + 1) % refresh === 0 ? data.seed : data.sortitionSeed;
}
