/** Options of one sweep run (shared by the vitest sweeps and the long sweep script). */
import type { EngineModule } from '../../consensus/types.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { BYZANTINE_MODES } from '../../src/sim/byzantine.ts';
import { FAULT_KINDS, type SimOptions, toleratedByzantine } from '../../src/sim/simulation.ts';

export function sweepOptions(engine: EngineModule<unknown>, seed: number, params?: EngineParams): SimOptions {
  const nodes = seed % 2 === 1 ? 4 : 7;
  return {
    engine,
    ...(params === undefined ? {} : { engineParams: params }),
    nodes,
    byzantine: toleratedByzantine(nodes, engine.faultModel === 'bft' ? 'bft' : 'cft'),
    byzantineMode: BYZANTINE_MODES[
      Math.floor(seed / 2) % BYZANTINE_MODES.length
    ] as SimOptions['byzantineMode'],
    faults: new Set(FAULT_KINDS),
    seed: `sweep-${seed}`,
    durationMs: 60_000,
    txs: 100,
  };
}
