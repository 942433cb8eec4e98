/**
 * Reads that wait for the engine's word before they are served (`GET /account?consistency=
 * linearizable|lease`): each gets an id, goes to the engine as a `read` input, and is answered by
 * `read-ready` (serve once this node's chain reaches `index`) or `read-failed`. Every wait is
 * bounded: a read the engine never answers (its request to the leader was lost) times out with a
 * typed error the client may retry.
 */
import { VerityError } from '../../crypto/errors.ts';
import type { Timers } from './ports.ts';

export type ReadErrorCode = 'READ_UNAVAILABLE' | 'READ_FAILED' | 'READ_TIMEOUT';

export class ReadError extends VerityError<ReadErrorCode> {}

interface Waiting {
  readonly resolve: (index: number) => void;
  readonly reject: (e: ReadError) => void;
}

export class ReadBarrier {
  readonly #timers: Timers;
  #next = 1;
  readonly #confirming = new Map<number, Waiting>();
  #atHeight: Array<{ id: number; height: number; resolve: () => void }> = [];

  constructor(timers: Timers) {
    this.#timers = timers;
  }

  /**
   * Starts read `id` (hand it to the engine with `ask`) and resolves once the engine confirmed it
   * AND `height()` reached the index it named, within `timeoutMs` in all.
   */
  async read(ask: (id: number) => void, height: () => number, timeoutMs: number): Promise<number> {
    const id = this.#next++;
    const timer = `read:${id}`;
    return new Promise<number>((resolve, reject) => {
      const fail = (e: ReadError) => {
        this.#confirming.delete(id);
        this.#atHeight = this.#atHeight.filter((w) => w.id !== id);
        this.#timers.cancel(timer);
        reject(e);
      };
      this.#timers.set(timer, timeoutMs, () =>
        fail(new ReadError('READ_TIMEOUT', `the read was not confirmed within ${timeoutMs} ms; retry`)),
      );
      this.#confirming.set(id, {
        resolve: (index) => {
          this.#confirming.delete(id);
          const done = () => {
            this.#timers.cancel(timer);
            resolve(index);
          };
          if (height() >= index) done();
          else this.#atHeight.push({ id, height: index, resolve: done });
        },
        reject: fail,
      });
      ask(id);
    });
  }

  /** The engine's `read-ready`. */
  ready(id: number, index: number): void {
    this.#confirming.get(id)?.resolve(index);
  }

  /** The engine's `read-failed`. */
  failed(id: number, reason: string): void {
    this.#confirming
      .get(id)
      ?.reject(new ReadError('READ_FAILED', `the read could not be confirmed: ${reason}`));
  }

  /** The chain reached `height`: reads waiting for it are served. */
  committed(height: number): void {
    if (this.#atHeight.length === 0) return;
    const due = this.#atHeight.filter((w) => w.height <= height);
    this.#atHeight = this.#atHeight.filter((w) => w.height > height);
    for (const w of due) w.resolve();
  }
}
