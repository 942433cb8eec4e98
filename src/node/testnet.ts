/**
 * Local testnets: `verity testnet` lays out N validator homes with configs that point at each
 * other on 127.0.0.1, plus funded account keys and a manifest (testnet.json) that scripts use to
 * drive the network; `verity testnet up` runs every node as a child process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EngineParams } from '../../ledger/genesis.ts';
import { GenesisBuildError, planChain, refuseExisting, writeChain } from '../genesis-builder.ts';
import { writeFileAtomic } from '../keystore.ts';
import { appendOutputTo } from './child-log.ts';
import { configToToml, defaultConfig } from './config.ts';
import { homePaths } from './home.ts';
import { nodeRunningError, runningNodePid } from './home-lock.ts';
import { manifestPath, type TestnetManifest } from './testnet-manifest.ts';

export { manifestPath, readManifest, type TestnetManifest } from './testnet-manifest.ts';

export interface TestnetOptions {
  readonly dir: string;
  readonly validators: number;
  readonly engine: string;
  readonly engineParams?: EngineParams;
  readonly basePort?: number;
  readonly accounts?: number;
  readonly chainId?: string;
  readonly threshold?: boolean;
  /** Genesis `staking` (the set changes by stake), and candidate nodes not in genesis. */
  readonly staking?: Record<string, unknown>;
  readonly candidates?: number;
  /**
   * The address node i listens on (p2p and RPC), by index; 127.0.0.1 for the rest. The nemesis
   * suite gives each node its own network namespace and address, to partition them.
   */
  readonly hosts?: readonly string[];
  /** Extra config applied to every node (e.g. faster blocks for benchmarks). */
  readonly tune?: (cfg: ReturnType<typeof defaultConfig>) => void;
  /**
   * Replace a testnet already in `dir`: its keys, genesis, configs and manifest are overwritten and
   * the chain data of its nodes (node<i>/data) deleted — the old chain cannot run on the new genesis.
   * Without it, any existing file is a GenesisBuildError OUTPUT_EXISTS and nothing is written.
   */
  readonly force?: boolean;
}

export async function createTestnet(o: TestnetOptions): Promise<TestnetManifest> {
  const dir = resolve(o.dir);
  const force = o.force === true;
  // Every input is checked, and every key built, before anything is written.
  const basePort = o.basePort ?? 26600;
  const total = o.validators + (o.candidates ?? 0);
  if (!Number.isSafeInteger(basePort) || basePort < 1024 || basePort + 2 * total - 1 > 65535) {
    throw new GenesisBuildError(
      'INVALID_OPTIONS',
      `ports ${basePort}..${basePort + 2 * total - 1} do not fit 1024..65535`,
      { usage: true },
    );
  }
  const plan = planChain({
    chainId: o.chainId ?? 'verity-testnet',
    validators: o.validators,
    engine: o.engine,
    ...(o.engineParams === undefined ? {} : { engineParams: o.engineParams }),
    accounts: o.accounts ?? 4,
    genesisTime: Date.now(),
    threshold: o.threshold ?? o.engineParams?.qc === 'threshold',
    ...(o.staking === undefined ? {} : { staking: o.staking }),
    ...(o.candidates === undefined ? {} : { candidates: o.candidates }),
  });
  const homes = plan.validators.map((_, i) => join(dir, `node${i}`));
  if (!force) {
    refuseExisting([manifestPath(dir), ...homes.flatMap((h) => [homePaths(h).config, join(h, 'data')])]);
  } else {
    for (const h of homes) await rm(join(h, 'data'), { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  const built = await writeChain(dir, plan, { overwrite: force });
  const host = (i: number) => o.hosts?.[i] ?? '127.0.0.1';
  const p2pAddr = (i: number) => `/ip4/${host(i)}/tcp/${basePort + 2 * i}`;
  const rpcAddr = (i: number) => `${host(i)}:${basePort + 2 * i + 1}`;
  const nodes = built.nodes.map((n, i) => ({
    name: n.name,
    home: n.home,
    rpc: `http://${rpcAddr(i)}`,
    p2p: p2pAddr(i),
    peerId: n.peerId,
    address: n.address,
  }));
  for (const [i, n] of nodes.entries()) {
    const cfg = defaultConfig(n.name);
    cfg.p2p.listen = n.p2p;
    cfg.p2p.peers = nodes.filter((_, j) => j !== i).map((p) => `${p.peerId}@${p.p2p}`);
    cfg.rpc.listen = rpcAddr(i);
    // With staking, a node outside the set (a candidate, a departed validator) must still connect
    // to sync, and validators admit new ones as they join: admit non-validator peers.
    if (o.staking !== undefined) cfg.p2p.allowNonValidators = true;
    o.tune?.(cfg);
    await writeFileAtomic(homePaths(n.home).config, configToToml(cfg), 0o644, { exclusive: !force });
  }
  const manifest: TestnetManifest = {
    version: 1,
    chainId: o.chainId ?? 'verity-testnet',
    engine: o.engine,
    genesis: built.genesisPath,
    nodes,
    accounts: built.accounts,
  };
  // Last: the manifest is what marks the directory as a complete testnet (`npm start` resumes it).
  await writeFileAtomic(manifestPath(dir), `${JSON.stringify(manifest, null, 2)}\n`, 0o644, {
    exclusive: !force,
  });
  return manifest;
}

/**
 * Throws a NodeRunningError for the first node of `m` that is already running: a second
 * `npm start` must say so before it reports anything about the testnet or starts a process that
 * would write into a running node's home.
 */
export function refuseRunningNodes(m: TestnetManifest): void {
  for (const n of m.nodes) {
    const pid = runningNodePid(n.home);
    if (pid !== undefined) throw nodeRunningError(n.home, pid);
  }
}

const VERITY_BIN = fileURLToPath(new URL('../../cli/verity.ts', import.meta.url));

export interface RunningTestnet {
  readonly children: ChildProcess[];
  stop(): Promise<void>;
}

/** Starts every node of a testnet as a child process (logs to HOME/node.log). */
export function spawnTestnet(
  m: TestnetManifest,
  opts: { extraArgs?: string[]; stdio?: 'inherit' | 'logfile' } = {},
): RunningTestnet {
  const children = m.nodes.map((n) => {
    const args = [VERITY_BIN, 'start', '--home', n.home, ...(opts.extraArgs ?? [])];
    return spawn(process.execPath, args, {
      stdio: opts.stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
      env: process.env,
    });
  });
  if (opts.stdio !== 'inherit') {
    for (const [i, c] of children.entries()) appendOutputTo(c, join(m.nodes[i]?.home ?? '.', 'node.log'));
  }
  return {
    children,
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise<void>((resolveStop) => {
              if (c.exitCode !== null || c.signalCode !== null) return resolveStop();
              const kill = setTimeout(() => c.kill('SIGKILL'), 10_000);
              c.once('exit', () => {
                clearTimeout(kill);
                resolveStop();
              });
              c.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}
