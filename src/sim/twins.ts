/**
 * Twins (Bano, Sonnino, Chursin, Perelman, Malkhi, "Twins: BFT Systems Made Robust", 2022): an
 * adversary that searches instead of rolling dice. A small cluster (n validators) in which B of
 * them have twins — two instances running the honest engine with one key — is put through a
 * scenario: for each of R rounds, a partition of the n + B instances into groups that can talk
 * only among themselves. Every scenario runs the unchanged engine through the simulator, whose
 * checkers judge safety (agreement and the others) and, after healing, liveness.
 *
 * Instances are named by validator: `v0 … v{n−1}`, and `v0' … v{B−1}'` for the twins (the twinned
 * validators are the first B; with equal power, which ones does not matter beyond the proposer
 * rotation, and the partitions enumerate every way of splitting them anyway). A scenario reads
 * as its rounds separated by `/`, each round its groups separated by `|`, or `all` when nobody
 * is cut off:
 *
 *     v0,v1,v2|v3,v0',v1' / all / v0,v3|v1,v2,v0',v1'
 *
 * Rounds are **time slots**: round r is the window [r·W, (r+1)·W) of virtual time from the start
 * (W = `roundMs`, default 1000 ms — the base timeout of the BFT engines' defaults: Tendermint's
 * propose timeout, HotStuff's view timeout), during which messages sent across groups are lost
 * (SimControl.dropMessages, judged at send time). After the R rounds the simulator's liveness
 * phase heals the network. Why time and not the engines' own rounds: the paper's harness drives
 * rounds of one protocol, but here the engines differ in what a round is (Tendermint's (height,
 * round), HotStuff's view, PBFT's view and sequence), some traffic carries no round at all (block
 * sync, HotStuff's sync and fetch, transaction gossip) and would need a rule of its own, and a
 * partition keyed on message content changes when an engine renumbers its messages. A time slot
 * of about one timeout is engine-agnostic, every message is covered, and a scenario stays
 * meaningful under code changes; what it gives up is the exact alignment of a partition with a
 * protocol round (a round may span two slots, or one slot several quick rounds).
 *
 * Leaders, as in the paper, are part of the scenario for engines whose leaders come from the
 * shared rotation (EngineModule.leaderRotation: Tendermint, HotStuff, PBFT): `; leaders v1,v1,v3`
 * after the rounds names the leader of rotation positions 1, 2, 3, … (Tendermint's height + round,
 * HotStuff's view, PBFT's 1 + view; consensus/proposer.ts), and the rotation goes on after them.
 * The simulator hands every node the same choice (EngineContext.leaderOverride), so the engines
 * run unchanged and still agree on every leader. Positions are the engines' own clock, not the
 * time slots: the r-th leader leads the r-th step of the rotation whenever the run gets there, so
 * a leader chosen for a partitioned step stays chosen under timing changes. Without a leaders
 * part the engine's rotation picks them, and the partitions decide who hears whom.
 *
 * The generator is deterministic: every scenario of exactly R rounds (shorter ones are those
 * ending in `all` rounds) in a fixed order when the space holds at most K, else K distinct
 * scenarios sampled with the seeded RNG.
 */
import { SeededRng } from '../../consensus/rng.ts';
import type { EngineModule } from '../../consensus/types.ts';
import type { EngineParams } from '../../ledger/genesis.ts';
import type { Violation } from './checkers.ts';
import { runSimulation, type SimOptions, type SimResult, shellQuote } from './simulation.ts';

/** One round's partition: groups of instance names (canonical order, see `canonicalRound`). */
export type TwinsRound = readonly (readonly string[])[];

export interface TwinsScenario {
  /** Validators. */
  readonly nodes: number;
  /** Validators with a twin: the first `twins` (v0 … v{twins−1}). */
  readonly twins: number;
  readonly rounds: readonly TwinsRound[];
  /**
   * The leader (validator index) of rotation positions 1, 2, … (see the module comment); absent:
   * the engine's own rotation throughout.
   */
  readonly leaders?: readonly number[];
}

