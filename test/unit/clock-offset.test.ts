import { describe, expect, it } from 'vitest';
import { BlockClock, ClockOffset } from '../../src/runtime/clock-offset.ts';

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

  it('the network clock (slot engines) is the median of every clock, this one counted: nodes whose clocks differ agree on it', () => {
    // Four clocks at +1.5 s, -0.5 s, +0.7 s, -1.4 s from true time; each node hears the other three.
    const skews = [1_500, -500, 700, -1_400];
    const nets = skews.map((mine, i) => {
      const c = new ClockOffset();
      skews.forEach((theirs, j) => {
        if (j !== i) c.observe(`v${j}`, 50_000 + theirs, 50_000 + mine);
      });
      return 50_000 + mine - (c.estimate(true)?.offsetMs as number);
    });
    // Each reads the median of the same four clocks: 50 000 + (−500 + 700) / 2.
    expect(nets).toEqual([50_100, 50_100, 50_100, 50_100]);
    // Without its own reading each node would take the median of the other three: they disagree.
    const others = new ClockOffset();
    others.observe('v1', 49_500, 51_500);
    others.observe('v2', 50_700, 51_500);
    others.observe('v3', 48_600, 51_500);
    expect(51_500 - (others.estimate()?.offsetMs as number)).toBe(49_500);
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

  it('judges its own clock only once 2f+1 other validators have reported', () => {
    // This node runs 20 s ahead; of its three peers (n = 4, f = 1), "behind" runs 20 s behind.
    const now = 1_000_000;
    const warnings: string[] = [];
    const logger = {
      warn: (msg: string) => warnings.push(msg),
      info: () => {},
      debug: () => {},
      error: () => {},
    };
    const clock = new BlockClock({
      clock: { now: () => now },
      driftMs: 5_000,
      validatorPeers: new Set(['behind', 'a', 'b']),
      logger: logger as never,
      beforeReading: () => {},
    });
    clock.observe('behind', now - 40_000);
    // One reading says 40 s ahead: not enough to judge by, nor to steer the block clock.
    expect(clock.offset()).toBeUndefined();
    expect(clock.now()).toBe(now);
    clock.observe('a', now - 20_000);
    expect(clock.offset()).toBeUndefined();
    expect(warnings).toEqual([]);
    clock.observe('not-a-validator', now);
    expect(clock.offset()).toBeUndefined();
    clock.observe('b', now - 20_000);
    expect(clock.offset()).toEqual({ offsetMs: 20_000, peers: 3, off: true });
    expect(clock.now()).toBe(now - 20_000);
    expect(warnings).toEqual([
      "this node's clock is 20.0 s ahead of its peers (median of 3): fix its time sync (NTP)",
    ]);
  });

  it('a validator just started on a clock past its parent by more than the drift bound waits (≤ 3 s) for 2f+1 readings before stamping', () => {
    let now = 1_000_000;
    const make = (peers: string[]) =>
      new BlockClock({
        clock: { now: () => now },
        driftMs: 10_000,
        validatorPeers: new Set(peers),
        logger: { warn() {}, info() {}, debug() {}, error() {} } as never,
        beforeReading: () => {},
      });
    const clock = make(['a', 'b', 'c']);
    // Its parent was made 20 s before this clock's reading: maybe this clock is 20 s ahead.
    const parentMs = now - 20_000;
    expect(clock.stampWaitMs(parentMs)).toBe(3_000);
    // A parent within the drift bound: a block no peer would hold, stamp at once (negative control).
    expect(clock.stampWaitMs(now - 10_000)).toBe(0);
    expect(clock.stampWaitMs(now - 10_001)).toBe(3_000);
    now += 1_000;
    expect(clock.stampWaitMs(parentMs)).toBe(2_000);
    // Two readings are not 2f+1 (n = 4): still waiting; the third judges the clock — stamp now.
    clock.observe('a', now - 20_000);
    clock.observe('b', now - 20_000);
    expect(clock.stampWaitMs(parentMs)).toBe(2_000);
    clock.observe('c', now - 20_000);
    expect(clock.stampWaitMs(parentMs)).toBe(0);
    expect(clock.now()).toBe(now - 20_000);
    // Unjudged, the wait ends 3 s after the start, and a lone validator never waits.
    const unheard = make(['a', 'b', 'c']);
    now += 3_000;
    expect(unheard.stampWaitMs(parentMs)).toBe(0);
    expect(make([]).stampWaitMs(now - 60_000)).toBe(0);
  });
});
