/**
 * Shared simulator tests for engines: sweeps over many seeds (n ∈ {4, 7}, f Byzantine validators
 * rotating through every mode — replay of old messages included — every network and node fault,
 * 60 simulated seconds of faults, then a healed liveness phase on an honest quorum), the negative
 * control and the determinism check. Each failure names the command that replays it (exact:
 * `verity sim` with those flags gives the same trace hash).
 */
import { describe, expect, it } from 'vitest';
import type { EngineModule } from '../../consensus/types.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import { replayCommand, runSimulation, type SimOptions } from '../../src/sim/simulation.ts';
import { sweepMode, sweepOptions } from './sweep-options.ts';

export { sweepMode, sweepOptions };

export interface SweepResult {
  readonly heights: number[];
  readonly failures: string[];
  /** WAL records the `corrupt` fault damaged over the sweep (each noticed, or it is a failure). */
  readonly walRecordsDamaged: number;
}

/**
 * For seeds found before the sweep gave every third seed one Byzantine validator fewer (to make
 * room for storage faults): the options they failed with — f Byzantine (then no WAL is damaged,
 * and the run replays exactly as it did).
 */
export function asFound(engine: EngineModule<unknown>, seed: number): Partial<SimOptions> {
  return { byzantine: engine.faultModel.tolerated(sweepOptions(engine, seed).nodes) };
}

/** Runs seeds `from..to` (inclusive); `override` adjusts each seed's options (e.g. pins a mode). */
export async function sweep(
  engine: EngineModule<unknown>,
  from: number,
  to: number,
  params?: EngineParams,
  override?: (seed: number) => Partial<SimOptions>,
): Promise<SweepResult> {
  const failures: string[] = [];
  const heights: number[] = [];
  let walRecordsDamaged = 0;
  for (let seed = from; seed <= to; seed++) {
    const o = { ...sweepOptions(engine, seed, params), ...override?.(seed) };
    const r = await runSimulation(o);
    heights.push(r.committedHeight);
    walRecordsDamaged += r.walRecordsDamaged;
    if (!r.safe || !r.live) {
      failures.push(
        `${r.safe ? `liveness (${r.livenessFailure})` : `safety (${r.violations[0]?.kind}: ${r.violations[0]?.detail})`} — replay: ${replayCommand(o)}`,
      );
    }
  }
  return { heights, failures, walRecordsDamaged };
}

/** `minHeight`: the least committed height every run must reach (default 3: more than the liveness phase's two). */
export function expectClean(result: SweepResult, minHeight = 3): void {
  expect(result.failures, result.failures.join('\n')).toEqual([]);
  // Every run made real progress, not just the liveness phase's minimum.
  expect(Math.min(...result.heights)).toBeGreaterThanOrEqual(minHeight);
}

/**
 * Twins beyond the fault model: some seed must show an agreement violation. For a Byzantine-fault
 * engine, two of four validators with twins (more than 1/3 of the power); for a crash-fault
 * engine, one twin of three — a single validator that lies is already outside its model.
 */
export async function negativeControlCaught(
  engine: EngineModule<unknown>,
  params?: EngineParams,
  opts: { seeds?: number; durationMs?: number } = {},
): Promise<boolean> {
  const crash = engine.faultModel.kind === 'crash';
  for (let s = 1; s <= (opts.seeds ?? 3); s++) {
    const r = await runSimulation({
      engine,
      ...(params === undefined ? {} : { engineParams: params }),
      nodes: crash ? 3 : 4,
      byzantine: crash ? 1 : 2,
      byzantineMode: 'twins',
      faults: new Set(['partition']),
      seed: `negative-${s}`,
      // A twin breaks a crash-fault engine only across an election in a partition: longer runs.
      durationMs: opts.durationMs ?? (crash ? 60_000 : 30_000),
      txs: crash ? 100 : 50,
    });
    expect(r.tolerated).toBe(false);
    // Two honest validators of four are no quorum: such a run can never count as live.
    if (!crash) expect(r.live).toBe(false);
    if (r.violations.some((v) => v.kind === 'agreement')) return true;
  }
  return false;
}

export async function expectDeterministic(
  engine: EngineModule<unknown>,
  params?: EngineParams,
): Promise<void> {
  // Seed 11 (n = 4) runs the replay mode, whose choices all come from the seeded RNG.
  expect(sweepMode(11)).toBe('replay');
  const a = await runSimulation(sweepOptions(engine, 11, params));
  const b = await runSimulation(sweepOptions(engine, 11, params));
  const c = await runSimulation(sweepOptions(engine, 3, params));
  expect(a.traceHash).toBe(b.traceHash);
  expect(a.committedHeight).toBe(b.committedHeight);
  expect(c.traceHash).not.toBe(a.traceHash);
}

/** The standard simulator suite for an engine with one configuration. */
/**
 * `from`: the first seed (an engine whose runs are costly splits its seeds over two files, which
 * vitest runs side by side); `controls: false` leaves out the negative control and the
 * determinism check (run once, in the other file); `minHeight`: see expectClean.
 */
export function engineSimSuite(
  engine: EngineModule<unknown>,
  seeds = 50,
  opts: { readonly from?: number; readonly controls?: boolean; readonly minHeight?: number } = {},
): void {
  const from = opts.from ?? 1;
  describe(`${engine.name} under the simulator`, () => {
    const crash = engine.faultModel.kind === 'crash';
    const shape = crash
      ? 'n ∈ {3, 5, 7}, f silent, or f − 1 and damaged WALs'
      : 'n ∈ {4, 7}, f Byzantine in every mode, or f − 1 and damaged WALs';
    const range = from === 1 ? `${seeds} seeds` : `seeds ${from}–${from + seeds - 1}`;
    it(`${range} × 60 s of faults (${shape}): safe, then live after healing`, async () => {
      const result = await sweep(engine, from, from + seeds - 1);
      expectClean(result, opts.minHeight);
      expect(result.walRecordsDamaged).toBeGreaterThan(0);
    }, 900_000);
    if (opts.controls === false) return;

    it(`negative control: ${crash ? 'one twin of three (a validator that lies)' : 'twins holding more than 1/3 of the power'} breaks agreement, and the checker says so`, async () => {
      expect(await negativeControlCaught(engine)).toBe(true);
    }, 300_000);

    it('is deterministic: same seed, same trace hash; another seed, another trace', async () => {
      await expectDeterministic(engine);
    }, 300_000);
  });
}
