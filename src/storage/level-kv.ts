/**
 * KvStore on LevelDB (classic-level via `level`). The only module that imports `level`.
 * LevelDB write batches are atomic; `sync: true` makes `batch` return only once the write-ahead
 * log is fsynced, which is what "a crash at any instant loses nothing acknowledged" needs.
 *
 * Every failure of LevelDB leaves this module as a `StorageError` (see `storageErrorFrom`): the
 * node's own disk failed, which callers must never mistake for a peer's misbehaviour.
 */
import { type FileHandle, open, readFile, rm } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { basename, join } from 'node:path';
import { Level } from 'level';
import {
  type KvIterateOptions,
  type KvOp,
  type KvStore,
  type RecoveryDrop,
  StorageError,
} from '../../ledger/kv.ts';

export interface LevelKvStoreOptions {
  /** fsync every batch (default true). Benchmarks may turn it off to measure the structure itself. */
  readonly sync?: boolean;
  /**
   * Bytes LevelDB gathers in memory (and in its log) before it writes them out as a sorted table
   * (LevelDB's default, 4 MiB, when absent): an integer from 64 KiB to 1 GiB, LevelDB's own bounds.
   * Every table written to level 0 is later merged with the level-1 tables it overlaps (with random
   * keys, all of them), so fewer, larger ones cost fewer rewrites; the price is this much memory
   * twice over (the table being filled and the one being written) and a longer log to replay at open.
   */
  readonly writeBufferBytes?: number;
}

/**
 * What LevelDB's table writing read and wrote, in MiB (LevelDB divides by 2^20 and rounds each
 * level to a whole MiB), summed over its levels: its flushes of the in-memory table and its merges
 * of one level into the next (a flush may land in level 0, 1 or 2, so the two are not told apart by
 * level). Written over what came in is its write amplification.
 */
export interface CompactionTotals {
  readonly readMb: number;
  readonly writtenMb: number;
}

/**
 * Reads LevelDB's `leveldb.stats` table (db_impl.cc: one row per level with files, size,
 * seconds, MiB read and MiB written). Undefined if the text has no such row.
 */
export function compactionTotals(stats: string): CompactionTotals | undefined {
  let readMb = 0;
  let writtenMb = 0;
  let rows = 0;
  for (const line of stats.split('\n')) {
    const m = /^\s*\d+\s+\d+\s+\d+\s+\d+\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m === null) continue;
    rows++;
    readMb += Number(m[1]);
    writtenMb += Number(m[2]);
  }
  return rows === 0 ? undefined : { readMb, writtenMb };
}

/** The store operation that failed, as named in `StorageError` messages and `meta.op`. */
export type LevelKvOp = 'open' | 'get' | 'batch' | 'iterate' | 'close' | 'stats';

interface ErrorLike {
  readonly code?: unknown;
  readonly errno?: unknown;
  readonly message?: unknown;
  readonly cause?: unknown;
  readonly errors?: unknown;
}

/**
 * The error and everything it wraps: abstract-level wraps open/close failures as
 * LEVEL_DATABASE_NOT_OPEN / LEVEL_DATABASE_NOT_CLOSED with the real error in `cause`, and may
 * combine several errors into one iterable CombinedError (AggregateError keeps them in `errors`).
 */
function errorChain(e: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  const todo: unknown[] = [e];
  while (todo.length > 0 && out.length < 16) {
    const x = todo.shift();
    if (typeof x !== 'object' || x === null || out.includes(x as ErrorLike)) continue;
    const err = x as ErrorLike;
    out.push(err);
    if (err.cause !== undefined) todo.push(err.cause);
    if (Array.isArray(err.errors)) todo.push(...err.errors);
    else if (x instanceof Error && Symbol.iterator in x) todo.push(...(x as unknown as Iterable<unknown>));
  }
  return out;
}

