/**
 * Options of one sweep run (shared by the vitest sweeps and the long sweep script). Odd seeds run
 * n = 4, even seeds n = 7, each with f Byzantine validators; the mode rotates with ⌊seed/2⌋ over
 * every mode in BYZANTINE_MODES (six: twins, equivocate, silent, invalid-sig, garbage, replay), so
 * any 12 consecutive seeds run every mode at both committee sizes. Every fault kind is on, the
 * fault phase lasts 60 simulated seconds, and the workload submits 100 transactions.
 * Every third seed runs one Byzantine validator fewer, which leaves the fault model room for the
 * `corrupt` storage fault (a validator whose WAL lost a record refuses to sign until the chain
 * passes it, so it counts among the f): the simulator damages that validator's WAL records then.
 *
 * A crash-fault engine (fault model 'crash') runs n = 3, 5, 7 in turn, with f silent validators
 * (permanently crashed: the only Byzantine behaviour its model admits) — or f − 1 and damaged
 * WALs on every other triple of seeds — and the same network, node and clock faults.
 */
import type { EngineModule } from '../../consensus/types.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { BYZANTINE_MODES } from '../../src/sim/byzantine.ts';
import { FAULT_KINDS, type SimOptions } from '../../src/sim/simulation.ts';

export function sweepMode(seed: number): SimOptions['byzantineMode'] {
  return BYZANTINE_MODES[Math.floor(seed / 2) % BYZANTINE_MODES.length] as SimOptions['byzantineMode'];
}

const CRASH_SIZES = [3, 5, 7] as const;

export function sweepOptions(engine: EngineModule<unknown>, seed: number, params?: EngineParams): SimOptions {
  const model = engine.faultModel;
  const crash = model.kind === 'crash';
  const nodes = crash ? (CRASH_SIZES[seed % 3] as number) : seed % 2 === 1 ? 4 : 7;
  const roomForStorageFaults = crash ? Math.floor(seed / 3) % 2 === 1 : seed % 3 === 0;
  return {
    engine,
    ...(params === undefined ? {} : { engineParams: params }),
    nodes,
    byzantine: Math.max(0, model.tolerated(nodes) - (roomForStorageFaults ? 1 : 0)),
    byzantineMode: crash ? 'silent' : sweepMode(seed),
    faults: new Set(FAULT_KINDS),
    seed: `sweep-${seed}`,
    durationMs: 60_000,
    txs: 100,
  };
}
