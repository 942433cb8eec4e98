/**
 * Timers on the simulator's virtual clock: a timer fires at its virtual time unless re-set,
 * cancelled, or its node is down; a paused node's timers fire when the pause ends.
 */
import type { Timers } from '../runtime/ports.ts';
import type { EventQueue } from './event-queue.ts';

export class SimTimers implements Timers {
  readonly #queue: EventQueue;
  readonly #now: () => number;
  readonly #active: () => boolean;
  readonly #pausedUntil: () => number;
  readonly #onFire: (id: string) => void;
  readonly #tokens = new Map<string, number>();
  #next = 0;

  constructor(
    queue: EventQueue,
    now: () => number,
    active: () => boolean,
    pausedUntil: () => number,
    onFire: (id: string) => void,
  ) {
    this.#queue = queue;
    this.#now = now;
    this.#active = active;
    this.#pausedUntil = pausedUntil;
    this.#onFire = onFire;
  }

  set(id: string, ms: number, cb: () => void): void {
    const token = ++this.#next;
    this.#tokens.set(id, token);
    const fire = () => {
      if (this.#tokens.get(id) !== token || !this.#active()) return;
      const paused = this.#pausedUntil();
      if (paused > this.#now()) {
        this.#queue.push(paused, fire);
        return;
      }
      this.#tokens.delete(id);
      this.#onFire(id);
      cb();
    };
    this.#queue.push(this.#now() + Math.max(0, ms), fire);
  }

  cancel(id: string): void {
    this.#tokens.delete(id);
  }

  cancelAll(): void {
    this.#tokens.clear();
  }
}
