/**
 * `verity snapshot save` and `verity snapshot restore`: a node's chain store (HOME/data/chain: its
 * blocks, certificates, indexes, state trie and logs, one LevelDB) copied into one file while the
 * node is stopped, and put back — etcd's `snapshot save/restore`, for backups and for starting a
 * node from a known point. (Not the state-sync snapshot of ledger/snapshot.ts, which peers send
 * each other: this is the operator's copy of the store's files.)
 *
 * The file, format 1:
 *
 *   "VRTYSNAP" (8 bytes) ‖ format (u32 big-endian, 1) ‖ header length N (u32 big-endian)
 *   ‖ header (N bytes of UTF-8 JSON) ‖ each file's bytes, back to back, in the header's order
 *   ‖ SHA-256 of every byte before it (32 bytes)
 *
 *   header = { chainId, genesisHash, height, headHash, stateRoot, createdAt,
 *              files: [{ path, size, sha256 }] }     (hashes in lowercase hex; paths relative to
 *                                                     data/chain, '/'-separated)
 *
 * Saved: every file of data/chain but LevelDB's LOCK and its text logs (LOG, LOG.old). Not saved:
 * keys/ (with the sign fence), config.toml, genesis.json, the consensus WAL (data/wal) — a snapshot
 * holds only what any node of the chain could give back, nothing that identifies this one.
 *
 * A snapshot to restore is hostile input until proven otherwise. Before anything in the home is
 * touched: the header is bounded (MAX_HEADER_BYTES, MAX_FILES) and strictly parsed, every path
 * checked (relative, plain names, no `.`/`..`, no duplicates), the sizes must add up to the file's
 * length exactly, the chain must be the home's (chain id and genesis hash), and one full pass
 * checks every file's SHA-256 and the whole file's. Then it is extracted into a new directory
 * inside HOME/data (beside data/chain, on the same filesystem, so the swap is a rename) — checked
 * again as it is written, in case the file changed meanwhile — and the chain store there is opened
 * (its integrity checks run: genesis, head, log and history roots, state root present) on a write
 * overlay that is never flushed; its head must be the header's, and on a chain without staking the
 * head's commit certificate must verify against genesis' validators. Only then is the WAL dropped
 * the way `verity reset` drops it (the sign fence sealed first: chain-data.ts) and the new store
 * renamed into place. A crash in between leaves either the old chain or the new one, never a mix,
 * and never a WAL beside the wrong chain.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import {
  chmod,
  type FileHandle,
  lstat,
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  statfs,
} from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { engineNames, getEngine } from '../../consensus/registry.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { equalBytes, toHex } from '../../crypto/bytes.ts';
import { VerityError } from '../../crypto/errors.ts';
import { verifyCertificate } from '../../ledger/certificate.ts';
import { ChainError, type ChainOptions, ChainStore } from '../../ledger/chain.ts';
import { type Genesis, genesisBlock, parseGenesis } from '../../ledger/genesis.ts';
import { StagedKvStore, StorageError } from '../../ledger/kv.ts';
import type { SignFence } from '../runtime/sign-fence.ts';
import { LevelKvStore } from '../storage/level-kv.ts';
import { diskSize, fenceStore, loneValidator, removeAfterSealing } from './chain-data.ts';
import { chainStoreKvOptions, nodeChainOptions } from './chain-store-options.ts';
import { loadConfig, type NodeConfig } from './config.ts';
import { NodeApiError } from './errors.ts';
import { type HomePaths, homePaths } from './home.ts';
import { HomeLock, nodeRunningError, posixLockHolder } from './home-lock.ts';

export const SNAPSHOT_MAGIC = 'VRTYSNAP';
export const SNAPSHOT_FORMAT = 1;
/** Magic, format and header length. */
export const SNAPSHOT_PREFIX_BYTES = 16;
export const MAX_HEADER_BYTES = 16 * 1024 * 1024;
export const MAX_FILES = 100_000;
export const MAX_PATH_CHARS = 255;
const MAX_PATH_DEPTH = 4;
/** No snapshot this size is a chain store anyone has: a header claiming more is refused. */
export const MAX_SNAPSHOT_BYTES = 2 ** 42;
/** LevelDB files that are not data: its process lock and its text logs. */
const NOT_SAVED = new Set(['LOCK', 'LOG', 'LOG.old']);
const CHUNK = 1024 * 1024;
/** Inside HOME/data: a snapshot being extracted, and the chain store it replaced (until removed). */
const STAGING = '.chain-restore-';
const REPLACED = '.chain-replaced-';
/** One path segment: a plain file name (LevelDB's are CURRENT, MANIFEST-000002, 000005.ldb…). */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Every refusal and failure of save and restore. `meta.refusal`: nothing was touched and the
 * invocation is what is wrong (exit 2, like a running node); `meta.usage`: a usage error (exit 2
 * with the usage line). Otherwise exit 1: the snapshot (or the chain saved) is corrupt, not this
 * chain's, or does not hold what it says.
 */
