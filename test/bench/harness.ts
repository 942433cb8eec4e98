/**
 * Tiny benchmark harness shared by every `npm run bench:*` script. Prints the machine first so
 * every figure is attributable, and reports throughput measured over a minimum wall time.
 * Benchmarks are plain scripts (not vitest): a timed unit test is a flaky unit test.
 */
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';

export function machine(): string {
  const cpu = cpus();
  const model = cpu[0]?.model.trim() ?? 'unknown CPU';
  const mem = (totalmem() / 2 ** 30).toFixed(0);
  return `${cpu.length} cores (${model}), ${mem} GiB RAM, Node ${process.version}, ${process.platform}-${process.arch}`;
}

export function header(title: string): void {
  console.log(`# ${title}`);
  console.log(`machine: ${machine()}`);
  console.log(`date: ${new Date().toISOString()}`);
  console.log('');
}

export interface Throughput {
  readonly name: string;
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSec: number;
}

/** Runs `fn` (which performs `batch` operations per call) until `minMs` elapsed; returns ops/s. */
export function measure(
  name: string,
  fn: () => void,
  opts: { batch?: number; minMs?: number } = {},
): Throughput {
  const batch = opts.batch ?? 1;
  const minMs = opts.minMs ?? 1000;
  fn(); // warm-up: JIT and caches
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    fn();
    ops += batch;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { name, ops, seconds, opsPerSec: ops / seconds };
}

export async function measureAsync(
  name: string,
  fn: () => Promise<void>,
  opts: { batch?: number; minMs?: number } = {},
): Promise<Throughput> {
  const batch = opts.batch ?? 1;
  const minMs = opts.minMs ?? 1000;
  await fn();
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs) {
    await fn();
    ops += batch;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { name, ops, seconds, opsPerSec: ops / seconds };
}

/** Times one run of `fn`, in milliseconds. */
export async function timeOnce(fn: () => unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Prints rows as an aligned text table. */
export function table(rows: ReadonlyArray<Record<string, string | number>>): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0] as object);
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '')));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i] as number)).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of cells) console.log(line(row));
  console.log('');
}

/** Median of the values that are numbers (NaN for none): the middle one, or the mean of the two. */
export function median(values: readonly number[]): number {
  const v = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (v.length === 0) return Number.NaN;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}
