/**
 * node test/bench/miner.bench.ts — the node's Proof-of-Work miner, on a worker thread vs inline on
 * the event loop in 20 ms slices (src/runtime/grinding-miner.ts), side by side: hashes per second,
 * and the event loop's delay while it mines (what every block, vote and RPC request of the node
 * waits behind). Each mode mines back-to-back jobs of 2^17 expected hashes (many solutions a second: a stable
 * rate) for --seconds (default 10), twice, in ABBA order; the delays are the worse run's.
 *
 *   node test/bench/miner.bench.ts [--seconds 10] [--json]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { GrindingMiner } from '../../src/runtime/grinding-miner.ts';
import { machine } from './harness.ts';

if (process.argv.includes('--help')) {
  console.log('node test/bench/miner.bench.ts [--seconds 10] [--json]');
  process.exit(0);
}
const i = process.argv.indexOf('--seconds');
const SECONDS = i >= 0 ? Number(process.argv[i + 1]) : 10;
const JSON_OUT = process.argv.includes('--json');
const TARGET = (1n << 256n) / (1n << 17n);

const rows: Array<{
  mode: string;
  solved: number;
  hashesPerSecond: number;
  delayP50Ms: number;
  delayP99Ms: number;
  delayMaxMs: number;
}> = [];
// ABBA order: whichever runs first pays for warm-up and the box's noise; each row sums two runs.
for (const mode of ['worker', 'inline', 'inline', 'worker'] as const) {
  const miner = new GrindingMiner({ inline: mode === 'inline' });
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const start = performance.now();
  let solved = 0;
  let header = 0;
  await new Promise<void>((done) => {
    const next = (): void =>
      miner.mine({ header: new Uint8Array(300).fill(++header % 256), target: TARGET }, () => {
        solved++;
        if (performance.now() - start > SECONDS * 1000) done();
        else next();
      });
    next();
    // A job still running at the deadline: stop there (its hashes are counted when reported).
    setTimeout(done, SECONDS * 1000 + 60_000).unref();
  });
  delay.disable();
  const s = (performance.now() - start) / 1000;
  const row = {
    mode,
    solved,
    hashesPerSecond: Math.round(miner.hashes / s),
    delayP50Ms: delay.percentile(50) / 1e6,
    delayP99Ms: delay.percentile(99) / 1e6,
    delayMaxMs: delay.max / 1e6,
  };
  const seen = rows.find((r) => r.mode === mode);
  if (seen === undefined) rows.push(row);
  else {
    seen.solved += row.solved;
    seen.hashesPerSecond = Math.round((seen.hashesPerSecond + row.hashesPerSecond) / 2);
    seen.delayP50Ms = Math.max(seen.delayP50Ms, row.delayP50Ms);
    seen.delayP99Ms = Math.max(seen.delayP99Ms, row.delayP99Ms);
    seen.delayMaxMs = Math.max(seen.delayMaxMs, row.delayMaxMs);
  }
  await miner.close();
}
if (JSON_OUT) console.log(JSON.stringify({ machine: machine(), seconds: SECONDS, rows }, null, 2));
else {
  console.log(`# miner: worker thread vs inline slices — ${machine()}`);
  for (const r of rows)
    console.log(
      `${r.mode.padEnd(7)} ${String(r.solved).padStart(3)} solved  ${(r.hashesPerSecond / 1000).toFixed(0).padStart(5)}k H/s  event-loop delay p50 ${r.delayP50Ms.toFixed(1)} ms, p99 ${r.delayP99Ms.toFixed(1)} ms, max ${r.delayMaxMs.toFixed(1)} ms`,
    );
  const [w, n] = rows as [(typeof rows)[number], (typeof rows)[number]];
  console.log(`hash rate worker ÷ inline: ${(w.hashesPerSecond / n.hashesPerSecond).toFixed(2)}`);
}