export type SnapshotErrorCode =
  /** Not a snapshot, an unknown format version, or a header that does not parse. */
  | 'SNAPSHOT_FORMAT'
  /** The header or the file is over a limit. */
  | 'SNAPSHOT_TOO_LARGE'
  /** A file path that is absolute, climbs out (`..`), repeats, or is not a plain name. */
  | 'SNAPSHOT_BAD_PATH'
  /** A checksum or the length does not match: the file was damaged or changed. */
  | 'SNAPSHOT_CORRUPT'
  /** The snapshot is of another chain than the home's genesis. */
  | 'SNAPSHOT_OTHER_CHAIN'
  /** The chain store inside does not open, or its head is not the header's. */
  | 'SNAPSHOT_INVALID'
  /** The snapshot file cannot be read (usage). */
  | 'SNAPSHOT_UNREADABLE'
  /** --out exists (usage: --force). */
  | 'OUTPUT_EXISTS'
  /** --out is inside the chain directory being saved (usage). */
  | 'OUTPUT_INSIDE_CHAIN'
  /** --home is not a node home (usage). */
  | 'NOT_A_HOME'
  /** Save: the home holds no chain data (refusal). */
  | 'NO_CHAIN_DATA'
  /** Save: data/chain holds something a snapshot cannot carry (a link, an odd name), or it changed. */
  | 'SNAPSHOT_SOURCE'
  /** Restore: the home holds the only validator of its chain, which has signed (refusal). */
  | 'ONLY_VALIDATOR'
  /** Restore: data/chain is on another filesystem than data/, so it cannot be swapped (refusal). */
  | 'CHAIN_NOT_SWAPPABLE'
  /** Restore: not enough free space beside data/chain for the extracted store. */
  | 'NO_SPACE';

export class SnapshotError extends VerityError<SnapshotErrorCode> {}

const corrupt = (message: string, meta: Record<string, unknown> = {}) =>
  new SnapshotError('SNAPSHOT_CORRUPT', message, meta);

export interface SnapshotFileEntry {
  /** Relative to data/chain, '/'-separated. */
  readonly path: string;
  readonly size: number;
  /** SHA-256 of the file's bytes, lowercase hex. */
  readonly sha256: string;
}

export interface SnapshotHeader {
  readonly chainId: string;
  /** Hash of the chain's genesis block (what the chain store records as its genesis). */
  readonly genesisHash: string;
  readonly height: number;
  readonly headHash: string;
  readonly stateRoot: string;
  /** When it was saved (ISO 8601), as the CLI said: informative only. */
  readonly createdAt: string;
  readonly files: readonly SnapshotFileEntry[];
}

// ---------------------------------------------------------------------------------------------
// The format

/** The bytes before the files: magic, format, header length, header. */
export function encodeSnapshotPrefix(header: SnapshotHeader): Uint8Array {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const prefix = Buffer.alloc(SNAPSHOT_PREFIX_BYTES);
  prefix.write(SNAPSHOT_MAGIC, 0, 'latin1');
  prefix.writeUInt32BE(SNAPSHOT_FORMAT, 8);
  prefix.writeUInt32BE(json.length, 12);
  return Buffer.concat([prefix, json]);
}

/** Throws SNAPSHOT_BAD_PATH unless `path` is a plain relative path (see SEGMENT). */
export function checkEntryPath(path: unknown): string {
  const bad = (why: string) =>
    new SnapshotError('SNAPSHOT_BAD_PATH', `file path ${JSON.stringify(path)} in the snapshot: ${why}`, {
      path,
    });
  if (typeof path !== 'string' || path.length === 0) throw bad('not a path');
  if (path.length > MAX_PATH_CHARS) throw bad(`longer than ${MAX_PATH_CHARS} characters`);
  if (path.startsWith('/') || path.includes('\\') || path.includes('\0')) throw bad('not a relative path');
  const parts = path.split('/');
  if (parts.length > MAX_PATH_DEPTH) throw bad(`nested deeper than ${MAX_PATH_DEPTH}`);
  for (const part of parts) {
    if (part === '..' || part === '.') throw bad('it climbs out of the chain directory');
    if (!SEGMENT.test(part)) throw bad('only plain file names (letters, digits, . _ -) may appear');
  }
  return path;
}

