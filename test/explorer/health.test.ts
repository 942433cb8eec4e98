/**
 * The explorer's network-health chart without a browser (explorer/src/health.ts): the samples
 * it keeps (a time window, oldest first, history merged in front) and its geometry with 0, 1, 2
 * and many samples — every point inside the plot, time running left to right, a flat series
 * mid-band. The real page is checked in explorer.browser.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { age, type HealthSample, HealthSamples, healthLayout } from '../../explorer/src/health.ts';

const at = (time: number, height: number, round = 0, viewChanges = 0): HealthSample => ({
  time,
  height,
  round,
  viewChanges,
});

/** Every point finite, inside its band and the plot, x non-decreasing. */
function geometryProblems(samples: readonly HealthSample[]): string[] {
  const l = healthLayout(samples);
  const out: string[] = [];
  for (const s of l.series) {
    let prevX = -Infinity;
    for (const [x, y] of s.points) {
      if (!Number.isFinite(x) || !Number.isFinite(y)) out.push(`${s.key}: not finite (${x}, ${y})`);
      if (x < l.plotLeft || x > l.plotRight) out.push(`${s.key}: x ${x} outside the plot`);
      if (y < s.top || y > s.top + l.band) out.push(`${s.key}: y ${y} outside its band`);
      if (x < prevX) out.push(`${s.key}: x goes back (${prevX} → ${x})`);
      prevX = x;
    }
  }
  return out;
}

describe('healthLayout', () => {
  it('no samples: an empty chart of the same size, no series, no axis labels', () => {
    const l = healthLayout([]);
    expect(l).toMatchObject({ samples: 0, series: [], from: '', to: '' });
    expect(l.width).toBeGreaterThan(0);
    expect(l.height).toBe(healthLayout([at(1, 1)]).height);
  });

  it('one sample: one point per series at the right edge, mid-band; "now" only', () => {
    const l = healthLayout([at(1000, 7, 2, 1)]);
    expect(l.series.map((s) => [s.key, s.value, s.points])).toEqual(
      l.series.map((s) => [
        s.key,
        s.key === 'height' ? 7 : s.key === 'round' ? 2 : 1,
        [[l.plotRight, s.top + l.band / 2]],
      ]),
    );
    expect([l.from, l.to]).toEqual(['', 'now']);
    expect(geometryProblems([at(1000, 7, 2, 1)])).toEqual([]);
  });

  it('two samples: from the left edge to the right, the higher value at the band top', () => {
    const l = healthLayout([at(0, 10, 0, 0), at(90_000, 30, 0, 2)]);
    const [height, round, views] = l.series;
    expect(height?.points).toEqual([
      [l.plotLeft, (height?.top ?? 0) + l.band],
      [l.plotRight, height?.top ?? 0],
    ]);
    expect([height?.min, height?.max, height?.value]).toEqual([10, 30, 30]);
    // Round did not change: a flat line mid-band.
    expect(round?.points.map(([, y]) => y)).toEqual([
      (round?.top ?? 0) + l.band / 2,
      (round?.top ?? 0) + l.band / 2,
    ]);
    expect(views?.points.at(-1)?.[1]).toBe(views?.top);
    expect([l.from, l.to]).toEqual(['1m 30s ago', 'now']);
  });

  it('many samples, uneven times and values: every point inside the plot, time left to right', () => {
    const samples: HealthSample[] = [];
    let t = 1_700_000_000_000;
    for (let i = 0; i < 300; i++) {
      t += 1000 + ((i * 7919) % 4000);
      samples.push(at(t, 100 + i * 3, (i * 13) % 5, Math.floor(i / 40)));
    }
    expect(geometryProblems(samples)).toEqual([]);
    expect(healthLayout(samples).series.map((s) => s.points.length)).toEqual([300, 300, 300]);
  });

  it('negative control: the check catches points outside the plot', () => {
    // Not oldest first: the layout assumes order, and the check sees x run off the plot.
    expect(geometryProblems([at(5000, 1), at(0, 2), at(10_000, 3)]).length).toBeGreaterThan(0);
  });

  it('ages read as seconds, then minutes and seconds', () => {
    expect([age(0), age(44_600), age(60_000), age(245_000)]).toEqual(['0s', '45s', '1m 00s', '4m 05s']);
  });
});

describe('HealthSamples', () => {
  it('keeps newer samples in order and ignores one not newer than the newest', () => {
    const h = new HealthSamples({ windowMs: 60_000, max: 100 });
    h.add(at(1000, 1));
    h.add(at(2000, 2));
    h.add(at(2000, 99));
    h.add(at(1500, 98));
    expect(h.all.map((s) => s.height)).toEqual([1, 2]);
  });

  it('drops what falls out of the window (from the newest) and what exceeds the cap', () => {
    const h = new HealthSamples({ windowMs: 10_000, max: 100 });
    for (let i = 0; i <= 30; i++) h.add(at(i * 1000, i));
    expect(h.all.map((s) => s.height)).toEqual(Array.from({ length: 11 }, (_, i) => 20 + i));
    const capped = new HealthSamples({ windowMs: 1e9, max: 5 });
    for (let i = 0; i < 12; i++) capped.add(at(i, i));
    expect(capped.all.map((s) => s.height)).toEqual([7, 8, 9, 10, 11]);
  });

  it('merges history in front: only what is older than held, in increasing time', () => {
    const h = new HealthSamples({ windowMs: 60_000, max: 100 });
    h.add(at(10_000, 10));
    h.addOlder([at(0, 0), at(5000, 5), at(4000, 4), at(10_000, 99), at(15_000, 98)]);
    expect(h.all.map((s) => s.height)).toEqual([0, 5, 10]);
    const empty = new HealthSamples({ windowMs: 60_000, max: 100 });
    empty.addOlder([]);
    expect(empty.all).toEqual([]);
    empty.addOlder([at(0, 0), at(5000, 5)]);
    expect(empty.all.map((s) => s.height)).toEqual([0, 5]);
  });
});
