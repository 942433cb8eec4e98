/**
 * Algorand's sortition seeds (Gilad et al. SOSP 2017, §5.2). Each round's seed comes from the
 * previous one: the round's proposer evaluates its VRF on (previous seed, round) and the VRF output
 * becomes the seed — nobody, the proposer included, can choose it, since a VRF has one output per
 * input. A round that ends with the empty block (no proposer's proof) hashes the previous seed
 * instead. Sortition for round r uses the seed of an earlier round, refreshed every R rounds
 * (`lookBackRound`), so that a proposer cannot grind the seeds of the rounds right after its own.
 *
 *   alpha(r)        = tag("verity/algorand/seed/v1") || previous seed (32) || r u64
 *   seed(r), proof  = SHA-256(tag("verity/algorand/seed-from-vrf/v1") || VRF output (64))
 *   seed(r), empty  = SHA-256(tag("verity/algorand/seed-empty/v1") || previous seed || r u64)
 */
import { concatBytes, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import { SORTITION_SEED_LENGTH, SortitionError } from './sortition.ts';
import { verifyVrf } from './vrf-memo.ts';

const ALPHA_PREFIX = tag('verity/algorand/seed/v1');
const FROM_VRF_PREFIX = tag('verity/algorand/seed-from-vrf/v1');
const EMPTY_PREFIX = tag('verity/algorand/seed-empty/v1');

/** What round r's proposer proves with its VRF key. */
export function seedAlpha(previousSeed: Uint8Array, round: number): Uint8Array {
  checkSeed(previousSeed);
  return concatBytes(ALPHA_PREFIX, previousSeed, u64(round));
}

/** Round r's seed from its proposer's VRF proof, checked; undefined if the proof does not verify. */
export function seedFromProof(
  previousSeed: Uint8Array,
  round: number,
  proposerVrfKey: Uint8Array,
  proof: Uint8Array,
): Uint8Array | undefined {
  const output = verifyVrf(proposerVrfKey, proof, seedAlpha(previousSeed, round));
  return output === null ? undefined : sha256(concatBytes(FROM_VRF_PREFIX, output));
}

/** Round r's seed when it ends with the empty block (no proposer, or no valid proof). */
export function emptyRoundSeed(previousSeed: Uint8Array, round: number): Uint8Array {
  checkSeed(previousSeed);
  return sha256(concatBytes(EMPTY_PREFIX, previousSeed, u64(round)));
}

/**
 * The round whose seed (and stake table) sortition uses in round r: r − 1 − (r mod R), at least 0
 * (the genesis seed). Constant over each window of R rounds, and always in the past.
 */
export function lookBackRound(round: number, refresh: number): number {
  if (!Number.isSafeInteger(round) || round < 1)
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', 'round must be an integer ≥ 1', {
      field: 'round',
    });
  if (!Number.isSafeInteger(refresh) || refresh < 1)
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', 'the refresh interval must be an integer ≥ 1', {
      field: 'refresh',
    });
  return Math.max(0, round - 1 - (round % refresh));
}

/** The genesis seed: a hash of the genesis block's hash (nobody chose it after the chain began). */
export function genesisSeed(genesisHash: Uint8Array): Uint8Array {
  return sha256(concatBytes(tag('verity/algorand/genesis-seed/v1'), genesisHash));
}

function checkSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== SORTITION_SEED_LENGTH)
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', `a seed is ${SORTITION_SEED_LENGTH} bytes`, {
      field: 'seed',
    });
}

function u64(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new SortitionError('SORTITION_INVALID_ARGUMENT', 'round must be a non-negative integer', {
      field: 'round',
    });
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

function tag(s: string): Uint8Array {
  const bytes = utf8(s);
  return concatBytes(Uint8Array.of(bytes.length), bytes);
}
