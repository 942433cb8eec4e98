/**
 * The one codec for what engines keep in the WAL (votes, locks, views, blocks in flight): a record
 * is the RLP list [version, ...fields], decoded strictly under a size cap. An engine declares a
 * schema per record kind — the version it writes, the older versions it still reads (a node
 * upgraded in place resumes from what the old code wrote), how fields map to its type — and gets
 * encode/decode with the same checks and typed errors for every engine.
 *
 * Integrity is the runtime's job (every WAL record is checksummed, src/runtime/wal-records.ts); a
 * record that decodes badly here is a bug or a version this code does not know. A safety record
 * (a lock, a vote, prepared certificates) that does not decode halts the node — the decode error
 * escapes the engine's start, and the runtime stops with it — since resuming without it could
 * break agreement; a helper record (a block that can be fetched again) is skipped (`readRecord`).
 */
import {
  asList,
  asSafeUint,
  DecodeError,
  type RlpInput,
  type RlpItem,
  rlpDecodeStrict,
  rlpEncode,
} from '../ledger/codec.ts';

export interface RecordSchema<T> {
  /** For messages: `engine record-kind`. */
  readonly name: string;
  /** The version written. */
  readonly version: number;
  /** Versions read besides `version` (older formats still found in WALs). */
  readonly alsoReads?: readonly number[];
  readonly maxBytes: number;
  /** The fields after the version. */
  encode(value: T): RlpInput[];
  /** `fields` are the items after the version; throw DecodeError (the as* helpers do) on bad ones. */
  decode(fields: RlpItem[], version: number): T;
}

export function encodeRecord<T>(schema: RecordSchema<T>, value: T): Uint8Array {
  return rlpEncode([schema.version, ...schema.encode(value)]);
}

/** Decodes a record of `schema`; a DecodeError says what is wrong (size, shape, an unknown version). */
export function decodeRecord<T>(schema: RecordSchema<T>, bytes: Uint8Array): T {
  const items = asList(rlpDecodeStrict(bytes, schema.maxBytes, schema.name), schema.name);
  if (items.length === 0) throw new DecodeError('MALFORMED', `${schema.name}: empty record`);
  const version = asSafeUint(items[0], `${schema.name} version`);
  if (version !== schema.version && !(schema.alsoReads ?? []).includes(version))
    throw new DecodeError('MALFORMED', `${schema.name}: version ${version} is not one this code reads`, {
      version,
      reads: [schema.version, ...(schema.alsoReads ?? [])],
    });
  return schema.decode(items.slice(1), version);
}

/** A record read back on start: its value, or why it was not usable (for the engine's log). */
export function readRecord<T>(
  schema: RecordSchema<T>,
  bytes: Uint8Array | undefined,
): { value: T } | { error: string } | undefined {
  if (bytes === undefined) return undefined;
  try {
    return { value: decodeRecord(schema, bytes) };
  } catch (e) {
    if (e instanceof DecodeError) return { error: e.message };
    throw e;
  }
}
