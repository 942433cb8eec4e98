/**
 * Equivocation evidence of one runtime (consensus/evidence.ts): the watch that catches it in the
 * signed messages this node receives, the check of evidence a peer sends, and what held evidence
 * becomes — a warning, a hook, a broadcast to every peer and, on a chain with staking, a
 * transaction this validator signs so that the ledger slashes the offender
 * (ledger/staking/lifecycle.ts).
 */
import {
  decodeEquivocation,
  type Equivocation,
  encodeEquivocation,
  verifyEquivocation,
} from '../../consensus/evidence.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { toHex } from '../../crypto/bytes.ts';
import { ed25519 as ed } from '../../crypto/ed25519.ts';
import { onlyTyped } from '../../crypto/errors.ts';
import { addressFromPublicKey } from '../../ledger/address.ts';
import type { LedgerState } from '../../ledger/state.ts';
import { MAX_EVIDENCE_TX_BYTES, signTransaction } from '../../ledger/tx.ts';
import type { Epoch } from './epoch.ts';
import { EquivocationWatch } from './equivocation-watch.ts';
import type { RuntimeEvent } from './event-queue.ts';
import type { Mempool } from './mempool.ts';
import type { Logger } from './ports.ts';
import type { RuntimeOptions } from './runtime.ts';
import { encodeSync, MAX_EVIDENCE_BYTES } from './sync-codec.ts';
import type { TxGossip } from './tx-gossip.ts';

/** What the relay needs from its runtime. */
export interface EvidenceRelayContext<M> {
  readonly options: Pick<RuntimeOptions<M>, 'genesis' | 'keys' | 'verify' | 'hooks' | 'transport'> & {
    readonly engine: Pick<EngineModule<M>, 'name' | 'codec'>;
  };
  readonly mempool: Mempool;
  readonly gossip: () => TxGossip;
  readonly log: Logger;
  readonly counters: { equivocations: number; rejected: number };
  /** The epoch the engine runs: its number, its set, and this node's index in it (epoch.ts). */
  current(): Epoch;
  /** The committed head's state. */
  headState(): Promise<LedgerState>;
  /** Sends sync-channel bytes to every peer (counted as the runtime's own messages). */
  broadcast(bytes: Uint8Array): void;
  /** Queues work behind consensus (transaction-intake priority). */
  enqueueBulk(fn: RuntimeEvent): void;
}

export class EvidenceRelay<M> {
  readonly #c: EvidenceRelayContext<M>;
  readonly #chainId: string;
  /** Catches equivocation in the messages this node receives (equivocation-watch.ts). */
  readonly watch: EquivocationWatch;

  constructor(context: EvidenceRelayContext<M>) {
    this.#c = context;
    this.#chainId = context.options.genesis.chainId;
    this.watch = new EquivocationWatch(context.options.engine.name, this.#chainId);
  }

  /** Evidence this node holds (caught or received, each verified). */
  evidence(): Equivocation[] {
    return this.watch.evidence();
  }

  /** New evidence (caught here, or received and verified): reported and passed on to every peer. */
  held(e: Equivocation, how: 'caught' | 'received'): void {
    const { epoch, validators } = this.#c.current();
    this.#c.counters.equivocations++;
    this.#c.log.warn('equivocation: a validator signed two different messages for one slot', {
      validator: e.validator,
      name: (e.epoch ?? 0) === epoch ? validators.at(e.validator)?.name : undefined,
      slot: e.slot,
      how,
    });
    const o = this.#c.options;
    o.hooks?.onEquivocation?.(e);
    this.#c.broadcast(encodeSync({ kind: 'evidence', evidence: encodeEquivocation(e) }));
    if (o.genesis.staking !== undefined) this.#c.enqueueBulk(() => this.#report(e));
  }

  /**
   * On a chain with staking, a validator that holds evidence submits it as a transaction signed
   * with its own key, so that a proposer includes it and the ledger slashes the offender. Every
   * validator that saw it may: the first inclusion slashes, the others fail harmlessly (the
   * infraction is slashed once).
   */
  async #report(e: Equivocation): Promise<void> {
    const keys = this.#c.options.keys;
    if (keys === undefined || this.#c.current().self === undefined) return;
    const evidence = encodeEquivocation(e);
    if (evidence.length > MAX_EVIDENCE_TX_BYTES) {
      this.#c.log.warn('evidence too large for a transaction: kept and served, not submitted', {
        bytes: evidence.length,
        validator: e.validator,
      });
      return;
    }
    const sender = ed.publicKeyFromSecret(keys.ed25519);
    const address = addressFromPublicKey(sender);
    const committed = (await (await this.#c.headState()).getAccount(address)).nonce;
    const nonce = this.#c.mempool.pendingNonce(address, committed);
    const etx = signTransaction(
      { chainId: this.#chainId, sender, nonce, op: { type: 'evidence', evidence } },
      keys.ed25519,
    );
    this.#c.options.hooks?.onOriginated?.(etx);
    const r = await this.#c.mempool.add(etx);
    if (r.ok) this.#c.gossip().add(etx.bytes);
    this.#c.log.info('evidence submitted for slashing', {
      validator: e.validator,
      epoch: e.epoch ?? 0,
      tx: toHex(etx.id),
      admitted: r.ok,
      ...(r.ok ? {} : { code: r.code }),
    });
  }

  /** Evidence from a peer: kept and passed on if it verifies and is new; forged evidence is scored. */
  received(from: string, bytes: Uint8Array): void {
    const o = this.#c.options;
    let e: Equivocation;
    try {
      e = decodeEquivocation(bytes, MAX_EVIDENCE_BYTES);
    } catch (err) {
      onlyTyped(err); // a peer's bad bytes are scored; anything else is this node's bug, and loud
      this.#c.counters.rejected++;
      o.transport.penalize(from, 'undecodable evidence', 'major');
      return;
    }
    const { epoch, validators } = this.#c.current();
    // Evidence of another epoch needs that epoch's set: the ledger judges it when it is submitted.
    if ((e.epoch ?? 0) !== epoch) return;
    const check = verifyEquivocation(e, {
      engine: o.engine.name,
      chainId: this.#chainId,
      validators,
      codec: o.engine.codec,
      ...(o.verify === undefined ? {} : { verify: o.verify }),
    });
    if (!check.ok) {
      this.#c.counters.rejected++;
      o.transport.penalize(from, `invalid evidence: ${check.reason}`, 'major');
      return;
    }
    if (this.watch.add(e)) this.held(e, 'received');
  }
}
