/**
 * Cryptographic sortition (Algorand, Gilad et al. SOSP 2017, §5, Algorithms 1–2): a validator
 * privately learns from its VRF output how many of its stake units (sub-users) are selected for
 * a (round, step, role), and proves it with the VRF proof; anyone holding its VRF public key and
 * the stake table recomputes the same count. The VRF is RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI
 * (`crypto/vrf.ts`) under the validator's own VRF key — never its ed25519 signing key.
 *
 * Encodings (all integers big-endian, `tag(s)` = one length byte || the ASCII of s, so distinct
 * tags can never be confused by where they end):
 *   alpha    = tag("verity/algorand/sortition/v1") || seed (32) || round u64 || step u32 || role u8
 *   priority = SHA-256(tag("verity/algorand/priority/v1") || VRF output (64) || i u64)
 *   coin     = SHA-256(tag("verity/algorand/coin/v1") || VRF output (64) || i u64)
 * The selection reads the whole 64-byte output as the variate (no truncation): `binomial.ts`.
 * Pure and deterministic: no clock, no randomness beyond the VRF key.
 */
import { bytesToBigInt, compareBytes, concatBytes, isBytes, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { VRF_OUTPUT_LENGTH, vrf } from '../../crypto/vrf.ts';
import { type BinomialWeights, parseWeights, SortitionError, selectBinomial, toUint } from './binomial.ts';
import { verifyVrf } from './vrf-memo.ts';

export {
  type BinomialWeights,
  MAX_COMMITTEE_SIZE,
  MAX_STAKE,
  SortitionError,
  type SortitionErrorCode,
} from './binomial.ts';

export const SORTITION_TAG = 'verity/algorand/sortition/v1';
export const PRIORITY_TAG = 'verity/algorand/priority/v1';
export const COIN_TAG = 'verity/algorand/coin/v1';
export const SORTITION_SEED_LENGTH = 32;
/** The role byte of alpha: the proposer and the BA* step committees are drawn independently. */
export const SORTITION_ROLES = { proposer: 0x01, committee: 0x02 } as const;
export type SortitionRole = keyof typeof SORTITION_ROLES;

const MAX_U64 = (1n << 64n) - 1n;
const MAX_U32 = 0xffffffffn;

export interface SortitionContext {
  /** The round's sortition seed (32 bytes). */
  readonly seed: Uint8Array;
  readonly round: number | bigint;
  readonly step: number;
  readonly role: SortitionRole;
}

export interface Selection {
  readonly proof: Uint8Array;
  /** The VRF output (64 bytes): the input of `priority` and `commonCoin`. */
  readonly output: Uint8Array;
  /** Selected sub-users; 0 = not selected. */
  readonly j: number;
}

/** The VRF input for a (seed, round, step, role): 74 bytes, see the header. */
export function sortitionAlpha(ctx: SortitionContext): Uint8Array {
  if (!isBytes(ctx.seed) || ctx.seed.length !== SORTITION_SEED_LENGTH) {
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', `seed must be ${SORTITION_SEED_LENGTH} bytes`, {
      field: 'seed',
    });
  }
  const round = toUint(ctx.round, 'round', MAX_U64);
  const step = toUint(ctx.step, 'step', MAX_U32);
  const role = Object.hasOwn(SORTITION_ROLES, ctx.role) ? SORTITION_ROLES[ctx.role] : undefined;
  if (role === undefined) {
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', `unknown sortition role ${String(ctx.role)}`, {
      field: 'role',
    });
  }
  const fixed = new Uint8Array(13);
  const view = new DataView(fixed.buffer);
  view.setBigUint64(0, round);
  view.setUint32(8, Number(step));
  fixed[12] = role;
  return concatBytes(tag(SORTITION_TAG), ctx.seed, fixed);
}

/** j for a VRF output (Algorithm 1's loop): the output as a 512-bit fraction against the CDF. */
export function selectedCount(output: Uint8Array, weights: BinomialWeights): number {
  needOutput(output);
  return selectBinomial(bytesToBigInt(output), VRF_OUTPUT_LENGTH * 8, weights);
}