export interface TwinsSpace {
  readonly nodes: number;
  readonly twins: number;
  readonly rounds: number;
  /** At most this many groups per round (default 2, the paper's usual setting). */
  readonly maxGroups?: number;
  /** Each round also chooses a leader among the n validators (engines with `leaderRotation`). */
  readonly leaders?: boolean;
}

/** Instance names in canonical order: the validators, then the twins. */
export function instanceNames(nodes: number, twins: number): string[] {
  const names = Array.from({ length: nodes }, (_, v) => `v${v}`);
  for (let v = 0; v < twins; v++) names.push(`v${v}'`);
  return names;
}

/**
 * Instance names by simulator node id (what violations' "node K" refers to): the simulation adds
 * each validator's instance, then its twin's, in validator order.
 */
export function namesById(nodes: number, twins: number): string[] {
  const out: string[] = [];
  for (let v = 0; v < nodes; v++) {
    out.push(`v${v}`);
    if (v < twins) out.push(`v${v}'`);
  }
  return out;
}

/** Groups sorted inside by canonical instance order, and among themselves by their first member. */
export function canonicalRound(groups: readonly (readonly string[])[], names: readonly string[]): TwinsRound {
  const rank = new Map(names.map((n, i) => [n, i]));
  const sorted = groups
    .filter((g) => g.length > 0)
    .map((g) => [...g].sort((a, b) => (rank.get(a) as number) - (rank.get(b) as number)));
  sorted.sort((a, b) => (rank.get(a[0] as string) as number) - (rank.get(b[0] as string) as number));
  return sorted;
}

/**
 * Every partition of `names` into at most `maxGroups` non-empty groups, canonical, in the order of
 * their restricted growth strings (the first is `all`). Count: Σ_{k ≤ maxGroups} S(m, k).
 */
export function partitionsOf(names: readonly string[], maxGroups: number): TwinsRound[] {
  const out: TwinsRound[] = [];
  const label: number[] = [];
  const walk = (i: number, used: number) => {
    if (i === names.length) {
      const groups: string[][] = Array.from({ length: used }, () => []);
      for (const [j, n] of names.entries()) (groups[label[j] as number] as string[]).push(n);
      out.push(groups);
      return;
    }
    for (let g = 0; g <= Math.min(used, maxGroups - 1); g++) {
      label[i] = g;
      walk(i + 1, Math.max(used, g + 1));
    }
  };
  if (names.length > 0) walk(0, 0);
  return out;
}

/** The number of scenarios of exactly `rounds` rounds (Infinity past 2^53). */
export function spaceSize(space: TwinsSpace): number {
  const p = partitionsOf(instanceNames(space.nodes, space.twins), space.maxGroups ?? 2).length;
  const total = (p * (space.leaders ? space.nodes : 1)) ** space.rounds;
  return Number.isSafeInteger(total) ? total : Number.POSITIVE_INFINITY;
}

export interface GeneratedScenarios {
  /** True when these are every scenario of the space. */
  readonly exhaustive: boolean;
  /** Size of the space (Infinity past 2^53). */
  readonly total: number;
  readonly scenarios: TwinsScenario[];
}

/**
 * Every scenario of the space when it holds at most `limit`, in index order (round 0 most
 * significant); else `limit` distinct ones drawn with the seeded RNG, in the order drawn.
 */
