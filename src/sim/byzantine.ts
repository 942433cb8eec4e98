/**
 * Byzantine behaviours, as wrappers around a node's transport (the node itself runs the honest
 * runtime and engine; what leaves it is corrupted). Twins need no wrapper: two honest instances
 * share one key and the network gives them different views.
 *  - equivocate: a conflicting variant of every message (signed by us) to half the peers;
 *  - silent: withholds every consensus message;
 *  - invalid-sig: every consensus message with one bit flipped in its signature;
 *  - garbage: random bytes (sometimes oversized, sometimes a well-formed envelope around junk);
 *  - replay: sends its own messages honestly, and also keeps a reservoir sample of the signed
 *    envelopes it has sent and received (its own and other validators') and re-sends old ones —
 *    from earlier heights, rounds or views than the newest of their kind it has seen — to random
 *    peers. Valid signatures, stale content: an engine must ignore them (or use them only as the
 *    protocol allows). All choices come from the node's seeded RNG.
 */
import {
  encodeEnvelope,
  openEnvelope,
  type SignatureVerifier,
  sealEnvelope,
} from '../../consensus/envelope.ts';
import type { Rng } from '../../consensus/rng.ts';
import type { ByzantineContext, EngineModule, SignSlot } from '../../consensus/types.ts';
import { invariant } from '../../crypto/errors.ts';
import type { ValidatorSet } from '../../ledger/validators.ts';
import type { Transport } from '../runtime/ports.ts';
import {
  MINING_MODES,
  type MiningAttackOptions,
  type MiningMode,
  miningAttackTransport,
} from './mining-attacks.ts';

/** The behaviours any engine can be run against (sweeps rotate through these). */
export const BYZANTINE_MODES = ['twins', 'equivocate', 'silent', 'invalid-sig', 'garbage', 'replay'] as const;
/** Every behaviour, with the mining attacks for engines whose fault model lists them (mining-attacks.ts). */
export const ALL_BYZANTINE_MODES = [...BYZANTINE_MODES, ...MINING_MODES] as const;
export type ByzantineMode = (typeof BYZANTINE_MODES)[number] | MiningMode;

export interface ByzantineWrapperOptions {
  readonly mode: Exclude<ByzantineMode, 'twins' | MiningMode>;
  readonly module: EngineModule<unknown>;
  readonly validators: ValidatorSet;
  readonly chainId: string;
  readonly index: number;
  readonly secretKey: Uint8Array;
  readonly rng: Rng;
  readonly alternative: ByzantineContext['alternative'];
}

const trustAll: SignatureVerifier = () => true;

/** Replay mode: how many envelopes the reservoir keeps, and how often old ones are re-sent. */
const REPLAY_RESERVOIR = 256;
const REPLAY_CHANCE = 0.3;
/** A slot-less message counts as old once this many envelopes were recorded after it. */
const REPLAY_SLOTLESS_AGE = 64;

interface Recorded {
  readonly bytes: Uint8Array;
  readonly seq: number;
  /** Decoded lazily: undefined = not yet, null = the message has no slot, false = undecodable. */
  slot: SignSlot | null | false | undefined;
}

/**
 * The replaying node's memory: a uniform reservoir sample over every consensus envelope it sent or
 * received, and the newest (height, round) it has seen per message step.
 */
class ReplayArchive {
  readonly #o: ByzantineWrapperOptions;
  readonly #sample: Recorded[] = [];
  readonly #newest = new Map<number, { height: number; round: number }>();
  #seen = 0;

  constructor(o: ByzantineWrapperOptions) {
    this.#o = o;
  }

  #slotOf(bytes: Uint8Array): SignSlot | null | false {
    try {
      const opened = openEnvelope(bytes, this.#o.module.codec, this.#o.validators, this.#o.chainId, trustAll);
      return this.#o.module.codec.slot(opened.msg) ?? null;
    } catch {
      return false;
    }
  }

