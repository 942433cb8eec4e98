// The home watch (src/node/home-watch.ts): a node whose home, keys or stores are deleted or
// replaced while it runs halts with STORAGE_REMOVED instead of committing into files that no
// longer have a name.
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../ledger/kv.ts';
import { homePaths } from '../../src/node/home.ts';
import {
  homeRemovedError,
  identitiesNow,
  identityChanges,
  type StatIdentity,
  statIdentity,
  watchedPaths,
  watchHome,
} from '../../src/node/home-watch.ts';
import type { VerityNode } from '../../src/node/node.ts';
import type { TestnetManifest } from '../../src/node/testnet.ts';
import { removeTestnet, singleValidatorTestnet, startSingleNode } from '../helpers/single-node.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'verity-home-watch-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

let n = 0;
/** A home laid out as a node's: keys/, both stores' directories and their LOCK files. */
async function fakeHome() {
  const paths = homePaths(join(root, `home-${n++}`));
  for (const d of [paths.keys, paths.chainDb, paths.walDb]) await mkdir(d, { recursive: true });
  for (const d of [paths.chainDb, paths.walDb]) await writeFile(join(d, 'LOCK'), '');
  return paths;
}

/** A timer the test ticks by hand; each tick returns the check it started. */
function manualTimer() {
  const t = { tick: (): Promise<void> | undefined => undefined, stopped: false, ms: 0 };
  const every = (ms: number, tick: () => Promise<void> | undefined) => {
    t.ms = ms;
    t.tick = tick;
    return () => {
      t.stopped = true;
    };
  };
  return { t, every };
}

describe('identityChanges', () => {
  it('is empty while nothing changed', async () => {
    const paths = await fakeHome();
    const before = identitiesNow(watchedPaths(paths));
    expect(before.map((d) => d.path)).toEqual([
      paths.home,
      paths.keys,
      paths.chainDb,
      join(paths.chainDb, 'LOCK'),
      paths.walDb,
      join(paths.walDb, 'LOCK'),
    ]);
    expect(await identityChanges(before)).toEqual([]);
  });

  it('names a removed store and a store replaced by a fresh directory of the same name', async () => {
    const paths = await fakeHome();
    const before = identitiesNow(watchedPaths(paths));
    await rm(paths.chainDb, { recursive: true });
    await rename(paths.walDb, `${paths.walDb}.old`);
    await mkdir(paths.walDb);
    await writeFile(join(paths.walDb, 'LOCK'), '');
    expect(await identityChanges(before)).toEqual([
      `${paths.chainDb} was removed`,
      `${join(paths.chainDb, 'LOCK')} was removed`,
      `${paths.walDb} was replaced`,
      `${join(paths.walDb, 'LOCK')} was replaced`,
    ]);
  });

  it('sees a replaced LOCK file even where the directory kept its identity', async () => {
    const paths = await fakeHome();
    const before = identitiesNow(watchedPaths(paths));
    // (Holding the old file open, as LevelDB does, keeps its inode from being reused.)
    await rename(join(paths.chainDb, 'LOCK'), join(paths.home, 'old-lock'));
    await writeFile(join(paths.chainDb, 'LOCK'), '');
    expect(await identityChanges(before)).toEqual([`${join(paths.chainDb, 'LOCK')} was replaced`]);
  });

  it('names every path under a removed home', async () => {
    const paths = await fakeHome();
    const before = identitiesNow(watchedPaths(paths));
    await rm(paths.home, { recursive: true });
    expect(await identityChanges(before)).toHaveLength(6);
  });

  it('does not watch a path that was missing when the stores opened (a full node has no keys/)', async () => {
    const paths = await fakeHome();
    await rm(paths.keys, { recursive: true });
    const before = identitiesNow(watchedPaths(paths));
    expect(before.map((d) => d.path)).not.toContain(paths.keys);
    expect(await identityChanges(before)).toEqual([]);
  });

  it('passes on an error other than absence (the watch decides what it means)', async () => {
    const stat: StatIdentity = async () => {
      throw Object.assign(new Error('denied'), { code: 'EACCES' });
    };
    await expect(identityChanges([{ path: '/x', id: '1:2' }], stat)).rejects.toThrow('denied');
    expect(await statIdentity(join(root, 'no-such-dir'))).toBeUndefined();
    expect(await statIdentity(join(root, 'no-such-dir', 'below-a-file'))).toBeUndefined();
  });
});