export function generateScenarios(
  space: TwinsSpace,
  opts: { limit: number; seed: string },
): GeneratedScenarios {
  const names = instanceNames(space.nodes, space.twins);
  const parts = partitionsOf(names, space.maxGroups ?? 2);
  const total = spaceSize(space);
  // A round's choice is one digit: its partition, then (when leaders are searched) its leader.
  const leaders = space.leaders ? space.nodes : 1;
  const base = parts.length * leaders;
  const make = (choice: number[]): TwinsScenario => ({
    nodes: space.nodes,
    twins: space.twins,
    rounds: choice.map((c) => parts[Math.floor(c / leaders)] as TwinsRound),
    ...(space.leaders ? { leaders: choice.map((c) => c % leaders) } : {}),
  });
  if (total <= opts.limit) {
    const scenarios: TwinsScenario[] = [];
    for (let index = 0; index < total; index++) {
      const choice: number[] = new Array(space.rounds);
      let rest = index;
      for (let r = space.rounds - 1; r >= 0; r--) {
        choice[r] = rest % base;
        rest = Math.floor(rest / base);
      }
      scenarios.push(make(choice));
    }
    return { exhaustive: true, total, scenarios };
  }
  const rng = new SeededRng(`twins/${opts.seed}`);
  const seen = new Set<string>();
  const scenarios: TwinsScenario[] = [];
  while (scenarios.length < opts.limit) {
    const choice = Array.from({ length: space.rounds }, () => rng.int(base));
    const key = choice.join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    scenarios.push(make(choice));
  }
  return { exhaustive: false, total, scenarios };
}

const ALL = 'all';
const LEADERS = 'leaders';

/** The scenario as a string (see the module comment); `parseScenario` reads it back. */
export function formatScenario(s: TwinsScenario): string {
  // When no round cuts anybody off, the first is spelled out: the names fix n and B.
  const spelled = s.rounds.some((g) => g.length > 1) ? -1 : 0;
  const rounds = s.rounds
    .map((groups, r) =>
      groups.length <= 1 && r !== spelled ? ALL : groups.map((g) => g.join(',')).join('|'),
    )
    .join(' / ');
  return s.leaders === undefined
    ? rounds
    : `${rounds} ; ${LEADERS} ${s.leaders.map((v) => `v${v}`).join(',')}`;
}

export class ScenarioError extends Error {}

/**
 * Reads a scenario string. Every round must name every instance exactly once (or be `all`); the
 * names fix n and B (the highest validator named, the primed ones), so `all` alone is not enough.
 */
