/**
 * `verity sim`: one deterministic simulation run (src/sim/simulation.ts), summarised as text or
 * as one JSON object. Exit 0 safe and live, 3 safety violation, 4 liveness failure (including a
 * run whose honest validators cannot form a quorum, where liveness cannot be shown), 2 usage
 * error. A failed run prints the exact command that replays it (same trace hash).
 */
import { writeFile } from 'node:fs/promises';
import { ENGINE_NAMES } from '../../consensus/engine-names.ts';
import { ALL_BYZANTINE_MODES, type ByzantineMode } from '../../src/sim/byzantine.ts';
import { FAULT_KINDS, type FaultKind } from '../../src/sim/fault-plan.ts';
import type { SimOptions } from '../../src/sim/simulation.ts';
import type { TwinsOutcome, TwinsScenario } from '../../src/sim/twins.ts';
import {
  type Command,
  type CommandContext,
  EXIT_OK,
  intOption,
  required,
  str,
  UsageError,
} from '../framework.ts';
import { parseEngineFlag } from './engine-flag.ts';

export const EXIT_SAFETY = 3;
export const EXIT_LIVENESS = 4;

function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text);
  if (!m) throw new UsageError(`--duration must look like 60s, 1500ms or 2m, got "${text}"`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms < 1000 || ms > 3_600_000) throw new UsageError('--duration must be between 1s and 60m');
  return Math.round(ms);
}

