/**
 * Every LevelDB failure leaves LevelKvStore as a typed StorageError naming the store's path: real
 * LevelDB in a temp dir for lock, corruption (MANIFEST and table file) and use after close, fake
 * error objects for what a test cannot provoke cheaply (a full disk).
 */
import { mkdtemp, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../crypto/bytes.ts';
import { StorageError, type StorageErrorCode } from '../../ledger/kv.ts';
import { LevelKvStore, storageErrorFrom } from '../../src/storage/level-kv.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});
async function tmpPath(name: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'verity-level-errors-'));
  dirs.push(d);
  return join(d, name);
}

/** Awaits `p` and returns its rejection, failing the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

function expectStorageError(e: unknown, code: StorageErrorCode, path: string): StorageError {
  expect(e).toBeInstanceOf(StorageError);
  const err = e as StorageError;
  expect(err.code).toBe(code);
  expect(err.message).toContain(path);
  expect(err.message).not.toContain('\n');
  expect(err.meta.path).toBe(path);
  expect(typeof err.meta.cause).toBe('string');
  return err;
}

async function drain(it: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

const key = (i: number) => utf8(`k${String(i).padStart(8, '0')}`);
/** Compressible (so LevelDB snappy-compresses its blocks), and different for every key. */
const value = (i: number) => utf8(`value-${i}-`.repeat(100));

describe('LevelKvStore failures are StorageErrors', () => {
  it('a directory already open (its LOCK held) is STORAGE_LOCKED, naming the path', async () => {
    const path = await tmpPath('chain');
    const first = await LevelKvStore.open(path);
    try {
      const e = expectStorageError(await rejection(LevelKvStore.open(path)), 'STORAGE_LOCKED', path);
      expect(e.message).toBe(
        `${path} is locked by another process: a node is probably already running with this home (stop it first)`,
      );
      expect(e.meta.op).toBe('open');
      expect(e.meta.cause).toMatch(/^LEVEL_LOCKED: IO error: lock .*LOCK/);
      // The first handle is unaffected.
      await first.batch([{ type: 'put', key: key(1), value: value(1) }]);
      expect(await first.get(key(1))).toEqual(value(1));
    } finally {
      await first.close();
    }
  });

  it('a MANIFEST overwritten with garbage is STORAGE_CORRUPT on open, naming the path', async () => {
    const path = await tmpPath('chain');
    const store = await LevelKvStore.open(path);
    await store.batch([{ type: 'put', key: key(1), value: value(1) }]);
    await store.close();
    const manifests = (await readdir(path)).filter((f) => f.startsWith('MANIFEST-'));
    expect(manifests.length).toBeGreaterThan(0);
    for (const f of manifests) {
      const { size } = await stat(join(path, f));
      await writeFile(join(path, f), Buffer.alloc(Math.max(size, 64), 0xab));
    }
    const e = expectStorageError(await rejection(LevelKvStore.open(path)), 'STORAGE_CORRUPT', path);
    expect(e.meta.cause).toMatch(/^LEVEL_CORRUPTION: Corruption: /);
    expect(e.message).toMatch(/is damaged \(Corruption: .*\): restore it from a backup/);
  });

  it('64 flipped bytes inside a compressed table file: get and iterate over the damage reject with STORAGE_CORRUPT', async () => {
    const path = await tmpPath('chain');
    const n = 4000; // ~4.4 MB of values: more than one 4 MB memtable, so .ldb tables get written
    let store = await LevelKvStore.open(path, { sync: false });
    for (let i = 0; i < n; i += 100) {
      await store.batch(
        Array.from({ length: 100 }, (_, j) => ({
          type: 'put' as const,
          key: key(i + j),
          value: value(i + j),
        })),
      );
    }
    await store.close();
    store = await LevelKvStore.open(path); // recovers the log into a table too
    await store.close();
    const tables = (await readdir(path)).filter((f) => f.endsWith('.ldb')).sort();
    expect(tables.length).toBeGreaterThan(0);
    const newest = join(path, tables.at(-1) as string);
    const { size } = await stat(newest);
    const fh = await open(newest, 'r+');
    try {
      const at = Math.floor(size / 2);
      const buf = Buffer.alloc(64);
      await fh.read(buf, 0, 64, at);
      for (let i = 0; i < buf.length; i++) buf[i] = (buf[i] as number) ^ 0xff;
      await fh.write(buf, 0, 64, at);
    } finally {
      await fh.close();
    }

    store = await LevelKvStore.open(path); // LevelDB does not read data blocks on open
    try {
      let rejected = 0;
      for (let i = 0; i < n; i++) {
        let v: Uint8Array | undefined;
        try {
          v = await store.get(key(i));
        } catch (e) {
          rejected++;
          const err = expectStorageError(e, 'STORAGE_CORRUPT', path);
          expect(err.meta.op).toBe('get');
          expect(err.meta.cause).toBe('LEVEL_CORRUPTION: Corruption: corrupted compressed block contents');
          continue;
        }
        expect(v).toEqual(value(i)); // whatever is read back is right, never silently damaged
      }
      expect(rejected).toBeGreaterThan(0);
      const e = expectStorageError(await rejection(drain(store.iterate(utf8('k')))), 'STORAGE_CORRUPT', path);
      expect(e.meta.op).toBe('iterate');
    } finally {
      await store.close();
    }
  }, 60_000);

  it('get, batch and iterate after close are STORAGE_CLOSED; closing twice is fine', async () => {
    const path = await tmpPath('wal');
    const store = await LevelKvStore.open(path);
    await store.batch([{ type: 'put', key: key(1), value: value(1) }]);
    await store.close();
    expectStorageError(await rejection(store.get(key(1))), 'STORAGE_CLOSED', path);
    expectStorageError(
      await rejection(store.batch([{ type: 'put', key: key(2), value: value(2) }])),
      'STORAGE_CLOSED',
      path,
    );
    expectStorageError(await rejection(drain(store.iterate(utf8('k')))), 'STORAGE_CLOSED', path);
    await store.close();
  });

  it('a store closed in the middle of an iteration: the next step is STORAGE_CLOSED', async () => {
    const path = await tmpPath('wal');
    const store = await LevelKvStore.open(path);
    await store.batch(
      Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: key(i), value: value(i) })),
    );
    const it = store.iterate(utf8('k'))[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    await store.close();
    const e = expectStorageError(await rejection(it.next()), 'STORAGE_CLOSED', path);
    expect(e.meta.op).toBe('iterate');
  });
});