const HEX32 = /^[0-9a-f]{64}$/;

function field<T>(o: Record<string, unknown>, name: string, ok: (v: unknown) => boolean, what: string): T {
  const v = o[name];
  if (!ok(v)) throw new SnapshotError('SNAPSHOT_FORMAT', `snapshot header: ${name} must be ${what}`);
  return v as T;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isHex32 = (v: unknown) => typeof v === 'string' && HEX32.test(v);
const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function exactKeys(o: Record<string, unknown>, keys: readonly string[], where: string): void {
  const extra = Object.keys(o).filter((k) => !keys.includes(k));
  if (extra.length > 0)
    throw new SnapshotError('SNAPSHOT_FORMAT', `snapshot header: unknown field ${extra[0]} in ${where}`);
}

/** The header, strictly: every field of its type, nothing else, every path checked, no repeats. */
export function parseSnapshotHeader(json: unknown): SnapshotHeader {
  if (!isObject(json)) throw new SnapshotError('SNAPSHOT_FORMAT', 'snapshot header: not an object');
  exactKeys(
    json,
    ['chainId', 'genesisHash', 'height', 'headHash', 'stateRoot', 'createdAt', 'files'],
    'the header',
  );
  const chainId = field<string>(
    json,
    'chainId',
    (v) => typeof v === 'string' && v.length > 0 && v.length <= 128,
    'a chain id',
  );
  const files = field<unknown[]>(json, 'files', Array.isArray, 'a list');
  if (files.length > MAX_FILES)
    throw new SnapshotError(
      'SNAPSHOT_TOO_LARGE',
      `the snapshot lists ${files.length} files, more than ${MAX_FILES}`,
    );
  const seen = new Set<string>();
  const entries = files.map((f): SnapshotFileEntry => {
    if (!isObject(f))
      throw new SnapshotError('SNAPSHOT_FORMAT', 'snapshot header: a file entry is not an object');
    exactKeys(f, ['path', 'size', 'sha256'], 'a file entry');
    const path = checkEntryPath(f.path);
    if (seen.has(path))
      throw new SnapshotError('SNAPSHOT_BAD_PATH', `file path "${path}" appears twice in the snapshot`, {
        path,
      });
    seen.add(path);
    return {
      path,
      size: field<number>(f, 'size', isCount, 'a non-negative integer'),
      sha256: field<string>(f, 'sha256', isHex32, '64 lowercase hex digits'),
    };
  });
  // A path that is also another's directory ("a" and "a/b") could not both be written.
  for (const path of seen) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (seen.has(dir))
        throw new SnapshotError(
          'SNAPSHOT_BAD_PATH',
          `"${dir}" is both a file and a directory in the snapshot`,
          {
            path: dir,
          },
        );
    }
  }
  return {
    chainId,
    genesisHash: field<string>(json, 'genesisHash', isHex32, '64 lowercase hex digits'),
    height: field<number>(json, 'height', isCount, 'a non-negative integer'),
    headHash: field<string>(json, 'headHash', isHex32, '64 lowercase hex digits'),
    stateRoot: field<string>(json, 'stateRoot', isHex32, '64 lowercase hex digits'),
    createdAt: field<string>(json, 'createdAt', (v) => typeof v === 'string' && v.length <= 64, 'a time'),
    files: entries,
  };
}

/** An open snapshot file whose header has been read and checked (its contents not yet). */
export interface OpenSnapshot {
  readonly path: string;
  readonly header: SnapshotHeader;
  /** The whole file's length. */
  readonly size: number;
  /** Where the first file's bytes start. */
  readonly dataOffset: number;
  /** The files' bytes together. */
  readonly contentBytes: number;
  close(): Promise<void>;
  /** @internal */
  readonly fh: FileHandle;
}

async function readExactly(fh: FileHandle, buf: Uint8Array, length: number, position: number): Promise<void> {
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw corrupt(`the snapshot ends early, at byte ${position + done}`);
    done += bytesRead;
  }
}

