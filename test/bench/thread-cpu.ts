/**
 * Where the validators' CPU goes, by thread, from Linux's /proc: the main thread (the event loop),
 * the worker threads (signature verification; also Proof of Work's miner), libuv's pool (LevelDB's
 * writes with fsync and its compactions, file I/O) and V8's helper threads (concurrent GC,
 * compilers). `--profile` sees only JavaScript threads; this also counts the native ones, so a run
 * shows, say, LevelDB's compactions growing with the store. Elsewhere than Linux, or where the
 * threads carry no names (Node before 22 names none), it gives nothing and the column is empty.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const THREAD_GROUPS = ['main', 'workers', 'libuv', 'V8'] as const;
export type ThreadGroup = (typeof THREAD_GROUPS)[number] | 'other';

/** The group of a thread other than the main one by its name (`/proc/PID/task/TID/comm`). */
export function threadGroup(comm: string): ThreadGroup {
  if (comm === 'WorkerThread') return 'workers';
  if (comm.startsWith('libuv-worker')) return 'libuv';
  if (comm.startsWith('V8') || comm === 'DelayedTaskSche') return 'V8';
  return 'other';
}

/** utime + stime in clock ticks from one /proc/…/stat line (fields 14 and 15; comm may hold spaces). */
export function statTicks(stat: string): number {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (rest.length < 13 || !Number.isInteger(utime) || !Number.isInteger(stime))
    throw new Error(`not a /proc stat line: ${stat.slice(0, 80)}`);
  return utime + stime;
}

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** One reading: CPU seconds of each live thread, by `pid/tid`, with its group. */
export type ThreadReading = ReadonlyMap<string, { readonly group: ThreadGroup; readonly seconds: number }>;

/** Every thread of `pids` now; undefined where /proc cannot be read or no thread has a name. */
export function readThreads(pids: readonly number[]): ThreadReading | undefined {
  if (process.platform !== 'linux') return undefined;
  const out = new Map<string, { group: ThreadGroup; seconds: number }>();
  let named = false;
  try {
    for (const pid of pids) {
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        let comm: string;
        let stat: string;
        try {
          comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
          stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
        } catch {
          continue; // the thread ended between the listing and the read
        }
        const main = tid === String(pid);
        if (!main && comm !== 'node') named = true;
        out.set(`${pid}/${tid}`, {
          group: main ? 'main' : threadGroup(comm),
          seconds: statTicks(stat) / clockTicks(),
        });
      }
    }
  } catch {
    return undefined;
  }
  return named ? out : undefined;
}

/**
 * Each group's share of the CPU spent between two readings, as "main/workers/libuv/V8 %" (the
 * rest, "other", counts in the whole: the few idle helper threads). Deltas are taken per thread,
 * so a thread that ended between the readings loses only what it spent after the first one, and
 * one that started counts in full.
 */
export function threadShares(before: ThreadReading, after: ThreadReading): string {
  const spent = new Map<ThreadGroup, number>();
  for (const [key, t] of after) {
    const was = before.get(key)?.seconds ?? 0;
    spent.set(t.group, (spent.get(t.group) ?? 0) + Math.max(0, t.seconds - was));
  }
  const all = [...spent.values()].reduce((a, b) => a + b, 0);
  if (all <= 0) return '';
  return `${THREAD_GROUPS.map((g) => Math.round((100 * (spent.get(g) ?? 0)) / all)).join('/')} %`;
}
