/**
 * Client intake: what a node answers the transactions clients submit (the RPC's `POST /tx` and
 * `/txs`, the simulator's clients). Three answers are the node's, not the transaction's:
 *
 * - MEMPOOL_FULL — backpressure. Past what the node can admit soon, it says so at once (HTTP 503)
 *   rather than queue without bound: an overloaded node that keeps accepting collapses instead of
 *   serving at capacity.
 * - NODE_HALTED — consensus stopped on this node; submissions still queued get it too.
 * - NODE_SYNCING — the node is catching up through block sync, so its state is behind its peers'.
 *   A refusal that stale state can cause (a nonce that looks too far ahead, funds not yet
 *   received, a pool or sender queue full of transactions the others already committed) would be
 *   a wrong answer, and a 400 tells a client its transaction is bad. So while syncing those
 *   become this retryable 503, naming the heights. CometBFT likewise refuses `broadcast_tx` during
 *   block sync (#785). Admission itself is unchanged: what the pool takes is judged again against
 *   each committed block, and the other refusals stay as they are (a used nonce and a duplicate
 *   are refused whatever the state; a taken nonce is a pending transaction's, which stale state
 *   makes only in the rare case that the pending one was admitted against it).
 */
import type { EncodedTransaction } from '../../ledger/tx.ts';
import type { EventQueue } from './event-queue.ts';
import type { AdmitCode, AdmitResult, Mempool } from './mempool.ts';

/**
 * Transaction intake (submissions + gossip batches) queued before clients are told to back off:
 * this many queued units, or this many bytes of transactions (a unit can be one transaction or a
 * batch of a thousand, so units alone would let batches queue without bound).
 */
export const MAX_PENDING_INTAKE = 5_000;
export const MAX_PENDING_INTAKE_BYTES = 1024 * 1024;
/**
 * Clients are refused (503, before their transactions are decoded or verified) while the mempool
 * holds this many full blocks of includable transactions (behind no nonce gap: a pool full of
 * gapped ones must still take the gap-fillers, or it never drains). Past it a transaction only
 * waits longer, and the work of admitting it — checked once here and once by every peer it is
 * gossiped to — is taken from the blocks:
 * measured with 4 validators on 2 cores, letting clients fill a 10,000-transaction pool at twice
 * the sustainable load made 2,000-transaction blocks take 5–11 s and the committed rate fall by
 * half. Gossip is not gated: what a peer admitted is bounded at its own edge.
 */
const CLIENT_INTAKE_BLOCKS = 2;

const OVERLOADED_ANSWER: AdmitResult = {
  ok: false,
  code: 'MEMPOOL_FULL',
  reason: 'the node is overloaded; retry later',
};
const HALTED_ANSWER: AdmitResult = {
  ok: false,
  code: 'NODE_HALTED',
  reason: 'consensus has stopped on this node; see its log',
};
/** The mempool's refusals that a node behind its peers can give wrongly (see the file comment). */
const STALE_STATE_REFUSALS: ReadonlySet<AdmitCode> = new Set<AdmitCode>([
  'NONCE_TOO_HIGH',
  'INSUFFICIENT_FUNDS',
  'SENDER_LIMIT',
  'MEMPOOL_FULL',
]);

/** The refusal a node catching up gives (AdmitResult's NODE_SYNCING case). */
export interface SyncingAnswer {
  readonly ok: false;
  readonly code: 'NODE_SYNCING';
  readonly reason: string;
}

export interface ClientIntakeContext {
  readonly events: Pick<EventQueue, 'intake' | 'stopped' | 'enqueueIntake'>;
  readonly mempool: Mempool;
  /** Transactions per block the node builds (overload is counted in full blocks). */
  readonly maxBlockTxs: number;
  /** Passes an admitted transaction on to peers. */
  gossip(bytes: Uint8Array): void;
  /** Block sync's view: whether this node is catching up, and the best height a peer reported. */
  syncStatus(): { syncing: boolean; bestPeerHeight: number };
  /** This node's committed height. */
  height(): number;
}

export class ClientIntake {
  readonly #c: ClientIntakeContext;
  /** Submissions waiting in the intake queue: answered NODE_HALTED if consensus halts first. */
  readonly #pending = new Set<(r: AdmitResult) => void>();

  constructor(ctx: ClientIntakeContext) {
    this.#c = ctx;
  }

  /**
   * Whether transaction intake is past what the node can admit soon. The RPC asks before it
   * decodes and verifies a submission: refusing after that work would spend the CPU an
   * overloaded node lacks on transactions it then drops (and again on each client retry).
   */
  get overloaded(): boolean {
    // A halted node is not overloaded: it answers NODE_HALTED, whatever its pool holds.
    if (this.#c.events.stopped) return false;
    const intake = this.#c.events.intake;
    return (
      intake.events >= MAX_PENDING_INTAKE ||
      intake.bytes >= MAX_PENDING_INTAKE_BYTES ||
      this.#c.mempool.includableAtLeast(CLIENT_INTAKE_BLOCKS * this.#c.maxBlockTxs)
    );
  }

  /** NODE_SYNCING with the heights while this node catches up; undefined when it does not. */
  syncingAnswer(): SyncingAnswer | undefined {
    const { syncing, bestPeerHeight } = this.#c.syncStatus();
    if (!syncing) return undefined;
    return {
      ok: false,
      code: 'NODE_SYNCING',
      reason: `this node is catching up (at height ${this.#c.height()}, its peers at ${bestPeerHeight}), so its state is too old to judge this transaction; retry later or submit to another node`,
    };
  }

  /**
   * Admits `etxs` (decoded and verified by the caller) as one unit of intake and gossips each one
   * admitted: nothing else runs between them, so a block built meanwhile sees the whole batch
   * rather than its first transaction. Answers with `shape(results)`, one result per transaction
   * in order, with no promise hop of its own (the simulator's event order is the same for a single
   * submission and a batch).
   */
  admit<T>(etxs: readonly EncodedTransaction[], shape: (results: AdmitResult[]) => T): Promise<T> {
    // Halted first: a stopped node's full pool is not a reason to come back.
    const all = (r: AdmitResult) => shape(etxs.map(() => r));
    if (this.#c.events.stopped) return Promise.resolve(all(HALTED_ANSWER));
    if (this.overloaded) return Promise.resolve(all(this.syncingAnswer() ?? OVERLOADED_ANSWER));
    if (etxs.length === 0) return Promise.resolve(shape([]));
    return new Promise((resolve) => {
      const answer = (r: AdmitResult) => resolve(all(r));
      this.#pending.add(answer);
      this.#c.events.enqueueIntake(
        async () => {
          this.#pending.delete(answer);
          const results: AdmitResult[] = [];
          // Asked at most once per unit, and only when a refusal could be stale.
          let syncing: { answer: SyncingAnswer | undefined } | undefined;
          for (const etx of etxs) {
            const r = await this.#c.mempool.add(etx);
            if (r.ok) this.#c.gossip(etx.bytes);
            else if (STALE_STATE_REFUSALS.has(r.code)) {
              syncing ??= { answer: this.syncingAnswer() };
              if (syncing.answer !== undefined) {
                results.push(syncing.answer);
                continue;
              }
            }
            results.push(r);
          }
          resolve(shape(results));
        },
        etxs.reduce((n, etx) => n + etx.bytes.length, 0),
      );
    });
  }

  /** Consensus stopped: every submission still queued is answered NODE_HALTED. */
  answerHalted(): void {
    for (const answer of this.#pending) answer(HALTED_ANSWER);
    this.#pending.clear();
  }
}
