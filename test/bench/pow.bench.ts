/**
 * npm run bench:pow — what the Proof-of-Work engine (consensus/pow) does under the simulator's
 * hash-rate miner (src/sim/sim-miner.ts), against what the literature predicts. Three tables:
 *
 *  1. Orphan rate vs block interval and network delay: 4 honest miners, no faults (the
 *     simulator's default latency) or the `reorder` fault (50–300 ms of jitter), blockIntervalMs ∈
 *     {250, 500, 1000, 2000, 5000}, ~60 blocks a run, medians over seeds. Orphan rate = 1 − (best
 *     chain length) / (blocks mined by all miners), measured at the end of the fault phase; beside
 *     it the deepest reorganization (engine log) and delay/interval. Decker & Wattenhofer (2013):
 *     the stale rate grows like delay/interval.
 *  2. Confirmations vs attacker share for a 0.1% reversal probability: Nakamoto 2008 §11's formula,
 *     which must reproduce his table exactly (the script exits 1 if not); then a Monte Carlo of the
 *     double-spend race in the simulator's mining model (exponential block times, rate = share;
 *     the attacker must get strictly ahead) at his z, with the exact value of that model and the
 *     least z it needs. This row is the race in the mining model, not full simulator runs.
 *  3. Selfish mining (Eyal & Sirer 2014): n = 10 miners, b of them one selfish pool
 *     (src/sim/mining-attacks.ts), α = b/10; the pool's share of the committed blocks beside α
 *     and R(α, γ) for γ = 0 and 0.5, and the profitability threshold (1 − γ)/(3 − 2γ).
 *
 *   node test/bench/pow.bench.ts [--quick] [--seeds 5] [--selfish-seeds 8] [--trials 20000] [--json]
 *     --quick   2 seeds for table 1, 1 for table 3, 5,000 race trials
 */
import { performance } from 'node:perf_hooks';
import { pow } from '../../consensus/pow/index.ts';
import { SeededRng } from '../../consensus/rng.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { type FaultKind, planFaults } from '../../src/sim/fault-plan.ts';
import { CALM } from '../../src/sim/network.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { fmt, machine, table } from './harness.ts';

const USAGE =
  'node test/bench/pow.bench.ts [--quick] [--seeds 5] [--selfish-seeds 8] [--trials 20000] [--json]';
