/**
 * One node per home. HOME/node.pid holds the pid of the node running there, created atomically
 * ('wx') before anything in the home is opened and removed when the node stops. A second start
 * finds it and says which process to stop, instead of opening LevelDB under the running node and
 * writing into its files. A file left behind by a node that died (kill -9, a crash, a reboot) names
 * a process that no longer exists, or one that is no Verity node: it is taken over.
 *
 * LevelDB's own lock on data/chain stays the backstop (node.ts): two processes taking over the
 * same stale file at the same instant can both get here, and LevelDB then refuses one of them.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { NodeApiError, NodeRunningError } from './errors.ts';
import { homePaths } from './home.ts';

/** Pid files held by this process: a second node in the same process finds its own pid there. */
const heldHere = new Set<string>();

/** The refusal every start path shows (`verity start`, `npm start`, `verity testnet up`). */
export function nodeRunningError(home: string, pid: number | undefined): NodeRunningError {
  return new NodeRunningError(
    'NODE_RUNNING',
    `a node is already running in ${home} (pid ${pid ?? 'unknown'})`,
    pid === undefined ? { home } : { home, pid },
  );
}

function readPid(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  return /^\d+\n?$/.test(text) ? Number(text.trim()) : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a live pid may be a Verity node. After a reboot or a container restart the pid of a
 * dead node can belong to anything; on Linux its command line tells. Where that cannot be read,
 * assume it is one (refusing wrongly is safer than sharing a home).
 */
function mayBeVerity(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('verity');
  } catch {
    return true;
  }
}

/** The pid of the live node that holds `pidFile`, or undefined if the file is absent or stale. */
function liveHolder(pidFile: string): number | undefined {
  const pid = readPid(pidFile);
  // Empty or garbage: its writer died between creating and writing it.
  if (pid === undefined) return undefined;
  // Our own pid and not held here: an earlier life of this pid (a container restarts as pid 1).
  if (pid === process.pid) return heldHere.has(pidFile) ? pid : undefined;
  return isAlive(pid) && mayBeVerity(pid) ? pid : undefined;
}

/** The pid of a node running in `home`, if any. Reads only: `npm start` checks homes with it. */
export function runningNodePid(home: string): number | undefined {
  return liveHolder(homePaths(home).pidFile);
}

function createPidFile(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export class HomeLock {
  readonly home: string;
  readonly #pidFile: string;

  private constructor(home: string, pidFile: string) {
    this.home = home;
    this.#pidFile = pidFile;
  }

  /**
   * Takes `home` for this process, or throws a NodeRunningError naming the node that has it. A
   * stale file is removed and the creation retried; a file that keeps coming back after that is
   * another process winning the same race, which LevelDB's lock settles.
   */
  static acquire(home: string): HomeLock {
    const pidFile = homePaths(home).pidFile;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        if (createPidFile(pidFile)) {
          heldHere.add(pidFile);
          return new HomeLock(home, pidFile);
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        throw new NodeApiError('NODE_SETUP', `cannot create ${pidFile} (${code}): is ${home} a node home?`, {
          home,
        });
      }
      const pid = liveHolder(pidFile);
      if (pid !== undefined) throw nodeRunningError(home, pid);
      removeIfPresent(pidFile);
    }
    throw nodeRunningError(home, readPid(pidFile));
  }

  /** Gives the home up; idempotent. Removes the file only while it still names this process. */
  release(): void {
    if (!heldHere.delete(this.#pidFile)) return;
    if (readPid(this.#pidFile) === process.pid) removeIfPresent(this.#pidFile);
  }
}

/**
 * The pid holding a POSIX lock on `file` (LevelDB's LOCK), from Linux's /proc/locks; undefined
 * elsewhere or if nobody does. Names the other node when LevelDB, not node.pid, refuses a start.
 */
export function posixLockHolder(file: string): number | undefined {
  let inode: number;
  let locks: string;
  try {
    inode = statSync(file).ino;
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of locks.split('\n')) {
    // "3: POSIX  ADVISORY  WRITE 4242 fd:01:1234567 0 EOF" (major:minor in hex, inode in decimal)
    const m = /^\d+: POSIX\s+\S+\s+WRITE\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m !== null && Number(m[2]) === inode) return Number(m[1]);
  }
  return undefined;
}
