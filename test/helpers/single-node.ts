/**
 * A real single-validator chain (LevelDB, real timers) for tests that need a node but not a
 * network: a fresh testnet directory with funded accounts, and its node started in this process
 * with the RPC on a free port and an in-process network.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type NodeConfig } from '../../src/node/config.ts';
import { VerityNode } from '../../src/node/node.ts';
import { createTestnet, type TestnetManifest } from '../../src/node/testnet.ts';
import { silentLogger } from '../../src/runtime/ports.ts';
import { InProcessHub } from './inprocess-network.ts';

/** The temp directory of each testnet made here, for removeTestnet; and those removed already. */
const testnetDirs = new WeakMap<TestnetManifest, string>();
const removedTestnets = new WeakSet<TestnetManifest>();

/**
 * A one-validator testnet in a fresh temp directory (`verity-<chainId>-*`): Tendermint (an empty
 * block every 200 ms) unless `engine` says otherwise. The caller removes it with removeTestnet
 * once its node is stopped (in afterAll or a finally).
 */
export async function singleValidatorTestnet(opts: {
  chainId: string;
  accounts: number;
  engine?: string;
  engineParams?: Record<string, string | number | boolean>;
}): Promise<TestnetManifest> {
  const dir = await mkdtemp(join(tmpdir(), `verity-${opts.chainId}-`));
  try {
    const manifest = await createTestnet({
      dir,
      validators: 1,
      engine: opts.engine ?? 'tendermint',
      engineParams: opts.engineParams ?? (opts.engine === undefined ? { emptyBlockIntervalMs: 200 } : {}),
      accounts: opts.accounts,
      chainId: opts.chainId,
    });
    testnetDirs.set(manifest, dir);
    return manifest;
  } catch (e) {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    throw e;
  }
}

/**
 * Removes the temp directory of a testnet from singleValidatorTestnet (stop its node first).
 * Undefined (a beforeAll that failed before making it), or one removed already, is nothing to do.
 */
export async function removeTestnet(manifest: TestnetManifest | undefined): Promise<void> {
  if (manifest === undefined || removedTestnets.has(manifest)) return;
  const dir = testnetDirs.get(manifest);
  if (dir === undefined) throw new Error('removeTestnet: not a testnet made by singleValidatorTestnet');
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  testnetDirs.delete(manifest);
  removedTestnets.add(manifest);
}

/** Starts the testnet's node in this process; `tweak` adjusts its config (RPC on a free port). */
export function startSingleNode(
  manifest: TestnetManifest,
  tweak: (config: NodeConfig) => void = () => {},
  options: { homeCheckIntervalMs?: number } = {},
): Promise<VerityNode> {
  const config = defaultConfig('node0');
  config.rpc.listen = '127.0.0.1:0';
  tweak(config);
  const home = manifest.nodes[0]?.home;
  if (home === undefined) throw new Error('the testnet has no node');
  return VerityNode.start({
    home,
    config,
    logger: silentLogger,
    network: new InProcessHub().factory(),
    ...options,
  });
}
