/**
 * Mining attacks, as transport wrappers around the Byzantine miners (like byzantine.ts: each runs
 * the honest engine; what crosses its links is the attack). The Byzantine validators form one
 * pool: their blocks always reach each other at once; what the honest miners see is the policy.
 *  - private-chain: the pool ignores the honest chain and mines its own from where it started,
 *    in secret. Once its chain has more work than the honest chain AND the honest chain is long
 *    enough for honest nodes to have committed a block on it (k + 1 blocks), it publishes
 *    everything and behaves honestly from then on: with a majority of the hash power, a committed
 *    block is reverted — the negative control the simulator must catch.
 *  - selfish: Eyal & Sirer's selfish mining ("Majority is not enough", 2014, Algorithm 1): the pool
 *    keeps its blocks private and publishes only to win a race — on an honest block it gives up
 *    when behind, publishes everything when the honest chain catches up to one block behind (a
 *    race) or two (a win), and otherwise publishes just enough to match the honest height.
 * Only block messages are withheld or revealed; the pool's tip announcements to honest miners are
 * dropped while it keeps a secret (they would reveal it), and everything else passes — except that
 * a private chain is also kept out of block sync both ways until it is released (sync would hand
 * the honest nodes the pool's committed blocks, or the pool the honest ones).
 */
import { openEnvelope, type SignatureVerifier } from '../../consensus/envelope.ts';
import type { PowMessage } from '../../consensus/pow/messages.ts';
import { decodePowData } from '../../consensus/pow/rules.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';
import { headerHash } from '../../ledger/block.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import type { Channel, Transport } from '../runtime/ports.ts';

export const MINING_MODES = ['selfish', 'private-chain'] as const;
export type MiningMode = (typeof MINING_MODES)[number];

export interface MiningAttackOptions {
  readonly mode: MiningMode;
  readonly module: EngineModule<unknown>;
  readonly validators: ValidatorSet;
  readonly chainId: string;
  /** The pool: validator indices of every Byzantine miner (this one included). */
  readonly pool: ReadonlySet<number>;
  /** Blocks a commit needs on top (genesis `confirmations`). */
  readonly confirmations: number;
}

const trustAll: SignatureVerifier = () => true;

interface Withheld {
  readonly height: number;
  readonly bytes: Uint8Array;
  /** Honest peers it was kept from (a send to one peer, or a broadcast to all). */
  readonly to: string | undefined;
}

