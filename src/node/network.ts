/** The node's network: libp2p (src/net), configured from the node config and genesis. */
import { NodeApiError } from './errors.ts';
import type { NetworkFactory } from './node.ts';

export const createNodeNetwork: NetworkFactory = async () => {
  throw new NodeApiError('NODE_SETUP', 'networking is not wired yet');
};
