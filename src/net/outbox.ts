/**
 * A peer's bounded outbound queue: one FIFO per channel under a shared byte and frame budget.
 * When a slow peer's budget is exceeded the oldest 'tx' frames go first (nothing re-sends them:
 * a transaction dropped so reaches that peer in the block that commits it, or again from a client
 * that retries), then the oldest 'sync' frames (re-fetched), and only then the oldest 'consensus'
 * frames (engines re-broadcast). Enqueueing never blocks.
 */

import { Fifo } from '../runtime/fifo.ts';
import type { Channel } from '../runtime/ports.ts';

export const CHANNELS: readonly Channel[] = ['consensus', 'tx', 'sync'];

/** Eviction order when the budget is exceeded. */
const EVICTION_ORDER: readonly Channel[] = ['tx', 'sync', 'consensus'];

export interface OutboxLimits {
  readonly maxBytes: number;
  readonly maxFrames: number;
}

export interface Evicted {
  readonly channel: Channel;
  readonly bytes: number;
}

export class Outbox {
  readonly #limits: OutboxLimits;
  readonly #queues: Record<Channel, Fifo<Uint8Array>> = {
    consensus: new Fifo(),
    tx: new Fifo(),
    sync: new Fifo(),
  };
  #bytes = 0;
  #frames = 0;

  constructor(limits: OutboxLimits) {
    this.#limits = limits;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get frames(): number {
    return this.#frames;
  }

  size(channel: Channel): number {
    return this.#queues[channel].size;
  }

  /** Queues a frame; returns what had to be evicted to stay within budget (possibly the frame itself). */
  push(channel: Channel, frame: Uint8Array): Evicted[] {
    this.#queues[channel].push(frame);
    this.#bytes += frame.length;
    this.#frames++;
    const evicted: Evicted[] = [];
    while (this.#bytes > this.#limits.maxBytes || this.#frames > this.#limits.maxFrames) {
      const ch = EVICTION_ORDER.find((c) => this.#queues[c].size > 0);
      if (ch === undefined) break;
      const dropped = this.shift(ch) as Uint8Array;
      evicted.push({ channel: ch, bytes: dropped.length });
    }
    return evicted;
  }

  shift(channel: Channel): Uint8Array | undefined {
    const v = this.#queues[channel].shift();
    if (v !== undefined) {
      this.#bytes -= v.length;
      this.#frames--;
    }
    return v;
  }

  /** Drops one channel's queue (its stream failed); returns the number of frames dropped. */
  clear(channel: Channel): number {
    const n = this.#queues[channel].size;
    let bytes = 0;
    for (let v = this.#queues[channel].shift(); v !== undefined; v = this.#queues[channel].shift())
      bytes += v.length;
    this.#bytes -= bytes;
    this.#frames -= n;
    return n;
  }

  clearAll(): number {
    return CHANNELS.reduce((n, ch) => n + this.clear(ch), 0);
  }
}
