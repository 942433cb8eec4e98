/**
 * Byzantine behaviours, as wrappers around a node's transport (the node itself runs the honest
 * runtime and engine; what leaves it is corrupted). Twins need no wrapper: two honest instances
 * share one key and the network gives them different views.
 */
import {
  encodeEnvelope,
  openEnvelope,
  type SignatureVerifier,
  sealEnvelope,
} from '../../consensus/envelope.ts';
import type { Rng } from '../../consensus/rng.ts';
import type { ByzantineContext, EngineModule } from '../../consensus/types.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import type { Transport } from '../runtime/ports.ts';

export const BYZANTINE_MODES = ['twins', 'equivocate', 'silent', 'invalid-sig', 'garbage'] as const;
export type ByzantineMode = (typeof BYZANTINE_MODES)[number];

export interface ByzantineWrapperOptions {
  readonly mode: Exclude<ByzantineMode, 'twins'>;
  readonly module: EngineModule<unknown>;
  readonly validators: ValidatorSet;
  readonly chainId: string;
  readonly index: number;
  readonly secretKey: Uint8Array;
  readonly rng: Rng;
  readonly alternative: ByzantineContext['alternative'];
}

const trustAll: SignatureVerifier = () => true;

export function byzantineTransport(inner: Transport, o: ByzantineWrapperOptions): Transport {
  const corrupt = (bytes: Uint8Array, peers: string[], send: (peer: string, b: Uint8Array) => void): void => {
    switch (o.mode) {
      case 'silent':
        return; // withholds every consensus message
      case 'invalid-sig': {
        for (const peer of peers) {
          const bad = bytes.slice();
          const i = bad.length - 1 - o.rng.int(64); // inside the trailing signature
          bad[i] = (bad[i] as number) ^ (1 << o.rng.int(8));
          send(peer, bad);
        }
        return;
      }
      case 'garbage': {
        for (const peer of peers) {
          const roll = o.rng.next();
          const len = roll < 0.1 ? 2 * 1024 * 1024 : 1 + o.rng.int(2048); // sometimes oversized
          const junk = new Uint8Array(len);
          for (let i = 0; i < Math.min(len, 4096); i++) junk[i] = o.rng.int(256);
          // Occasionally a well-formed envelope around junk, signed by us: decodes, then fails.
          send(peer, roll < 0.3 ? encodeEnvelope(junk.subarray(0, 64), o.index, new Uint8Array(64)) : junk);
        }
        return;
      }
      case 'equivocate': {
        const opened = openEnvelope(bytes, o.module.codec, o.validators, o.chainId, trustAll);
        const variant = o.module.byzantine?.conflicting(opened.msg, {
          rng: o.rng,
          alternative: o.alternative,
        });
        const other =
          variant === undefined
            ? bytes
            : sealEnvelope(o.module.codec, variant, o.chainId, o.index, o.secretKey).bytes;
        // Half the peers (chosen afresh for every message) see the other version.
        for (const peer of peers) send(peer, o.rng.chance(0.5) ? other : bytes);
        return;
      }
    }
  };
  return {
    self: inner.self,
    onMessage: (h) => inner.onMessage(h),
    peers: () => inner.peers(),
    penalize: (p, r, s) => inner.penalize(p, r, s),
    send: (to, channel, bytes) => {
      if (channel !== 'consensus') return inner.send(to, channel, bytes);
      corrupt(bytes, [to], (peer, b) => inner.send(peer, channel, b));
    },
    broadcast: (channel, bytes) => {
      if (channel !== 'consensus') return inner.broadcast(channel, bytes);
      const peers = [...new Set(inner.peers())].sort();
      corrupt(bytes, peers, (peer, b) => inner.send(peer, channel, b));
    },
  };
}