export function parseScenario(text: string): TwinsScenario {
  const [roundsText = '', leadersText, ...extra] = text.split(';');
  if (extra.length > 0) throw new ScenarioError('a scenario has at most one `; leaders …` part');
  const rawRounds = roundsText
    .split('/')
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  if (rawRounds.length === 0) throw new ScenarioError('a scenario needs at least one round');
  const groupsOf = rawRounds.map((r) =>
    r === ALL
      ? undefined
      : r.split('|').map((g) =>
          g
            .split(',')
            .map((n) => n.trim())
            .filter((n) => n.length > 0),
        ),
  );
  let nodes = 0;
  let twins = 0;
  for (const groups of groupsOf)
    for (const g of groups ?? [])
      for (const name of g) {
        const m = /^v(\d+)('?)$/.exec(name);
        if (!m) throw new ScenarioError(`"${name}" is not an instance name (v0, v1, …, v0', …)`);
        const v = Number(m[1]);
        nodes = Math.max(nodes, v + 1);
        if (m[2]) twins = Math.max(twins, v + 1);
      }
  if (nodes === 0)
    throw new ScenarioError('no round names the instances (an all-`all` scenario fixes no cluster)');
  const names = instanceNames(nodes, twins);
  const rounds = groupsOf.map((groups, r): TwinsRound => {
    if (groups === undefined) return [names];
    const named = groups.flat();
    const missing = names.filter((n) => !named.includes(n));
    const dup = named.filter((n, i) => named.indexOf(n) !== i);
    if (missing.length > 0 || dup.length > 0)
      throw new ScenarioError(
        `round ${r + 1} must name each of ${names.join(',')} once${missing.length ? ` (missing ${missing.join(',')})` : ''}${dup.length ? ` (twice: ${dup.join(',')})` : ''}`,
      );
    return canonicalRound(groups, names);
  });
  if (leadersText === undefined) return { nodes, twins, rounds };
  const m = /^\s*leaders\s+(.+)$/.exec(leadersText);
  if (!m) throw new ScenarioError(`after ";" a scenario names its leaders: "${LEADERS} v0,v1,…"`);
  const leaders = (m[1] as string).split(',').map((raw) => {
    const name = raw.trim();
    const v = /^v(\d+)$/.exec(name);
    if (!v || Number(v[1]) >= nodes)
      throw new ScenarioError(`leader "${name}" is not one of the validators v0 … v${nodes - 1}`);
    return Number(v[1]);
  });
  return { nodes, twins, rounds, leaders };
}

/** Rounds up to the last one that cuts anybody off (trailing `all` rounds change nothing). */
export function effectiveRounds(s: TwinsScenario): number {
  let last = 0;
  for (const [r, groups] of s.rounds.entries()) if (groups.length > 1) last = r + 1;
  return last;
}

export interface TwinsRunOptions {
  readonly engine: EngineModule<unknown>;
  readonly engineParams?: EngineParams;
  /** The simulation's root seed (network latencies, workload): default "twins". */
  readonly seed?: string;
  /** Length of one round in virtual ms (default 1000). */
  readonly roundMs?: number;
  /** The healed liveness phase after the rounds (default 10 s). */
  readonly livenessMs?: number;
  /** Transactions the workload submits (default 20). */
  readonly txs?: number;
}

export const TWINS_DEFAULTS = { seed: 'twins', roundMs: 1000, livenessMs: 10_000, txs: 20 } as const;

/** The simulation options that run scenario `s` (calm network; only the partitions fault it). */
export function twinsSimOptions(s: TwinsScenario, o: TwinsRunOptions): SimOptions {
  const roundMs = o.roundMs ?? TWINS_DEFAULTS.roundMs;
  if (s.leaders !== undefined && o.engine.leaderRotation !== true)
    throw new ScenarioError(
      `${o.engine.name} does not take its leaders from the shared rotation, so a scenario cannot choose them: drop the "; leaders …" part`,
    );
  const names = instanceNames(s.nodes, s.twins);
  return {
    engine: o.engine,
    ...(o.engineParams === undefined ? {} : { engineParams: o.engineParams }),
    nodes: s.nodes,
    byzantine: s.twins,
    byzantineMode: 'twins',
    byzantineValidators: Array.from({ length: s.twins }, (_, v) => v),
    faults: new Set(),
    seed: o.seed ?? TWINS_DEFAULTS.seed,
    durationMs: Math.max(1, s.rounds.length) * roundMs,
    txs: o.txs ?? TWINS_DEFAULTS.txs,
    livenessMs: o.livenessMs ?? TWINS_DEFAULTS.livenessMs,
    ...(s.leaders === undefined ? {} : { leaderOverride: (position: number) => s.leaders?.[position - 1] }),
    scenario: (ctl) => {
      // Instance id → index in `names`, then per round: instance index → group.
      const index = new Map<number, number>();
      for (let v = 0; v < s.nodes; v++) {
        const [primary, twin] = ctl.instancesOf(v);
        index.set(primary as number, v);
        if (twin !== undefined) index.set(twin, names.indexOf(`v${v}'`));
      }
      const groupOf = s.rounds.map((groups) => {
        const g = new Array<number>(names.length).fill(0);
        for (const [k, members] of groups.entries()) for (const m of members) g[names.indexOf(m)] = k;
        return g;
      });
      ctl.dropMessages((from, to) => {
        const g = groupOf[Math.floor(ctl.now() / roundMs)];
        if (g === undefined) return false;
        return g[index.get(from) as number] !== g[index.get(to) as number];
      });
    },
  };
}

export interface TwinsOutcome {
  readonly scenario: TwinsScenario;
  readonly safe: boolean;
  readonly live: boolean;
  /** Within the engine's fault model (B ≤ f): only then is a liveness failure a failure. */
  readonly tolerated: boolean;
  readonly livenessFailure?: string;
  readonly violations: readonly Violation[];
  readonly committedHeight: number;
  readonly wallMs: number;
  readonly result: SimResult;
}

export async function runTwinsScenario(s: TwinsScenario, o: TwinsRunOptions): Promise<TwinsOutcome> {
  const r = await runSimulation(twinsSimOptions(s, o));
  return {
    scenario: s,
    safe: r.safe,
    live: r.live,
    tolerated: r.tolerated,
    ...(r.livenessFailure === undefined ? {} : { livenessFailure: r.livenessFailure }),
    violations: r.violations,
    committedHeight: r.committedHeight,
    wallMs: r.wallMs,
    result: r,
  };
}

export interface TwinsCampaign {
  readonly ran: number;
  readonly exhaustive: boolean;
  readonly total: number;
  readonly unsafe: number;
  /** Liveness failures of tolerated configurations (beyond the bound liveness is not demonstrable). */
  readonly notLive: number;
  /** The shortest unsafe scenario (fewest effective rounds, then first found), and its index. */
  readonly shortestUnsafe?: { readonly index: number; readonly outcome: TwinsOutcome };
  readonly shortestNotLive?: { readonly index: number; readonly outcome: TwinsOutcome };
  /** 1-based index of the first unsafe scenario. */
  readonly firstUnsafeAt?: number;
  readonly wallMs: number;
  readonly scenariosPerSecond: number;
}

/** Runs the scenarios one after another; `stopAtFirstUnsafe` ends at the first violation. */
export async function runTwinsCampaign(
  scenarios: readonly TwinsScenario[],
  o: TwinsRunOptions & {
    readonly exhaustive?: boolean;
    readonly total?: number;
    readonly stopAtFirstUnsafe?: boolean;
    readonly onOutcome?: (index: number, outcome: TwinsOutcome) => void;
  },
): Promise<TwinsCampaign> {
  const start = performance.now();
  let ran = 0;
  let unsafe = 0;
  let notLive = 0;
  let firstUnsafeAt: number | undefined;
  let shortestUnsafe: TwinsCampaign['shortestUnsafe'];
  let shortestNotLive: TwinsCampaign['shortestNotLive'];
  const shorter = (a: TwinsOutcome, b: TwinsOutcome | undefined) =>
    b === undefined || effectiveRounds(a.scenario) < effectiveRounds(b.scenario);
  for (const [index, s] of scenarios.entries()) {
    const outcome = await runTwinsScenario(s, o);
    ran++;
    o.onOutcome?.(index, outcome);
    if (!outcome.safe) {
      unsafe++;
      firstUnsafeAt ??= index + 1;
      if (shorter(outcome, shortestUnsafe?.outcome)) shortestUnsafe = { index, outcome };
      if (o.stopAtFirstUnsafe) break;
    } else if (!outcome.live && outcome.tolerated) {
      notLive++;
      if (shorter(outcome, shortestNotLive?.outcome)) shortestNotLive = { index, outcome };
    }
  }
  const wallMs = performance.now() - start;
  return {
    ran,
    exhaustive: o.exhaustive ?? false,
    total: o.total ?? scenarios.length,
    unsafe,
    notLive,
    ...(shortestUnsafe === undefined ? {} : { shortestUnsafe }),
    ...(shortestNotLive === undefined ? {} : { shortestNotLive }),
    ...(firstUnsafeAt === undefined ? {} : { firstUnsafeAt }),
    wallMs: Math.round(wallMs),
    scenariosPerSecond: wallMs > 0 ? ran / (wallMs / 1000) : 0,
  };
}

/** The `verity sim` command line that replays one scenario exactly. */
export function twinsReplayCommand(s: TwinsScenario, o: TwinsRunOptions): string {
  const params = Object.entries(o.engineParams ?? {});
  const engine = `${o.engine.name}${params.length ? `:${params.map(([k, v]) => `${k}=${v}`).join(',')}` : ''}`;
  const parts = [
    'verity sim --twins',
    `--engine ${shellQuote(engine)}`,
    `--twins-scenario "${formatScenario(s)}"`,
    `--seed ${shellQuote(o.seed ?? TWINS_DEFAULTS.seed)}`,
  ];
  if ((o.roundMs ?? TWINS_DEFAULTS.roundMs) !== TWINS_DEFAULTS.roundMs) parts.push(`--round-ms ${o.roundMs}`);
  return parts.join(' ');
}
