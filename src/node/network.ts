/** The node's network: libp2p (src/net), configured from the node config and genesis. */
import { createLibp2pNetwork } from '../net/index.ts';
import type { NetworkFactory } from './node.ts';

export const createNodeNetwork: NetworkFactory = ({ config, genesis, identitySeed, logger }) =>
  createLibp2pNetwork({
    seed: identitySeed,
    listen: [config.p2p.listen],
    peers: config.p2p.peers,
    validators: genesis.validators.validators.map((v) => v.peerId),
    allowNonValidators: config.p2p.allowNonValidators,
    maxFrameBytes: {
      consensus: config.p2p.maxConsensusFrameBytes,
      tx: config.p2p.maxTxFrameBytes,
      sync: config.p2p.maxSyncFrameBytes,
    },
    logger,
  });
