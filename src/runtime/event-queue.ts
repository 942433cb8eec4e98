import { Fifo } from './fifo.ts';

/** One unit of the runtime's work: a consensus message, a timer, a block to execute, an intake. */
export type RuntimeEvent = () => Promise<void> | void;

/**
 * The runtime's event queue: events run one at a time, each awaited before the next starts, so
 * the engine and the chain never see two events interleave. Two FIFO queues: consensus, timers,
 * block execution and sync are urgent; transaction intake (client submissions, gossip) is bulk
 * and runs when nothing urgent waits, or in its share (below) — under a flood of transactions,
 * votes and timeouts must not wait behind thousands of signature checks.
 *
 * Priority alone would let urgent work starve intake without bound: a validator catching up
 * executes synced and consensus blocks back to back (block sync queues one event per block, so
 * that turns fall between them), and bench:node measured one doing so for
 * 5–9 s at a time while its clients' submissions waited (their p99 went past 8 s; the cluster,
 * which needs only three of four, went on committing without it). So with a clock, bulk work
 * that has waited through `bulkShare.afterMs` of urgent work gets a turn of `bulkShare.turnMs`
 * (200 and 20 by default): intake keeps about a tenth of the event loop when it has work, and
 * urgent work waits at most one turn and the bulk event still running when it ends.
 * At 4,000 tx/s offered in a quiet hour that halved PBFT's p99 (one lagging validator's clients)
 * and left its p50 as it was, where a turn of 10 ms after every 50 ms raised the p50 by half (its
 * primary's consensus work waited behind intake more often); in a slower hour PBFT moved within
 * the noise while Tendermint's p50 and p99 improved (README's throughput).
 *
 * Without a clock the order is strict priority. The simulator passes its virtual clock, but its
 * events cost no virtual time (a node's queue drains at one instant), so there too it is strict.
 *
 * An event that throws is the node's own fault (peer- and client-caused failures are handled
 * where they arise): it goes to `onFault`, which halts the node, and the queue goes on draining
 * only until that halt calls `stop`.
 */
export class EventQueue {
  readonly #urgent = new Fifo<RuntimeEvent>();
  readonly #bulk = new Fifo<RuntimeEvent>();
  /** Transaction bytes queued as bulk events and not yet started. */
  #bulkBytes = 0;
  #draining: Promise<void> | undefined;
  #running = false;
  #stopped = false;
  readonly #onFault: (e: unknown) => void;
  readonly #now: (() => number) | undefined;
  readonly #afterMs: number;
  readonly #turnMs: number;
  /** When waiting bulk work is due a turn despite urgent work (undefined: none waits, or no clock). */
  #bulkDueAt: number | undefined;
  /** When the current bulk turn ends (undefined: not in one). */
  #turnEndsAt: number | undefined;

  /**
   * `now`: a monotonic clock in ms, which turns on the bulk share; `bulkShare` its bounds
   * (default: a turn of 20 ms after 200 ms of urgent work).
   */
  constructor(
    onFault: (e: unknown) => void,
    opts: { now?: () => number; bulkShare?: { afterMs: number; turnMs: number } } = {},
  ) {
    this.#onFault = onFault;
    this.#now = opts.now;
    this.#afterMs = opts.bulkShare?.afterMs ?? 200;
    this.#turnMs = opts.bulkShare?.turnMs ?? 20;
    // A turn of no time would let urgent work starve bulk work again.
    if (!(this.#afterMs >= 0 && this.#turnMs > 0 && Number.isFinite(this.#afterMs + this.#turnMs)))
      throw new RangeError('EventQueue: bulkShare needs afterMs ≥ 0 and turnMs > 0, both finite');
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Bulk events not yet started (intake, and the rarer evidence reports), and the transaction
   * bytes the intake among them carries: what the runtime's intake bounds are checked against.
   */
  get intake(): { readonly events: number; readonly bytes: number } {
    return { events: this.#bulk.size, bytes: this.#bulkBytes };
  }

  /**
   * Queues `fn`: urgent work, or bulk work (intake, evidence), which waits
   * for urgent work but for its turns.
   */
  enqueue(fn: RuntimeEvent, priority: 'urgent' | 'bulk' = 'urgent'): void {
    this.#push(priority === 'urgent' ? this.#urgent : this.#bulk, fn);
  }

  /** Queues transaction intake of `bytes` bytes, counted in `intake` until it starts. */
  enqueueIntake(fn: RuntimeEvent, bytes: number): void {
    if (this.#stopped) return;
    this.#bulkBytes += bytes;
    this.enqueue(() => {
      this.#bulkBytes -= bytes;
      return fn();
    }, 'bulk');
  }

  /** Resolves once every queued event has run. */
  async idle(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  /** Drops every queued event; nothing more is queued or run after the one running now. */
  stop(): void {
    this.#stopped = true;
    this.#urgent.clear();
    this.#bulk.clear();
    this.#bulkBytes = 0;
  }

  debug(): string {
    return `q=${this.#urgent.size + this.#bulk.size} draining=${this.#draining !== undefined}`;
  }

  #push(queue: Fifo<RuntimeEvent>, fn: RuntimeEvent): void {
    if (this.#stopped) return;
    queue.push(fn);
    // The flag is set before #drain runs: its first event may enqueue more work synchronously,
    // and that must not start a second, concurrent drain.
    if (!this.#running) {
      this.#running = true;
      this.#draining = this.#drain();
    }
  }

  async #drain(): Promise<void> {
    try {
      while (!this.#stopped) {
        const fn = this.#next();
        if (fn === undefined) break;
        try {
          await fn();
        } catch (e) {
          // Stop rather than go on with untrusted state (a failed disk, a bug).
          this.#onFault(e);
        }
      }
    } finally {
      this.#running = false;
      this.#draining = undefined;
    }
  }

  /** The next event: urgent first, unless waiting bulk work is due its turn (see the class comment). */
  #next(): RuntimeEvent | undefined {
    const now = this.#now?.();
    if (now === undefined) return this.#urgent.shift() ?? this.#bulk.shift();
    if (this.#urgent.size === 0 || this.#bulk.size === 0) {
      // Nothing waits for anything: the next bulk wait starts when urgent work is next preferred.
      this.#turnEndsAt = undefined;
      this.#bulkDueAt = undefined;
      return this.#urgent.shift() ?? this.#bulk.shift();
    }
    if (this.#turnEndsAt !== undefined) {
      if (now < this.#turnEndsAt) return this.#bulk.shift();
      // The turn is over: urgent work again, and bulk work due after another stretch of it.
      this.#turnEndsAt = undefined;
      this.#bulkDueAt = now + this.#afterMs;
    } else if (this.#bulkDueAt === undefined) this.#bulkDueAt = now + this.#afterMs;
    else if (now >= this.#bulkDueAt) {
      this.#turnEndsAt = now + this.#turnMs;
      return this.#bulk.shift();
    }
    return this.#urgent.shift();
  }
}