/** Opens `path` and checks what can be checked without reading the files: see the module comment. */
export async function openSnapshot(path: string): Promise<OpenSnapshot> {
  let fh: FileHandle;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new SnapshotError(
      'SNAPSHOT_UNREADABLE',
      `cannot read the snapshot ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { usage: true, path },
    );
  }
  try {
    const st = await fh.stat();
    if (!st.isFile())
      throw new SnapshotError('SNAPSHOT_UNREADABLE', `${path} is not a file`, { usage: true, path });
    const notSnapshot = () =>
      new SnapshotError(
        'SNAPSHOT_FORMAT',
        `${path} is not a Verity snapshot (no "${SNAPSHOT_MAGIC}" at its start)`,
      );
    if (st.size < SNAPSHOT_PREFIX_BYTES + 32) throw notSnapshot();
    const prefix = Buffer.alloc(SNAPSHOT_PREFIX_BYTES);
    await readExactly(fh, prefix, SNAPSHOT_PREFIX_BYTES, 0);
    if (prefix.toString('latin1', 0, 8) !== SNAPSHOT_MAGIC) throw notSnapshot();
    const format = prefix.readUInt32BE(8);
    if (format !== SNAPSHOT_FORMAT)
      throw new SnapshotError(
        'SNAPSHOT_FORMAT',
        `${path} is a snapshot of format ${format}; this Verity reads format ${SNAPSHOT_FORMAT}`,
      );
    const headerBytes = prefix.readUInt32BE(12);
    if (headerBytes > MAX_HEADER_BYTES)
      throw new SnapshotError(
        'SNAPSHOT_TOO_LARGE',
        `the snapshot's header is ${headerBytes} bytes, more than ${MAX_HEADER_BYTES}`,
      );
    if (SNAPSHOT_PREFIX_BYTES + headerBytes + 32 > st.size)
      throw corrupt(`the snapshot ends inside its header (${st.size} bytes)`);
    const raw = Buffer.alloc(headerBytes);
    await readExactly(fh, raw, headerBytes, SNAPSHOT_PREFIX_BYTES);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
    } catch {
      throw new SnapshotError('SNAPSHOT_FORMAT', "the snapshot's header is not UTF-8 JSON");
    }
    const header = parseSnapshotHeader(json);
    const contentBytes = header.files.reduce((n, f) => n + f.size, 0);
    const dataOffset = SNAPSHOT_PREFIX_BYTES + headerBytes;
    if (!Number.isSafeInteger(contentBytes) || contentBytes > MAX_SNAPSHOT_BYTES)
      throw new SnapshotError(
        'SNAPSHOT_TOO_LARGE',
        `the snapshot's files add up to more than ${MAX_SNAPSHOT_BYTES} bytes`,
      );
    if (dataOffset + contentBytes + 32 !== st.size)
      throw corrupt(
        `the snapshot is ${st.size} bytes but its header accounts for ${dataOffset + contentBytes + 32}: truncated or appended to`,
      );
    return { path, header, size: st.size, dataOffset, contentBytes, fh, close: () => fh.close() };
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/** Where extracted bytes go, one file at a time. */
interface FileSink {
  write(chunk: Uint8Array): Promise<void>;
  /** Called once the file's bytes all passed: make them durable. */
  finish(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * Reads the whole snapshot once, checking every file's SHA-256 and the whole file's; with `sink`,
 * hands each file's bytes to it as they are read (a file whose hash then fails is aborted and the
 * pass fails). Nothing is written without a sink.
 */
export async function scanSnapshot(
  snap: OpenSnapshot,
  sink?: (entry: SnapshotFileEntry) => Promise<FileSink>,
): Promise<void> {
  const total = createHash('sha256');
  const buf = Buffer.allocUnsafe(CHUNK);
  let position = 0;
  const feed = async (length: number, each?: (chunk: Uint8Array) => Promise<void> | void) => {
    let left = length;
    while (left > 0) {
      const n = Math.min(CHUNK, left);
      await readExactly(snap.fh, buf, n, position);
      const chunk = buf.subarray(0, n);
      total.update(chunk);
      if (each !== undefined) await each(chunk);
      position += n;
      left -= n;
    }
  };
  await feed(snap.dataOffset);
  for (const entry of snap.header.files) {
    const hash = createHash('sha256');
    const out = sink === undefined ? undefined : await sink(entry);
    try {
      await feed(entry.size, async (chunk) => {
        hash.update(chunk);
        await out?.write(chunk);
      });
      if (hash.digest('hex') !== entry.sha256)
        throw corrupt(`${entry.path} in the snapshot does not match its SHA-256: the file is damaged`, {
          path: entry.path,
        });
    } catch (e) {
      await out?.abort();
      throw e;
    }
    await out?.finish();
  }
  const stated = Buffer.alloc(32);
  await readExactly(snap.fh, stated, 32, position);
  if (!equalBytes(stated, total.digest()))
    throw corrupt("the snapshot's checksum (SHA-256 of the whole file) does not match: the file is damaged");
}

// ---------------------------------------------------------------------------------------------
// The chain store

async function readGenesis(paths: HomePaths): Promise<Genesis> {
  let text: string;
  try {
    text = await readFile(paths.genesis, 'utf8');
  } catch (e) {
    throw new NodeApiError(
      'NODE_SETUP',
      `cannot read the genesis file ${paths.genesis}: ${(e as NodeJS.ErrnoException).code}`,
    );
  }
  try {
    return parseGenesis(JSON.parse(text));
  } catch (e) {
    if (e instanceof VerityError) throw e;
    throw new NodeApiError('NODE_SETUP', `${paths.genesis} is not valid JSON`);
  }
}

/** What the node opens its chain store with (node.ts), from genesis and the home's config. */
function chainOptions(genesis: Genesis, config: NodeConfig): ChainOptions {
  const engine = getEngine(genesis.engine.name) as EngineModule<unknown> | undefined;
  if (engine === undefined)
    throw new NodeApiError(
      'NODE_SETUP',
      `genesis uses engine "${genesis.engine.name}", which this build does not have (${engineNames().join(', ')})`,
    );
  return nodeChainOptions(engine, genesis, config);
}

/** A chain store's head, as the snapshot header names it. */
export interface ChainHead {
  readonly chainId: string;
  readonly genesisHash: string;
  readonly height: number;
  readonly headHash: string;
  readonly stateRoot: string;
}

/**
 * Opens the chain store in `dir` with its integrity checks, on a write overlay that is never
 * flushed (nothing is written through the store; LevelDB itself may compact its files), and reads
 * its head. With `certify`, a chain without staking must also hold a commit certificate for its head
 * that verifies against genesis' validators (`certified`). A store that does not open, or a directory
 * that holds no LevelDB store at all, is `failed(message)`.
 */
async function readHead(
  dir: string,
  genesis: Genesis,
  opts: ChainOptions,
  home: string,
  failed: (message: string) => Error,
  certify = false,
): Promise<{ head: ChainHead; certified: boolean }> {
  // LevelDB would create a store where it finds none: a directory without one is refused first.
  if (!existsSync(join(dir, 'CURRENT'))) throw failed(`${dir} holds no LevelDB store (no CURRENT file)`);
  let kv: LevelKvStore;
  try {
    kv = await LevelKvStore.open(dir, chainStoreKvOptions(true));
  } catch (e) {
    if (e instanceof StorageError && e.code === 'STORAGE_LOCKED')
      throw nodeRunningError(home, posixLockHolder(join(dir, 'LOCK')));
    throw e instanceof StorageError ? failed(e.message) : e;
  }
  try {
    let chain: ChainStore;
    try {
      chain = await ChainStore.open(new StagedKvStore(kv), genesis, opts);
    } catch (e) {
      if (e instanceof ChainError || e instanceof StorageError) throw failed(`${e.message} [${e.code}]`);
      throw e;
    }
    let certified = false;
    if (certify && chain.height > 0 && genesis.staking === undefined) {
      const cert = await chain.getCertificate(chain.height);
      if (cert === undefined) throw failed(`the head block ${chain.height} has no commit certificate`);
      const check = verifyCertificate(cert, chain.head, await chain.trustFor(chain.height), chain.schemes);
      if (!check.ok)
        throw failed(`the commit certificate of head block ${chain.height} does not verify: ${check.reason}`);
      certified = true;
    }
    const head: ChainHead = {
      chainId: chain.genesis.chainId,
      genesisHash: toHex(chain.genesisHash),
      height: chain.height,
      headHash: toHex(chain.headHash),
      stateRoot: toHex(chain.head.stateRoot),
    };
    return { head, certified };
  } finally {
    await kv.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Files and directories

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The files of data/chain a snapshot carries, sorted, with their sizes (hashes come later). */
async function chainFiles(chainDir: string): Promise<Array<{ path: string; size: number }>> {
  const out: Array<{ path: string; size: number }> = [];
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const full = join(dir, name);
      const rel = relative(chainDir, full).split(sep).join('/');
      if (dir === chainDir && NOT_SAVED.has(name)) continue;
      const st = await lstat(full);
      const refuse = (why: string) =>
        new SnapshotError('SNAPSHOT_SOURCE', `${full} ${why}: a snapshot carries plain files only`, {
          path: full,
        });
      try {
        checkEntryPath(rel);
      } catch {
        throw refuse('has a name a snapshot cannot carry');
      }
      if (st.isDirectory()) await walk(full);
      else if (st.isFile()) out.push({ path: rel, size: st.size });
      else throw refuse('is not a file or a directory');
    }
  };
  await walk(chainDir);
  if (out.length > MAX_FILES)
    throw new SnapshotError(
      'SNAPSHOT_TOO_LARGE',
      `${chainDir} holds ${out.length} files, more than ${MAX_FILES}`,
    );
  return out;
}

/** Streams `path`, `each` seeing every chunk; returns its SHA-256 (hex) and checks its size. */
async function streamFile(path: string, size: number, each: (chunk: Uint8Array) => Promise<void> | void) {
  const fh = await open(path, 'r');
  try {
    const hash = createHash('sha256');
    const buf = Buffer.allocUnsafe(CHUNK);
    let position = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, position);
      if (bytesRead === 0) break;
      const chunk = buf.subarray(0, bytesRead);
      hash.update(chunk);
      await each(chunk);
      position += bytesRead;
    }
    if (position !== size)
      throw new SnapshotError('SNAPSHOT_SOURCE', `${path} changed size while it was being saved`, { path });
    return hash.digest('hex');
  } finally {
    await fh.close();
  }
}

