/**
 * A testnet's manifest (testnet.json): where its nodes live and listen. Kept apart from
 * testnet.ts so that commands that only read it (queries, `testnet status`) load no engine code.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { NodeApiError } from './errors.ts';

export interface TestnetManifest {
  readonly version: 1;
  readonly chainId: string;
  readonly engine: string;
  readonly genesis: string;
  readonly nodes: ReadonlyArray<{
    name: string;
    home: string;
    rpc: string;
    p2p: string;
    peerId: string;
    address: string;
  }>;
  readonly accounts: ReadonlyArray<{ keyFile: string; address: string; balance: string }>;
}

export function manifestPath(dir: string): string {
  return join(dir, 'testnet.json');
}

export async function readManifest(dir: string): Promise<TestnetManifest> {
  const path = manifestPath(resolve(dir));
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new NodeApiError(
      'NODE_SETUP',
      `no testnet at ${dir} (missing testnet.json); create one with \`verity testnet --out ${dir}\``,
    );
  }
  const m = JSON.parse(text) as TestnetManifest;
  if (m.version !== 1 || !Array.isArray(m.nodes))
    throw new NodeApiError('NODE_SETUP', `${path} is not a testnet manifest`);
  return m;
}
