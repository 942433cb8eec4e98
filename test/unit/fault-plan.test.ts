/**
 * The simulator's fault plan (src/sim/fault-plan.ts) is a pure function: random source and cluster
 * shape in, schedule out. Its properties are checked over many seeds by `planProblems`, which has a
 * negative control of its own.
 */
import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../consensus/rng.ts';
import {
  FAULT_KINDS,
  type FaultAction,
  type FaultKind,
  type FaultPlan,
  type FaultPlanInput,
  type PlanNode,
  planFaults,
} from '../../src/sim/fault-plan.ts';

/** n validators, the first `byz` Byzantine; with `twins`, each Byzantine one runs two instances. */
function cluster(n: number, byz: number, twins: boolean): PlanNode[] {
  const nodes: PlanNode[] = [];
  for (let v = 0; v < n; v++) {
    nodes.push({ id: nodes.length, validator: v, byzantine: v < byz });
    if (twins && v < byz) nodes.push({ id: nodes.length, validator: v, byzantine: true });
  }
  return nodes;
}

function input(over: Partial<FaultPlanInput> = {}): FaultPlanInput {
  return {
    faults: new Set(FAULT_KINDS),
    durationMs: 60_000,
    nodes: cluster(4, 1, false),
    walVictims: [2],
    twins: false,
    ...over,
  };
}

/** Everything a plan must satisfy for its input; empty when it does. */
function planProblems(plan: FaultPlan, p: FaultPlanInput): string[] {
  const problems: string[] = [];
  const ids = new Set(p.nodes.map((n) => n.id));
  const kindOf: Record<FaultAction['kind'], FaultKind | undefined> = {
    partition: 'partition',
    'cut-links': 'partition',
    heal: 'partition',
    cut: 'clog',
    restore: 'clog',
    crash: 'crash',
    pause: 'crash',
    'corrupt-wal': 'corrupt',
    restart: undefined,
  };
  let last = 0;
  const restarts = plan.actions.filter((a) => a.kind === 'restart');
  for (const [i, a] of plan.actions.entries()) {
    const k = kindOf[a.kind];
    if (k !== undefined && !p.faults.has(k)) problems.push(`${a.kind} without the ${k} fault`);
    // A clog restores its links at the pace it cut them, so the last restores may fall up to a
    // window's length past the fault phase (the liveness phase has healed every link by then).
    const limit = a.kind === 'restore' ? p.durationMs + 5_000 : p.durationMs;
    if (a.at < 0 || a.at > limit) problems.push(`${a.kind} at ${a.at} outside the fault phase`);
    if ('node' in a && !ids.has(a.node)) problems.push(`${a.kind} of unknown node ${a.node}`);
    if (a.kind === 'corrupt-wal' && !p.walVictims.includes(a.node))
      problems.push(`corrupt-wal of ${a.node}, not a WAL victim`);
    if (a.kind === 'pause' && (a.untilMs <= a.at || a.untilMs > p.durationMs))
      problems.push(`pause until ${a.untilMs}`);
    if (
      (a.kind === 'crash' || a.kind === 'corrupt-wal') &&
      !restarts.some((r) => r.node === a.node && r.at > a.at && plan.actions.indexOf(r) > i)
    )
      problems.push(`${a.kind} of ${a.node} at ${a.at} is never followed by a restart`);
    if (a.kind === 'partition') {
      const all = a.groups.flat();
      if (all.length !== ids.size || new Set(all).size !== ids.size || a.groups.some((g) => g.length === 0))
        problems.push(`partition ${JSON.stringify(a.groups)} is not a split of every node`);
    }
    if (a.kind === 'partition' || a.kind === 'cut-links') {
      const heal = plan.actions.slice(i + 1).find((b) => b.kind === 'heal');
      if (heal === undefined || heal.at <= a.at) problems.push(`${a.kind} at ${a.at} never heals`);
    }
    if (a.kind === 'cut-links' && a.links.some(([x, y]) => x === y || !ids.has(x) || !ids.has(y)))
      problems.push('cut-links names a link that does not exist');
    // Window starts move forward (actions at one time keep their order).
    if (a.kind !== 'heal' && a.kind !== 'restart' && a.kind !== 'cut' && a.kind !== 'restore') {
      if (a.at < last) problems.push(`${a.kind} at ${a.at} starts before the previous window (${last})`);
      last = a.at;
    }
  }
  if (!p.faults.has('skew') && plan.skewMs.size > 0) problems.push('skew without the skew fault');
  for (const s of plan.skewMs.values()) if (Math.abs(s) > 1500) problems.push(`skew ${s} ms`);
  if (!p.faults.has('loss') && plan.network.loss !== undefined) problems.push('loss without the loss fault');
  return problems;
}

