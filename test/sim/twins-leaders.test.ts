/**
 * Twins scenarios choose leaders (src/sim/twins.ts, issue 18): the shared rotation
 * (consensus/proposer.ts) takes a harness's leader per rotation position, every engine whose
 * module says `leaderRotation` honours it unchanged, and the leader search finds HotStuff's
 * violation with default parameters in a handful of two-round scenarios where the partition-only
 * search needed 69 three-round ones.
 */
import { describe, expect, it } from 'vitest';
import { hotstuff } from '../../consensus/hotstuff/index.ts';
import { pbft } from '../../consensus/pbft/index.ts';
import { ProposerSchedule } from '../../consensus/proposer.ts';
import { raft } from '../../consensus/raft/index.ts';
import { tendermint } from '../../consensus/tendermint/index.ts';
import type { EngineModule } from '../../consensus/types.ts';
import { toHex, utf8 } from '../../crypto/bytes.ts';
import { ed25519 } from '../../crypto/ed25519.ts';
import { sha256 } from '../../crypto/hash.ts';
import { peerIdFromEd25519, ValidatorSet } from '../../ledger/validators.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import {
  formatScenario,
  generateScenarios,
  parseScenario,
  runTwinsCampaign,
  runTwinsScenario,
  ScenarioError,
  spaceSize,
  twinsSimOptions,
} from '../../src/sim/twins.ts';

function equalSet(n: number): ValidatorSet {
  return new ValidatorSet(
    Array.from({ length: n }, (_, i) => {
      const ed = ed25519.keygen(sha256(utf8(`leaders-${i}`)));
      return {
        name: `v${i}`,
        publicKey: ed.publicKey,
        blsPublicKey: new Uint8Array(48).fill(i + 1), // placeholders: not used here
        blsPop: new Uint8Array(96),
        peerId: peerIdFromEd25519(ed.publicKey),
        power: 1,
      };
    }),
  );
}

describe('the rotation takes a chosen leader per position', () => {
  it('forced positions only; the rotation elsewhere; an index outside the set is ignored', () => {
    const set = equalSet(4);
    const plain = new ProposerSchedule(set);
    const forced = new ProposerSchedule(set, (p) => (p === 3 ? 2 : p === 5 ? 9 : undefined));
    for (let h = 0; h < 8; h++)
      for (let r = 0; r < 3; r++)
        expect(forced.proposer(h, r), `(${h}, ${r})`).toBe(h + r === 3 ? 2 : plain.proposer(h, r));
  });
});

/** Proposers of blocks 1 … 6 of node 0's chain, as validator indexes. */
async function proposersUnder(
  engine: EngineModule<unknown>,
  leaderOverride?: (p: number) => number | undefined,
) {
  const proposers: number[] = [];
  const r = await runSimulation({
    engine,
    nodes: 4,
    byzantine: 0,
    byzantineMode: 'twins',
    faults: new Set(),
    seed: 'leaders',
    durationMs: 8000,
    txs: 10,
    ...(leaderOverride === undefined ? {} : { leaderOverride }),
    inspect: async (ctl) => {
      const chain = ctl.runtime(0)?.chain;
      if (chain === undefined) throw new Error('node 0 is down');
      for (let h = 1; h <= Math.min(6, chain.head.height); h++) {
        const block = await chain.getBlock(h);
        const set = await chain.validatorsFor(h);
        const at = set.validators.findIndex(
          (v) => toHex(v.address) === toHex(block?.header.proposer ?? new Uint8Array()),
        );
        proposers.push(at);
      }
    },
  });
  expect(r.safe).toBe(true);
  return proposers;
}

