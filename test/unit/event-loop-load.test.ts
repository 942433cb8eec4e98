/**
 * src/node/event-loop-load.ts: the busy share of a window in which the event loop ran one long
 * callback is high, and of one in which it only waited is low; the running total of busy seconds
 * grows by the callback's length; a stopped meter holds its last reading.
 */
import { describe, expect, it } from 'vitest';
import { EventLoopLoad } from '../../src/node/event-loop-load.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps the event loop busy (one callback) for `ms` of wall time. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/** Waits until the meter (rolling on its own timer) has completed a window after this call. */
const nextWindow = (windowMs: number) => sleep(windowMs + 50);

describe('event-loop load', () => {
  it('a window with a long callback reads busy, an idle one reads idle; busy seconds add up', async () => {
    const windowMs = 400;
    const meter = new EventLoopLoad(windowMs).start();
    try {
      expect(meter.utilization()).toBe(0); // no window completed yet
      // Line up on a window boundary, then spend most of the next window in one callback.
      await nextWindow(windowMs);
      const busyBefore = meter.busySeconds();
      await sleep(windowMs / 4);
      spin(windowMs);
      const spun = meter.busySeconds() - busyBefore;
      expect(spun).toBeGreaterThanOrEqual((windowMs / 1000) * 0.95);
      await sleep(10); // the window timer, overdue behind the spin, fires now
      expect(meter.utilization()).toBeGreaterThan(0.5);

      // Two quiet windows later, the reading is of a quiet one.
      await nextWindow(windowMs);
      await nextWindow(windowMs);
      expect(meter.utilization()).toBeLessThan(0.3);
    } finally {
      meter.stop();
    }
  });

  it('a stopped meter keeps its last reading; the window must be a positive whole number of ms', async () => {
    const meter = new EventLoopLoad(50).start();
    spin(60);
    await sleep(5);
    meter.stop();
    const last = meter.utilization();
    expect(last).toBeGreaterThan(0);
    spin(120);
    await sleep(120);
    expect(meter.utilization()).toBe(last);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => new EventLoopLoad(bad)).toThrow(RangeError);
  });
});
