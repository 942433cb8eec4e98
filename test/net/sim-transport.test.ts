/** The transport compliance suite against the simulator's transport (virtual time, no jitter). */
import { SeededRng } from '../../consensus/rng.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { peerIdFromEd25519 } from '../../ledger/validators.ts';
import { DEFAULT_MAX_FRAME_BYTES } from '../../src/net/libp2p-network.ts';
import { EventQueue } from '../../src/sim/event-queue.ts';
import { CALM, SimNetwork } from '../../src/sim/network.ts';
import { type TransportHarness, transportCompliance } from './transport-compliance.ts';

transportCompliance('simulator', async (): Promise<TransportHarness> => {
  let time = 0;
  const queue = new EventQueue();
  const net = new SimNetwork(queue, new SeededRng('net-compliance'), () => time);
  // The simulator reorders on purpose under jitter; the ordering guarantee is a per-stream one,
  // which the simulator models with a fixed latency.
  net.faults = { ...CALM, jitterMs: 0 };
  const transports = [1, 2, 3].map((i) => {
    const id = net.addEndpoint(peerIdFromEd25519(ed25519.keygen(new Uint8Array(32).fill(i)).publicKey));
    return net.transport(id);
  });
  const run = async (): Promise<void> => {
    for (let ev = queue.pop(); ev !== undefined; ev = queue.pop()) {
      time = ev.time;
      await ev.run();
    }
  };
  return {
    transports,
    caps: DEFAULT_MAX_FRAME_BYTES,
    ready: run,
    until: async (done, what) => {
      await run();
      if (!done()) throw new Error(`simulator drained without: ${what}`);
    },
    settle: run,
    close: async () => {},
  };
});
