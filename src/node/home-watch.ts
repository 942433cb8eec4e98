/**
 * A node notices its home being removed or replaced under it. LevelDB keeps writing into files
 * it has open after their directory is deleted (`rm -rf HOME/data`, a cleanup script, a volume
 * remounted): the node would go on committing and acknowledging into storage that no longer has
 * a name, and lose all of it at its next start, silently. Instead, every few seconds the node
 * compares the identity (device and inode) of its home's directories and of its stores' LOCK files
 * with what it opened, and on a change halts consensus with a storage fault (`STORAGE_REMOVED`):
 * nothing more is signed or acknowledged, `GET /health` says why, and `verity start` exits non-zero.
 *
 * The LOCK files matter because a directory's inode number is freed when it is deleted and may be
 * given to the next directory made (`rm -rf data && mkdir -p data/chain`), while LevelDB holds its
 * LOCK open, so that inode cannot be reused while the node runs. The identities are read as the
 * stores open, before anything else starts, so a removal during the start is seen too.
 *
 * Safety never rested on this: the sign fence (keys/) keeps a restarted validator from signing
 * twice. What it adds is that the fault is loud and immediate instead of found at the restart.
 */

import { statSync } from 'node:fs';
import { stat as statAsync } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../../ledger/kv.ts';
import type { HomePaths } from './home.ts';

/** How often the home is checked: a few stat calls, so cheap; a fault is seen within this. */
export const HOME_CHECK_INTERVAL_MS = 5_000;

/** A path's identity: the same path may name another file or directory after a delete. */
export interface PathIdentity {
  readonly path: string;
  /** `dev:ino`, from 64-bit stat fields (an inode number may not fit a double). */
  readonly id: string;
}

/** Whether an error only says the path is not there (any other is a fault of its own). */
function isAbsent(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The identity of what is at `path` now, or undefined if nothing is (tests inject a fake). */
export type StatIdentity = (path: string) => Promise<string | undefined>;

/** `dev:ino` of a stat taken with `bigint: true`. */
function identityOf(s: { readonly dev: bigint; readonly ino: bigint }): string {
  return `${s.dev}:${s.ino}`;
}

export const statIdentity: StatIdentity = async (path) => {
  try {
    return identityOf(await statAsync(path, { bigint: true }));
  } catch (e) {
    if (isAbsent(e)) return undefined;
    throw e;
  }
};

/** What the node must not lose under it: the home, the keys, both stores and their LOCK files. */
export function watchedPaths(paths: HomePaths): string[] {
  return [
    paths.home,
    paths.keys,
    paths.chainDb,
    join(paths.chainDb, 'LOCK'),
    paths.walDb,
    join(paths.walDb, 'LOCK'),
  ];
}

/**
 * Identities of `paths` now, read synchronously right after the stores open (so nothing can
 * happen between opening and reading). A path missing now is not watched: a full node without
 * keys/ has nothing there to lose.
 */
export function identitiesNow(paths: readonly string[]): PathIdentity[] {
  const out: PathIdentity[] = [];
  for (const path of paths) {
    try {
      out.push({ path, id: identityOf(statSync(path, { bigint: true })) });
    } catch (e) {
      if (!isAbsent(e)) throw e;
    }
  }
  return out;
}

/** What changed since `before`, one phrase per path; empty when nothing did. */
export async function identityChanges(
  before: readonly PathIdentity[],
  stat: StatIdentity = statIdentity,
): Promise<string[]> {
  const changes: string[] = [];
  for (const p of before) {
    const now = await stat(p.path);
    if (now === undefined) changes.push(`${p.path} was removed`);
    else if (now !== p.id) changes.push(`${p.path} was replaced`);
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
  readonly home: string;
  /** The identities read as the stores opened (identitiesNow). */
  readonly before: readonly PathIdentity[];
  /** Called once, with the fault, on the first check that finds a change. */
  readonly onRemoved: (e: StorageError) => void;
  readonly intervalMs?: number;
  readonly stat?: StatIdentity;
  /**
   * A repeating timer; returns its stop (default: an unref'd setInterval). Each tick returns the
   * check it started, if any, for tests to await.
   */
  readonly every?: (ms: number, tick: () => Promise<void> | undefined) => () => void;
}

function unrefInterval(ms: number, tick: () => unknown): () => void {
  const h = setInterval(tick, ms);
  h.unref();
  return () => clearInterval(h);
}

/**
 * Starts checking; returns the stop, after which nothing more is reported. The stat calls run off
 * the event loop; a check still running when the next is due is not started twice. A path that
 * cannot be looked at (EACCES, EIO…) is a fault only when two checks in a row fail so: one
 * transient error does not stop a validator.
 */
export function watchHome(o: HomeWatchOptions): () => void {
  const stat = o.stat ?? statIdentity;
  let stopped = false;
  let running = false;
  let failedChecks = 0;
  const report = (changes: string[]): void => {
    stopped = true;
    stopTimer();
    o.onRemoved(homeRemovedError(o.home, changes));
  };
  const check = async (): Promise<void> => {
    let changes: string[];
    try {
      changes = await identityChanges(o.before, stat);
    } catch (e) {
      if (stopped) return;
      failedChecks++;
      if (failedChecks >= 2) {
        const err = e as NodeJS.ErrnoException;
        report([`the home ${o.home} cannot be checked (${err.code ?? 'error'}: ${err.message})`]);
      }
      return;
    }
    failedChecks = 0;
    if (!stopped && changes.length > 0) report(changes);
  };
  const stopTimer = (o.every ?? unrefInterval)(o.intervalMs ?? HOME_CHECK_INTERVAL_MS, () => {
    if (stopped || running) return undefined;
    running = true;
    return check().finally(() => {
      running = false;
    });
  });
  return () => {
    stopped = true;
    stopTimer();
  };
}
