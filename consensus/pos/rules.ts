/**
 * The rules of a Proof-of-Stake header and of an FFG vote that need no engine state: the header's
 * engine data, the RANDAO mix and epoch seed, the stake-weighted proposer draw, checkpoints and
 * the bytes validators sign.
 *
 * engineData = RLP([1, slot, proposer, reveal, mix, seed, [link…]])
 *   slot      the slot the block was proposed in (strictly above its parent's);
 *   proposer  the validator index the draw gives for that slot;
 *   reveal    RANDAO reveal: the proposer's BLS signature on the epoch number (randaoMessage).
 *             BLS signatures are unique, so a proposer cannot grind it: its only choice is to
 *             withhold the block (Ethereum's one bit of bias per slot it controls);
 *   mix       SHA-256(parent's mix ‖ SHA-256(reveal)): every reveal on the chain accumulated;
 *   seed      the epoch's seed: the parent's, or — in the first block of an epoch —
 *             SHA-256("seed" ‖ parent's mix ‖ epoch). The proposer of slot s is drawn from
 *             SHA-256(seed ‖ s), weighted by stake, so all of an epoch's proposers are fixed by
 *             the chain as it stood before the epoch began (and a header is checked against its
 *             parent alone);
 *   links     FFG aggregates (ffg.ts) the proposer carries for everyone's view: the links that
 *             justified its latest justified checkpoint and finalized its latest finalized one.
 *             A node that missed the votes (a partition, a restart) learns the justification from
 *             blocks, as Gasper's nodes do from the attestations blocks include.
 *
 * A checkpoint is (epoch-start slot, block hash): the block the chain had at the start of the
 * epoch — the last block at or before that slot. Slots, not epoch numbers, name checkpoints so
 * that an FFG vote's positions compare with the double-sign slots of the same engine (the
 * runtime's guard: consensus/types.ts FfgLink).
 */
import { concatBytes, u64be, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import {
  asBytes,
  asList,
  asSafeUint,
  DecodeError,
  type RlpInput,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from '../../ledger/codec.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';

export const POS_ENGINE = 'pos';
const VERSION = 1;
/** FFG aggregates a block (or a LINKS message) carries, at most. */
export const MAX_LINKS = 8;
const MAX_BITMAP_BYTES = 128;

export interface Checkpoint {
  /** The first slot of the checkpoint's epoch. */
  readonly slot: number;
  /** The block the chain had then. */
  readonly root: Uint8Array;
}

/** Supermajority-candidate FFG votes on one link, aggregated: signers (bitmap) and one signature. */
export interface FfgAggregate {
  readonly source: Checkpoint;
  readonly target: Checkpoint;
  readonly signers: Uint8Array;
  readonly signature: Uint8Array;
}

export interface PosData {
  readonly slot: number;
  readonly proposer: number;
  readonly reveal: Uint8Array;
  readonly mix: Uint8Array;
  readonly seed: Uint8Array;
  readonly links: readonly FfgAggregate[];
}

export const checkpointId = (c: Checkpoint): string => `${c.slot}:${Buffer.from(c.root).toString('hex')}`;
export const linkId = (source: Checkpoint, target: Checkpoint): string =>
  `${checkpointId(source)}>${checkpointId(target)}`;

export function encodeCheckpoint(c: Checkpoint): RlpInput {
  return [c.slot, c.root];
}

export function decodeCheckpoint(item: RlpItem | undefined, what: string): Checkpoint {
  const f = asList(item, what, 2);
  return { slot: asSafeUint(f[0], `${what}.slot`), root: asBytes(f[1], `${what}.root`, { length: 32 }) };
}

export function encodeAggregateItem(a: FfgAggregate): RlpInput {
  return [encodeCheckpoint(a.source), encodeCheckpoint(a.target), a.signers, a.signature];
}

export function decodeAggregateItem(item: RlpItem | undefined, what: string): FfgAggregate {
  const f = asList(item, what, 4);
  const source = decodeCheckpoint(f[0], `${what}.source`);
  const target = decodeCheckpoint(f[1], `${what}.target`);
  if (source.slot >= target.slot)
    throw new DecodeError('MALFORMED', `${what}: the source is not before the target`);
  return {
    source,
    target,
    signers: asBytes(f[2], `${what}.signers`, { max: MAX_BITMAP_BYTES }),
    signature: asBytes(f[3], `${what}.signature`, { length: 96 }),
  };
}

export function encodePosData(d: PosData): Uint8Array {
  return rlpEncode([VERSION, d.slot, d.proposer, d.reveal, d.mix, d.seed, d.links.map(encodeAggregateItem)]);
}

export function decodePosData(bytes: Uint8Array): PosData {
  const f = asList(rlpDecodeStrict(bytes, 2048, 'pos engineData'), 'pos engineData', 7);
  if (asSafeUint(f[0], 'pos engineData.version') !== VERSION)
    throw new DecodeError('MALFORMED', 'pos engineData: unknown version');
  const links = asList(f[6], 'pos engineData.links');
  if (links.length > MAX_LINKS)
    throw new DecodeError('MALFORMED', `pos engineData: more than ${MAX_LINKS} links`);
  return {
    slot: asSafeUint(f[1], 'pos engineData.slot'),
    proposer: asSafeUint(f[2], 'pos engineData.proposer'),
    reveal: asBytes(f[3], 'pos engineData.reveal', { length: 96 }),
    mix: asBytes(f[4], 'pos engineData.mix', { length: 32 }),
    seed: asBytes(f[5], 'pos engineData.seed', { length: 32 }),
    links: links.map((l, i) => decodeAggregateItem(l, `pos engineData.links[${i}]`)),
  };
}

/** The mix and seed a chain starts from (genesis, whose engine data is empty): bound to its hash. */
export function genesisMix(genesisHash: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8('verity-pos-genesis-mix'), genesisHash));
}