/** Algorithm 1, Sortition: proves with the VRF secret key and counts the selected sub-users. */
export function sortition(
  vrfSecretKey: Uint8Array,
  ctx: SortitionContext,
  weights: BinomialWeights,
): Selection {
  parseWeights(weights); // a bad stake table is the caller's bug: refuse before proving
  const proof = vrf.prove(vrfSecretKey, sortitionAlpha(ctx));
  const output = vrf.proofToHash(proof);
  return { proof, output, j: selectedCount(output, weights) };
}

/**
 * Algorithm 2, VerifySort: the selection a proof establishes for `vrfPublicKey`, with the weights
 * the verifier trusts (its stake table). A proof that does not verify for this key and context
 * is SORTITION_BAD_PROOF (the sender's fault); bad weights are SORTITION_INVALID_ARGUMENT.
 */
export function verifySortition(
  vrfPublicKey: Uint8Array,
  proof: Uint8Array,
  ctx: SortitionContext,
  weights: BinomialWeights,
): { output: Uint8Array; j: number } {
  parseWeights(weights);
  const output = verifyVrf(vrfPublicKey, proof, sortitionAlpha(ctx));
  if (output === null) {
    throw new SortitionError('SORTITION_BAD_PROOF', 'sortition proof does not verify', {
      round: String(ctx.round),
      step: ctx.step,
      role: ctx.role,
    });
  }
  return { output, j: selectedCount(output, weights) };
}

/**
 * The priority of a selection (§6): the largest sub-user hash over i = 1..j, 32 bytes to compare
 * with `comparePriority`. Only selected validators (j ≥ 1) have one.
 */
export function priority(output: Uint8Array, j: number): Uint8Array {
  needOutput(output);
  if (!Number.isSafeInteger(j) || j < 1) {
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', 'priority needs j ≥ 1 selected sub-users', {
      field: 'j',
    });
  }
  let best = subUserHash(PRIORITY_PREFIX, output, 1);
  for (let i = 2; i <= j; i++) {
    const h = subUserHash(PRIORITY_PREFIX, output, i);
    if (compareBytes(h, best) > 0) best = h;
  }
  return best;
}

/** Orders priorities as 256-bit numbers: > 0 when `a` wins. */
export function comparePriority(a: Uint8Array, b: Uint8Array): number {
  return compareBytes(a, b);
}

/**
 * BinaryBA*'s common coin (Algorithm 9): the lowest bit of the smallest sub-user hash over the
 * step's votes, each vote counted j times. Order-independent; no votes gives 0 (the paper's
 * minimum starts at 2^hashlen). Use only verified (output, j) pairs.
 */
export function commonCoin(votes: Iterable<{ readonly output: Uint8Array; readonly j: number }>): 0 | 1 {
  let min: Uint8Array | undefined;
  for (const { output, j } of votes) {
    needOutput(output);
    if (!Number.isSafeInteger(j) || j < 0) {
      throw new SortitionError('SORTITION_INVALID_ARGUMENT', 'j must be a non-negative integer', {
        field: 'j',
      });
    }
    for (let i = 1; i <= j; i++) {
      const h = subUserHash(COIN_PREFIX, output, i);
      if (min === undefined || compareBytes(h, min) < 0) min = h;
    }
  }
  return min === undefined ? 0 : (((min[min.length - 1] as number) & 1) as 0 | 1);
}

function tag(s: string): Uint8Array {
  const bytes = utf8(s);
  return concatBytes(Uint8Array.of(bytes.length), bytes);
}

const PRIORITY_PREFIX = tag(PRIORITY_TAG);
const COIN_PREFIX = tag(COIN_TAG);

function subUserHash(prefix: Uint8Array, output: Uint8Array, i: number): Uint8Array {
  const index = new Uint8Array(8);
  new DataView(index.buffer).setBigUint64(0, BigInt(i));
  return sha256(concatBytes(prefix, output, index));
}

function needOutput(output: Uint8Array): void {
  if (!isBytes(output) || output.length !== VRF_OUTPUT_LENGTH) {
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', `VRF output must be ${VRF_OUTPUT_LENGTH} bytes`, {
      field: 'output',
    });
  }
}