describe('fault plan', () => {
  it('is a pure function of the random source: same seed, same plan; another seed, another plan', () => {
    const p = input({ nodes: cluster(4, 1, true), twins: true });
    const a = planFaults(new SeededRng('s1'), p);
    const b = planFaults(new SeededRng('s1'), p);
    const c = planFaults(new SeededRng('s2'), p);
    expect(JSON.stringify([...a.skewMs], undefined)).toBe(JSON.stringify([...b.skewMs]));
    expect(a).toEqual(b);
    expect(c.actions).not.toEqual(a.actions);
  });

  it('keeps every property over 300 seeds × shapes (n ∈ {4, 7}, twins or not, every fault or some)', () => {
    const shapes: FaultPlanInput[] = [
      input(),
      input({ nodes: cluster(4, 1, true), twins: true, walVictims: [] }),
      input({ nodes: cluster(7, 2, true), twins: true, walVictims: [] }),
      input({ nodes: cluster(7, 1, false), walVictims: [3] }),
      input({ faults: new Set<FaultKind>(['crash', 'skew']), walVictims: [] }),
      input({ faults: new Set<FaultKind>(['partition', 'corrupt']), durationMs: 20_000 }),
    ];
    const seen = new Set<string>();
    for (let seed = 0; seed < 50; seed++)
      for (const p of shapes) {
        const plan = planFaults(new SeededRng(`plan-${seed}`), p);
        expect(planProblems(plan, p), `seed ${seed}`).toEqual([]);
        for (const a of plan.actions) seen.add(a.kind);
      }
    // The seeds exercise every kind of action.
    expect([...seen].sort()).toEqual(
      ['crash', 'corrupt-wal', 'cut', 'cut-links', 'heal', 'partition', 'pause', 'restart', 'restore'].sort(),
    );
  });

  it('plans nothing without faults, and no corrupt-wal without a WAL victim', () => {
    const none = planFaults(new SeededRng('x'), input({ faults: new Set() }));
    expect(none.actions).toEqual([]);
    expect(none.network).toEqual({});
    expect(none.skewMs.size).toBe(0);
    for (let seed = 0; seed < 30; seed++) {
      const plan = planFaults(
        new SeededRng(`c-${seed}`),
        input({ faults: new Set<FaultKind>(['corrupt', 'crash']), walVictims: [] }),
      );
      expect(plan.actions.some((a) => a.kind === 'corrupt-wal')).toBe(false);
    }
  });

  it('with twins, about half the partitions split each twin pair across sides and halve the honest nodes', () => {
    const p = input({ faults: new Set<FaultKind>(['partition']), nodes: cluster(7, 2, true), twins: true });
    let partitions = 0;
    let twinSplits = 0;
    for (let seed = 0; seed < 40; seed++)
      for (const a of planFaults(new SeededRng(`t-${seed}`), p).actions) {
        if (a.kind !== 'partition' && a.kind !== 'cut-links') continue;
        partitions++;
        if (a.kind !== 'partition' || a.groups.length !== 2) continue;
        const validators = a.groups.map((g) => g.map((id) => p.nodes[id] as PlanNode));
        const eachTwinOnBothSides = [0, 1].every((v) =>
          validators.every((side) => side.filter((n) => n.validator === v).length === 1),
        );
        const honest = validators.map((side) => side.filter((n) => !n.byzantine).length);
        if (eachTwinOnBothSides && Math.abs((honest[0] as number) - (honest[1] as number)) <= 1) twinSplits++;
      }
    // A coin picks a twin split or an ordinary partition for each window.
    expect(twinSplits / partitions).toBeGreaterThan(0.4);
  });

  it('negative control: the property check rejects plans that break each property', () => {
    const p = input();
    const ok = planFaults(new SeededRng('neg'), p);
    expect(planProblems(ok, p)).toEqual([]);
    const bad: Array<[string, FaultAction[]]> = [
      ['outside the fault phase', [{ at: 61_000, kind: 'heal' }]],
      ['cut at 60500 outside the fault phase', [{ at: 60_500, kind: 'cut', from: 0, to: 1 }]],
      ['never followed by a restart', [{ at: 5_000, kind: 'crash', node: 1, loseUnsynced: false }]],
      [
        'not a WAL victim',
        [
          { at: 5_000, kind: 'corrupt-wal', node: 1 },
          { at: 6_000, kind: 'restart', node: 1 },
        ],
      ],
      [
        'not a split',
        [
          {
            at: 5_000,
            kind: 'partition',
            groups: [
              [0, 1],
              [1, 2, 3],
            ],
          },
          { at: 6_000, kind: 'heal' },
        ],
      ],
      [
        'never heals',
        [
          {
            at: 5_000,
            kind: 'partition',
            groups: [
              [0, 1],
              [2, 3],
            ],
          },
        ],
      ],
      ['unknown node', [{ at: 5_000, kind: 'pause', node: 9, untilMs: 6_000 }]],
    ];
    for (const [problem, actions] of bad)
      expect(planProblems({ ...ok, actions }, p).join('\n')).toContain(problem);
    const noClog = input({ faults: new Set<FaultKind>(['crash']) });
    expect(planProblems({ ...ok, actions: [{ at: 100, kind: 'cut', from: 0, to: 1 }] }, noClog)).toContain(
      'cut without the clog fault',
    );
  });
});
