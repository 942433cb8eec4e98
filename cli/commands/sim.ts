/**
 * `verity sim`: one deterministic simulation run (src/sim/simulation.ts), summarised as text or
 * as one JSON object. Exit 0 safe and live, 3 safety violation, 4 liveness failure (including a
 * run whose honest validators cannot form a quorum, where liveness cannot be shown), 2 usage
 * error. A failed run prints the exact command that replays it (same trace hash).
 */
import { ENGINE_NAMES } from '../../consensus/engine-names.ts';
import { BYZANTINE_MODES, type ByzantineMode } from '../../src/sim/byzantine.ts';
import { FAULT_KINDS, type FaultKind } from '../../src/sim/fault-plan.ts';
import type { SimOptions } from '../../src/sim/simulation.ts';
import { type Command, EXIT_OK, intOption, required, str, UsageError } from '../framework.ts';
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
  synopsis: `--engine NAME --nodes N [--byzantine B] [--byzantine-mode ${BYZANTINE_MODES.join('|')}] [--faults loss,dup,reorder,partition,clog,crash,skew,corrupt] [--seed S] [--duration 60s] [--txs N]`,
  description: [
    'Runs the real engine and runtime over a simulated network, disks and clocks in virtual time,',
    'then heals the network and checks that every honest node makes progress. Same seed, same trace.',
    '--byzantine may exceed what the engine tolerates: that is how negative controls are run. A',
    'crash-fault engine (raft) tolerates only silent validators: any other mode is beyond it.',
    'Byzantine modes: twins (two instances, one key), equivocate (conflicting messages to half the',
    'peers), silent, invalid-sig, garbage, replay (re-sends old signed messages of earlier heights,',
    'rounds and views it has seen or sent).',
    "Faults: corrupt damages a record of a crashed validator's consensus WAL (a flipped bit, a torn",
    'value, a misdirected write) when the fault model has room for it beside the Byzantine ones; the',
    'validator must notice it on restart (walRecordsDamaged counts them).',
    'Live means every honest node committed new blocks after healing, and requires an honest core',
    "that can form a quorum (>= n - f honest validators, f from the engine's fault model); with more",
    'Byzantine validators than that allows, the run is never live.',
    'Exit codes: 0 safe and live, 3 safety violation, 4 liveness failure, 2 usage error.',
    'A failed run prints the command that replays it exactly.',
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
      description: `one of ${BYZANTINE_MODES.join(', ')} (default twins)`,
    },
    faults: { type: 'string', valueName: 'LIST', description: `comma-separated: ${FAULT_KINDS.join(', ')}` },
    seed: { type: 'string', valueName: 'S', description: 'root seed (default 1)' },
    duration: {
      type: 'string',
      valueName: 'T',
      description: 'fault phase in simulated time: 60s, 1500ms, 2m (default 60s)',
    },
    txs: { type: 'string', valueName: 'N', description: 'transactions to submit (default 200)' },
  },
  examples: [
    'verity sim --engine tendermint --nodes 4 --byzantine 1 --byzantine-mode equivocate --faults loss,dup,partition --seed 7',
    'verity sim --engine pbft --nodes 7 --byzantine 2 --byzantine-mode replay --faults loss,dup,crash --seed 5',
    'verity sim --engine tendermint --nodes 4 --byzantine 2 --byzantine-mode twins --faults partition --seed 3   # negative control',
  ],
  async run({ values, out }) {
    const { name, params } = parseEngineFlag(required(values, 'engine'));
    // The engines and the simulator load only when a simulation runs (not for --help).
    const [{ engineNames, getEngine }, { replayCommand, runSimulation }] = await Promise.all([
      import('../../consensus/registry.ts'),
      import('../../src/sim/simulation.ts'),
    ]);
    const engine = getEngine(name);
    if (engine === undefined)
      throw new UsageError(`unknown engine "${name}" (known: ${engineNames().join(', ')})`);
    const nodes = intOption(values, 'nodes', -1, 1, 64);
    if (nodes < 1) throw new UsageError('--nodes is required');
    const byzantine = intOption(values, 'byzantine', 0, 0, nodes);
    const mode = (str(values, 'byzantine-mode') ?? 'twins') as ByzantineMode;
    if (!BYZANTINE_MODES.includes(mode))
      throw new UsageError(`--byzantine-mode must be one of ${BYZANTINE_MODES.join(', ')}`);
    const faultList = (str(values, 'faults') ?? '').split(',').filter(Boolean);
    for (const f of faultList)
      if (!FAULT_KINDS.includes(f as FaultKind))
        throw new UsageError(`unknown fault "${f}" (known: ${FAULT_KINDS.join(', ')})`);
    try {
      engine.parseParams(params);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const opts: SimOptions = {
      engine,
      engineParams: params,
      nodes,
      byzantine,
      byzantineMode: mode,
      faults: new Set(faultList as FaultKind[]),
      seed: str(values, 'seed') ?? '1',
      durationMs: parseDuration(str(values, 'duration') ?? '60s'),
      txs: intOption(values, 'txs', 200, 0, 1_000_000),
      onProgress: (p) => out.info(`  … ${p.phase}: t=${(p.timeMs / 1000).toFixed(0)}s height=${p.height}`),
    };
    const r = await runSimulation(opts);
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
        `simulated ${(r.simulatedMs / 1000).toFixed(1)} s in ${(r.wallMs / 1000).toFixed(1)} s: height ${r.committedHeight}, ${r.committedTxs} txs${r.demandTxs > 0 ? ` (+${r.demandTxs} after healing)` : ''}, ${r.viewChanges} view changes, ${r.messages} messages`,
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
