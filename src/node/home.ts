/**
 * A node's home directory:
 *   HOME/config.toml       node configuration (src/node/config.ts)
 *   HOME/genesis.json      the chain's genesis
 *   HOME/keys/ed25519.json validator key = libp2p identity (a full node generates its own)
 *   HOME/keys/bls.json     BLS key (validators), keys/bls-share.json (threshold deals), keys/vrf.json (ECVRF)
 *   HOME/keys/sign-fence.{0,1}  what the validator key has signed (src/runtime/sign-fence.ts):
 *                          beside the key, so wiping HOME/data does not wipe it
 *   HOME/data/chain        LevelDB: blocks, certificates, index, state trie, log
 *   HOME/data/wal          LevelDB: consensus write-ahead records and the double-sign guard
 *   HOME/node.pid          the pid of the node running in this home, while it runs (home-lock.ts)
 */
import { join } from 'node:path';

export interface HomePaths {
  readonly home: string;
  readonly config: string;
  readonly genesis: string;
  readonly keys: string;
  readonly ed25519Key: string;
  readonly blsKey: string;
  readonly blsShareKey: string;
  readonly vrfKey: string;
  /** Base path of the sign fence's two copies (`.0`, `.1`). */
  readonly signFence: string;
  readonly chainDb: string;
  readonly walDb: string;
  readonly pidFile: string;
}

export function homePaths(home: string): HomePaths {
  return {
    home,
    config: join(home, 'config.toml'),
    genesis: join(home, 'genesis.json'),
    keys: join(home, 'keys'),
    ed25519Key: join(home, 'keys', 'ed25519.json'),
    blsKey: join(home, 'keys', 'bls.json'),
    blsShareKey: join(home, 'keys', 'bls-share.json'),
    vrfKey: join(home, 'keys', 'vrf.json'),
    signFence: join(home, 'keys', 'sign-fence'),
    chainDb: join(home, 'data', 'chain'),
    walDb: join(home, 'data', 'wal'),
    pidFile: join(home, 'node.pid'),
  };
}
