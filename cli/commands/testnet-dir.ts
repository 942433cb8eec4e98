/** The `--dir` of the commands that read a testnet's manifest (`testnet status`, `testnet logs`). */
import { VerityError } from '../../crypto/errors.ts';
import { readManifest, type TestnetManifest } from '../../src/node/testnet-manifest.ts';
import { UsageError } from '../framework.ts';
import { LOCAL_TESTNET_DIR } from './defaults.ts';

export const testnetDirOption = {
  dir: {
    type: 'string',
    valueName: 'DIR',
    description: `a directory created by \`verity testnet\` (default ${LOCAL_TESTNET_DIR})`,
  },
} as const;

/** The manifest in `dir`; no testnet there, or a manifest that is not JSON, is a usage error. */
export async function manifestForUsage(dir: string): Promise<TestnetManifest> {
  try {
    return await readManifest(dir);
  } catch (e) {
    if (e instanceof VerityError && e.code === 'NODE_SETUP') throw new UsageError(e.message);
    if (e instanceof SyntaxError) throw new UsageError(`${dir}/testnet.json is not valid JSON`);
    throw e;
  }
}