describe('storageErrorFrom (the classifier)', () => {
  const path = '/var/lib/verity/data/chain';

  it('no space left: an ENOSPC errno error, or LevelDB text, is STORAGE_FULL', () => {
    const errno = Object.assign(new Error("ENOSPC: no space left on device, write '/x/000005.log'"), {
      code: 'ENOSPC',
      errno: -28,
      syscall: 'write',
    });
    const leveldb = Object.assign(new Error('IO error: /x/000005.log: No space left on device'), {
      code: 'LEVEL_IO_ERROR',
    });
    const wrappedOpen = Object.assign(new Error('Database failed to open'), {
      code: 'LEVEL_DATABASE_NOT_OPEN',
      cause: leveldb,
    });
    const bareErrno = { errno: 28, message: 'write failed' };
    for (const [e, op] of [
      [errno, 'batch'],
      [leveldb, 'batch'],
      [wrappedOpen, 'open'],
      [bareErrno, 'batch'],
    ] as const) {
      const err = storageErrorFrom(e, path, op);
      expect(err).toBeInstanceOf(StorageError);
      expect(err.code).toBe('STORAGE_FULL');
      expect(err.message).toBe(
        `no space left on the device holding ${path}: free space, then restart the node`,
      );
      expect(err.meta).toMatchObject({ path, op });
    }
    expect(storageErrorFrom(leveldb, path, 'batch').meta.cause).toBe(
      'LEVEL_IO_ERROR: IO error: /x/000005.log: No space left on device',
    );
  });

  it('lock, corruption, closed and anything else', () => {
    const locked = Object.assign(new Error('Database failed to open'), {
      code: 'LEVEL_DATABASE_NOT_OPEN',
      cause: Object.assign(new Error(`IO error: lock ${path}/LOCK: Resource temporarily unavailable`), {
        code: 'LEVEL_LOCKED',
      }),
    });
    expect(storageErrorFrom(locked, path, 'open').code).toBe('STORAGE_LOCKED');

    const corrupt = Object.assign(new Error('Corruption: block checksum mismatch'), {
      code: 'LEVEL_CORRUPTION',
    });
    const c = storageErrorFrom(corrupt, path, 'get');
    expect(c.code).toBe('STORAGE_CORRUPT');
    expect(c.message).toBe(
      `${path} is damaged (Corruption: block checksum mismatch): restore it from a backup, or for the chain store delete it and let block sync rebuild it (keep the consensus WAL)`,
    );
    expect(c.meta.cause).toBe('LEVEL_CORRUPTION: Corruption: block checksum mismatch');

    const notOpen = Object.assign(new Error('Database is not open'), { code: 'LEVEL_DATABASE_NOT_OPEN' });
    expect(storageErrorFrom(notOpen, path, 'get').code).toBe('STORAGE_CLOSED');

    // An open failure is LEVEL_DATABASE_NOT_OPEN too, but with a cause: that cause decides.
    const eacces = Object.assign(new Error('Database failed to open'), {
      code: 'LEVEL_DATABASE_NOT_OPEN',
      cause: Object.assign(new Error(`EACCES: permission denied, mkdir '${path}'`), { code: 'EACCES' }),
    });
    const io = storageErrorFrom(eacces, path, 'open');
    expect(io.code).toBe('STORAGE_IO');
    expect(io.message).toBe(`open failed on ${path}: EACCES: permission denied, mkdir '${path}'`);

    const ioError = Object.assign(new Error('IO error: /x/000007.ldb: Input/output\nerror'), {
      code: 'LEVEL_IO_ERROR',
    });
    const io2 = storageErrorFrom(ioError, path, 'iterate');
    expect(io2.code).toBe('STORAGE_IO');
    expect(io2.message).toBe(`iterate failed on ${path}: IO error: /x/000007.ldb: Input/output error`);

    // A CombinedError (abstract-level, several failures at once) is searched element by element.
    class Combined extends Error {
      readonly #errors: Error[];
      constructor(errors: Error[]) {
        super(errors.map((e) => e.message).join('; '));
        this.#errors = errors;
      }
      [Symbol.iterator]() {
        return this.#errors[Symbol.iterator]();
      }
    }
    expect(storageErrorFrom(new Combined([new Error('x'), corrupt]), path, 'close').code).toBe(
      'STORAGE_CORRUPT',
    );

    // Already typed: passed through unchanged.
    const typed = new StorageError('STORAGE_FULL', 'x', { path });
    expect(storageErrorFrom(typed, '/elsewhere', 'get')).toBe(typed);
    // Not even an Error.
    expect(storageErrorFrom('boom', path, 'batch').message).toBe(`batch failed on ${path}: boom`);
  });
});
