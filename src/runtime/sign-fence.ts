/**
 * The sign fence: what this validator has signed, kept OUTSIDE the consensus WAL, so that a WAL
 * that lost records (a truncated or damaged log, a restored backup) is detected and cannot make
 * the validator sign a slot twice.
 *
 * The WAL (runtime.ts) holds every signed slot with its envelope — the double-sign guard — and a
 * count of its signing batches. Each batch that adds a signature also writes, in parallel and
 * before anything is sent, the fence: that count plus the highest slots ever signed. On start the
 * WAL's count may be one ahead (a crash landed its batch alone: nothing of it was sent), not
 * behind: a WAL one behind either lost its last batch to a torn tail (LevelDB drops the record
 * whole) or a crash landed the fence alone, and nothing tells which (signing-guard.ts). A WAL
 * whose count is behind lost signing records: the validator then refuses every slot up to the
 * fence's highest — it waits until the chain has moved past them — and says so (/health, the log).
 *
 * CometBFT keeps the same mark beside its signer (priv_validator_state.json). Two copies written
 * alternately, each with a checksum, so a torn write leaves the other intact; a copy that fails
 * its checksum is ignored.
 */
import type { SignSlot } from '../../consensus/types.ts';
import { sha256 } from '../../crypto/hash.ts';

/** Slot heights at or above this are height-less (view-change messages keyed by their view). */
export const VIEW_SLOT_HEIGHT = Number.MAX_SAFE_INTEGER;

export interface SignFence {
  /** Signing batches made so far (the WAL counts the same batches). */
  readonly seq: number;
  /** Highest slot height signed (slots below VIEW_SLOT_HEIGHT). */
  readonly maxHeight: number;
  /** Highest round among height-less slots (view changes). */
  readonly maxViewRound: number;
  /** The committed chain height when the last signature was made. */
  readonly chainHeight: number;
  /**
   * The epoch the maxima are of (ledger/staking; absent: 0). Engines of different epochs sign in
   * different domains, so the maxima restart with each epoch: nothing of a later epoch is under
   * the fence, everything of an earlier one is (a node whose chain fell back an epoch).
   */
  readonly epoch?: number;
  /**
   * The highest source of a Casper FFG vote signed in the epoch (absent or 0: none above slot 0).
   * After a WAL loss it replaces the guard's lost watermark: a vote whose source is at or above it
   * cannot surround one signed before (and the slot rule keeps it from being surrounded).
   */
  readonly maxSource?: number;
}

export const EMPTY_FENCE: SignFence = { seq: 0, maxHeight: 0, maxViewRound: 0, chainHeight: 0 };

/** Where the fence lives: two files next to the validator key (node), memory (simulator, tests). */
export interface SignFenceStore {
  /** Where it is, for messages (file paths). */
  readonly where: string;
  /** The newest copy that passes its checksum (undefined if none), and how many copies failed it. */
  load(): Promise<{ fence: SignFence | undefined; damaged: number }>;
  /** Durable when it resolves. */
  write(fence: SignFence): Promise<void>;
}

/**
 * The fence after signing `slots` — and FFG votes with `sources` — in `epoch` (maxima only ever
 * grow within an epoch).
 */
export function advanceFence(
  f: SignFence,
  slots: readonly SignSlot[],
  chainHeight: number,
  epoch = 0,
  sources: readonly number[] = [],
): SignFence {
  const sameEpoch = epoch <= (f.epoch ?? 0);
  let maxHeight = sameEpoch ? f.maxHeight : 0;
  let maxViewRound = sameEpoch ? f.maxViewRound : 0;
  let maxSource = sameEpoch ? (f.maxSource ?? 0) : 0;
  for (const s of slots) {
    if (s.height >= VIEW_SLOT_HEIGHT) maxViewRound = Math.max(maxViewRound, s.round);
    else maxHeight = Math.max(maxHeight, s.height);
  }
  for (const s of sources) maxSource = Math.max(maxSource, s);
  const at = Math.max(epoch, f.epoch ?? 0);
  return {
    seq: f.seq + 1,
    maxHeight,
    maxViewRound,
    chainHeight,
    ...(at === 0 ? {} : { epoch: at }),
    ...(maxSource === 0 ? {} : { maxSource }),
  };
}

/** Whether `slot` of `epoch` is at or below what the fence says may already have been signed. */
export function underFence(f: SignFence, slot: SignSlot, epoch = 0): boolean {
  const fenced = f.epoch ?? 0;
  if (epoch !== fenced) return epoch < fenced;
  return slot.height >= VIEW_SLOT_HEIGHT ? slot.round <= f.maxViewRound : slot.height <= f.maxHeight;
}

