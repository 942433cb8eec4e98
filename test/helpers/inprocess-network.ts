/** A real-time in-process network for node-level tests that do not need libp2p. */

import { ed25519 } from '../../crypto/ed25519.ts';
import { peerIdFromEd25519 } from '../../ledger/validators.ts';
import type { NetworkFactory, NodeNetwork } from '../../src/node/node.ts';
import type { Channel, MessageHandler } from '../../src/runtime/ports.ts';

export class InProcessHub {
  readonly handlers = new Map<string, MessageHandler>();

  factory(): NetworkFactory {
    return async ({ identitySeed }) => {
      const self = peerIdFromEd25519(ed25519.publicKeyFromSecret(identitySeed));
      let bytes = { in: 0, out: 0 };
      const penalties = { minor: 0, major: 0 };
      const deliver = (to: string, channel: Channel, data: Uint8Array) => {
        const h = this.handlers.get(to);
        if (h === undefined) return;
        bytes.out += data.length;
        setImmediate(() => h(self, channel, data));
      };
      const net: NodeNetwork = {
        self,
        send: (to, channel, data) => deliver(to, channel, data),
        broadcast: (channel, data) => {
          for (const peer of this.handlers.keys()) if (peer !== self) deliver(peer, channel, data);
        },
        onMessage: (h) => {
          this.handlers.set(self, (from, channel, data) => {
            bytes.in += data.length;
            h(from, channel, data);
          });
        },
        peers: () => [...this.handlers.keys()].filter((p) => p !== self),
        penalize: (_peer, _reason, severity) => {
          penalties[severity]++;
        },
        start: async () => undefined,
        stop: async () => {
          this.handlers.delete(self);
          bytes = { in: 0, out: 0 };
        },
        stats: () => ({ bytesIn: bytes.in, bytesOut: bytes.out, penalties: { ...penalties }, bans: 0 }),
        listenAddrs: () => [],
      };
      return net;
    };
  }
}
