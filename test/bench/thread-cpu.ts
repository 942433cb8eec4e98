/**
 * Where the validators' CPU goes, by thread, from Linux's /proc: the main thread (the event loop),
 * the verification workers, libuv's pool (LevelDB's writes with fsync and its compactions, file
 * I/O) and V8's helper threads (concurrent GC, compilers). `--profile` sees only JavaScript
 * threads; this also counts the native ones, so a run shows, say, LevelDB's compactions growing
 * with the store. Elsewhere than Linux it reads nothing, and the column is left out.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const THREAD_GROUPS = ['main', 'verify', 'libuv', 'V8'] as const;
export type ThreadGroup = (typeof THREAD_GROUPS)[number] | 'other';

/** The group of a thread by its name (`/proc/PID/task/TID/comm`, as Node names its threads). */
export function threadGroup(comm: string): ThreadGroup {
  if (comm === 'MainThread' || comm === 'node') return 'main';
  if (comm === 'WorkerThread') return 'verify';
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
  if (!Number.isFinite(utime) || !Number.isFinite(stime))
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

/** CPU seconds per group over every thread of `pids`; undefined where /proc cannot be read. */
export function threadCpuSeconds(pids: readonly number[]): Map<ThreadGroup, number> | undefined {
  if (process.platform !== 'linux') return undefined;
  const out = new Map<ThreadGroup, number>();
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
        const g = threadGroup(comm);
        out.set(g, (out.get(g) ?? 0) + statTicks(stat) / clockTicks());
      }
    }
  } catch {
    return undefined;
  }
  return out;
}

/**
 * Each group's share of the CPU spent between two readings, as "main/verify/libuv/V8 %" (the
 * rest, "other", is left out: it is the few idle helper threads). A thread that ended between
 * the readings takes its seconds with it, so a share can be a little low; never negative.
 */
export function threadShares(
  before: ReadonlyMap<ThreadGroup, number>,
  after: ReadonlyMap<ThreadGroup, number>,
): string {
  const spent = (g: ThreadGroup) => Math.max(0, (after.get(g) ?? 0) - (before.get(g) ?? 0));
  const all = [...THREAD_GROUPS, 'other' as const].reduce((a, g) => a + spent(g), 0);
  if (all <= 0) return '';
  return `${THREAD_GROUPS.map((g) => Math.round((100 * spent(g)) / all)).join('/')} %`;
}
