/**
 * Flexible Paxos's trade, measured in the simulator (used by cft.bench.ts): Multi-Paxos with
 * Phase-1 and Phase-2 quorums Q1 and Q2 (by voting power; every simulated validator holds power 1,
 * sim-world.ts) that intersect (Q1 + Q2 > n). A small Q2 lets a leader commit on fewer
 * acknowledgements and keep committing with fewer validators up; the price is a large Q1, which a
 * leader change needs.
 *
 * `crashTrial` runs one deterministic simulation under a steady load (the simulator's own
 * workload: each of 16 accounts keeps one transaction in flight) and two crash phases:
 *   A. once a leader is committing, k followers crash for good (the leader survives): does the
 *      leader keep committing with the n − k validators left? (Predicted: n − k ≥ Q2.)
 *   B. then the leader crashes too (k + 1 down): do the survivors elect a new leader and commit?
 *      (Predicted: n − k − 1 ≥ Q1 — and ≥ Q2, which follows when Q1 ≥ Q2.)
 * Phase B is skipped when no follower is left (k = n − 1).
 */
import type { EngineModule } from '../../consensus/types.ts';
import { runSimulation } from '../../src/sim/simulation.ts';

export interface QuorumConfig {
  readonly q1: number;
  readonly q2: number;
  /** The default: majorities of both. */
  readonly majority: boolean;
}

/**
 * The configurations worth comparing among n validators of power 1: majorities (the default),
 * then every smaller Q2 with the smallest Q1 that still intersects it (Q1 = n − Q2 + 1).
 * n = 5: (3, 3), (4, 2), (5, 1).
 */
export function flexibleConfigs(n: number): QuorumConfig[] {
  const majority = Math.floor(n / 2) + 1;
  const out: QuorumConfig[] = [{ q1: majority, q2: majority, majority: true }];
  for (let q2 = majority - 1; q2 >= 1; q2--) out.push({ q1: n - q2 + 1, q2, majority: false });
  return out;
}

export const quorumLabel = (q: { q1: number; q2: number }) => `Q1=${q.q1} Q2=${q.q2}`;
export const quorumParams = (q: { q1: number; q2: number }) => ({
  phase1Quorum: q.q1,
  phase2Quorum: q.q2,
});

export interface CrashTrial {
  readonly n: number;
  readonly q1: number;
  readonly q2: number;
  /** Followers crashed in phase A. */
  readonly followersDown: number;
  /** Simulated ms at which phase A's crashes happened (a leader was committing by then). */
  readonly crashAtMs: number;
  /** Phase A: blocks committed in the window after the followers crashed (leader up). */
  readonly leaderUp: { readonly up: number; readonly blocks: number; readonly commits: boolean };
  /** Phase B (absent when k = n − 1): the leader crashed as well. */
  readonly leaderDown?: {
    readonly up: number;
    /** A survivor leads at the end of the window. */
    readonly elected: boolean;
    readonly blocks: number;
    readonly commits: boolean;
    /** Crash to the first new commit among the survivors, simulated ms. */
    readonly recoveryMs?: number;
    /** Ballots the survivors started during the window (they did try). */
    readonly ballots: number;
  };
  readonly safe: boolean;
  readonly wallMs: number;
}

/** Phase A's window starts this long after the crash (commits already in flight land first). */
const SETTLE_MS = 500;
/** Phase A's window: three election timeouts of the default T = 1 s (check-quorum fires after T). */
const WINDOW_A_MS = 3_000;
/** Phase B's window: an election takes T..2T plus backoff; six seconds is several attempts. */
const WINDOW_B_MS = 6_000;
/** Give up if no leader is committing by then (it normally is by ~2 s). */
const LEADER_DEADLINE_MS = 6_000;
const DURATION_MS = LEADER_DEADLINE_MS + SETTLE_MS + WINDOW_A_MS + WINDOW_B_MS + 500;

