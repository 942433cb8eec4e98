import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
/** Shared helpers for the libp2p network tests: deterministic keys, meshes on 127.0.0.1, polling. */

import { libp2pKeyFromSeed, peerIdFromSeed } from '../../src/net/identity.ts';
import {
  createLibp2pNetwork,
  type Libp2pNetwork,
  type Libp2pNetworkOptions,
  PROTOCOLS,
} from '../../src/net/libp2p-network.ts';
import type { Logger } from '../../src/runtime/ports.ts';

export const seed = (i: number): Uint8Array => new Uint8Array(32).fill(i);

export const LOCAL = '/ip4/127.0.0.1/tcp/0';

/** Logs to the console when VERITY_NET_DEBUG is set (diagnosing a failure), silent otherwise. */
export const testLogger = (name: string): Logger | undefined =>
  process.env.VERITY_NET_DEBUG === undefined
    ? undefined
    : {
        debug: (m, f) => console.debug(`[${name}] ${m}`, f ?? ''),
        info: (m, f) => console.info(`[${name}] ${m}`, f ?? ''),
        warn: (m, f) => console.warn(`[${name}] ${m}`, f ?? ''),
        error: (m, f) => console.error(`[${name}] ${m}`, f ?? ''),
      };

export async function waitFor(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export type NodeOptions = Omit<Libp2pNetworkOptions, 'seed' | 'listen' | 'validators'> &
  Partial<Pick<Libp2pNetworkOptions, 'listen' | 'validators'>>;

/**
 * Starts `seeds.length` networks on 127.0.0.1 (OS-assigned ports), each allowing `validators`
 * (default: all of them), and has each dial every other one.
 */
export async function mesh(
  seeds: readonly Uint8Array[],
  opts: NodeOptions = {},
): Promise<{ nets: Libp2pNetwork[]; ids: string[]; close(): Promise<void> }> {
  const ids = await Promise.all(seeds.map((s) => peerIdFromSeed(s)));
  const nets = await Promise.all(
    seeds.map((s, i) =>
      createLibp2pNetwork({
        inboundConnectionThreshold: 1000,
        ...opts,
        seed: s,
        listen: opts.listen ?? [LOCAL],
        validators: opts.validators ?? ids,
        ...(testLogger(`n${i}`) === undefined ? {} : { logger: testLogger(`n${i}`) as Logger }),
      }),
    ),
  );
  await Promise.all(nets.map((n) => n.start()));
  for (const a of nets) for (const b of nets) if (a !== b) a.addPeer(b.listenAddrs()[0] as string);
  return {
    nets,
    ids,
    close: async () => {
      await Promise.all(nets.map((n) => n.stop()));
    },
  };
}

/**
 * A bare libp2p node (same stack, no Verity logic): a hostile, misbehaving or non-validator peer.
 * It accepts our protocols (discarding what it receives) so that our side confirms the connection;
 * its stop is pushed on `cleanups`.
 */
export async function rawNode(s: Uint8Array, cleanups: Array<() => Promise<void>>): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey: await libp2pKeyFromSeed(s),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  });
  for (const p of Object.values(PROTOCOLS)) {
    await node.handle(p, (stream) => {
      stream.addEventListener('message', () => {});
    });
  }
  cleanups.push(async () => {
    await node.stop();
  });
  return node;
}