export const epochOf = (slot: number, slotsPerEpoch: number): number => Math.floor(slot / slotsPerEpoch);

/** What a child at `slot` carries as mix and seed, from its parent's (and its own reveal). */
export function childRandomness(
  parent: { slot: number; mix: Uint8Array; seed: Uint8Array },
  slot: number,
  reveal: Uint8Array,
  slotsPerEpoch: number,
): { mix: Uint8Array; seed: Uint8Array } {
  const epoch = epochOf(slot, slotsPerEpoch);
  const seed =
    epoch === epochOf(parent.slot, slotsPerEpoch) && parent.slot > 0
      ? parent.seed
      : sha256(concatBytes(utf8('seed'), parent.mix, u64be(epoch)));
  return { mix: sha256(concatBytes(parent.mix, sha256(reveal))), seed };
}

/** The proposer of `slot` under an epoch `seed`: a draw weighted by stake. */
export function proposerOf(seed: Uint8Array, slot: number, validators: ValidatorSet): number {
  const h = sha256(concatBytes(seed, u64be(slot)));
  const r = new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0) % BigInt(validators.totalPower);
  let acc = 0n;
  for (const v of validators.validators) {
    acc += BigInt(v.power);
    if (r < acc) return v.index;
  }
  return validators.size - 1;
}

const RANDAO_DOMAIN = concatBytes(utf8('verity-pos-randao-v1'), new Uint8Array([0]));
const FFG_DOMAIN = concatBytes(utf8('verity-pos-ffg-v1'), new Uint8Array([0]));

/** What a proposer signs (BLS) as its RANDAO reveal for `epoch`. */
export function randaoMessage(domain: string, epoch: number): Uint8Array {
  return concatBytes(RANDAO_DOMAIN, rlpEncode([utf8(domain), epoch]));
}

/** What a validator signs (BLS) for an FFG vote: the link alone, so that votes on it aggregate. */
export function ffgMessage(domain: string, source: Checkpoint, target: Checkpoint): Uint8Array {
  return concatBytes(
    FFG_DOMAIN,
    rlpEncode([utf8(domain), encodeCheckpoint(source), encodeCheckpoint(target)]),
  );
}

/**
 * What a header must satisfy given its parent's engine data (undefined: genesis, the chain's
 * start) — slot order and the randomness it carries. The proposer draw and the reveal's signature
 * need the validator set: the engine checks them.
 */
export function posHeaderFault(
  data: PosData,
  parent: { slot: number; mix: Uint8Array; seed: Uint8Array },
  slotsPerEpoch: number,
): string | undefined {
  if (data.slot <= parent.slot) return `slot ${data.slot} is not after its parent's (${parent.slot})`;
  const want = childRandomness(parent, data.slot, data.reveal, slotsPerEpoch);
  if (Buffer.compare(want.mix, data.mix) !== 0)
    return 'the RANDAO mix does not follow from its parent and reveal';
  if (Buffer.compare(want.seed, data.seed) !== 0) return 'the epoch seed does not follow from its parent';
  return undefined;
}
