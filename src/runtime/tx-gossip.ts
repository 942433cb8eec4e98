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
import { sha256 } from '../../crypto/hash.ts';
import type { BatchVerifier } from '../../crypto/signature-batch.ts';
import { asBytes, asList, DecodeError, rlpDecodeStrict, rlpEncode } from '../../ledger/codec.ts';
import {
  DEFAULT_MAX_TX_BYTES,
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

  /** A frame of gossiped transactions from `from`. */
  async onFrame(from: string, frame: Uint8Array): Promise<void> {
    let batch: Uint8Array[];
    try {
      batch = decodeTxBatch(frame);
    } catch (e) {
      onlyTyped(e); // a peer's bad bytes are scored; anything else is this node's bug, and loud
      this.#o.counters.rejected++;
      this.#o.transport.penalize(from, 'undecodable transaction batch', 'major');
      return;
    }
    const verifier = this.#o.verifier;
    if (verifier === undefined) {
      // One at a time on this thread: the order the simulator's runs were recorded in.
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
      return;
    }
    // The frame's signatures as one batch (off the event loop), then admission in frame order.
    const fresh: EncodedTransaction[] = [];
    for (const bytes of batch) {
      const etx = this.#decodeFresh(from, bytes);
      if (etx !== undefined) fresh.push(etx);
    }
    const refused = await verifyTransactions(fresh, this.#o.chainId, verifier);
    for (const [i, etx] of fresh.entries()) {
      if (refused[i] === undefined) await this.#admit(from, etx);
      else this.#invalid(from);
    }
  }

  /**
   * A gossiped transaction worth verifying: not seen before, decodable (else the peer is
   * penalized), and with room in the mempool. A full pool would refuse it, so its signature is not
   * checked (not the peer's fault, and not marked seen — it comes again in a block, or from a peer
   * once there is room).
   */
  #decodeFresh(from: string, bytes: Uint8Array): EncodedTransaction | undefined {
    // Most copies are of a transaction already pending here: known by their bytes, unhashed. (One
    // over the size cap cannot be pending: it is not copied into a key, decoding refuses it.)
    const small = bytes.length <= (this.#o.maxTxBytes ?? DEFAULT_MAX_TX_BYTES);
    if (small && this.#o.mempool.pendingWithBytes(bytes) !== undefined) return undefined;
    const id = sha256(bytes);
    if (this.#o.mempool.seen(id)) return undefined;
    let etx: EncodedTransaction;
    try {
      etx = decodeTransaction(bytes, this.#o.maxTxBytes, id);
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
