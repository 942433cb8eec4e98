import { describe, expect, it } from 'vitest';
import { ClockOffset } from '../../src/runtime/clock-offset.ts';

describe('clock offset against peers', () => {
  it('is the median over peers, so one lying peer of three cannot move it past the honest ones', () => {
    const c = new ClockOffset();
    expect(c.estimate()).toBeUndefined();
    c.observe('a', 1_000, 21_000); // we are 20 s ahead of a
    c.observe('b', 1_500, 21_000); // 19.5 s ahead of b
    c.observe('liar', 10_000_000, 21_000);
    expect(c.estimate()).toEqual({ offsetMs: 19_500, peers: 3 });
    c.forget('liar');
    expect(c.estimate()).toEqual({ offsetMs: 19_750, peers: 2 });
  });

  it('takes each peer at its least-delayed recent reading: a late message does not read us ahead', () => {
    const c = new ClockOffset();
    c.observe('a', 10_000, 10_005); // 5 ms in flight
    c.observe('a', 11_000, 14_005); // held up 3 s (a replay, a paused sender): reads 3 s
    expect(c.estimate()?.offsetMs).toBe(5);
    // Once the good sample is eight readings old it is forgotten, and the delayed ones count.
    for (let i = 0; i < 8; i++) c.observe('a', 20_000 + i, 23_000 + i);
    expect(c.estimate()?.offsetMs).toBe(3_000);
  });
});
