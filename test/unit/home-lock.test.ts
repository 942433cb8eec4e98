// One node per home (src/node/home-lock.ts): HOME/node.pid taken atomically, a live holder named,
// a stale file (dead pid, garbage, an earlier life of our own pid, a pid now used by something
// else) taken over, and LevelDB's lock holder found for the backstop.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeRunningError } from '../../src/node/errors.ts';
import { HomeLock, posixLockHolder, runningNodePid } from '../../src/node/home-lock.ts';
import { LevelKvStore } from '../../src/storage/level-kv.ts';

let home: string;
let pidFile: string;
const children: ChildProcess[] = [];

beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'verity-home-lock-'));
  pidFile = join(home, 'node.pid');
});

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await rm(home, { recursive: true, force: true, maxRetries: 3 });
});

/** A pid that no process has any more. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid as number;
}

/** A live process whose command line holds `arg`. */
async function live(cmd: string, args: string[]): Promise<number> {
  const c = spawn(cmd, args, { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => c.once('spawn', r));
  return c.pid as number;
}

function refusal(f: () => unknown): NodeRunningError {
  try {
    f();
  } catch (e) {
    if (e instanceof NodeRunningError) return e;
    throw e;
  }
  throw new Error('expected a NodeRunningError');
}

const procReadable = existsSync(`/proc/${process.pid}/cmdline`);

describe('HomeLock', () => {
  it('writes this pid to HOME/node.pid and removes it on release', () => {
    const lock = HomeLock.acquire(home);
    expect(readFileSync(pidFile, 'utf8')).toBe(`${process.pid}\n`);
    lock.release();
    expect(existsSync(pidFile)).toBe(false);
    lock.release(); // idempotent
  });

  it('a second acquire of a held home names the holder, and leaves its file alone', () => {
    const lock = HomeLock.acquire(home);
    try {
      const e = refusal(() => HomeLock.acquire(home));
      expect(e.code).toBe('NODE_RUNNING');
      expect(e.message).toBe(`a node is already running in ${home} (pid ${process.pid})`);
      expect(e.meta).toEqual({ home, pid: process.pid });
      expect(readFileSync(pidFile, 'utf8')).toBe(`${process.pid}\n`);
    } finally {
      lock.release();
    }
  });

  it.skipIf(!procReadable)('a live Verity process in the file is refused with its pid', async () => {
    const pid = await live(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', 'verity-stand-in']);
    writeFileSync(pidFile, `${pid}\n`);
    expect(runningNodePid(home)).toBe(pid);
    expect(refusal(() => HomeLock.acquire(home)).message).toBe(
      `a node is already running in ${home} (pid ${pid})`,
    );
    expect(readFileSync(pidFile, 'utf8')).toBe(`${pid}\n`);
  });

  const stale: Array<[string, () => Promise<string>]> = [
    ['a dead pid', async () => `${deadPid()}\n`],
    ['an empty file', async () => ''],
    ['garbage', async () => 'not a pid'],
    ['an earlier life of our own pid', async () => `${process.pid}\n`],
  ];
  if (procReadable)
    stale.push(['a live pid that is no Verity node', async () => `${await live('sleep', ['30'])}\n`]);
  for (const [what, content] of stale) {
    it(`a stale file (${what}) is taken over`, async () => {
      writeFileSync(pidFile, await content());
      expect(runningNodePid(home)).toBeUndefined();
      expect(existsSync(pidFile)).toBe(true); // runningNodePid only reads
      const lock = HomeLock.acquire(home);
      expect(readFileSync(pidFile, 'utf8')).toBe(`${process.pid}\n`);
      lock.release();
    });
  }

  it('release leaves a file that names another process', () => {
    const lock = HomeLock.acquire(home);
    writeFileSync(pidFile, '4194303\n');
    lock.release();
    expect(readFileSync(pidFile, 'utf8')).toBe('4194303\n');
  });

  it('a home that does not exist is a NODE_SETUP error naming the file', () => {
    expect(() => HomeLock.acquire(join(home, 'missing'))).toThrow(/cannot create .*node\.pid \(ENOENT\)/);
  });
});

describe('posixLockHolder', () => {
  it.skipIf(!existsSync('/proc/locks'))('names the process holding a LevelDB store open', async () => {
    const dir = join(home, 'db');
    const db = await LevelKvStore.open(dir);
    try {
      expect(posixLockHolder(join(dir, 'LOCK'))).toBe(process.pid);
    } finally {
      await db.close();
    }
    expect(posixLockHolder(join(dir, 'LOCK'))).toBeUndefined();
  });
});