describe('engines with leaderRotation honour the chosen leaders, unchanged', () => {
  for (const engine of [tendermint, hotstuff, pbft] as EngineModule<unknown>[])
    it(`${engine.name}: every block proposed by the chosen v2; without a choice, not (negative control)`, async () => {
      expect(engine.leaderRotation).toBe(true);
      const chosen = await proposersUnder(engine, () => 2);
      expect(chosen.length).toBeGreaterThanOrEqual(4);
      expect(new Set(chosen)).toEqual(new Set([2]));
      const own = await proposersUnder(engine);
      expect(own.length).toBeGreaterThanOrEqual(4);
      // PBFT keeps one primary until a view change: the rotation's own is not v2 either.
      expect(own.some((v) => v !== 2)).toBe(true);
    }, 60_000);
});

describe('Twins scenarios with leaders', () => {
  it('each round also picks one of the n validators: the space grows n-fold per round, in a fixed order', () => {
    const space = { nodes: 4, twins: 1, rounds: 2 };
    expect(spaceSize({ ...space, leaders: true })).toBe(spaceSize(space) * 4 ** 2);
    const all = generateScenarios({ nodes: 4, twins: 1, rounds: 1, leaders: true }, { limit: 64, seed: 'x' });
    expect(all.exhaustive).toBe(true);
    expect(all.scenarios).toHaveLength(64);
    expect(all.scenarios.slice(0, 5).map(formatScenario)).toEqual([
      "v0,v1,v2,v3,v0' ; leaders v0",
      "v0,v1,v2,v3,v0' ; leaders v1",
      "v0,v1,v2,v3,v0' ; leaders v2",
      "v0,v1,v2,v3,v0' ; leaders v3",
      "v0,v1,v2,v3|v0' ; leaders v0",
    ]);
    expect(new Set(all.scenarios.map(formatScenario)).size).toBe(64);
  });

  it('round-trips the scenario string with its leaders; refuses a leader that is not a validator', () => {
    for (const s of generateScenarios(
      { nodes: 4, twins: 2, rounds: 3, leaders: true },
      { limit: 100, seed: 'rt' },
    ).scenarios) {
      expect(s.leaders).toHaveLength(3);
      expect(parseScenario(formatScenario(s))).toEqual(s);
    }
    expect(() => parseScenario("v0,v1|v2,v3,v0' ; leaders v4")).toThrow(ScenarioError);
    expect(() => parseScenario("v0,v1|v2,v3,v0' ; leaders v0'")).toThrow(ScenarioError);
    expect(() => parseScenario("v0,v1|v2,v3,v0' ; chiefs v0")).toThrow(ScenarioError);
    expect(() => parseScenario("v0,v1|v2,v3,v0' ; leaders v0 ; leaders v1")).toThrow(ScenarioError);
  });

  it('an engine without a rotation refuses a scenario that chooses leaders', () => {
    expect(raft.leaderRotation).toBeUndefined();
    expect(() => twinsSimOptions(parseScenario("v0,v1|v2,v3,v0' ; leaders v1"), { engine: raft })).toThrow(
      /does not take its leaders/,
    );
  });

  it('hotstuff, two twins of four, default parameters: the leader search finds a safety violation within 9 sampled two-round scenarios, and it replays', async () => {
    // Measured: generateScenarios({ nodes: 4, twins: 2, rounds: 2, leaders: true }, { limit: 300,
    // seed: '1' }) is unsafe first at its 9th scenario; without leaders the search needed the 69th
    // of 150 three-round scenarios (test/sim/twins.test.ts).
    const g = generateScenarios({ nodes: 4, twins: 2, rounds: 2, leaders: true }, { limit: 9, seed: '1' });
    const c = await runTwinsCampaign(g.scenarios, { engine: hotstuff, stopAtFirstUnsafe: true });
    expect(c.firstUnsafeAt).toBeDefined();
    const found = c.shortestUnsafe?.outcome;
    expect(found?.violations.some((v) => v.kind === 'agreement')).toBe(true);
    const again = await runTwinsScenario(parseScenario(formatScenario(found?.scenario as never)), {
      engine: hotstuff,
    });
    expect(again.result.traceHash).toBe(found?.result.traceHash);
  }, 120_000);
});