export function miningAttackTransport(inner: Transport, o: MiningAttackOptions): Transport {
  const poolPeers = new Set(
    [...o.pool].map((v) => o.validators.at(v)?.peerId).filter((p): p is string => p !== undefined),
  );
  const poolAddresses = new Set(
    [...o.pool]
      .map((v) => o.validators.at(v)?.address)
      .filter((a) => a !== undefined)
      .map((a) => toHex(a)),
  );
  let withheld: Withheld[] = [];
  const published = new Set<string>();
  let poolHeight = 0;
  let poolWork = 0n;
  let honestHeight = 0;
  let honestWork = 0n;
  let released = false; // private-chain: the secret is out, the pool behaves honestly
  let racing = false; // selfish: both branches at one height are public (Eyal–Sirer state 0')

  /** Block sync with an honest peer while a private chain is secret. */
  const secretSync = (channel: Channel, peer: string): boolean =>
    channel === 'sync' && o.mode === 'private-chain' && !released && !poolPeers.has(peer);
  const open = (bytes: Uint8Array): PowMessage | undefined => {
    try {
      return openEnvelope(bytes, o.module.codec, o.validators, o.chainId, trustAll).msg as PowMessage;
    } catch {
      return undefined;
    }
  };
  const honestPeers = () => [...new Set(inner.peers())].filter((p) => !poolPeers.has(p)).sort();
  const reveal = (upTo: number): void => {
    const keep: Withheld[] = [];
    for (const w of withheld) {
      if (w.height > upTo) {
        keep.push(w);
        continue;
      }
      for (const peer of w.to === undefined ? honestPeers() : [w.to]) inner.send(peer, 'consensus', w.bytes);
    }
    withheld = keep;
  };

  /** A block message on its way out: the pool's own are the attack's to time. */
  const outgoing = (bytes: Uint8Array, to: string | undefined): void => {
    const msg = open(bytes);
    const toPool = to === undefined ? [...poolPeers].filter((p) => inner.peers().includes(p)) : [];
    const toHonest = to === undefined ? honestPeers() : poolPeers.has(to) ? [] : [to];
    if (to !== undefined && poolPeers.has(to)) {
      inner.send(to, 'consensus', bytes);
      return;
    }
    for (const p of toPool) inner.send(p, 'consensus', bytes);
    if (released || msg === undefined) {
      for (const p of toHonest) inner.send(p, 'consensus', bytes);
      return;
    }
    if (msg.type === 'tip') return; // would reveal the private tip
    if (msg.type !== 'block' || !poolAddresses.has(toHex(msg.block.header.proposer))) {
      for (const p of toHonest) inner.send(p, 'consensus', bytes);
      return;
    }
    const h = msg.block.header;
    const id = toHex(headerHash(h));
    if (published.has(id)) {
      for (const p of toHonest) inner.send(p, 'consensus', bytes);
      return;
    }
    noteOwn(h.height, decodePowData(h.engineData).chainWork);
    withheld.push({ height: h.height, bytes, to });
    published.add(id);
    if (o.mode === 'selfish' && racing) {
      // Eyal–Sirer: the pool found a block while both branches race — publish and win.
      racing = false;
      reveal(Number.MAX_SAFE_INTEGER);
    }
    maybeRelease();
  };

  const noteOwn = (height: number, work: bigint): void => {
    if (work > poolWork) {
      poolWork = work;
      poolHeight = height;
    }
  };

  const maybeRelease = (): void => {
    if (o.mode !== 'private-chain' || released) return;
    if (poolWork > honestWork && honestHeight >= o.confirmations + 1) {
      released = true;
      reveal(Number.MAX_SAFE_INTEGER);
    }
  };

  /** An honest block reached the pool: Eyal–Sirer's reaction, or private-chain's bookkeeping. */
  const onHonestBlock = (height: number, work: bigint): void => {
    if (work <= honestWork) return;
    honestWork = work;
    honestHeight = height;
    if (o.mode === 'private-chain') {
      maybeRelease();
      return;
    }
    if (poolHeight < height) {
      withheld = []; // behind: adopt the honest chain (the engine switches by itself)
      racing = false;
    } else if (poolHeight === height) {
      racing = true;
      reveal(Number.MAX_SAFE_INTEGER);
    } else if (poolHeight === height + 1) {
      racing = false;
      reveal(Number.MAX_SAFE_INTEGER);
    } else reveal(height);
  };

  return {
    self: inner.self,
    onMessage: (handler) =>
      inner.onMessage((from: string, channel: Channel, bytes: Uint8Array) => {
        if (secretSync(channel, from)) return;
        if (channel !== 'consensus' || released) return handler(from, channel, bytes);
        const msg = open(bytes);
        if (poolPeers.has(from)) {
          if (msg?.type === 'block' && poolAddresses.has(toHex(msg.block.header.proposer)))
            noteOwn(msg.block.header.height, decodePowData(msg.block.header.engineData).chainWork);
          return handler(from, channel, bytes);
        }
        if (msg?.type === 'block') {
          const h = msg.block.header;
          if (!poolAddresses.has(toHex(h.proposer))) {
            let work: bigint | undefined;
            try {
              work = decodePowData(h.engineData).chainWork;
            } catch {
              work = undefined;
            }
            if (work !== undefined) onHonestBlock(h.height, work);
          }
        }
        // private-chain: the pool mines on its own chain only, blind to the honest one.
        if (o.mode === 'private-chain' && !released) return;
        handler(from, channel, bytes);
      }),
    peers: () => inner.peers(),
    penalize: (p, r, s) => inner.penalize(p, r, s),
    send: (to, channel, bytes) => {
      if (secretSync(channel, to)) return;
      return channel === 'consensus' ? outgoing(bytes, to) : inner.send(to, channel, bytes);
    },
    broadcast: (channel, bytes) => {
      if (channel === 'consensus') return outgoing(bytes, undefined);
      if (channel !== 'sync') return inner.broadcast(channel, bytes);
      for (const p of new Set(inner.peers())) if (!secretSync(channel, p)) inner.send(p, channel, bytes);
    },
  };
}
