/**
 * npm run bench:algorand — the Algorand BA* engine (consensus/algorand) in the deterministic
 * simulator (src/sim/simulation.ts), in four sections:
 *
 *  1. Steps to finality in the common case: no faults, n = 4 and 7, the default parameters (τ far
 *     above the total stake: every validator sits on every committee). From the engines' own log
 *     lines: at which BinaryBA* step b each node returned, in which period each height was decided,
 *     how many blocks were final at once (a certificate of their own FINAL votes) and how many only
 *     through a final descendant (a certificate with `ancestry`); steps to finality = proposal +
 *     two Reduction steps + b + FINAL = b + 4; simulated time per block.
 *  2. Messages per decided block as n grows with the committee size fixed: Algorand with sampled
 *     committees (τ_step = τ_final = 12, τ_proposer = 4; every validator has power 1, so τ < n makes
 *     the committees samples) beside PBFT at the same n, no faults, the same simulated time.
 *  3. Tentative blocks under network faults: n = 4, faults loss, dup, reorder and partition,
 *     several seeds: blocks final at once vs through a final descendant, periods abandoned.
 *  4. VRF cost: µs per call of vrf.prove / vrf.verify (crypto/vrf.ts) and sortition /
 *     verifySortition (consensus/algorand/sortition.ts), medians of several batches; then per
 *     decided block and per node, the proofs the runs of sections 1 and 2 made and checked, and
 *     what they cost at those rates.
 *
 *   node test/bench/algorand.bench.ts [--quick] [--json] [--sections 1,2,3,4] [--seeds N] [--help]
 *
 * Every figure of a simulator section comes from a window: the fault phase of the run (its first
 * `durationMs` simulated ms; the simulator then heals the network and checks liveness, which is
 * not counted). The VRF memo of the engine (vrf-memo.ts) is shared by every simulated node in the
 * process, so the simulator's wall time does not show what one node pays for VRFs: section 4
 * counts the proofs instead, and prices them with the micro-benchmark.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { algorand } from '../../consensus/algorand/index.ts';
import { algorandParams, committees } from '../../consensus/algorand/params.ts';
import {
  SORTITION_TAG,
  type SortitionContext,
  sortition,
  verifySortition,
} from '../../consensus/algorand/sortition.ts';
import { getEngine } from '../../consensus/registry.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { vrf } from '../../crypto/vrf.ts';
import type { CommitCertificate } from '../../ledger/certificate.ts';
import { asBytes, asList, asSafeUint, rlpDecodeStrict } from '../../ledger/codec.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import type { Channel } from '../../src/runtime/ports.ts';
import { CALM } from '../../src/sim/network.ts';
import { simGenesis, validatorKeys } from '../../src/sim/sim-world.ts';
import {
  type FaultKind,
  replayCommand,
  runSimulation,
  type SimControl,
  type SimOptions,
} from '../../src/sim/simulation.ts';
import { fmt, header, machine, table } from './harness.ts';

const USAGE = `usage: node test/bench/algorand.bench.ts [options]   (npm run bench:algorand -- [options])
  --quick          a short run (about a minute): shorter simulations, n = 8 and 16 in section 2,
                   3 seeds in section 3, smaller VRF batches
  --sections LIST  sections to run (default 1,2,3,4); section 4's per-block table uses the runs
                   of sections 1 and 2 that ran
  --seeds N        seeds of section 3 (default 6, --quick 3)
  --json           print one JSON document on stdout (tables and notes go to stderr)
  --help           this text`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? (argv[i + 1] ?? dflt) : dflt;
};
const quick = argv.includes('--quick');
const json = argv.includes('--json');
const sections = new Set(arg('sections', '1,2,3,4').split(',').filter(Boolean).map(Number));
const seedCount = Number(arg('seeds', quick ? '3' : '6'));
if ([...sections].some((s) => ![1, 2, 3, 4].includes(s)) || !Number.isInteger(seedCount) || seedCount < 1) {
  console.error(USAGE);
  process.exit(2);
}
const commandLine = `node test/bench/algorand.bench.ts${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`;

const COMMON_SIZES = [4, 7];
const COMMON_MS = quick ? 8_000 : 20_000;
const SCALE_SIZES = quick ? [8, 16] : [8, 16, 32];
const SCALE_MS = quick ? 5_000 : 10_000;
const SAMPLED: EngineParams = { tauStep: 12, tauFinal: 12, tauProposer: 4 };
const FAULTS: readonly FaultKind[] = ['loss', 'dup', 'reorder', 'partition'];
const FAULT_MS = quick ? 10_000 : 30_000;
const VRF_BATCHES = quick ? 5 : 9;
const VRF_CALLS = quick ? 8 : 20;
/** The simulator's workload budget: far more than a run commits, so blocks carry transactions throughout. */
const TXS = 2000;
const MEAN_DELAY_MS = CALM.minLatencyMs + CALM.jitterMs / 2;
const PROPOSAL_WAIT_MS = algorandParams({}).proposalWaitMs;

/** Human output: stdout normally, stderr under --json (stdout then holds the JSON alone). */
const say = (line = '') => (json ? process.stderr.write(`${line}\n`) : console.log(line));
const progress = (line: string) => process.stderr.write(`${line}\n`);
/** Notes under a table: each paragraph word-wrapped to 100 columns, then a blank line. */
const notes = (...paragraphs: string[]) => {
  if (json) return;
  for (const p of paragraphs) {
    let line = '';
    for (const word of p.split(' ')) {
      if (line.length > 0 && line.length + 1 + word.length > 100) {
        say(line);
        line = `  ${word}`;
      } else line = line.length > 0 ? `${line} ${word}` : word;
    }
    say(line);
  }
  say();
};
const show = (rows: ReadonlyArray<Record<string, string | number>>) => {
  if (rows.length === 0) return;
  if (!json) {
    table(rows);
    return;
  }
  // harness.table prints to stdout; under --json the same table goes to stderr.
  const log = console.log;
  console.log = (...a: unknown[]) => process.stderr.write(`${a.join(' ')}\n`);
  try {
    table(rows);
  } finally {
    console.log = log;
  }
};