/** The later of two fences' maxima (per epoch: a later epoch's replace an earlier one's). */
export function higherMaxima(
  a: SignFence,
  b: SignFence,
): Pick<SignFence, 'maxHeight' | 'maxViewRound' | 'epoch' | 'maxSource'> {
  const ea = a.epoch ?? 0;
  const eb = b.epoch ?? 0;
  if (ea !== eb) {
    const later = ea > eb ? a : b;
    return {
      maxHeight: later.maxHeight,
      maxViewRound: later.maxViewRound,
      ...(later.epoch ? { epoch: later.epoch } : {}),
      ...(later.maxSource ? { maxSource: later.maxSource } : {}),
    };
  }
  const maxSource = Math.max(a.maxSource ?? 0, b.maxSource ?? 0);
  return {
    maxHeight: Math.max(a.maxHeight, b.maxHeight),
    maxViewRound: Math.max(a.maxViewRound, b.maxViewRound),
    ...(ea === 0 ? {} : { epoch: ea }),
    ...(maxSource === 0 ? {} : { maxSource }),
  };
}

// -- encoding: 64 bytes, "VSF1" ‖ seq ‖ maxHeight ‖ maxViewRound ‖ chainHeight (u64 BE) ‖
//    epoch (u32 BE; zero before epochs existed) ‖ maxSource (u64 BE, in what were zeros: zero
//    before FFG votes existed, which is what it means) ‖ zeros ‖ SHA-256(first 48 bytes)[0..16)

const MAGIC = Buffer.from('VSF1');
export const FENCE_BYTES = 64;

export function encodeFence(f: SignFence): Uint8Array {
  const b = Buffer.alloc(FENCE_BYTES);
  MAGIC.copy(b, 0);
  b.writeBigUInt64BE(BigInt(f.seq), 4);
  b.writeBigUInt64BE(BigInt(f.maxHeight), 12);
  b.writeBigUInt64BE(BigInt(f.maxViewRound), 20);
  b.writeBigUInt64BE(BigInt(f.chainHeight), 28);
  b.writeUInt32BE(f.epoch ?? 0, 36);
  b.writeBigUInt64BE(BigInt(f.maxSource ?? 0), 40);
  b.set(sha256(b.subarray(0, 48)).subarray(0, 16), 48);
  return new Uint8Array(b.buffer, b.byteOffset, FENCE_BYTES);
}

/** The fence in `bytes`, or undefined if they are not an intact copy. */
export function decodeFence(bytes: Uint8Array): SignFence | undefined {
  if (bytes.length !== FENCE_BYTES) return undefined;
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  if (!b.subarray(0, 4).equals(MAGIC)) return undefined;
  if (!Buffer.from(sha256(b.subarray(0, 48)).subarray(0, 16)).equals(b.subarray(48, 64))) return undefined;
  const read = (at: number) => {
    const v = b.readBigUInt64BE(at);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
  };
  const [seq, maxHeight, maxViewRound, chainHeight] = [read(4), read(12), read(20), read(28)];
  if (seq === undefined || maxHeight === undefined || maxViewRound === undefined || chainHeight === undefined)
    return undefined;
  const epoch = b.readUInt32BE(36);
  const maxSource = read(40);
  if (maxSource === undefined) return undefined;
  return {
    seq,
    maxHeight,
    maxViewRound,
    chainHeight,
    ...(epoch === 0 ? {} : { epoch }),
    ...(maxSource === 0 ? {} : { maxSource }),
  };
}

/** Picks the newest intact copy. */
export function newestFence(copies: ReadonlyArray<Uint8Array | undefined>): {
  fence: SignFence | undefined;
  damaged: number;
} {
  let fence: SignFence | undefined;
  let damaged = 0;
  for (const c of copies) {
    if (c === undefined) continue;
    const f = decodeFence(c);
    if (f === undefined) damaged++;
    else if (fence === undefined || f.seq > fence.seq) fence = f;
  }
  return { fence, damaged };
}

/** In memory (the simulator, tests): survives a "crash" of the runtime that uses it. */
export class MemorySignFence implements SignFenceStore {
  readonly where = 'the in-memory sign fence';
  readonly copies: Array<Uint8Array | undefined> = [undefined, undefined];

  async load() {
    return newestFence(this.copies);
  }

  async write(fence: SignFence): Promise<void> {
    this.copies[fence.seq % 2] = encodeFence(fence);
  }
}
