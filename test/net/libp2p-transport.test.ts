/** The transport compliance suite against the libp2p network: three real nodes on 127.0.0.1. */
import { DEFAULT_MAX_FRAME_BYTES, type Libp2pNetwork } from '../../src/net/libp2p-network.ts';
import type { NodeNetwork } from '../../src/node/node.ts';
import { mesh, seed, sleep, waitFor } from './helpers.ts';
import { type TransportHarness, transportCompliance } from './transport-compliance.ts';

// The node composes the network through this interface: keep them compatible (type-level check).
const _fitsTheNode = (n: Libp2pNetwork): NodeNetwork => n;
void _fitsTheNode;

transportCompliance('libp2p (TCP + Noise + Yamux)', async (): Promise<TransportHarness> => {
  const m = await mesh([seed(11), seed(12), seed(13)]);
  return {
    transports: m.nets,
    caps: DEFAULT_MAX_FRAME_BYTES,
    ready: () => waitFor(() => m.nets.every((n) => n.peers().length === m.nets.length - 1), 'full mesh'),
    until: (done, what) => waitFor(done, what, 15_000),
    settle: () => sleep(100),
    close: m.close,
  };
});
