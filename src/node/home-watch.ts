/**
 * A node notices its home being removed or replaced under it. LevelDB keeps writing into files
 * it has open after their directory is deleted (`rm -rf HOME/data`, a cleanup script, a volume
 * remounted): the node would go on committing and acknowledging into storage that no longer has
 * a name, and lose all of it at its next start, silently. Instead, every few seconds the node
 * compares the identity (device and inode) of its home's directories with what it opened at
 * start, and on a change halts consensus with a storage fault (`STORAGE_REMOVED`): nothing more
 * is signed or acknowledged, `GET /health` says why, and `verity start` exits non-zero.
 *
 * Safety never rested on this: the sign fence (keys/) keeps a restarted validator from signing
 * twice. What it adds is that the fault is loud and immediate instead of found at the restart.
 */
import { statSync } from 'node:fs';
import { StorageError } from '../../ledger/kv.ts';
import type { HomePaths } from './home.ts';

/** How often the home is checked: a few stat calls, so cheap; a fault is seen within this. */
export const HOME_CHECK_INTERVAL_MS = 5_000;

/** A directory's identity: the same path may name a new directory after a delete and re-create. */
export interface DirIdentity {
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
}

/** Reads a path's identity, or undefined if nothing is there (tests inject a fake). */
export type StatIdentity = (path: string) => { dev: number; ino: number } | undefined;

export const statIdentity: StatIdentity = (path) => {
  try {
    const s = statSync(path);
    return { dev: s.dev, ino: s.ino };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR')
      return undefined;
    throw e;
  }
};

/** The directories whose loss loses what the node writes: the home, the keys, both stores. */
export function watchedDirs(paths: HomePaths): string[] {
  return [paths.home, paths.keys, paths.chainDb, paths.walDb];
}

/** Identities of `dirs` now; a directory missing at start is not watched (nothing to lose). */
export function identities(dirs: readonly string[], stat: StatIdentity = statIdentity): DirIdentity[] {
  const out: DirIdentity[] = [];
  for (const path of dirs) {
    const id = stat(path);
    if (id !== undefined) out.push({ path, ...id });
  }
  return out;
}

/** What changed since `before`, one phrase per directory; empty when nothing did. */
export function identityChanges(before: readonly DirIdentity[], stat: StatIdentity = statIdentity): string[] {
  const changes: string[] = [];
  for (const d of before) {
    const now = stat(d.path);
    if (now === undefined) changes.push(`${d.path} was removed`);
    else if (now.dev !== d.dev || now.ino !== d.ino)
      changes.push(`${d.path} was replaced by another directory`);
  }
  return changes;
}

/** The fault the node halts with once its home changed under it. */
export function homeRemovedError(home: string, changes: readonly string[]): StorageError {
  return new StorageError(
    'STORAGE_REMOVED',
    `${changes.join('; ')} while the node ran, so it stopped: its writes were going into files that no longer have a name. Restore the home (or start afresh: block sync refills the chain store; keep keys/, whose sign fence stops a validator signing twice) and start the node again`,
    { path: home, changes: [...changes] },
  );
}

export interface HomeWatchOptions {
  readonly paths: HomePaths;
  /** Called once, with the fault, on the first check that finds a change. */
  readonly onRemoved: (e: StorageError) => void;
  readonly intervalMs?: number;
  readonly stat?: StatIdentity;
  /** A repeating timer; returns its stop (default: an unref'd setInterval). */
  readonly every?: (ms: number, tick: () => void) => () => void;
}

function unrefInterval(ms: number, tick: () => void): () => void {
  const h = setInterval(tick, ms);
  h.unref();
  return () => clearInterval(h);
}

/** Starts watching; returns the stop. Reads the identities at once, so call it once the home is open. */
export function watchHome(o: HomeWatchOptions): () => void {
  const stat = o.stat ?? statIdentity;
  const before = identities(watchedDirs(o.paths), stat);
  let stop: (() => void) | undefined;
  let fired = false;
  const check = (): void => {
    if (fired) return;
    let changes: string[];
    try {
      changes = identityChanges(before, stat);
    } catch (e) {
      // EACCES, EIO…: the home cannot even be looked at, which is as much a storage fault.
      const code = (e as NodeJS.ErrnoException).code ?? 'unknown';
      changes = [`${o.paths.home} cannot be checked (${code})`];
    }
    if (changes.length === 0) return;
    fired = true;
    stop?.();
    o.onRemoved(homeRemovedError(o.paths.home, changes));
  };
  stop = (o.every ?? unrefInterval)(o.intervalMs ?? HOME_CHECK_INTERVAL_MS, check);
  return () => stop?.();
}