const codeOf = (e: ErrorLike): string => (typeof e.code === 'string' ? e.code : '');
const messageOf = (e: ErrorLike): string =>
  (typeof e.message === 'string' ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim();

const ENOSPC = osConstants.errno.ENOSPC;
const EDQUOT = osConstants.errno.EDQUOT;

function isNoSpace(e: ErrorLike): boolean {
  const code = codeOf(e);
  if (code === 'ENOSPC' || code === 'EDQUOT') return true;
  // Node reports errno negated (libuv), some callers positive.
  if (typeof e.errno === 'number' && (Math.abs(e.errno) === ENOSPC || Math.abs(e.errno) === EDQUOT))
    return true;
  // LevelDB's own I/O errors carry strerror text only: "IO error: <file>: No space left on device".
  return /ENOSPC|no space left on device|disk quota exceeded/i.test(messageOf(e));
}

// classic-level (binding.cc) turns a LevelDB lock failure into LEVEL_LOCKED by matching these
// prefixes (env_posix.cc / env_win.cc); match them too in case an error arrives uncoded.
const isLocked = (e: ErrorLike): boolean =>
  codeOf(e) === 'LEVEL_LOCKED' || /^IO error: (lock|LockFile) /.test(messageOf(e));
const isCorrupt = (e: ErrorLike): boolean =>
  codeOf(e) === 'LEVEL_CORRUPTION' || messageOf(e).startsWith('Corruption: ');
/** Used after close: the database (LEVEL_DATABASE_NOT_OPEN without a cause) or an iterator it closed. */
const isClosed = (e: ErrorLike): boolean =>
  (codeOf(e) === 'LEVEL_DATABASE_NOT_OPEN' && e.cause === undefined) ||
  codeOf(e) === 'LEVEL_ITERATOR_NOT_OPEN';

/**
 * Classifies a failure of a LevelDB store at `path` as a `StorageError`: lock held elsewhere →
 * STORAGE_LOCKED, LevelDB corruption → STORAGE_CORRUPT, no space → STORAGE_FULL, used after close
 * → STORAGE_CLOSED, anything else → STORAGE_IO. `meta.cause` keeps the innermost "CODE: message".
 */
export function storageErrorFrom(e: unknown, path: string, op: LevelKvOp): StorageError {
  if (e instanceof StorageError) return e;
  const chain = errorChain(e);
  const root = chain.at(-1);
  const rootMessage = root === undefined ? String(e) : messageOf(root);
  const cause = root === undefined || codeOf(root) === '' ? rootMessage : `${codeOf(root)}: ${rootMessage}`;
  const meta = { path, op, cause };
  let err: StorageError;
  const some = (f: (x: ErrorLike) => boolean): boolean => chain.some(f);
  if (some(isLocked)) {
    err = new StorageError(
      'STORAGE_LOCKED',
      `${path} is locked by another process: a node is probably already running with this home (stop it first)`,
      meta,
    );
  } else if (some(isCorrupt)) {
    const what = chain.find(isCorrupt) as ErrorLike;
    err = new StorageError(
      'STORAGE_CORRUPT',
      `${path} is damaged (${messageOf(what)}): restore it from a backup, or for the chain store delete it and let block sync rebuild it (keep the consensus WAL)`,
      meta,
    );
  } else if (some(isNoSpace)) {
    err = new StorageError(
      'STORAGE_FULL',
      `no space left on the device holding ${path}: free space, then restart the node`,
      meta,
    );
  } else if (chain.length > 0 && isClosed(chain[0] as ErrorLike)) {
    err = new StorageError('STORAGE_CLOSED', `${op} on ${path} after the store was closed`, meta);
  } else {
    err = new StorageError('STORAGE_IO', `${op} failed on ${path}: ${rootMessage}`, meta);
  }
  // The original error, for a debugger or a log that prints causes; not part of meta (keeps it JSON).
  Object.defineProperty(err, 'cause', { value: e, enumerable: false, configurable: true, writable: true });
  return err;
}

/**
 * What LevelDB's recovery threw away, from its info log (`LOG`, begun afresh by every open).
 * Without paranoid checks (which classic-level does not expose) `db_impl.cc` goes on past both:
 * each stretch of a replayed log that failed its CRC or framing ("<file>: dropping <n> bytes;
 * <status>"), and an error it chose to ignore ("Ignoring error <status>": a log it could not read,
 * a damaged batch). A tail cut short by a crash is not reported: with fsync, never acknowledged.
 */
export function recoveryDrops(infoLog: string): RecoveryDrop[] {
  const drops: RecoveryDrop[] = [];
  for (const m of infoLog.matchAll(
    /^\S+ \S+ (?:(?:\(ignoring error\) )?(.+?): dropping (\d+) bytes; (.+)|Ignoring error (.+))$/gm,
  ))
    drops.push(
      m[4] === undefined
        ? { file: basename(m[1] as string), bytes: Number(m[2]), reason: (m[3] as string).trim() }
        : { file: '', bytes: 0, reason: m[4].trim() },
    );
  return drops;
}

/** LevelDB's info log as this open left it (its first 1 MiB: recovery writes first), or ''. */
async function infoLogAfterOpen(path: string): Promise<string> {
  let f: FileHandle | undefined;
  try {
    f = await open(join(path, 'LOG'), 'r');
    const buf = Buffer.allocUnsafe(1 << 20);
    const { bytesRead } = await f.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } catch (e) {
    if (isMissing(e)) return ''; // (no info log: nothing said)
    throw e;
  } finally {
    await f?.close().catch(() => undefined);
  }
}

/**
 * Drops are kept beside the store (in `RECOVERY-DROPS`, a name LevelDB leaves alone) until the
 * owner acknowledges them: LevelDB writes the recovered log out to a table and deletes it while
 * opening, so the next open has nothing to say — a start that failed before the drop was dealt
 * with (the consensus WAL's signing guard) must not take the report with it.
 */
const DROPS_FILE = 'RECOVERY-DROPS';

const isMissing = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** The drops kept and not yet acknowledged (a file that cannot be read is a failed open). */
async function loadKeptDrops(path: string): Promise<RecoveryDrop[]> {
  let text: string;
  try {
    text = await readFile(join(path, DROPS_FILE), 'utf8');
  } catch (e) {
    if (isMissing(e)) return [];
    throw e;
  }
  const drops: RecoveryDrop[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const d = JSON.parse(line) as Partial<RecoveryDrop>;
      drops.push({
        file: typeof d.file === 'string' ? d.file : '',
        bytes: typeof d.bytes === 'number' ? d.bytes : 0,
        reason: typeof d.reason === 'string' ? d.reason : 'unreadable entry',
      });
    } catch {
      // A torn line of our own file still says something was dropped.
      drops.push({ file: '', bytes: 0, reason: `unreadable ${DROPS_FILE} entry` });
    }
  }
  return drops;
}

