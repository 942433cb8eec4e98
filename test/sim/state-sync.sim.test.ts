/**
 * State sync through the real runtime in the simulator: a validator is down while the others
 * commit, then comes back with its chain data wiped (`verity reset` keeps only keys and the sign
 * fence) and catches up from a peer's snapshot instead of replaying every block — then commits
 * with the others. The negative control, state sync off, replays every block. (What a snapshot
 * must pass: test/unit/snapshot.test.ts; the runtime against lying peers: runtime-sync.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { algorand } from '../../consensus/algorand/index.ts';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { multipaxos } from '../../consensus/multipaxos/index.ts';
import { pbft } from '../../consensus/pbft/index.ts';
import { raft } from '../../consensus/raft/index.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

const RESET = 3;

async function run(engine: EngineModule<unknown>, snapshotLead: number) {
  let outcome = { snapshots: 0, synced: 0, lowest: 0, height: 0, othersHeight: 0 };
  let heightAtReset = 0;
  const r = await runSimulation({
    engine,
    nodes: 4,
    byzantine: 0,
    byzantineMode: 'twins',
    faults: new Set(['loss', 'reorder']),
    durationMs: 60_000,
    txs: engine.emptyBlocks ? 400 : 4000,
    seed: `state-sync-${engine.name}`,
    snapshotLead,
    scenario: (ctl) => {
      const instance = ctl.instancesOf(RESET)[0] as number;
      ctl.at(1_000, () => ctl.crash(instance));
      ctl.at(45_000, async () => {
        heightAtReset = ctl.runtime(ctl.instancesOf(0)[0] as number)?.chain.height ?? 0;
        await ctl.restart(instance, { wipeChain: true, wipeWal: true });
      });
    },
    inspect: (ctl) => {
      const rt = ctl.runtime(ctl.instancesOf(RESET)[0] as number);
      const other = ctl.runtime(ctl.instancesOf(0)[0] as number);
      outcome = {
        snapshots: rt?.counters.snapshots ?? -1,
        synced: rt?.counters.syncedBlocks ?? -1,
        lowest: rt?.chain.lowestBlock ?? -1,
        height: rt?.chain.height ?? -1,
        othersHeight: other?.chain.height ?? -1,
      };
    },
  });
  return { r, outcome, heightAtReset };
}

describe('state sync (simulator): a wiped validator catches up from a snapshot', () => {
  for (const engine of [raft, multipaxos, tendermint, pbft, hotstuff, algorand] as EngineModule<unknown>[]) {
    it(`${engine.name}: installs a peer's snapshot, replays only what followed, and keeps up`, async () => {
      const { r, outcome, heightAtReset } = await run(engine, 10);
      expect(r.safe, JSON.stringify(r.violations)).toBe(true);
      expect(r.live, r.livenessFailure).toBe(true);
      expect(heightAtReset).toBeGreaterThan(10);
      expect(outcome.snapshots, JSON.stringify(outcome)).toBe(1);
      // Blocks below the snapshot were never fetched: far fewer replayed than the chain's height.
      expect(outcome.lowest).toBeGreaterThanOrEqual(heightAtReset - 2);
      expect(outcome.synced).toBeLessThan(outcome.height - heightAtReset + 10);
      expect(outcome.height).toBeGreaterThanOrEqual(outcome.othersHeight - 2);
    });
  }

  it('negative control: with state sync off the wiped validator replays every block', async () => {
    const { r, outcome, heightAtReset } = await run(raft as EngineModule<unknown>, 0);
    expect(r.safe, JSON.stringify(r.violations)).toBe(true);
    expect(outcome.snapshots).toBe(0);
    expect(outcome.lowest).toBe(1);
    // Every block from the first, by block sync or (Raft) the leader's log: which carries how many
    // depends on the trace.
    expect(outcome.synced).toBeGreaterThan(0);
    expect(outcome.height, JSON.stringify({ outcome, heightAtReset })).toBeGreaterThanOrEqual(heightAtReset);
  });
});
