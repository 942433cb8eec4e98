// The home watch (src/node/home-watch.ts): a node whose home, keys or stores are deleted or
// replaced while it runs halts with STORAGE_REMOVED instead of committing into files that no
// longer have a name.
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StorageError } from '../../ledger/kv.ts';
import { homePaths } from '../../src/node/home.ts';
import {
  homeRemovedError,
  identities,
  identityChanges,
  type StatIdentity,
  statIdentity,
  watchedDirs,
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
/** A home laid out as a node's, with keys/ and both stores' directories. */
async function fakeHome() {
  const paths = homePaths(join(root, `home-${n++}`));
  for (const d of [paths.keys, paths.chainDb, paths.walDb]) await mkdir(d, { recursive: true });
  return paths;
}

/** A timer the test ticks by hand. */
function manualTimer() {
  const t = { tick: () => {}, stopped: false, ms: 0 };
  const every = (ms: number, tick: () => void) => {
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
    const before = identities(watchedDirs(paths));
    expect(before.map((d) => d.path)).toEqual([paths.home, paths.keys, paths.chainDb, paths.walDb]);
    expect(identityChanges(before)).toEqual([]);
  });

  it('names a removed store and a store replaced by a fresh directory of the same name', async () => {
    const paths = await fakeHome();
    const before = identities(watchedDirs(paths));
    await rm(paths.chainDb, { recursive: true });
    await rename(paths.walDb, `${paths.walDb}.old`);
    await mkdir(paths.walDb);
    expect(identityChanges(before)).toEqual([
      `${paths.chainDb} was removed`,
      `${paths.walDb} was replaced by another directory`,
    ]);
  });

  it('names every directory under a removed home', async () => {
    const paths = await fakeHome();
    const before = identities(watchedDirs(paths));
    await rm(paths.home, { recursive: true });
    expect(identityChanges(before)).toHaveLength(4);
  });

  it('does not watch a directory that was missing at start', async () => {
    const paths = await fakeHome();
    await rm(paths.walDb, { recursive: true });
    const before = identities(watchedDirs(paths));
    expect(before.map((d) => d.path)).not.toContain(paths.walDb);
    expect(identityChanges(before)).toEqual([]);
  });

  it('passes on an error other than absence (the watch turns it into a fault)', () => {
    const stat: StatIdentity = () => {
      throw Object.assign(new Error('denied'), { code: 'EACCES' });
    };
    expect(() => identityChanges([{ path: '/x', dev: 1, ino: 2 }], stat)).toThrow('denied');
    expect(statIdentity(join(root, 'no-such-dir'))).toBeUndefined();
  });
});

describe('watchHome', () => {
  it('says nothing while the home is intact, then halts once, with STORAGE_REMOVED, and stops its timer', async () => {
    const paths = await fakeHome();
    const { t, every } = manualTimer();
    const faults: StorageError[] = [];
    watchHome({ paths, onRemoved: (e) => faults.push(e), every, intervalMs: 1234 });
    expect(t.ms).toBe(1234);
    t.tick();
    t.tick();
    expect(faults).toEqual([]);
    await rm(join(paths.home, 'data'), { recursive: true });
    t.tick();
    t.tick();
    expect(faults).toHaveLength(1);
    const e = faults[0] as StorageError;
    expect(e).toBeInstanceOf(StorageError);
    expect(e.code).toBe('STORAGE_REMOVED');
    expect(e.message).toContain(`${paths.chainDb} was removed; ${paths.walDb} was removed`);
    expect(e.message).toContain('start the node again');
    expect(e.meta).toMatchObject({ path: paths.home, changes: expect.any(Array) });
    expect(t.stopped).toBe(true);
  });

  it('a home that cannot be looked at is a fault too', async () => {
    const paths = await fakeHome();
    const { t, every } = manualTimer();
    let denied = false;
    const stat: StatIdentity = (p) => {
      if (denied) throw Object.assign(new Error('denied'), { code: 'EACCES' });
      return statIdentity(p);
    };
    const faults: StorageError[] = [];
    watchHome({ paths, onRemoved: (e) => faults.push(e), every, stat });
    t.tick();
    expect(faults).toEqual([]);
    denied = true;
    t.tick();
    expect(faults.map((e) => e.message)).toEqual([
      expect.stringContaining(`${paths.home} cannot be checked (EACCES)`),
    ]);
  });

  it('its stop stops the timer', async () => {
    const { t, every } = manualTimer();
    const stop = watchHome({ paths: await fakeHome(), onRemoved: () => {}, every });
    stop();
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

  it('halts with STORAGE_REMOVED, says so on /health, and stops cleanly', async () => {
    testnet = await singleValidatorTestnet({ chainId: 'home-watch', accounts: 1 });
    const home = testnet.nodes[0]?.home as string;
    node = await startSingleNode(testnet, () => {}, { homeCheckIntervalMs: 50 });
    // Committing before: a healthy node, no halt.
    for (let i = 0; i < 500 && node.chain.height < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(node.chain.height).toBeGreaterThanOrEqual(2);
    expect(node.runtime.halted).toBeUndefined();
    await rm(join(home, 'data'), { recursive: true, force: true });
    const halt = await Promise.race([
      node.halted,
      new Promise<undefined>((r) => setTimeout(() => r(undefined), 5_000).unref()),
    ]);
    expect(halt?.code).toBe('STORAGE_REMOVED');
    const health = node.health();
    expect(health.ok).toBe(false);
    expect(health.problems.join('\n')).toMatch(
      /consensus halted \(STORAGE_REMOVED\): .*data\/chain was removed/,
    );
    const heightAtHalt = node.chain.height;
    await new Promise((r) => setTimeout(r, 300));
    expect(node.chain.height).toBe(heightAtHalt);
  }, 30_000);
});
