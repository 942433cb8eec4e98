import { describe, expect, it } from 'vitest';
import { ClockOffset } from '../../src/runtime/clock-offset.ts';

describe('clock offset against peers', () => {
  it('is the median of (our clock − theirs), so one lying peer of three cannot move it past the honest ones', () => {
    const c = new ClockOffset();
    expect(c.estimate()).toBeUndefined();
    c.observe('a', 1_000, 21_000); // we are 20 s ahead of a
    c.observe('b', 1_500, 21_000); // 19.5 s ahead of b
    c.observe('liar', 10_000_000, 21_000);
    expect(c.estimate()).toEqual({ offsetMs: 19_500, peers: 3 });
    c.observe('b', 2_000, 22_000); // a newer sample replaces the older
    expect(c.estimate()).toEqual({ offsetMs: 20_000, peers: 3 });
    c.forget('liar');
    expect(c.estimate()).toEqual({ offsetMs: 20_000, peers: 2 });
  });
});
