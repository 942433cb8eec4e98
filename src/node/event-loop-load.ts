/**
 * How busy this node's event loop is: the share of wall time it spent running callbacks rather
 * than waiting for I/O (Node's event-loop utilization), over the last completed window, and in
 * total since start. The runtime paces blocks by the first (RuntimeOptions.load); the metrics
 * export the second (`verity_event_loop_busy_seconds_total`), from which any window's share is a
 * difference. A saturated machine shows here as well as a saturated node: a thread descheduled
 * inside a callback counts as busy, so the share rises; one waiting for a core after its I/O is
 * ready counts as idle, so it stays well below 1 (0.36–0.53 for four validators saturating two
 * cores in bench:node).
 */
import { performance } from 'node:perf_hooks';

type Utilization = ReturnType<typeof performance.eventLoopUtilization>;

/** Long enough to average over a few blocks, short enough to follow a change in load within seconds. */
export const DEFAULT_LOAD_WINDOW_MS = 1000;

export class EventLoopLoad {
  readonly #windowMs: number;
  readonly #start: Utilization;
  #windowStart: Utilization;
  #last = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(windowMs = DEFAULT_LOAD_WINDOW_MS) {
    if (!Number.isInteger(windowMs) || windowMs <= 0)
      throw new RangeError(`windowMs must be a positive integer, not ${windowMs}`);
    this.#windowMs = windowMs;
    this.#start = performance.eventLoopUtilization();
    this.#windowStart = this.#start;
  }

  /** Starts measuring windows (unref'd: it never keeps the process alive). */
  start(): this {
    this.#timer ??= setInterval(() => this.#roll(), this.#windowMs).unref();
    return this;
  }

  stop(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The busy share (0 to 1) of the last completed window; 0 before the first one completes. */
  utilization(): number {
    return this.#last;
  }

  /** Seconds the event loop has been busy since this meter was made. */
  busySeconds(): number {
    return performance.eventLoopUtilization(this.#start).active / 1000;
  }

  #roll(): void {
    const now = performance.eventLoopUtilization();
    this.#last = performance.eventLoopUtilization(now, this.#windowStart).utilization;
    this.#windowStart = now;
  }
}