/** Appends `drops` to the kept ones, durably (the file and its directory entry fsynced). */
async function keepDrops(path: string, drops: readonly RecoveryDrop[]): Promise<void> {
  const f = await open(join(path, DROPS_FILE), 'a');
  try {
    await f.appendFile(drops.map((d) => `${JSON.stringify(d)}\n`).join(''));
    await f.sync();
  } finally {
    await f.close();
  }
  const dir = await open(path, 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function view(b: Uint8Array): Uint8Array {
  // level returns Buffers; hand out plain Uint8Array views so equality helpers behave the same.
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Smallest key greater than every key with this prefix, or undefined if there is none (all 0xff). */
function prefixUpperBound(prefix: Uint8Array): Uint8Array | undefined {
  const end = prefix.slice();
  for (let i = end.length - 1; i >= 0; i--) {
    if ((end[i] as number) < 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

interface LevelRange {
  gte: Uint8Array;
  lt?: Uint8Array;
  reverse: boolean;
  limit: number;
}

export class LevelKvStore implements KvStore {
  readonly #db: Level<Uint8Array, Uint8Array>;
  readonly #sync: boolean;
  #dropped: readonly RecoveryDrop[];
  /** The directory this store lives in (named by every StorageError it throws). */
  readonly path: string;

  private constructor(
    db: Level<Uint8Array, Uint8Array>,
    path: string,
    sync: boolean,
    dropped: readonly RecoveryDrop[],
  ) {
    this.#db = db;
    this.path = path;
    this.#sync = sync;
    this.#dropped = dropped;
  }

  static async open(path: string, opts: LevelKvStoreOptions = {}): Promise<LevelKvStore> {
    const buffer = opts.writeBufferBytes;
    // classic-level reads it as an unsigned 32-bit integer without checking, and LevelDB clips it:
    // a wrong value would be silently another one.
    if (buffer !== undefined && !(Number.isInteger(buffer) && buffer >= 2 ** 16 && buffer <= 2 ** 30))
      throw new RangeError(`writeBufferBytes must be an integer from 65536 to 2^30, got ${buffer}`);
    let db: Level<Uint8Array, Uint8Array>;
    try {
      db = new Level<Uint8Array, Uint8Array>(path, {
        keyEncoding: 'view',
        valueEncoding: 'view',
        ...(opts.writeBufferBytes === undefined ? {} : { writeBufferSize: opts.writeBufferBytes }),
      });
      await db.open();
    } catch (e) {
      throw storageErrorFrom(e, path, 'open');
    }
    try {
      const fresh = recoveryDrops(await infoLogAfterOpen(path));
      if (fresh.length > 0) await keepDrops(path, fresh);
      return new LevelKvStore(db, path, opts.sync ?? true, await loadKeptDrops(path));
    } catch (e) {
      await db.close().catch(() => undefined);
      throw storageErrorFrom(e, path, 'open');
    }
  }

  /**
   * What LevelDB threw away while opening this store, this time or at an earlier open whose
   * report was not acknowledged since (see `recoveryDrops`).
   */
  droppedOnOpen(): readonly RecoveryDrop[] {
    return this.#dropped;
  }

  /** What this store's flushes and merges have read and written since it opened (benchmarks). */
  compactions(): CompactionTotals | undefined {
    try {
      // `level` types its export for the browser too; on Node it is classic-level, which has this.
      const db = this.#db as unknown as { getProperty(name: string): string };
      return compactionTotals(db.getProperty('leveldb.stats'));
    } catch (e) {
      throw storageErrorFrom(e, this.path, 'stats');
    }
  }

  /** The drops are dealt with: later opens report only new ones. */
  async acknowledgeDrops(): Promise<void> {
    if (this.#dropped.length === 0) return;
    try {
      await rm(join(this.path, DROPS_FILE), { force: true });
    } catch (e) {
      throw storageErrorFrom(e, this.path, 'batch');
    }
    this.#dropped = [];
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    let v: Uint8Array | undefined;
    try {
      v = await this.#db.get(key);
    } catch (e) {
      throw storageErrorFrom(e, this.path, 'get');
    }
    return v === undefined ? undefined : view(v);
  }

  /**
   * One atomic LevelDB write batch, built through the chained form: its native `put` takes the key
   * and value as arguments, where the array form's reads `type`, `key` and `value` off every
   * operation object by name in C++ and costs the event loop about twice as much per operation
   * (1.8–2.3 µs against 0.8–0.9 here; a commit writes four or five per transaction).
   */
  async batch(ops: readonly KvOp[]): Promise<void> {
    if (ops.length === 0) return;
    try {
      const batch = this.#db.batch();
      try {
        for (const op of ops) {
          if (op.type === 'put') batch.put(op.key, op.value);
          else batch.del(op.key);
        }
      } catch (e) {
        // Nothing was written. Closing detaches the unwritten batch from the database (else it
        // stays referenced until the store closes); its native memory goes with the object.
        await batch.close().catch(() => undefined);
        throw e;
      }
      await batch.write({ sync: this.#sync });
    } catch (e) {
      throw storageErrorFrom(e, this.path, 'batch');
    }
  }

  async *iterate(
    prefix: Uint8Array,
    opts: KvIterateOptions = {},
  ): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    const upper = prefixUpperBound(prefix);
    const range: LevelRange = {
      gte: prefix,
      reverse: opts.reverse ?? false,
      limit: opts.limit ?? -1,
    };
    if (upper !== undefined) range.lt = upper;
    const it = this.#iterator(range);
    let finished = false;
    try {
      for (;;) {
        let entry: [Uint8Array, Uint8Array] | undefined;
        try {
          entry = await it.next();
        } catch (e) {
          throw storageErrorFrom(e, this.path, 'iterate');
        }
        if (entry === undefined) break;
        yield [view(entry[0]), view(entry[1])] as const;
      }
      finished = true;
      try {
        await it.close();
      } catch (e) {
        throw storageErrorFrom(e, this.path, 'iterate');
      }
    } finally {
      // The consumer stopped early, or a read failed (that error is the one worth seeing).
      if (!finished) await it.close().catch(() => {});
    }
  }

  #iterator(range: LevelRange) {
    try {
      return this.#db.iterator(range);
    } catch (e) {
      throw storageErrorFrom(e, this.path, 'iterate');
    }
  }

  async close(): Promise<void> {
    try {
      await this.#db.close();
    } catch (e) {
      throw storageErrorFrom(e, this.path, 'close');
    }
  }
}
