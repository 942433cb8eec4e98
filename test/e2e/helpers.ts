/** Helpers for end-to-end tests: real `verity start` processes on 127.0.0.1. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createTestnet, type TestnetManifest } from '../../src/node/testnet.ts';
import { RpcClient } from '../../src/rpc/client.ts';
import { VERITY } from '../helpers/cli.ts';

/** A base port per test file and process, so parallel CI jobs and reruns do not collide. */
export function basePort(slot: number): number {
  return 30000 + ((process.pid * 7 + slot * 200) % 30000);
}

export interface Cluster {
  readonly manifest: TestnetManifest;
  readonly clients: RpcClient[];
  readonly procs: Array<ChildProcess | undefined>;
  start(i: number): ChildProcess;
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  stopAll(): Promise<void>;
}

export async function createCluster(opts: {
  dir: string;
  validators: number;
  engine: string;
  engineParams?: Record<string, string | number | boolean>;
  slot: number;
  accounts?: number;
}): Promise<Cluster> {
  const manifest = await createTestnet({
    dir: opts.dir,
    validators: opts.validators,
    engine: opts.engine,
    ...(opts.engineParams === undefined ? {} : { engineParams: opts.engineParams }),
    basePort: basePort(opts.slot),
    accounts: opts.accounts ?? 4,
    chainId: 'e2e',
  });
  const procs: Array<ChildProcess | undefined> = manifest.nodes.map(() => undefined);
  const start = (i: number): ChildProcess => {
    const n = manifest.nodes[i];
    if (n === undefined) throw new Error(`no node ${i}`);
    const child = spawn(
      process.execPath,
      [VERITY, 'start', '--home', n.home, '--log-level', process.env.VERITY_E2E_LOG_LEVEL ?? 'info'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const log = createWriteStream(join(n.home, 'node.log'), { flags: 'a' });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    procs[i] = child;
    return child;
  };
  const kill = (i: number, signal: NodeJS.Signals = 'SIGTERM') =>
    new Promise<void>((resolve) => {
      const c = procs[i];
      if (c === undefined || c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill(signal);
    });
  return {
    manifest,
    clients: manifest.nodes.map((n) => new RpcClient(n.rpc, { timeoutMs: 30_000 })),
    procs,
    start,
    kill,
    stopAll: async () => {
      await Promise.all(procs.map((_, i) => kill(i)));
    },
  };
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
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function heights(c: Cluster, which: number[]): Promise<number[]> {
  return Promise.all(
    which.map((i) =>
      (c.clients[i] as RpcClient).status().then(
        (s) => s.height,
        () => -1,
      ),
    ),
  );
}

export function tmpDir(prefix: string): Promise<string> {
  return import('node:fs/promises').then(({ mkdtemp: mk }) => mk(join(process.env.TMPDIR ?? '/tmp', prefix)));
}