export async function crashTrial(
  module: EngineModule<unknown>,
  n: number,
  q: { q1: number; q2: number },
  followersDown: number,
  seed = 'bench-cft-flexible',
): Promise<CrashTrial> {
  if (followersDown < 0 || followersDown > n - 1) throw new Error(`crashTrial: 0 ≤ k ≤ ${n - 1}`);
  const up = new Set(Array.from({ length: n }, (_, i) => i));
  let crashAtMs = Number.NaN;
  let failure: string | undefined;
  const a = { blocks: 0 };
  let b:
    | { blocks: number; elected: boolean; recoveryMs?: number; ballots: number; firstAt?: number }
    | undefined;
  const r = await runSimulation({
    engine: module,
    engineParams: quorumParams(q),
    nodes: n,
    byzantine: 0,
    byzantineMode: 'twins',
    faults: new Set(),
    seed: `${seed}-${n}-${q.q1}-${q.q2}-${followersDown}`,
    durationMs: DURATION_MS,
    txs: 1_000_000, // a steady load for the whole run (one transaction in flight per account)
    livenessMs: 1, // the crashes are permanent: the run's own liveness phase has nothing to show
    livenessBlocks: 1,
    scenario: (ctl) => {
      const rt = (i: number) => ctl.runtime(ctl.instancesOf(i)[0] ?? i);
      const height = () => Math.max(0, ...[...up].map((i) => rt(i)?.chain.height ?? 0));
      const leader = () => [...up].find((i) => rt(i)?.status().step === 'leader');
      const ballots = () => [...up].reduce((s, i) => s + (rt(i)?.status().viewChanges ?? 0), 0);
      const crash = (i: number) => {
        ctl.crash(ctl.instancesOf(i)[0] ?? i, { permanent: true });
        up.delete(i);
      };
      const phaseB = (old: number) => {
        const t = ctl.now();
        crash(old);
        const before = ballots();
        let h0 = 0;
        b = { blocks: 0, elected: false, ballots: 0 };
        const state = b;
        // Commits the old leader had already sent out may land during the first few delays.
        ctl.at(t + 200, () => {
          h0 = height();
          const poll = () => {
            if (state.firstAt === undefined && height() > h0) state.firstAt = ctl.now();
            if (ctl.now() + 25 < t + WINDOW_B_MS) ctl.at(ctl.now() + 25, poll);
          };
          poll();
        });
        ctl.at(t + WINDOW_B_MS, () => {
          state.blocks = height() - h0;
          state.elected = leader() !== undefined;
          state.ballots = ballots() - before;
          if (state.firstAt !== undefined) state.recoveryMs = state.firstAt - t;
        });
      };
      const phaseA = (l: number) => {
        crashAtMs = ctl.now();
        for (const i of [...up].filter((x) => x !== l).slice(0, followersDown)) crash(i);
        let h0 = 0;
        ctl.at(crashAtMs + SETTLE_MS, () => {
          h0 = height();
        });
        ctl.at(crashAtMs + SETTLE_MS + WINDOW_A_MS, () => {
          a.blocks = height() - h0;
          if (followersDown < n - 1) phaseB(l);
        });
      };
      const awaitLeader = () => {
        const l = leader();
        if (l !== undefined && height() >= 3) return phaseA(l);
        if (ctl.now() >= LEADER_DEADLINE_MS) {
          failure = `no leader committing by ${LEADER_DEADLINE_MS} ms`;
          return;
        }
        ctl.at(ctl.now() + 50, awaitLeader);
      };
      ctl.at(1_000, awaitLeader);
    },
  });
  if (failure !== undefined) throw new Error(`crashTrial ${quorumLabel(q)} k=${followersDown}: ${failure}`);
  const lb = b as { blocks: number; elected: boolean; recoveryMs?: number; ballots: number } | undefined;
  return {
    n,
    q1: q.q1,
    q2: q.q2,
    followersDown,
    crashAtMs,
    leaderUp: { up: n - followersDown, blocks: a.blocks, commits: a.blocks > 0 },
    ...(lb === undefined
      ? {}
      : {
          leaderDown: {
            up: n - followersDown - 1,
            elected: lb.elected,
            blocks: lb.blocks,
            commits: lb.blocks > 0,
            ...(lb.recoveryMs === undefined ? {} : { recoveryMs: lb.recoveryMs }),
            ballots: lb.ballots,
          },
        }),
    safe: r.safe,
    wallMs: r.wallMs,
  };
}