  #noteSlot(slot: SignSlot | null | false): void {
    if (slot === null || slot === false) return;
    const n = this.#newest.get(slot.step);
    if (n === undefined || slot.height > n.height || (slot.height === n.height && slot.round > n.round))
      this.#newest.set(slot.step, { height: slot.height, round: slot.round });
  }

  /** `own`: sent by this node (decoded now, to track where the protocol is); others lazily. */
  record(bytes: Uint8Array, own: boolean): void {
    const rec: Recorded = { bytes, seq: this.#seen++, slot: own ? this.#slotOf(bytes) : undefined };
    if (own) this.#noteSlot(rec.slot as SignSlot | null | false);
    if (this.#sample.length < REPLAY_RESERVOIR) this.#sample.push(rec);
    else {
      const j = this.#o.rng.int(this.#seen);
      if (j < REPLAY_RESERVOIR) this.#sample[j] = rec;
    }
  }

  #isOld(rec: Recorded): boolean {
    if (rec.slot === undefined) {
      rec.slot = this.#slotOf(rec.bytes);
      this.#noteSlot(rec.slot);
    }
    if (rec.slot === false) return false;
    if (rec.slot === null) return this.#seen - rec.seq > REPLAY_SLOTLESS_AGE;
    const n = this.#newest.get(rec.slot.step);
    return (
      n !== undefined &&
      (rec.slot.height < n.height || (rec.slot.height === n.height && rec.slot.round < n.round))
    );
  }

  /** Up to `count` distinct old envelopes (a few random probes each; fewer if none are old yet). */
  pickOld(count: number): Uint8Array[] {
    const out: Recorded[] = [];
    for (let probe = 0; probe < 4 * count && out.length < count && this.#sample.length > 0; probe++) {
      const rec = this.#sample[this.#o.rng.int(this.#sample.length)] as Recorded;
      if (!out.includes(rec) && this.#isOld(rec)) out.push(rec);
    }
    return out.map((r) => r.bytes);
  }
}

export function byzantineTransport(
  inner: Transport,
  o: Omit<ByzantineWrapperOptions, 'mode'> & {
    readonly mode: Exclude<ByzantineMode, 'twins'>;
    /** For the mining attacks: the pool and the confirmations a commit needs. */
    readonly mining?: Omit<MiningAttackOptions, 'mode' | 'module' | 'validators' | 'chainId'>;
  },
): Transport {
  const mode = o.mode;
  if (mode === 'selfish' || mode === 'private-chain') {
    invariant(o.mining !== undefined, 'a mining attack is given its pool');
    return miningAttackTransport(inner, { ...o, ...o.mining, mode });
  }
  return corruptingTransport(inner, { ...o, mode });
}

function corruptingTransport(inner: Transport, o: ByzantineWrapperOptions): Transport {
  const archive = o.mode === 'replay' ? new ReplayArchive(o) : undefined;
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
        let opened: ReturnType<typeof openEnvelope>;
        try {
          opened = openEnvelope(bytes, o.module.codec, o.validators, o.chainId, trustAll);
        } catch {
          // Another epoch's envelope (a chain whose set changes): this mode acts in epoch 0 only.
          for (const peer of peers) send(peer, bytes);
          return;
        }
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
      case 'replay': {
        const a = archive as ReplayArchive;
        for (const peer of peers) send(peer, bytes);
        a.record(bytes, true);
        if (!o.rng.chance(REPLAY_CHANCE)) return;
        for (const old of a.pickOld(1 + o.rng.int(2))) {
          let sent = false;
          for (const peer of peers)
            if (o.rng.chance(0.5)) {
              send(peer, old);
              sent = true;
            }
          if (!sent && peers.length > 0) send(peers[o.rng.int(peers.length)] as string, old);
        }
        return;
      }
    }
  };
  return {
    self: inner.self,
    onMessage: (h) =>
      inner.onMessage(
        archive === undefined
          ? h
          : (from, channel, bytes) => {
              if (channel === 'consensus') archive.record(bytes, false);
              h(from, channel, bytes);
            },
      ),
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