export const sim: Command = {
  name: 'sim',
  summary: 'run a deterministic simulation of a consensus engine under faults',
  synopsis: `--engine NAME --nodes N [--byzantine B] [--byzantine-mode ${ALL_BYZANTINE_MODES.join('|')}] [--faults loss,dup,reorder,partition,clog,crash,skew,corrupt] [--seed S] [--duration 60s] [--txs N] [--hash-power LIST] [--min-block-interval MS] [--busy-block-interval MS --load X] [--trace FILE] | --twins --engine NAME (--nodes N --byzantine B [--rounds R] [--scenarios K] | --twins-scenario STRING [--trace FILE]) [--seed S] [--round-ms MS]`,
  description: [
    'Runs the real engine and runtime over a simulated network, disks and clocks in virtual time,',
    'then heals the network and checks that every honest node makes progress. Same seed, same trace.',
    '--byzantine may exceed what the engine tolerates: that is how negative controls are run. A',
    'crash-fault engine (raft) tolerates only silent validators: any other mode is beyond it.',
    'Byzantine modes: twins (two instances, one key), equivocate (conflicting messages to half the',
    'peers), silent, invalid-sig, garbage, replay (re-sends old signed messages of earlier heights,',
    'rounds and views it has seen or sent); for pow only, selfish (Eyal-Sirer selfish mining: the',
    'Byzantine miners pool, withhold blocks and publish to win races) and private-chain (the pool',
    'mines in secret and publishes once its chain is heavier and honest nodes have committed: with a',
    'majority of the hash power it reverts a committed block, which is caught - exit 3).',
    "Faults: corrupt damages a record of a crashed validator's consensus WAL (a flipped bit, a torn",
    'value, a misdirected write) when the fault model has room for it beside the Byzantine ones; the',
    'validator must notice it on restart (walRecordsDamaged counts them).',
    'Live means every honest node committed new blocks after healing, and requires an honest core',
    "that can form a quorum (>= n - f honest validators, f from the engine's fault model); with more",
    'Byzantine validators than that allows, the run is never live.',
    'Exit codes: 0 safe and live, 3 safety violation, 4 liveness failure, 2 usage error.',
    'A failed run prints the command that replays it exactly.',
    '--trace FILE writes the run as a ShiViz log (src/sim/vector-trace.ts): every message send and',
    'receive (and starts, crashes, pauses and commits with their block HLC) with vector clocks, so',
    'the run reads as a space-time diagram of who knew what when. Open',
    'https://bestchai.bitbucket.io/shiviz/, choose "upload a log" and pick FILE (its first line is the',
    "parsing regular expression). Each event line also has t= (virtual ms) and wall= (that node's",
    'skewed clock, ms); a send that never arrives (lost, cut, dropped, node down) has no receive.',
    'At most 100,000 events are written; the first event (host "sim") says if the log was truncated.',
    '',
    "--twins: a Twins search (src/sim/twins.ts). B validators (v0 … v{B-1}) have twins (v0' …); a",
    'scenario is, for each of R rounds of --round-ms virtual ms (default 1000), a partition of the',
    'n + B instances into at most two groups (written "v0,v1,v2|v3,v0\',v1\' / all / …"). Every',
    'scenario up to R rounds (default 2) is run when there are at most K (default 100), else K',
    'sampled from --seed; then the network heals and liveness is checked. Prints how many ran, were',
    'unsafe or not live, scenarios per second, and the shortest violating scenario as a command that',
    'replays it (--twins-scenario STRING runs just that one). For engines whose leaders come from the',
    'shared rotation (tendermint, hotstuff, pbft) each round also chooses a leader, as in the paper',
    '("… ; leaders v1,v0": the leaders of rotation positions 1, 2, …); --leaders rotation keeps the',
    "engine's own rotation instead.",
    'Exit codes with --twins: 3 some scenario violated safety; 0 every scenario was safe (liveness',
    "failures are reported — within the engine's bound (B <= f) they are findings, beyond it",
    'liveness cannot be demonstrated); 2 usage error.',
  ].join('\n'),
  options: {
    engine: {
      type: 'string',
      valueName: 'NAME',
      description: `engine[:k=v,…] (${ENGINE_NAMES.join(', ')})`,
    },
    nodes: { type: 'string', valueName: 'N', description: 'number of validators (1..64)' },
    byzantine: { type: 'string', valueName: 'B', description: 'Byzantine validators (default 0)' },
    'byzantine-mode': {
      type: 'string',
      valueName: 'MODE',
      description: `one of ${ALL_BYZANTINE_MODES.join(', ')} (default twins)`,
    },
    faults: { type: 'string', valueName: 'LIST', description: `comma-separated: ${FAULT_KINDS.join(', ')}` },
    seed: {
      type: 'string',
      valueName: 'S',
      description: 'root seed (default 1; with --twins it also draws the sample, default "twins")',
    },
    duration: {
      type: 'string',
      valueName: 'T',
      description: 'fault phase in simulated time: 60s, 1500ms, 2m (default 60s)',
    },
    txs: { type: 'string', valueName: 'N', description: 'transactions to submit (default 200)' },
    'hash-power': {
      type: 'string',
      valueName: 'LIST',
      description:
        "pow: each validator's share of the hash power, relative weights (e.g. 1,1,1,3; default equal)",
    },
    'min-block-interval': {
      type: 'string',
      valueName: 'MS',
      description:
        "each node's floor under its block interval, as consensus.min_block_interval_ms sets it on a real node (default 0: back to back)",
    },
    'busy-block-interval': {
      type: 'string',
      valueName: 'MS',
      description:
        "each node's floor when busy, as consensus.busy_block_interval_ms sets it on a real node (default: the minimum; with --load)",
    },
    load: {
      type: 'string',
      valueName: 'X',
      description:
        'how busy every node reports itself, 0 to 1 (a real node measures its event loop): from 0.3 to 0.5 the floor stretches to --busy-block-interval (default 0)',
    },
    twins: { type: 'boolean', description: 'run a Twins scenario search instead of one run' },
    rounds: { type: 'string', valueName: 'R', description: 'Twins: rounds per scenario (default 2)' },
    scenarios: {
      type: 'string',
      valueName: 'K',
      description: 'Twins: run all scenarios if at most K, else K sampled (default 100)',
    },
    'twins-scenario': { type: 'string', valueName: 'STRING', description: 'Twins: run this one scenario' },
    leaders: {
      type: 'string',
      valueName: 'search|rotation',
      description:
        "Twins: each round also chooses its leader (search; default where the engine allows), or the engine's rotation",
    },
    trace: {
      type: 'string',
      valueName: 'FILE',
      description:
        'write the run with vector clocks as a ShiViz log (see above); one run or --twins-scenario',
    },
    'round-ms': {
      type: 'string',
      valueName: 'MS',
      description: 'Twins: virtual ms per round (default 1000)',
    },
  },
  examples: [
    'verity sim --engine tendermint --nodes 4 --byzantine 1 --byzantine-mode equivocate --faults loss,dup,partition --seed 7',
    'verity sim --engine pbft --nodes 7 --byzantine 2 --byzantine-mode replay --faults loss,dup,crash --seed 5',
    'verity sim --engine tendermint --nodes 4 --byzantine 2 --byzantine-mode twins --faults partition --seed 3   # negative control',
    'verity sim --twins --engine tendermint --nodes 4 --byzantine 2 --rounds 1   # finds a safety violation',
    'verity sim --twins --engine hotstuff --nodes 4 --byzantine 1 --rounds 3 --scenarios 200 --seed 7',
  ],
  async run(ctx) {
    if (ctx.values.twins === true) return runTwins(ctx);
    for (const flag of ['rounds', 'scenarios', 'twins-scenario', 'round-ms', 'leaders'])
      if (ctx.values[flag] !== undefined) throw new UsageError(`--${flag} needs --twins`);
    const { values, out } = ctx;
    const { name, params } = parseEngineFlag(required(values, 'engine'));
    // The engines and the simulator load only when a simulation runs (not for --help).
    const [{ engineNames, getEngine }, { MAX_SIM_MIN_BLOCK_INTERVAL_MS, replayCommand, runSimulation }] =
      await Promise.all([import('../../consensus/registry.ts'), import('../../src/sim/simulation.ts')]);
    const engine = getEngine(name);
    if (engine === undefined)
      throw new UsageError(`unknown engine "${name}" (known: ${engineNames().join(', ')})`);
    const nodes = intOption(values, 'nodes', -1, 1, 64);
    if (nodes < 1) throw new UsageError('--nodes is required');
    const byzantine = intOption(values, 'byzantine', 0, 0, nodes);
    const mode = (str(values, 'byzantine-mode') ?? 'twins') as ByzantineMode;
    if (!ALL_BYZANTINE_MODES.includes(mode))
      throw new UsageError(`--byzantine-mode must be one of ${ALL_BYZANTINE_MODES.join(', ')}`);
    const faultList = (str(values, 'faults') ?? '').split(',').filter(Boolean);
    for (const f of faultList)
      if (!FAULT_KINDS.includes(f as FaultKind))
        throw new UsageError(`unknown fault "${f}" (known: ${FAULT_KINDS.join(', ')})`);
    try {
      engine.parseParams(params);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const hashPowerText = str(values, 'hash-power');
    let hashPower: number[] | undefined;
    if (hashPowerText !== undefined) {
      if (engine.confirmations === undefined)
        throw new UsageError('--hash-power is for an engine that mines (pow)');
      hashPower = hashPowerText.split(',').map(Number);
      if (
        hashPower.length !== nodes ||
        hashPower.some((w) => !Number.isFinite(w) || w < 0) ||
        !hashPower.some((w) => w > 0)
      )
        throw new UsageError(
          `--hash-power takes ${nodes} non-negative weights, one per validator, not all zero`,
        );
    }
    // The floor when busy and the load that stretches to it mean nothing apart.
    if ((values['busy-block-interval'] === undefined) !== (values.load === undefined))
      throw new UsageError(
        '--busy-block-interval and --load go together (the floor when busy, and how busy)',
      );
    const opts: SimOptions = {
      engine,
      engineParams: params,
      ...(hashPower === undefined ? {} : { hashPower }),
      nodes,
      byzantine,
      byzantineMode: mode,
      faults: new Set(faultList as FaultKind[]),
      seed: str(values, 'seed') ?? '1',
      durationMs: parseDuration(str(values, 'duration') ?? '60s'),
      txs: intOption(values, 'txs', 200, 0, 1_000_000),
      ...(values['min-block-interval'] === undefined
        ? {}
        : {
            minBlockIntervalMs: intOption(values, 'min-block-interval', 0, 0, MAX_SIM_MIN_BLOCK_INTERVAL_MS),
          }),
      ...(values['busy-block-interval'] === undefined
        ? {}
        : {
            busyBlockIntervalMs: intOption(
              values,
              'busy-block-interval',
              0,
              0,
              MAX_SIM_MIN_BLOCK_INTERVAL_MS,
            ),
          }),
      ...(values.load === undefined ? {} : { load: loadOption(str(values, 'load') as string) }),
      onProgress: (p) => out.info(`  … ${p.phase}: t=${(p.timeMs / 1000).toFixed(0)}s height=${p.height}`),
    };
    const traceFile = str(values, 'trace');
    const r = await runSimulation(traceFile === undefined ? opts : { ...opts, vectorTrace: {} });
    if (traceFile !== undefined) {
      await writeFile(traceFile, r.vectorTrace ?? '');
      out.info(`vector-clock trace (ShiViz) written to ${traceFile}`);
    }
    const summary = {
      engine: r.engine,
      nodes: r.nodes,
      byzantine: r.byzantine,
      byzantineMode: r.byzantineMode,
      tolerated: r.tolerated,
      seed: r.seed,
      simulatedMs: r.simulatedMs,
      committedHeight: r.committedHeight,
      committedTxs: r.committedTxs,
      // Transactions beyond --txs that kept an engine without empty blocks busy after healing.
      demandTxs: r.demandTxs,
      viewChanges: r.viewChanges,
      // Proof of Work: blocks mined, the share off the best chain, the deepest reorganization.
      ...(r.mining === undefined ? {} : { mining: r.mining }),
      messages: r.messages,
      safe: r.safe,
      live: r.live,
      ...(r.livenessFailure === undefined ? {} : { livenessFailure: r.livenessFailure }),
      violations: r.violations,
      // Verified equivocation evidence held by honest nodes: the validator and the slot it signed twice.
      evidence: r.evidence,
      // WAL records the corrupt fault damaged; each had to be noticed (or it is a violation).
      walRecordsDamaged: r.walRecordsDamaged,
      traceHash: r.traceHash,
      wallMs: r.wallMs,
    };
    const failed = !r.safe || !r.live;
    out.result(failed ? { ...summary, replay: replayCommand(opts) } : summary, () =>
      [
        `${r.engine}: ${r.nodes} nodes, ${r.byzantine} byzantine (${r.byzantineMode})${r.tolerated ? '' : ' — MORE THAN THE ENGINE TOLERATES'}, seed ${r.seed}`,
        `simulated ${(r.simulatedMs / 1000).toFixed(1)} s in ${(r.wallMs / 1000).toFixed(1)} s: height ${r.committedHeight}, ${r.committedTxs} txs${r.demandTxs > 0 ? ` (+${r.demandTxs} after healing)` : ''}, ${r.viewChanges} ${r.mining === undefined ? 'view changes' : 'reorganizations'}, ${r.messages} messages`,
        ...(r.mining === undefined
          ? []
          : [
              `mining: ${r.mining.mined} blocks mined, ${(100 * r.mining.orphanRate).toFixed(1)}% off the best chain, deepest reorganization ${r.mining.maxReorgDepth} block${r.mining.maxReorgDepth === 1 ? '' : 's'}`,
            ]),
        `safety: ${r.safe ? 'OK' : `VIOLATED (${r.violations.length})`}   liveness: ${r.live ? 'OK' : `FAILED — ${r.livenessFailure}`}`,
        ...(r.evidence.length === 0
          ? []
          : [
              `equivocation evidence against validator(s) ${[...new Set(r.evidence.map((e) => e.validator))].join(', ')} (${r.evidence.length} slots)`,
            ]),
        ...r.violations
          .slice(0, 10)
          .map((v) => `  ${v.kind} at t=${((v.time - 1_700_000_000_000) / 1000).toFixed(3)}s: ${v.detail}`),
        `trace ${r.traceHash}`,
        ...(failed ? [`replay: ${replayCommand(opts)}`] : []),
      ].join('\n'),
    );
    if (!r.safe) return EXIT_SAFETY;
    if (!r.live) return EXIT_LIVENESS;
    return EXIT_OK;
  },
};

/** `--load X`: a decimal number from 0 to 1 (as a replay command prints it: 0.4, 1, 1e-7). */
function loadOption(text: string): number {
  const x = /^\d+(\.\d+)?(e-?\d+)?$/.test(text) ? Number(text) : Number.NaN;
  if (!(x >= 0 && x <= 1)) throw new UsageError(`--load must be a number from 0 to 1, got "${text}"`);
  return x;
}

/** `verity sim --twins`: a Twins scenario search (src/sim/twins.ts); exit codes in the help. */
async function runTwins({ values, out }: CommandContext): Promise<number> {
  const { name, params } = parseEngineFlag(required(values, 'engine'));
  for (const flag of [
    'byzantine-mode',
    'faults',
    'duration',
    'txs',
    'min-block-interval',
    'busy-block-interval',
    'load',
  ])
    if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply with --twins`);
  const [{ engineNames, getEngine }, twins, { tolerates }] = await Promise.all([
    import('../../consensus/registry.ts'),
    import('../../src/sim/twins.ts'),
    import('../../consensus/fault-model.ts'),
  ]);
  const engine = getEngine(name);
  if (engine === undefined)
    throw new UsageError(`unknown engine "${name}" (known: ${engineNames().join(', ')})`);
  try {
    engine.parseParams(params);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const seed = str(values, 'seed') ?? twins.TWINS_DEFAULTS.seed;
  const run = {
    engine,
    engineParams: params,
    seed,
    roundMs: intOption(values, 'round-ms', twins.TWINS_DEFAULTS.roundMs, 50, 600_000),
  };
  let scenarios: TwinsScenario[];
  let exhaustive: boolean;
  let total: number;
  const one = str(values, 'twins-scenario');
  const traceFile = str(values, 'trace');
  if (traceFile !== undefined && one === undefined)
    throw new UsageError('--trace with --twins needs --twins-scenario (one scenario)');
  if (one !== undefined) {
    for (const flag of ['rounds', 'scenarios', 'leaders'])
      if (values[flag] !== undefined) throw new UsageError(`--${flag} does not apply with --twins-scenario`);
    let s: TwinsScenario;
    try {
      s = twins.parseScenario(one);
    } catch (e) {
      throw new UsageError(`--twins-scenario: ${(e as Error).message}`);
    }
    if (s.leaders !== undefined && engine.leaderRotation !== true)
      throw new UsageError(
        `--twins-scenario: ${engine.name} does not take its leaders from the shared rotation; drop the "; leaders …" part`,
      );
    if (values.nodes !== undefined && intOption(values, 'nodes', 0) !== s.nodes)
      throw new UsageError(
        `--nodes ${str(values, 'nodes')} disagrees with the scenario's ${s.nodes} validators`,
      );
    if (values.byzantine !== undefined && intOption(values, 'byzantine', 0) !== s.twins)
      throw new UsageError(
        `--byzantine ${str(values, 'byzantine')} disagrees with the scenario's ${s.twins} twins`,
      );
    scenarios = [s];
    exhaustive = true;
    total = 1;
  } else {
    const nodes = intOption(values, 'nodes', -1, 1, 16);
    if (nodes < 1) throw new UsageError('--nodes is required');
    const byzantine = intOption(values, 'byzantine', -1, 0, nodes);
    if (byzantine < 0) throw new UsageError('--byzantine is required with --twins (validators with twins)');
    const rounds = intOption(values, 'rounds', 2, 1, 64);
    const limit = intOption(values, 'scenarios', 100, 1, 10_000_000);
    const leadersFlag = str(values, 'leaders');
    if (leadersFlag !== undefined && leadersFlag !== 'search' && leadersFlag !== 'rotation')
      throw new UsageError(`--leaders is search or rotation, not "${leadersFlag}"`);
    if (leadersFlag === 'search' && engine.leaderRotation !== true)
      throw new UsageError(
        `--leaders search: ${engine.name} does not take its leaders from the shared rotation`,
      );
    const leaders = engine.leaderRotation === true && leadersFlag !== 'rotation';
    const g = twins.generateScenarios({ nodes, twins: byzantine, rounds, leaders }, { limit, seed });
    ({ scenarios, exhaustive, total } = g);
  }
  const first = scenarios[0] as TwinsScenario;
  out.info(
    `twins: ${engine.name}, ${first.nodes} validators, ${first.twins} with twins, ${first.rounds.length} rounds of ${run.roundMs} ms${first.leaders === undefined ? '' : ', a leader each'}: ${exhaustive ? `all ${scenarios.length}` : `${scenarios.length} sampled of ${Number.isFinite(total) ? total : 'more than 2^53'}`} scenarios`,
  );
  let lastNote = performance.now();
  const c = await twins.runTwinsCampaign(scenarios, {
    ...run,
    exhaustive,
    total,
    onOutcome: (i) => {
      if (performance.now() - lastNote > 5000) {
        lastNote = performance.now();
        out.info(`  … ${i + 1}/${scenarios.length}`);
      }
    },
  });
  if (traceFile !== undefined) {
    // The scenario again, recorded (the run is deterministic: the same run, with its instance names).
    const s = first;
    const { runSimulation } = await import('../../src/sim/simulation.ts');
    const r = await runSimulation({
      ...twins.twinsSimOptions(s, run),
      vectorTrace: { hostNames: twins.namesById(s.nodes, s.twins), about: twins.twinsReplayCommand(s, run) },
    });
    await writeFile(traceFile, r.vectorTrace ?? '');
    out.info(`vector-clock trace (ShiViz) written to ${traceFile}`);
  }
  const describe = (w: { index: number; outcome: TwinsOutcome } | undefined) =>
    w === undefined
      ? undefined
      : {
          index: w.index + 1,
          scenario: twins.formatScenario(w.outcome.scenario),
          rounds: twins.effectiveRounds(w.outcome.scenario),
          livenessFailure: w.outcome.safe ? w.outcome.livenessFailure : undefined,
          violation: w.outcome.safe ? undefined : w.outcome.violations[0],
          replay: twins.twinsReplayCommand(w.outcome.scenario, run),
        };
  const tolerated = tolerates(engine.faultModel, first.nodes, first.twins, 'twins');
  const summary = {
    engine: engine.name,
    nodes: first.nodes,
    twins: first.twins,
    tolerated,
    rounds: first.rounds.length,
    roundMs: run.roundMs,
    seed,
    exhaustive,
    space: Number.isFinite(total) ? total : null,
    ran: c.ran,
    unsafe: c.unsafe,
    notLive: c.notLive,
    ...(c.firstUnsafeAt === undefined ? {} : { firstUnsafeAt: c.firstUnsafeAt }),
    scenariosPerSecond: Number(c.scenariosPerSecond.toFixed(2)),
    wallMs: c.wallMs,
    // Violations name simulator node ids: these are their instance names.
    instancesById: twins.namesById(first.nodes, first.twins),
    ...(c.shortestUnsafe === undefined ? {} : { shortestUnsafe: describe(c.shortestUnsafe) }),
    ...(c.shortestNotLive === undefined ? {} : { shortestNotLive: describe(c.shortestNotLive) }),
  };
  out.result(summary, () => {
    const u = describe(c.shortestUnsafe);
    const l = describe(c.shortestNotLive);
    return [
      `twins ${engine.name}: ${first.nodes} validators, ${first.twins} with twins${tolerated ? '' : ' — MORE THAN THE ENGINE TOLERATES'}, ${first.rounds.length} rounds of ${run.roundMs} ms, seed ${seed}`,
      `ran ${c.ran} scenarios${exhaustive ? ' (all of them)' : ` (sampled of ${Number.isFinite(total) ? total : '> 2^53'})`} in ${(c.wallMs / 1000).toFixed(1)} s: ${c.scenariosPerSecond.toFixed(2)} scenarios/s`,
      `safety: ${c.unsafe === 0 ? 'OK in every scenario' : `VIOLATED in ${c.unsafe} (first at scenario ${c.firstUnsafeAt})`}   liveness: ${tolerated ? (c.notLive === 0 ? 'OK in every safe scenario' : `FAILED in ${c.notLive}`) : 'not demonstrable beyond the bound (not counted)'}`,
      ...(u === undefined
        ? []
        : [
            `shortest unsafe scenario (${u.rounds} rounds): ${u.scenario}`,
            `  ${u.violation?.kind}: ${u.violation?.detail} (${twins
              .namesById(first.nodes, first.twins)
              .map((n, id) => `node ${id} = ${n}`)
              .join(', ')})`,
            `  replay: ${u.replay}`,
          ]),
      ...(l === undefined
        ? []
        : [
            `shortest not-live scenario (${l.rounds} rounds): ${l.scenario}`,
            `  ${l.livenessFailure}`,
            `  replay: ${l.replay}`,
          ]),
    ].join('\n');
  });
  // As issue 18 states the interface: 3 when a safety violation was found, 0 when every scenario
  // was safe; a liveness failure is printed above (and in --json), not an exit code.
  return c.unsafe > 0 ? EXIT_SAFETY : EXIT_OK;
}
