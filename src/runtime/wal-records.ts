/**
 * The consensus WAL's record frame. Every value the runtime keeps in the WAL (the engine's records,
 * the double-sign guard, the signing-batch markers, the fence bound) is stored as
 *
 *   version (1 byte) ‖ checksum (8 bytes: SHA-256(key ‖ payload), first 8 bytes) ‖ payload
 *
 * The checksum covers the key, so a record written under another key (a misdirected write) fails
 * it as a flipped bit or a torn value does. LevelDB checks its own log's CRCs, but not every table
 * block on read, and says nothing about a record a buggy disk or a restored file put in the wrong
 * place; TigerBeetle's lesson is to checksum what you rely on, at the layer that relies on it.
 *
 * A damaged record is never handed on: reads skip it and remember its key (`damaged`), and the
 * double-sign guard treats it as lost records (signing-guard.ts) — the validator refuses every slot
 * it may have signed until the chain has moved past them, since the damaged record may have been a
 * lock or a vote it must not forget. Records LevelDB itself dropped from its log on opening (a CRC
 * failure it skips silently) count the same: the store reports them (`KvStore.droppedOnOpen`), or
 * a flipped tail that held no signing batch would go unnoticed beside an intact sign fence.
 *
 * `w/meta/format` marks a framed WAL; a WAL written before frames (records, no mark) is framed in
 * one atomic batch when opened.
 */
import { concatBytes, equalBytes, fromUtf8, toHex, utf8 } from '../../crypto/bytes.ts';
import { sha256 } from '../../crypto/hash.ts';
import type { KvIterateOptions, KvOp, KvStore } from '../../ledger/kv.ts';

const FRAME_VERSION = 1;
const CHECKSUM_BYTES = 8;
const HEADER_BYTES = 1 + CHECKSUM_BYTES;
const WAL_PREFIX = utf8('w/');
export const FORMAT_KEY = utf8('w/meta/format');

function checksum(key: Uint8Array, payload: Uint8Array): Uint8Array {
  return sha256(concatBytes(key, payload)).subarray(0, CHECKSUM_BYTES);
}

/** The stored form of `payload` under `key`. */
export function frameRecord(key: Uint8Array, payload: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([FRAME_VERSION]), checksum(key, payload), payload);
}

/** The payload of a stored value, or undefined if it is not an intact frame for `key`. */
export function unframeRecord(key: Uint8Array, stored: Uint8Array): Uint8Array | undefined {
  if (stored.length < HEADER_BYTES || stored[0] !== FRAME_VERSION) return undefined;
  const payload = stored.subarray(HEADER_BYTES);
  return equalBytes(stored.subarray(1, HEADER_BYTES), checksum(key, payload)) ? payload : undefined;
}

/** A KvStore view of the WAL that frames what it writes and checks what it reads. */
export class CheckedWal implements KvStore {
  readonly #kv: KvStore;
  readonly #damaged = new Map<string, Uint8Array>();
  /** Records LevelDB dropped from its own log as it opened: lost without a key to name. */
  #dropped: string[] = [];
  #opened = false;
  #created = false;

  constructor(kv: KvStore) {
    this.#kv = kv;
  }

  /** Frames a WAL from before frames (once, atomically). Idempotent. */
  /**
   * Whether this open found no WAL at all (no mark, no record) and began one. Beside a sign fence
   * that counted signing batches, that is a WAL deleted, not a crash before its first write: the
   * first open writes the mark before anything is signed.
   */
  get created(): boolean {
    return this.#created;
  }

  async open(): Promise<{ migrated: number }> {
    if (this.#opened) return { migrated: 0 };
    this.#opened = true;
    this.#dropped = (this.#kv.droppedOnOpen?.() ?? []).map((d) =>
      d.file === ''
        ? `LevelDB ignored an error on open (${d.reason})`
        : `LevelDB log ${d.file}: ${d.bytes} bytes dropped (${d.reason})`,
    );
    const mark = await this.#kv.get(FORMAT_KEY);
    if (mark !== undefined) {
      // Damaged, the mark still says the WAL is framed: it is written back whole, and the damage
      // is reported with the rest (a disk that damaged one record may have damaged others).
      if (this.#check(FORMAT_KEY, mark) === undefined)
        await this.#kv.batch([
          { type: 'put', key: FORMAT_KEY, value: frameRecord(FORMAT_KEY, new Uint8Array(0)) },
        ]);
      return { migrated: 0 };
    }
    const ops: KvOp[] = [];
    for await (const [key, value] of this.#kv.iterate(WAL_PREFIX))
      ops.push({ type: 'put', key, value: frameRecord(key, value) });
    this.#created = ops.length === 0;
    ops.push({ type: 'put', key: FORMAT_KEY, value: frameRecord(FORMAT_KEY, new Uint8Array(0)) });
    await this.#kv.batch(ops);
    return { migrated: ops.length - 1 };
  }

  /**
   * Keys (utf8, or hex where not printable) of the records that failed their checksum so far, and
   * each stretch of LevelDB's log that failed its own checksum when the WAL opened. Either may
   * have held what this validator signed: the signing guard counts both as lost.
   */
  damaged(): string[] {
    return [...this.#damaged.keys(), ...this.#dropped];
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const stored = await this.#kv.get(key);
    return stored === undefined ? undefined : this.#check(key, stored);
  }

  async *iterate(
    prefix: Uint8Array,
    opts?: KvIterateOptions,
  ): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    for await (const [key, stored] of this.#kv.iterate(prefix, opts)) {
      const payload = this.#check(key, stored);
      if (payload !== undefined) yield [key, payload];
    }
  }

  batch(ops: readonly KvOp[]): Promise<void> {
    return this.#kv.batch(
      ops.map((op) =>
        op.type === 'put' ? { type: 'put', key: op.key, value: frameRecord(op.key, op.value) } : op,
      ),
    );
  }

  /**
   * Deletes the damaged records found so far (they were never used), and acknowledges what the
   * store dropped on opening: called once the loss is accounted for (the guard's bound durable),
   * so a start that fails before then reports it again.
   */
  async dropDamaged(): Promise<void> {
    const keys = [...this.#damaged.values()].filter((k) => !equalBytes(k, FORMAT_KEY));
    if (keys.length > 0) await this.#kv.batch(keys.map((key) => ({ type: 'del', key })));
    if (this.#dropped.length > 0) await this.#kv.acknowledgeDrops?.();
  }

  close(): Promise<void> {
    return this.#kv.close();
  }

  #check(key: Uint8Array, stored: Uint8Array): Uint8Array | undefined {
    const payload = unframeRecord(key, stored);
    if (payload === undefined) this.#damaged.set(keyLabel(key), key);
    return payload;
  }
}

/** WAL keys are ASCII prefixes followed by ASCII or binary parts: printable as `w/guard/0x…`. */
function keyLabel(key: Uint8Array): string {
  let split = key.length;
  for (let i = 0; i < key.length; i++)
    if ((key[i] as number) < 0x20 || (key[i] as number) > 0x7e) {
      split = i;
      break;
    }
  const text = fromUtf8(key.subarray(0, split));
  return split === key.length ? text : `${text}0x${toHex(key.subarray(split))}`;
}