function requireHome(paths: HomePaths): void {
  if (!existsSync(paths.config))
    throw new SnapshotError('NOT_A_HOME', `${paths.home} is not a node home (it has no config.toml)`, {
      usage: true,
    });
}

/** Refuses while a node holds the home's LevelDB stores (HomeLock is taken before this). */
function checkNoNode(paths: HomePaths): void {
  for (const dir of [paths.chainDb, paths.walDb]) {
    const pid = posixLockHolder(join(dir, 'LOCK'));
    if (pid !== undefined) throw nodeRunningError(paths.home, pid);
  }
}

// ---------------------------------------------------------------------------------------------
// Save

export interface SnapshotSaved extends ChainHead {
  readonly ok: true;
  readonly home: string;
  readonly file: string;
  readonly files: number;
  /** The snapshot file's length. */
  readonly bytes: number;
  readonly createdAt: string;
}

/**
 * Writes the chain store of the stopped node in `home` to `out` (through `out.tmp`, fsynced, then
 * renamed). Refused, nothing written: a node running in the home (NodeRunningError), no chain data,
 * `out` existing without `force`.
 */
export async function saveSnapshot(o: {
  readonly home: string;
  readonly out: string;
  readonly createdAt: string;
  readonly force?: boolean;
}): Promise<SnapshotSaved> {
  const paths = homePaths(o.home);
  const out = resolve(o.out);
  requireHome(paths);
  const inside = relative(paths.chainDb, out);
  if (inside === '' || (inside.split(sep)[0] !== '..' && !isAbsolute(inside)))
    throw new SnapshotError('OUTPUT_INSIDE_CHAIN', `--out ${out} is inside the chain directory it saves`, {
      usage: true,
    });
  if (existsSync(out) && o.force !== true)
    throw new SnapshotError('OUTPUT_EXISTS', `${out} exists; use --force to replace it`, { usage: true });
  const [genesis, config] = [await readGenesis(paths), await loadConfig(paths.config)];
  // Held until the end: no node starts in the home while its files are read.
  const lock = HomeLock.acquire(o.home);
  try {
    checkNoNode(paths);
    if (!existsSync(join(paths.chainDb, 'CURRENT')))
      throw new SnapshotError(
        'NO_CHAIN_DATA',
        `${o.home} holds no chain data (no LevelDB store in ${paths.chainDb}): nothing to save`,
        { refusal: true },
      );
    // Opened and closed again: LevelDB's files are then still until the lock is released.
    const { head } = await readHead(
      paths.chainDb,
      genesis,
      chainOptions(genesis, config),
      o.home,
      (m) =>
        new ChainError('CHAIN_CORRUPT', `the chain store in ${paths.chainDb} is damaged, not saved: ${m}`),
    );
    const listed = await chainFiles(paths.chainDb);
    const files: SnapshotFileEntry[] = [];
    for (const f of listed)
      files.push({ ...f, sha256: await streamFile(join(paths.chainDb, f.path), f.size, () => undefined) });
    const header: SnapshotHeader = {
      chainId: head.chainId,
      genesisHash: head.genesisHash,
      height: head.height,
      headHash: head.headHash,
      stateRoot: head.stateRoot,
      createdAt: o.createdAt,
      files,
    };
    const prefix = encodeSnapshotPrefix(header);
    if (prefix.length - SNAPSHOT_PREFIX_BYTES > MAX_HEADER_BYTES)
      throw new SnapshotError(
        'SNAPSHOT_TOO_LARGE',
        `the snapshot's header would be over ${MAX_HEADER_BYTES} bytes`,
      );
    const tmp = `${out}.tmp`;
    await mkdir(dirname(out), { recursive: true });
    const fh = await open(tmp, 'w', 0o644);
    let bytes = 0;
    try {
      const total = createHash('sha256');
      const write = async (chunk: Uint8Array) => {
        total.update(chunk);
        await fh.write(chunk, 0, chunk.length, bytes);
        bytes += chunk.length;
      };
      await write(prefix);
      for (const f of files) {
        const again = await streamFile(join(paths.chainDb, f.path), f.size, write);
        if (again !== f.sha256)
          throw new SnapshotError('SNAPSHOT_SOURCE', `${f.path} changed while it was being saved`, {
            path: f.path,
          });
      }
      const digest = total.digest();
      await fh.write(digest, 0, digest.length, bytes);
      bytes += digest.length;
      await fh.sync();
      await fh.close();
      await rename(tmp, out);
      await fsyncDir(dirname(out));
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
    return {
      ok: true,
      home: o.home,
      file: out,
      ...head,
      files: files.length,
      bytes,
      createdAt: o.createdAt,
    };
  } finally {
    lock.release();
  }
}

// ---------------------------------------------------------------------------------------------
// Restore

/** What a restore is about to do, for the confirmation (nothing has been touched yet). */
export interface RestorePlan {
  readonly home: string;
  readonly file: string;
  readonly header: SnapshotHeader;
  /** What is replaced (data/chain) and removed (data/wal), relative to the home. */
  readonly replaced: ReadonlyArray<{ readonly path: string; readonly bytes: number }>;
}

export interface SnapshotRestored {
  readonly ok: true;
  readonly home: string;
  readonly file: string;
  readonly chainId: string;
  readonly height: number;
  readonly headHash: string;
  readonly stateRoot: string;
  readonly createdAt: string;
  readonly files: number;
  /** Whether the head's commit certificate was verified against genesis' validators (not on staking chains). */
  readonly headCertified: boolean;
  readonly replaced: RestorePlan['replaced'];
  /** What this validator signed, which it will not sign again (null: nothing, or no validator key). */
  readonly signFence: { readonly maxHeight: number; readonly maxViewRound: number } | null;
}

/**
 * Replaces the chain store of the stopped node in `home` by the snapshot in `file`, after checking
 * all of it (module comment), and drops the WAL as `verity reset` does. `confirm` is asked once
 * everything is checked and before anything is touched; false: nothing happens (undefined).
 */
export async function restoreSnapshot(o: {
  readonly home: string;
  readonly file: string;
  readonly confirm: (plan: RestorePlan) => Promise<boolean>;
}): Promise<SnapshotRestored | undefined> {
  const paths = homePaths(o.home);
  requireHome(paths);
  const [genesis, config] = [await readGenesis(paths), await loadConfig(paths.config)];
  const snap = await openSnapshot(resolve(o.file));
  try {
    const h = snap.header;
    const expected = toHex((await genesisBlock(genesis)).hash);
    if (h.chainId !== genesis.chainId || h.genesisHash !== expected)
      throw new SnapshotError(
        'SNAPSHOT_OTHER_CHAIN',
        h.chainId !== genesis.chainId
          ? `${snap.path} is a snapshot of chain "${h.chainId}", but ${o.home} runs chain "${genesis.chainId}"`
          : `${snap.path} is a snapshot of another chain named "${h.chainId}" (genesis ${h.genesisHash.slice(0, 16)}…, this home's is ${expected.slice(0, 16)}…)`,
        { chainId: h.chainId, genesisHash: h.genesisHash },
      );
    const lock = HomeLock.acquire(o.home);
    try {
      checkNoNode(paths);
      let fenceNow: SignFence | undefined;
      if (existsSync(paths.ed25519Key)) {
        const store = await fenceStore(paths);
        try {
          fenceNow = (await store.load()).fence;
        } finally {
          await store.close();
        }
      }
      const lone = await loneValidator(paths, fenceNow, 'a restored chain');
      if (lone !== undefined) throw new SnapshotError('ONLY_VALIDATOR', lone, { refusal: true });
      const dataDir = dirname(paths.chainDb);
      if (existsSync(paths.chainDb) && existsSync(dataDir)) {
        const [chainSt, dataSt] = [await lstat(paths.chainDb), await lstat(dataDir)];
        if (!chainSt.isDirectory() || chainSt.dev !== dataSt.dev)
          throw new SnapshotError(
            'CHAIN_NOT_SWAPPABLE',
            `${paths.chainDb} is ${chainSt.isDirectory() ? 'a mount point (another filesystem than data/)' : 'not a directory'}: a restore replaces it by a rename within ${dataDir}`,
            { refusal: true },
          );
      }
      // The whole file, read once: every checksum, before anything in the home is touched.
      await scanSnapshot(snap);
      const space = await statfs(existsSync(dataDir) ? dataDir : o.home);
      const free = space.bavail * space.bsize;
      if (free < snap.contentBytes)
        throw new SnapshotError(
          'NO_SPACE',
          `${snap.contentBytes} bytes are needed beside ${paths.chainDb} to extract the snapshot, and ${free} are free`,
        );
      const replaced = [];
      for (const p of [paths.chainDb, paths.walDb])
        if (existsSync(p)) replaced.push({ path: relative(o.home, p), bytes: await diskSize(p) });
      if (!(await o.confirm({ home: o.home, file: snap.path, header: h, replaced }))) return undefined;

      await mkdir(dataDir, { recursive: true });
      // Left by a restore that crashed (the home lock is ours: no other restore runs).
      for (const name of await readdir(dataDir))
        if (name.startsWith(STAGING) || name.startsWith(REPLACED))
          await rm(join(dataDir, name), { recursive: true, force: true });
      const staging = resolve(await mkdtemp(join(dataDir, STAGING)));
      let opened: { head: ChainHead; certified: boolean };
      try {
        // mkdtemp makes it 0700; the store it becomes keeps the mode LevelDB gives its directory.
        await chmod(staging, existsSync(paths.chainDb) ? (await lstat(paths.chainDb)).mode & 0o7777 : 0o755);
        await scanSnapshot(snap, async (entry) => {
          const target = resolve(staging, entry.path);
          // checkEntryPath already refused anything that could leave `staging`; this is the backstop.
          if (!target.startsWith(staging + sep))
            throw new SnapshotError(
              'SNAPSHOT_BAD_PATH',
              `file path "${entry.path}" leaves the chain directory`,
            );
          await mkdir(dirname(target), { recursive: true });
          const fh = await open(target, 'wx', 0o644);
          let at = 0;
          return {
            write: async (chunk) => {
              await fh.write(chunk, 0, chunk.length, at);
              at += chunk.length;
            },
            finish: async () => {
              await fh.sync();
              await fh.close();
            },
            abort: () => fh.close(),
          };
        });
        opened = await readHead(
          staging,
          genesis,
          chainOptions(genesis, config),
          o.home,
          (m) => new SnapshotError('SNAPSHOT_INVALID', `the chain store in ${snap.path} is not valid: ${m}`),
          true,
        );
        const head = opened.head;
        const differs = (['height', 'headHash', 'stateRoot', 'genesisHash'] as const).filter(
          (k) => head[k] !== h[k],
        );
        if (differs.length > 0)
          throw new SnapshotError(
            'SNAPSHOT_INVALID',
            `the chain store in ${snap.path} is at height ${head.height} (head ${head.headHash.slice(0, 16)}…), not what its header says (height ${h.height}, head ${h.headHash.slice(0, 16)}…): ${differs.join(', ')} differ`,
            { differs },
          );
        await fsyncDir(staging);
      } catch (e) {
        await rm(staging, { recursive: true, force: true });
        throw e;
      }

      // The WAL refers to the chain being replaced: it goes first, the fence sealed before it, so
      // that no moment has the restored chain beside the old WAL.
      // (A crash between the renames leaves no data/chain: the node then syncs, as after a reset.)
      let fence: SignFence | undefined;
      const old = existsSync(paths.chainDb)
        ? join(dataDir, `${REPLACED}${randomBytes(4).toString('hex')}`)
        : undefined;
      let moved = false;
      try {
        fence = await removeAfterSealing(paths, [paths.walDb]);
        if (old !== undefined) {
          await rename(paths.chainDb, old);
          moved = true;
        }
        await rename(staging, paths.chainDb);
        await fsyncDir(dataDir);
      } catch (e) {
        await rm(staging, { recursive: true, force: true });
        // The old chain back where it was (without its WAL: as after a reset that kept the chain).
        if (moved && old !== undefined && !existsSync(paths.chainDb))
          await rename(old, paths.chainDb).catch(() => undefined);
        throw e;
      }
      if (old !== undefined) await rm(old, { recursive: true, force: true });
      return {
        ok: true,
        home: o.home,
        file: snap.path,
        chainId: h.chainId,
        height: h.height,
        headHash: h.headHash,
        stateRoot: h.stateRoot,
        createdAt: h.createdAt,
        files: h.files.length,
        headCertified: opened.certified,
        replaced,
        signFence:
          fence === undefined || fence.seq === 0
            ? null
            : { maxHeight: fence.maxHeight, maxViewRound: fence.maxViewRound },
      };
    } finally {
      lock.release();
    }
  } finally {
    await snap.close();
  }
}
