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
import type { NodeConfig } from './config.ts';

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