const median = (xs: readonly number[]): number => {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const num = (x: number, digits = 0) => (Number.isFinite(x) ? fmt(x, digits) : '-');
const pct = (part: number, whole: number) => (whole > 0 ? `${fmt((100 * part) / whole, 0)}%` : '-');

// -- counting the proofs made: every VRF evaluation goes through vrf.prove ----------------------

const realProve = vrf.prove;
const SEED_TAG_LENGTH = utf8('verity/algorand/seed/v1').length;
/** VRF proofs made in this process, by what they draw (classified by their alpha's tag). */
const made = { proposer: 0, committee: 0, seed: 0, other: 0 };
vrf.prove = (secretKey: Uint8Array, alpha: Uint8Array): Uint8Array => {
  // sortitionAlpha: tag || seed || round || step || role byte; seedAlpha: its own tag.
  if (alpha[0] === SORTITION_TAG.length) alpha[alpha.length - 1] === 1 ? made.proposer++ : made.committee++;
  else if (alpha[0] === SEED_TAG_LENGTH) made.seed++;
  else made.other++;
  return realProve(secretKey, alpha);
};

// -- one observed simulation ----------------------------------------------------------------------

interface Sent {
  /** Consensus messages whose bytes reach the receiver for the first time. */
  consensusFirst: number;
  /** Consensus messages a receiver was sent before (re-broadcasts, relays of the same envelope). */
  consensusRepeat: number;
  /** Consensus messages sent by another node than their signer (relays; first-time or repeats). */
  consensusRelayed: number;
  consensusBytes: number;
  tx: number;
  sync: number;
  bytes: number;
}

interface AlgorandStats {
  /** Own BinaryBA* returns (node, height ≤ blocks): step b, period, whether the empty outcome. */
  readonly returns: ReadonlyArray<{ readonly b: number; readonly period: number; readonly empty: boolean }>;
  /** Node-heights decided (tentative) at the node's own return with a block, by that step b. */
  readonly ownDecisions: readonly number[];
  /** Node-heights decided from others' votes (a justification) without an own return there. */
  readonly adopted: number;
  /** The period of each node-height's (last) decision. */
  readonly decidedPeriods: readonly number[];
  /** Distinct (height, period) pairs any node started, for heights ≤ blocks. */
  readonly periodsRun: number;
  /** Sum over nodes of status().viewChanges (periods abandoned) at the end of the window. */
  readonly periodsAbandoned: number;
  readonly catchUps: number;
  readonly maxSteps: number;
  /** Heights ≤ blocks in node 0's store: certified by their own FINAL votes, or through a descendant. */
  readonly finalAtOnce: number;
  readonly viaDescendant: number;
  /** Simulated ms between a node's commits of successive heights (its 'final' log lines). */
  readonly blockMs: readonly number[];
  /** Simulated ms from a node's first 'start period' of a height to its commit of it. */
  readonly startToFinalMs: readonly number[];
  /** Proofs made in the window, by kind (every node). */
  readonly made: { proposer: number; committee: number; seed: number };
  /** Distinct proposals / votes of another validator sent to a node that had not committed their height. */
  readonly checked: { proposals: number; votes: number };
}

interface Observed {
  readonly label: string;
  readonly engine: string;
  readonly n: number;
  readonly params: EngineParams;
  readonly committee: string;
  readonly bound?: string;
  readonly faults: readonly FaultKind[];
  readonly seed: string;
  readonly windowMs: number;
  readonly command: string;
  /** Highest height any node had committed at the end of the window. */
  readonly blocks: number;
  readonly sent: Sent;
  readonly viewChanges: number;
  readonly safe: boolean;
  readonly live: boolean;
  readonly livenessFailure?: string;
  readonly wallMs: number;
  readonly algorand?: AlgorandStats;
}

/**
 * The consensus envelope RLP([message, signer, signature]) (consensus/envelope.ts): its signer;
 * for Algorand also the message's kind and height (message RLP([type, height, period, …])).
 */
function envelopeHeader(
  bytes: Uint8Array,
  algorandMessage: boolean,
): { signer: number; proposal: boolean; height: number } | undefined {
  try {
    const max = 1 << 26;
    const env = asList(rlpDecodeStrict(bytes, max, 'envelope'), 'envelope', 3);
    const signer = asSafeUint(env[1], 'signer');
    if (!algorandMessage) return { signer, proposal: false, height: 0 };
    const msg = asList(rlpDecodeStrict(asBytes(env[0], 'message'), max, 'message'), 'message');
    return { signer, proposal: asSafeUint(msg[0], 'type') === 1, height: asSafeUint(msg[1], 'height') };
  } catch {
    return undefined;
  }
}

function committeeOf(engine: EngineModule<unknown>, params: EngineParams, n: number): string {
  if (engine.name !== 'algorand') return `all ${n}`;
  const c = committees(algorandParams(params), simGenesis('algorand', params, n).genesis.validators);
  return c.everyone
    ? `full (${n})`
    : `sampled: τ ${c.step.expectedSize}/${c.final.expectedSize}/${c.proposer} of ${n}`;
}

async function observe(
  label: string,
  engine: EngineModule<unknown>,
  n: number,
  params: EngineParams,
  faults: readonly FaultKind[],
  seed: string,
  windowMs: number,
): Promise<Observed> {
  const isAlgorand = engine.name === 'algorand';
  const { genesis } = simGenesis(engine.name, params, n);
  const parsed = engine.parseParams(params, genesis.validators);
  const bound = typeof parsed.bound === 'string' ? parsed.bound : undefined;
  const windowS = windowMs / 1000;

  // Engine log lines (algorand only): `12.345 n0 D BinaryBA* returned {"height":3,…}`.
  const returns: Array<{ b: number; period: number; empty: boolean; height: number }> = [];
  /** `${node}/${height}` → own returns with a block there, by period → step b. */
  const ownReturn = new Map<string, Map<number, number>>();
  const decided = new Map<string, { period: number; own: number | undefined }>();
  const firstStart = new Map<string, number>();
  const periodsStarted = new Set<string>();
  const committedAt = new Map<string, number>();
  const lastFinal = new Map<number, number>();
  let catchUps = 0;
  let maxSteps = 0;
  const onLog = (line: string) => {
    if (line.startsWith('BUSY')) return;
    const brace = line.indexOf(' {');
    const head = (brace < 0 ? line : line.slice(0, brace)).trim().split(' ');
    const t = Number(head[0]);
    if (!(t <= windowS)) return;
    const node = Number((head[1] ?? 'n-1').slice(1));
    const msg = head.slice(3).join(' ');
    const f = (brace < 0 ? {} : JSON.parse(line.slice(brace + 1))) as {
      height?: number;
      period?: number;
      step?: number;
      value?: string;
    };
    const h = f.height ?? 0;
    const key = `${node}/${h}`;
    switch (msg) {
      case 'BinaryBA* returned': {
        const empty = f.value === 'empty';
        returns.push({ b: f.step ?? 0, period: f.period ?? 0, empty, height: h });
        if (!empty) {
          let byPeriod = ownReturn.get(key);
          if (byPeriod === undefined) ownReturn.set(key, (byPeriod = new Map()));
          byPeriod.set(f.period ?? 0, f.step ?? 0);
        }
        break;
      }
      case 'tentative': {
        const period = f.period ?? 0;
        decided.set(key, { period, own: ownReturn.get(key)?.get(period) });
        break;
      }
      case 'start period':
        if (!firstStart.has(key)) firstStart.set(key, t);
        periodsStarted.add(`${h}/${f.period ?? 0}`);
        break;
      case 'final': {
        for (let x = (lastFinal.get(node) ?? 0) + 1; x <= h; x++) committedAt.set(`${node}/${x}`, t);
        lastFinal.set(node, Math.max(h, lastFinal.get(node) ?? 0));
        break;
      }
      case 'period catch-up':
        catchUps++;
        break;
      default:
        if (msg.startsWith('BinaryBA* reached MAXSTEPS')) maxSteps++;
    }
  };

  // Every transmission passes the drop hook (it drops none): counted by channel, consensus split
  // into first deliveries of their bytes and repeats.
  const sent: Sent = {
    consensusFirst: 0,
    consensusRepeat: 0,
    consensusRelayed: 0,
    consensusBytes: 0,
    tx: 0,
    sync: 0,
    bytes: 0,
  };
  const checked = { proposals: 0, votes: 0 };
  const madeAtStart = { ...made };
  let madeInWindow = { proposer: 0, committee: 0, seed: 0 };
  let blocks = 0;
  let viewChanges = 0;
  const hashes = new WeakMap<Uint8Array, string>();
  const headers = new WeakMap<Uint8Array, ReturnType<typeof envelopeHeader> | null>();
  const delivered = new Set<string>();
  let finalAtOnce = 0;
  let viaDescendant = 0;

  const options: SimOptions = {
    engine,
    engineParams: params,
    nodes: n,
    byzantine: 0,
    byzantineMode: 'twins',
    faults: new Set(faults),
    seed,
    durationMs: windowMs,
    txs: TXS,
    livenessMs: 15_000,
    livenessBlocks: 1,
    ...(isAlgorand ? { log: onLog } : {}),
    scenario: (ctl: SimControl) => {
      ctl.dropMessages((from, to, channel: Channel, bytes) => {
        if (ctl.now() > windowMs) return false;
        sent.bytes += bytes.length;
        if (channel !== 'consensus') {
          sent[channel]++;
          return false;
        }
        sent.consensusBytes += bytes.length;
        let m = headers.get(bytes);
        if (m === undefined) headers.set(bytes, (m = envelopeHeader(bytes, isAlgorand) ?? null));
        if (m !== null && m.signer !== from) sent.consensusRelayed++;
        let hash = hashes.get(bytes);
        if (hash === undefined) hashes.set(bytes, (hash = createHash('sha1').update(bytes).digest('base64')));
        const key = `${to}|${hash}`;
        if (delivered.has(key)) {
          sent.consensusRepeat++;
          return false;
        }
        delivered.add(key);
        sent.consensusFirst++;
        if (!isAlgorand) return false;
        // A receiver drops messages of heights it has committed before verifying anything.
        if (m !== null && m.signer !== to && (ctl.runtime(to)?.chain.height ?? 0) < m.height)
          m.proposal ? checked.proposals++ : checked.votes++;
        return false;
      });
      ctl.at(windowMs, () => {
        for (let i = 0; i < n; i++) {
          const rt = ctl.runtime(i);
          blocks = Math.max(blocks, rt?.chain.height ?? 0);
          viewChanges += rt?.status().viewChanges ?? 0;
        }
        madeInWindow = {
          proposer: made.proposer - madeAtStart.proposer,
          committee: made.committee - madeAtStart.committee,
          seed: made.seed - madeAtStart.seed,
        };
      });
    },
    inspect: async (ctl: SimControl) => {
      if (!isAlgorand) return;
      const chain = ctl.runtime(0)?.chain;
      if (chain === undefined) return;
      for (let h = 1; h <= Math.min(blocks, chain.height); h++) {
        const cert = (await chain.getCertificate(h)) as
          | (CommitCertificate & { ancestry?: unknown })
          | undefined;
        if (cert === undefined) continue;
        if (cert.ancestry === undefined) finalAtOnce++;
        else viaDescendant++;
      }
    },
  };
  const r = await runSimulation(options);

  let algorandStats: AlgorandStats | undefined;
  if (isAlgorand) {
    const ownDecisions: number[] = [];
    const decidedPeriods: number[] = [];
    let adopted = 0;
    for (const [key, d] of decided) {
      const h = Number(key.split('/')[1]);
      if (h > blocks) continue;
      decidedPeriods.push(d.period);
      if (d.own === undefined) adopted++;
      else ownDecisions.push(d.own);
    }
    const blockMs: number[] = [];
    const startToFinalMs: number[] = [];
    for (let node = 0; node < n; node++) {
      for (let h = 1; h <= blocks; h++) {
        const at = committedAt.get(`${node}/${h}`);
        if (at === undefined) continue;
        const before = h > 1 ? committedAt.get(`${node}/${h - 1}`) : undefined;
        if (before !== undefined) blockMs.push((at - before) * 1000);
        const start = firstStart.get(`${node}/${h}`);
        if (start !== undefined) startToFinalMs.push((at - start) * 1000);
      }
    }
    algorandStats = {
      returns: returns
        .filter((x) => x.height <= blocks)
        .map(({ b, period, empty }) => ({ b, period, empty })),
      ownDecisions,
      adopted,
      decidedPeriods,
      periodsRun: [...periodsStarted].filter((k) => Number(k.split('/')[0]) <= blocks).length,
      periodsAbandoned: viewChanges,
      catchUps,
      maxSteps,
      finalAtOnce,
      viaDescendant,
      blockMs,
      startToFinalMs,
      made: madeInWindow,
      checked,
    };
  }
  return {
    label,
    engine: engine.name,
    n,
    params,
    committee: committeeOf(engine, params, n),
    ...(bound === undefined ? {} : { bound }),
    faults,
    seed,
    windowMs,
    command: replayCommand(options),
    blocks,
    sent,
    viewChanges,
    safe: r.safe,
    live: r.live,
    ...(r.livenessFailure === undefined ? {} : { livenessFailure: r.livenessFailure }),
    wallMs: r.wallMs,
    ...(algorandStats === undefined ? {} : { algorand: algorandStats }),
  };
}

async function attempt(label: string, run: () => Promise<Observed>): Promise<Observed | undefined> {
  progress(`${label}…`);
  try {
    const o = await run();
    progress(`${label}: ${o.blocks} blocks, ${fmt(o.wallMs / 1000, 1)} s wall`);
    return o;
  } catch (e) {
    say(`${label}: failed: ${(e as Error).stack ?? String(e)}`);
    return undefined;
  }
}

const allSent = (o: Observed) => o.sent.consensusFirst + o.sent.consensusRepeat + o.sent.tx + o.sent.sync;
const okMark = (o: Observed) => (o.safe && o.live ? 'yes' : o.safe ? 'NOT LIVE' : 'UNSAFE');
const commands = (runs: readonly Observed[]) => {
  if (json) return;
  say('runs (the `verity sim` line of each, for its fault phase; the bench adds uncounted liveness');
  say('checks: livenessBlocks 1 within 15 s, and its message-counting hook drops nothing):');
  for (const o of runs) say(`  ${o.label}: ${o.command}`);
  say();
};

// -- the run ------------------------------------------------------------------------------------

const wallStart = performance.now();
const pbft = getEngine('pbft');
const TITLE = 'Algorand BA* benchmark (simulator and VRF)';
if (json) {
  // harness.header prints to stdout, which --json keeps for the JSON document.
  say(`# ${TITLE}`);
  say(`machine: ${machine()}`);
  say(`date: ${new Date().toISOString()}`);
  say();
} else header(TITLE);
say(`command: ${commandLine}`);
say(
  `simulated network: one-way delay ${CALM.minLatencyMs}–${CALM.minLatencyMs + CALM.jitterMs} ms (mean ${MEAN_DELAY_MS} ms) unless faults say otherwise; no Byzantine validators; workload: 16 accounts, one transaction in flight each (${TXS} at most)`,
);
say();

// 1 ---------------------------------------------------------------------------------------------
const common: Observed[] = [];
if (sections.has(1)) {
  for (const n of COMMON_SIZES) {
    const o = await attempt(`section 1: algorand n = ${n}, defaults`, () =>
      observe(`n=${n}`, algorand, n, {}, [], 'bench-algorand', COMMON_MS),
    );
    if (o !== undefined) common.push(o);
  }
  say(
    `## 1. steps to finality, common case (no faults, default parameters: full committee; ${COMMON_MS / 1000} simulated s per run)`,
  );
  say(`command: ${commandLine}`);
  say();
  show(
    common.map((o) => {
      const a = o.algorand as AlgorandStats;
      const byB = (f: (b: number) => boolean) => a.ownDecisions.filter(f).length;
      const own = a.ownDecisions.length;
      const decisions = own + a.adopted;
      return {
        n: String(o.n),
        committee: o.committee,
        blocks: String(o.blocks),
        'final at once': `${a.finalAtOnce} (${pct(a.finalAtOnce, a.finalAtOnce + a.viaDescendant)})`,
        'via descendant': `${a.viaDescendant} (${pct(a.viaDescendant, a.finalAtOnce + a.viaDescendant)})`,
        'decisions (node×height)': String(decisions),
        'b=1': `${byB((b) => b === 1)} (${pct(
          byB((b) => b === 1),
          decisions,
        )})`,
        'b=2': String(byB((b) => b === 2)),
        'b=3': String(byB((b) => b === 3)),
        'b≥4': String(byB((b) => b >= 4)),
        adopted: `${a.adopted} (${pct(a.adopted, decisions)})`,
        'empty returns': String(a.returns.filter((x) => x.empty).length),
        'period 0': `${a.decidedPeriods.filter((p) => p === 0).length} (${pct(a.decidedPeriods.filter((p) => p === 0).length, a.decidedPeriods.length)})`,
        'period ≥1': String(a.decidedPeriods.filter((p) => p > 0).length),
        'steps to finality (median)': num(median(a.ownDecisions.map((b) => b + 4))),
        'ms/block (median)': num(median(a.blockMs)),
        'beyond λ_proposal, delays': num((median(a.blockMs) - PROPOSAL_WAIT_MS) / MEAN_DELAY_MS, 1),
        'ms start→final (median)': num(median(a.startToFinalMs)),
        'msgs/block': num(allSent(o) / Math.max(1, o.blocks)),
        safe: okMark(o),
        'wall s': fmt(o.wallMs / 1000, 1),
      };
    }),
  );
  if (!json && common.length > 0) {
    notes(
      'blocks: heights committed in the window (the highest any node reached). final at once / via descendant: node 0’s certificates for those heights — its own FINAL votes, or `ancestry` under a final block above it (the block was decided tentatively).',
      'decisions: node×height pairs where a node stood on a block (its "tentative" log line); b=k: it got there by its own BinaryBA* returning the block at step k ("BinaryBA* returned"); adopted: by others’ votes that justified the block, without returning there itself. empty returns: BinaryBA* returned the empty outcome (the period ends). period 0 / ≥1: the period of each decision.',
      'steps to finality = proposal + 2 Reduction steps + b + FINAL = b + 4, over the own returns.',
      `ms/block: simulated time between a node’s commits of successive heights (its "final" lines); it includes the proposal wait λ_proposal = ${PROPOSAL_WAIT_MS} ms, and "beyond λ_proposal" is the rest in mean one-way delays (${MEAN_DELAY_MS} ms). ms start→final: from a node’s first "start period" of a height to its commit of it.`,
      'msgs/block: every point-to-point delivery attempt on every channel (consensus with its re-broadcasts and relays, tx gossip, block sync) ÷ blocks; section 2 splits it.',
    );
    commands(common);
  }
}

// 2 ---------------------------------------------------------------------------------------------
const scale: Observed[] = [];
if (sections.has(2)) {
  for (const n of SCALE_SIZES) {
    const a = await attempt(`section 2: algorand n = ${n}, sampled`, () =>
      observe(`algorand n=${n}`, algorand, n, SAMPLED, [], 'bench-algorand', SCALE_MS),
    );
    if (a !== undefined) scale.push(a);
    if (pbft === undefined) continue;
    const p = await attempt(`section 2: pbft n = ${n}`, () =>
      observe(`pbft n=${n}`, pbft, n, {}, [], 'bench-algorand', SCALE_MS),
    );
    if (p !== undefined) scale.push(p);
  }
  if (pbft === undefined) say('(pbft is not registered in this build: section 2 shows algorand alone)');
  say(
    `## 2. messages per decided block vs n, fixed committee size (no faults, ${SCALE_MS / 1000} simulated s per run; algorand ${Object.entries(
      SAMPLED,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; pbft defaults)`,
  );
  say(`command: ${commandLine}`);
  say();
  show(
    scale.map((o) => {
      const blocks = Math.max(1, o.blocks);
      const a = o.algorand;
      const all = allSent(o);
      const consensus = o.sent.consensusFirst + o.sent.consensusRepeat;
      return {
        engine: o.engine,
        n: String(o.n),
        committee: o.committee,
        blocks: String(o.blocks),
        periods: a === undefined ? '-' : String(a.periodsRun),
        'abandoned/node': a === undefined ? '-' : fmt(a.periodsAbandoned / o.n, 1),
        tentative:
          a === undefined
            ? '-'
            : `${a.viaDescendant}/${a.finalAtOnce + a.viaDescendant} (${pct(a.viaDescendant, a.finalAtOnce + a.viaDescendant)})`,
        'sim ms/block': fmt(o.windowMs / blocks, 0),
        'msgs/block': fmt(all / blocks, 0),
        'msgs/block/n': fmt(all / blocks / o.n, 1),
        'msgs/sim-s': fmt(all / (o.windowMs / 1000), 0),
        'first-time consensus/block': fmt(o.sent.consensusFirst / blocks, 0),
        '÷ (n−1)': fmt(o.sent.consensusFirst / blocks / (o.n - 1), 1),
        '÷ n²': fmt(o.sent.consensusFirst / blocks / (o.n * o.n), 2),
        repeats: pct(o.sent.consensusRepeat, consensus),
        relayed: pct(o.sent.consensusRelayed, consensus),
        'tx+sync/block': fmt((o.sent.tx + o.sent.sync) / blocks, 0),
        'KB/block': fmt(o.sent.bytes / blocks / 1024, 1),
        safe: okMark(o),
        'wall s': fmt(o.wallMs / 1000, 1),
      };
    }),
  );
  if (!json && scale.length > 0) {
    notes(
      'What "messages" counts: every point-to-point delivery attempt the simulated network carried in the window — a broadcast to n − 1 peers is n − 1 messages — on every channel: consensus (votes, proposals, their periodic re-broadcasts, relays), tx gossip and block sync. msgs/block: all of them ÷ blocks (msgs/sim-s: ÷ simulated seconds instead).',
      `first-time consensus: consensus messages whose exact bytes the receiver had not been sent before (no re-broadcast, no relay of what it already had). repeats: the consensus messages that were such repeats; relayed: those sent by another node than their signer — both as shares of all consensus messages. Every rebroadcastMs = ${algorandParams({}).rebroadcastMs} ms an Algorand node re-sends its own votes of the height and those it cast leaving the previous one, relays the best proposal of its period, and relays the votes that justify each tentative block it stands on, whether or not the height is stalled.`,
      'blocks: heights committed in the window (sim ms/block: the window ÷ blocks). periods (algorand): distinct (height, period) pairs started for them, = blocks when every height was decided in its first period. abandoned/node: periods each node left without a result (status().viewChanges ÷ n). tentative: heights node 0 committed only through a final descendant. committee: sampled τ_step/τ_final/τ_proposer of n unit stakes; τ ≥ n caps the committee at everyone (n = 8 here).',
      'Expectation: algorand’s first-time consensus/block ≈ (τ_proposer + 7·τ_step)·(n − 1) — the ≈ τ selected members of each of 7 vote steps (2 Reduction, BinaryBA* step 1, its 3 return votes, FINAL) gossip one vote to n − 1 peers — so ÷ (n−1) stays flat at a fixed committee; pbft’s all-to-all phases make ÷ n² flat instead.',
    );
    const largest = (engine: string) =>
      scale.filter((o) => o.engine === engine && !o.committee.startsWith('full')).at(-1) ??
      scale.filter((o) => o.engine === engine).at(-1);
    const a = largest('algorand');
    const p = largest('pbft');
    if (a !== undefined && p !== undefined) {
      const per = (o: Observed, x: number) => x / Math.max(1, o.blocks);
      const firstA = per(a, a.sent.consensusFirst) / (a.n - 1);
      const firstP = per(p, p.sent.consensusFirst) / (p.n * p.n);
      const allA = per(a, allSent(a)) / (a.n - 1);
      const allP = per(p, allSent(p)) / (p.n * p.n);
      notes(
        `Extrapolated from algorand n=${a.n} (first-time consensus ≈ ${fmt(firstA, 0)}·(n − 1) per block, all messages ≈ ${fmt(allA, 0)}·(n − 1)) and pbft n=${p.n} (≈ ${fmt(firstP, 2)}·n², all ≈ ${fmt(allP, 2)}·n²): algorand would send fewer first-time consensus messages per block beyond n ≈ ${fmt(firstA / firstP, 0)}, and fewer messages of all kinds beyond n ≈ ${fmt(allA / allP, 0)}. A rough fit from one n each: re-broadcasts, tx gossip and block sync follow neither law exactly, and pbft decides blocks several times as often (sim ms/block).`,
      );
    }
    notes(
      ...scale
        .filter((o) => o.bound !== undefined && o.engine === 'algorand')
        .map((o) => `algorand n=${o.n} (params.ts describeBound): ${o.bound}`),
    );
    commands(scale);
  }
}

// 3 ---------------------------------------------------------------------------------------------
const faulty: Observed[] = [];
/** PBFT under the same seeds and faults: how many blocks the same network let another engine make. */
const faultyPbft: Observed[] = [];
if (sections.has(3)) {
  for (let s = 1; s <= seedCount; s++) {
    const seed = `bench-algorand-faults-${s}`;
    const o = await attempt(`section 3: algorand n = 4, faults, seed ${s}`, () =>
      observe(`seed ${s}`, algorand, 4, {}, FAULTS, seed, FAULT_MS),
    );
    if (o !== undefined) faulty.push(o);
    if (pbft === undefined) continue;
    const p = await attempt(`section 3: pbft n = 4, faults, seed ${s}`, () =>
      observe(`seed ${s} (pbft)`, pbft, 4, {}, FAULTS, seed, FAULT_MS),
    );
    if (p !== undefined) faultyPbft.push(p);
  }
  say(
    `## 3. tentative blocks under faults (n = 4, default parameters, faults ${FAULTS.join(',')}, ${FAULT_MS / 1000} simulated s of faults per seed)`,
  );
  say(`command: ${commandLine}`);
  say();
  const row = (label: string, runs: readonly Observed[]) => {
    const sum = (f: (a: AlgorandStats) => number) =>
      runs.reduce((s, o) => s + f(o.algorand as AlgorandStats), 0);
    const blocks = runs.reduce((s, o) => s + o.blocks, 0);
    const once = sum((a) => a.finalAtOnce);
    const desc = sum((a) => a.viaDescendant);
    const returns = runs.flatMap((o) => (o.algorand as AlgorandStats).returns);
    const decisions = runs.flatMap((o) => (o.algorand as AlgorandStats).ownDecisions);
    const adopted = sum((a) => a.adopted);
    return {
      seed: label,
      blocks: String(blocks),
      'final at once': String(once),
      'via descendant': String(desc),
      tentative: pct(desc, once + desc),
      periods: String(sum((a) => a.periodsRun)),
      'abandoned (all nodes)': String(sum((a) => a.periodsAbandoned)),
      'empty returns': String(returns.filter((x) => x.empty).length),
      'MAXSTEPS ends': String(sum((a) => a.maxSteps)),
      'period catch-ups': String(sum((a) => a.catchUps)),
      'own returns b=1': `${decisions.filter((b) => b === 1).length}/${decisions.length + adopted}`,
      adopted: String(adopted),
      'ms/block (median)': num(median(runs.flatMap((o) => (o.algorand as AlgorandStats).blockMs))),
      'pbft blocks, same faults': (() => {
        const p = runs.map((o) => faultyPbft.find((x) => x.seed === o.seed));
        return p.every((x) => x !== undefined) ? String(p.reduce((t, x) => t + (x?.blocks ?? 0), 0)) : '-';
      })(),
      safe: runs.every((o) => o.safe) ? (runs.every((o) => o.live) ? 'yes' : 'NOT LIVE') : 'UNSAFE',
      'wall s': fmt(runs.reduce((s, o) => s + o.wallMs, 0) / 1000, 1),
    };
  };
  show([...faulty.map((o) => row(o.seed.replace('bench-algorand-faults-', ''), [o])), row('all', faulty)]);
  if (!json && faulty.length > 0) {
    notes(
      'blocks: heights committed in the fault phase (the highest any node reached). final at once / via descendant: node 0’s certificates for them — its own FINAL votes, or `ancestry` under a final block above (decided tentatively).',
      'periods: distinct (height, period) pairs started for those heights. abandoned: periods the nodes left without a result, summed over the 4 nodes (status().viewChanges at the end of the fault phase). empty returns: BinaryBA* agreed on the empty outcome. MAXSTEPS ends: periods that ran out of BinaryBA* steps. period catch-ups: a node joined a later period that more than 1/3 of the power spoke in. own returns b=1: node×height decisions a node reached by its own BinaryBA* returning at step 1, of all its decisions.',
      'Each seed draws its own faults (src/sim/fault-plan.ts): a loss rate of 5–30%, duplication of 5–50% (replayed up to 3 s late), delay jitter of 50–300 ms, and partitions and cut links, one after another, over the whole fault phase. pbft blocks, same faults: PBFT at n = 4 with the same seed and faults (the same fault plan), for reference: blocks committed in its fault phase.',
    );
    for (const o of faulty)
      if (!o.live || !o.safe) say(`seed ${o.seed}: ${o.safe ? '' : 'UNSAFE '}${o.livenessFailure ?? ''}`);
    if (faulty.some((o) => !o.live || !o.safe)) say();
    commands([...faulty, ...faultyPbft]);
  }
}

// 4 ---------------------------------------------------------------------------------------------
interface MicroRow {
  readonly op: string;
  /** Median over the batches of process CPU µs per call (what the figures below use). */
  readonly usPerCall: number;
  readonly minUs: number;
  readonly maxUs: number;
  /** Median over the batches of wall-clock µs per call. */
  readonly wallUsPerCall: number;
  readonly calls: number;
}
const micro: MicroRow[] = [];
const perBlock: Array<Record<string, string | number>> = [];
if (sections.has(4)) {
  progress('section 4: VRF micro-benchmark…');
  const total = VRF_BATCHES * VRF_CALLS + 1; // index 0: the warm-up call
  const key = validatorKeys(0).vrf;
  const alphas = Array.from({ length: total }, (_, i) => sha256(utf8(`bench-algorand-alpha-${i}`)));
  const seed = sha256(utf8('bench-algorand-seed'));
  const fullWeights = { stake: 1, totalStake: 4, expectedSize: 4 };
  const sampledWeights = { stake: 1, totalStake: 32, expectedSize: 12 };
  const ctxOf = (round: number): SortitionContext => ({ seed, round, step: 3, role: 'committee' });
  const bench = (op: string, fn: (i: number) => void) => {
    fn(0);
    const per: number[] = [];
    const wall: number[] = [];
    for (let k = 0; k < VRF_BATCHES; k++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      for (let j = 0; j < VRF_CALLS; j++) fn(1 + k * VRF_CALLS + j);
      const c = process.cpuUsage(c0);
      wall.push(((performance.now() - t0) * 1000) / VRF_CALLS);
      per.push((c.user + c.system) / VRF_CALLS);
    }
    micro.push({
      op,
      usPerCall: median(per),
      minUs: Math.min(...per),
      maxUs: Math.max(...per),
      wallUsPerCall: median(wall),
      calls: VRF_BATCHES * VRF_CALLS,
    });
  };
  // JIT warm-up of the curve arithmetic before the first timed batch (it takes ~100 calls).
  for (let i = 0; i < 100; i++) {
    const alpha = utf8(`bench-algorand-warmup-${i}`);
    vrf.verify(key.publicKey, realProve(key.secretKey, alpha), alpha);
  }
  const proofs: Uint8Array[] = new Array(total);
  bench('vrf.prove', (i) => {
    proofs[i] = realProve(key.secretKey, alphas[i] as Uint8Array);
  });
  let bad = 0;
  bench('vrf.verify', (i) => {
    if (vrf.verify(key.publicKey, proofs[i] as Uint8Array, alphas[i] as Uint8Array) === null) bad++;
  });
  const fullProofs: Uint8Array[] = new Array(total);
  const sampledProofs: Uint8Array[] = new Array(total);
  bench('sortition, full committee (τ = W = 4)', (i) => {
    fullProofs[i] = sortition(key.secretKey, ctxOf(i), fullWeights).proof;
  });
  bench('sortition, sampled (τ 12 of W = 32)', (i) => {
    sampledProofs[i] = sortition(key.secretKey, ctxOf(1_000_000 + i), sampledWeights).proof;
  });
  // verifySortition goes through the engine's VRF memo (vrf-memo.ts): fresh proofs miss it.
  bench('verifySortition, full, memo miss', (i) => {
    verifySortition(key.publicKey, fullProofs[i] as Uint8Array, ctxOf(i), fullWeights);
  });
  bench('verifySortition, sampled, memo miss', (i) => {
    verifySortition(key.publicKey, sampledProofs[i] as Uint8Array, ctxOf(1_000_000 + i), sampledWeights);
  });
  bench('verifySortition, full, memo hit', (i) => {
    verifySortition(key.publicKey, fullProofs[i] as Uint8Array, ctxOf(i), fullWeights);
  });
  const ed = validatorKeys(0).ed;
  const sigs: Uint8Array[] = new Array(total);
  bench('ed25519 sign (envelope, for comparison)', (i) => {
    sigs[i] = ed25519.sign(alphas[i] as Uint8Array, ed.secretKey);
  });
  bench('ed25519 verify (envelope, for comparison)', (i) => {
    if (!ed25519.verify(sigs[i] as Uint8Array, alphas[i] as Uint8Array, ed.publicKey)) bad++;
  });
  if (bad > 0) throw new Error(`section 4: ${bad} proofs or signatures did not verify`);

  say(`## 4. VRF cost (${machine()})`);
  say(`command: ${commandLine}`);
  say();
  show(
    micro.map((m) => ({
      operation: m.op,
      'CPU µs/call (median)': fmt(m.usPerCall, 0),
      'batch range': `${fmt(m.minUs, 0)}–${fmt(m.maxUs, 0)}`,
      'wall µs/call': fmt(m.wallUsPerCall, 0),
      'calls/s': fmt(1e6 / m.usPerCall, 0),
      calls: `${VRF_BATCHES}×${VRF_CALLS}`,
    })),
  );
  notes(
    `Medians of ${VRF_BATCHES} batches of ${VRF_CALLS} calls, each call on a fresh input, one thread: process CPU µs per call (user + system; not the time other processes take from this one), and wall µs for comparison — they differ when the machine is busy. sortition = vrf.prove + proofToHash + the binomial selection; verifySortition = vrf.verify (through the engine's memo, vrf-memo.ts) + the selection. "memo hit": a proof this process verified before (relays, re-broadcasts, certificates). ed25519: what each consensus message's envelope costs besides.`,
  );

  const us = (op: string) => micro.find((m) => m.op === op)?.usPerCall ?? Number.NaN;
  const proveUs = us('sortition, full committee (τ = W = 4)');
  const verifyUs = us('verifySortition, full, memo miss');
  const sampledProveUs = us('sortition, sampled (τ 12 of W = 32)');
  const sampledVerifyUs = us('verifySortition, sampled, memo miss');
  for (const o of [...common, ...scale]) {
    const a = o.algorand;
    if (a === undefined) continue;
    const per = (x: number) => x / Math.max(1, o.blocks) / o.n;
    const madeN = per(a.made.proposer + a.made.committee + a.made.seed);
    // A proposal costs two checks: the proposer's sortition proof and its seed proof.
    const checkedN = per(a.checked.votes + 2 * a.checked.proposals);
    const sampled = !o.committee.startsWith('full');
    const ms =
      (madeN * (sampled ? sampledProveUs : proveUs) + checkedN * (sampled ? sampledVerifyUs : verifyUs)) /
      1000;
    const msPerBlock = o.windowMs / Math.max(1, o.blocks);
    perBlock.push({
      run: `${o.label}${o.params === SAMPLED ? ' (section 2)' : ' (section 1)'}`,
      committee: o.committee,
      blocks: String(o.blocks),
      'made/block/node': fmt(madeN, 1),
      proposer: fmt(per(a.made.proposer), 1),
      seed: fmt(per(a.made.seed), 1),
      'vote draws': fmt(per(a.made.committee), 1),
      'checked/block/node': fmt(checkedN, 1),
      votes: fmt(per(a.checked.votes), 1),
      'proposals ×2': fmt(per(2 * a.checked.proposals), 1),
      'VRF ms/block/node': fmt(ms, 1),
      'sim ms/block': fmt(msPerBlock, 0),
      'core share': `${fmt((100 * ms) / msPerBlock, 1)}%`,
    });
  }
  show(perBlock);
  if (!json && perBlock.length > 0) {
    notes(
      'made: VRF proofs the nodes evaluated in the window — every call of vrf.prove, classified by its input: the proposer draw of each period, the seed proof of a selected proposer, one committee draw per vote step (made whether or not it selects the node; an unselected draw sends no vote) — ÷ blocks ÷ n. The draws of the height still open when the window ends are included (proposer ≈ (blocks + 1) ÷ blocks rather than 1).',
      'checked: proofs a node must verify — distinct votes (one proof each) and proposals (sortition and seed proof) of other validators sent to it while it had not committed their height. An upper bound: a vote arriving after its height is committed is dropped unverified. Re-broadcasts and relays are not counted (a node’s own memo knows them). The simulator shares one memo among its nodes, so these are counted, not timed.',
      'VRF ms/block/node = made × sortition µs + checked × verifySortition (memo miss) µs, at the CPU rates above (full or sampled weights); core share: that ÷ the simulated ms per block of the run — the share of one core each node would spend on VRFs at that block rate.',
    );
  }
}

const totalS = (performance.now() - wallStart) / 1000;
say(`total wall time: ${fmt(totalS, 1)} s (${commandLine})`);
if (json)
  console.log(
    JSON.stringify(
      {
        machine: machine(),
        date: new Date().toISOString(),
        command: commandLine,
        quick,
        wallSeconds: totalS,
        commonCase: common,
        messagesVsN: scale,
        faults: faulty,
        faultsPbft: faultyPbft,
        vrf: { microUs: micro, perBlockPerNode: perBlock },
      },
      null,
      2,
    ),
  );