if (process.argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
const QUICK = process.argv.includes('--quick');
const JSON_OUT = process.argv.includes('--json');
const SEEDS = arg('seeds', QUICK ? 2 : 5);
const SELFISH_SEEDS = arg('selfish-seeds', QUICK ? 1 : 8);
const TRIALS = arg('trials', QUICK ? 5_000 : 20_000);
const COMMAND = `node test/bench/pow.bench.ts${process.argv.length > 2 ? ` ${process.argv.slice(2).join(' ')}` : ''}`;

const engine = pow as EngineModule<unknown>;
const CONFIRMATIONS = 10;
const REORG = 'pow: reorganized to a chain with more work ';
const wallStart = performance.now();
const progress = (s: string) => process.stderr.write(`${s}\n`);
const out = (s = '') => {
  if (!JSON_OUT) console.log(s);
};

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The depth of a `pow: reorganized…` log line, or undefined for any other line. */
function reorgDepth(line: string): number | undefined {
  const i = line.indexOf(REORG);
  if (i < 0) return undefined;
  try {
    return (JSON.parse(line.slice(i + REORG.length)) as { depth: number }).depth;
  } catch {
    return undefined;
  }
}

// -- 2 first (it can fail fast): Nakamoto 2008 §11 -------------------------------------------------

/** Nakamoto 2008 §11, his C function transcribed: the attacker ever catching up from z behind. */
function nakamoto(q: number, z: number): number {
  const p = 1 - q;
  const lambda = z * (q / p);
  let sum = 1;
  for (let k = 0; k <= z; k++) {
    let poisson = Math.exp(-lambda);
    for (let i = 1; i <= k; i++) poisson *= lambda / i;
    sum -= poisson * (1 - (q / p) ** (z - k));
  }
  return sum;
}

/**
 * The race in the simulator's mining model, exactly: the attacker's blocks while the honest chain
 * mines z are negative-binomial (each next block is the attacker's with probability q), and from d
 * behind it gets strictly ahead with probability (q/p)^(d+1) (gambler's ruin; the 300-behind give-up
 * changes this by less than (q/p)^300).
 */
function raceExact(q: number, z: number): number {
  const p = 1 - q;
  let nb = p ** z; // k = 0
  let below = 0;
  let win = 0;
  for (let k = 0; k <= z; k++) {
    if (k > 0) nb *= ((k + z - 1) / k) * q;
    below += nb;
    win += nb * (q / p) ** (z - k + 1);
  }
  return win + Math.max(0, 1 - below);
}

const leastZ = (f: (z: number) => number, limit = 2000): number => {
  for (let z = 0; z <= limit; z++) if (f(z) < 0.001) return z;
  return Number.NaN;
};

/**
 * Monte Carlo of the race: honest and attacker mine as two Poisson processes (exponential block
 * times with rate = hash share, as SimMiner draws them). The honest chain gets z blocks past the
 * attacked block while the attacker mines in private from the same start; then the attacker mines
 * on until it is strictly ahead (success) or 300 blocks behind (failure).
 */
function raceMonteCarlo(q: number, z: number, trials: number): number {
  const p = 1 - q;
  const rng = new SeededRng(`pow-bench-race/${q}/${z}`);
  const exp = (rate: number) => -Math.log(1 - rng.next()) / rate;
  let wins = 0;
  for (let t = 0; t < trials; t++) {
    let honestAt = 0;
    for (let i = 0; i < z; i++) honestAt += exp(p);
    let k = 0;
    let attackerNext = exp(q);
    while (attackerNext < honestAt) {
      k++;
      attackerNext += exp(q);
    }
    let lead = k - z;
    let honestNext = honestAt + exp(p);
    while (lead <= 0 && lead > -300) {
      if (attackerNext < honestNext) {
        lead++;
        attackerNext += exp(q);
      } else {
        lead--;
        honestNext += exp(p);
      }
    }
    if (lead > 0) wins++;
  }
  return wins;
}

const NAKAMOTO_TABLE: ReadonlyArray<readonly [number, number]> = [
  [0.1, 5],
  [0.15, 8],
  [0.2, 11],
  [0.25, 15],
  [0.3, 24],
  [0.35, 41],
  [0.4, 89],
  [0.45, 340],
];
const mismatches = NAKAMOTO_TABLE.filter(([q, z]) => leastZ((zz) => nakamoto(q, zz)) !== z);
if (mismatches.length > 0) {
  console.error(
    `Nakamoto's formula does not reproduce his table: ${mismatches
      .map(([q, z]) => `q=${q}: expected z=${z}, got ${leastZ((zz) => nakamoto(q, zz))}`)
      .join('; ')}`,
  );
  process.exit(1);
}

// -- 1. orphan rate vs block interval and network delay ---------------------------------------------

/**
 * Mean one-way latency of a message. The network draws latency = round(minLatencyMs + U·jitterMs),
 * U uniform in [0, 1) (src/sim/network.ts:186); the default is CALM, min 5 + jitter 20 ms, mean
 * 15 ms (network.ts:22). The `reorder` fault replaces the jitter with 50 + U'·250 ms, drawn once
 * per run from the fault stream (src/sim/fault-plan.ts:95; merged over CALM in simulation.ts,
 * `net.faults = { ...net.faults, ...plan.network }`), so mean 5 + jitter/2: 30–155 ms, 92.5 ms on
 * average over seeds. The run's own draw is reproduced here by planning its faults again.
 */
function meanDelayMs(seed: string, faults: ReadonlySet<FaultKind>, durationMs: number): number {
  const plan = planFaults(new SeededRng(seed).derive('faults'), {
    faults,
    durationMs,
    nodes: Array.from({ length: 4 }, (_, id) => ({ id, validator: id, byzantine: false })),
    walVictims: [],
    twins: false,
  });
  return CALM.minLatencyMs + (plan.network.jitterMs ?? CALM.jitterMs) / 2;
}

interface OrphanRun {
  readonly mined: number;
  readonly bestChain: number;
  readonly orphanRate: number;
  readonly reorgs: number;
  readonly maxReorgDepth: number;
  readonly delayMs: number;
  readonly safe: boolean;
}

async function orphanRun(intervalMs: number, reorder: boolean, seed: string): Promise<OrphanRun> {
  const durationMs = Math.max(60 * intervalMs, 30_000);
  const faults = new Set<FaultKind>(reorder ? ['reorder'] : []);
  let measuring = true;
  let reorgs = 0;
  let maxReorgDepth = 0;
  let mined = 0;
  let bestChain = 0;
  const r = await runSimulation({
    engine,
    engineParams: { blockIntervalMs: intervalMs, confirmations: CONFIRMATIONS },
    nodes: 4,
    byzantine: 0,
    byzantineMode: 'selfish',
    faults,
    seed,
    durationMs,
    txs: 0,
    livenessMs: 1_000,
    log: (line) => {
      const depth = measuring ? reorgDepth(line) : undefined;
      if (depth === undefined) return;
      reorgs++;
      maxReorgDepth = Math.max(maxReorgDepth, depth);
    },
    // Measured at the end of the fault phase: the liveness phase that follows runs on CALM links.
    // No node crashes, so each miner's counter covers the whole run, and every block on the best
    // chain (from genesis) was mined during it.
    scenario: (ctl) =>
      ctl.at(durationMs, () => {
        measuring = false;
        for (let i = 0; i < 4; i++) {
          const rt = ctl.runtime(i);
          if (rt === undefined) continue;
          mined += rt.counters.blocksMined;
          bestChain = Math.max(bestChain, rt.status().height);
        }
      }),
  });
  return {
    mined,
    bestChain,
    orphanRate: mined > 0 ? 1 - bestChain / mined : 0,
    reorgs,
    maxReorgDepth,
    delayMs: meanDelayMs(seed, faults, durationMs),
    safe: r.safe && r.violations.length === 0,
  };
}

const INTERVALS = [250, 500, 1000, 2000, 5000];
const orphanRows: Array<Record<string, string | number | boolean>> = [];
const t1 = performance.now();
for (const reorder of [false, true])
  for (const intervalMs of INTERVALS) {
    const runs: OrphanRun[] = [];
    for (let s = 1; s <= SEEDS; s++) {
      progress(`orphans: ${reorder ? 'reorder' : 'default'} ${intervalMs} ms, seed ${s}/${SEEDS}`);
      runs.push(await orphanRun(intervalMs, reorder, `pow-bench-orphans-${s}`));
    }
    const delayMs = mean(runs.map((r) => r.delayMs));
    orphanRows.push({
      network: reorder ? 'reorder' : 'default',
      intervalMs,
      meanDelayMs: Number(delayMs.toFixed(1)),
      delayOverInterval: Number((delayMs / intervalMs).toFixed(4)),
      // Per block: the other miners (3/4 of the hash power) find a rival within the delay.
      model: Number((1 - Math.exp(-(3 / 4) * (delayMs / intervalMs))).toFixed(4)),
      minedMedian: median(runs.map((r) => r.mined)),
      bestChainMedian: median(runs.map((r) => r.bestChain)),
      orphanRateMedian: Number(median(runs.map((r) => r.orphanRate)).toFixed(4)),
      orphanRates: runs.map((r) => Number(r.orphanRate.toFixed(3))).join(' '),
      reorgsMedian: median(runs.map((r) => r.reorgs)),
      maxReorgDepth: Math.max(...runs.map((r) => r.maxReorgDepth)),
      safe: runs.every((r) => r.safe),
    });
  }
const t1Wall = (performance.now() - t1) / 1000;

// -- 2. confirmations vs attacker share (the race) ---------------------------------------------------

const t2 = performance.now();
const raceRows: Array<Record<string, string | number>> = [];
for (const [q, z] of NAKAMOTO_TABLE) {
  progress(`race: q=${q}, z=${z}, ${TRIALS} trials`);
  const wins = raceMonteCarlo(q, z, TRIALS);
  raceRows.push({
    q,
    nakamotoZ: z,
    nakamotoP: Number(nakamoto(q, z).toPrecision(3)),
    mcWins: wins,
    mcTrials: TRIALS,
    mcP: Number((wins / TRIALS).toPrecision(3)),
    exactP: Number(raceExact(q, z).toPrecision(3)),
    target: 0.001,
    leastZExact: leastZ((zz) => raceExact(q, zz)),
  });
}
const t2Wall = (performance.now() - t2) / 1000;

// -- 3. selfish mining revenue vs α ---------------------------------------------------------------

/** Eyal & Sirer 2014, eq. (8): the pool's revenue share. */
const eyalSirer = (a: number, g: number) =>
  (a * (1 - a) ** 2 * (4 * a + g * (1 - 2 * a)) - a ** 3) / (1 - a * (1 + (2 - a) * a));
const threshold = (g: number) => (1 - g) / (3 - 2 * g);

interface SelfishRun {
  readonly committed: number;
  readonly poolCommitted: number;
  readonly poolMined: number;
  readonly mined: number;
  readonly honestMaxReorg: number;
  readonly safe: boolean;
}

const SELFISH_MS = 150_000;
async function selfishRun(b: number, seed: string): Promise<SelfishRun> {
  const pool = Array.from({ length: b }, (_, i) => i);
  let measuring = true;
  let honestMaxReorg = 0;
  let m = { committed: 0, poolCommitted: 0, poolMined: 0, mined: 0 };
  const r = await runSimulation({
    engine,
    engineParams: { blockIntervalMs: 1000, confirmations: CONFIRMATIONS },
    nodes: 10,
    byzantine: b,
    byzantineMode: 'selfish',
    byzantineValidators: pool,
    faults: new Set(),
    seed,
    durationMs: SELFISH_MS,
    txs: 0,
    livenessMs: 1_000,
    log: (line) => {
      const depth = measuring ? reorgDepth(line) : undefined;
      const node = /^\S+ n(\d+) /.exec(line)?.[1];
      if (depth !== undefined && node !== undefined && Number(node) >= b)
        honestMaxReorg = Math.max(honestMaxReorg, depth);
    },
    scenario: (ctl) =>
      ctl.at(SELFISH_MS, async () => {
        measuring = false;
        const honest = ctl.runtime(ctl.instancesOf(9)[0] ?? 9);
        if (honest === undefined) return;
        const validators = honest.chain.genesis.validators;
        let poolCommitted = 0;
        for (let h = 1; h <= honest.chain.height; h++) {
          const block = await honest.chain.getBlock(h);
          const v = block === undefined ? undefined : validators.byAddress(block.header.proposer)?.index;
          if (v !== undefined && v < b) poolCommitted++;
        }
        let mined = 0;
        let poolMined = 0;
        for (let v = 0; v < 10; v++)
          for (const i of ctl.instancesOf(v)) {
            const n = ctl.runtime(i)?.counters.blocksMined ?? 0;
            mined += n;
            if (v < b) poolMined += n;
          }
        m = { committed: honest.chain.height, poolCommitted, poolMined, mined };
      }),
  });
  const byz = r.nodeStates.filter((s) => s.byzantine).map((s) => s.validator);
  if (byz.length !== b || byz.some((v) => v >= b)) throw new Error('the pool is not validators 0..b−1');
  return { ...m, honestMaxReorg, safe: r.safe && r.violations.length === 0 };
}

const t3 = performance.now();
const selfishRows: Array<Record<string, string | number | boolean>> = [];
for (const b of [1, 2, 3, 4]) {
  const runs: SelfishRun[] = [];
  for (let s = 1; s <= SELFISH_SEEDS; s++) {
    progress(`selfish: b=${b}, seed ${s}/${SELFISH_SEEDS}`);
    runs.push(await selfishRun(b, `pow-bench-selfish-${s}`));
  }
  const a = b / 10;
  const committed = runs.reduce((x, r) => x + r.committed, 0);
  const poolCommitted = runs.reduce((x, r) => x + r.poolCommitted, 0);
  const minedShare = runs.reduce((x, r) => x + r.poolMined, 0) / runs.reduce((x, r) => x + r.mined, 0);
  const revenue = poolCommitted / Math.max(1, committed);
  const perSeed = runs.map((r) => r.poolCommitted / Math.max(1, r.committed));
  selfishRows.push({
    alpha: a,
    poolMinedShare: Number(minedShare.toFixed(3)),
    committed,
    revenue: Number(revenue.toFixed(3)),
    // The pool's luck (its mined share over ~150 blocks) moves the revenue by ±0.03–0.05; honest
    // mining would earn about its mined share, so this ratio (1 = honest) takes most of it out.
    revenueOverMined: Number((revenue / minedShare).toFixed(2)),
    revenuePerSeed: perSeed.map((x) => x.toFixed(3)).join(' '),
    // Standard error over seeds (undefined with one): the seed-to-seed spread is the noise to read.
    revenueSe:
      perSeed.length > 1
        ? Number(
            Math.sqrt(
              perSeed.reduce((x, v) => x + (v - mean(perSeed)) ** 2, 0) /
                (perSeed.length - 1) /
                perSeed.length,
            ).toFixed(3),
          )
        : '',
    esGamma0: Number(eyalSirer(a, 0).toFixed(3)),
    esGamma05: Number(eyalSirer(a, 0.5).toFixed(3)),
    aboveThreshold0: a > threshold(0),
    aboveThreshold05: a > threshold(0.5),
    honestMaxReorg: Math.max(...runs.map((r) => r.honestMaxReorg)),
    safe: runs.every((r) => r.safe),
  });
}
const t3Wall = (performance.now() - t3) / 1000;
const wallS = (performance.now() - wallStart) / 1000;

// -- output --------------------------------------------------------------------------------------

if (JSON_OUT) {
  console.log(
    JSON.stringify({
      machine: machine(),
      command: COMMAND,
      wallS: Number(wallS.toFixed(1)),
      seeds: SEEDS,
      selfishSeeds: SELFISH_SEEDS,
      trials: TRIALS,
      orphans: orphanRows,
      race: raceRows,
      selfish: selfishRows,
      thresholds: { gamma0: threshold(0), gamma05: threshold(0.5) },
    }),
  );
  process.exit(0);
}

out(`# pow: orphans, confirmations, selfish mining — ${machine()}`);
out(`command: ${COMMAND}`);
out('');
out(
  `1. Orphan rate vs block interval and one-way delay — 4 honest miners, confirmations ${CONFIRMATIONS}, ` +
    `~60 blocks a run (duration 60 × interval, ≥ 30 s), medians of ${SEEDS} seeds`,
);
table(
  orphanRows.map((r) => ({
    network: String(r.network),
    'interval ms': fmt(r.intervalMs as number),
    'delay ms': fmt(r.meanDelayMs as number, 1),
    'delay/interval': fmt(r.delayOverInterval as number, 3),
    'model 1−e^(−¾d/T)': fmt(r.model as number, 3),
    mined: fmt(r.minedMedian as number),
    'best chain': fmt(r.bestChainMedian as number),
    'orphan rate': fmt(r.orphanRateMedian as number, 3),
    'per seed': String(r.orphanRates),
    reorgs: fmt(r.reorgsMedian as number),
    'max reorg depth': fmt(r.maxReorgDepth as number),
    safe: r.safe ? 'yes' : 'NO',
  })),
);
out(
  'delay: mean one-way latency. default: 5 + U[0,20) ms = 15 ms (src/sim/network.ts:22,186); reorder: 5 + U[0,J) ms,',
);
out(
  '  J = 50 + U·250 ms drawn once per run (src/sim/fault-plan.ts:95) — the column is the mean over these seeds.',
);
out(
  'orphan rate = 1 − best chain / blocks mined by all miners, at the end of the fault phase; reorgs summed over',
);
out('  the 4 nodes (median of runs); max reorg depth over all runs (from the engine log).');
out('model: the other 3/4 of the hash power finds a rival block within the delay d of block interval T.');
out('resolution: one orphan in a ~60-block run is 0.017, so rates below ~0.02 are one orphan or none.');
out(`(${fmt(t1Wall, 1)} s wall)`);
out('');

out(
  `2. Confirmations vs attacker share q for a 0.1% reversal — Nakamoto 2008 §11 (his table reproduced exactly, checked)`,
);
table(
  raceRows.map((r) => ({
    q: fmt(r.q as number, 2),
    'Nakamoto z': String(r.nakamotoZ),
    'Nakamoto P(z)': (r.nakamotoP as number).toExponential(2),
    'race MC P(z)': (r.mcP as number).toExponential(2),
    'MC wins/trials': `${r.mcWins}/${r.mcTrials}`,
    'race exact P(z)': (r.exactP as number).toExponential(2),
    target: '1.00e-3',
    'race: least z for <0.1%': String(r.leastZExact),
  })),
);
out(
  "The race rows are the double-spend race in the simulator's exponential-time mining model (each block an",
);
out(
  'exponential draw with rate = hash share, SeededRng), NOT full simulator runs: the honest chain mines z blocks',
);
out(
  'past the attacked block while the attacker mines in private from the same start, then the attacker mines on',
);
out(
  'until strictly ahead (success) or 300 behind (failure). "exact" is that model in closed form (negative-binomial',
);
out(
  "start, gambler's ruin to +1). Nakamoto counts a tie as caught up and takes the attacker's progress as Poisson",
);
out('with mean zq/p: the first makes his P larger, the second smaller, than the race here.');
out(`(${fmt(t2Wall, 1)} s wall)`);
out('');

out(
  `3. Selfish mining (Eyal & Sirer 2014) — n = 10, b selfish miners in one pool (α = b/10), no faults, ` +
    `${SELFISH_MS / 1000} s at 1 block/s, confirmations ${CONFIRMATIONS}, ${SELFISH_SEEDS} seed(s)`,
);
table(
  selfishRows.map((r) => ({
    α: fmt(r.alpha as number, 1),
    'pool share of mined': fmt(r.poolMinedShare as number, 3),
    committed: fmt(r.committed as number),
    'revenue share': fmt(r.revenue as number, 3),
    'per seed': String(r.revenuePerSeed),
    's.e.': r.revenueSe === '' ? '–' : fmt(r.revenueSe as number, 3),
    'revenue ÷ mined': fmt(r.revenueOverMined as number, 2),
    'honest (=α)': fmt(r.alpha as number, 3),
    'R(α,γ=0)': fmt(r.esGamma0 as number, 3),
    'R(α,γ=0.5)': fmt(r.esGamma05 as number, 3),
    'α > 1/3 (γ=0)': r.aboveThreshold0 ? 'yes' : 'no',
    'α > 1/4 (γ=0.5)': r.aboveThreshold05 ? 'yes' : 'no',
    'honest max reorg': fmt(r.honestMaxReorg as number),
    safe: r.safe ? 'yes' : 'NO',
  })),
);
out(
  "revenue share = the pool's blocks among the committed heights 1..H of an honest node (validator 9), over all",
);
out(
  '  seeds; R(α,γ) = [α(1−α)²(4α+γ(1−2α)) − α³] / [1 − α(1+(2−α)α)]; threshold (1−γ)/(3−2γ). γ is whatever',
);
out(
  '  the network gives: honest nodes keep the first block they saw at a height (block-tree best(): strictly more',
);
out('  work wins), and the pool publishes on a race only after the honest block reached it.');
out(
  "  revenue ÷ mined: the revenue over the pool's own share of all blocks mined (its luck, which over ~150",
);
out('  blocks moves the revenue by several points); honest mining ≈ 1, a profitable attack > 1.');
out(
  '  s.e.: standard error of the revenue over seeds; more seeds: --selfish-seeds N (~17 s of wall a seed).',
);
out(`(${fmt(t3Wall, 1)} s wall)`);
out('');
out(`wall time: ${fmt(wallS, 1)} s`);
