/**
 * A real single-validator chain (LevelDB, real timers) for tests that need a node but not a
 * network: a fresh testnet directory with funded accounts, and its node started in this process
 * with the RPC on a free port and an in-process network.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type NodeConfig } from '../../src/node/config.ts';
import { VerityNode } from '../../src/node/node.ts';
import { createTestnet, type TestnetManifest } from '../../src/node/testnet.ts';
import { silentLogger } from '../../src/runtime/ports.ts';
import { InProcessHub } from './inprocess-network.ts';

/**
 * A one-validator testnet in a fresh temp directory: Tendermint (an empty block every 200 ms)
 * unless `engine` says otherwise.
 */
export async function singleValidatorTestnet(opts: {
  chainId: string;
  accounts: number;
  engine?: string;
  engineParams?: Record<string, string | number | boolean>;
}): Promise<TestnetManifest> {
  const dir = await mkdtemp(join(tmpdir(), `verity-${opts.chainId}-`));
  return createTestnet({
    dir,
    validators: 1,
    engine: opts.engine ?? 'tendermint',
    engineParams: opts.engineParams ?? (opts.engine === undefined ? { emptyBlockIntervalMs: 200 } : {}),
    accounts: opts.accounts,
    chainId: opts.chainId,
  });
}

/** Starts the testnet's node in this process; `tweak` adjusts its config (RPC on a free port). */
export function startSingleNode(
  manifest: TestnetManifest,
  tweak: (config: NodeConfig) => void = () => {},
): Promise<VerityNode> {
  const config = defaultConfig('node0');
  config.rpc.listen = '127.0.0.1:0';
  tweak(config);
  const home = manifest.nodes[0]?.home;
  if (home === undefined) throw new Error('the testnet has no node');
  return VerityNode.start({ home, config, logger: silentLogger, network: new InProcessHub().factory() });
}