describe('watchHome', () => {
  it('says nothing while the home is intact, then halts once, with STORAGE_REMOVED, and stops its timer', async () => {
    const paths = await fakeHome();
    const { t, every } = manualTimer();
    const faults: StorageError[] = [];
    const before = identitiesNow(watchedPaths(paths));
    watchHome({ home: paths.home, before, onRemoved: (e) => faults.push(e), every, intervalMs: 1234 });
    expect(t.ms).toBe(1234);
    await t.tick();
    await t.tick();
    expect(faults).toEqual([]);
    await rm(join(paths.home, 'data'), { recursive: true });
    await t.tick();
    expect(t.tick()).toBeUndefined(); // stopped: no further check
    expect(faults).toHaveLength(1);
    const e = faults[0] as StorageError;
    expect(e).toBeInstanceOf(StorageError);
    expect(e.code).toBe('STORAGE_REMOVED');
    expect(e.message).toContain(`${paths.chainDb} was removed; ${join(paths.chainDb, 'LOCK')} was removed`);
    expect(e.message).toContain('start the node again');
    expect(e.meta).toMatchObject({ path: paths.home, changes: expect.any(Array) });
    expect(t.stopped).toBe(true);
  });

  it('a path that cannot be looked at is a fault on the second check in a row, not the first', async () => {
    const paths = await fakeHome();
    const { t, every } = manualTimer();
    let denied = 0;
    const stat: StatIdentity = (p) => {
      if (denied > 0) {
        denied--;
        throw Object.assign(new Error('permission denied'), { code: 'EACCES' });
      }
      return statIdentity(p);
    };
    const faults: StorageError[] = [];
    const before = identitiesNow(watchedPaths(paths));
    watchHome({ home: paths.home, before, onRemoved: (e) => faults.push(e), every, stat });
    denied = 1;
    await t.tick(); // one failure
    await t.tick(); // then a clean check: the count starts again
    denied = 1;
    await t.tick();
    expect(faults).toEqual([]);
    denied = 2;
    await t.tick();
    await t.tick();
    expect(faults.map((e) => e.message)).toEqual([
      expect.stringContaining(`the home ${paths.home} cannot be checked (EACCES: permission denied)`),
    ]);
  });

  it('reports nothing once stopped, even of a check already under way', async () => {
    const paths = await fakeHome();
    const { t, every } = manualTimer();
    const faults: StorageError[] = [];
    const before = identitiesNow(watchedPaths(paths));
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const stat: StatIdentity = async (p) => {
      await gate;
      return statIdentity(p);
    };
    const stop = watchHome({ home: paths.home, before, onRemoved: (e) => faults.push(e), every, stat });
    const running = t.tick();
    expect(t.tick()).toBeUndefined(); // one check at a time
    await rm(paths.home, { recursive: true });
    stop();
    release();
    await running;
    expect(t.tick()).toBeUndefined();
    expect(faults).toEqual([]);
    expect(t.stopped).toBe(true);
  });

  it('the fault names every change', () => {
    const e = homeRemovedError('/h', ['/h/a was removed', '/h/b was removed']);
    expect(e.message.startsWith('/h/a was removed; /h/b was removed while the node ran')).toBe(true);
  });
});

describe('a node whose data directory is deleted under it', () => {
  let testnet: TestnetManifest | undefined;
  let node: VerityNode | undefined;
  afterEach(async () => {
    await node?.stop();
    await removeTestnet(testnet);
  });

  it('runs on while its home is intact, then halts with STORAGE_REMOVED, says so on /health, commits no more and stops', async () => {
    testnet = await singleValidatorTestnet({ chainId: 'home-watch', accounts: 1 });
    const home = testnet.nodes[0]?.home as string;
    node = await startSingleNode(testnet, () => {}, { homeCheckIntervalMs: 50 });
    // Several checks pass on a healthy node while it commits.
    for (let i = 0; i < 500 && node.chain.height < 3; i++) await new Promise((r) => setTimeout(r, 20));
    expect(node.chain.height).toBeGreaterThanOrEqual(3);
    expect(node.runtime.halted).toBeUndefined();
    await rm(join(home, 'data'), { recursive: true, force: true });
    const halt = await Promise.race([
      node.halted,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 5_000).unref()),
    ]);
    expect(halt?.code).toBe('STORAGE_REMOVED');
    const health = node.health();
    expect(health.ok).toBe(false);
    // Which watched paths the check names depends on how far the recursive rm had got when it
    // ran (a store's LOCK goes before its directory): any of them under data/ is right.
    expect(health.problems.join('\n')).toMatch(
      /consensus halted \(STORAGE_REMOVED\): .*\/data\/(chain|wal)(\/LOCK)? was removed/,
    );
    const heightAtHalt = node.chain.height;
    await new Promise((r) => setTimeout(r, 300));
    expect(node.chain.height).toBe(heightAtHalt);
    await node.stop();
    expect(node.health().problems).toContain('stopping');
    node = undefined;
  }, 30_000);
});
