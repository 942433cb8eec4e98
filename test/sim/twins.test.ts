/**
 * Twins (src/sim/twins.ts): the scenario generator (counts, determinism, the string form), and the
 * search against real engines with default parameters — beyond the bound (two twins of four) a
 * safety violation is found, and its replay string reproduces it; within the bound (one twin of
 * four) sampled scenarios stay safe and live. The long runs (every scenario of two rounds within
 * the bound, HotStuff's search beyond it) are in test/long/twins.ts.
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import {
  effectiveRounds,
  formatScenario,
  generateScenarios,
  instanceNames,
  parseScenario,
  partitionsOf,
  runTwinsCampaign,
  runTwinsScenario,
  ScenarioError,
  spaceSize,
  twinsReplayCommand,
} from '../../src/sim/twins.ts';
import { parseJsonOutput, runVerity } from '../helpers/cli.ts';

describe('Twins scenario generator', () => {
  it('names the validators, then the twins', () => {
    expect(instanceNames(4, 2)).toEqual(['v0', 'v1', 'v2', 'v3', "v0'", "v1'"]);
  });

  it('counts partitions: Σ Stirling numbers S(m, k) for k up to the group limit', () => {
    const five = instanceNames(4, 1);
    expect(partitionsOf(five, 1)).toHaveLength(1);
    expect(partitionsOf(five, 2)).toHaveLength(1 + 15);
    expect(partitionsOf(five, 3)).toHaveLength(1 + 15 + 25);
    expect(partitionsOf(five, 5)).toHaveLength(52); // Bell(5)
    expect(partitionsOf(instanceNames(4, 2), 2)).toHaveLength(1 + 31);
    // The first is everybody together; every partition covers each instance once.
    expect(partitionsOf(five, 2)[0]).toEqual([five]);
    for (const p of partitionsOf(five, 3)) expect(p.flat().sort()).toEqual([...five].sort());
    expect(new Set(partitionsOf(five, 3).map((p) => JSON.stringify(p))).size).toBe(41);
  });

  it('enumerates every scenario when the space is small, in a fixed order', () => {
    const space = { nodes: 4, twins: 1, rounds: 2 };
    expect(spaceSize(space)).toBe(16 * 16);
    const all = generateScenarios(space, { limit: 256, seed: 'x' });
    expect(all.exhaustive).toBe(true);
    expect(all.scenarios).toHaveLength(256);
    expect(new Set(all.scenarios.map(formatScenario)).size).toBe(256);
    expect(formatScenario(all.scenarios[0] as never)).toBe("v0,v1,v2,v3,v0' / all");
    // The seed does not matter for an enumeration.
    expect(generateScenarios(space, { limit: 1000, seed: 'y' }).scenarios.map(formatScenario)).toEqual(
      all.scenarios.map(formatScenario),
    );
  });

  it('samples distinct scenarios, the same for the same seed', () => {
    const space = { nodes: 4, twins: 2, rounds: 4 };
    expect(spaceSize(space)).toBe(32 ** 4);
    const a = generateScenarios(space, { limit: 50, seed: '7' });
    const b = generateScenarios(space, { limit: 50, seed: '7' });
    const c = generateScenarios(space, { limit: 50, seed: '8' });
    expect(a.exhaustive).toBe(false);
    expect(a.scenarios.map(formatScenario)).toEqual(b.scenarios.map(formatScenario));
    expect(a.scenarios.map(formatScenario)).not.toEqual(c.scenarios.map(formatScenario));
    expect(new Set(a.scenarios.map(formatScenario)).size).toBe(50);
    for (const s of a.scenarios) expect(s.rounds).toHaveLength(4);
  });

  it('round-trips the scenario string, and reads groups in any order', () => {
    for (const s of generateScenarios({ nodes: 4, twins: 2, rounds: 3 }, { limit: 200, seed: 'rt' })
      .scenarios)
      expect(parseScenario(formatScenario(s))).toEqual(s);
    const s = parseScenario("v3, v0' | v2,v1,v0 / all");
    expect(formatScenario(s)).toBe("v0,v1,v2|v3,v0' / all");
    expect(s).toMatchObject({ nodes: 4, twins: 1 });
    expect(effectiveRounds(s)).toBe(1);
    // A scenario that cuts nobody off spells out its first round (the names fix n and B).
    const calm = parseScenario("v0,v1,v2,v3,v0',v1' / all");
    expect(formatScenario(calm)).toBe("v0,v1,v2,v3,v0',v1' / all");
    expect(effectiveRounds(calm)).toBe(0);
  });

  it('refuses malformed scenarios', () => {
    expect(() => parseScenario('')).toThrow(ScenarioError);
    expect(() => parseScenario('all / all')).toThrow(/fixes no cluster/);
    expect(() => parseScenario("v0,v1|v2,v3 / v0,v1,v2,v3,v0'")).toThrow(/missing v0'/);
    expect(() => parseScenario('v0,v1|v1,v2')).toThrow(/twice: v1/);
    expect(() => parseScenario('v0,x1')).toThrow(/not an instance name/);
  });
});

describe('Twins against the engines (default parameters)', () => {
  it('tendermint, two twins of four (beyond f = 1): a safety violation within 4 one-round scenarios', async () => {
    // Measured: of the 32 one-round scenarios (every 2-group partition of six instances), 7 break
    // agreement; in enumeration order the first is the 4th, v0,v1,v2,v3|v0',v1' — the twins'
    // second instances, cut off for one second, then vote against their first ones after healing.
    const g = generateScenarios({ nodes: 4, twins: 2, rounds: 1 }, { limit: 32, seed: 'twins' });
    expect(g.exhaustive).toBe(true);
    const c = await runTwinsCampaign(g.scenarios, { engine: tendermint, stopAtFirstUnsafe: true });
    expect(c.firstUnsafeAt).toBeDefined();
    expect(c.firstUnsafeAt as number).toBeLessThanOrEqual(4);
    const found = c.shortestUnsafe?.outcome;
    expect(found?.violations.some((v) => v.kind === 'agreement')).toBe(true);
    expect(found?.tolerated).toBe(false);

    // The replay string reproduces it exactly (same trace hash).
    const text = formatScenario(found?.scenario as never);
    const again = await runTwinsScenario(parseScenario(text), { engine: tendermint });
    expect(again.safe).toBe(false);
    expect(again.result.traceHash).toBe(found?.result.traceHash);
    expect(twinsReplayCommand(parseScenario(text), { engine: tendermint })).toBe(
      `verity sim --twins --engine tendermint --twins-scenario "${text}" --seed twins`,
    );
  }, 60_000);

  it('hotstuff, two twins of four: the violation the sampled search found replays', async () => {
    // Found by sampling: generateScenarios({ nodes: 4, twins: 2, rounds: 3 }, { limit: 300, seed:
    // '1' }) run with the default simulation seed ('twins') — the 199th of the 300, the first of
    // two unsafe ones; 300 scenarios take about two minutes, so that search is in
    // test/long/twins.ts. (Which scenario shows it moves with the message trace: until validators
    // stopped passing on each other's transactions, it was the 69th of the first 150.)
    const text = "v0,v1,v2|v3,v0',v1' / v0,v1,v2|v3,v0',v1' / v0,v3,v0'|v1,v2,v1'";
    const o = await runTwinsScenario(parseScenario(text), { engine: hotstuff });
    expect(o.violations.some((v) => v.kind === 'agreement')).toBe(true);
  }, 60_000);

  it('tendermint and hotstuff, one twin of four (within f = 1): sampled two-round scenarios stay safe and live', async () => {
    const space = { nodes: 4, twins: 1, rounds: 2 };
    for (const [engine, k] of [
      [tendermint, 24],
      [hotstuff, 12],
    ] as const) {
      const g = generateScenarios(space, { limit: k, seed: 'within' });
      const c = await runTwinsCampaign(g.scenarios, { engine });
      expect(c.ran).toBe(k);
      const unsafe = c.shortestUnsafe?.outcome.scenario;
      expect(c.unsafe, `${engine.name}: ${unsafe === undefined ? '' : formatScenario(unsafe)}`).toBe(0);
    }
  }, 120_000);

  it('verity sim --twins: a search exits 3 and prints a replay that exits 3 again; usage errors exit 2', async () => {
    const search = await runVerity(
      [
        'sim',
        '--twins',
        '--engine',
        'tendermint',
        '--nodes',
        '4',
        '--byzantine',
        '2',
        '--rounds',
        '1',
        '--scenarios',
        '6',
        '--leaders',
        'rotation',
        '--json',
      ],
      { timeoutMs: 120_000 },
    );
    expect(search.code, search.stderr).toBe(3);
    const s = parseJsonOutput(search) as {
      ran: number;
      unsafe: number;
      exhaustive: boolean;
      scenariosPerSecond: number;
      shortestUnsafe: { scenario: string; replay: string };
    };
    expect(s.ran).toBe(6);
    expect(s.unsafe).toBeGreaterThan(0);
    expect(s.scenariosPerSecond).toBeGreaterThan(0);
    const scenario = s.shortestUnsafe.scenario;
    expect(s.shortestUnsafe.replay).toBe(
      `verity sim --twins --engine tendermint --twins-scenario "${scenario}" --seed twins`,
    );
    const replay = await runVerity(
      ['sim', '--twins', '--engine', 'tendermint', '--twins-scenario', scenario, '--seed', 'twins', '--json'],
      { timeoutMs: 120_000 },
    );
    expect(replay.code, replay.stderr).toBe(3);
    expect((parseJsonOutput(replay) as { ran: number; unsafe: number }).unsafe).toBe(1);
    // A scenario that chooses its leader (the leader search's first unsafe one-round scenario).
    const led = await runVerity(
      [
        'sim',
        '--twins',
        '--engine',
        'tendermint',
        '--twins-scenario',
        "v0,v1,v2,v3|v0',v1' ; leaders v1",
        '--json',
      ],
      { timeoutMs: 120_000 },
    );
    expect(led.code, led.stderr).toBe(3);
    const bad = await Promise.all(
      [
        ['--twins', '--engine', 'tendermint', '--twins-scenario', 'v0,v1|v1'],
        ['--twins', '--engine', 'tendermint', '--nodes', '4'],
        ['--twins', '--engine', 'tendermint', '--nodes', '4', '--byzantine', '1', '--faults', 'loss'],
        ['--engine', 'tendermint', '--nodes', '4', '--rounds', '2'],
        ['--twins', '--engine', 'tendermint', '--nodes', '4', '--byzantine', '1', '--leaders', 'sometimes'],
        ['--twins', '--engine', 'raft', '--nodes', '4', '--byzantine', '1', '--leaders', 'search'],
        ['--twins', '--engine', 'raft', '--twins-scenario', "v0,v1|v2,v3,v0' ; leaders v1"],
      ].map((args) => runVerity(['sim', ...args])),
    );
    for (const r of bad) expect(r.code, r.stderr).toBe(2);
  }, 120_000);
});
