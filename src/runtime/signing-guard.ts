/**
 * The double-sign guard: what this validator has signed, slot by slot, so that it never signs two
 * messages for one slot — across crashes (the consensus WAL keeps each slot with the sealed
 * envelope, durable before the message leaves) and across a WAL that lost records (the sign fence
 * beside the key, sign-fence.ts, says how far signing went).
 *
 * WAL keys (the runtime's WAL store, beside the engine's records under w/engine/):
 *   w/guard/<slot>[<epoch>] → SHA-256 of the signed bytes ‖ the sealed envelope (the epoch, u32,
 *                             only above 0: engines of different epochs sign in different domains
 *                             — ledger/signing-domain.ts — so one slot is one per epoch)
 *   w/seqs/<seq>            → (empty) one marker per signing batch, the last SEQ_WINDOW kept
 *   w/meta/fence-bound      → the fence's maxima when the WAL was found damaged (kept for good)
 *   w/meta/seq-floor        → (u64) the first marker after the last recovery (absent: 1)
 *   w/ffg/<epoch>           → source ‖ target (u64 each): the highest FFG link signed (below)
 *
 * Casper FFG votes (codec.ffgLink: Proof of Stake's attestations) are guarded by a second rule,
 * beside the slot's: a validator never signs a link whose target is not above every target it
 * signed, nor one whose source is below a source it signed. That forbids both slashable pairs —
 * two votes for one target, and one vote surrounding another (s1 < s2 < t2 < t1) — with two
 * numbers instead of a history (EIP-3076's minimal rule). After a WAL loss, the fence stands in
 * for the lost watermark: it keeps the highest source signed (sign-fence.ts maxSource), so a vote
 * from at or above it surrounds nothing signed before, and its highest slot already refuses every
 * target at or under it, so nothing signed before surrounds the new vote either. (The first cut
 * took the highest slot for both: a validator whose WAL was lost while finality was stuck could
 * never vote from the stuck source again, and the long staking sweep found a set that lost 2/3.)
 *
 * On load the markers are compared with the fence. The WAL batch and the fence are written in
 * parallel, so a crash may land either alone; a WAL one batch ahead of the fence is intact (that
 * batch's messages never left). A WAL one batch behind is ambiguous: either the crash landed the
 * fence alone (nothing of the batch was sent) or the WAL lost its tail after both landed — LevelDB
 * drops a torn record whole, so no record of ours is seen damaged — and the batch's messages were
 * sent. It is treated as a loss. (It used to be forgiven as the crash, and the nemesis's torn-WAL
 * fault then made validators sign a second message for a slot.) The price is a validator that sat
 * out the slots of one batch after a crash that hit between the two writes. A WAL further behind,
 * with a marker gap, with a record that failed its checksum (wal-records.ts), or that did not
 * exist (deleted) beside a fence that counted signing lost records: every slot at or under the
 * fence's maxima is refused from then on. A fence behind the WAL (missing, restored) is rebuilt from it. Both fence copies damaged,
 * or a damaged WAL without a fence: nothing tells what was signed, so loading fails with what to
 * do.
 */
import type { FfgLink, SignSlot } from '../../consensus/types.ts';
import { bytesToBigInt, concatBytes, equalBytes, toHex, u32be, u64be, utf8 } from '../../crypto/bytes.ts';
import { type KvOp, type KvStore, StorageError } from '../../ledger/kv.ts';
import type { Logger } from './ports.ts';
import {
  advanceFence,
  decodeFence,
  EMPTY_FENCE,
  encodeFence,
  higherMaxima,
  type SignFence,
  type SignFenceStore,
  underFence,
  VIEW_SLOT_HEIGHT,
} from './sign-fence.ts';
import { type CheckedWal, FORMAT_KEY } from './wal-records.ts';

const WAL_GUARD = utf8('w/guard/');
const WAL_SEQS = utf8('w/seqs/');
const WAL_FENCE_BOUND = utf8('w/meta/fence-bound');
const WAL_FFG = utf8('w/ffg/');
const WAL_SEQ_FLOOR = utf8('w/meta/seq-floor');
/** Written by `verity reset` into the WAL it begins: the fence's batch count when it dropped the old one. */
const WAL_RESET = utf8('w/meta/reset');
const SEQ_WINDOW = 1024;
/** Height-less (view-change) guard slots kept, most recent views first. */
const MAX_VIEW_SLOTS = 64;

function slotKey(slot: SignSlot, epoch: number): Uint8Array {
  const key = concatBytes(u64be(slot.height), u32be(slot.round), new Uint8Array([slot.step & 0xff]));
  return epoch === 0 ? key : concatBytes(key, u32be(epoch));
}

