/**
 * The explorer's network-health chart without the DOM: the samples it holds (a time window,
 * oldest first) and the chart's geometry — one band per series (height, round, view changes) on
 * a shared time axis. app.ts draws the geometry as an inline SVG; tests check it under node.
 */

export interface HealthSample {
  /** ms since the Unix epoch, on one clock (app.ts puts the node's samples on the browser's). */
  readonly time: number;
  readonly height: number;
  readonly round: number;
  readonly viewChanges: number;
}

/** The samples within `windowMs` of the newest, at most `max` of them, oldest first. */
export class HealthSamples {
  windowMs: number;
  readonly max: number;
  readonly #all: HealthSample[] = [];

  constructor(o: { windowMs: number; max: number }) {
    this.windowMs = o.windowMs;
    this.max = o.max;
  }

  get all(): readonly HealthSample[] {
    return this.#all;
  }

  /** A sample newer than the newest held (an older or equal time is ignored). */
  add(sample: HealthSample): void {
    const last = this.#all.at(-1);
    if (last !== undefined && sample.time <= last.time) return;
    this.#all.push(sample);
    this.#trim();
  }

  /**
   * History (oldest first): what is older than everything held goes in front of it; a sample not
   * newer than the one before it (a clock stepped back) is left out.
   */
  addOlder(samples: readonly HealthSample[]): void {
    const first = this.#all[0]?.time ?? Number.POSITIVE_INFINITY;
    const older: HealthSample[] = [];
    for (const s of samples) {
      const prev = older.at(-1);
      if (s.time < first && (prev === undefined || s.time > prev.time)) older.push(s);
    }
    this.#all.unshift(...older);
    this.#trim();
  }

  #trim(): void {
    const newest = this.#all.at(-1)?.time ?? 0;
    const inWindow = this.#all.findIndex((s) => s.time >= newest - this.windowMs);
    this.#all.splice(0, Math.max(inWindow, this.#all.length - this.max, 0));
  }
}

export const SERIES = [
  ['height', 'height'],
  ['round', 'round'],
  ['viewChanges', 'view changes'],
] as const;

export type SeriesKey = (typeof SERIES)[number][0];

export interface SeriesLayout {
  readonly key: SeriesKey;
  readonly label: string;
  /** The band's top edge; its baseline is at top + BAND. */
  readonly top: number;
  readonly min: number;
  readonly max: number;
  /** The newest value. */
  readonly value: number;
  /** [x, y] per sample, oldest first. */
  readonly points: ReadonlyArray<readonly [number, number]>;
}

export interface HealthLayout {
  readonly width: number;
  readonly height: number;
  /** Where the plot starts and ends horizontally (labels left of it, ranges right of it). */
  readonly plotLeft: number;
  readonly plotRight: number;
  readonly band: number;
  readonly samples: number;
  /** Empty without samples. */
  readonly series: readonly SeriesLayout[];
  /** The time axis' labels: the oldest sample's age, and "now" (the newest). */
  readonly from: string;
  readonly to: string;
}

const WIDTH = 640;
const LEFT = 130;
const RIGHT = 48;
const BAND = 40;
const GAP = 12;
const TOP = 6;
const AXIS = 14;

/** "45s", "4m 05s" */
export function age(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/**
 * The chart of `samples` (oldest first). One sample is a point at the right edge, mid-band; a
 * series that did not change is a line mid-band; none is an empty chart of the same size.
 */
export function healthLayout(samples: readonly HealthSample[]): HealthLayout {
  const height = TOP + SERIES.length * (BAND + GAP) + AXIS;
  const plotRight = WIDTH - RIGHT;
  const base = { width: WIDTH, height, plotLeft: LEFT, plotRight, band: BAND, samples: samples.length };
  const first = samples[0];
  const last = samples.at(-1);
  if (first === undefined || last === undefined) return { ...base, series: [], from: '', to: '' };
  const dt = last.time - first.time;
  const x = (t: number) => (dt <= 0 ? plotRight : LEFT + ((t - first.time) / dt) * (plotRight - LEFT));
  const series = SERIES.map(([key, label], i): SeriesLayout => {
    const top = TOP + i * (BAND + GAP);
    const values = samples.map((s) => s[key]);
    const min = Math.min(...values);
    const max = Math.max(...values);
    const y = (v: number) => (max === min ? top + BAND / 2 : top + BAND - ((v - min) / (max - min)) * BAND);
    return {
      key,
      label,
      top,
      min,
      max,
      value: last[key],
      points: samples.map((s) => [round1(x(s.time)), round1(y(s[key]))] as const),
    };
  });
  return { ...base, series, from: dt <= 0 ? '' : `${age(dt)} ago`, to: 'now' };
}

const round1 = (v: number) => Math.round(v * 10) / 10;
