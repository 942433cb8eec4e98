/**
 * npm run test:long — the long simulator sweep: ≥ 1,000 seeds per engine (the unit suite runs 50),
 * spread over two worker threads, with the options of the unit sweeps (test/sim/sweep-options.ts:
 * every Byzantine mode in rotation, replay included). Prints progress and, for every failure, why
 * and the exact replay command.
 *   node test/long/sweep.ts [--seeds 1000] [--engines tendermint,pbft,hotstuff] [--workers 2]
 *                           [--staking SEEDS] [--membership SEEDS] [--min-block-interval MS]
 * `--staking SEEDS` adds, per engine, SEEDS runs of the staking sweep (test/sim/staking-sweep.ts:
 * the same faults with the validator set churning through epochs; default 100, 0 for none).
 * `--membership SEEDS` adds, when raft is swept, SEEDS runs of the membership sweep
 * (test/sim/membership-sweep.ts: random `membership` requests under the faults; default 300).
 * `--min-block-interval MS` runs every node of the standard sweep's runs with that floor under its
 * block interval (`consensus.min_block_interval_ms`; a real node's default is 100, the
 * simulator's 0); failures replay with `verity sim --min-block-interval MS`.
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { engineNames, getEngine } from '../../consensus/registry.ts';
import { MAX_SIM_MIN_BLOCK_INTERVAL_MS, replayCommand, runSimulation } from '../../src/sim/simulation.ts';
import { membershipSweepOptions } from '../sim/membership-sweep.ts';
import { stakingSweepOptions } from '../sim/staking-sweep.ts';
import { sweepOptions } from '../sim/sweep-options.ts';

interface Job {
  engine: string;
  /** RuntimeOptions.minBlockIntervalMs for a standard run (0: none). */
  minBlockIntervalMs: number;
  params: Record<string, string | number | boolean>;
  seed: number;
  /** A staking-sweep run (staking-sweep.ts) rather than the standard one. */
  staking?: boolean;
  /** A membership-sweep run (membership-sweep.ts; raft). */
  membership?: boolean;
}

if (isMainThread) {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
  };
  const seeds = Number(arg('seeds', '1000'));
  const intervalText = arg('min-block-interval', '0');
  const minBlockIntervalMs = /^\d+$/.test(intervalText) ? Number(intervalText) : -1;
  if (minBlockIntervalMs < 0 || minBlockIntervalMs > MAX_SIM_MIN_BLOCK_INTERVAL_MS) {
    console.error(`--min-block-interval takes milliseconds from 0 to ${MAX_SIM_MIN_BLOCK_INTERVAL_MS}`);
    process.exit(2);
  }
  const workers = Number(arg('workers', '2'));
  const engines = arg('engines', engineNames().join(','))
    .split(',')
    .filter((e) => {
      try {
        getEngine(e)?.parseParams({});
        return getEngine(e) !== undefined;
      } catch {
        return false;
      }
    });
  const variants: Array<{ engine: string; params: Record<string, string | number | boolean> }> = [];
  for (const e of engines) {
    if (e === 'hotstuff') {
      for (const qc of ['aggregate', 'threshold'])
        for (const chain of [3, 2]) variants.push({ engine: e, params: { qc, chain } });
    } else variants.push({ engine: e, params: {} });
  }
  const jobs: Job[] = [];
  for (const v of variants) {
    const perVariant = v.engine === 'hotstuff' ? Math.ceil(seeds / 4) : seeds;
    for (let s = 1; s <= perVariant; s++) jobs.push({ ...v, seed: 100_000 + s, minBlockIntervalMs });
  }
  const stakingSeeds = Number(arg('staking', '100'));
  for (const e of engines)
    for (let s = 1; s <= stakingSeeds; s++)
      jobs.push({ engine: e, params: {}, seed: 200_000 + s, staking: true, minBlockIntervalMs: 0 });
  const membershipSeeds = engines.includes('raft') ? Number(arg('membership', '300')) : 0;
  for (let s = 1; s <= membershipSeeds; s++)
    jobs.push({ engine: 'raft', params: {}, seed: 300_000 + s, membership: true, minBlockIntervalMs: 0 });
  console.log(
    `long sweep: ${jobs.length} runs (${engines.join(', ')}), ${workers} workers${minBlockIntervalMs > 0 ? `, standard runs with a ${minBlockIntervalMs} ms floor under the block interval` : ''}`,
  );
  let done = 0;
  let failed = 0;
  let damaged = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const mine = jobs.filter((_, i) => i % workers === w);
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL(import.meta.url), { workerData: mine });
        worker.on('message', (m: { ok: boolean; line: string; walRecordsDamaged: number }) => {
          done++;
          damaged += m.walRecordsDamaged;
          if (!m.ok) {
            failed++;
            console.log(`FAIL ${m.line}`);
          }
          if (done % 50 === 0)
            console.log(
              `  ${done}/${jobs.length} runs, ${failed} failed, ${damaged} WAL records damaged, ${((Date.now() - started) / 1000).toFixed(0)} s`,
            );
        });
        worker.on('error', reject);
        worker.on('exit', () => resolve());
      });
    }),
  );
  console.log(
    `storage faults: ${damaged} WAL records damaged, every one noticed unless a failure above says otherwise`,
  );
  console.log(`${done - failed} passed, ${failed} failed (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  process.exit(failed === 0 ? 0 : 1);
} else {
  for (const job of workerData as Job[]) {
    const engine = getEngine(job.engine);
    if (engine === undefined) continue;
    const o = job.staking
      ? stakingSweepOptions(engine, job.seed)
      : job.membership
        ? membershipSweepOptions(job.seed)
        : {
            ...sweepOptions(engine, job.seed, job.params),
            ...(job.minBlockIntervalMs > 0 ? { minBlockIntervalMs: job.minBlockIntervalMs } : {}),
          };
    // A sweep's `inspect` throws when the run's end state is wrong: a failure like any other.
    const r = await runSimulation(o).catch((e: Error) => ({
      safe: false,
      live: false,
      livenessFailure: '',
      walRecordsDamaged: 0,
      violations: [{ kind: 'end state', detail: e.message }],
    }));
    const ok = r.safe && r.live;
    // (A staking run's scenario has no verity sim flags: it replays with stakingSweepOptions.)
    const replay = job.staking
      ? `stakingSweepOptions(${job.engine}, ${job.seed}) in test/sim/staking-sweep.ts`
      : job.membership
        ? `membershipSweepOptions(${job.seed}) in test/sim/membership-sweep.ts`
        : replayCommand(o);
    parentPort?.postMessage({
      ok,
      walRecordsDamaged: r.walRecordsDamaged,
      line: ok
        ? ''
        : `${r.safe ? `liveness: ${r.livenessFailure}` : `safety: ${r.violations[0]?.kind}: ${r.violations[0]?.detail}`} — ${replay}`,
    });
  }
}