function slotOfKey(hex: string): SignSlot {
  return {
    height: Number(BigInt(`0x${hex.slice(0, 16)}`)),
    round: Number.parseInt(hex.slice(16, 24), 16),
    step: Number.parseInt(hex.slice(24, 26), 16),
  };
}

function epochOfKey(hex: string): number {
  return hex.length > 26 ? Number.parseInt(hex.slice(26, 34), 16) : 0;
}

/**
 * The fence the guard's own slots (and FFG watermarks) imply: the maxima of the latest epoch
 * among them.
 */
function fenceOfSlots(
  keys: readonly string[],
  chainHeight: number,
  ffg: ReadonlyMap<number, FfgLink>,
): SignFence {
  const epoch = keys.reduce((e, k) => Math.max(e, epochOfKey(k)), 0);
  const slots = keys.filter((k) => epochOfKey(k) === epoch).map(slotOfKey);
  const source = ffg.get(epoch)?.source;
  return advanceFence(EMPTY_FENCE, slots, chainHeight, epoch, source === undefined ? [] : [source]);
}

const seqKey = (seq: number) => concatBytes(WAL_SEQS, u64be(seq));

/** What to do with a message about to be signed for a slot. */
export type GuardVerdict =
  /** Nothing signed there yet: sign it (and `record` it). */
  | { readonly kind: 'sign' }
  /** This very message was signed before: signing again gives the same bytes. */
  | { readonly kind: 'same' }
  /** Another message was signed for the slot: re-send that one instead. */
  | { readonly kind: 'resend'; readonly envelope: Uint8Array }
  /**
   * Sign nothing: the WAL lost what was signed here (`fence`: the fence says it may have been), or
   * the message is an FFG vote that would surround, be surrounded by or repeat the target of one
   * signed before (`ffg`).
   */
  | { readonly kind: 'refuse'; readonly reason: 'fence' | 'ffg' };

/** What a start found lost from the WAL: a gap or shortfall in its batch markers, damaged records. */
export interface WalLoss {
  readonly gap: boolean;
  readonly damagedRecords: readonly string[];
}

/**
 * Begins a WAL for a validator whose old one `verity reset` dropped on purpose: the first start then
 * recovers from the fence at warning level instead of reporting a loss. Only a WAL that still holds
 * nothing else and a fence that has not moved since count (a marker from another fence is ignored).
 */
export async function markWalReset(wal: CheckedWal, fence: SignFence): Promise<void> {
  await wal.batch([{ type: 'put', key: WAL_RESET, value: u64be(fence.seq) }]);
}

/** Whether a WAL holds nothing but what markWalReset began it with: nothing of a chain to drop. */
export async function walHoldsOnlyResetMark(kv: KvStore): Promise<boolean> {
  for await (const [key] of kv.iterate(new Uint8Array(0)))
    if (!equalBytes(key, WAL_RESET) && !equalBytes(key, FORMAT_KEY)) return false;
  return true;
}

export class SigningGuard {
  readonly #wal: CheckedWal;
  readonly #store: SignFenceStore | undefined;
  readonly #logger: Logger;
  /** Signed slots: slot key (hex) → hash of the signed bytes and the sealed envelope. */
  readonly #slots = new Map<string, { hash: string; envelope: Uint8Array }>();
  /** Slots recorded since the last flush. */
  #pending: Array<{ slot: SignSlot; key: string; epoch: number; source?: number }> = [];
  /** The highest FFG link signed, per epoch of the set (signing domain). */
  readonly #ffg = new Map<number, FfgLink>();
  /** Epochs whose FFG watermark changed since the last flush. */
  readonly #ffgPending = new Set<number>();
  /** The fence as last written (its seq = signing batches so far, counted in the WAL too). */
  #fence: SignFence = EMPTY_FENCE;
  /** Set when the WAL lost signing records: every slot at or under it is refused. */
  #bound: SignFence | undefined;
  /** This validator signed above the bound since (it is signing again). */
  #boundCleared = false;
  /** Set when loading found lost or damaged records (kept after signing resumes). */
  loss: WalLoss | undefined;

  constructor(o: { wal: CheckedWal; fence: SignFenceStore | undefined; logger: Logger }) {
    this.#wal = o.wal;
    this.#store = o.fence;
    this.#logger = o.logger;
  }

