import { Fifo } from './fifo.ts';

/** One unit of the runtime's work: a consensus message, a timer, a block to execute, an intake. */
export type RuntimeEvent = () => Promise<void> | void;

/**
 * The runtime's event queue: events run one at a time, each awaited before the next starts, so
 * the engine and the chain never see two events interleave. Two FIFO queues: consensus, timers,
 * block execution and sync are urgent; transaction intake (client submissions, gossip) is bulk
 * and only runs when nothing urgent waits — under a flood of transactions, votes and timeouts
 * must not wait behind thousands of signature checks.
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

  constructor(onFault: (e: unknown) => void) {
    this.#onFault = onFault;
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

  /** Queues `fn`: urgent work, or bulk work that waits for every urgent event (intake, evidence). */
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
        const fn = this.#urgent.shift() ?? this.#bulk.shift();
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
}
