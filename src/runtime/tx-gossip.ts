/**
 * Transaction gossip: admitted transactions go to peers in batches — one frame per few
 * milliseconds instead of one per transaction per peer (each frame costs a write and a muxer round
 * on every connection) — and gossiped frames are decoded strictly, each transaction checked against
 * the mempool before any decoding or signature work (most copies are duplicates: first by its
 * bytes among the pending ones, else by id in the seen-cache), skipped unverified when the mempool
 * has no room for it, verified, admitted and passed on. A malformed frame is a major penalty, an
 * invalid transaction a minor one.
 *
 * Passed on to whom: a transaction this node admitted from a client or from a peer that is not a
 * validator goes to every peer. A validator passes one first heard from another validator on to
 * the peers that are not validators only: that validator sent it to every peer it has, and
 * validators are configured to dial each other (as `verity testnet` sets them up), so passing it
 * on to them again only sent each validator two more copies to decode and drop (with 4
 * validators, two of every three frames a validator received). A validator without a connection to
 * the one that admitted a transaction — or whose frame was dropped by a slow link's outbox — lacks
 * it until a block carries it: it cannot propose it meanwhile, and the others can. A node that is
 * not a validator (a sentry in front of one, say) passes everything on to every peer.
 */
import { onlyTyped } from '../../crypto/errors.ts';
import { sha256Key } from '../../crypto/hash.ts';
import type { BatchVerifier } from '../../crypto/signature-batch.ts';
import { asBytes, asList, DecodeError, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import {
  decodeTransaction,
  type EncodedTransaction,
  verifyTransaction,
  verifyTransactions,
} from '../../ledger/tx.ts';
import type { Mempool } from './mempool.ts';
import type { Timers, Transport } from './ports.ts';

const GOSSIP_MAX_TXS = 512;
const GOSSIP_MAX_BYTES = 96 * 1024;
const GOSSIP_DELAY_MS = 5;

/** A transaction gossip frame: RLP list of signed transactions, each then decoded strictly. */
export function decodeTxBatch(frame: Uint8Array): Uint8Array[] {
  const items = asList(rlpDecodeStrict(frame, 4 * 1024 * 1024, 'tx batch'), 'tx batch');
  if (items.length > 4096) throw new DecodeError('TOO_LARGE', 'too many transactions in one frame');
  return items.map((it, i) => asBytes(it, `tx batch[${i}]`));
}

export interface TxGossipOptions {
  readonly chainId: string;
  readonly mempool: Mempool;
  readonly transport: Transport;
  readonly timers: Timers;
  readonly maxTxBytes?: number;
  /**
   * Checks each frame's signatures as one batch (a worker pool). Without one, each transaction is
   * verified on this thread in turn, between the admissions of the ones before it.
   */
  readonly verifier?: BatchVerifier;
  /** The runtime's counters (shared). */
  readonly counters: { rejected: number; txGossipNoRoom: number };
  /** Sends a frame on the tx channel to every peer. */
  send(frame: Uint8Array): void;
  /** Sends a frame on the tx channel to one peer. */
  sendTo(peer: string, frame: Uint8Array): void;
  /** Whether a peer is a validator of the current set (its own gossip reached the others). */
  isValidator(peer: string): boolean;
  /** Whether this node is a validator of the current set (only then does the rule above apply). */
  selfIsValidator(): boolean;
  /** Runs `fn` on the runtime's event queue. */
  enqueue(fn: () => void): void;
  /** Runs `fn` on the runtime's event queue as transaction intake of `bytes` bytes (bulk work). */
  enqueueIntake(fn: () => Promise<void> | void, bytes: number): void;
  /** A failure of this node's own (a verification pool that broke its promise): halts it. */
  fault(error: unknown): void;
}

/** Transactions waiting for the next frame, and their size with framing. */
class Outbox {
  txs: Uint8Array[] = [];
  bytes = 0;

  push(tx: Uint8Array): boolean {
    this.txs.push(tx);
    this.bytes += tx.length + 4;
    return this.txs.length >= GOSSIP_MAX_TXS || this.bytes >= GOSSIP_MAX_BYTES;
  }

  /** The frame of what waits, emptied; undefined if nothing waits. */
  take(): Uint8Array | undefined {
    if (this.txs.length === 0) return undefined;
    const frame = rlpEncode(this.txs);
    this.clear();
    return frame;
  }

  clear(): void {
    this.txs = [];
    this.bytes = 0;
  }
}

export class TxGossip {
  readonly #o: TxGossipOptions;
  /** For every peer. */
  readonly #toAll = new Outbox();
  /** For the peers that are not validators (first heard from a validator). */
  readonly #toOthers = new Outbox();
  readonly #verifying = { frames: 0, bytes: 0 };
  /**
   * Ids of the transactions being verified or waiting for admission: a copy in a later frame is
   * not verified twice. (After a halt, an admission that never runs leaves its ids here: harmless.)
   */
  readonly #inFlight = new Set<string>();
  /** The last frame's verification: admissions are queued in the order the frames came. */
  #tail: Promise<void> = Promise.resolve();

  constructor(o: TxGossipOptions) {
    this.#o = o;
  }

  /** Passes a transaction admitted from a client (or a peer that is no validator) on to every peer. */
  add(tx: Uint8Array): void {
    this.#queue(this.#toAll, tx);
  }

  #queue(box: Outbox, tx: Uint8Array): void {
    if (box.push(tx)) this.flush();
    else if (this.#toAll.txs.length + this.#toOthers.txs.length === 1)
      this.#o.timers.set('tx-gossip', GOSSIP_DELAY_MS, () => this.#o.enqueue(() => this.flush()));
  }

  flush(): void {
    this.#o.timers.cancel('tx-gossip');
    const all = this.#toAll.take();
    if (all !== undefined) this.#o.send(all);
    if (this.#toOthers.txs.length === 0) return;
    const others = this.#o.transport.peers().filter((p) => !this.#o.isValidator(p));
    // (Encoded only for someone: among validators alone, as in a testnet, nobody.)
    if (others.length === 0) this.#toOthers.clear();
    else {
      const frame = this.#toOthers.take() as Uint8Array;
      for (const peer of others) this.#o.sendTo(peer, frame);
    }
  }

  /** Frames whose signatures are being checked off the event queue: counted against intake. */
  get verifying(): { readonly frames: number; readonly bytes: number } {
    return this.#verifying;
  }

  /**
   * A frame of gossiped transactions from `from`, taken in as transaction intake. Without a
   * verifier, one intake event decodes, verifies and admits it a transaction at a time (the order
   * the simulator's runs were recorded in). With one, an intake event decodes it and hands its
   * signatures to the verifier; the event queue goes on meanwhile — votes, proposals and commits
   * do not wait for a pool busy with a frame's signatures (tens of milliseconds under load) — and
   * a second intake event admits the verified ones, queued in the order the frames came.
   */
  receive(from: string, frame: Uint8Array): void {
    const verifier = this.#o.verifier;
    if (verifier === undefined) this.#o.enqueueIntake(() => this.#inTurn(from, frame), frame.length);
    else this.#o.enqueueIntake(() => this.#startVerifying(from, frame, verifier), frame.length);
  }

  /**
   * Resolves once every frame whose decoding event has run has been verified and its admission
   * queued (frames still waiting in the intake queue are not covered).
   */
  settled(): Promise<void> {
    return this.#tail;
  }

  /** Each transaction decoded, verified and admitted before the next is looked at. */
  async #inTurn(from: string, frame: Uint8Array): Promise<void> {
    const batch = this.#decodeBatch(from, frame);
    for (const bytes of batch) {
      const etx = this.#decodeFresh(from, bytes);
      if (etx === undefined) continue;
      try {
        verifyTransaction(etx, this.#o.chainId);
      } catch (e) {
        onlyTyped(e);
        this.#invalid(from);
        continue;
      }
      await this.#admit(from, etx);
    }
  }

  #startVerifying(from: string, frame: Uint8Array, verifier: BatchVerifier): void {
    const fresh = this.#decodeFrame(from, frame);
    if (fresh.length === 0) return;
    const bytes = fresh.reduce((n, etx) => n + etx.bytes.length, 0);
    const keys = fresh.map((etx) => etx.idKey);
    for (const k of keys) this.#inFlight.add(k);
    this.#verifying.frames++;
    this.#verifying.bytes += bytes;
    // Settled at once: a rejection must reach `fault` even while an earlier frame still holds the
    // tail (else it would be an unhandled rejection, which ends the process without a halt).
    const outcome = verifyTransactions(fresh, this.#o.chainId, verifier).then(
      (verdicts) => ({ verdicts }),
      (error: unknown) => ({ error }),
    );
    const done = () => {
      for (const k of keys) this.#inFlight.delete(k);
    };
    this.#tail = this.#tail
      .then(async () => {
        const r = await outcome;
        // Counted as verifying until counted as intake (the admission below).
        this.#verifying.frames--;
        this.#verifying.bytes -= bytes;
        if ('error' in r) {
          done();
          this.#o.fault(r.error);
          return;
        }
        this.#o.enqueueIntake(async () => {
          try {
            for (const [i, etx] of fresh.entries()) {
              if (r.verdicts[i] === undefined) await this.#admit(from, etx);
              else this.#invalid(from);
            }
          } finally {
            done();
          }
        }, bytes);
      })
      .catch((e) => this.#o.fault(e));
  }

  /** A frame's transactions worth verifying (see `#decodeFresh`). */
  #decodeFrame(from: string, frame: Uint8Array): EncodedTransaction[] {
    const fresh: EncodedTransaction[] = [];
    for (const bytes of this.#decodeBatch(from, frame)) {
      const etx = this.#decodeFresh(from, bytes);
      if (etx !== undefined) fresh.push(etx);
    }
    return fresh;
  }

  /** A frame's transaction bytes; none if it does not decode (a major penalty for the peer). */
  #decodeBatch(from: string, frame: Uint8Array): Uint8Array[] {
    try {
      return decodeTxBatch(frame);
    } catch (e) {
      onlyTyped(e); // a peer's bad bytes are scored; anything else is this node's bug, and loud
      this.#o.counters.rejected++;
      this.#o.transport.penalize(from, 'undecodable transaction batch', 'major');
      return [];
    }
  }

  /**
   * A gossiped transaction worth verifying: not seen before, decodable (else the peer is
   * penalized), and with room in the mempool. A full pool would refuse it, so its signature is not
   * checked (not the peer's fault, and not marked seen — it comes again in a block, or from a peer
   * once there is room).
   */
  #decodeFresh(from: string, bytes: Uint8Array): EncodedTransaction | undefined {
    // Most copies are of a transaction already pending here: known by their bytes, unhashed.
    if (this.#o.mempool.pendingWithBytes(bytes) !== undefined) return undefined;
    const idKey = sha256Key(bytes); // the id as the maps' key: no bytes made for a duplicate
    if (this.#o.mempool.seenKey(idKey) || this.#inFlight.has(idKey)) return undefined;
    let etx: EncodedTransaction;
    try {
      etx = decodeTransaction(bytes, this.#o.maxTxBytes, idKey);
    } catch (e) {
      onlyTyped(e);
      this.#invalid(from);
      return undefined;
    }
    if (this.#o.mempool.hasRoomFor(etx)) return etx;
    this.#o.counters.txGossipNoRoom++;
    return undefined;
  }

  #invalid(from: string): void {
    this.#o.counters.rejected++;
    this.#o.transport.penalize(from, 'invalid transaction gossiped', 'minor');
  }

  async #admit(from: string, etx: EncodedTransaction): Promise<void> {
    const r = await this.#o.mempool.add(etx);
    if (!r.ok) return;
    const fromValidator = this.#o.selfIsValidator() && this.#o.isValidator(from);
    this.#queue(fromValidator ? this.#toOthers : this.#toAll, etx.bytes);
  }
}