  /** Reads the guard back from the WAL and checks it against the fence (a validator only). */
  async load(chainHeight: number): Promise<void> {
    for await (const [k, v] of this.#wal.iterate(WAL_GUARD))
      this.#slots.set(toHex(k.subarray(WAL_GUARD.length)), {
        hash: toHex(v.subarray(0, 32)),
        envelope: v.subarray(32),
      });
    for await (const [k, v] of this.#wal.iterate(WAL_FFG)) {
      if (v.length !== 16) continue; // (a record that passed its checksum always has 16 bytes)
      const dv = new DataView(v.buffer, v.byteOffset, 16);
      this.#ffg.set(new DataView(k.buffer, k.byteOffset + WAL_FFG.length, 4).getUint32(0), {
        source: Number(dv.getBigUint64(0)),
        target: Number(dv.getBigUint64(8)),
      });
    }
    if (this.#store !== undefined) await this.#checkFence(this.#store, chainHeight);
    else if (this.#wal.damaged().length > 0)
      throw new StorageError(
        'STORAGE_CORRUPT',
        `consensus WAL records failed their checksum (${this.#wal.damaged().join(', ')}) and this validator keeps no sign fence, so it cannot tell what it signed before: wait until the chain has moved well past where it last signed, then start it with a fresh WAL (delete HOME/data/wal)`,
        { records: this.#wal.damaged() },
      );
  }

  /** `link`: the message's FFG vote (codec.ffgLink), for the surround rule. */
  verdict(slot: SignSlot, hash: Uint8Array, epoch = 0, link?: FfgLink): GuardVerdict {
    const prior = this.#slots.get(toHex(slotKey(slot, epoch)));
    if (prior !== undefined)
      return prior.hash === toHex(hash) ? { kind: 'same' } : { kind: 'resend', envelope: prior.envelope };
    const b = this.#bound;
    if (b !== undefined && underFence(b, slot, epoch)) return { kind: 'refuse', reason: 'fence' };
    if (link !== undefined) {
      const w = this.#ffg.get(epoch);
      if (w !== undefined && (link.target <= w.target || link.source < w.source))
        return { kind: 'refuse', reason: 'ffg' };
      // The watermark may be among what the WAL lost: the fence's highest source stands in for
      // it (a vote from below it could surround one signed before; the slot rule above already
      // refuses any target at or under the fence, so none can be surrounded).
      if (b !== undefined && (b.epoch ?? 0) === epoch && link.source < (b.maxSource ?? 0))
        return { kind: 'refuse', reason: 'fence' };
    }
    return { kind: 'sign' };
  }

  /** A new signature for `slot` (after a 'sign' verdict): durable with the step's next flush. */
  record(slot: SignSlot, hash: Uint8Array, envelope: Uint8Array, epoch = 0, link?: FfgLink): void {
    const key = toHex(slotKey(slot, epoch));
    this.#slots.set(key, { hash: toHex(hash), envelope });
    this.#pending.push({ slot, key, epoch, ...(link === undefined ? {} : { source: link.source }) });
    if (this.#bound !== undefined && !underFence(this.#bound, slot, epoch)) this.#boundCleared = true;
    if (link !== undefined) {
      const w = this.#ffg.get(epoch);
      this.#ffg.set(epoch, {
        source: Math.max(w?.source ?? 0, link.source),
        target: Math.max(w?.target ?? 0, link.target),
      });
      this.#ffgPending.add(epoch);
    }
  }

  /** The highest FFG link signed in `epoch` (tests, status). */
  ffgWatermark(epoch = 0): FfgLink | undefined {
    return this.#ffg.get(epoch);
  }

  /**
   * Writes the step's WAL batch (`ops`: the engine's records) with the guard entries recorded
   * since the last flush; a signing batch also gets its marker and the fence, in parallel — both
   * durable before anything of the step leaves.
   */
  async flush(ops: KvOp[], chainHeight: number): Promise<void> {
    const pending = this.#pending;
    this.#pending = [];
    for (const epoch of this.#ffgPending) {
      const w = this.#ffg.get(epoch) as FfgLink;
      const value = new Uint8Array(16);
      const dv = new DataView(value.buffer);
      dv.setBigUint64(0, BigInt(w.source));
      dv.setBigUint64(8, BigInt(w.target));
      ops.push({ type: 'put', key: concatBytes(WAL_FFG, u32be(epoch)), value });
    }
    this.#ffgPending.clear();
    for (const { key } of pending) {
      const e = this.#slots.get(key) as { hash: string; envelope: Uint8Array };
      ops.push({
        type: 'put',
        key: concatBytes(WAL_GUARD, Buffer.from(key, 'hex')),
        value: concatBytes(Buffer.from(e.hash, 'hex'), e.envelope),
      });
    }
    if (pending.length > 0 && this.#store !== undefined) {
      // (One step signs in one epoch: the runtime's.)
      const epoch = pending.reduce((e, p) => Math.max(e, p.epoch), 0);
      const ofEpoch = pending.filter((p) => p.epoch === epoch);
      const next = advanceFence(
        this.#fence,
        ofEpoch.map((p) => p.slot),
        chainHeight,
        epoch,
        ofEpoch.flatMap((p) => (p.source === undefined ? [] : [p.source])),
      );
      ops.push({ type: 'put', key: seqKey(next.seq), value: new Uint8Array(0) });
      if (next.seq > SEQ_WINDOW) ops.push({ type: 'del', key: seqKey(next.seq - SEQ_WINDOW) });
      await Promise.all([this.#wal.batch(ops), this.#store.write(next)]);
      this.#fence = next;
    } else if (ops.length > 0) await this.#wal.batch(ops);
  }

  /**
   * Forgets slots no correct engine signs again once `height` is committed: two heights back;
   * of the height-less (view-change) slots, all but the most recent views. Returns the WAL ops.
   */
  prune(height: number, epoch = 0, base = 0): KvOp[] {
    // In an epoch that starts above block `base`, an engine's slot numbers (heights, or views,
    // which restart with the instance) count from there: what "two heights back" means is
    // measured from the base. An earlier epoch's slots go once the chain is two blocks into this
    // one (a crash can lose the last block and run the epoch before again, no more).
    const limit = height - base - 2;
    const ops: KvOp[] = [];
    const drop = (key: string) => {
      this.#slots.delete(key);
      ops.push({ type: 'del', key: concatBytes(WAL_GUARD, Buffer.from(key, 'hex')) });
    };
    const viewSlots: Array<{ key: string; round: number }> = [];
    for (const key of [...this.#slots.keys()]) {
      const of = epochOfKey(key);
      if (of < epoch) {
        if (height > base + 2) drop(key);
        continue;
      }
      if (of > epoch) continue; // a later epoch's, kept for when the chain gets back there
      const slot = slotOfKey(key);
      if (slot.height === VIEW_SLOT_HEIGHT) viewSlots.push({ key, round: slot.round });
      else if (slot.height < limit) drop(key);
    }
    if (viewSlots.length > MAX_VIEW_SLOTS) {
      viewSlots.sort((x, y) => y.round - x.round);
      for (const { key } of viewSlots.slice(MAX_VIEW_SLOTS)) drop(key);
    }
    return ops;
  }

  /** While a WAL's loss keeps this validator from signing: the slots it refuses. */
  refusing(epoch = 0): { upToHeight: number; upToViewRound: number } | undefined {
    const b = this.#bound;
    // A bound of an earlier epoch refuses nothing of this one (another signing domain).
    if (b === undefined || this.#boundCleared || (b.epoch ?? 0) < epoch) return undefined;
    return { upToHeight: b.maxHeight, upToViewRound: b.maxViewRound };
  }

  async #checkFence(store: SignFenceStore, chainHeight: number): Promise<void> {
    const markers: number[] = [];
    for await (const [k] of this.#wal.iterate(WAL_SEQS))
      markers.push(Number(BigInt(`0x${toHex(k.subarray(WAL_SEQS.length))}`)));
    const walSeq = markers.at(-1) ?? 0;
    // Markers count from 1, or from where the last recovery restarted them.
    const floorBytes = await this.#wal.get(WAL_SEQ_FLOOR);
    const floor = floorBytes?.length === 8 ? Number(bytesToBigInt(floorBytes)) : 1;
    const markerGap =
      markers.some((m, i) => m !== (markers[0] as number) + i) ||
      (markers[0] ?? floor) > Math.max(floor, walSeq - SEQ_WINDOW + 1);
    const { fence, damaged } = await store.load();
    const kept = await this.#wal.get(WAL_FENCE_BOUND);
    if (kept !== undefined) this.#bound = decodeFence(kept);
    const resetAt = await this.#wal.get(WAL_RESET);
    // Read last, after every WAL read: records that failed their checksum are records lost.
    const corrupt = this.#wal.damaged();
    // A WAL begun by this start beside a fence that counted signing was deleted (a crash before
    // the first batch landed leaves the WAL's mark, written when it was first opened): the
    // one-batch tolerance below must not forgive the batch it held.
    const deleted = this.#wal.created && (fence?.seq ?? 0) > 0;
    const gap = markerGap || corrupt.length > 0 || deleted;
    // The fence counted a batch the WAL does not hold: lost, or never written (see the top).
    const behind = fence !== undefined && walSeq < fence.seq;
    if (fence === undefined && damaged > 0)
      throw new StorageError(
        'STORAGE_CORRUPT',
        `both copies of the sign fence (${store.where}) are damaged, so this validator cannot tell what it signed before. If its consensus WAL is intact, delete them to rebuild them from it; if not, first wait until the chain has moved well past where it last signed`,
        { path: store.where },
      );
    if (fence === undefined && gap)
      throw new StorageError(
        'STORAGE_CORRUPT',
        `the consensus WAL lost signing records${corrupt.length > 0 ? ` (${corrupt.length} failed their checksum)` : ''} and the sign fence (${store.where}) is missing, so this validator cannot tell what it signed before: wait until the chain has moved well past where it last signed, then start it with a fresh WAL (delete HOME/data/wal)`,
        { path: store.where },
      );
    if (fence !== undefined && (gap || behind)) {
      // The fence's maxima, raised by any intact guard slot above them (a fence restored from a
      // backup may be behind what the WAL still shows was signed).
      const fromGuard = fenceOfSlots([...this.#slots.keys()], chainHeight, this.#ffg);
      const bound: SignFence = { ...fence, ...higherMaxima(fence, fromGuard) };
      this.#bound = bound;
      this.loss = { gap: markerGap || deleted || behind, damagedRecords: corrupt };
      // The recovery is a batch the fence counts, like a signing one: the damaged history's
      // markers go, counting restarts at the next one (the floor says so), and the bound stays in
      // the WAL for later restarts. Counted, because it can be lost too (a later torn tail): the
      // WAL would then look whole beside a fence that had not moved, and the bound be gone.
      const next: SignFence = { ...bound, seq: fence.seq + 1 };
      await Promise.all([
        this.#wal.batch([
          ...markers.map((m) => ({ type: 'del' as const, key: seqKey(m) })),
          { type: 'put', key: seqKey(next.seq), value: new Uint8Array(0) },
          { type: 'put', key: WAL_SEQ_FLOOR, value: u64be(next.seq) },
          { type: 'put', key: WAL_FENCE_BOUND, value: encodeFence(bound) },
          { type: 'del', key: WAL_RESET },
        ]),
        store.write(next),
      ]);
      this.#fence = next;
      await this.#wal.dropDamaged();
      // One batch behind and nothing else wrong is what a crash between the two writes leaves
      // too: a warning. Anything more is a loss.
      const ambiguous = !gap && walSeq === fence.seq - 1;
      // A WAL that `verity reset` began, with nothing lost since: the loss was the operator's.
      const intended =
        !gap && markers.length === 0 && resetAt?.length === 8 && Number(bytesToBigInt(resetAt)) === fence.seq;
      if (intended)
        this.#logger.warn(
          'starting after `verity reset` (the consensus WAL was dropped on purpose): refusing to sign any slot this validator signed before until the chain moves past them',
          { fenceBatches: fence.seq, upToHeight: bound.maxHeight, upToViewRound: bound.maxViewRound },
        );
      else
        this.#logger[ambiguous ? 'warn' : 'error'](
          ambiguous
            ? 'the consensus WAL may have lost signing records: it is one signing batch behind the sign fence (a WAL tail lost, or a crash between the two writes); refusing to sign any slot this validator may have signed until the chain moves past them'
            : 'the consensus WAL lost signing records: refusing to sign any slot this validator may have signed until the chain moves past them',
          {
            walBatches: walSeq,
            fenceBatches: fence.seq,
            gap,
            damagedRecords: corrupt,
            upToHeight: bound.maxHeight,
            upToViewRound: bound.maxViewRound,
          },
        );
    } else if (fence === undefined || walSeq > fence.seq + 1) {
      // No fence yet (a new validator, or one from before fences) or an older one: the WAL is newer.
      if (walSeq > 0)
        this.#logger.warn('sign fence missing or behind the consensus WAL: rebuilt from the WAL', {
          fence: store.where,
          walBatches: walSeq,
          fenceBatches: fence?.seq ?? null,
        });
      const fromGuard = fenceOfSlots([...this.#slots.keys()], chainHeight, this.#ffg);
      this.#fence = {
        seq: walSeq,
        ...higherMaxima(fromGuard, fence ?? EMPTY_FENCE),
        chainHeight: Math.max(fromGuard.chainHeight, fence?.chainHeight ?? 0),
      };
      if (walSeq > 0) await store.write(this.#fence);
    } else {
      this.#fence = { ...fence, seq: Math.max(fence.seq, walSeq) };
    }
    if (chainHeight < this.#fence.chainHeight)
      this.#logger.warn(
        'the chain store is behind where this validator last signed (it lost committed blocks); catching up by block sync',
        { height: chainHeight, signedAtHeight: this.#fence.chainHeight },
      );
  }
}
