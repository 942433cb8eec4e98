/**
 * Simulated storage faults (TigerBeetle's storage fault model, within what a node can detect):
 * a crashed node's consensus WAL comes back with one record damaged —
 *   - `flip`: one bit of a stored value flipped (media corruption);
 *   - `torn`: a value cut short (a torn write);
 *   - `misdirect`: one record's value written over another record (a misdirected write);
 * or with its newest batches gone —
 *   - `tail`: the batches back to the last signing one dropped whole, which is what LevelDB does
 *     with a log whose end was torn (a record failing LevelDB's own checksum is skipped, so no
 *     record of ours shows damage). The nemesis suite's torn-WAL fault found the guard forgiving
 *     this as a crash between the WAL batch and the fence write.
 * The WAL frames every record with a checksum over its key and payload (src/runtime/wal-records.ts),
 * and the sign fence counts signing batches, so each of these must be noticed when the node starts
 * again: the simulator checks that the
 * restarted validator refuses to sign what it may have signed before (its sign fence is up), and
 * its double-sign and agreement checkers check that nothing it does afterwards breaks safety.
 *
 * Chain-store records are not damaged here: a lost unsynced chain write is the `crash` fault's
 * (`loseUnsynced`), and the chain store checks its head against its own hashes when it opens.
 */

import type { Rng } from '../../consensus/rng.ts';
import { equalBytes, utf8 } from '../../crypto/bytes.ts';
import { type KvOp, MemoryKvStore } from '../../ledger/kv.ts';
import { undoOf } from './undoable-store.ts';

export const WAL_DAMAGE_KINDS = ['flip', 'torn', 'misdirect', 'tail'] as const;

/** Batches a journaled WAL can drop from its end. */
const JOURNAL_DEPTH = 16;
/** The marker of a batch the sign fence counts: a signing batch, or a recovery (signing-guard.ts). */
const SIGNING_MARKER = utf8('w/seqs/');

const isSigningMarker = (key: Uint8Array) =>
  key.length > SIGNING_MARKER.length && equalBytes(key.subarray(0, SIGNING_MARKER.length), SIGNING_MARKER);

/** A simulated WAL that remembers how to undo its newest batches (for the `tail` fault). */
export class JournaledKvStore extends MemoryKvStore {
  readonly #journal: Array<{ undo: KvOp[]; signing: boolean }> = [];

  override async batch(ops: readonly KvOp[]): Promise<void> {
    const undo = undoOf(this, ops);
    this.batchSync(ops);
    this.#journal.push({
      undo,
      signing: ops.some((op) => op.type === 'put' && isSigningMarker(op.key)),
    });
    if (this.#journal.length > JOURNAL_DEPTH) this.#journal.shift();
  }

  /**
   * Drops the newest batches back to and including the last one the sign fence counts (it put a
   * marker: a signing batch or a recovery): how many, or 0 if none is journaled.
   */
  dropTail(): number {
    const last = this.#journal.findLastIndex((b) => b.signing);
    if (last < 0) return 0;
    const dropped = this.#journal.splice(last);
    for (const b of dropped.reverse()) this.batchSync(b.undo);
    return dropped.length;
  }
}
/**
 * `lose` deletes a record outright — a fault no per-record checksum can see, outside the model
 * (a batch is atomic, so a record never vanishes without its batch's marker): the negative
 * control of the simulator's check that damage is noticed.
 */
export type WalDamageKind = (typeof WAL_DAMAGE_KINDS)[number] | 'lose';

export interface WalDamage {
  readonly kind: WalDamageKind;
  /** The damaged record's key (latin1, for the trace and messages); for `tail`, how many batches went. */
  readonly key: string;
}

/**
 * Damages one record of `wal` (all under `w/`), chosen by `rng` (and the kind too, unless given);
 * undefined when the WAL holds nothing that the kind can damage.
 */
export async function damageWal(
  wal: MemoryKvStore,
  rng: Rng,
  kind: WalDamageKind = WAL_DAMAGE_KINDS[rng.int(WAL_DAMAGE_KINDS.length)] as WalDamageKind,
): Promise<WalDamage | undefined> {
  if (kind === 'tail') {
    const dropped = wal instanceof JournaledKvStore ? wal.dropTail() : 0;
    return dropped === 0 ? undefined : { kind, key: `${dropped} batches` };
  }
  const records: Array<readonly [Uint8Array, Uint8Array]> = [];
  for await (const entry of wal.iterate(utf8('w/'))) records.push(entry);
  if (kind === 'lose') {
    // A record the engine or the guard relies on (markers and the format mark carry nothing).
    const kept = records.filter(([k]) => /^w\/(engine|guard)\//.test(Buffer.from(k).toString('latin1')));
    if (kept.length === 0) return undefined;
    const [key] = kept[rng.int(kept.length)] as readonly [Uint8Array, Uint8Array];
    wal.batchSync([{ type: 'del', key }]);
    return { kind, key: Buffer.from(key).toString('latin1') };
  }
  if (records.length === 0) return undefined;
  const [key, value] = records[rng.int(records.length)] as readonly [Uint8Array, Uint8Array];
  let damaged: Uint8Array;
  if (kind === 'flip') {
    damaged = value.slice();
    const bit = rng.int(damaged.length * 8);
    damaged[bit >> 3] = (damaged[bit >> 3] as number) ^ (1 << (bit & 7));
  } else if (kind === 'torn') {
    damaged = value.slice(0, rng.int(value.length));
  } else {
    const others = records.filter(([k, v]) => k !== key && !equalBytes(v, value));
    if (others.length === 0) return undefined;
    damaged = (others[rng.int(others.length)] as readonly [Uint8Array, Uint8Array])[1];
  }
  wal.batchSync([{ type: 'put', key, value: damaged }]);
  return { kind, key: Buffer.from(key).toString('latin1') };
}
