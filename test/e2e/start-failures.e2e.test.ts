// Failures that must be loud (issue 17), with real `verity start` processes. A node whose p2p or
// RPC port is taken exits non-zero at once with one plain line naming the setting — it used to
// keep running half-started, answering /status at height 0. A second start on a running home
// (`verity start` or `npm start`'s start-local) is refused with the running node's pid, exit 2,
// and touches nothing — it used to open LevelDB under the running node and write a lock trace
// into its log. A node.pid left by a node killed with -9 is taken over.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runVerity } from '../helpers/cli.ts';
import { type Cluster, createCluster, heights, tmpDir, waitFor } from './helpers.ts';
import { afterSuite } from './suite-dir.ts';

function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

function release(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

const portOf = (addr: string): number => Number(/(\d+)$/.exec(addr)?.[1]);

describe('e2e: start failures are loud and leave nothing behind', () => {
  let cluster: Cluster;
  let dir: string;
  let home: string;
  let p2pPort: number;
  let rpcPort: number;
  const pidFile = () => join(home, 'node.pid');
  const readPidFile = (): string | undefined => {
    try {
      return readFileSync(pidFile(), 'utf8');
    } catch {
      return undefined;
    }
  };

  beforeAll(async () => {
    dir = await tmpDir('verity-e2e-start-');
    cluster = await createCluster({ dir, validators: 1, engine: 'hotstuff', slot: 36 });
    const n = cluster.manifest.nodes[0];
    home = n?.home as string;
    p2pPort = portOf(n?.p2p as string);
    rpcPort = portOf(n?.rpc as string);
  });

  afterSuite(
    () => dir,
    () => cluster?.stopAll(),
  );

  /** `verity start` on the node's home with `port` held by this process. */
  async function startWithPortTaken(port: number) {
    const holder = await occupy(port);
    try {
      const began = Date.now();
      const r = await runVerity(['start', '--home', home], { timeoutMs: 20_000 });
      return { ...r, ms: Date.now() - began };
    } finally {
      await release(holder);
    }
  }

  /** What a failed start must leave: the ports free again and no node.pid. */
  async function expectNothingLeft(): Promise<void> {
    for (const port of [p2pPort, rpcPort]) await release(await occupy(port));
    expect(readPidFile()).toBeUndefined();
  }

  for (const [setting, port] of [
    ['p2p.listen', () => p2pPort],
    ['rpc.listen', () => rpcPort],
  ] as const) {
    it(`${setting} in use: exits non-zero within seconds, one line naming ${setting}, no stack trace`, async () => {
      const r = await startWithPortTaken(port());
      expect(r.code, r.stderr).not.toBe(-1); // -1: killed at the timeout, it never exited
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.ms).toBeLessThan(15_000);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^error: ${setting.replace('.', '\\.')} \\S*${port()} is in use — change ${setting.replace('.', '\\.')} in ${join(home, 'config.toml')}`,
        ),
      );
      expect(r.stderr).not.toMatch(/^\s+at /m);
      expect(r.stderr + r.stdout).not.toContain('faultTolerance');
      await expectNothingLeft();
    });
  }

  it('a second start on a running home: exit 2 naming the running pid; the node runs on, its log clean', async () => {
    const proc = cluster.start(0);
    const [h0] = await waitFor('the node at height ≥ 1', async () => {
      const h = await heights(cluster, [0]);
      return (h[0] as number) >= 1 ? h : undefined;
    });
    const expected = `error: a node is already running in ${home} (pid ${proc.pid})\n`;

    const again = await runVerity(['start', '--home', home]);
    expect(again.code, again.stderr).toBe(2);
    expect(again.stderr).toBe(expected);
    expect(again.stdout).toBe('');
    // `npm start` is start-local: it checks every home before it says anything about resuming.
    const local = await runVerity(['start-local', '--dir', dir]);
    expect(local.code, local.stderr).toBe(2);
    expect(local.stderr).toBe(expected);

    await waitFor('the running node to commit 2 more blocks', async () => {
      const h = await heights(cluster, [0]);
      return (h[0] as number) >= (h0 as number) + 2 ? true : undefined;
    });
    expect(readPidFile()).toBe(`${proc.pid}\n`);
    const log = readFileSync(join(home, 'node.log'), 'utf8');
    expect(log).not.toMatch(/LEVEL_LOCKED|STORAGE_LOCKED|already running|resuming/);
  });

  it('a node.pid left by kill -9 is taken over; SIGTERM removes it', async () => {
    const old = cluster.procs[0]?.pid;
    await cluster.kill(0, 'SIGKILL');
    expect(readPidFile()).toBe(`${old}\n`); // stale: its process is gone
    const proc = cluster.start(0);
    const h1 = await waitFor('the restarted node to answer', async () => {
      const [h] = await heights(cluster, [0]);
      return (h as number) >= 0 ? h : undefined;
    });
    await waitFor('the restarted node to commit', async () => {
      const [h] = await heights(cluster, [0]);
      return (h as number) > (h1 as number) ? true : undefined;
    });
    expect(readPidFile()).toBe(`${proc.pid}\n`);
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    await cluster.kill(0, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(readPidFile()).toBeUndefined();
  });

  // Listening for signals only once the node had started left a window (RPC answering, the runtime
  // starting) in which SIGTERM killed the node by signal and left node.pid (CI on 2a84632).
  it('SIGTERM while the node is still starting: it stops once started, exits 0 and removes node.pid', async () => {
    const proc = cluster.start(0);
    // node.pid is written early in the start, long before the node has started.
    await waitFor('node.pid', async () => (readPidFile() === `${proc.pid}\n` ? true : undefined), 30_000, 5);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      proc.once('exit', (code, signal) => resolve({ code, signal })),
    );
    await cluster.kill(0, 'SIGTERM');
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(readPidFile()).toBeUndefined();
    const log = readFileSync(join(home, 'node.log'), 'utf8');
    expect(log).toMatch(/shutting down/);
  });
});
