/** Helpers for end-to-end tests: real `verity start` processes on 127.0.0.1. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getEngine } from '../../consensus/registry.ts';
import { appendOutputTo } from '../../src/node/child-log.ts';
import { createTestnet, type TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { VERITY } from '../helpers/cli.ts';

/**
 * A base port per test file and process, so parallel CI jobs and reruns do not collide. The range
 * stays below Linux's ephemeral ports (32768–60999): a port an earlier client connection still
 * holds in TIME_WAIT cannot be listened on (EADDRINUSE), and a test run leaves thousands of those.
 */
export function basePort(slot: number): number {
  return 20000 + ((process.pid * 7 + slot * 200) % 12000);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** The first base port from `basePort(slot)` on (in steps of 50) whose `count` ports are all free. */
export async function freeBasePort(slot: number, count: number): Promise<number> {
  for (let attempt = 0, base = basePort(slot); attempt < 40; attempt++, base += 50) {
    let free = true;
    for (let p = base; p < base + count && free; p++) free = await canListen(p);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports near ${basePort(slot)}`);
}

/** libfaketime (Debian's faketime package), where this machine has it. */
export const LIBFAKETIME = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
].find((f) => existsSync(f));

/**
 * A `Cluster.start` wrapper that runs a node on a clock `offset` off (libfaketime's syntax, e.g.
 * '+20s'): the library preloaded by `env`, which execs the node. Not the `faketime` command: it
 * forks, and it names a semaphore and a shared-memory object after its pid (O_EXCL) that only its
 * normal exit removes — a wrapper stopped by a signal leaves them, and a later one given the same
 * pid (pids wrap at 32768 in CI's container) exits with status 1 before the node starts. (The
 * library alone makes such objects too and leaves them after a SIGKILL, but on a name taken it
 * goes on without them.)
 */
export function fakeClock(offset: string): string[] {
  if (LIBFAKETIME === undefined)
    throw new Error('libfaketime is not installed (Debian: apt-get install faketime)');
  return ['env', `LD_PRELOAD=${LIBFAKETIME}`, `FAKETIME=${offset}`];
}

/** Thrown by a check that can never succeed (a node died): `waitFor` gives up at once. */
export class FatalWaitError extends Error {}

export interface Cluster {
  readonly manifest: TestnetManifest;
  readonly clients: RpcClient[];
  readonly procs: Array<ChildProcess | undefined>;
  /** Starts node i; `wrapper` runs it under another command (e.g. fakeClock('+20s')). */
  start(i: number, wrapper?: readonly string[]): ChildProcess;
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** The test expects node i's process to exit on its own (assertAlive ignores it). */
  expectExit(i: number): void;
  stopAll(): Promise<void>;
  /** Throws a FatalWaitError naming the node and quoting its log if one of `which` died on its own. */
  assertAlive(which: number[]): void;
}

function logTail(home: string, lines = 25): string {
  try {
    return readFileSync(join(home, 'node.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no node.log)';
  }
}

export async function createCluster(opts: {
  dir: string;
  validators: number;
  engine: string;
  engineParams?: Record<string, string | number | boolean>;
  slot: number;
  accounts?: number;
  /** Extra environment for the node processes (e.g. NODE_OPTIONS for profiling). */
  env?: Record<string, string>;
  /** Genesis `staking`, and candidate nodes (validator keys, not in genesis) after the validators. */
  staking?: Record<string, unknown>;
  candidates?: number;
  /** Node i's listen address, and the command it runs under by default (a network namespace). */
  hosts?: readonly string[];
  wrapper?: (i: number) => readonly string[];
  /** Extra arguments for every `verity start` (e.g. `--set node.verify_threads=0`). */
  startArgs?: readonly string[];
}): Promise<Cluster> {
  const nodes = opts.validators + (opts.candidates ?? 0);
  const manifest = await createTestnet({
    dir: opts.dir,
    validators: opts.validators,
    engine: opts.engine,
    ...(opts.engineParams === undefined ? {} : { engineParams: opts.engineParams }),
    ...(opts.staking === undefined ? {} : { staking: opts.staking, candidates: opts.candidates ?? 0 }),
    ...(opts.hosts === undefined ? {} : { hosts: opts.hosts }),
    basePort: await freeBasePort(opts.slot, 2 * nodes),
    accounts: opts.accounts ?? 4,
    chainId: 'e2e',
  });
  const procs: Array<ChildProcess | undefined> = manifest.nodes.map(() => undefined);
  // Exits the test did not ask for (kill() clears the flag first).
  const died: Array<string | undefined> = manifest.nodes.map(() => undefined);
  const expectExit = new Set<ChildProcess>();
  const groupLeaders = new WeakSet<ChildProcess>();
  const start = (i: number, wrapper: readonly string[] = opts.wrapper?.(i) ?? []): ChildProcess => {
    const n = manifest.nodes[i];
    if (n === undefined) throw new Error(`no node ${i}`);
    const argv = [
      process.execPath,
      VERITY,
      'start',
      '--home',
      n.home,
      '--log-level',
      process.env.VERITY_E2E_LOG_LEVEL ?? 'info',
      ...(opts.startArgs ?? []),
    ];
    const [cmd, ...args] = [...wrapper, ...argv] as [string, ...string[]];
    // A wrapper may fork the node and wait for it without passing signals on (the faketime command
    // did; a netns wrapper may), so a wrapped node runs in its own process group and kill()
    // signals the whole group; otherwise stopAll() would stop the wrapper and leave the node running.
    const wrapped = wrapper.length > 0;
    const child = spawn(cmd, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...opts.env },
      detached: wrapped,
    });
    if (wrapped) {
      groupLeaders.add(child);
      if (child.pid !== undefined) trackGroup(child.pid);
    }
    appendOutputTo(child, join(n.home, 'node.log'));
    procs[i] = child;
    died[i] = undefined;
    child.once('exit', (code, signal) => {
      if (!expectExit.has(child)) died[i] = `node ${i} exited on its own (code ${code}, signal ${signal})`;
    });
    return child;
  };
  const kill = async (i: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> => {
    const c = procs[i];
    if (c === undefined) return;
    expectExit.add(c);
    if (groupLeaders.has(c) && c.pid !== undefined) {
      // The wrapper may exit before the node under it (the faketime command did at once), or have exited
      // already: signal the group whatever the wrapper's state, and wait until all of it is gone.
      signalGroup(c.pid, signal);
      while (groupAlive(c.pid)) await new Promise((r) => setTimeout(r, 50));
      liveGroups.delete(c.pid);
      return;
    }
    if (c.exitCode !== null || c.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  };
  return {
    manifest,
    clients: manifest.nodes.map((n) => new RpcClient(n.rpc, { timeoutMs: 30_000 })),
    procs,
    start,
    kill,
    expectExit: (i) => {
      const c = procs[i];
      if (c !== undefined) expectExit.add(c);
    },
    stopAll: async () => {
      await Promise.all(procs.map((_, i) => kill(i)));
    },
    assertAlive: (which) => {
      for (const i of which) {
        const why = died[i];
        if (why !== undefined)
          throw new FatalWaitError(
            `${why}; last lines of its log:\n${logTail(manifest.nodes[i]?.home ?? '.')}`,
          );
      }
    },
  };
}

/** Process groups of wrapped nodes still running. A detached group does not get the terminal's
 * Ctrl-C, so whatever is left is killed when this process exits. */
const liveGroups = new Set<number>();
function trackGroup(pid: number): void {
  if (liveGroups.size === 0 && !exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const g of liveGroups) signalGroup(g, 'SIGKILL');
    });
  }
  liveGroups.add(pid);
}
let exitHook = false;

/** Signals process group `pid`; a group that is already gone is not an error. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 120_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof FatalWaitError) throw e;
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Each node's height (-1 when its RPC does not answer); throws at once if one of them died. */
export async function heights(c: Cluster, which: number[]): Promise<number[]> {
  c.assertAlive(which);
  return Promise.all(
    which.map((i) =>
      (c.clients[i] as RpcClient).status().then(
        (s) => s.height,
        () => -1,
      ),
    ),
  );
}

/**
 * A fresh directory `prefix` + six random characters in the system temp directory (os.tmpdir():
 * $TMPDIR, or /tmp). A suite that makes one ends with afterSuite (./suite-dir.ts): removed if it
 * passed, kept for debugging if it failed.
 */
export function tmpDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Log lines at error level or above (pino: error 50, fatal 60), and stack traces. */
export function errorLines(lines: readonly string[]): string[] {
  return lines.filter((line) => {
    if (line.trim() === '') return false;
    try {
      return ((JSON.parse(line) as { level?: number }).level ?? 0) >= 50;
    } catch {
      return /^\s+at |Error\b/.test(line);
    }
  });
}

/**
 * Waits until the cluster is running: every node at height ≥ 1 — or, for an engine that makes no
 * empty blocks (it may stay at 0 until a transaction comes), every node following one leader.
 */
export async function waitUntilRunning(c: Cluster, engine: string, which = [0, 1, 2, 3]): Promise<void> {
  if (getEngine(engine)?.emptyBlocks !== false) {
    await waitFor('every node at height ≥ 1', async () =>
      (await heights(c, which)).every((h) => h >= 1) ? true : undefined,
    );
    return;
  }
  await waitFor('every node following one leader', async () => {
    c.assertAlive(which);
    const leaders = await Promise.all(
      which.map((i) =>
        (c.clients[i] as RpcClient).get<{ leader: number | null }>('/status').then(
          (s) => s.leader,
          () => null,
        ),
      ),
    );
    return leaders.every((l) => l !== null && l === leaders[0]) ? true : undefined;
  });
}
