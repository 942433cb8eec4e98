/** Real timers for the node (the simulator has virtual ones). Unref'd: they never keep a stopped process alive. */
import type { Timers } from '../runtime/ports.ts';

export class RealTimers implements Timers {
  readonly #handles = new Map<string, NodeJS.Timeout>();

  set(id: string, ms: number, cb: () => void): void {
    this.cancel(id);
    const h = setTimeout(
      () => {
        this.#handles.delete(id);
        cb();
      },
      Math.max(0, ms),
    );
    h.unref();
    this.#handles.set(id, h);
  }

  cancel(id: string): void {
    const h = this.#handles.get(id);
    if (h !== undefined) clearTimeout(h);
    this.#handles.delete(id);
  }

  cancelAll(): void {
    for (const h of this.#handles.values()) clearTimeout(h);
    this.#handles.clear();
  }
}
