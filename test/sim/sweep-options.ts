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
  if (model.kind === 'byzantine' && model.byzantineModes !== 'all')
    return hashPowerSweepOptions(engine, seed, model.byzantineModes, params);
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

/**
 * An engine whose safety is a share of hash power (Proof of Work): n = 4 or 7 with one Byzantine
 * miner (a quarter or a seventh of the hash power: k-deep reversals stay improbable at the
 * simulator's k, where a larger share would make them expected, not a bug), rotating through
 * the behaviours its fault model lists.
 *
 * Every fault kind is on, as for the other engines (`corrupt` may damage a block a miner keeps in
 * its WAL, which it must notice; peers have the block). Crashes are why every block above the
 * committed head is kept in the WAL: without it the network forgot its uncommitted chain as nodes
 * restarted, and the chain never got k deep.
 */
function hashPowerSweepOptions(
  engine: EngineModule<unknown>,
  seed: number,
  modes: readonly string[],
  params?: EngineParams,
): SimOptions {
  return {
    engine,
    ...(params === undefined ? {} : { engineParams: params }),
    nodes: seed % 2 === 1 ? 4 : 7,
    byzantine: 1,
    byzantineMode: modes[Math.floor(seed / 2) % modes.length] as SimOptions['byzantineMode'],
    faults: new Set(FAULT_KINDS),
    seed: `sweep-${seed}`,
    durationMs: 60_000,
    txs: 100,
  };
}
