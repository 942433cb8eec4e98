/**
 * What a node opens its chain store with: the certificate schemes, the evidence verifier of its
 * engine, the engine's chain rules and the block limits of its config. One place, so that a store
 * opened outside a running node (`verity snapshot restore` checking what it extracted) is held to
 * exactly the rules the node will hold it to.
 */
import { stakingEvidenceVerifier } from '../../consensus/evidence.ts';
import type { EngineModule } from '../../consensus/types.ts';
import type { ChainOptions } from '../../ledger/chain.ts';
import type { Genesis } from '../../ledger/genesis.ts';
import { engineChainOptions } from '../chain-options.ts';
import { ALL_CERTIFICATE_SCHEMES } from '../schemes.ts';
import type { LevelKvStoreOptions } from '../storage/level-kv.ts';
import type { NodeConfig } from './config.ts';

/**
 * LevelDB's in-memory table for the chain store: LevelDB's own 4 MiB. A 32 MiB table wrote about
 * 40% fewer table bytes over two million transactions (`npm run bench:ledger -- --blocks 1000
 * --write-buffer-mb 32` compares), but its merges come in bursts eight times larger: with four
 * validators on two cores p99 went past 2 s whenever they fell (docs/THROUGHPUT.md). Smooth work
 * keeps the latency bounds; a node with cores to spare for LevelDB might choose otherwise.
 */
export const CHAIN_STORE_WRITE_BUFFER_BYTES = 4 * 1024 * 1024;

/**
 * How every opener of the chain store opens its LevelDB: the node, and `verity snapshot` reading
 * its head (with a table smaller than the node's, replaying the node's log would flush it as many
 * small tables).
 */
export function chainStoreKvOptions(sync: boolean): LevelKvStoreOptions {
  return { sync, writeBufferBytes: CHAIN_STORE_WRITE_BUFFER_BYTES };
}

/** Room for a block's header and certificate beyond its configured transaction bytes. */
const BLOCK_OVERHEAD_BYTES = 64 * 1024;

export function nodeChainOptions(
  engine: EngineModule<unknown>,
  genesis: Genesis,
  config: NodeConfig,
): ChainOptions {
  return {
    schemes: ALL_CERTIFICATE_SCHEMES,
    verifyEvidence: stakingEvidenceVerifier({
      engine: engine.name,
      chainId: genesis.chainId,
      codec: engine.codec,
    }),
    ...engineChainOptions(engine, genesis),
    limits: {
      maxBlockBytes: config.consensus.maxBlockBytes + BLOCK_OVERHEAD_BYTES,
      maxBlockTxs: config.consensus.maxBlockTxs,
    },
  };
}
