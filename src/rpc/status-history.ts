/**
 * The network's recent health, for `GET /status/history` and the explorer's chart: a bounded ring
 * of what `/status` showed every few seconds (height, round, view changes, peers, mempool).
 *
 * Sans-I/O: the ring buffer keeps what it is given, in the order given; the sampler reads the
 * time and arms its next sample through the clock and Timers the node injects (node.ts), so a
 * test drives both by hand.
 */
import type { Timers } from '../runtime/ports.ts';

/** One look at the node, with `/status`'s field names. */
export interface StatusSample {
  /** The node's clock when sampled (ms since the Unix epoch). */
  readonly time: number;
  readonly height: number;
  readonly round: number;
  /** Rounds/views abandoned by timeout since this node started (a counter; EngineStatus). */
  readonly viewChanges: number;
  readonly peers: number;
  readonly mempool: { readonly size: number; readonly bytes: number };
}

/** A sample every 5 s, the last 10 minutes kept: 120 samples. */
export const STATUS_SAMPLE_INTERVAL_MS = 5_000;
export const STATUS_HISTORY_WINDOW_MS = 10 * 60_000;

/** A ring of the last `capacity` samples; the oldest is dropped when a new one arrives on a full ring. */
export class StatusHistory {
  readonly intervalMs: number;
  readonly windowMs: number;
  /** ceil(windowMs / intervalMs): the window's worth of samples at the nominal rate. */
  readonly capacity: number;
  readonly #ring: Array<StatusSample | undefined>;
  /** Where the next sample goes (the oldest one, once the ring is full). */
  #next = 0;
  #size = 0;

  constructor(o: { intervalMs: number; windowMs: number }) {
    if (!Number.isSafeInteger(o.intervalMs) || o.intervalMs < 1)
      throw new RangeError(`intervalMs must be a positive integer, not ${o.intervalMs}`);
    if (!Number.isSafeInteger(o.windowMs) || o.windowMs < o.intervalMs)
      throw new RangeError(`windowMs must be an integer ≥ intervalMs (${o.intervalMs}), not ${o.windowMs}`);
    this.intervalMs = o.intervalMs;
    this.windowMs = o.windowMs;
    this.capacity = Math.ceil(o.windowMs / o.intervalMs);
    this.#ring = new Array<StatusSample | undefined>(this.capacity).fill(undefined);
  }

  get size(): number {
    return this.#size;
  }

  record(sample: StatusSample): void {
    this.#ring[this.#next] = sample;
    this.#next = (this.#next + 1) % this.capacity;
    this.#size = Math.min(this.#size + 1, this.capacity);
  }

  /** The samples held, oldest first (in the order recorded). */
  samples(): StatusSample[] {
    const out: StatusSample[] = [];
    const first = (this.#next - this.#size + this.capacity) % this.capacity;
    for (let i = 0; i < this.#size; i++) out.push(this.#ring[(first + i) % this.capacity] as StatusSample);
    return out;
  }
}

const TIMER = 'status-history';

/**
 * Records `sample()` into `history` now and then every `history.intervalMs` on `timers`, until
 * the returned stop is called. `sample` reads in-memory state and does not throw.
 */
export function sampleStatus(o: {
  readonly history: StatusHistory;
  readonly timers: Timers;
  readonly sample: () => StatusSample;
}): () => void {
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    o.history.record(o.sample());
    o.timers.set(TIMER, o.history.intervalMs, tick);
  };
  tick();
  return () => {
    stopped = true;
    o.timers.cancel(TIMER);
  };
}
